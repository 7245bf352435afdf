package accountant

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// Kind names an accountant.
type Kind string

// The accountants.
const (
	KindRDP Kind = "rdp" // Rényi DP at a set of orders (RDP)
	KindPLD Kind = "pld" // privacy-loss distribution (PLD)
)

// ParseKind returns the accountant named s ("rdp" or "pld").
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case KindRDP, KindPLD:
		return k, nil
	}
	return "", fmt.Errorf("accountant %q: want %q or %q", s, KindRDP, KindPLD)
}

// Options selects an accountant and its precision.
type Options struct {
	Kind        Kind      // KindRDP or KindPLD; "" is KindRDP
	Orders      []float64 // RDP orders; nil: DefaultOrders()
	PLDInterval float64   // PLD value-discretization interval; 0: DefaultPLDInterval
}

func (o Options) normalized() (Options, error) {
	if o.Kind == "" {
		o.Kind = KindRDP
	}
	switch o.Kind {
	case KindRDP:
		if o.Orders == nil {
			o.Orders = DefaultOrders()
		}
		if err := validateOrders(o.Orders); err != nil {
			return o, err
		}
	case KindPLD:
		if o.PLDInterval == 0 {
			o.PLDInterval = DefaultPLDInterval
		}
		if d := o.PLDInterval; math.IsNaN(d) || math.IsInf(d, 0) || d <= 0 {
			return o, fmt.Errorf("PLD discretization interval %v: want a finite number > 0", d)
		}
	default:
		return o, fmt.Errorf("accountant %q: want %q or %q", o.Kind, KindRDP, KindPLD)
	}
	return o, nil
}

// Guarantee is an (ε, δ)-DP guarantee from an accountant. Order is the RDP order that attains it (0 for
// the PLD accountant).
type Guarantee struct {
	Epsilon float64
	Delta   float64
	Order   float64
}

// Epsilon returns the ε at which the composition of phases is (ε, delta)-DP under the accountant of o.
func (o Options) Epsilon(ctx context.Context, delta float64, phases ...Phase) (Guarantee, error) {
	o, err := o.normalized()
	if err != nil {
		return Guarantee{}, err
	}
	if err := ValidateDelta(delta); err != nil {
		return Guarantee{}, err
	}
	if o.Kind == KindRDP {
		r, err := NewRDP(o.Orders, phases...)
		if err != nil {
			return Guarantee{}, err
		}
		eps, order, err := r.Epsilon(delta)
		return Guarantee{Epsilon: eps, Delta: delta, Order: order}, err
	}
	p, err := NewPLD(ctx, o.PLDInterval, phases...)
	if err != nil {
		return Guarantee{}, err
	}
	eps, err := p.Epsilon(delta)
	return Guarantee{Epsilon: eps, Delta: delta}, err
}

// Delta returns the δ at which the composition of phases is (eps, δ)-DP under the accountant of o.
func (o Options) Delta(ctx context.Context, eps float64, phases ...Phase) (Guarantee, error) {
	o, err := o.normalized()
	if err != nil {
		return Guarantee{}, err
	}
	if err := ValidateEpsilon(eps); err != nil {
		return Guarantee{}, err
	}
	if o.Kind == KindRDP {
		r, err := NewRDP(o.Orders, phases...)
		if err != nil {
			return Guarantee{}, err
		}
		delta, order, err := r.Delta(eps)
		return Guarantee{Epsilon: eps, Delta: delta, Order: order}, err
	}
	p, err := NewPLD(ctx, o.PLDInterval, phases...)
	if err != nil {
		return Guarantee{}, err
	}
	delta, err := p.Delta(eps)
	return Guarantee{Epsilon: eps, Delta: delta}, err
}

// Target is what a noise multiplier is calibrated for: DP-SGD with sampling rate SamplingRate for Steps
// steps must be (Epsilon, Delta)-DP.
type Target struct {
	Epsilon      float64 // > 0
	Delta        float64 // in (0, 1)
	SamplingRate float64 // in (0, 1]
	Steps        int     // ≥ 1

	// Bracket, when not zero, is an interval [lo, hi] of noise multipliers whose ε lie on either side of
	// the target (dp_accounting's ExplicitBracketInterval). Zero: searched from [0, 1] by doubling and
	// halving (LowerEndpointAndGuess(0, 1)).
	Bracket [2]float64
	// Tol is the tolerance on the noise multiplier; 0: 1e-6 × the bracket's width.
	Tol float64

	// Progress, when set, is called after each evaluation of the accountant with the noise multiplier
	// tried and its ε (the PLD accountant takes up to seconds per evaluation).
	Progress func(noiseMultiplier, epsilon float64)
}

