package duci

import (
	"errors"
	"fmt"
	"slices"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/metric"
)

// PrivacyMeter is Privacy Meter v2's DUCI (DUCI.pred_proportions of modules/duci/module_duci.py, with
// MIA.run_mia of modules/mia at commit e384af8) reproduced bit for bit, quirks included:
//
//   - D1: the target's predictions are score > θ while the references' TPR and FPR count score ≥ θ;
//   - D2: offline a is tuned on the target's paired model (target ± 1) with R = 1, against the paired
//     model's memberships, but with the target's population signals;
//   - D3: a is tuned once, by the first attack of the session, written into the session (OfflineA) and
//     reused by every later target and reference attack;
//   - D4: each reference model is attacked with the other references only (one fewer than the target's
//     attack, whose k = max(n_ref/2, 1) may fall into another branch), or with itself when it is the
//     only one;
//   - D5: the IN-signal conversion of the RMIA variant is unclipped (see RMIA);
//   - D9: the estimate is not clipped to [0, 1] and nothing guards TPR = FPR.
//
// The zero value runs Privacy Meter's RMIA with a tuned; Population selects the population attack of
// demo_duci.ipynb's single-reference section (MyMIA: score = #{z : p_t(x)/p_t(z) > 1}/Z).
type PrivacyMeter struct {
	// OfflineA is args["offline_a"]: nil tunes a on the first target's paired model and then holds it.
	OfflineA *float64
	// Population selects the demo's population attack (a is required by run_mia but unused).
	Population bool
	// TuneAUC and TuneScores are the AUC of every a of the grid and the paired model's scores at the
	// chosen a, once the session has tuned a.
	TuneAUC    []float64
	TuneScores []float64
}

// CompatResult is Privacy Meter's outcome for one target, with the intermediates it logs or drops.
type CompatResult struct {
	Target     int
	References []int
	// OfflineA is args["offline_a"] when the target was attacked.
	OfflineA float64
	// RefAttackRefs are the references each reference model was attacked with.
	RefAttackRefs [][]int
	TargetScores  []float64
	RefScores     [][]float64
	// Debiased is the estimate with the strict prediction (D1); Proportion is PM's prediction.
	*Debiased
	// PerRefTPR and PerRefFPR are each reference's rates at the threshold (with ≥; PM pools them).
	PerRefTPR, PerRefFPR []float64
	// ProportionGE is the estimate with the prediction score ≥ θ, which the rates describe.
	ProportionGE float64
}

// PredProportions runs pred_proportions on d (records × models; the population signals are d's) for
// every target with its reference list, in order.
func (pm *PrivacyMeter) PredProportions(d *attack.Data, targets []Target) ([]CompatResult, error) {
	var out []CompatResult
	for _, t := range targets {
		r, err := pm.debiasPred(d, t)
		if err != nil {
			return nil, fmt.Errorf("duci: privacy-meter: target model %d: %w", t.Model, err)
		}
		out = append(out, *r)
	}
	return out, nil
}

// debiasPred is DUCI.debias_pred for one target.
func (pm *PrivacyMeter) debiasPred(d *attack.Data, t Target) (*CompatResult, error) {
	if len(t.Refs) == 0 {
		return nil, errors.New("no reference model")
	}
	r := &CompatResult{Target: t.Model, References: slices.Clone(t.Refs)}
	var err error
	if r.TargetScores, err = pm.runMIA(d, t.Model, t.Refs); err != nil {
		return nil, err
	}
	r.OfflineA = *pm.OfflineA
	var members [][]bool
	for _, ref := range t.Refs {
		// list(set(refs) - {ref}) or [ref]: Python's set order, ascending for small non-negative ints.
		others := slices.DeleteFunc(slices.Clone(t.Refs), func(x int) bool { return x == ref })
		slices.Sort(others)
		others = slices.Compact(others)
		if len(others) == 0 {
			others = []int{ref}
		}
		s, err := pm.runMIA(d, ref, others)
		if err != nil {
			return nil, fmt.Errorf("reference model %d: %w", ref, err)
		}
		r.RefAttackRefs = append(r.RefAttackRefs, others)
		r.RefScores = append(r.RefScores, s)
		members = append(members, d.TargetMembers(ref))
	}
	if r.Debiased, err = Debias(r.TargetScores, r.RefScores, members, true); err != nil {
		return nil, err
	}
	for j := range r.RefScores {
		tp, fp := rates(r.RefScores[j], members[j], r.Threshold)
		r.PerRefTPR, r.PerRefFPR = append(r.PerRefTPR, tp), append(r.PerRefFPR, fp)
	}
	ge, err := Debias(r.TargetScores, r.RefScores, members, false)
	if err == nil {
		r.ProportionGE = ge.Proportion
	}
	return r, err
}

// runMIA is MIA.run_mia: a tuned once per session when unset, then RMIA (or the population attack) of
// model with references refs.
func (pm *PrivacyMeter) runMIA(d *attack.Data, model int, refs []int) ([]float64, error) {
	if pm.OfflineA == nil {
		a, err := pm.tune(d, model, refs)
		if err != nil {
			return nil, err
		}
		pm.OfflineA = &a
	}
	in, err := columns(d, model, refs, true)
	if err != nil {
		return nil, err
	}
	if pm.Population {
		return countCompat(in.ts, in.zt), nil
	}
	return rmiaScores(in, *pm.OfflineA, 0, true), nil
}

// tune is modules/mia tune_offline_a: RMIA with k = 1 on the paired model, against its memberships, with
// the target's population signals (D2); the first a of strictly highest AUC, an error when none is
// above 0 (where Privacy Meter raises UnboundLocalError, its D7).
func (pm *PrivacyMeter) tune(d *attack.Data, target int, refs []int) (float64, error) {
	paired := target + 1
	if target%2 == 1 {
		paired = target - 1
	}
	if paired >= d.M {
		return 0, fmt.Errorf("tuning offline a: target model %d has no paired model (there are %d models)", target, d.M)
	}
	in, err := columns(d, paired, refs)
	if err != nil {
		return 0, err
	}
	tin, err := columns(d, target, refs)
	if err != nil {
		return 0, err
	}
	in.zt = tin.zt // the target's population signals
	members := d.TargetMembers(paired)
	grid := attack.OfflineAGrid(0.1)
	pm.TuneAUC = make([]float64, len(grid))
	best, found := 0.0, false
	bestAUC := 0.0
	for k, a := range grid {
		s := rmiaScores(in, a, 1, true)
		pm.TuneAUC[k] = metric.AUC(metric.ROC(s, members, true))
		if pm.TuneAUC[k] > bestAUC {
			bestAUC, best, found = pm.TuneAUC[k], a, true
			pm.TuneScores = s
		}
	}
	if !found {
		return 0, fmt.Errorf("tuning offline a on the paired model %d: no a gives an AUC above 0", paired)
	}
	return best, nil
}
