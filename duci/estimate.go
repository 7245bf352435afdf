package duci

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/metric"
)

// Target is one model whose use of the dataset is estimated, with the reference models (known
// memberships on the dataset, trained independently of the target's choice of records) that calibrate
// the estimate.
type Target struct {
	Model int   `json:"model"`
	Refs  []int `json:"references"`
}

// Config configures Estimate.
type Config struct {
	// Attack is the membership attack (nil: DUCI's RMIA variant with a tuned, &RMIA{Tune: true}).
	Attack Scorer
	// Resamples is the number of bootstrap resamples of the confidence interval (0: 1000; negative: no
	// interval). Level is its confidence level (0: 0.95); Seed seeds the resampling.
	Resamples int
	Level     float64
	Seed      uint64
	// Interval is the interval's construction (BootstrapOptions.Method; empty: IntervalConditional).
	Interval IntervalMethod
	// Truth adds the target's true proportion (its memberships in the Data) to the result, for
	// simulations and reference models whose memberships are known.
	Truth bool
	// Compat CompatPrivacyMeter runs Privacy Meter v2's DUCI (PrivacyMeter): Attack must be nil (its
	// RMIA, a tuned once per Estimate unless OfflineA is set) or Population; no interval is computed.
	Compat   attack.Compat
	OfflineA *float64
}

// Result is DUCI's outcome against one target.
type Result struct {
	Target     int    `json:"target"`
	Method     string `json:"method"`
	References []int  `json:"references"`
	// TargetReferences are the references the target was attacked with; ReferenceReferences those each
	// reference model was attacked with (the same number for all, by default).
	TargetReferences    []int   `json:"target_references"`
	ReferenceReferences [][]int `json:"reference_references"`
	// OfflineA is the RMIA variant's a (tuned or given); OfflineAAUC the pooled reference AUC of every a
	// of the grid when it was tuned.
	OfflineA    *float64  `json:"offline_a,omitempty"`
	OfflineAAUC []float64 `json:"offline_a_auc,omitempty"`
	// Proportion is the estimate clipped to [0, 1] (compat: Privacy Meter's, unclipped); Raw the mean of
	// the debiased predictions.
	Proportion float64 `json:"proportion"`
	Raw        float64 `json:"raw_proportion"`
	// CI is the bootstrap confidence interval of the proportion (nil in compat mode or without resamples);
	// CILow and CIHigh are its ends.
	CI     *Interval `json:"interval,omitempty"`
	CILow  *float64  `json:"ci_low,omitempty"`
	CIHigh *float64  `json:"ci_high,omitempty"`
	// Threshold, TPR and FPR are the point of maximal TPR − FPR on the references' pooled scores; the
	// target's predictions are score ≥ Threshold (compat: >).
	Threshold float64 `json:"threshold"`
	TPR       float64 `json:"tpr"`
	FPR       float64 `json:"fpr"`
	// PerRefTPR and PerRefFPR are each reference model's rates at Threshold.
	PerRefTPR []float64 `json:"per_ref_tpr"`
	PerRefFPR []float64 `json:"per_ref_fpr"`
	// Direct is the fraction of records predicted members, the naive estimate.
	Direct float64 `json:"direct_aggregation"`
	// TrueProportion is the target's fraction of members in the Data (Config.Truth).
	TrueProportion *float64      `json:"true_proportion,omitempty"`
	Compat         attack.Compat `json:"compat,omitempty"`

	// TargetScores, RefScores (one per reference) and Debiased (per record) are the intermediates;
	// RefCurve is the ROC curve of the pooled reference scores.
	TargetScores []float64    `json:"-"`
	RefScores    [][]float64  `json:"-"`
	Debiased     []float64    `json:"-"`
	RefCurve     metric.Curve `json:"-"`
}

// Interval is a confidence interval with its level and how it was made.
type Interval struct {
	Lo        float64 `json:"lo"`
	Hi        float64 `json:"hi"`
	Level     float64 `json:"level"`
	Resamples int     `json:"resamples"`
	// Undefined counts the resamples whose references did not separate members from non-members
	// (TPR ≤ FPR); each counts as consistent with every proportion (half at −∞, half at +∞).
	Undefined int `json:"undefined,omitempty"`
	// Method is the construction (BootstrapOptions.Method): conditional or conservative; empty in an
	// interval saved by a pmeter that did not record it.
	Method IntervalMethod `json:"method,omitempty"`
}

