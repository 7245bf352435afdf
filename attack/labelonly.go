package attack

import (
	"fmt"
	"math"
)

// Label-only attacks read what a model's predicted labels reveal (package labelonly computes them):
// whether the target still predicts a record's label under augmentations (Data.Aug), and how far the
// record lies from its decision boundary (Data.Boundary). They run at every level of model access.

func checkAug(d *Data, target int, name string) error {
	if err := d.Validate(); err != nil {
		return err
	}
	if err := d.CheckTarget(target); err != nil {
		return err
	}
	if d.Aug == nil {
		return fmt.Errorf("%s: the data have no augmentation correctness (a label-only signal: the audit computes it when a label-only attack is listed)", name)
	}
	return nil
}

// Augmentation is the data-augmentation attack of Choquette-Choo, Tramèr, Carlini and Papernot,
// "Label-Only Membership Inference Attacks" (ICML 2021, §4.1) with a threshold: score = (1/A)·Σ_a b_a,
// the fraction of the record's A augmentations (the record itself included) on which the target
// predicts the record's label; a model that trained on a record tends to keep its label under small
// flips, shifts or noise. No reference models are used.
func Augmentation(d *Data, target int) ([]float64, error) {
	if err := checkAug(d, target, "augmentation"); err != nil {
		return nil, err
	}
	out := make([]float64, d.N)
	for i := range out {
		for a := 0; a < d.A; a++ {
			if d.Aug[(i*d.M+target)*d.A+a] {
				out[i]++
			}
		}
		out[i] /= float64(d.A)
	}
	return out, nil
}

// AugmentationLiRAConfig configures AugmentationLiRA.
type AugmentationLiRAConfig struct {
	Online bool // IN and OUT reference models (false: OUT only)
	NumRef int  // cap per side (SelectReferences); 0 = all
}

// AugmentationLiRA is the data-augmentation attack with reference models, LiRA-style (Carlini et al.
// 2022's per-record likelihood ratio, on Choquette-Choo et al.'s correctness vector b ∈ {0,1}^A): for
// record x and augmentation a, p_in,a and p_out,a are the probabilities that a model that did (did not)
// train on x predicts its label on augmentation a, estimated from x's IN and OUT reference models
// (SelectReferences) as (1 + #correct)/(2 + #models), the posterior mean under a uniform prior. With the
// augmentations taken as independent,
//
//   - online: score = Σ_a log [Bern(b_a; p_in,a) / Bern(b_a; p_out,a)];
//   - offline: score = Σ_a (b_a − p_out,a)/√(p_out,a(1 − p_out,a)), the standardised excess of the
//     target's correct answers over what OUT models give (one-sided: a member is right more often).
func AugmentationLiRA(d *Data, target int, cfg AugmentationLiRAConfig) ([]float64, error) {
	if err := checkAug(d, target, "augmentation-lira"); err != nil {
		return nil, err
	}
	refs, err := SelectReferences(d, target, RefConfig{NumRef: cfg.NumRef})
	if err != nil {
		return nil, fmt.Errorf("augmentation-lira: %w", err)
	}
	if err := refs.need(cfg.Online, true, 0, 0); err != nil {
		return nil, fmt.Errorf("augmentation-lira: %w", err)
	}
	rate := func(i, a int, models []int) float64 {
		c := 1.0
		for _, m := range models {
			if d.Aug[(i*d.M+m)*d.A+a] {
				c++
			}
		}
		return c / float64(2+len(models))
	}
	bern := func(b bool, p float64) float64 {
		if b {
			return math.Log(p)
		}
		return math.Log1p(-p)
	}
	out := make([]float64, d.N)
	var in, outM []int
	for i := range out {
		in, outM = refs.Record(i, in, outM)
		for a := 0; a < d.A; a++ {
			b := d.Aug[(i*d.M+target)*d.A+a]
			pOut := rate(i, a, outM)
			if cfg.Online {
				out[i] += bern(b, rate(i, a, in)) - bern(b, pOut)
				continue
			}
			bv := 0.0
			if b {
				bv = 1
			}
			out[i] += (bv - pOut) / math.Sqrt(pOut*(1-pOut))
		}
	}
	return out, nil
}

// Boundary is the decision-boundary-distance attack of Choquette-Choo et al. (ICML 2021, §4.2) and Li and
// Zhang, "Membership Leakage in Label-Only Exposures" (CCS 2021): score = the L2 distance from the record
// to the target's decision boundary found by a label-only search (labelonly.Distance), 0 for a record
// the target misclassifies; members lie further from the boundary. No reference models are used.
func Boundary(d *Data, target int) ([]float64, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if err := d.CheckTarget(target); err != nil {
		return nil, err
	}
	if d.Boundary == nil {
		return nil, fmt.Errorf("boundary: the data have no boundary distances (the audit measures them when the boundary attack is listed)")
	}
	out := make([]float64, d.N)
	for i := range out {
		v := d.Boundary[i*d.M+target]
		if v < 0 {
			return nil, fmt.Errorf("boundary: record %d: no distance measured for model %d", i, target)
		}
		if math.IsInf(v, 1) {
			v = math.MaxFloat64 // no other label found within the budget: as far as can be
		}
		out[i] = v
	}
	return out, nil
}
