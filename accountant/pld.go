package accountant

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/pmeter/pmeter/internal/parallel"
)

// DefaultPLDInterval is dp_accounting's default value-discretization interval of the PLD accountant.
const DefaultPLDInterval = 1e-4

// logMassTruncation is dp_accounting's log_mass_truncation_bound for the Gaussian: the noise is cut at
// the quantile ½·e^{-50} on either side.
const logMassTruncation = -50

// PLD is the privacy-loss distribution of a composition of DP-SGD phases, as dp_accounting's PLDAccountant
// computes it (Koskela, Jälkö & Honkela 2020; Doroshenko, Ghazi, Kamath, Kumar & Manurangsi 2022): each
// step's loss is discretized on the grid k·d by the pessimistic connect-the-dots algorithm, the steps are
// composed by FFT, and the tails beyond 1e-15 of mass go to +∞ (upper) or to the grid (lower). Under
// add-or-remove-one neighbours there are two distributions, for removing and for adding a record
// (one when q = 1, where they coincide); each query takes the worse of the two.
//
// Its ε(δ) and δ(ε) are upper bounds on the mechanism's true privacy curve, tight to about the interval d.
type PLD struct {
	interval  float64
	remove    pmf
	add       pmf
	symmetric bool
}

// NewPLD composes phases into a PLD with value-discretization interval d (0: DefaultPLDInterval). A
// smaller d is tighter and slower: the grid has about (loss range)/d points. ctx is checked between
// phases and steps of the construction.
func NewPLD(ctx context.Context, d float64, phases ...Phase) (*PLD, error) {
	if d == 0 {
		d = DefaultPLDInterval
	}
	if math.IsNaN(d) || math.IsInf(d, 0) || d <= 0 {
		return nil, fmt.Errorf("PLD discretization interval %v: want a finite number > 0", d)
	}
	if err := validatePhases(phases); err != nil {
		return nil, err
	}
	acc := &PLD{interval: d, remove: identityPMF(), symmetric: true}
	for i, ph := range phases {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := acc.composePhase(ctx, ph); err != nil {
			if len(phases) > 1 {
				return nil, fmt.Errorf("phase %d: %w", i+1, err)
			}
			return nil, err
		}
	}
	return acc, nil
}

func (a *PLD) composePhase(ctx context.Context, ph Phase) error {
	// The removal and addition PMFs (one when q = 1) are built and self-composed side by side.
	symmetric := ph.SamplingRate == 1
	var built [2]pmf
	n := 2
	if symmetric {
		n = 1
	}
	err := parallel.For(ctx, n, 0, func(ctx context.Context, i int) error {
		step, err := gaussianStepPMF(ctx, ph.NoiseMultiplier, ph.SamplingRate, i == 1, a.interval)
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		built[i], err = selfCompose(ctx, step, ph.Steps, tailMassTruncation)
		return err
	})
	if err != nil {
		return err
	}
	remove, add := built[0], built[1]
	if symmetric {
		add = remove
	}
	newRemove, err := compose(a.remove, remove, tailMassTruncation)
	if err != nil {
		return err
	}
	if a.symmetric && symmetric {
		a.remove = newRemove
		return nil
	}
	prevAdd := a.add
	if a.symmetric {
		prevAdd = a.remove
	}
	newAdd, err := compose(prevAdd, add, tailMassTruncation)
	if err != nil {
		return err
	}
	a.remove, a.add, a.symmetric = newRemove, newAdd, false
	return nil
}

// Interval returns the value-discretization interval d.
func (a *PLD) Interval() float64 { return a.interval }

// Epsilon returns the smallest ε ≥ 0 for which the composition is (ε, δ)-DP under the PLD (+Inf when the
// mass at +∞ exceeds δ). δ must lie in (0, 1).
func (a *PLD) Epsilon(delta float64) (float64, error) {
	if err := ValidateDelta(delta); err != nil {
		return 0, err
	}
	e := a.remove.epsilonForDelta(delta, a.interval)
	if !a.symmetric {
		e = max(e, a.add.epsilonForDelta(delta, a.interval))
	}
	return e, nil
}

