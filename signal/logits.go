package signal

import (
	"fmt"
	"math"
)

// Options controls FromLogits, FromProbs and Correct.
type Options struct {
	// Temperature T divides the logits before the softmax, p = softmax(ℓ/T), as Privacy Meter v2's
	// get_softmax and RMIA do. It must be positive and finite; 0 means 1. FromProbs accepts only 0 or 1.
	Temperature float64

	// Queries is the number of output rows per record (augmented queries): the input is then records ×
	// Queries × classes and the result records × Queries, row-major, the layout of attack.Data for one
	// model. 0 means 1.
	Queries int

	// Compat computes RescaledLogit from logits as the LiRA reference code (score.py) and Privacy Meter v1
	// (get_rescaled_logits) do: p = softmax(ℓ), φ = log(p_y + 1e-45) − log(Σ_{j≠y} p_j + 1e-45). The
	// guards cap |φ| at 103.616… when p_y rounds to 1 or underflows to 0. Without Compat, φ is computed
	// exactly as ℓ_y − log Σ_{j≠y} e^{ℓ_j} (shifted by the maximum), which has no cap and needs no guard.
	// The two agree to about 1e-12 relative wherever p_y and 1 − p_y both exceed about 1e-30.
	Compat bool

	// Taylor sets the SoftMarginTaylor signal's margin and order; see TaylorConfig.
	Taylor TaylorConfig
}

// Entropy clip and RescaledLogit guard of the reference implementations.
const (
	// MinProb is the clip of Song & Mittal's _log_value, −log max(p, 1e-30), used by Entropy,
	// ModifiedEntropy and, from probabilities, by Loss.
	MinProb = 1e-30
	// RescaleGuard is the constant that score.py and Privacy Meter v1 add inside both logarithms of φ.
	RescaleGuard = 1e-45
)

// shape describes a validated records × queries × classes input.
type shape struct {
	rows, queries, classes int
	temp                   float64
}

// check validates the input of FromLogits, FromProbs and Correct. It returns the shape; values are
// checked row by row by the callers, which name the record and query of a bad value.
func check(name string, x []float64, classes int, labels []int, opt Options, needLabels bool) (shape, error) {
	q := opt.Queries
	if q == 0 {
		q = 1
	}
	t := opt.Temperature
	if t == 0 {
		t = 1
	}
	switch {
	case classes <= 0:
		return shape{}, fmt.Errorf("%s: %d classes; want at least 1", name, classes)
	case q < 0:
		return shape{}, fmt.Errorf("%s: %d queries per record; want at least 1", name, q)
	case !(t > 0) || math.IsInf(t, 0):
		return shape{}, fmt.Errorf("%s: temperature %v; want a positive finite number", name, t)
	}
	var rows int
	if labels != nil || needLabels {
		rows = len(labels)
		if len(x) != rows*q*classes {
			return shape{}, fmt.Errorf("%s: %d values, want %d records × %d queries × %d classes = %d", name, len(x), rows, q, classes, rows*q*classes)
		}
		for i, l := range labels {
			if l < 0 || l >= classes {
				return shape{}, fmt.Errorf("%s: label of record %d is %d, outside [0, %d)", name, i, l, classes)
			}
		}
	} else {
		if len(x)%(q*classes) != 0 {
			return shape{}, fmt.Errorf("%s: %d values is not a multiple of %d queries × %d classes", name, len(x), q, classes)
		}
		rows = len(x) / (q * classes)
	}
	return shape{rows: rows, queries: q, classes: classes, temp: t}, nil
}

// rowName names output row r (record r/q, query r%q) in errors.
func (s shape) rowName(r int) string {
	if s.queries == 1 {
		return fmt.Sprintf("record %d", r)
	}
	return fmt.Sprintf("record %d query %d", r/s.queries, r%s.queries)
}

// checkFinite returns an error naming the row if a logit is NaN or infinite.
func (s shape) checkFinite(name string, r int, z []float64) error {
	for c, v := range z {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s: %s, class %d: logit is %v", name, s.rowName(r), c, v)
		}
	}
	return nil
}

