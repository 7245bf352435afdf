package attack

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// Regression models. Their signal is the residual r = y − ŷ (signal.Residual), and the attacks loss,
// lira and rmia read it directly:
//
//   - LOSS (Yeom et al. 2018): score = −mean_q e(r_q), e(r) = r² (RegressionSquared, the MSE a model
//     trains on) or |r| (RegressionAbsolute); the two rank records alike, and differ in the histograms.
//   - LiRA (Carlini et al. 2022): Gaussian IN and OUT fits of the signed residual over each record's
//     reference models, exactly as on the rescaled logit (online: the Gaussian log likelihood ratio).
//     Offline, one-sided, the test is on the absolute residual, a member being fitted more closely than
//     OUT models fit it: score = mean_q log Pr_{R ~ N(μ_out, σ_out²)}[|R| ≥ |r_q|] (Eq. 4 with the
//     loss |r| in place of −φ).
//   - RMIA (Zarifzadeh et al. 2024): RMIAResidual, with the Gaussian likelihood of the residual.

// RegressionError is the error a regression LOSS attack thresholds.
type RegressionError string

// The regression errors.
const (
	RegressionSquared  RegressionError = "squared"
	RegressionAbsolute RegressionError = "absolute"
)

// lossResidual is LOSS on residuals: −mean_q e(r_q).
func lossResidual(d *Data, target int, cfg LOSSConfig) ([]float64, error) {
	if cfg.Compat != "" && cfg.Compat != CompatNone {
		return nil, fmt.Errorf("loss: compat %s is for classifiers; the signals are regression residuals", cfg.Compat)
	}
	e := func(r float64) float64 { return r * r }
	switch cfg.Error {
	case "", RegressionSquared:
	case RegressionAbsolute:
		e = math.Abs
	default:
		return nil, fmt.Errorf("loss: regression error %q; want %q or %q", cfg.Error, RegressionSquared, RegressionAbsolute)
	}
	scores := make([]float64, d.N)
	for i := range scores {
		for q := 0; q < d.Q; q++ {
			scores[i] -= e(d.Signal(i, target, q))
		}
		scores[i] /= float64(d.Q)
	}
	return scores, nil
}

// logAbsAbove returns log Pr[|R| ≥ a] for R ~ N(μ, σ²) and a ≥ 0: log(Φ((μ−a)/σ) + Φ((−μ−a)/σ)), summed
// in log space so that neither tail underflows.
func logAbsAbove(a, mu, sd float64) float64 {
	x, y := normLogCDF((mu-a)/sd), normLogCDF((-mu-a)/sd)
	if x < y {
		x, y = y, x
	}
	return x + math.Log1p(math.Exp(y-x))
}

