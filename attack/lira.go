package attack

import (
	"fmt"
	"math"

	"github.com/pmeter/pmeter/signal"
)

// OfflineTest selects the test of offline LiRA (LiRAConfig.OfflineTest).
type OfflineTest string

// Offline LiRA tests.
const (
	OneSided OfflineTest = "one-sided" // paper Eq. 4: Pr[OUT signal below the target's]
	TwoSided OfflineTest = "two-sided" // LiRA reference code: −log-density under the OUT Gaussian
)

// AutoVarianceModels is the number of reference models per side from which LiRA's automatic variance
// (LiRAConfig.FixVariance nil) fits one variance per record: below it, one global variance per side, as
// Carlini et al. advise (§VI.A: per-example variances need many shadow models; with 64 and fewer the fixed
// variance does better).
const AutoVarianceModels = 64

// LiRAConfig selects a variant of the Likelihood Ratio Attack. The zero value is the paper's offline
// attack with the automatic variance.
//
// Compat CompatLiRA reproduces the LiRA reference code (tensorflow/privacy research/mi_lira_2021, plot.py
// generate_ours / generate_ours_offline) bit for bit, and CompatPrivacyMeter (with NumIn, NumOut,
// PopulationOut) Privacy Meter v1's benchmark (benchmark/main.py), which computes the reference statistics
// in float32. What the compat modes change is listed on fitLiRACompat.
type LiRAConfig struct {
	// Online uses IN and OUT reference models (the paper's Algorithm 1); otherwise only OUT models are used
	// (the paper's offline attack).
	Online bool
	// FixVariance chooses one global σ_in and σ_out for all records (true) or per-record ones (false);
	// nil chooses the global one when fewer than AutoVarianceModels reference models serve a side (in
	// compat modes nil means false, as in the originals).
	FixVariance *bool
	// OfflineTest is OneSided or TwoSided; see LiRA. Empty selects OneSided, or TwoSided with Compat.
	OfflineTest OfflineTest
	// NumRef caps the reference models per side (IN and OUT) of a record, the first of its references in
	// model order (0 = all; see SelectReferences). NumIn and NumOut, when positive, override it for one side
	// (Privacy Meter v1's num_in_models and num_out_models).
	NumRef, NumIn, NumOut int
	// PopulationOut (offline only) replaces the per-record OUT Gaussian by one fitted to the target model's
	// signals on the population records (median and ddof-0 std over d.Population, per query, in float64):
	// Privacy Meter v1 benchmark's "population" attack, an Attack-P with a Gaussian on φ. FixVariance,
	// NumOut and the compat statistics do not apply to it.
	PopulationOut bool
	// Compat reproduces an original: CompatLiRA or CompatPrivacyMeter.
	Compat Compat
}

// LiRA returns the Likelihood Ratio Attack score of every record of target model target: Carlini, Chien,
// Nasr, Song, Terzis and Tramèr, "Membership Inference Attacks From First Principles" (IEEE S&P 2022).
// Higher = more likely a member.
//
// The signal is the rescaled logit φ = log(p_y/(1−p_y)) (the paper's logit scaling, §IV.C); d's signals
// are converted to it when d.Kind differs (signal.Convert), a probability of exactly 1 or 0 counting as
// the nearest float64 inside (0, 1) (φ ≈ 36.74 and −744.4) so that saturated softmax outputs stay finite.
// For each record i and query q, its reference models (SelectReferences) give Gaussians N(μ_in, σ_in²)
// over its IN models and N(μ_out, σ_out²) over its OUT models (Algorithm 1, lines 5–9). μ is the median,
// as in the reference code (the paper writes the mean; the median is robust to a reference model that
// fits a record unusually badly). σ is the ddof-0 standard deviation per record, or one global σ per side
// (FixVariance; by default below AutoVarianceModels models per side): the standard deviation of the
// residuals φ − μ of the side over all records with two or more values (TF Privacy advanced_mia), or,
// when no record has two, of the side's values themselves. With φ_q the target's signal:
//
//   - online (Algorithm 1, line 10): score = mean_q [log N(φ_q; μ_in, σ_in²) − log N(φ_q; μ_out, σ_out²)];
//   - offline, OneSided (Eq. 4): score = mean_q log Φ((φ_q − μ_out)/σ_out), the log of the probability
//     that an OUT model's signal lies below the target's;
//   - offline, TwoSided (reference code): score = −mean_q log N(φ_q; μ_out, σ_out²).
//
// Documented fallbacks, none of which depends on a record's membership in the target: a per-record σ
// from fewer than two values, or of 0, is replaced by the side's global σ; a record without IN (or OUT)
// models, which the bernoulli design allows, takes μ_in = μ_out + Δ (μ_out = μ_in − Δ) with Δ the median
// of μ_in − μ_out over the records that have both, and offline a record without OUT models takes the
// median μ_out of the others. A fixed-count design without IN (online) or OUT models is an error.
//
// d must satisfy d.Validate and target d.CheckTarget.
func LiRA(d *Data, target int, cfg LiRAConfig) ([]float64, error) {
	f, err := fitLiRA(d, target, cfg)
	if err != nil {
		return nil, err
	}
	return f.eval(true), nil
}