// Delta returns the δ for which the composition is (ε, δ)-DP under the PLD: the hockey-stick divergence
// at ε, the larger of removing and adding a record. FFT round-off can push dp_accounting's value slightly
// below 0 (or, in the bulk, its mass excess slightly above 1); Delta clips it to [0, 1]. ε must be finite
// and ≥ 0.
func (a *PLD) Delta(eps float64) (float64, error) {
	if err := ValidateEpsilon(eps); err != nil {
		return 0, err
	}
	return min(1, max(0, a.rawDelta(eps))), nil
}

func (a *PLD) rawDelta(eps float64) float64 {
	d := a.remove.deltaForEpsilon(eps, a.interval)
	if !a.symmetric {
		d = max(d, a.add.deltaForEpsilon(eps, a.interval))
	}
	return d
}

// Curve returns the privacy curve δ(ε) of the composition at each ε of epsilons (in any order): the
// mechanism's (ε, δ) trade-off, which an audit's lower bound on ε at a given δ must not exceed. It is
// non-increasing in ε. Each value is Delta's to round-off (a relative 1e-12 or so; both sum non-negative
// terms), but all of them come from one pass over the grid, where Delta at each ε scans the grid above
// it: a curve of n points costs about one Delta, not n (the grid grows as 1/σ²).
func (a *PLD) Curve(epsilons []float64) ([]float64, error) {
	for i, e := range epsilons {
		if err := ValidateEpsilon(e); err != nil {
			return nil, fmt.Errorf("curve point %d: %w", i+1, err)
		}
	}
	out := a.rawCurve(epsilons)
	for i, d := range out {
		out[i] = min(1, max(0, d))
	}
	return out, nil
}

// rawCurve is rawDelta at each of epsilons (finite, ≥ 0), unclipped, in one pass per PMF.
func (a *PLD) rawCurve(epsilons []float64) []float64 {
	out := a.remove.deltaCurve(epsilons, a.interval)
	if !a.symmetric {
		for i, d := range a.add.deltaCurve(epsilons, a.interval) {
			out[i] = max(out[i], d)
		}
	}
	return out
}

// CurveGrid returns n points (ε, δ(ε)) of the privacy curve with ε evenly spaced from 0 to max.
func (a *PLD) CurveGrid(maxEps float64, n int) (eps, delta []float64, err error) {
	if err := ValidateEpsilon(maxEps); err != nil {
		return nil, nil, err
	}
	if n < 2 {
		return nil, nil, fmt.Errorf("%d curve points: want at least 2", n)
	}
	eps = make([]float64, n)
	for i := range eps {
		eps[i] = maxEps * float64(i) / float64(n-1)
	}
	delta, err = a.Curve(eps)
	return eps, delta, err
}

