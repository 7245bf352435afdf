package duci

import (
	"context"
	"fmt"
	"slices"

	"github.com/pmeter/pmeter/attack"
)

// RefEstimate is a reference model's estimated use of the records against its true use: the estimator
// applied where the answer is known.
type RefEstimate struct {
	Model          int       `json:"model"`
	TrueProportion float64   `json:"true_proportion"`
	Proportion     float64   `json:"proportion"`
	CI             *Interval `json:"interval,omitempty"`
	// Calibration lists the reference models whose scores set the threshold and the rates.
	Calibration []int `json:"calibration"`
}

// CheckReferences estimates every reference model's proportion of d's records from its scores in r (its
// attack in the estimate of r.Target), calibrated by the other references that are not determined by it
// (its pair would reveal its memberships), with a bootstrap interval as Estimate's; a reference left
// without such a calibration is skipped. The estimates against the references' known proportions show
// how the estimator does on models trained like the target.
func CheckReferences(ctx context.Context, d *attack.Data, r *Result, opt BootstrapOptions) ([]RefEstimate, error) {
	var out []RefEstimate
	for j, ref := range r.References {
		var scores [][]float64
		var members [][]bool
		var cal []int
		for q, other := range r.References {
			if q != j && !determined(d, ref, other) {
				scores, members = append(scores, r.RefScores[q]), append(members, d.TargetMembers(other))
				cal = append(cal, other)
			}
		}
		if len(cal) == 0 {
			continue
		}
		deb, err := DebiasCrossFit(r.RefScores[j], scores, members)
		if err != nil {
			return nil, fmt.Errorf("duci: reference model %d: %w", ref, err)
		}
		in := 0
		for _, m := range d.TargetMembers(ref) {
			if m {
				in++
			}
		}
		e := RefEstimate{Model: ref, TrueProportion: float64(in) / float64(d.N), Proportion: min(1, max(0, deb.Proportion)), Calibration: slices.Clone(cal)}
		if opt.Resamples >= 0 {
			ci, err := Bootstrap(ctx, r.RefScores[j], scores, members, opt)
			if err != nil {
				return nil, err
			}
			e.CI = &ci
		}
		out = append(out, e)
	}
	return out, nil
}