// LiRAPrediction returns what the reference implementation selected by cfg returns, one value per record,
// lower = more likely a member: the negated LiRA score for the online and two-sided offline attacks
// (plot.py's prediction), and −mean_q Φ((φ_q − μ_out)/σ_out) for the one-sided offline attack (Privacy
// Meter v1 benchmark's reference_out_logits_percentile and population). It exists to compare with those
// tools; LiRA's score is the one to rank by.
func LiRAPrediction(d *Data, target int, cfg LiRAConfig) ([]float64, error) {
	f, err := fitLiRA(d, target, cfg)
	if err != nil {
		return nil, err
	}
	return f.eval(false), nil
}

// Global returns the LiRA reference code's "global threshold" baseline (plot.py generate_global; Yeom et al.
// 2018 with a swept threshold): the target model's rescaled logit averaged over queries, mean_q φ_q. Higher
// = more likely a member; the reference code's prediction is its negation.
func Global(d *Data, target int) ([]float64, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if err := d.CheckTarget(target); err != nil {
		return nil, err
	}
	sig, err := liraSignals(d.Signals, d.Kind)
	if err != nil {
		return nil, fmt.Errorf("signals (records × models × queries, flat index): %w", err)
	}
	return queryMeans(sig, d.N, d.M, d.Q, target), nil
}

// Saturated rescaled logits: the values of φ at the float64 probabilities nearest to 1 and to 0.
var (
	maxRescaledLogit = math.Log1p(-0x1p-53) - math.Log(0x1p-53)
	minRescaledLogit = math.Log(math.SmallestNonzeroFloat64)
)

// liraSignals returns signals of kind k as rescaled logits (v itself when already of that kind), ±Inf —
// the image of a probability of exactly 1 or 0 — replaced by the rescaled logit of the nearest float64
// probability inside (0, 1).
func liraSignals(v []float64, k signal.Kind) ([]float64, error) {
	out := v
	if k != signal.RescaledLogit {
		out = append([]float64(nil), v...)
		if err := signal.Convert(out, k, signal.RescaledLogit); err != nil {
			return nil, err
		}
	}
	for i, x := range out {
		if math.IsInf(x, 0) {
			if &out[0] == &v[0] {
				out = append([]float64(nil), v...)
			}
			out[i] = maxRescaledLogit
			if x < 0 {
				out[i] = minRescaledLogit
			}
		}
	}
	return out, nil
}

// liraFit holds the fitted Gaussians of every record × query (sd includes the 1e-30 guard in compat).
type liraFit struct {
	n, q     int
	online   bool
	oneSided bool
	phi      []float64 // target's signal, N × Q
	logSd32  bool      // take log σ in float32: scipy's logpdf on float32 per-record σ (Privacy Meter v1)
	residual bool      // phi is a regression residual: the one-sided test is on |r| (regression.go)
	muIn     []float64
	sdIn     []float64
	muOut    []float64
	sdOut    []float64
}

// eval returns the score (higher = member) or the reference prediction (lower = member). The prediction
// is mean_q p_q with p_q in the reference code's form: pr_in − pr_out (online, pr = −log-density), the OUT
// log-density (two-sided) or −Φ(z) (one-sided); the score is its negation, except one-sided, where it is
// mean_q log Φ(z).
func (f *liraFit) eval(score bool) []float64 {
	out := make([]float64, f.n)
	for i := range out {
		s := 0.0
		for q := 0; q < f.q; q++ {
			k := i*f.q + q
			x := f.phi[k]
			switch {
			case f.online:
				prIn := -f.logPDF(x, f.muIn[k], f.sdIn[k])
				prOut := -f.logPDF(x, f.muOut[k], f.sdOut[k])
				s += prIn - prOut
			case !f.oneSided:
				s += f.logPDF(x, f.muOut[k], f.sdOut[k])
			case f.residual && score:
				s += logAbsAbove(math.Abs(x), f.muOut[k], f.sdOut[k])
			case f.residual:
				s += -math.Exp(logAbsAbove(math.Abs(x), f.muOut[k], f.sdOut[k]))
			case score:
				s += normLogCDF((x - f.muOut[k]) / f.sdOut[k])
			default:
				s += -normCDF((x - f.muOut[k]) / f.sdOut[k])
			}
		}
		m := s / float64(f.q)
		if score && !f.oneSided {
			m = -m
		}
		out[i] = m
	}
	return out
}

