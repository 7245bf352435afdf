package metric

import (
	"fmt"
	"math"
	"slices"
)

// OneRunPValue returns the p-value of the one-run audit of Steinke, Nasr and Jagielski, "Privacy Auditing
// with One (1) Training Run" (NeurIPS 2023), Theorem 3.1 with their Algorithm p_value_DP_audit: the
// probability, under (eps, delta)-differential privacy, that an auditor who guesses the membership of r of
// m randomly included canaries gets at least v right. With q = e^eps/(1+e^eps),
//
//	p = P[Binomial(r, q) >= v] + 2 m delta max_{i=1..v} (1/i) P[v-i <= Binomial(r, q) < v],
//
// capped at 1. The binomial tail comes from the regularized incomplete beta function (not 1 - CDF), so
// small p-values keep their relative accuracy. Preconditions: 0 <= v <= r <= m, eps >= 0 and
// 0 <= delta <= 1; otherwise the result is NaN.
func OneRunPValue(m, r, v int, eps, delta float64) float64 {
	if v < 0 || v > r || r > m || !(eps >= 0) || !(delta >= 0 && delta <= 1) {
		return math.NaN()
	}
	q := 1 / (1 + math.Exp(-eps))
	beta := binomSF(v-1, r, q) // P[Binomial(r, q) >= v]
	p := beta
	if delta != 0 {
		alpha, sum := 0.0, 0.0
		for i := 1; i <= v; i++ {
			sum += binomPMF(v-i, r, q)
			if sum > float64(i)*alpha {
				alpha = sum / float64(i)
			}
			// sum never exceeds 1 (up to rounding), so once (i+1)*alpha > 1 no later term can raise alpha.
			if float64(i+1)*alpha > 1+1e-9 {
				break
			}
		}
		p = beta + alpha*delta*2*float64(m)
	}
	return min(p, 1)
}