// Estimate runs DUCI (Tong et al., ICLR 2025) against every target: the proportion of the Data's
// records that the target was trained on, with a bootstrap confidence interval.
//
// Each target is attacked with Config.Attack, and so is each of its reference models, with the same
// number of references n: the reference models of reference r are the target's other references except
// those whose memberships are determined by r's (equal or complementary on every record, such as r's
// pair in Privacy Meter's pairs design, which the target does not have among its references), and n is
// the smallest such count; the target is attacked with its first n references. The reference scores
// then describe the attack that is applied to the target (Privacy Meter attacks the references with one
// reference fewer, its D4). The threshold is the point of maximal TPR − FPR on the references' pooled
// scores and the estimate is DebiasCrossFit's (the rates measured on other records than those that
// chose the threshold), clipped to [0, 1].
//
// The interval is a percentile bootstrap (Resamples, Level; Bootstrap, Config.Interval): each resample
// draws the reference models and their records with replacement, chooses the threshold again, adds a
// model effect for the target and the target's own sampling noise with its memberships held fixed, and
// debiases the target's predictions. It covers the proportion at about the stated level when the
// target's attack is distributed like the references' (the target is trained like them, on a fraction
// of the dataset), measured on the validity harness (package validity; see the README).
//
// Errors: a target or reference out of range, a target among its references, a reference without
// members or non-members, ErrNoSeparation, and the attack's.
func Estimate(ctx context.Context, d *attack.Data, targets []Target, cfg Config) ([]Result, error) {
	if len(targets) == 0 {
		return nil, errors.New("duci: no target model")
	}
	for _, t := range targets {
		if err := checkTarget(d, t); err != nil {
			return nil, err
		}
	}
	if cfg.Compat == attack.CompatPrivacyMeter {
		return estimateCompat(d, targets, cfg)
	}
	if cfg.Compat != "" && cfg.Compat != attack.CompatNone {
		return nil, fmt.Errorf("duci: compat %q; want none or %s", cfg.Compat, attack.CompatPrivacyMeter)
	}
	var out []Result
	for _, t := range targets {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r, err := estimate(ctx, d, t, cfg)
		if err != nil {
			return nil, fmt.Errorf("duci: target model %d: %w", t.Model, err)
		}
		out = append(out, *r)
	}
	return out, nil
}

func checkTarget(d *attack.Data, t Target) error {
	if t.Model < 0 || t.Model >= d.M {
		return fmt.Errorf("duci: target model %d does not exist (there are %d models)", t.Model, d.M)
	}
	if len(t.Refs) == 0 {
		return fmt.Errorf("duci: target model %d has no reference model", t.Model)
	}
	seen := map[int]bool{}
	for _, r := range t.Refs {
		switch {
		case r < 0 || r >= d.M:
			return fmt.Errorf("duci: reference model %d of target model %d does not exist (there are %d models)", r, t.Model, d.M)
		case r == t.Model:
			return fmt.Errorf("duci: target model %d is among its own references", t.Model)
		case seen[r]:
			return fmt.Errorf("duci: reference model %d of target model %d is listed twice", r, t.Model)
		}
		seen[r] = true
		if err := d.CheckTarget(r); err != nil {
			return fmt.Errorf("duci: reference model %d: %w", r, err)
		}
	}
	return nil
}

// determined reports whether model b's memberships equal a's or their complement on every record.
func determined(d *attack.Data, a, b int) bool {
	eq, co := true, true
	for i := range d.N {
		x, y := d.Members[i*d.M+a], d.Members[i*d.M+b]
		eq = eq && x == y
		co = co && x != y
		if !eq && !co {
			return false
		}
	}
	return true
}

// plan returns the references of the target's attack and of every reference model's attack.
func plan(d *attack.Data, t Target) (target []int, refs [][]int) {
	n := len(t.Refs)
	for _, r := range t.Refs {
		o := slices.DeleteFunc(slices.Clone(t.Refs), func(s int) bool { return s == r || determined(d, r, s) })
		refs = append(refs, o)
		n = min(n, len(o))
	}
	for j := range refs {
		refs[j] = refs[j][:n]
	}
	return slices.Clone(t.Refs[:n]), refs
}

func estimate(ctx context.Context, d *attack.Data, t Target, cfg Config) (*Result, error) {
	sc := cfg.Attack
	if sc == nil {
		sc = &RMIA{Tune: true}
	}
	res := &Result{Target: t.Model, Method: sc.Method(), References: slices.Clone(t.Refs)}
	res.TargetReferences, res.ReferenceReferences = plan(d, t)
	members := make([][]bool, len(t.Refs))
	for j, r := range t.Refs {
		members[j] = d.TargetMembers(r)
	}
	if r, ok := sc.(*RMIA); ok {
		rc := *r
		if r.Tune {
			a, aucs, err := tuneOnReferences(d, t, res.ReferenceReferences, members, rc)
			if err != nil {
				return nil, err
			}
			rc.OfflineA, res.OfflineAAUC = a, aucs
		}
		rc.Tune = false
		res.OfflineA = &rc.OfflineA
		sc = &rc
	}
	var err error
	if res.TargetScores, err = sc.Scores(d, t.Model, res.TargetReferences); err != nil {
		if len(res.TargetReferences) == 0 {
			err = fmt.Errorf("%w: no reference is left to attack a reference model with (each is determined by the others, as a single complementary pair is); give more reference models", err)
		}
		return nil, err
	}
	for j, r := range t.Refs {
		s, err := sc.Scores(d, r, res.ReferenceReferences[j])
		if err != nil {
			return nil, fmt.Errorf("reference model %d: %w", r, err)
		}
		res.RefScores = append(res.RefScores, s)
	}
	deb, err := DebiasCrossFit(res.TargetScores, res.RefScores, members)
	if err != nil {
		return nil, err
	}
	fill(res, deb, members, cfg.Truth, d)
	res.Proportion = min(1, max(0, deb.Proportion))
	if cfg.Resamples >= 0 {
		ci, err := Bootstrap(ctx, res.TargetScores, res.RefScores, members, BootstrapOptions{Resamples: cfg.Resamples, Level: cfg.Level, Seed: cfg.Seed, Method: cfg.Interval})
		if err != nil {
			return nil, err
		}
		res.CI, res.CILow, res.CIHigh = &ci, &ci.Lo, &ci.Hi
	}
	return res, nil
}

