package metric

import (
	"errors"
	"fmt"
	"math"
)

// FDPRejects reports whether the one-run f-DP audit of Mahloujifar, Melis & Chaudhuri, "Auditing
// f-Differential Privacy in One Run" (arXiv 2410.22235, 2024), rejects μ-Gaussian differential privacy
// at significance alpha, after correct of guesses membership guesses on m canaries were right.
//
// The test is the paper's reconstruction bound with the guesses capped (binary guesses, alphabet size 2),
// with the Gaussian-DP trade-off function and its inverse blow-up g(x) = Φ(Φ⁻¹(x) − μ): from
// r_c = alpha·correct/m and h_c = alpha·(guesses − correct)/m, for i = correct−1 down to 0,
//
//	h_i = max(h_{i+1}, g(r_{i+1})),   r_i = r_{i+1} + i/(guesses − i)·(h_i − h_{i+1}),
//
// and μ-GDP is rejected when r_0 + h_0 > guesses/m: a μ-GDP mechanism then gets correct or more of the
// guesses right with probability below alpha. r and h only grow as i falls, so the loop stops as soon
// as their sum passes guesses/m, and once g(r) ≤ h nothing changes any more; a g below the smallest
// float64 counts as 0, which can only keep the test from rejecting. μ = 0 is perfect privacy, g(x) = x.
//
// Preconditions (see FDPMu): 0 ≤ correct ≤ guesses ≤ m, guesses > 0, μ ≥ 0 and 0 < alpha < 1; otherwise
// it returns false.
func FDPRejects(mu float64, m, guesses, correct int, alpha float64) bool {
	if !(mu >= 0) {
		return false
	}
	if mu == 0 {
		return fdpRejects(func(x float64) float64 { return x }, m, guesses, correct, alpha)
	}
	return fdpRejects(func(x float64) float64 { return normCDF(normQuantile(x) - mu) }, m, guesses, correct, alpha)
}

// fdpRejects is the reconstruction test of FDPRejects with the inverse blow-up function g of any
// trade-off function f: g(x) = inf{y : 1 − f(y) ≥ x}, the least probability that an event must have
// under one neighbour for it to have probability x under the other. g must be non-decreasing with
// g(x) ≤ x.
func fdpRejects(g func(float64) float64, m, guesses, correct int, alpha float64) bool {
	if correct < 0 || correct > guesses || guesses > m || guesses <= 0 || !(alpha > 0 && alpha < 1) {
		return false
	}
	limit := float64(guesses) / float64(m)
	r := alpha * float64(correct) / float64(m)
	h := alpha * float64(guesses-correct) / float64(m)
	for i := correct - 1; i >= 0; i-- {
		if r+h > limit {
			return true
		}
		gr := g(r)
		if !(gr > h) {
			break // h and r stay as they are, and so does g(r): a fixed point
		}
		r += float64(i) / float64(guesses-i) * (gr - h)
		h = gr
	}
	return r+h > limit
}

// ApproxDPRejects reports whether the one-run f-DP audit of Mahloujifar, Melis & Chaudhuri (FDPRejects)
// with the trade-off function of (ε, δ)-DP,
//
//	f_{ε,δ}(x) = max(0, 1 − δ − e^ε·x, e^−ε·(1 − δ − x))
//
// (Kairouz, Oh & Viswanath 2015; Dong, Roth & Su 2022, Proposition 2.5), rejects (ε, δ)-DP at
// significance alpha, after correct of guesses membership guesses on m canaries were right. Its inverse
// blow-up function is g(x) = max(0, e^−ε·(x − δ), 1 − δ − e^ε·(1 − x)). Every (ε, δ)-DP mechanism is
// f_{ε,δ}-DP, so the paper's theorem, which holds for every trade-off function, bounds the probability
// of the rejection under every (ε, δ)-DP mechanism by alpha: unlike the Gaussian family's, this test
// assumes nothing of the shape of the mechanism's privacy curve. δ = 0 is allowed.
//
// Preconditions: 0 ≤ correct ≤ guesses ≤ m, guesses > 0, ε ≥ 0, 0 ≤ δ ≤ 1 and 0 < alpha < 1; otherwise it
// returns false.
func ApproxDPRejects(eps, delta float64, m, guesses, correct int, alpha float64) bool {
	if !(eps >= 0) || !(delta >= 0 && delta <= 1) {
		return false
	}
	if math.IsInf(eps, 1) {
		return false // g = 0: nothing is rejected
	}
	ee, ne := math.Exp(eps), math.Exp(-eps)
	return fdpRejects(func(x float64) float64 {
		return max(0, ne*(x-delta), 1-delta-ee*(1-x))
	}, m, guesses, correct, alpha)
}

// ApproxDPEpsilon returns the ε lower bound at δ of the one-run f-DP audit with the (ε, δ)-DP trade-off
// functions (ApproxDPRejects): the largest ε, to a relative precision of 1e-10, that the audit rejects,
// found by bisection between a rejected and an accepted ε (the upper end doubles from 1 until accepted);
// the rejected end is returned. It is 0 when even ε = 0 is not rejected: no correct guess, guessing at
// chance, or too few guesses.
//
// Whatever ε is returned, the audit rejected (ε, δ)-DP there; an (ε', δ)-DP mechanism with ε' ≤ ε is
// (ε, δ)-DP too, and the audit rejects only when the correct count reaches a threshold that does not
// fall as ε grows, so P[ApproxDPEpsilon ≥ ε_true] ≤ alpha for every (ε_true, δ)-DP mechanism, whatever
// its privacy curve. Preconditions and errors as FDPMu's, with δ in [0, 1).
func ApproxDPEpsilon(m, guesses, correct int, delta, alpha float64) (float64, error) {
	if err := checkGuessCounts(m, guesses, correct); err != nil {
		return 0, fmt.Errorf("f-DP audit: %w", err)
	}
	switch {
	case !(alpha > 0 && alpha < 1):
		return 0, fmt.Errorf("f-DP audit: alpha %v is not in (0, 1)", alpha)
	case !(delta >= 0 && delta < 1):
		return 0, fmt.Errorf("f-DP audit: delta %v is not in [0, 1)", delta)
	}
	return approxDPEpsilon(m, guesses, correct, delta, alpha, 1e-10), nil
}

