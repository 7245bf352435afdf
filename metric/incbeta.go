package metric

import "math"

// This file evaluates the regularized incomplete beta function and binomial probabilities to close to
// full double precision for parameters up to about 1e8, where the generic routines (Cephes incbet, as in
// gonum mathext and scipy.special.betainc) lose digits: their prefactor x^a (1-x)^b / B(a, b) cancels
// large logarithms. Here the prefactor follows Loader's saddle-point method ("Fast and accurate
// computation of binomial probabilities", 2000, as in R's dbinom and dbeta), lbeta uses Stirling
// corrections (as R's lbeta), and the continued fraction is the classic one for I_x(a, b) (Numerical
// Recipes betacf) evaluated with the modified Lentz method.

const lnSqrt2Pi = 0.918938533204672741780329736406 // log(sqrt(2*pi))

// stirlerr returns log(n!) - log(sqrt(2 pi n) (n/e)^n), the error of Stirling's formula, for n > 0.
func stirlerr(n float64) float64 {
	const (
		s0 = 1.0 / 12
		s1 = 1.0 / 360
		s2 = 1.0 / 1260
		s3 = 1.0 / 1680
		s4 = 1.0 / 1188
	)
	if n <= 15 {
		lg, _ := math.Lgamma(n + 1)
		return lg - (n+0.5)*math.Log(n) + n - lnSqrt2Pi
	}
	nn := n * n
	switch {
	case n > 500:
		return (s0 - s1/nn) / n
	case n > 80:
		return (s0 - (s1-s2/nn)/nn) / n
	case n > 35:
		return (s0 - (s1-(s2-s3/nn)/nn)/nn) / n
	}
	return (s0 - (s1-(s2-(s3-s4/nn)/nn)/nn)/nn) / n
}

// bd0 returns x log(x/np) + np - x, the deviance term of Loader's method, without cancellation when x is
// close to np. The caller gives d = x - np, computed without forming np where that would round: when np is
// large, its rounding error would dominate the small difference.
func bd0(x, np, d float64) float64 {
	if math.Abs(d) < 0.1*(x+np) {
		v := d / (x + np)
		s := d * v
		if math.Abs(s) < math.SmallestNonzeroFloat64 {
			return s
		}
		ej := 2 * x * v
		v *= v
		for j := 1; j < 1000; j++ {
			ej *= v
			s1 := s + ej/float64(2*j+1)
			if s1 == s {
				return s1
			}
			s = s1
		}
	}
	return x*math.Log(x/np) - d
}

// logBinomPMF returns the log of the binomial probability C(n, k) p^k q^(n-k) with q = 1-p given
// separately, for real 0 <= k <= n (Loader's dbinom_raw).
func logBinomPMF(k, n, p, q float64) float64 {
	switch {
	case p == 0:
		if k == 0 {
			return 0
		}
		return math.Inf(-1)
	case q == 0:
		if k == n {
			return 0
		}
		return math.Inf(-1)
	case k < 0 || k > n:
		return math.Inf(-1)
	case k == 0:
		if n == 0 {
			return 0
		}
		if p < 0.1 {
			return -bd0(n, n*q, n*p) - n*p
		}
		return n * math.Log(q)
	case k == n:
		if q < 0.1 {
			return -bd0(n, n*p, n*q) - n*q
		}
		return n * math.Log(p)
	}
	d := k - n*p // = (n-k) - n*q
	lc := stirlerr(n) - stirlerr(k) - stirlerr(n-k) - bd0(k, n*p, d) - bd0(n-k, n*q, -d)
	lf := 2*lnSqrt2Pi + math.Log(k) + math.Log1p(-k/n)
	return lc - 0.5*lf
}

// lbeta returns log B(a, b) for a, b > 0, accurate also when a or b is large.
func lbeta(a, b float64) float64 {
	p, q := min(a, b), max(a, b)
	switch {
	case p >= 10:
		corr := stirlerr(p) + stirlerr(q) - stirlerr(p+q)
		return -0.5*math.Log(q) + lnSqrt2Pi + corr + (p-0.5)*math.Log(p/(p+q)) + q*math.Log1p(-p/(p+q))
	case q >= 10:
		corr := stirlerr(q) - stirlerr(p+q)
		lg, _ := math.Lgamma(p)
		return lg + corr + p - p*math.Log(p+q) + (q-0.5)*math.Log1p(-p/(p+q))
	}
	lp, _ := math.Lgamma(p)
	lq, _ := math.Lgamma(q)
	lpq, _ := math.Lgamma(p + q)
	return lp + lq - lpq
}

