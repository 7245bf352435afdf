package metric

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// PrivacyGuardFDPMethod names the method of PrivacyGuard's f-DP audit (compat=privacyguard).
const PrivacyGuardFDPMethod = "one-run-fdp-gaussian-privacyguard"

// PrivacyGuardFDP reproduces PrivacyGuard's FDPAnalysisNode (facebookresearch/PrivacyGuard,
// privacy_guard/analysis/mia/fdp_analysis_node.py), the one-run f-DP audit of Mahloujifar, Melis &
// Chaudhuri (arXiv 2410.22235) with the Gaussian-DP family, for compat=privacyguard. FDPMu and
// OneRunBound with StatFDP are pmeter's audit; this one keeps the original's quirks:
//
//   - the noise σ = 1/μ is searched on the grid TargetNoise + i·0.01, i = 0..999, and the first σ whose
//     audit fails gives ε; when none fails (no correct guess, guessing at chance) ε is that of the last
//     candidate (about 0.40 at δ = 1e-6), never 0;
//   - ε(σ) is bisected on [0, 100] to a width of 0.001 and the upper end returned, so ε is at most 100
//     (small noise), and at δ = 0 it is where Φ underflows (about 41.5 at σ = 0.921 with SciPy);
//   - Threshold plays the part of the significance, and K is the alphabet size (2 for membership).
type PrivacyGuardFDP struct {
	TargetNoise float64
	Threshold   float64
	K           int
	Delta       float64
}

// PrivacyGuardFDPDefaults returns FDPAnalysisNode's defaults: target_noise 0.001, threshold 0.05, k 2,
// delta 1e-6.
func PrivacyGuardFDPDefaults() PrivacyGuardFDP {
	return PrivacyGuardFDP{TargetNoise: 0.001, Threshold: 0.05, K: 2, Delta: 1e-6}
}

// PrivacyGuardFDPResult is the outcome of PrivacyGuardFDP.Run.
type PrivacyGuardFDPResult struct {
	Epsilon float64 // run_analysis().eps
	// Index is empirical_privacy_index, the number of leading candidate noises whose audit passes
	// (0 to 1000), and Noise is candidate_noises[min(Index, 999)].
	Index int
	Noise float64
	// LHSLastPass and LHSFirstFail are r_0 + h_0 of the candidates Index−1 and Index (NaN when absent),
	// and RHS is guesses/m, the audit's right-hand side.
	LHSLastPass, LHSFirstFail, RHS float64
}

// candidateNoise returns candidate_noises[i] = target_noise + i*0.01.
func (p PrivacyGuardFDP) candidateNoise(i int) float64 { return p.TargetNoise + float64(i)*0.01 }

// Run returns FDPAnalysisNode(m, c=correct, c_cap=guesses, ...).run_analysis(), with the audit's
// deciding values. Errors: counts out of range (0 ≤ correct ≤ guesses ≤ m, guesses > 0).
func (p PrivacyGuardFDP) Run(m, guesses, correct int) (PrivacyGuardFDPResult, error) {
	if err := checkGuessCounts(m, guesses, correct); err != nil {
		return PrivacyGuardFDPResult{}, fmt.Errorf("PrivacyGuard f-DP audit: %w", err)
	}
	if guesses == 0 {
		return PrivacyGuardFDPResult{}, fmt.Errorf("PrivacyGuard f-DP audit: no guesses (it divides by their number)")
	}
	res := PrivacyGuardFDPResult{LHSLastPass: math.NaN(), LHSFirstFail: math.NaN(), RHS: float64(guesses) / float64(m)}
	for res.Index < 1000 {
		lhs := p.auditLHS(p.candidateNoise(res.Index), m, guesses, correct)
		if !(lhs <= res.RHS) {
			res.LHSFirstFail = lhs
			break
		}
		res.LHSLastPass = lhs
		res.Index++
	}
	res.Noise = p.candidateNoise(min(res.Index, 999))
	res.Epsilon = p.EpsilonGaussian(res.Noise)
	return res, nil
}

// auditLHS returns r_0 + h_0 of audit_rh_with_cap at one candidate noise, in the original's order of
// operations; Python's max(h, x) keeps h when x is NaN (Φ⁻¹ of an r above 1).
func (p PrivacyGuardFDP) auditLHS(noise float64, m, cCap, c int) float64 {
	threshold := p.Threshold * float64(cCap) / float64(m)
	alpha := threshold * float64(c) / float64(cCap)
	beta := threshold * float64(cCap-c) / float64(cCap)
	h, r := beta, alpha
	for i := c - 1; i >= 0; i-- {
		x := float64(p.K-1) * normCDF(normQuantile(r)-1/noise)
		if !(x > h) {
			// h[i] = h[i+1] and r[i] = r[i+1] + 0 exactly, so every later step repeats this one.
			break
		}
		r += float64(i) / float64(cCap-i) * (x - h)
		h = x
	}
	return r + h
}

