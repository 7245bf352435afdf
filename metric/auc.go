package metric

import (
	"math"

	"github.com/pmeter/pmeter/internal/numpysum"
)

// AUC returns the area under the curve by the trapezoidal rule, as numpy.trapz(c.TPR, c.FPR) (and so
// scikit-learn auc and Privacy Meter) computes it: the terms (FPR[k+1]-FPR[k])*(TPR[k+1]+TPR[k])/2 are
// added by numpy's pairwise summation, so that the result agrees to the last bit. A curve with fewer than
// two points has area 0.
func AUC(c Curve) float64 {
	n := len(c.FPR) - 1
	if n < 1 {
		return 0
	}
	terms := make([]float64, n)
	for k := range terms {
		terms[k] = (c.FPR[k+1] - c.FPR[k]) * (c.TPR[k+1] + c.TPR[k]) / 2
	}
	return numpysum.Sum(terms)
}

// TPRAtFPR returns TPR[i] for the last point i with FPR[i] <= maxFPR: the highest TPR at a false positive
// rate of at most maxFPR on the curve's points. This is Privacy Meter's "TPR at x% FPR" (v2
// compute_attack_results, on the drop_intermediate curve). It is NaN for an empty curve or where no point
// qualifies (FPR undefined).
func TPRAtFPR(c Curve, maxFPR float64) float64 {
	for i := len(c.FPR) - 1; i >= 0; i-- {
		if c.FPR[i] <= maxFPR {
			return c.TPR[i]
		}
	}
	return math.NaN()
}

// TPRAtFPRStrict returns TPR[i] for the last point i with FPR[i] < maxFPR, as the LiRA reference code
// (Carlini et al. 2022, plot.py) reports TPR at 0.1% FPR. It is 0 when only the point (0, 0) could qualify
// but maxFPR <= 0, and NaN for an empty curve or undefined FPR.
func TPRAtFPRStrict(c Curve, maxFPR float64) float64 {
	for i := len(c.FPR) - 1; i >= 0; i-- {
		if c.FPR[i] < maxFPR {
			return c.TPR[i]
		}
	}
	if len(c.FPR) > 0 && c.FPR[0] == 0 {
		return 0
	}
	return math.NaN()
}

// BalancedAccuracy returns the best balanced accuracy over the curve's thresholds,
// max_k 1 - (FPR[k] + (1 - TPR[k]))/2, as the LiRA reference code and Privacy Meter v1 report "accuracy".
// Points whose FPR or TPR is NaN are skipped; the result is NaN when none is left.
func BalancedAccuracy(c Curve) float64 {
	best := math.NaN()
	for k := range c.FPR {
		a := 1 - (c.FPR[k]+(1-c.TPR[k]))/2
		if math.IsNaN(a) {
			continue
		}
		if math.IsNaN(best) || a > best {
			best = a
		}
	}
	return best
}
