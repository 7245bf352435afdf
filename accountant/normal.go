package accountant

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// The standard normal distribution as SciPy evaluates it: dp_accounting calls scipy.stats.norm's cdf,
// logcdf and ppf (Cephes ndtr, log_ndtr and ndtri), and scipy.special.log_ndtr for the RDP series.

const sqrt1_2 = 0.70710678118654752440084436210484903928483593768847 // 1/√2

// ndtr is the standard normal CDF Φ(a), computed as Cephes' ndtr: erf near 0, erfc elsewhere.
func ndtr(a float64) float64 {
	if math.IsNaN(a) {
		return math.NaN()
	}
	x := a * sqrt1_2
	z := math.Abs(x)
	if z < sqrt1_2 {
		return 0.5 + 0.5*math.Erf(x)
	}
	y := 0.5 * math.Erfc(z)
	if x > 0 {
		y = 1 - y
	}
	return y
}

// logNdtr is log Φ(x), accurate in both tails: log1p(-Φ(-x)) for x ≥ -1, log(erfc(-x/√2)/2) while erfc
// stays a normal float64, and the asymptotic series of the Mills ratio beyond (x < -36.7).
func logNdtr(x float64) float64 {
	if math.IsNaN(x) {
		return math.NaN()
	}
	t := x * sqrt1_2
	if x >= -1 {
		return math.Log1p(-math.Erfc(t) / 2)
	}
	if -t < 26 {
		return math.Log(math.Erfc(-t) / 2)
	}
	if math.IsInf(x, -1) {
		return math.Inf(-1)
	}
	// log Φ(x) = -x²/2 - log(-x) - log(2π)/2 + log(1 - 1/x² + 3/x⁴ - 15/x⁶ + …).
	inv := 1 / (x * x)
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= -float64(2*k-1) * inv
		next := sum + term
		if next == sum {
			break
		}
		sum = next
	}
	return -0.5*x*x - math.Log(-x) - 0.5*math.Log(2*math.Pi) + math.Log(sum)
}

// ndtri is the standard normal quantile Φ⁻¹(p) for p in [0, 1] (Wichura's AS241, about 1e-16 relative).
func ndtri(p float64) float64 {
	return mathext.NormalQuantile(p)
}

// logAddExp is NumPy's logaddexp: log(eˣ + eʸ) without overflow.
func logAddExp(x, y float64) float64 {
	if x == y {
		return x + math.Ln2
	}
	switch d := x - y; {
	case d > 0:
		return x + math.Log1p(math.Exp(-d))
	case d <= 0:
		return y + math.Log1p(math.Exp(d))
	default:
		return d // NaN
	}
}
