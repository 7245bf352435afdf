package nn

import (
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// TestGaussian checks the ziggurat sampler against N(0, 1) on 2²⁰ draws: the Kolmogorov–Smirnov
// distance within its α = 1e-6 critical value, and the frequencies beyond 1, 2, 3 and the tail's start
// zigR (drawn by the tail algorithm) within 5 binomial standard errors (two-sided p ≈ 6e-7 each), and
// the draws beyond ±zigR follow the normal's tail (KS distance, α = 1e-6, on each side).
func TestGaussian(t *testing.T) {
	const n = 1<<20 + 1
	g := newGaussian(1, streamDPNoise)
	// The noise DP-SGD adds: addNoise on zeros, float32 values.
	buf := make([]float32, n-1) // odd: the last deviate comes from norm
	g.addNoise(buf, 1)
	z := make([]float64, 0, n)
	for _, v := range buf {
		z = append(z, float64(v))
	}
	z = append(z, g.norm())
	slices.Sort(z)
	std := distuv.UnitNormal
	var d float64
	for i, v := range z {
		c := std.CDF(v)
		d = max(d, math.Abs(c-float64(i)/n), math.Abs(c-float64(i+1)/n))
	}
	// P(D > x) ≈ 2·exp(−2·n·x²) for the one-sample KS statistic.
	if crit := math.Sqrt(-math.Log(1e-6/2) / (2 * n)); d > crit {
		t.Errorf("Kolmogorov–Smirnov distance %v > %v (α = 1e-6)", d, crit)
	}
	for _, a := range []float64{1, 2, 3, zigR} {
		k := 0
		for _, v := range z {
			if math.Abs(v) > a {
				k++
			}
		}
		p := 2 * std.Survival(a)
		if se := math.Sqrt(n * p * (1 - p)); math.Abs(float64(k)-n*p) > 5*se {
			t.Errorf("%d of %d draws beyond ±%v, want %.1f ± %.1f", k, n, a, n*p, 5*se)
		}
	}
	for _, sign := range []float64{1, -1} {
		var tail []float64
		for _, v := range z {
			if v*sign > zigR {
				tail = append(tail, v*sign)
			}
		}
		slices.Sort(tail)
		m := float64(len(tail))
		var d float64
		for i, v := range tail {
			c := 1 - std.Survival(v)/std.Survival(zigR) // P(Z ≤ v | Z > zigR)
			d = max(d, math.Abs(c-float64(i)/m), math.Abs(c-float64(i+1)/m))
		}
		if crit := math.Sqrt(-math.Log(1e-6/2) / (2 * m)); d > crit {
			t.Errorf("sign %v: the %d draws beyond zigR: Kolmogorov–Smirnov distance %v > %v", sign, len(tail), d, crit)
		}
	}
}
