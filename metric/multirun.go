package metric

import (
	"fmt"
	"strconv"
)

// MultiRunMethod names the method of MultiRunEpsilon.
const MultiRunMethod = "clopper-pearson-multi-run"

// MultiRunEpsilon returns the ε lower bound of the multi-run audit, the training-algorithm game of
// Jagielski, Ullman & Oprea (2020): the algorithm is run several times, each run with the canary in or
// out of the training set, and scores[t] is the attack's score of the canary against run t's model
// (higher = more likely in), in[t] whether it was in.
//
// Each run is one trial. The runs are split at random (opt.Seed) into two halves, each with half of the
// runs with and half of those without the canary; the threshold τ is chosen on the selection half, and
// on the other half the one-sided Clopper–Pearson bounds on the rate of runs with the canary scoring at
// least τ (TPR) and of runs without it doing so (FPR), at α/2 each, give
//
//	Value = max(0, ln((TPRLower − δ)/FPRUpper), ln((1 − FPRUpper − δ)/(1 − TPRLower))),
//
// as in HoldoutEpsilon (whose options apply, MemberSide included). Here EvalMembers and EvalNonMembers
// count the evaluation runs with and without the canary, SelectionRecords the selection runs.
//
// Preconditions: the runs are independent of each other (fresh randomness and, where the rest of the
// training set is drawn, a fresh draw per run), the choice of in or out does not depend on the runs'
// outcomes, and the scores of the evaluation runs do not depend on the selection runs except through
// τ. Under (ε, δ)-DP training the bound then exceeds ε with probability at most α.
//
// Errors: lengths that differ, a NaN score, fewer than 2 runs with or 2 without the canary, α or δ out
// of range.
func MultiRunEpsilon(scores []float64, in []bool, opt EpsilonOptions) (EpsilonBound, error) {
	if len(scores) != len(in) {
		return EpsilonBound{}, fmt.Errorf("multi-run audit: %d scores but %d runs marked in or out", len(scores), len(in))
	}
	nIn := 0
	for _, x := range in {
		if x {
			nIn++
		}
	}
	if nIn < 2 || len(in)-nIn < 2 {
		return EpsilonBound{}, fmt.Errorf("multi-run audit: %d runs with the canary and %d without; want at least 2 of each", nIn, len(in)-nIn)
	}
	b, err := HoldoutEpsilon(scores, in, opt)
	if err != nil {
		return EpsilonBound{}, fmt.Errorf("multi-run audit: %w", err)
	}
	b.Method = MultiRunMethod
	b.Guarantee = multiRunGuarantee(b)
	return b, nil
}

// multiRunGuarantee says what a multi-run bound guarantees.
func multiRunGuarantee(b EpsilonBound) string {
	conf := strconv.FormatFloat(100*(1-b.Alpha), 'g', 4, 64) + "%"
	dp := "(ε, δ=" + FormatDelta(b.Delta) + ")-differentially private"
	runs := b.SelectionRecords + b.EvalMembers + b.EvalNonMembers
	var s string
	if b.Value > 0 {
		s = fmt.Sprintf("With %s confidence, the training algorithm is not %s for any ε below %.4g: a threshold chosen on "+
			"%d of %d training runs tells the other runs' models with the canary (%d) from those without it (%d) better "+
			"than such a guarantee allows.", conf, dp, b.Value, b.SelectionRecords, runs, b.EvalMembers, b.EvalNonMembers)
	} else {
		s = fmt.Sprintf("No evidence against %s training at %s confidence: the held-out runs' models with the canary are "+
			"not told from those without it measurably. This is not evidence of privacy; a stronger attack or more runs may find some.", dp, conf)
	}
	if !b.DPBound {
		return "Not a DP bound: " + b.Caveat + ". " + s
	}
	return s
}
