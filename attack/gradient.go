package attack

import (
	"fmt"
	"math"

	"github.com/pmeter/pmeter/signal"
)

// White-box attacks read the per-record gradient norm ‖∇_θ ℓ(x; θ)‖₂ of a model's loss on a record
// (Data.Grad): a model that has fitted a record has a small gradient on it. The norm is taken over the
// whole model or over one layer with parameters (GradNormConfig.Layer), as LeakPro's and mimir's
// gradient-norm signals are.

// GradNormConfig selects the gradient norm the white-box attacks read.
type GradNormConfig struct {
	// Layer is 0 for the norm over every parameter of the model, k ≥ 1 for the norm over the k-th layer
	// with parameters only (in the model's order).
	Layer int
}

// gradColumn returns the chosen norm of model m for every record of grad (rows × M × G).
func gradColumn(grad []float64, rows, models, g, m, layer int) []float64 {
	out := make([]float64, rows)
	for i := range out {
		out[i] = grad[(i*models+m)*g+layer]
	}
	return out
}

func checkGrad(d *Data, target int, cfg GradNormConfig, name string) error {
	if err := d.Validate(); err != nil {
		return err
	}
	if err := d.CheckTarget(target); err != nil {
		return err
	}
	if d.Grad == nil {
		return fmt.Errorf("%s: the data have no gradient norms (a white-box signal: the audit computes them when a white-box attack is listed)", name)
	}
	if cfg.Layer < 0 || cfg.Layer >= d.G {
		return fmt.Errorf("%s: layer %d; the data have the whole-model norm (0) and %d layers with parameters (1 to %d)", name, cfg.Layer, d.G-1, d.G-1)
	}
	return nil
}

// GradNorm is the gradient-norm threshold attack, white-box: score = −‖∇_θ ℓ(x; θ_target)‖₂, higher =
// more likely a member. Nasr, Shokri and Houmansadr ("Comprehensive Privacy Analysis of Deep Learning",
// IEEE S&P 2019, §VI-B and Fig. 5) show that members have markedly smaller gradient norms than
// non-members; thresholding the norm is the white-box counterpart of Yeom et al.'s LOSS attack. No
// reference models are used.
func GradNorm(d *Data, target int, cfg GradNormConfig) ([]float64, error) {
	if err := checkGrad(d, target, cfg, "gradnorm"); err != nil {
		return nil, err
	}
	s := gradColumn(d.Grad, d.N, d.M, d.G, target, cfg.Layer)
	for i := range s {
		s[i] = -s[i]
	}
	return s, nil
}

// GradNormLiRA is LiRA (Carlini et al., "Membership Inference Attacks From First Principles", IEEE S&P
// 2022, Algorithm 1) on the white-box signal φ = −log ‖∇_θ ℓ(x; θ)‖₂: for each record, Gaussians fitted
// to φ under its IN and OUT reference models (SelectReferences, as LiRA), and online the likelihood
// ratio, offline the one-sided test that OUT models' φ lies below the target's. The logarithm makes the
// norm, a positive quantity spread over orders of magnitude, close to Gaussian across models, as the
// logit scaling does for p(true label). A norm of exactly 0 counts as 1e-300. cfg is LiRA's
// configuration; PopulationOut uses the population's gradient norms.
func GradNormLiRA(d *Data, target int, g GradNormConfig, cfg LiRAConfig) ([]float64, error) {
	if err := checkGrad(d, target, g, "gradnorm-lira"); err != nil {
		return nil, err
	}
	if cfg.Compat.set() {
		return nil, fmt.Errorf("gradnorm-lira: compat %s reproduces LiRA on logits only", cfg.Compat)
	}
	phi := func(grad []float64, rows int) []float64 {
		out := make([]float64, rows*d.M)
		for k := range out {
			out[k] = -math.Log(max(grad[k*d.G+g.Layer], 1e-300))
		}
		return out
	}
	v := &Data{N: d.N, M: d.M, Q: 1, Kind: signal.RescaledLogit, Members: d.Members, Design: d.Design,
		Signals: phi(d.Grad, d.N)}
	if d.PopGrad != nil {
		v.Z, v.Population = d.Z, phi(d.PopGrad, d.Z)
	}
	return LiRA(v, target, cfg)
}

// GradNormRMIA is RMIA (Zarifzadeh, Liu, Shokri & Chang, "Low-Cost High-Power Membership Inference
// Attacks", ICML 2024, Eq. 4–5) on the white-box signal: Pr(x|θ) = exp(−‖∇_θ ℓ(x; θ)‖₂), the gradient
// norm's counterpart of p(y|x) = exp(−ℓ) — 1 for a record the model fits exactly, smaller as the gradient
// grows. The pairwise likelihood ratios LR(x, z) = (Pr(x|θ_t)/Pr(x)) / (Pr(z|θ_t)/Pr(z)) against the
// population records z, Pr(·) the mean over the record's reference models (SelectReferences, online IN and
// OUT, offline OUT with a), and the score #{z : LR(x, z) > γ}/Z are RMIA's own (cfg). It needs the
// population's gradient norms.
func GradNormRMIA(d *Data, target int, g GradNormConfig, cfg RMIAConfig) ([]float64, error) {
	if err := checkGrad(d, target, g, "gradnorm-rmia"); err != nil {
		return nil, err
	}
	if d.PopGrad == nil {
		return nil, fmt.Errorf("gradnorm-rmia: the data have no population gradient norms; RMIA compares every record with population records")
	}
	if cfg.Compat.set() || cfg.Aggregate == QueryMajority {
		return nil, fmt.Errorf("gradnorm-rmia: compat and aggregate=majority are for RMIA on probabilities")
	}
	pr := func(grad []float64, rows int) []float64 {
		out := make([]float64, rows*d.M)
		for k := range out {
			out[k] = math.Exp(-grad[k*d.G+g.Layer])
		}
		return out
	}
	v := &Data{N: d.N, M: d.M, Q: 1, Kind: signal.ProbTrue, Members: d.Members, Design: d.Design,
		Signals: pr(d.Grad, d.N), Z: d.Z, Population: pr(d.PopGrad, d.Z)}
	return RMIA(v, target, cfg)
}