// fill copies the debiased estimate into res.
func fill(res *Result, deb *Debiased, members [][]bool, truth bool, d *attack.Data) {
	res.Raw, res.Proportion = deb.Proportion, deb.Proportion
	res.Threshold, res.TPR, res.FPR, res.Direct = deb.Threshold, deb.TPR, deb.FPR, deb.Direct
	res.Debiased, res.RefCurve = deb.Debiased, deb.Curve
	for j := range res.RefScores {
		tp, fp := rates(res.RefScores[j], members[j], deb.Threshold)
		res.PerRefTPR, res.PerRefFPR = append(res.PerRefTPR, tp), append(res.PerRefFPR, fp)
	}
	if truth {
		in := 0
		for i := range d.N {
			if d.Members[i*d.M+res.Target] {
				in++
			}
		}
		p := float64(in) / float64(d.N)
		res.TrueProportion = &p
	}
}

// tuneOnReferences chooses the RMIA variant's a as the a of highest AUC of the reference models' pooled
// scores, each reference attacked as in the estimate (with its own population signals, and neither the
// target nor its paired model taking part; Privacy Meter tunes on the target's paired model, whose
// memberships are the complement of the target's, with the target's population signals: its D2).
func tuneOnReferences(d *attack.Data, t Target, refRefs [][]int, members [][]bool, rc RMIA) (float64, []float64, error) {
	grid := rc.Grid
	if len(grid) == 0 {
		grid = attack.OfflineAGrid(0.1)
	}
	var pm []bool
	for _, m := range members {
		pm = append(pm, m...)
	}
	aucs := make([]float64, len(grid))
	best, bestAUC, found := 0.0, 0.0, false
	for k, a := range grid {
		rc.OfflineA = a
		var ps []float64
		for j, r := range t.Refs {
			s, err := rc.Scores(d, r, refRefs[j])
			if err != nil {
				return 0, nil, fmt.Errorf("tuning offline a: reference model %d: %w", r, err)
			}
			ps = append(ps, s...)
		}
		aucs[k] = metric.AUC(metric.ROC(ps, pm, true))
		if aucs[k] > bestAUC {
			best, bestAUC, found = a, aucs[k], true
		}
	}
	if !found {
		return 0, aucs, errors.New("tuning offline a: no a gives the reference models an AUC above 0")
	}
	return best, aucs, nil
}

// estimateCompat runs PrivacyMeter over the targets.
func estimateCompat(d *attack.Data, targets []Target, cfg Config) ([]Result, error) {
	pm := &PrivacyMeter{OfflineA: cfg.OfflineA}
	method := "duci-rmia"
	switch a := cfg.Attack.(type) {
	case nil:
	case *RMIA:
		if !a.Tune {
			v := a.OfflineA
			pm.OfflineA = &v
		}
	case Population:
		pm.Population, method = true, a.Method()
		if pm.OfflineA == nil {
			v := 0.3
			pm.OfflineA = &v
		}
	default:
		return nil, fmt.Errorf("duci: compat %s runs Privacy Meter's RMIA or the demo's population attack, not %s", attack.CompatPrivacyMeter, a.Method())
	}
	cr, err := pm.PredProportions(d, targets)
	if err != nil {
		return nil, err
	}
	out := make([]Result, len(cr))
	for k, c := range cr {
		r := &out[k]
		*r = Result{Target: c.Target, Method: method, References: c.References, TargetReferences: c.References,
			ReferenceReferences: c.RefAttackRefs, TargetScores: c.TargetScores, RefScores: c.RefScores, Compat: attack.CompatPrivacyMeter}
		a := c.OfflineA
		r.OfflineA = &a
		if k == 0 {
			r.OfflineAAUC = pm.TuneAUC
		}
		members := make([][]bool, len(c.References))
		for j, ref := range c.References {
			members[j] = d.TargetMembers(ref)
		}
		fill(r, c.Debiased, members, cfg.Truth, d)
	}
	return out, nil
}