// OneRunEpsilon returns the largest epsilon that the one-run audit (Steinke, Nasr and Jagielski 2023,
// get_eps_audit) can claim at significance p: the epsilon at which OneRunPValue(m, r, v, eps, delta) reaches
// p, found as their code does (and Privacy Meter v2, which copies it): starting from [0, 1], the upper end
// grows by 1 until the p-value there is >= p, then at most 30 bisection steps run until the bracket is
// at most 1e-5 wide, and the lower end is returned (so the result is 0 when even a tiny epsilon is not
// rejected). m is the number of canaries, r the number of guesses (abstentions excluded) and v the number
// of correct guesses. Preconditions: 0 <= v <= r <= m, 0 <= delta <= 1 and 0 < p < 1; otherwise the result
// is NaN.
func OneRunEpsilon(m, r, v int, delta, p float64) float64 {
	if v < 0 || v > r || r > m || !(delta >= 0 && delta <= 1) || !(p > 0 && p < 1) {
		return math.NaN()
	}
	lo, hi := 0.0, 1.0
	// The p-value reaches 1 once q rounds to 1 (eps about 37), so this ends.
	for OneRunPValue(m, r, v, hi, delta) < p {
		hi++
	}
	for range 30 {
		if hi-lo <= 1e-5 {
			break
		}
		mid := (lo + hi) / 2
		if OneRunPValue(m, r, v, mid, delta) < p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// AbstainGuess is one way of guessing in AbstainAudit: the KNeg lowest-scoring records are guessed
// non-members, the records from rank KPos up (ranks from 0, ascending score) are guessed members, and
// the rest abstain. Correct is the number of right guesses among the KNeg + n - KPos made, and Epsilon the
// one-run epsilon lower bound they give.
type AbstainGuess struct {
	KNeg    int     `json:"k_neg"`
	KPos    int     `json:"k_pos"`
	Correct int     `json:"correct"`
	Epsilon float64 `json:"epsilon"`
}

// AbstainResult is the result of AbstainAudit.
type AbstainResult struct {
	Guesses []AbstainGuess `json:"guesses"` // in the loop order: KPos ascending, then KNeg ascending
	Best    AbstainGuess   `json:"best"`    // the first guess with the largest epsilon
	Total   int            `json:"total"`   // the number of records (canaries), m
	Delta   float64        `json:"delta"`
	PValue  float64        `json:"p_value"`
}

// AbstainAudit runs the one-run audit of Steinke, Nasr and Jagielski (2023) on attack scores with
// abstention, as Privacy Meter v2 compute_abstain_attack_results(scores, members, delta, p) does: the
// records are ranked by ascending score (ties in input order), step = floor(sqrt(n)), and for every
// KPos in 0, step, 2 step, ... < n and KNeg in 0, step, ... < KPos, the KNeg lowest records are guessed
// non-members and the records of rank >= KPos members; OneRunEpsilon(n, KNeg + n - KPos, correct, delta, p)
// scores each choice, and Best is the first maximum. Every record counts as a canary (m = n).
//
// This is Privacy Meter's behaviour, kept for compat=privacy-meter only: Best is the maximum over
// guess counts tried on the same canaries after seeing their memberships, which voids the p-value, so
// Best.Epsilon is no bound (Bound labels it so). OneRunAudit is the audit pmeter reports: its guess
// counts are fixed in advance or chosen on other canaries.
//
// The guesses are evaluated on all cores. It returns an error when the lengths differ, a score is NaN,
// there are fewer than 2 records, or delta or p is out of range.
func AbstainAudit(scores []float64, members []bool, delta, p float64) (AbstainResult, error) {
	n := len(scores)
	switch {
	case len(members) != n:
		return AbstainResult{}, fmt.Errorf("%d scores but %d memberships", n, len(members))
	case n < 2:
		return AbstainResult{}, fmt.Errorf("abstain audit needs at least 2 records, got %d", n)
	case !(delta >= 0 && delta <= 1):
		return AbstainResult{}, fmt.Errorf("delta %v is not in [0, 1]", delta)
	case !(p > 0 && p < 1):
		return AbstainResult{}, fmt.Errorf("p-value %v is not in (0, 1)", p)
	}
	if i := slices.IndexFunc(scores, math.IsNaN); i >= 0 {
		return AbstainResult{}, fmt.Errorf("score %d is NaN", i)
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmpScore(scores[a], scores[b]) })
	// nonPrefix[k]: non-members among the k lowest; memSuffix[k]: members of rank >= k.
	nonPrefix := make([]int, n+1)
	memSuffix := make([]int, n+1)
	for k, i := range order {
		nonPrefix[k+1] = nonPrefix[k]
		if !members[i] {
			nonPrefix[k+1]++
		}
	}
	for k := n - 1; k >= 0; k-- {
		memSuffix[k] = memSuffix[k+1]
		if members[order[k]] {
			memSuffix[k]++
		}
	}

	step := int(math.Sqrt(float64(n)))
	var guesses []AbstainGuess
	for kPos := 0; kPos < n; kPos += step {
		for kNeg := 0; kNeg < kPos; kNeg += step {
			guesses = append(guesses, AbstainGuess{KNeg: kNeg, KPos: kPos, Correct: nonPrefix[kNeg] + memSuffix[kPos]})
		}
	}
	parallelFor(len(guesses), func(i int) {
		g := &guesses[i]
		g.Epsilon = OneRunEpsilon(n, g.KNeg+n-g.KPos, g.Correct, delta, p)
	})
	best := 0
	for i, g := range guesses {
		if g.Epsilon > guesses[best].Epsilon {
			best = i
		}
	}
	return AbstainResult{Guesses: guesses, Best: guesses[best], Total: n, Delta: delta, PValue: p}, nil
}

// AbstainMaxMethod names the method of AbstainResult.Bound: Privacy Meter's maximum over guess counts.
const AbstainMaxMethod = "one-run-steinke-max"

// Bound returns r.Best in the EpsilonBound schema, labelled as no DP bound (DPBound false, with the
// reason in Caveat): Privacy Meter's number, reproduced for comparison (compat=privacy-meter).
func (r AbstainResult) Bound() EpsilonBound {
	caveat := fmt.Sprintf("compat=privacy-meter: the best of %d guess counts (k+, k−) tried on the same canaries "+
		"after seeing their memberships (Privacy Meter v2 compute_abstain_attack_results), which voids the p-value", len(r.Guesses))
	return EpsilonBound{
		Value: r.Best.Epsilon, Alpha: r.PValue, Delta: r.Delta, Method: AbstainMaxMethod, Caveat: caveat,
		Guarantee: "Not a DP bound: " + caveat + ". It is Privacy Meter's number; guess counts fixed in advance " +
			"or chosen on other canaries (pmeter's default) give a bound.",
		TPRLower: 0, FPRUpper: 1,
		Guesses: &GuessCounts{Canaries: r.Total, Guesses: r.Best.KNeg + r.Total - r.Best.KPos, Correct: r.Best.Correct,
			KPlus: r.Total - r.Best.KPos, KMinus: r.Best.KNeg},
	}
}

// cmpScore orders scores ascending, -0 equal to +0.
func cmpScore(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
