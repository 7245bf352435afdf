package metric

import (
	"math"
	"testing"
)

// The expected values in this file were computed with mpmath 1.2 at 40 digits (Debian /usr/bin/python3),
// independently of scipy: Clopper–Pearson bounds as roots of mp.betainc(a, b, 0, x, regularized=True)
// (findroot, anderson, bracketed around scipy's beta.ppf/isf), binomial probabilities as exact sums of
// mp.binomial(n, j) p^j (1-p)^(n-j) with p the float64 value shown. They check the 1e-13 relative accuracy
// that the package claims; scipy 1.10 itself is off by up to 6e-11 on the n = 1e7 rows.

func TestClopperPearsonAccuracy(t *testing.T) {
	tests := []struct {
		k, n   int
		alpha  float64
		lo, hi float64
	}{
		{3, 10, 0.05, 0.066739511177734468518, 0.65245285005999729166},
		{1, 1, 0.05, 0.025000000000000001388, 1.0},
		{999, 1000, 1e-06, 0.98272009473879147693, 0.99999999949999987512},
		{1, 10000000, 0.05, 2.5317807952240306798e-9, 5.5716421173607311708e-7},
		{2, 1000000, 0.05, 2.4220937031600318426e-7, 7.224668794380316942e-6},
		{50, 100, 0.01, 0.36886143735892402491, 0.63113856264107597509},
		// k = 0: hi = 1 - (alpha/2)^(1/n) in closed form.
		{0, 10000000, 0.05, 0, -math.Expm1(math.Log(0.025) / 1e7)},
		{0, 7, 0.05, 0, -math.Expm1(math.Log(0.025) / 7)},
	}
	for _, tt := range tests {
		lo, hi := ClopperPearson(tt.k, tt.n, tt.alpha)
		if !closeRel(lo, tt.lo, 1e-13) || !closeRel(hi, tt.hi, 1e-13) {
			t.Errorf("ClopperPearson(%d, %d, %g) = (%.17g, %.17g), want (%.17g, %.17g)", tt.k, tt.n, tt.alpha, lo, hi, tt.lo, tt.hi)
		}
	}
	for _, bad := range [][3]float64{{-1, 10, 0.05}, {11, 10, 0.05}, {0, 0, 0.05}, {1, 10, 0}, {1, 10, 1}} {
		lo, hi := ClopperPearson(int(bad[0]), int(bad[1]), bad[2])
		if !math.IsNaN(lo) || !math.IsNaN(hi) {
			t.Errorf("ClopperPearson(%v) = (%v, %v), want NaN", bad, lo, hi)
		}
	}
}

// TestClopperPearsonCoverage checks the defining property on a grid: at the bounds the binomial tails equal
// alpha/2. Near 1 a tail moves by more than its rounding across one ulp of the bound, so the test asks that
// alpha/2 lies between the tails two ulps below and above the bound.
func TestClopperPearsonCoverage(t *testing.T) {
	const target = 0.05
	bracketed := func(f func(x float64) float64, x float64) bool {
		a, b := f(math.Nextafter(math.Nextafter(x, 0), 0)), f(math.Nextafter(math.Nextafter(x, 1), 1))
		a, b = min(a, b), max(a, b)
		return a <= target*(1+1e-14) && target*(1-1e-14) <= b
	}
	for _, n := range []int{1, 2, 9, 50, 333, 4000, 100000} {
		for _, k := range []int{0, 1, n / 3, n / 2, n - 1, n} {
			lo, hi := ClopperPearson(k, n, 2*target)
			if !(lo <= float64(k)/float64(n) && float64(k)/float64(n) <= hi) {
				t.Errorf("k=%d n=%d: interval [%v, %v] misses k/n", k, n, lo, hi)
			}
			atLeastK := func(x float64) float64 { return binomSF(k-1, n, x) }
			atMostK := func(x float64) float64 { _, up := incBeta(float64(k+1), float64(n-k), x); return up }
			if k > 0 && !bracketed(atLeastK, lo) {
				t.Errorf("k=%d n=%d: P[X >= k] at lo = %v, want %v", k, n, atLeastK(lo), target)
			}
			if k < n && !bracketed(atMostK, hi) {
				t.Errorf("k=%d n=%d: P[X <= k] at hi = %v, want %v", k, n, atMostK(hi), target)
			}
		}
	}
}

func TestBinomial(t *testing.T) {
	tests := []struct {
		k, n    int
		p       float64
		sf, pmf float64
	}{
		// Far tails lose a little to cancellation in Loader's deviance term: 1e-12 there.
		{9, 100, 0.3, 0.999999614852036176, 3.0010717124463032864e-7},
		{2999, 4000, 0.6, 7.1383019746977341397e-89, 7.142985638195291965e-89},
		{0, 1, 0.5, 0.5, 0.5},
		{3899, 4000, 0.9820137900379085, 0.99936973855417402525, 0.00019777067752988279148},
		{59, 100, 0.2689414213699951, 3.9256539720795880172e-12, 1.1895822365504238875e-11},
		{1, 10000000, 5.571642117360731e-07, 0.97500000000000000272, 0.021195777593483489169},
	}
	for _, tt := range tests {
		if got := binomSF(tt.k, tt.n, tt.p); !closeRel(got, tt.sf, 1e-12) {
			t.Errorf("binomSF(%d, %d, %v) = %.17g, want %.17g", tt.k, tt.n, tt.p, got, tt.sf)
		}
		if got := binomPMF(tt.k, tt.n, tt.p); !closeRel(got, tt.pmf, 1e-12) {
			t.Errorf("binomPMF(%d, %d, %v) = %.17g, want %.17g", tt.k, tt.n, tt.p, got, tt.pmf)
		}
	}
	if binomSF(-1, 5, 0.3) != 1 || binomSF(5, 5, 0.3) != 0 || binomPMF(6, 5, 0.3) != 0 {
		t.Error("binomial support edges")
	}
	// The probabilities of one distribution add up to 1.
	for _, n := range []int{1, 17, 1000} {
		s := 0.0
		for k := 0; k <= n; k++ {
			s += binomPMF(k, n, 0.37)
		}
		if !closeRel(s, 1, 1e-13) {
			t.Errorf("n=%d: pmf sums to %v", n, s)
		}
	}
}

func closeRel(got, want, rtol float64) bool {
	if got == want {
		return true
	}
	return math.Abs(got-want) <= rtol*math.Abs(want)
}
