package signal

import "fmt"

// FromProbs computes the signal k from probability vectors, a records × Queries × classes array (row-major)
// whose rows sum to 1, against the records' labels. It returns records × Queries values. Use FromLogits
// when logits are available: probabilities that have rounded to 0 or 1 have lost what the logits still
// hold. The signals are those of FromLogits, computed from p directly:
//
//   - ProbTrue: p_y. Confidence: max_c p_c.
//   - Loss: −log max(p_y, 1e-30) (the clip keeps p_y = 0 finite).
//   - RescaledLogit: log(p_y + 1e-45) − log(Σ_{j≠y} p_j + 1e-45), the guarded form of score.py and TF
//     Privacy (the guards are needed here whatever Options.Compat says). It needs at least 2 classes.
//   - Entropy and ModifiedEntropy: Song & Mittal's formulas, as in FromLogits.
//
// SoftMarginTaylor needs logits and is rejected. Options.Temperature must be 0 or 1. It returns an error
// naming the record (and query) if a probability is NaN or outside [0, 1], and one naming the record if
// a label lies outside [0, classes).
func FromProbs(k Kind, probs []float64, classes int, labels []int, opt Options) ([]float64, error) {
	name := fmt.Sprintf("%s from probabilities", k)
	if opt.Temperature != 0 && opt.Temperature != 1 {
		return nil, fmt.Errorf("%s: a temperature (%v) needs logits", name, opt.Temperature)
	}
	s, err := check(name, probs, classes, labels, opt, true)
	if err != nil {
		return nil, err
	}
	switch k {
	case ProbTrue, Loss, Confidence, Entropy, ModifiedEntropy:
	case RescaledLogit:
		if classes < 2 {
			return nil, fmt.Errorf("%s: a rescaled logit needs at least 2 classes, got %d", name, classes)
		}
	case SoftMarginTaylor:
		return nil, fmt.Errorf("%s: the soft-margin Taylor softmax is defined on logits", name)
	default:
		return nil, fmt.Errorf("%s: unknown signal kind %q", name, k)
	}
	out := make([]float64, s.rows*s.queries)
	for r := range out {
		p := probs[r*classes : (r+1)*classes]
		for c, v := range p {
			if !(v >= 0 && v <= 1) {
				return nil, fmt.Errorf("%s: %s, class %d: probability %v outside [0, 1]", name, s.rowName(r), c, v)
			}
		}
		y := labels[r/s.queries]
		switch k {
		case ProbTrue:
			out[r] = p[y]
		case Loss:
			out[r] = negLogClip(p[y])
		case RescaledLogit:
			out[r] = rescaledFromProbs(p, y)
		case Confidence:
			mx, _ := maxIndex(p)
			out[r] = mx
		case Entropy:
			out[r] = entropy(p)
		case ModifiedEntropy:
			out[r] = modifiedEntropy(p, y)
		}
	}
	return out, nil
}