// approxDPEpsilon is ApproxDPEpsilon on valid arguments, bisected to relative precision tol.
func approxDPEpsilon(m, guesses, correct int, delta, alpha, tol float64) float64 {
	if guesses == 0 {
		return 0
	}
	// At large ε, g(r) = 0 for r < 1 and the test passes (as FDPMu's at large μ).
	return largestRejected(func(eps float64) bool { return ApproxDPRejects(eps, delta, m, guesses, correct, alpha) }, tol)
}

// FDPMu returns the μ lower bound of the one-run f-DP audit (FDPRejects) with the Gaussian-DP family:
// the largest μ, to a relative precision of 1e-10, that the audit rejects, found by bisection between a
// rejected and an accepted μ (the upper end doubles from 1 until accepted, with no fixed cap); the
// rejected end is returned. It is 0 when even perfect privacy (μ = 0) is not rejected: no correct
// guess, guessing at chance, or too few guesses.
//
// Whatever μ is returned, the audit rejected it; a μ-GDP mechanism is μ'-GDP for every μ' ≥ μ, and the
// audit rejects only when the correct count reaches a threshold, so P[FDPMu ≥ μ_true] ≤ alpha for a
// μ_true-GDP mechanism.
//
// Preconditions, of the paper's theorem: the m canaries were each included in the training set
// independently with probability ½ (attack.DesignBernoulli), the rest of the training set is fixed,
// and the number of guesses was fixed before the guesses were made (not chosen by looking at how many
// come out right). Errors: counts out of range (0 ≤ correct ≤ guesses ≤ m, m > 0) or alpha not in (0, 1).
func FDPMu(m, guesses, correct int, alpha float64) (float64, error) {
	if err := checkGuessCounts(m, guesses, correct); err != nil {
		return 0, fmt.Errorf("f-DP audit: %w", err)
	}
	if !(alpha > 0 && alpha < 1) {
		return 0, fmt.Errorf("f-DP audit: alpha %v is not in (0, 1)", alpha)
	}
	return fdpMu(m, guesses, correct, alpha, 1e-10), nil
}

// fdpMu is FDPMu on valid arguments, bisected to relative precision tol.
func fdpMu(m, guesses, correct int, alpha, tol float64) float64 {
	if guesses == 0 {
		return 0
	}
	// Every test passes once g(r) is tiny for all r < 1 (h stays alpha·(guesses − correct)/m and
	// r_0 + h_0 = alpha·guesses/m), so the search ends at a μ of a few tens at most.
	return largestRejected(func(mu float64) bool { return FDPRejects(mu, m, guesses, correct, alpha) }, tol)
}

// largestRejected returns the largest privacy parameter x (μ or ε, from 0 up) whose test rejects(x) rejects,
// to a relative precision of tol: 0 when 0 is not rejected; else the upper end doubles from 1 until a
// value is accepted (no fixed cap) and the bracket is bisected, its rejected end returned. The test must
// accept every large enough value.
func largestRejected(rejects func(float64) bool, tol float64) float64 {
	if !rejects(0) {
		return 0
	}
	lo, hi := 0.0, 1.0
	for rejects(hi) {
		lo, hi = hi, 2*hi
	}
	for hi-lo > tol*hi {
		mid := lo + (hi-lo)/2
		if rejects(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// checkGuessCounts checks the counts of a one-run audit.
func checkGuessCounts(m, guesses, correct int) error {
	switch {
	case m <= 0:
		return fmt.Errorf("%d canaries; want at least 1", m)
	case guesses < 0 || guesses > m:
		return fmt.Errorf("%d guesses on %d canaries; want 0 to %d", guesses, m, m)
	case correct < 0 || correct > guesses:
		return fmt.Errorf("%d correct guesses of %d; want 0 to %d", correct, guesses, guesses)
	}
	return nil
}

// fdpEpsilon converts the μ bound to ε at δ > 0 within the Gaussian-DP family.
func fdpEpsilon(mu, delta float64) float64 {
	if mu == 0 {
		return 0
	}
	return GaussianDPEpsilon(mu, delta)
}

// gdpFamilyCaveat is the Caveat of every f-DP bound.
const gdpFamilyCaveat = "the ε holds within the Gaussian-DP family only: the audit rejects μ-GDP, and ε is that of the rejected μ at δ; a mechanism whose privacy curve is not Gaussian can be (ε, δ)-DP with a smaller ε"

// errFDPDeltaZero is returned for an f-DP bound at δ = 0.
var errFDPDeltaZero = errors.New("statistic fdp: no finite ε at δ = 0: every μ-GDP mechanism with μ > 0 has ε = ∞ at δ = 0, so within the Gaussian-DP family any evidence means ε = ∞; give δ > 0, or use the steinke statistic, which bounds ε at δ = 0")