// Validate reports the first field of t that is out of range.
func (t Target) Validate() error {
	if math.IsNaN(t.Epsilon) || math.IsInf(t.Epsilon, 0) || t.Epsilon <= 0 {
		return fmt.Errorf("target epsilon %v: want a finite number > 0", t.Epsilon)
	}
	if err := ValidateDelta(t.Delta); err != nil {
		return fmt.Errorf("target %w", err)
	}
	if err := (Phase{SamplingRate: t.SamplingRate, NoiseMultiplier: 1, Steps: t.Steps}).Validate(); err != nil {
		return err
	}
	if t.Bracket != [2]float64{} {
		lo, hi := t.Bracket[0], t.Bracket[1]
		if !(lo > 0 && lo < hi && !math.IsInf(hi, 0)) {
			return fmt.Errorf("bracket [%v, %v]: want 0 < lo < hi < ∞", lo, hi)
		}
	}
	if math.IsNaN(t.Tol) || math.IsInf(t.Tol, 0) || t.Tol < 0 {
		return fmt.Errorf("tolerance %v: want a finite number > 0, or 0 for the default", t.Tol)
	}
	return nil
}

// Calibration is a calibrated noise multiplier and how it was found.
type Calibration struct {
	NoiseMultiplier float64
	Guarantee       Guarantee  // the accountant's ε (≤ the target) at NoiseMultiplier and the target δ
	Bracket         [2]float64 // the interval handed to Brent's method
	Tol             float64    // the tolerance on the noise multiplier
	Bisected        bool       // Brent's root had ε above the target within ±Tol, so bisection found it
	Evaluations     int        // accountant evaluations
}

// CalibrateNoise finds the smallest noise multiplier σ (within Tol) for which DP-SGD with the target's
// sampling rate and steps is (ε, δ)-DP under the accountant of o, as dp_accounting's
// calibrate_dp_mechanism does: a bracket search by powers of two from [0, 1] (unless Target.Bracket is
// set), Brent's method (SciPy's brentq, xtol Tol, rtol 4·2⁻⁵²) on ε(σ) - ε_target, a step of ±Tol if the
// root's ε is still above the target, and bisection keeping a point with ε ≤ target if that fails. The
// ε at the returned σ never exceeds the target.
func CalibrateNoise(ctx context.Context, t Target, o Options) (Calibration, error) {
	o, err := o.normalized()
	if err != nil {
		return Calibration{}, err
	}
	if err := t.Validate(); err != nil {
		return Calibration{}, err
	}
	var cal Calibration
	gap := func(sigma float64) (float64, error) {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		cal.Evaluations++
		if sigma <= 0 || math.IsNaN(sigma) {
			return 0, fmt.Errorf("noise multiplier %v: want > 0", sigma)
		}
		g, err := o.Epsilon(ctx, t.Delta, Phase{SamplingRate: t.SamplingRate, NoiseMultiplier: sigma, Steps: t.Steps})
		if err != nil {
			return 0, err
		}
		if t.Progress != nil {
			t.Progress(sigma, g.Epsilon)
		}
		return g.Epsilon - t.Epsilon, nil
	}
	lo, hi := t.Bracket[0], t.Bracket[1]
	if t.Bracket == [2]float64{} {
		if lo, hi, err = searchBracket(ctx, 0, 1, gap); err != nil {
			return Calibration{}, err
		}
	}
	cal.Bracket = [2]float64{lo, hi}
	cal.Tol = t.Tol
	if cal.Tol == 0 {
		cal.Tol = 1e-6 * (hi - lo)
	}
	root, err := brentq(gap, lo, hi, cal.Tol, 4*0x1p-52, 100)
	if err != nil {
		return Calibration{}, fmt.Errorf("root search on the bracket [%v, %v]: %w", lo, hi, err)
	}
	ok := true
	if g, err := gap(root); err != nil {
		return Calibration{}, err
	} else if g > 0 {
		ok = false
		for _, r := range []float64{root + cal.Tol, root - cal.Tol} {
			g, err := gap(r)
			if err != nil {
				return Calibration{}, err
			}
			if g < 0 {
				root, ok = r, true
				break
			}
		}
	}
	if !ok {
		cal.Bisected = true
		if root, err = bisect(gap, lo, hi, cal.Tol); err != nil {
			return Calibration{}, err
		}
	}
	cal.NoiseMultiplier = root
	if cal.Guarantee, err = o.Epsilon(ctx, t.Delta, Phase{SamplingRate: t.SamplingRate, NoiseMultiplier: root, Steps: t.Steps}); err != nil {
		return Calibration{}, err
	}
	return cal, nil
}

