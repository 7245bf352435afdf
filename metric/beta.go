package metric

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// ClopperPearson returns the two-sided Clopper–Pearson ("exact") confidence interval at level 1-alpha for
// a binomial proportion with k successes in n trials, as statsmodels proportion_confint(k, n, alpha,
// method="beta") computes it: lo is the alpha/2 quantile of Beta(k, n-k+1), or 0 when k == 0, and hi is the
// 1-alpha/2 quantile of Beta(k+1, n-k), or 1 when k == n. The quantiles are accurate to about 1e-13
// relative.
//
// Preconditions: 0 <= k <= n, n > 0 and 0 < alpha < 1; otherwise lo and hi are NaN.
func ClopperPearson(k, n int, alpha float64) (lo, hi float64) {
	if k < 0 || n <= 0 || k > n || !(alpha > 0 && alpha < 1) {
		return math.NaN(), math.NaN()
	}
	lo, hi = 0, 1
	if k > 0 {
		lo = betaQuantile(float64(k), float64(n-k+1), alpha/2)
	}
	if k < n {
		hi = betaUpperQuantile(float64(k+1), float64(n-k), alpha/2)
	}
	return lo, hi
}

// betaQuantile returns x with I_x(a, b) = p, the p quantile of Beta(a, b) (scipy beta.ppf).
func betaQuantile(a, b, p float64) float64 {
	switch {
	case p <= 0:
		return 0
	case p >= 1:
		return 1
	}
	return solveIncBeta(a, b, p, false)
}

// betaUpperQuantile returns x with 1 - I_x(a, b) = q (scipy beta.isf).
func betaUpperQuantile(a, b, q float64) float64 {
	switch {
	case q <= 0:
		return 1
	case q >= 1:
		return 0
	}
	return solveIncBeta(a, b, q, true)
}

// solveIncBeta returns x in (0, 1) with I_x(a, b) = p, or with 1 - I_x(a, b) = p when upper is set, for
// 0 < p < 1 and a, b > 0. Working on the tail that is asked for, in x itself, keeps the relative accuracy
// of small tail probabilities and of small quantiles. gonum's InvRegIncBeta gives the starting point, and
// Newton steps polish it inside a bracket that bisection keeps valid, until a step is below two ulps
// or the bracket closes.
func solveIncBeta(a, b, p float64, upper bool) float64 {
	// f is increasing in x.
	f := func(x float64) float64 {
		lower, up := incBeta(a, b, x)
		if upper {
			return p - up
		}
		return lower - p
	}
	lo, hi := 0.0, 1.0
	start := p
	if upper {
		start = 1 - p
	}
	x := mathext.InvRegIncBeta(a, b, start)
	if !(x > 0 && x < 1) {
		x = 0.5
	}
	fx := f(x)
	for iter := 0; iter < 400 && fx != 0; iter++ {
		if fx < 0 {
			lo = x
		} else {
			hi = x
		}
		// Newton step with the density x^(a-1) (1-x)^(b-1) / B(a, b).
		y := 1 - x
		next := x - fx/(math.Exp(logBetaPrefactor(a, b, x, y))/(x*y))
		if math.Abs(next-x) <= 2*epsilon*x {
			// Converged: keep the better of the last two points.
			if next != x && next > lo && next < hi && math.Abs(f(next)) < math.Abs(fx) {
				return next
			}
			return x
		}
		if !(next > lo && next < hi) {
			next = lo + (hi-lo)/2
			if next == lo || next == hi {
				break // the bracket holds adjacent floats
			}
		}
		x, fx = next, f(next)
	}
	return x
}

// epsilon is the float64 machine epsilon, 2^-52.
const epsilon = 0x1p-52
