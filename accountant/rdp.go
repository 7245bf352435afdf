package accountant

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// DefaultOrders returns dp_accounting's DEFAULT_RDP_ORDERS: 1.1, 1.2, …, 10.9 (as 1 + x/10), the integers
// 11 … 63, and 128, 256, 512, 1024; 156 orders.
func DefaultOrders() []float64 {
	o := make([]float64, 0, 156)
	for x := 1; x < 100; x++ {
		o = append(o, 1+float64(x)/10.0)
	}
	for a := 11; a < 64; a++ {
		o = append(o, float64(a))
	}
	return append(o, 128, 256, 512, 1024)
}

// RDP is the Rényi differential privacy of a composition of DP-SGD phases at a fixed set of orders α: the
// sum over phases of steps × the per-step RDP of the Poisson-subsampled Gaussian mechanism, as
// dp_accounting's RdpAccountant composes it.
type RDP struct {
	orders []float64
	rdp    []float64
}

// NewRDP composes phases at orders (nil: DefaultOrders()). Every order must be a finite number above 1.
func NewRDP(orders []float64, phases ...Phase) (*RDP, error) {
	if orders == nil {
		orders = DefaultOrders()
	}
	if err := validateOrders(orders); err != nil {
		return nil, err
	}
	if err := validatePhases(phases); err != nil {
		return nil, err
	}
	r := &RDP{orders: slices.Clone(orders), rdp: make([]float64, len(orders))}
	for _, p := range phases {
		step := SubsampledGaussianRDP(p.SamplingRate, p.NoiseMultiplier, r.orders)
		for i, v := range step {
			r.rdp[i] += float64(p.Steps) * v
		}
	}
	return r, nil
}

func validateOrders(orders []float64) error {
	if len(orders) == 0 {
		return errors.New("no RDP order: want at least one")
	}
	for i, a := range orders {
		if math.IsNaN(a) || math.IsInf(a, 0) || a <= 1 {
			return fmt.Errorf("RDP order %d is %v: want a finite number > 1", i+1, a)
		}
	}
	return nil
}

// Orders returns the orders α.
func (r *RDP) Orders() []float64 { return slices.Clone(r.orders) }

// Values returns the composed RDP at each order, in nats (+Inf where an order is unusable).
func (r *RDP) Values() []float64 { return slices.Clone(r.rdp) }

// Epsilon returns the smallest ε over the orders for which the composition is (ε, δ)-DP, and the order
// that attains it. δ must lie in (0, 1).
func (r *RDP) Epsilon(delta float64) (eps, order float64, err error) {
	if err := ValidateDelta(delta); err != nil {
		return 0, 0, err
	}
	// dp_accounting's "effective delta" with no (ε, δ) events composed: 1 - (1 - δ).
	return EpsilonFromRDP(r.orders, r.rdp, -math.Expm1(math.Log1p(-delta)))
}

// Delta returns the smallest δ over the orders for which the composition is (ε, δ)-DP, and the order
// that attains it. ε must be finite and ≥ 0.
func (r *RDP) Delta(eps float64) (delta, order float64, err error) {
	if err := ValidateEpsilon(eps); err != nil {
		return 0, 0, err
	}
	return DeltaFromRDP(r.orders, r.rdp, eps)
}