// logPDF is normLogPDF, with log σ rounded to float32 where scipy receives σ as a float32 array (scipy's
// logpdf subtracts np.log(scale), which numpy computes in the array's precision).
func (f *liraFit) logPDF(x, mu, sd float64) float64 {
	if f.logSd32 {
		y := (x - mu) / sd
		return (-(y*y)/2.0 - normLogC) - float64(float32(math.Log(sd)))
	}
	return normLogPDF(x, mu, sd)
}

// fitLiRA validates the input and fits the IN and OUT Gaussians.
func fitLiRA(d *Data, target int, cfg LiRAConfig) (*liraFit, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if err := d.CheckTarget(target); err != nil {
		return nil, err
	}
	test := cfg.OfflineTest
	switch test {
	case "":
		test = OneSided
		if cfg.Compat.set() {
			test = TwoSided
		}
	case OneSided, TwoSided:
	default:
		return nil, fmt.Errorf("LiRA: offline test %q; want %q or %q", cfg.OfflineTest, OneSided, TwoSided)
	}
	if cfg.NumRef < 0 || cfg.NumIn < 0 || cfg.NumOut < 0 {
		return nil, fmt.Errorf("LiRA: negative number of reference models (NumRef %d, NumIn %d, NumOut %d)", cfg.NumRef, cfg.NumIn, cfg.NumOut)
	}
	switch cfg.Compat {
	case "", CompatNone, CompatLiRA, CompatPrivacyMeter:
	default:
		return nil, fmt.Errorf("LiRA: compat %q; want %q or %q", cfg.Compat, CompatLiRA, CompatPrivacyMeter)
	}
	if cfg.PopulationOut {
		if cfg.Online {
			return nil, fmt.Errorf("LiRA: PopulationOut is an offline attack; it cannot be combined with Online")
		}
		if d.Z == 0 {
			return nil, fmt.Errorf("LiRA: PopulationOut needs population signals, and the data has none")
		}
	}
	residual := d.Kind == signal.Residual // regression.go: the residual itself is the signal
	if residual && cfg.Compat.set() {
		return nil, fmt.Errorf("LiRA: compat %s is for classifiers; the signals are regression residuals", cfg.Compat)
	}
	sig, err := d.Signals, error(nil)
	if !residual {
		sig, err = liraSignals(d.Signals, d.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("signals (records × models × queries, flat index): %w", err)
	}
	f32 := cfg.Compat == CompatPrivacyMeter
	fix := cfg.FixVariance != nil && *cfg.FixVariance
	f := &liraFit{n: d.N, q: d.Q, online: cfg.Online, oneSided: test == OneSided && !cfg.Online,
		logSd32: f32 && !fix && !cfg.PopulationOut, residual: residual}
	f.phi = make([]float64, d.N*d.Q)
	for i := 0; i < d.N; i++ {
		copy(f.phi[i*d.Q:(i+1)*d.Q], sig[(i*d.M+target)*d.Q:(i*d.M+target+1)*d.Q])
	}
	if cfg.PopulationOut {
		pop, err := d.Population, error(nil)
		if !residual {
			pop, err = liraSignals(d.Population, d.Kind)
		}
		if err != nil {
			return nil, fmt.Errorf("population signals (records × models × queries, flat index): %w", err)
		}
		f.muOut, f.sdOut = populationGaussian(d, pop, target)
		return f, nil
	}
	capIn, capOut := sideCap(cfg.NumIn, cfg.NumRef), sideCap(cfg.NumOut, cfg.NumRef)
	if cfg.Compat.set() {
		return fitLiRACompat(d, sig, target, cfg, f, capIn, capOut, fix, f32)
	}
	return fitLiRADefault(d, sig, target, cfg, f, capIn, capOut)
}

// sideCap returns the cap of one side: its own when positive, else NumRef (0: no cap).
func sideCap(side, numRef int) int {
	if side > 0 {
		return side
	}
	return numRef
}

// liraSide is one side's fit: per record × query μ and σ (NaN where the record has no value on the side)
// and the number of values of each record.
type liraSide struct {
	mu, sd []float64
	n      []int
	global float64 // the side's global σ
	least  int     // the smallest count over the records
}

// fitLiRADefault fits the Gaussians on the references of SelectReferences.
func fitLiRADefault(d *Data, sig []float64, target int, cfg LiRAConfig, f *liraFit, capIn, capOut int) (*liraFit, error) {
	refs, err := SelectReferences(d, target, RefConfig{})
	if err != nil {
		return nil, fmt.Errorf("LiRA: %w", err)
	}
	if err := refs.need(cfg.Online, true, capIn, capOut); err != nil {
		return nil, fmt.Errorf("LiRA: %w", err)
	}
	var in, out *liraSide
	if cfg.Online {
		in = fitSide(d, sig, refs, true, capIn)
	}
	out = fitSide(d, sig, refs, false, capOut)
	least := out.least
	if in != nil {
		least = min(least, in.least)
	}
	fix := least < AutoVarianceModels
	if cfg.FixVariance != nil {
		fix = *cfg.FixVariance
	}
	for _, s := range []*liraSide{in, out} {
		if s == nil {
			continue
		}
		if !(s.global > 0) {
			return nil, fmt.Errorf("LiRA: the reference models' signals do not vary (σ = %v): no Gaussian can be fitted", s.global)
		}
		for k, sd := range s.sd {
			if fix || !(sd > 0) || s.n[k/d.Q] < 2 {
				s.sd[k] = s.global
			}
		}
	}
	if err := fillMissing(in, out, d.Q); err != nil {
		return nil, fmt.Errorf("LiRA: %w", err)
	}
	if in != nil {
		f.muIn, f.sdIn = in.mu, in.sd
	}
	f.muOut, f.sdOut = out.mu, out.sd
	return f, nil
}

// fitSide fits the Gaussians of one side (IN if member) over each record's references, capped at limit
// (0: no cap).
func fitSide(d *Data, sig []float64, refs *References, member bool, limit int) *liraSide {
	s := &liraSide{mu: make([]float64, d.N*d.Q), sd: make([]float64, d.N*d.Q), n: make([]int, d.N), least: math.MaxInt}
	var inBuf, outBuf []int
	var vals, tmp, res, raw []float64
	for i := 0; i < d.N; i++ {
		inBuf, outBuf = refs.Record(i, inBuf, outBuf)
		models := outBuf
		if member {
			models = inBuf
		}
		if limit > 0 {
			models = models[:min(len(models), limit)]
		}
		s.n[i] = len(models)
		s.least = min(s.least, len(models))
		for q := 0; q < d.Q; q++ {
			k := i*d.Q + q
			if len(models) == 0 {
				s.mu[k], s.sd[k] = math.NaN(), math.NaN()
				continue
			}
			vals = vals[:0]
			for _, m := range models {
				vals = append(vals, sig[(i*d.M+m)*d.Q+q])
			}
			raw = append(raw, vals...)
			s.sd[k] = stdOf(vals, &tmp)
			s.mu[k] = medianOf(vals)
			if len(vals) >= 2 {
				for _, v := range vals {
					res = append(res, v-s.mu[k])
				}
			}
		}
	}
	switch {
	case len(res) > 0:
		s.global = stdOf(res, &tmp)
	case len(raw) > 1:
		s.global = stdOf(raw, &tmp)
	}
	return s
}

// fillMissing gives the records without values on a side the documented fallback of LiRA: μ from the
// other side shifted by the median difference Δ over the records that have both (in is nil offline: then
// the median μ_out of the others). σ of those records is the side's global σ already.
func fillMissing(in, out *liraSide, q int) error {
	for q0 := range q {
		var delta, center []float64
		for k := q0; k < len(out.mu); k += q {
			switch {
			case in == nil && !math.IsNaN(out.mu[k]):
				center = append(center, out.mu[k])
			case in != nil && !math.IsNaN(in.mu[k]) && !math.IsNaN(out.mu[k]):
				delta = append(delta, in.mu[k]-out.mu[k])
			}
		}
		if len(delta) == 0 && len(center) == 0 {
			return fmt.Errorf("no record has the reference models to fit its Gaussians (every record lacks an IN or an OUT model)")
		}
		var fill float64
		if in == nil {
			fill = medianOf(center)
		} else {
			fill = medianOf(delta)
		}
		for k := q0; k < len(out.mu); k += q {
			switch {
			case in == nil && math.IsNaN(out.mu[k]):
				out.mu[k] = fill
			case in == nil:
			case math.IsNaN(in.mu[k]) && math.IsNaN(out.mu[k]):
				return fmt.Errorf("record %d has no reference model", k/q)
			case math.IsNaN(in.mu[k]):
				in.mu[k] = out.mu[k] + fill
			case math.IsNaN(out.mu[k]):
				out.mu[k] = in.mu[k] - fill
			}
		}
	}
	return nil
}

// populationGaussian fits median and guarded std of the target model's population signals, per query, and
// repeats them for every record.
func populationGaussian(d *Data, pop []float64, target int) (mu, sd []float64) {
	mu = make([]float64, d.N*d.Q)
	sd = make([]float64, d.N*d.Q)
	vals := make([]float64, d.Z)
	var tmp []float64
	for q := 0; q < d.Q; q++ {
		for z := range vals {
			vals[z] = pop[(z*d.M+target)*d.Q+q]
		}
		s := stdOf(vals, &tmp) + 1e-30
		m := medianOf(vals)
		for i := 0; i < d.N; i++ {
			mu[i*d.Q+q], sd[i*d.Q+q] = m, s
		}
	}
	return mu, sd
}