// RMIAResidual is RMIA (Zarifzadeh, Liu, Chang and Shokri, "Low-Cost High-Power Membership Inference
// Attacks", ICML 2024, §3) for regression models, with Pr(x|θ) the Gaussian likelihood of the residual
// r_θ(x) = y − ŷ_θ(x) under model θ's own residual scale:
//
//	Pr(x|θ) = N(r_θ(x); 0, s_θ²),  s_θ² = mean_z r_θ(z)² over the population records (which θ never saw),
//
// averaged over queries. As in RMIA, LR(x, z) = (Pr(x|θ_t)/Pr(x)) / (Pr(z|θ_t)/Pr(z)) with Pr(·) the mean of
// Pr(·|θ) over the reference models (Eq. 4): online a record's IN and OUT models (SelectReferences), and
// offline its OUT models only — the offline approximation Pr(x) ≈ ½((1+a)·Pr_OUT(x) + 1 − a) is for
// probabilities, not densities, and a = 1 leaves Pr_OUT(x); a population record averages over the first
// R (offline) or 2R (online) models of the pool. The score (Eq. 5) is #{z : LR(x, z) > γ} / Z, everything in
// log space; ties within a count are broken by the record's own ratio (a fraction below ½ of a count, so
// that the counts keep their order). A record without OUT models offline takes the population's mean.
func RMIAResidual(d *Data, target int, cfg RMIAConfig) ([]float64, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if err := d.CheckTarget(target); err != nil {
		return nil, err
	}
	gamma, err := checkRMIAConfig(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Compat != "" && cfg.Compat != CompatNone || cfg.Aggregate == QueryMajority {
		return nil, fmt.Errorf("rmia: regression residuals take neither compat nor aggregate=majority")
	}
	if d.Z < 1 {
		return nil, fmt.Errorf("rmia: no population records; RMIA compares every record with records that no model trained on")
	}
	refs, err := SelectReferences(d, target, RefConfig{NumRef: cfg.NumRef, Models: cfg.RefModels})
	if err != nil {
		return nil, fmt.Errorf("rmia: %w", err)
	}
	if err := refs.need(cfg.Online, true, 0, 0); err != nil {
		return nil, fmt.Errorf("rmia: %w", err)
	}
	popRefs := refs.Models(cfg.NumRef)
	if cfg.Online {
		popRefs = refs.Models(2 * cfg.NumRef)
	}
	// logS[m] = log s_m; lp(r, m) = log N(r; 0, s_m²) up to the constant −½ log 2π, which cancels.
	logS := make([]float64, d.M)
	for m := range logS {
		ss := 0.0
		for z := 0; z < d.Z; z++ {
			for q := 0; q < d.Q; q++ {
				r := d.PopSignal(z, m, q)
				ss += r * r
			}
		}
		ss /= float64(d.Z * d.Q)
		if !(ss > 0) {
			return nil, fmt.Errorf("rmia: model %d fits every population record exactly (residual variance 0): no Gaussian likelihood", m)
		}
		logS[m] = 0.5 * math.Log(ss)
	}
	logLik := func(sig func(m, q int) float64, m int) float64 {
		s := 0.0
		for q := 0; q < d.Q; q++ {
			r := sig(m, q)
			s += -0.5*r*r*math.Exp(-2*logS[m]) - logS[m]
		}
		return s / float64(d.Q)
	}
	// logMean returns log mean_m exp(v_m).
	logMean := func(v []float64) float64 {
		mx := slices.Max(v)
		s := 0.0
		for _, x := range v {
			s += math.Exp(x - mx)
		}
		return mx + math.Log(s/float64(len(v)))
	}
	var buf []float64
	popRatio := make([]float64, d.Z)
	for z := range popRatio {
		sig := func(m, q int) float64 { return d.PopSignal(z, m, q) }
		buf = buf[:0]
		for _, m := range popRefs {
			buf = append(buf, logLik(sig, m))
		}
		popRatio[z] = logLik(sig, target) - logMean(buf)
	}
	var in, out []int
	xRatio := make([]float64, d.N)
	for i := range xRatio {
		sig := func(m, q int) float64 { return d.Signal(i, m, q) }
		in, out = refs.Record(i, in, out)
		models := out
		if cfg.Online {
			models = append(slices.Clone(in), out...)
		}
		if len(models) == 0 {
			models = popRefs
		}
		buf = buf[:0]
		for _, m := range models {
			buf = append(buf, logLik(sig, m))
		}
		xRatio[i] = logLik(sig, target) - logMean(buf)
	}
	sort.Float64s(popRatio)
	lg := math.Log(gamma)
	scores := make([]float64, d.N)
	for i, lr := range xRatio {
		v := lr - lg                          // LR(x, z) > γ ⟺ log ratio_z < v
		c := sort.SearchFloat64s(popRatio, v) // #{z : log ratio_z < v}
		var frac float64
		switch {
		case c == 0:
			frac = 0.5 * math.Exp(v-popRatio[0])
		case c == d.Z:
			frac = 0.5 * -math.Expm1(-(v - popRatio[d.Z-1]))
		case popRatio[c] > popRatio[c-1]:
			frac = 0.5 * (v - popRatio[c-1]) / (popRatio[c] - popRatio[c-1])
		}
		scores[i] = (float64(c) + frac) / float64(d.Z)
	}
	return scores, nil
}