// EpsilonFromRDP converts RDP values at orders to (ε, δ)-DP as dp_accounting's compute_epsilon does, and
// returns the smallest ε and its order. Per order α with RDP r it takes the KL-divergence bound ε = 0 when
// δ² > 1 - e^{-r}, and otherwise, for α > 1.01, the conversion of Canonne, Kamath & Steinke (2020,
// Prop. 12) and Asoodeh et al. (2020, eq. 20),
//
//	ε = r + log(1 - 1/α) - log(δ·α)/(α - 1),
//
// which is tighter than Mironov's r - log(δ)/(α - 1); orders ≤ 1.01 give +Inf. δ = 0 gives (0, 0) when every
// r is 0 and (+Inf, 0) otherwise. δ must lie in [0, 1].
func EpsilonFromRDP(orders, rdp []float64, delta float64) (eps, order float64, err error) {
	if len(orders) != len(rdp) || len(orders) == 0 {
		return 0, 0, fmt.Errorf("%d orders and %d RDP values: want the same number, at least one", len(orders), len(rdp))
	}
	if math.IsNaN(delta) || delta < 0 || delta > 1 {
		return 0, 0, fmt.Errorf("delta %v: want a number in [0, 1]", delta)
	}
	if delta == 0 {
		for _, r := range rdp {
			if r != 0 {
				return math.Inf(1), 0, nil
			}
		}
		return 0, 0, nil
	}
	best, at := math.Inf(1), -1
	for i, a := range orders {
		r := rdp[i]
		var e float64
		switch {
		case math.IsNaN(r) || math.IsNaN(a) || a < 1:
			return 0, 0, fmt.Errorf("order %v with RDP %v: want an order ≥ 1 and a number", a, r)
		case r < 0:
			e = 0 // round-off from extreme events; dp_accounting returns 0 too
		case delta*delta+math.Expm1(-r) > 0:
			e = 0 // KL bound: δ ≥ sqrt(1 - e^{-r}) already
		case a > 1.01:
			e = r + math.Log1p(-1/a) - math.Log(delta*a)/(a-1)
		default:
			e = math.Inf(1)
		}
		if at < 0 || e < best {
			best, at = e, i
		}
	}
	return math.Max(0, best), orders[at], nil
}

// DeltaFromRDP converts RDP values at orders to the smallest δ for a given ε, as dp_accounting's
// compute_delta does, and returns δ and its order: per order the smaller of the KL bound
// sqrt(1 - e^{-r}) and, for α > 1.01, exp((α - 1)(r - ε + log(1 - 1/α)) - log α) (Canonne, Kamath &
// Steinke 2020, Prop. 12), capped at 1.
func DeltaFromRDP(orders, rdp []float64, eps float64) (delta, order float64, err error) {
	if len(orders) != len(rdp) || len(orders) == 0 {
		return 0, 0, fmt.Errorf("%d orders and %d RDP values: want the same number, at least one", len(orders), len(rdp))
	}
	if math.IsNaN(eps) || eps < 0 {
		return 0, 0, fmt.Errorf("epsilon %v: want a number ≥ 0", eps)
	}
	best, at := math.Inf(1), -1
	for i, a := range orders {
		r := rdp[i]
		if math.IsNaN(r) || math.IsNaN(a) || a < 1 {
			return 0, 0, fmt.Errorf("order %v with RDP %v: want an order ≥ 1 and a number", a, r)
		}
		logDelta := math.Inf(-1)
		if r > 0 {
			logDelta = 0.5 * math.Log1p(-math.Exp(-r))
		}
		if a > 1.01 {
			if b := (a-1)*(r-eps+math.Log1p(-1/a)) - math.Log(a); b < logDelta {
				logDelta = b
			}
		}
		if at < 0 || logDelta < best {
			best, at = logDelta, i
		}
	}
	return math.Min(math.Exp(best), 1), orders[at], nil
}

// SubsampledGaussianRDP returns the per-step RDP, in nats, of the Poisson-subsampled Gaussian mechanism
// (sampling rate q, noise multiplier σ, sensitivity 1, add-or-remove-one neighbours) at each order, as
// dp_accounting's _compute_rdp_poisson_subsampled_gaussian: 0 when q = 0, +Inf when σ = 0, α/(2σ²) when
// q = 1, and otherwise log(A_α)/(α - 1) with A_α from Mironov, Talwar & Zhang (2019): the binomial
// expansion for integer α (Mironov 2017, Sec. 3.3 of the 2019 paper for fractional α). A fractional order
// whose series has not converged after 1000 terms gets +Inf, as in dp_accounting, which leaves it out of
// the conversions. q must lie in [0, 1], σ ≥ 0, every order > 1.
func SubsampledGaussianRDP(q, sigma float64, orders []float64) []float64 {
	out := make([]float64, len(orders))
	for i, a := range orders {
		out[i] = rdpStep(q, sigma, a)
	}
	return out
}