// searchBracket finds an interval whose ends have gaps of opposite signs, as dp_accounting's
// _search_for_explicit_bracket_interval: from guess, it tries endpoint + (guess - endpoint)·2ᵏ upward and
// 2⁻ᵏ downward (k = 1 … 30), each time in the direction whose last |gap| is smaller (up on ties), and
// stops a direction whose evaluation fails or gives NaN.
func searchBracket(ctx context.Context, endpoint, guess float64, gap func(float64) (float64, error)) (lo, hi float64, err error) {
	scale := guess - endpoint
	upper, lower := guess, guess
	searchUp, searchDown := true, true
	g0, err := gap(guess)
	if err != nil {
		return 0, 0, fmt.Errorf("noise multiplier %v: %w", guess, err)
	}
	nextUpperValue, nextLowerValue := g0, g0
	sign := signum(g0)
	upPower, downPower := 0, 0
	for searchUp || searchDown {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		upBetter := math.Abs(nextUpperValue) <= math.Abs(nextLowerValue)
		if searchUp && (upBetter || !searchDown) {
			upPower++
			next := endpoint + scale*math.Ldexp(1, upPower)
			if upPower >= 30 {
				searchUp = false
			}
			v, err := gap(next)
			switch {
			case ctx.Err() != nil:
				return 0, 0, ctx.Err()
			case err != nil || math.IsNaN(v):
				searchUp = false
			case signum(v) != sign:
				return upper, next, nil
			default:
				nextUpperValue, upper = v, next
			}
		} else {
			downPower--
			next := endpoint + scale*math.Ldexp(1, downPower)
			if downPower <= -30 {
				searchDown = false
			}
			v, err := gap(next)
			switch {
			case ctx.Err() != nil:
				return 0, 0, ctx.Err()
			case err != nil || math.IsNaN(v):
				searchDown = false
			case signum(v) != sign:
				return next, lower, nil
			default:
				nextLowerValue, lower = v, next
			}
		}
	}
	return 0, 0, errors.New("no noise multiplier between 2⁻³⁰ and 2³⁰ reaches the target epsilon on one side and misses it on the other")
}

func signum(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return x // 0 or NaN
}

// brentq finds a root of f in [xa, xb], whose ends must have values of opposite signs, by Brent's method
// as SciPy's brentq implements it (inverse quadratic extrapolation, falling back to bisection), to within
// xtol + rtol·|x|.
func brentq(f func(float64) (float64, error), xa, xb, xtol, rtol float64, maxIter int) (float64, error) {
	xpre, xcur := xa, xb
	var xblk, fblk, spre, scur float64
	fpre, err := f(xpre)
	if err != nil {
		return 0, err
	}
	fcur, err := f(xcur)
	if err != nil {
		return 0, err
	}
	if fpre == 0 {
		return xpre, nil
	}
	if fcur == 0 {
		return xcur, nil
	}
	if math.Signbit(fpre) == math.Signbit(fcur) {
		return 0, fmt.Errorf("epsilon misses the target by %v at %v and by %v at %v: not a bracket", fpre, xpre, fcur, xcur)
	}
	for range maxIter {
		if fpre != 0 && fcur != 0 && math.Signbit(fpre) != math.Signbit(fcur) {
			xblk, fblk = xpre, fpre
			spre = xcur - xpre
			scur = spre
		}
		if math.Abs(fblk) < math.Abs(fcur) {
			xpre, xcur, xblk = xcur, xblk, xcur
			fpre, fcur, fblk = fcur, fblk, fcur
		}
		delta := (xtol + rtol*math.Abs(xcur)) / 2
		sbis := (xblk - xcur) / 2
		if fcur == 0 || math.Abs(sbis) < delta {
			return xcur, nil
		}
		if math.Abs(spre) > delta && math.Abs(fcur) < math.Abs(fpre) {
			var stry float64
			if xpre == xblk {
				stry = -fcur * (xcur - xpre) / (fcur - fpre) // interpolate
			} else {
				dpre := (fpre - fcur) / (xpre - xcur) // extrapolate
				dblk := (fblk - fcur) / (xblk - xcur)
				stry = -fcur * (fblk*dblk - fpre*dpre) / (dblk * dpre * (fblk - fpre))
			}
			if 2*math.Abs(stry) < min(math.Abs(spre), 3*math.Abs(sbis)-delta) {
				spre, scur = scur, stry // good short step
			} else {
				spre, scur = sbis, sbis
			}
		} else {
			spre, scur = sbis, sbis
		}
		xpre, fpre = xcur, fcur
		if math.Abs(scur) > delta {
			xcur += scur
		} else if sbis > 0 {
			xcur += delta
		} else {
			xcur -= delta
		}
		if fcur, err = f(xcur); err != nil {
			return 0, err
		}
	}
	return 0, fmt.Errorf("no convergence after %d iterations (last point %v)", maxIter, xcur)
}

// bisect halves [lower, upper] (values of opposite signs) until it is shorter than tol and returns the
// end with a value ≤ 0 (dp_accounting's _bisect).
func bisect(f func(float64) (float64, error), lower, upper, tol float64) (float64, error) {
	fl, err := f(lower)
	if err != nil {
		return 0, err
	}
	fu, err := f(upper)
	if err != nil {
		return 0, err
	}
	for {
		switch {
		case fl == 0:
			return lower, nil
		case fu == 0:
			return upper, nil
		case fl*fu > 0:
			return 0, fmt.Errorf("bisection on [%v, %v]: the values %v and %v have the same sign", lower, upper, fl, fu)
		case upper-lower <= tol:
			if fl < 0 {
				return lower, nil
			}
			return upper, nil
		}
		mid := (lower + upper) / 2
		fm, err := f(mid)
		if err != nil {
			return 0, err
		}
		if fm == 0 {
			return mid, nil
		}
		if fl*fm < 0 {
			upper, fu = mid, fm
		} else {
			lower, fl = mid, fm
		}
	}
}
