package metric

import (
	"math"
	"slices"
)

// Quantile returns the q quantile (q in [0, 1]) of the ascending slice sorted by linear interpolation
// between the order statistics at position q·(n−1), as numpy.quantile's default method computes it. It
// returns NaN when sorted is empty or q is outside [0, 1].
func Quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 || !(q >= 0 && q <= 1) {
		return math.NaN()
	}
	return percentile(sorted, q)
}

// KSDistance returns the two-sample Kolmogorov–Smirnov distance between the samples x and y: the largest
// difference, over all thresholds t, between the fractions of x and of y at or below t,
// sup_t |F_x(t) − F_y(t)| (scipy.stats.ks_2samp's statistic). It is 0 for samples of the same
// distribution of values and 1 for samples whose values do not overlap, and it does not change when a
// strictly increasing function is applied to both samples. Ascending input is used as it is; other
// input is sorted in a copy. It returns NaN when a sample is empty or holds a NaN.
func KSDistance(x, y []float64) float64 {
	if len(x) == 0 || len(y) == 0 || slices.ContainsFunc(x, math.IsNaN) || slices.ContainsFunc(y, math.IsNaN) {
		return math.NaN()
	}
	if !slices.IsSorted(x) {
		x = slices.Sorted(slices.Values(x))
	}
	if !slices.IsSorted(y) {
		y = slices.Sorted(slices.Values(y))
	}
	// The distance is max |i/n − j/m| over the steps; |i·m − j·n| is exact in integers, so the result is
	// rounded once.
	n, m := len(x), len(y)
	d := 0
	for i, j := 0, 0; i < len(x) && j < len(y); {
		// Step past every value equal to the smaller head, in both samples, so that ties between the
		// samples move both empirical distribution functions at once.
		t := math.Min(x[i], y[j])
		for i < len(x) && x[i] == t {
			i++
		}
		for j < len(y) && y[j] == t {
			j++
		}
		d = max(d, i*m-j*n, j*n-i*m)
	}
	return float64(d) / (float64(n) * float64(m))
}