// gaussianStepPMF is the pessimistic connect-the-dots PMF of one step of the Poisson-subsampled Gaussian
// (dp_accounting's from_gaussian_mechanism with pessimistic_estimate=True, use_connect_dots=True,
// log_mass_truncation_bound=-50): the hockey-stick divergences δ_k at the grid losses k·d between the
// losses at the truncation points are turned into masses by second differences (Doroshenko et al. 2022,
// Algorithm 1, for a fixed gap), and the mass at +∞ is δ at the top of the grid.
func gaussianStepPMF(ctx context.Context, sigma, q float64, add bool, d float64) (pmf, error) {
	g := gaussLoss{sigma: sigma, q: q, add: add}
	xLo := ndtri(0.5*math.Exp(logMassTruncation)) * sigma
	xHi := -xLo
	if add {
		xHi++
	} else {
		xLo--
	}
	epsUpper, err := g.loss(xLo)
	if err != nil {
		return pmf{}, err
	}
	epsLower, err := g.loss(xHi)
	if err != nil {
		return pmf{}, err
	}
	hiF, loF := math.Ceil(epsUpper/d), math.Floor(epsLower/d)
	if !(hiF-loF+1 <= maxGridPoints) {
		return pmf{}, fmt.Errorf("privacy loss of one step spans [%.6g, %.6g], %.4g grid points at interval %g (limit %d): use a larger discretization interval or noise multiplier", epsLower, epsUpper, hiF-loF+1, d, maxGridPoints)
	}
	lo, hi := int(loF), int(hiF)
	deltas := make([]float64, hi-lo+1)
	const chunk = 1 << 14
	err = parallel.For(ctx, (len(deltas)+chunk-1)/chunk, 0, func(_ context.Context, c int) error {
		for i := c * chunk; i < min(len(deltas), (c+1)*chunk); i++ {
			var err error
			if deltas[i], err = g.hockeyStick(float64(lo+i) * d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return pmf{}, err
	}
	probs, err := connectDots(deltas, d)
	if err != nil {
		return pmf{}, err
	}
	return pmf{lower: lo, probs: probs, inf: deltas[len(deltas)-1], sparse: len(probs) <= maxSparseSize}, nil
}

// connectDots turns hockey-stick divergences at consecutive grid losses into masses (dp_accounting's
// create_pmf_pessimistic_connect_dots_fixed_gap). deltas must be non-increasing (to 1e-12); they are made
// so exactly by a running minimum, and masses that round-off leaves below 0 are set to 0.
func connectDots(deltas []float64, d float64) ([]float64, error) {
	n := len(deltas)
	probs := make([]float64, n)
	if n == 1 {
		probs[0] = 1 - deltas[0]
		return probs, nil
	}
	for i := 1; i < n; i++ {
		if deltas[i]-deltas[i-1] > 1e-12 {
			return nil, fmt.Errorf("hockey-stick divergence increases from %g to %g at grid point %d: the mechanism's curve is not monotone", deltas[i-1], deltas[i], i)
		}
	}
	m := slices.Clone(deltas)
	for i := 1; i < n; i++ {
		m[i] = min(m[i-1], m[i])
	}
	em1, e := math.Expm1(d), math.Exp(d)
	diff := func(i int) float64 { return m[i+1] - m[i] }
	probs[0] = 1 - m[0] + diff(0)/em1
	for i := 1; i < n-1; i++ {
		probs[i] = (diff(i) - diff(i-1)*e) / em1
	}
	probs[n-1] = diff(n-2) / math.Expm1(-d)
	for i, p := range probs {
		probs[i] = max(0, p)
	}
	return probs, nil
}

// gaussLoss is the privacy loss of one step of the Poisson-subsampled Gaussian mechanism with noise
// N(0, σ²), sensitivity 1 and sampling rate q (dp_accounting's GaussianPrivacyLoss). Removing a record:
// the output is drawn from μ_upper = (1-q)·N(0,σ²) + q·N(-1,σ²) against μ_lower = N(0,σ²), with loss
// L(x) = log(q·e^{-(x+½)/σ²} + 1 - q), decreasing in x. Adding a record: μ_upper = N(0,σ²) against
// μ_lower = (1-q)·N(0,σ²) + q·N(1,σ²), with loss -L(-x).
type gaussLoss struct {
	sigma, q float64
	add      bool
}

func (g gaussLoss) loss(x float64) (float64, error) {
	if g.add {
		l, err := g.removeLoss(-x)
		return -l, err
	}
	return g.removeLoss(x)
}

func (g gaussLoss) removeLoss(x float64) (float64, error) {
	lw := (-0.5 - x) / (g.sigma * g.sigma) // the Gaussian's loss without subsampling
	if g.q == 1 {
		return lw, nil
	}
	return logAExpBPlusC(g.q, lw, 1-g.q)
}

// inverse returns the largest x whose loss is at least eps.
func (g gaussLoss) inverse(eps float64) (float64, error) {
	s2 := g.sigma * g.sigma
	if g.q == 1 {
		x := -0.5 - eps*s2
		if g.add {
			x = 1 + x
		}
		return x, nil
	}
	if g.add {
		limit := -math.Log(1 - g.q)
		if isClose(eps, limit) {
			return math.Inf(-1), nil
		}
		if eps > limit {
			return 0, fmt.Errorf("privacy loss %v exceeds -log(1 - q) = %v, the largest loss of adding a record", eps, limit)
		}
		lw, err := logAExpBPlusC(1/g.q, -eps, 1-1/g.q)
		if err != nil {
			return 0, err
		}
		return 1 + (-0.5 - -lw*s2), nil
	}
	limit := math.Log(1 - g.q)
	if isClose(eps, limit) {
		return math.Inf(1), nil
	}
	if eps <= limit {
		return 0, fmt.Errorf("privacy loss %v is at most log(1 - q) = %v, the smallest loss of removing a record", eps, limit)
	}
	lw, err := logAExpBPlusC(1/g.q, eps, 1-1/g.q)
	if err != nil {
		return 0, err
	}
	return -0.5 - lw*s2, nil
}

// hockeyStick is the mechanism's δ(eps) = μ_upper(X ≤ x) - e^{eps}·μ_lower(X ≤ x) at x = inverse(eps),
// clipped to [0, 1]; for removal below log(1-q) it is 1 - e^{eps}, for addition above -log(1-q) it is 0.
func (g gaussLoss) hockeyStick(eps float64) (float64, error) {
	q, s := g.q, g.sigma
	if q < 1 {
		if !g.add && !(eps > math.Log1p(-q)) {
			return clip01(-math.Expm1(eps)), nil
		}
		if g.add && !(eps < -math.Log1p(-q)) {
			return 0, nil
		}
	}
	x, err := g.inverse(eps)
	if err != nil {
		return 0, err
	}
	var upper, lowerLog float64
	switch {
	case g.add:
		upper = ndtr(x / s)
		lowerLog = logAddExp(math.Log1p(-q)+logNdtr(x/s), math.Log(q)+logNdtr((x-1)/s))
	case q == 1:
		upper = ndtr((x + 1) / s)
		lowerLog = logNdtr(x / s)
	default:
		upper = (1-q)*ndtr(x/s) + q*ndtr((x+1)/s)
		lowerLog = logNdtr(x / s)
	}
	return clip01(upper - math.Exp(eps+lowerLog)), nil
}

func clip01(x float64) float64 {
	if x < 0 {
		return 0
	}
	if x > 1 {
		return 1
	}
	return x
}

// isClose is Python's math.isclose with its default relative tolerance 1e-9.
func isClose(a, b float64) bool {
	if a == b {
		return true
	}
	if math.IsInf(a, 0) || math.IsInf(b, 0) {
		return false
	}
	return math.Abs(a-b) <= 1e-9*max(math.Abs(a), math.Abs(b))
}

// logAExpBPlusC is log(a·eᵇ + c) without overflow (dp_accounting's common.log_a_times_exp_b_plus_c).
func logAExpBPlusC(a, b, c float64) (float64, error) {
	switch {
	case a == 0:
		return math.Log(c), nil
	case a < 0:
		if c <= 0 {
			return 0, fmt.Errorf("a·exp(b) + c must be positive: a = %v, b = %v, c = %v", a, b, c)
		}
		return logSub(math.Log(c), math.Log(-a)+b)
	case b == 0:
		return math.Log(a + c), nil
	}
	d := b + math.Log(a)
	switch {
	case c == 0:
		return d, nil
	case c < 0:
		return logSub(d, math.Log(-c))
	}
	lc := math.Log(c)
	hi, lo := max(d, lc), min(d, lc)
	return hi + math.Log1p(math.Exp(lo-hi)), nil
}

// logSub is log(eᵃ - eᵇ) for a > b.
func logSub(a, b float64) (float64, error) {
	if b >= a {
		return 0, fmt.Errorf("log(exp(a) - exp(b)) needs a > b: a = %v, b = %v", a, b)
	}
	return a + math.Log1p(-math.Exp(b-a)), nil
}
