package metric

import (
	"math"
)

// GaussianDPDelta returns δ(ε) of μ-Gaussian differential privacy (Dong, Roth & Su 2022, "Gaussian
// Differential Privacy", Corollary 2.13): a mechanism is μ-GDP exactly when it is (ε, δ(ε))-DP for every
// ε ≥ 0, with
//
//	δ(ε) = Φ(−ε/μ + μ/2) − e^ε·Φ(−ε/μ − μ/2).
//
// The Gaussian mechanism of sensitivity 1 and noise σ is μ-GDP with μ = 1/σ, and this is its exact
// privacy curve. Both terms are evaluated through the Mills ratio, with e^ε·φ(−ε/μ − μ/2) = φ(−ε/μ + μ/2),
// so δ keeps its relative accuracy where Φ underflows and e^ε overflows (small noise, large ε); it
// underflows to 0 only where δ itself is below the smallest float64.
//
// Preconditions: μ ≥ 0 and ε ≥ 0 (μ = +Inf gives 1); otherwise NaN.
func GaussianDPDelta(mu, eps float64) float64 {
	return math.Exp(gdpLogDelta(mu, eps))
}

// GaussianDPEpsilon returns the ε of μ-GDP at δ: the smallest ε ≥ 0 with GaussianDPDelta(mu, ε) ≤ δ. It
// is 0 when μ = 0 or δ ≥ δ(0) = 2Φ(μ/2) − 1, and +Inf at δ = 0 for every μ > 0 (no Gaussian mechanism is
// pure DP). Otherwise the root is bracketed by doubling its upper end (no fixed cap) and bisected in log
// δ until the bracket is as narrow as float64 allows; the lower end is returned, so the result does
// not exceed the exact ε by more than one rounding of δ(ε).
//
// Preconditions: μ ≥ 0 (+Inf gives +Inf unless δ ≥ 1) and 0 ≤ δ ≤ 1; otherwise NaN.
func GaussianDPEpsilon(mu, delta float64) float64 {
	switch {
	case !(mu >= 0) || !(delta >= 0 && delta <= 1):
		return math.NaN()
	case mu == 0 || delta == 1:
		return 0
	case math.IsInf(mu, 1) || delta == 0:
		return math.Inf(1)
	}
	ld := math.Log(delta)
	if ld >= gdpLogDelta(mu, 0) {
		return 0
	}
	lo, hi := 0.0, max(1, mu*mu)
	for gdpLogDelta(mu, hi) > ld {
		lo, hi = hi, 2*hi
	}
	for {
		mid := lo + (hi-lo)/2
		if mid <= lo || mid >= hi {
			return lo
		}
		if gdpLogDelta(mu, mid) > ld {
			lo = mid
		} else {
			hi = mid
		}
	}
}

// gdpLogDelta returns log δ(ε) of μ-GDP (GaussianDPDelta). With a = −ε/μ + μ/2, b = a − μ < 0 and the
// Mills ratio R(x) = Φ(−x)/φ(x), e^ε·Φ(b) = φ(a)·R(−b), so
//
//	δ = Φ(a) − φ(a)·R(−b)              when a > 0 (δ is then above about 0.1),
//	δ = φ(a)·(R(−a) − R(−b))           when a ≤ 0, summed in logs.
func gdpLogDelta(mu, eps float64) float64 {
	switch {
	case !(mu >= 0) || !(eps >= 0):
		return math.NaN()
	case math.IsInf(mu, 1):
		return 0
	case mu == 0:
		return math.Inf(-1)
	}
	a := -eps/mu + mu/2
	b := a - mu
	if a > 0 {
		return math.Log(normCDF(a) - math.Exp(normLogPDF(a))*millsRatio(-b))
	}
	d := millsRatio(-a) - millsRatio(-b)
	if d <= 0 { // μ below the resolution of R at −a
		return math.Inf(-1)
	}
	return normLogPDF(a) + math.Log(d)
}