// Softmax returns p = softmax(ℓ/T) for each row of logits, a records × classes matrix (row-major), as
// scipy.special.softmax computes it: e^{z−max z} / Σ e^{z−max z} with z = ℓ/T. The result has the shape of
// logits. A temperature of 0 means 1. It returns an error naming the row if a logit is NaN or infinite.
func Softmax(logits []float64, classes int, temperature float64) ([]float64, error) {
	s, err := check("softmax", logits, classes, nil, Options{Temperature: temperature}, false)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(logits))
	for r := 0; r < s.rows; r++ {
		z := logits[r*classes : (r+1)*classes]
		if err := s.checkFinite("softmax", r, z); err != nil {
			return nil, err
		}
		p := out[r*classes : (r+1)*classes]
		mx := math.Inf(-1)
		for c, v := range z {
			p[c] = v / s.temp
			mx = max(mx, p[c])
		}
		sum := 0.0
		for c := range p {
			p[c] = math.Exp(p[c] - mx)
			sum += p[c]
		}
		for c := range p {
			p[c] /= sum
		}
	}
	return out, nil
}

// FromLogits computes the signal k of every row of logits, a records × Queries × classes array of raw model
// outputs (row-major), against the records' true labels (one per record, in [0, classes)). It returns
// records × Queries values. All arithmetic is float64 and shifted by the row maximum, so no logit range
// overflows. With z = ℓ/T and p = softmax(z):
//
//   - ProbTrue: p_y, computed as Privacy Meter v2 get_softmax does (e^{z_y−max z} / Σ_c e^{z_c−max z}).
//   - Loss: the cross-entropy −log p_y = (max z − z_y) + log1p(Σ_{c≠argmax} e^{z_c−max z}), as torch's
//     cross_entropy, but accurate to the last bits also when p_y rounds to 1.
//   - RescaledLogit: LiRA's φ = log p_y − log Σ_{j≠y} p_j (Carlini et al., IEEE S&P 2022), exactly as
//     z_y − LSE_{j≠y} z_j, or with Options.Compat as score.py computes it (see Options.Compat). It needs at
//     least 2 classes.
//   - Confidence: max_c p_c.
//   - Entropy: Song & Mittal's _entr_comp, Σ_c p_c · (−log max(p_c, 1e-30)).
//   - ModifiedEntropy: Song & Mittal's Mentr (2021, Eq. 8) as _m_entr_comp computes it:
//     (1 − p_y)(−log max(p_y, 1e-30)) + Σ_{c≠y} p_c (−log max(1 − p_c, 1e-30)).
//   - SoftMarginTaylor: RMIA's soft-margin Taylor softmax (see TaylorConfig).
//
// It returns an error naming the record (and query) if a logit is NaN or infinite, and one naming the
// record if a label lies outside [0, classes).
func FromLogits(k Kind, logits []float64, classes int, labels []int, opt Options) ([]float64, error) {
	name := fmt.Sprintf("%s from logits", k)
	s, err := check(name, logits, classes, labels, opt, true)
	if err != nil {
		return nil, err
	}
	if k == RescaledLogit && classes < 2 {
		return nil, fmt.Errorf("%s: a rescaled logit needs at least 2 classes, got %d", name, classes)
	}
	var tay TaylorConfig
	if k == SoftMarginTaylor {
		if tay, err = opt.Taylor.resolve(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	n := s.rows * s.queries
	out := make([]float64, n)
	z := make([]float64, classes) // scaled logits of one row
	p := make([]float64, classes) // probabilities of one row, where needed
	for r := 0; r < n; r++ {
		row := logits[r*classes : (r+1)*classes]
		if err := s.checkFinite(name, r, row); err != nil {
			return nil, err
		}
		y := labels[r/s.queries]
		for c, v := range row {
			z[c] = v / s.temp
		}
		switch k {
		case ProbTrue:
			out[r] = probTrue(z, y)
		case Loss:
			out[r] = crossEntropy(z, y)
		case RescaledLogit:
			if opt.Compat {
				softmaxInto(p, z)
				out[r] = rescaledFromProbs(p, y)
			} else {
				out[r] = rescaledExact(z, y)
			}
		case Confidence:
			mx, _ := maxIndex(z)
			sum := 0.0
			for _, v := range z {
				sum += math.Exp(v - mx)
			}
			out[r] = 1 / sum
		case Entropy:
			softmaxInto(p, z)
			out[r] = entropy(p)
		case ModifiedEntropy:
			softmaxInto(p, z)
			out[r] = modifiedEntropy(p, y)
		case SoftMarginTaylor:
			out[r] = tay.signal(z, y)
		default:
			return nil, fmt.Errorf("%s: unknown signal kind %q", name, k)
		}
	}
	return out, nil
}

// Correct reports for every row of outputs (records × Queries × classes logits or probabilities; the
// softmax does not change the arg max) whether its arg max equals the record's label. Ties go to the
// lowest class index, as numpy's argmax. Only Options.Queries is used. The result has records × Queries
// entries. It returns an error naming the row if a value is NaN or infinite.
func Correct(outputs []float64, classes int, labels []int, opt Options) ([]bool, error) {
	s, err := check("correctness", outputs, classes, labels, Options{Queries: opt.Queries}, true)
	if err != nil {
		return nil, err
	}
	out := make([]bool, s.rows*s.queries)
	for r := range out {
		row := outputs[r*classes : (r+1)*classes]
		if err := s.checkFinite("correctness", r, row); err != nil {
			return nil, err
		}
		_, am := maxIndex(row)
		out[r] = am == labels[r/s.queries]
	}
	return out, nil
}

// maxIndex returns the maximum of z and the first index where it occurs.
func maxIndex(z []float64) (float64, int) {
	mx, am := z[0], 0
	for c, v := range z[1:] {
		if v > mx {
			mx, am = v, c+1
		}
	}
	return mx, am
}

// softmaxInto writes softmax(z) into p.
func softmaxInto(p, z []float64) {
	mx, _ := maxIndex(z)
	sum := 0.0
	for c, v := range z {
		p[c] = math.Exp(v - mx)
		sum += p[c]
	}
	for c := range p {
		p[c] /= sum
	}
}

// probTrue returns e^{z_y−max z} / Σ_c e^{z_c−max z}.
func probTrue(z []float64, y int) float64 {
	mx, _ := maxIndex(z)
	sum := 0.0
	for _, v := range z {
		sum += math.Exp(v - mx)
	}
	return math.Exp(z[y]-mx) / sum
}

// crossEntropy returns −log softmax(z)_y = (max z − z_y) + log(1 + Σ_{c≠argmax} e^{z_c − max z}).
func crossEntropy(z []float64, y int) float64 {
	mx, am := maxIndex(z)
	rest := 0.0
	for c, v := range z {
		if c != am {
			rest += math.Exp(v - mx)
		}
	}
	return (mx - z[y]) + math.Log1p(rest)
}

// rescaledExact returns z_y − log Σ_{j≠y} e^{z_j}, shifted by the maximum over j ≠ y.
func rescaledExact(z []float64, y int) float64 {
	mx := math.Inf(-1)
	for j, v := range z {
		if j != y {
			mx = max(mx, v)
		}
	}
	sum := 0.0
	for j, v := range z {
		if j != y {
			sum += math.Exp(v - mx)
		}
	}
	return (z[y] - mx) - math.Log(sum)
}

// rescaledFromProbs returns log(p_y + 1e-45) − log(Σ_{j≠y} p_j + 1e-45) (score.py).
func rescaledFromProbs(p []float64, y int) float64 {
	wrong := 0.0
	for j, v := range p {
		if j != y {
			wrong += v
		}
	}
	return math.Log(p[y]+RescaleGuard) - math.Log(wrong+RescaleGuard)
}

// negLogClip returns −log max(p, 1e-30), Song & Mittal's _log_value.
func negLogClip(p float64) float64 { return -math.Log(max(p, MinProb)) }

// entropy returns Σ_c p_c · (−log max(p_c, 1e-30)).
func entropy(p []float64) float64 {
	h := 0.0
	for _, v := range p {
		h += v * negLogClip(v)
	}
	return h
}

// modifiedEntropy returns (1 − p_y)(−log max(p_y, 1e-30)) + Σ_{c≠y} p_c (−log max(1 − p_c, 1e-30)).
func modifiedEntropy(p []float64, y int) float64 {
	h := 0.0
	for c, v := range p {
		if c == y {
			h += (1 - v) * negLogClip(v)
		} else {
			h += v * negLogClip(1-v)
		}
	}
	return h
}
