package metric

import (
	"fmt"
	"math"
	"slices"
)

// EpsilonFromCounts returns the Clopper–Pearson lower bound on epsilon, and the matching accuracy, of a
// distinguishing test with tp true positives, fp false positives, tn true negatives and fn false
// negatives, at confidence 1-alpha. It is compute_epsilon_and_acc of Jagielski, Ullman and Oprea,
// "Auditing Differentially Private Machine Learning: How Private is Private SGD?" (NeurIPS 2020), from the
// TF Privacy code research/audit_2020/audit.py, with one poisoned example: with P = tp+fn and N = fp+tn,
//
//	p1 = lower Clopper–Pearson bound of tp/P, p0 = upper bound of fp/N (each at alpha/2),
//	(0, 0) if p1 <= 1e-5 or p0 >= 1-1e-5,
//	(p0, p1) = (1-p1, 1-p0) if p0+p1 > 1 (the test is flipped, their Appendix A),
//	eps = log(p1/p0), acc = (p1 + 1 - p0)/2.
//
// eps may be negative. For k examples inserted together (group privacy), divide eps by k, as audit.py does
// with pois_ct. Preconditions: counts >= 0, P > 0, N > 0, 0 < alpha < 1; otherwise the result is NaN.
func EpsilonFromCounts(tp, fp, tn, fn int, alpha float64) (eps, acc float64) {
	p1, _ := ClopperPearson(tp, tp+fn, alpha)
	_, p0 := ClopperPearson(fp, fp+tn, alpha)
	if math.IsNaN(p1) || math.IsNaN(p0) || tn < 0 || fn < 0 {
		return math.NaN(), math.NaN()
	}
	if p1 <= 1e-5 || p0 >= 1-1e-5 {
		return 0, 0
	}
	if p0+p1 > 1 {
		p0, p1 = 1-p1, 1-p0
	}
	return math.Log(p1 / p0), (p1 + (1 - p0)) / 2
}

// Sweep is the result of EpsilonSweep.
type Sweep struct {
	// Threshold is the score threshold of the best epsilon (scores strictly above it are called "in"). It is
	// NaN when no threshold gives a positive epsilon.
	Threshold float64 `json:"threshold"`
	// Epsilon is the best Clopper–Pearson epsilon lower bound, 0 when none is positive.
	Epsilon float64 `json:"epsilon"`
	// Accuracy is the best accuracy over all thresholds, which need not be the threshold of Epsilon.
	Accuracy float64 `json:"accuracy"`
}

// EpsilonSweep searches all thresholds for the best Clopper–Pearson epsilon lower bound, as
// compute_results of Jagielski et al. (2020, research/audit_2020/audit.py) does: in holds the scores of the
// runs with the audited example ("poisoned", higher = in), out those without. The candidate thresholds are
// the distinct values of in and out in ascending order; at threshold t a run is called "in" iff its score
// is > t (strict), and EpsilonFromCounts gives eps and acc. The best epsilon is the first strictly larger
// one, starting from 0. For k examples inserted together, divide Epsilon by k.
//
// It returns an error when in or out is empty, a score is NaN, or alpha is not in (0, 1).
func EpsilonSweep(in, out []float64, alpha float64) (Sweep, error) {
	if len(in) == 0 || len(out) == 0 {
		return Sweep{}, fmt.Errorf("epsilon sweep needs scores of both kinds of runs: %d in, %d out", len(in), len(out))
	}
	if !(alpha > 0 && alpha < 1) {
		return Sweep{}, fmt.Errorf("alpha %v is not in (0, 1)", alpha)
	}
	if i := slices.IndexFunc(in, math.IsNaN); i >= 0 {
		return Sweep{}, fmt.Errorf("in score %d is NaN", i)
	}
	if i := slices.IndexFunc(out, math.IsNaN); i >= 0 {
		return Sweep{}, fmt.Errorf("out score %d is NaN", i)
	}
	inS, outS := slices.Clone(in), slices.Clone(out)
	slices.Sort(inS)
	slices.Sort(outS)
	thresholds := slices.Concat(inS, outS)
	slices.Sort(thresholds)
	thresholds = slices.Compact(thresholds)

	// Counts of scores > t, for every threshold t in ascending order.
	tp := make([]int, len(thresholds))
	fp := make([]int, len(thresholds))
	i, j := 0, 0
	for k, t := range thresholds {
		for i < len(inS) && inS[i] <= t {
			i++
		}
		for j < len(outS) && outS[j] <= t {
			j++
		}
		tp[k], fp[k] = len(inS)-i, len(outS)-j
	}
	eps := make([]float64, len(thresholds))
	acc := make([]float64, len(thresholds))
	parallelFor(len(thresholds), func(k int) {
		eps[k], acc[k] = EpsilonFromCounts(tp[k], fp[k], len(outS)-fp[k], len(inS)-tp[k], alpha)
	})
	best := Sweep{Threshold: math.NaN()}
	for k, t := range thresholds {
		if eps[k] > best.Epsilon {
			best.Epsilon, best.Threshold = eps[k], t
		}
		best.Accuracy = max(best.Accuracy, acc[k])
	}
	return best, nil
}