// normCDF returns Φ(x), with full relative accuracy in the lower tail down to underflow.
func normCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

// normLogPDF returns log φ(x).
func normLogPDF(x float64) float64 { return -0.5*x*x - 0.5*math.Log(2*math.Pi) }

// millsRatio returns R(x) = Φ(−x)/φ(x) for x ≥ 0: from erfc up to x = 10, and beyond from the continued
// fraction R(x) = 1/(x + 1/(x + 2/(x + 3/(x + …)))), which converges to full precision in far fewer than
// its 100 terms there. R(+Inf) = 0.
func millsRatio(x float64) float64 {
	switch {
	case math.IsInf(x, 1):
		return 0
	case x <= 10:
		return normCDF(-x) / math.Exp(normLogPDF(x))
	}
	t := x
	for k := 100; k >= 1; k-- {
		t = x + float64(k)/t
	}
	return 1 / t
}

// normQuantile returns Φ⁻¹(p) (scipy norm.ppf): Wichura's algorithm AS 241 (PPND16, Applied Statistics
// 37, 1988), accurate to about 1e-16 relative over the whole range, the lower tail computed from p itself
// (math.Erfcinv goes through 1 − 2p and loses the tail below 1e-17). Φ⁻¹(0) = −Inf, Φ⁻¹(1) = +Inf, and
// NaN outside [0, 1].
func normQuantile(p float64) float64 {
	switch {
	case !(p >= 0 && p <= 1):
		return math.NaN()
	case p == 0:
		return math.Inf(-1)
	case p == 1:
		return math.Inf(1)
	}
	q := p - 0.5
	if math.Abs(q) <= 0.425 {
		r := 0.180625 - q*q
		return q * (((((((2.5090809287301226727e3*r+3.3430575583588128105e4)*r+6.7265770927008700853e4)*r+
			4.5921953931549871457e4)*r+1.3731693765509461125e4)*r+1.9715909503065514427e3)*r+
			1.3314166789178437745e2)*r + 3.3871328727963666080e0) /
			(((((((5.2264952788528545610e3*r+2.8729085735721942674e4)*r+3.9307895800092710610e4)*r+
				2.1213794301586595867e4)*r+5.3941960214247511077e3)*r+6.8718700749205790830e2)*r+
				4.2313330701600911252e1)*r + 1)
	}
	r := p
	if q > 0 {
		r = 1 - p
	}
	r = math.Sqrt(-math.Log(r))
	var x float64
	if r <= 5 {
		r -= 1.6
		x = (((((((7.74545014278341407640e-4*r+2.27238449892691845833e-2)*r+2.41780725177450611770e-1)*r+
			1.27045825245236838258e0)*r+3.64784832476320460504e0)*r+5.76949722146069140550e0)*r+
			4.63033784615654529590e0)*r + 1.42343711074968357734e0) /
			(((((((1.05075007164441684324e-9*r+5.47593808499534494600e-4)*r+1.51986665636164571966e-2)*r+
				1.48103976427480074590e-1)*r+6.89767334985100004550e-1)*r+1.67638483018380384940e0)*r+
				2.05319162663775882187e0)*r + 1)
	} else {
		r -= 5
		x = (((((((2.01033439929228813265e-7*r+2.71155556874348757815e-5)*r+1.24266094738807843860e-3)*r+
			2.65321895265761230930e-2)*r+2.96560571828504891230e-1)*r+1.78482653991729133580e0)*r+
			5.46378491116411436990e0)*r + 6.65790464350110377720e0) /
			(((((((2.04426310338993978564e-15*r+1.42151175831644588870e-7)*r+1.84631831751005468180e-5)*r+
				7.86869131145613259100e-4)*r+1.48753612908506148525e-2)*r+1.36929880922735805310e-1)*r+
				5.99832206555887937690e-1)*r + 1)
	}
	if q < 0 {
		return -x
	}
	return x
}