func rdpStep(q, sigma, alpha float64) float64 {
	switch {
	case q == 0:
		return 0
	case math.IsInf(alpha, 1) || sigma == 0:
		return math.Inf(1)
	case q == 1:
		return alpha / (2 * (sigma * sigma))
	case alpha == math.Trunc(alpha):
		return logAInt(q, sigma, int(alpha)) / (alpha - 1)
	default:
		return logAFrac(q, sigma, alpha) / (alpha - 1)
	}
}

// logAdd is log(eˣ + eʸ) as dp_accounting's rdp._log_add: log1p(exp(min - max)) + max.
func logAdd(x, y float64) float64 {
	a, b := min(x, y), max(x, y)
	if math.IsInf(a, -1) {
		return b
	}
	return math.Log1p(math.Exp(a-b)) + b
}

func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}

// logComb is log C(n, k) through log-gamma (|Γ| for non-integer n).
func logComb(n, k float64) float64 {
	return lgamma(n+1) - lgamma(k+1) - lgamma(n-k+1)
}

// logAInt is log A_α for integer α and 0 < q < 1 (Mironov, Talwar & Zhang 2019, Sec. 3.3):
//
//	A_α = Σ_{i=0..α} C(α, i) q^i (1-q)^{α-i} exp((i² - i)/(2σ²)).
func logAInt(q, sigma float64, alpha int) float64 {
	logA := math.Inf(-1)
	lq, l1q := math.Log(q), math.Log1p(-q)
	s2 := 2 * (sigma * sigma)
	for i := 0; i <= alpha; i++ {
		coef := logComb(float64(alpha), float64(i)) + float64(i)*lq + float64(alpha-i)*l1q
		logA = logAdd(logA, coef+float64(i*i-i)/s2)
	}
	return logA
}

// maxFracTerms is the cap on the fractional-order series, after which dp_accounting gives up (+Inf).
const maxFracTerms = 1000

// logAFrac is log A_α for fractional α and 0 < q < 1: the two integrals of Mironov, Talwar & Zhang (2019,
// Sec. 3.3) over (-∞, z₀] and [z₀, ∞) with z₀ = σ² log(1/q - 1) + 1/2, each an infinite series whose terms
// involve erfc. It stops once both new terms are decreasing and 30 nats below the total.
func logAFrac(q, sigma, alpha float64) float64 {
	logA0, logA1 := math.Inf(-1), math.Inf(-1)
	z0 := sigma*sigma*math.Log(1/q-1) + 0.5
	lq, l1q := math.Log(q), math.Log1p(-q)
	s2 := 2 * (sigma * sigma)
	scale := math.Sqrt(2) * sigma
	lastS0, lastS1 := math.Inf(-1), math.Inf(-1)
	for k := 0; k < maxFracTerms; k++ {
		i := float64(k)
		coef := logComb(alpha, i)
		j := alpha - i
		logT0 := coef + i*lq + j*l1q
		logT1 := coef + j*lq + i*l1q
		logE0 := math.Log(0.5) + logErfc((i-z0)/scale)
		logE1 := math.Log(0.5) + logErfc((z0-j)/scale)
		logS0 := logT0 + (i*i-i)/s2 + logE0
		logS1 := logT1 + (j*j-j)/s2 + logE1
		logA0 = logAdd(logA0, logS0)
		logA1 = logAdd(logA1, logS1)
		total := logAdd(logA0, logA1)
		if logS0 < lastS0 && logS1 < lastS1 && max(logS0, logS1) < total-30 {
			return total
		}
		lastS0, lastS1 = logS0, logS1
	}
	return math.Inf(1)
}

// logErfc is log erfc(x) = log 2 + log Φ(-x√2).
func logErfc(x float64) float64 {
	return math.Ln2 + logNdtr(-x*math.Sqrt2)
}