// logBetaPrefactor returns log(x^a (1-x)^b / B(a, b)) for 0 < x < 1, with y = 1-x given separately. The
// logarithm of whichever of x and y is above 1/2 is taken as log1p of the other, which is exact.
func logBetaPrefactor(a, b, x, y float64) float64 {
	lx, ly := math.Log(x), math.Log(y)
	if x > 0.5 {
		lx = math.Log1p(-y)
	} else {
		ly = math.Log1p(-x)
	}
	if a <= 2 || b <= 2 {
		return a*lx + b*ly - lbeta(a, b)
	}
	// x^(a-1) y^(b-1) / B(a, b) = (a+b-1) C(a+b-2, a-1) x^(a-1) y^(b-1).
	return lx + ly + math.Log(a+b-1) + logBinomPMF(a-1, a+b-2, x, y)
}

// betaCF evaluates the continued fraction of I_x(a, b) = prefactor/a * betaCF(a, b, x); it converges
// quickly for x < (a+1)/(a+b+2).
func betaCF(a, b, x float64) float64 {
	const (
		eps   = 1e-16
		tiny  = 1e-300
		maxIt = 1 << 20
	)
	qab, qap, qam := a+b, a+1, a-1
	c := 1.0
	d := 1 - qab*x/qap
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= maxIt; m++ {
		fm := float64(m)
		m2 := 2 * fm
		aa := fm * (b - fm) * x / ((qam + m2) * (a + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		h *= d * c
		aa = -(a + fm) * (qab + fm) * x / ((a + m2) * (qap + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) <= eps {
			break
		}
	}
	return h
}

// incBeta returns the regularized incomplete beta function I_x(a, b) and its complement 1 - I_x(a, b),
// for a, b > 0 and 0 <= x <= 1. The one of the two that the continued fraction computes directly (the
// smaller one, up to the distribution's centre) keeps its relative accuracy however small it is.
func incBeta(a, b, x float64) (lower, upper float64) {
	switch {
	case x <= 0:
		return 0, 1
	case x >= 1:
		return 1, 0
	}
	y := 1 - x
	if x < (a+1)/(a+b+2) {
		lower = math.Exp(logBetaPrefactor(a, b, x, y)) * betaCF(a, b, x) / a
		return lower, 1 - lower
	}
	if x < 0.5 && a <= 2000 && a == math.Trunc(a) {
		// The continued fraction in y = 1-x would inherit the rounding of y, relative 1e-16/x. For
		// integer a, 1 - I_x(a, b) = P[X <= a-1] with X ~ Binomial(a+b-1, x) (for any real b), a short
		// sum of terms that decrease from j = a-1 down, since x is above the mean a/(a+b).
		upper = binomLowerTail(a-1, a+b-1, x, y)
		return 1 - upper, upper
	}
	upper = math.Exp(logBetaPrefactor(b, a, y, x)) * betaCF(b, a, y) / b
	return 1 - upper, upper
}

// binomLowerTail returns P[X <= k] for X ~ Binomial(n, p) (n may be real), q = 1-p, adding the terms from
// j = k down and stopping when they no longer change the sum. It is meant for k at or below the mode.
func binomLowerTail(k, n, p, q float64) float64 {
	sum := 0.0
	for j := k; j >= 0; j-- {
		t := math.Exp(logBinomPMF(j, n, p, q))
		if sum+t == sum {
			break
		}
		sum += t
	}
	return sum
}

// binomPMF returns P[X = k] for X ~ Binomial(n, p) (scipy binom.pmf).
func binomPMF(k, n int, p float64) float64 {
	if k < 0 || k > n {
		return 0
	}
	return math.Exp(logBinomPMF(float64(k), float64(n), p, 1-p))
}

// binomSF returns P[X > k] for X ~ Binomial(n, p) (scipy binom.sf), through the identity
// P[X >= k+1] = I_p(k+1, n-k).
func binomSF(k, n int, p float64) float64 {
	switch {
	case k < 0:
		return 1
	case k >= n:
		return 0
	}
	lower, _ := incBeta(float64(k+1), float64(n-k), p)
	return lower
}
