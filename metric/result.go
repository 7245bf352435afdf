package metric

import (
	"errors"
	"fmt"
	"math"
)

// Result summarises an attack's scores against the true memberships. AUC, BalancedAccuracy and TPRAtFPR
// are computed on the ROC curve with intermediate points dropped, as Privacy Meter does; rates are
// fractions in [0, 1].
type Result struct {
	AUC              float64 `json:"auc"`
	BalancedAccuracy float64 `json:"balanced_accuracy"`
	// TPRAtFPR holds the TPR at FPR <= each of StandardFPRs, in that order (Privacy Meter's convention:
	// TPR of the last curve point with FPR at most the bound), each marked when its FPR is below the
	// resolution of the non-members.
	TPRAtFPR   []TPRAt `json:"tpr_at_fpr"`
	Members    int     `json:"members"`
	NonMembers int     `json:"non_members"`
}

// TPRAt is the true positive rate at a false positive rate of at most FPR.
//
// BelowResolution is set when FPR is positive but below 1/(number of non-members): no threshold has a
// false positive rate in (0, FPR], so TPR is that of 0 % FPR and not a measurement at FPR. Reports show
// "below resolution" instead of TPR. (TPR at FPR 0 is always measurable.)
type TPRAt struct {
	FPR             float64 `json:"fpr"`
	TPR             float64 `json:"tpr"`
	BelowResolution bool    `json:"below_resolution,omitempty"`
}

// BelowResolution reports whether a false positive rate of fpr cannot be resolved with nonMembers
// non-members: fpr > 0 and fpr < 1/nonMembers.
func BelowResolution(fpr float64, nonMembers int) bool {
	return fpr > 0 && fpr*float64(nonMembers) < 1
}

// StandardFPRs returns the false positive rates at which Result reports TPR: 10%, 1%, 0.1%, 0.01%,
// 0.001% and 0% (Privacy Meter v1 research metrics; v2 reports 1%, 0.1% and 0%).
func StandardFPRs() []float64 { return []float64{0.1, 0.01, 0.001, 0.0001, 0.00001, 0} }

// TPR returns the TPR reported at fpr, and false when the result has no entry for fpr. Check Entry's
// BelowResolution before quoting it.
func (r Result) TPR(fpr float64) (float64, bool) {
	t, ok := r.Entry(fpr)
	return t.TPR, ok
}

// Entry returns the entry of TPRAtFPR at fpr, and false when the result has none.
func (r Result) Entry(fpr float64) (TPRAt, bool) {
	for _, t := range r.TPRAtFPR {
		if t.FPR == fpr {
			return t, true
		}
	}
	return TPRAt{}, false
}

// Evaluate computes the Result of scores (one per record, higher = more likely a member) against members
// (true = member). It returns an error, naming the index, when the lengths differ or a score is NaN, and an
// error when there is no member or no non-member. Scores may be ±Inf.
func Evaluate(scores []float64, members []bool) (Result, error) {
	np, err := validate(scores, members)
	if err != nil {
		return Result{}, err
	}
	r := summarize(ROC(scores, members, true), len(scores)-np)
	r.Members, r.NonMembers = np, len(scores)-np
	return r, nil
}

// validate checks the input of Evaluate and returns the number of members.
func validate(scores []float64, members []bool) (int, error) {
	if len(scores) != len(members) {
		return 0, fmt.Errorf("%d scores but %d memberships", len(scores), len(members))
	}
	np := 0
	for i, s := range scores {
		if math.IsNaN(s) {
			return 0, fmt.Errorf("score %d is NaN", i)
		}
		if members[i] {
			np++
		}
	}
	if np == 0 {
		return 0, errors.New("no member among the records: TPR is undefined")
	}
	if np == len(scores) {
		return 0, errors.New("no non-member among the records: FPR is undefined")
	}
	return np, nil
}

// summarize computes a Result from a curve with intermediate points dropped, on nonMembers non-members.
func summarize(c Curve, nonMembers int) Result {
	fprs := StandardFPRs()
	r := Result{
		AUC:              AUC(c),
		BalancedAccuracy: BalancedAccuracy(c),
		TPRAtFPR:         make([]TPRAt, len(fprs)),
	}
	for i, f := range fprs {
		r.TPRAtFPR[i] = TPRAt{FPR: f, TPR: TPRAtFPR(c, f), BelowResolution: BelowResolution(f, nonMembers)}
	}
	return r
}