// EpsilonGaussian returns calculate_epsilon_gaussian(noise): bisection of PrivacyGuardDeltaGaussian(noise,
// ε) > p.Delta on [0, 100] until the bracket is at most 0.001 wide, returning its upper end.
func (p PrivacyGuardFDP) EpsilonGaussian(noise float64) float64 {
	lo, hi := 0.0, 100.0
	for hi-lo > 0.001 {
		mid := (hi + lo) / 2
		if PrivacyGuardDeltaGaussian(noise, mid) > p.Delta {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// PrivacyGuardDeltaGaussian returns calculate_delta_gaussian(noise, ε) = Φ(−ε·noise + 1/(2 noise)) −
// e^ε·Φ(−ε·noise − 1/(2 noise)), evaluated as written (both terms underflow to 0 for large ε/noise).
// GaussianDPDelta(1/noise, ε) is the same curve evaluated to full relative accuracy.
func PrivacyGuardDeltaGaussian(noise, eps float64) float64 {
	return normCDF(-eps*noise+1/(2*noise)) - math.Exp(eps)*normCDF(-eps*noise-1/(2*noise))
}

// Bound runs the audit and returns its ε in the EpsilonBound schema, labelled as no DP bound (DPBound
// false), with the quirks that apply in Caveat: PrivacyGuard's number, reproduced for comparison.
func (p PrivacyGuardFDP) Bound(m, guesses, correct int) (EpsilonBound, error) {
	res, err := p.Run(m, guesses, correct)
	if err != nil {
		return EpsilonBound{}, err
	}
	why := []string{"compat=privacyguard: PrivacyGuard's FDPAnalysisNode, whose ε holds within the Gaussian-DP family at most"}
	switch {
	case res.Index == 1000:
		why = append(why, "no candidate noise was rejected, so its ε is that of the last candidate instead of 0")
	case res.Index == 0:
		why = append(why, "even the first candidate noise was rejected: the true ε may be far higher")
	}
	if res.Epsilon == 100 {
		why = append(why, "its ε is the bisection's upper end (100), not the curve's")
	}
	if p.Delta == 0 {
		why = append(why, "at δ = 0 its ε is where the normal CDF underflows (every μ-GDP mechanism has ε = ∞ there)")
	}
	caveat := strings.Join(why, "; ")
	mu := 0.0 // the μ of the first rejected candidate noise, if any
	if res.Index < 1000 {
		mu = 1 / res.Noise
	}
	return EpsilonBound{
		Value: res.Epsilon, Alpha: p.Threshold, Delta: p.Delta, Method: PrivacyGuardFDPMethod, Caveat: caveat,
		Guarantee: "Not a DP bound: " + caveat + ". pmeter's f-DP audit (statistic fdp) gives the bound.",
		TPRLower:  0, FPRUpper: 1,
		Guesses: &GuessCounts{Canaries: m, Guesses: guesses, Correct: correct, GDPMu: mu},
	}, nil
}

// PrivacyGuardAbstainResult is the outcome of PrivacyGuardAbstainFDP.
type PrivacyGuardAbstainResult struct {
	// For each one-sided guess count g: the g highest-scoring records are guessed members and the g
	// lowest non-members (TotalGuesses = 2g); CorrectNum of them are right, and Eps is PrivacyGuardFDP's
	// ε for them.
	OneSideGuesses, CorrectNum, TotalGuesses []int
	Eps                                      []float64
	// EpsOpt is the largest Eps (the first), with its GuessOpt and CorrectNumOpt; TotalNum is the number
	// of records.
	EpsOpt                  float64
	GuessOpt, CorrectNumOpt int
	TotalNum                int
}

// PrivacyGuardAbstainFDP reproduces compute_abstain_attack_fdp(scores, labels, delta, step_size) of
// PrivacyGuard's FDP tutorial notebook (tutorial_notebooks/fdp_analysis_tutorial.ipynb): the records are
// ordered by descending score (no ties expected; tied records in reverse input order), and for each
// g of np.logspace(1, log10(n//2), steps, dtype=int) the g highest are guessed members and the g lowest
// non-members, scored by FDPAnalysisNode(m=n, c, c_cap=2g, delta) with its other defaults; the optimum
// is the first maximum.
//
// The maximum over g is taken after seeing the memberships, which voids the audit's confidence, as does
// AbstainAudit's (Bound labels it). np.logspace truncates 10^y to an integer, so a count can fall one
// below the intended one (249 for n = 500); which ones depends on the last bit of log10 and pow, which
// differ between math libraries (NumPy 1.24's and Go's disagree on a few per cent of n); pmeter uses Go's.
//
// Errors: lengths that differ, a NaN score, fewer than 20 records (log10(n//2) < 1), steps < 1, delta
// outside [0, 1].
func PrivacyGuardAbstainFDP(scores []float64, members []bool, delta float64, steps int) (PrivacyGuardAbstainResult, error) {
	n := len(scores)
	switch {
	case len(members) != n:
		return PrivacyGuardAbstainResult{}, fmt.Errorf("PrivacyGuard abstain audit: %d scores but %d memberships", n, len(members))
	case n < 20:
		return PrivacyGuardAbstainResult{}, fmt.Errorf("PrivacyGuard abstain audit: %d records; the guess grid needs at least 20", n)
	case steps < 1:
		return PrivacyGuardAbstainResult{}, fmt.Errorf("PrivacyGuard abstain audit: %d steps; want at least 1", steps)
	case !(delta >= 0 && delta <= 1):
		return PrivacyGuardAbstainResult{}, fmt.Errorf("PrivacyGuard abstain audit: delta %v is not in [0, 1]", delta)
	}
	if i := slices.IndexFunc(scores, math.IsNaN); i >= 0 {
		return PrivacyGuardAbstainResult{}, fmt.Errorf("PrivacyGuard abstain audit: score %d is NaN", i)
	}
	asc := make([]int, n)
	for i := range asc {
		asc[i] = i
	}
	slices.SortStableFunc(asc, func(a, b int) int { return cmpScore(scores[a], scores[b]) })
	// desc = argsort(scores)[::-1]: the first g of desc are the last g of asc.
	node := PrivacyGuardFDPDefaults()
	node.Delta = delta
	res := PrivacyGuardAbstainResult{TotalNum: n}
	for _, g := range numpyLogspaceInt(1, math.Log10(float64(n/2)), steps) {
		correct := 0
		for _, i := range asc[n-g:] {
			if members[i] {
				correct++
			}
		}
		for _, i := range asc[:g] {
			if !members[i] {
				correct++
			}
		}
		r, err := node.Run(n, 2*g, correct)
		if err != nil {
			return PrivacyGuardAbstainResult{}, fmt.Errorf("PrivacyGuard abstain audit, %d guesses a side: %w", g, err)
		}
		res.OneSideGuesses = append(res.OneSideGuesses, g)
		res.CorrectNum = append(res.CorrectNum, correct)
		res.TotalGuesses = append(res.TotalGuesses, 2*g)
		res.Eps = append(res.Eps, r.Epsilon)
		if len(res.Eps) == 1 || r.Epsilon > res.EpsOpt {
			res.EpsOpt, res.GuessOpt, res.CorrectNumOpt = r.Epsilon, g, correct
		}
	}
	return res, nil
}

// Bound returns r's optimum in the EpsilonBound schema, labelled as no DP bound.
func (r PrivacyGuardAbstainResult) Bound(delta float64) EpsilonBound {
	caveat := fmt.Sprintf("compat=privacyguard: the best of %d guess counts tried on the same canaries after seeing "+
		"their memberships (PrivacyGuard compute_abstain_attack_fdp), which voids the audit's confidence; and "+
		"PrivacyGuard's f-DP ε holds within the Gaussian-DP family at most", len(r.Eps))
	return EpsilonBound{
		Value: r.EpsOpt, Alpha: PrivacyGuardFDPDefaults().Threshold, Delta: delta, Method: PrivacyGuardFDPMethod, Caveat: caveat,
		Guarantee: "Not a DP bound: " + caveat + ". pmeter's f-DP audit with guess counts fixed in advance or " +
			"chosen on other canaries gives the bound.",
		TPRLower: 0, FPRUpper: 1,
		Guesses: &GuessCounts{Canaries: r.TotalNum, Guesses: 2 * r.GuessOpt, Correct: r.CorrectNumOpt,
			KPlus: r.GuessOpt, KMinus: r.GuessOpt},
	}
}

// numpyLogspaceInt returns np.logspace(start, stop, num, dtype=int): 10^y truncated, for y of
// np.linspace(start, stop, num) (y_i = i·step + start, the last exactly stop).
func numpyLogspaceInt(start, stop float64, num int) []int {
	out := make([]int, num)
	step := (stop - start) / float64(max(num-1, 1))
	for i := range out {
		y := float64(i)*step + start
		if i == num-1 && num > 1 {
			y = stop
		}
		out[i] = int(math.Pow(10, y))
	}
	return out
}
