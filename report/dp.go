package report

import (
	"fmt"
	"math"
	"strings"

	"github.com/pmeter/pmeter/metric"
)

// DPClaim is the differential-privacy guarantee that the audited training claims: an accountant's (ε, δ)
// for DP-SGD, its recipe, and its privacy curve δ(ε), the whole family of (ε, δ(ε))-DP statements the
// accountant makes. The report sets every audit's evidence against it (DPCheck). The package computes
// nothing of it: the caller (audit, with package accountant) does.
type DPClaim struct {
	Epsilon    float64 `json:"epsilon"`    // the accountant's ε at Delta
	Delta      float64 `json:"delta"`      // in (0, 1)
	Accountant string  `json:"accountant"` // "rdp" or "pld"
	RDPOrder   float64 `json:"rdp_order,omitempty"`

	NoiseMultiplier float64  `json:"noise_multiplier"`         // σ
	TargetEpsilon   *float64 `json:"target_epsilon,omitempty"` // when σ was calibrated for it
	MaxGradNorm     float64  `json:"max_grad_norm"`            // C
	SamplingRate    float64  `json:"sampling_rate"`            // q
	Steps           int      `json:"steps"`                    // T
	Sampling        string   `json:"sampling"`                 // "poisson" or "shuffle"

	// Caveat, when not empty, says why the accountant does not analyse the training as it ran (shuffled
	// batches): an audit outside the curve is then reported, but not as evidence of a bug.
	Caveat string `json:"caveat,omitempty"`

	// CurveEpsilon (ascending, from 0) and CurveDelta are points of the privacy curve: the training is
	// (CurveEpsilon[i], CurveDelta[i])-DP for every i, by the accountant (upper bounds on the true δ).
	CurveEpsilon []float64 `json:"curve_epsilon"`
	CurveDelta   []float64 `json:"curve_delta"`
}

// DPAudit is the ε lower bound of a DP audit game (the one-run audit's Steinke and f-DP bounds, the
// multi-run bound of each canary), computed by the caller; its guarantee says what it means.
type DPAudit struct {
	Name  string              `json:"name"`
	Bound metric.EpsilonBound `json:"epsilon_lower_bound"`
}

// validate checks the numbers the report uses.
func (c *DPClaim) validate() error {
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	switch {
	case !finite(c.Epsilon) || c.Epsilon < 0:
		return fmt.Errorf("report: DP claim: epsilon %v, want a finite number ≥ 0", c.Epsilon)
	case !(c.Delta > 0 && c.Delta < 1):
		return fmt.Errorf("report: DP claim: delta %v, want a number in (0, 1)", c.Delta)
	case len(c.CurveEpsilon) < 2 || len(c.CurveDelta) != len(c.CurveEpsilon):
		return fmt.Errorf("report: DP claim: privacy curve of %d ε and %d δ values, want two or more of each, as many δ as ε", len(c.CurveEpsilon), len(c.CurveDelta))
	}
	for i, e := range c.CurveEpsilon {
		d := c.CurveDelta[i]
		switch {
		case !finite(e) || e < 0 || i > 0 && e <= c.CurveEpsilon[i-1]:
			return fmt.Errorf("report: DP claim: privacy curve point %d: ε = %v, want finite, ≥ 0 and ascending", i, e)
		case !(d >= 0 && d <= 1):
			return fmt.Errorf("report: DP claim: privacy curve point %d: δ = %v, want a number in [0, 1]", i, d)
		}
	}
	return nil
}

// TradeOff returns the largest TPR at false positive rate fpr that the claim allows any membership test:
// a test of an (ε, δ)-DP training has TPR ≤ e^ε·FPR + δ and 1 − FPR ≤ e^ε·(1 − TPR) + δ (Kairouz, Oh &
// Viswanath 2015), for every (ε, δ(ε)) of the privacy curve, so
//
//	TPR ≤ min(1, min over ε of e^ε·FPR + δ(ε), min over ε of 1 − e^−ε·(1 − FPR − δ(ε))).
//
// The curve's points are a finite sample of the accountant's curve, so the result is an upper bound on
// the trade-off curve the accountant claims, never below it: a point above it lies above the claim.
func (c *DPClaim) TradeOff(fpr float64) float64 {
	best := 1.0
	bound := func(eps, delta float64) {
		best = min(best, math.Exp(eps)*fpr+delta, 1-math.Exp(-eps)*(1-fpr-delta))
	}
	for i, e := range c.CurveEpsilon {
		bound(e, c.CurveDelta[i])
	}
	bound(c.Epsilon, c.Delta)
	return max(best, 0)
}

// EpsilonAt returns the smallest ε that the claim states at delta: Epsilon at Delta itself; elsewhere the
// smallest ε of the curve (or Epsilon, for delta ≥ Delta) whose δ is at most delta, which may exceed the
// accountant's exact ε(delta) by the curve's spacing; +Inf when the curve states none.
func (c *DPClaim) EpsilonAt(delta float64) float64 {
	if delta == c.Delta {
		return c.Epsilon
	}
	best := math.Inf(1)
	if delta >= c.Delta {
		best = c.Epsilon
	}
	for i, e := range c.CurveEpsilon {
		if c.CurveDelta[i] <= delta {
			best = min(best, e)
		}
	}
	return best
}

// DPCheck sets every audit of the report against the training's claimed guarantee (summary.json "dp").
// Its claim's fields are those of DPClaim.
//
// Checked are the bounds that hold for every mechanism and rest on independent memberships (dp_bound):
// each attack's holdout bound (per target when there are several), the multi-run bounds, the one-run
// Steinke bound and the one-run f-DP bound with the (ε, δ)-DP trade-off functions; not the f-DP bound of
// the Gaussian family (it holds only within that family, which DP-SGD's curve is not) nor a bound that is
// no DP bound. Each of the Checks bounds is restated at significance
// Alpha/Checks (Bonferroni) from its counts, so that a training that keeps its claim shows a violation
// with probability at most Alpha, all checks together. An audit is offending when its restated ε bound
// exceeds the claim's ε at its δ, or (for bounds with an operating point) when its point's TPR lower
// bound lies above the claim's trade-off curve at its FPR upper bound. Violation — the red flag — is set
// when an audit is offending and the accountant analyses the training as it ran (Applies): that is
// evidence of a bug in the training or in its accounting, not of privacy.
type DPCheck struct {
	DPClaim
	// Applies is false when the accountant does not analyse the training as it ran (Caveat says why).
	Applies bool    `json:"applies"`
	Alpha   float64 `json:"alpha"`  // family-wise significance of the check
	Checks  int     `json:"checks"` // bounds checked, each at Alpha/Checks
	// Violation is the red flag; Outside is set when some audit is offending, whether or not the claim
	// applies.
	Violation bool   `json:"violation"`
	Outside   bool   `json:"outside"`
	Message   string `json:"message"`
	// Audits compares each bound with the claim; Offending lists the offending ones (the same entries).
	Audits    []DPComparison `json:"audits"`
	Offending []DPComparison `json:"offending"`
	// TradeOffCurve samples the claim's trade-off curve (TradeOff) at FPRs from 0 to 1.
	TradeOffCurve DPCurve `json:"trade_off"`
}

// DPCurve is a sampled curve of TPR against FPR.
type DPCurve struct {
	FPR []float64 `json:"fpr"`
	TPR []float64 `json:"tpr"`
}

// DPComparison is one audit set against the claim.
type DPComparison struct {
	Audit  string  `json:"audit"` // the attack (with its target, when several) or the game's audit
	Method string  `json:"method"`
	Value  float64 `json:"epsilon_lower_bound"` // as the audit states it, at Alpha and Delta
	Alpha  float64 `json:"alpha"`
	Delta  float64 `json:"delta"`
	// ClaimedEpsilon is the claim's ε at Delta (DPClaim.EpsilonAt); null when the claim states none.
	ClaimedEpsilon *float64 `json:"claimed_epsilon"`
	// Checked says whether the bound enters the check; Note says why not, or what else to know.
	Checked bool   `json:"checked"`
	Note    string `json:"note,omitempty"`
	// CheckedValue is the bound restated at the check's significance (DPCheck.Alpha / Checks); null when
	// not checked.
	CheckedValue   *float64 `json:"checked_epsilon_lower_bound"`
	ExceedsEpsilon bool     `json:"exceeds_epsilon"`
	// Point is the audit's operating point with its Clopper–Pearson box at the check's significance
	// (holdout and multi-run bounds only), OutsideCurve whether the box lies above the trade-off curve.
	Point        *DPPoint `json:"point,omitempty"`
	OutsideCurve bool     `json:"outside_curve"`
	Offending    bool     `json:"offending"`
}

// DPPoint is an audit's operating point: its rule's FPR and TPR on the evaluation records or runs, with
// two-sided Clopper–Pearson intervals at the check's significance (each end at half of it, as the
// bound's own). CurveTPR is the claim's largest TPR at FPRUpper.
type DPPoint struct {
	FPR      float64 `json:"fpr"`
	TPR      float64 `json:"tpr"`
	FPRLower float64 `json:"fpr_lower"`
	FPRUpper float64 `json:"fpr_upper"`
	TPRLower float64 `json:"tpr_lower"`
	TPRUpper float64 `json:"tpr_upper"`
	CurveTPR float64 `json:"curve_tpr"`
}

// namedBound is a bound of the report to set against the claim.
type namedBound struct {
	name string
	b    *metric.EpsilonBound
}

// dpBounds lists the report's bounds: each attack's (per target with several targets), then the games'.
func (a *analysis) dpBounds(s *Summary) []namedBound {
	var out []namedBound
	for _, as := range s.Attacks {
		if s.Targets > 1 {
			for _, pt := range as.PerTarget {
				if pt.EpsilonLowerBound != nil {
					out = append(out, namedBound{fmt.Sprintf("%s (target %d)", as.Name, pt.Target), pt.EpsilonLowerBound})
				}
			}
			continue
		}
		if as.EpsilonLowerBound != nil {
			out = append(out, namedBound{as.Name, as.EpsilonLowerBound})
		}
	}
	for i := range a.in.DPAudits {
		out = append(out, namedBound{a.in.DPAudits[i].Name, &a.in.DPAudits[i].Bound})
	}
	return out
}

// checkDP sets the bounds against claim at family-wise significance alpha (DPCheck).
func checkDP(claim *DPClaim, bounds []namedBound, alpha float64) (*DPCheck, error) {
	chk := &DPCheck{DPClaim: *claim, Applies: claim.Caveat == "", Alpha: alpha, Audits: []DPComparison{}, Offending: []DPComparison{}}
	for _, nb := range bounds {
		if checkable(nb.b) == "" {
			chk.Checks++
		}
	}
	level := alpha / float64(max(chk.Checks, 1))
	for _, nb := range bounds {
		b := nb.b
		cmp := DPComparison{Audit: nb.name, Method: b.Method, Value: b.Value, Alpha: b.Alpha, Delta: b.Delta}
		if e := claim.EpsilonAt(b.Delta); !math.IsInf(e, 0) {
			cmp.ClaimedEpsilon = &e
		}
		if cmp.Note = checkable(b); cmp.Note != "" {
			chk.Audits = append(chk.Audits, cmp)
			continue
		}
		cmp.Checked = true
		v, pt, err := restate(b, level)
		if err != nil {
			return nil, fmt.Errorf("report: DP check of %s: %w", nb.name, err)
		}
		cmp.CheckedValue = &v
		cmp.ExceedsEpsilon = cmp.ClaimedEpsilon != nil && v > *cmp.ClaimedEpsilon
		if pt != nil {
			pt.CurveTPR = claim.TradeOff(pt.FPRUpper)
			cmp.Point = pt
			cmp.OutsideCurve = pt.TPRLower > pt.CurveTPR
		}
		cmp.Offending = cmp.ExceedsEpsilon || cmp.OutsideCurve
		chk.Audits = append(chk.Audits, cmp)
		if cmp.Offending {
			chk.Offending = append(chk.Offending, cmp)
		}
	}
	chk.Outside = len(chk.Offending) > 0
	chk.Violation = chk.Outside && chk.Applies
	chk.TradeOffCurve = claim.tradeOffCurve()
	chk.Message = chk.message()
	return chk, nil
}

// checkable returns "" when b enters the check, else why not.
func checkable(b *metric.EpsilonBound) string {
	switch {
	case !b.DPBound:
		return "not a DP bound: " + b.Caveat
	case b.Method == metric.FDPMethod:
		return "not checked: the f-DP bound holds only within the Gaussian-DP family, and DP-SGD's privacy curve is not Gaussian, " +
			"so a value above the accountant's ε contradicts nothing; the same audit with the (ε, δ)-DP trade-off functions (" + metric.FDPApproxMethod + ") bounds ε for every mechanism"
	case b.Method == metric.HoldoutMethod || b.Method == metric.MultiRunMethod:
		if b.Threshold == nil {
			return "not checked: the audit found no threshold (its selection half lacks members or non-members)"
		}
		return ""
	case b.Method == metric.OneRunMethod || b.Method == metric.FDPApproxMethod:
		if b.Guesses == nil {
			return "not checked: the bound has no guess counts"
		}
		return ""
	}
	return "not checked: method " + b.Method + " is not one the check restates"
}

// restate returns bound b at significance level, from its counts, and its operating point (nil for a
// one-run bound, restated with its own statistic).
func restate(b *metric.EpsilonBound, level float64) (float64, *DPPoint, error) {
	if st, ok := metric.StatOf(b.Method); ok {
		g := b.Guesses
		r, err := metric.OneRunBound(g.Canaries, g.Guesses, g.Correct, metric.OneRunOptions{Stat: st, Alpha: level, Delta: b.Delta, NoDelta: b.Delta == 0})
		return r.Value, nil, err
	}
	if b.EvalMembers < 1 || b.EvalNonMembers < 1 || b.TP > b.EvalMembers || b.FP > b.EvalNonMembers || b.TP < 0 || b.FP < 0 {
		return 0, nil, fmt.Errorf("counts %d of %d members and %d of %d non-members are inconsistent", b.TP, b.EvalMembers, b.FP, b.EvalNonMembers)
	}
	pt := &DPPoint{FPR: float64(b.FP) / float64(b.EvalNonMembers), TPR: float64(b.TP) / float64(b.EvalMembers)}
	pt.TPRLower, pt.TPRUpper = metric.ClopperPearson(b.TP, b.EvalMembers, level)
	pt.FPRLower, pt.FPRUpper = metric.ClopperPearson(b.FP, b.EvalNonMembers, level)
	return metric.RatesBound(pt.TPRLower, pt.FPRUpper, b.Delta), pt, nil
}

// tradeOffCurve samples TradeOff at 0 and at FPRs spaced evenly in log from 1e-6 to 1 (10 per decade).
func (c *DPClaim) tradeOffCurve() DPCurve {
	out := DPCurve{FPR: []float64{0}, TPR: []float64{c.TradeOff(0)}}
	for k := -60; k <= 0; k++ {
		f := math.Pow(10, float64(k)/10)
		out.FPR = append(out.FPR, f)
		out.TPR = append(out.TPR, c.TradeOff(f))
	}
	return out
}

// message says in words what the check found.
func (chk *DPCheck) message() string {
	claim := fmt.Sprintf("ε = %s at δ = %s by the %s accountant", sig3(chk.Epsilon), metric.FormatDelta(chk.Delta), chk.Accountant)
	conf := rate(1-chk.Alpha) + " confidence, all checks together"
	var names []string
	for _, o := range chk.Offending {
		names = append(names, o.Audit)
	}
	switch {
	case chk.Violation:
		return fmt.Sprintf("%s lie%s outside the guarantee the training claims (%s) at %s. A correct DP-SGD with this accounting "+
			"would show this with probability at most %s, so this is evidence of a bug in the DP training or in its accounting, not "+
			"of privacy: check the clipping, the noise, the sampling and the accountant's parameters before relying on the claimed ε.",
			strings.Join(names, ", "), map[bool]string{true: "s", false: ""}[len(names) == 1], claim, conf, rate(chk.Alpha))
	case chk.Outside:
		return fmt.Sprintf("%s lie%s outside the curve the accountant computes (%s) at %s, but %s. The training as it ran is not "+
			"(ε, δ)-DP at the claimed ε; this is what shuffled batches can cost, not evidence of a bug.",
			strings.Join(names, ", "), map[bool]string{true: "s", false: ""}[len(names) == 1], claim, conf, chk.Caveat)
	case chk.Checks == 0:
		return fmt.Sprintf("No audit of this report bounds the training's ε for every mechanism, so none could be set against the claim (%s): "+
			"the audited memberships must be independent (the bernoulli or lira split, or a DP audit game).", claim)
	}
	msg := fmt.Sprintf("No audit contradicts the claimed guarantee (%s): all %d checked bounds lie within it at %s. Lower bounds can refute a "+
		"guarantee, never confirm it: a stronger attack or more canaries may still find more.", claim, chk.Checks, conf)
	if !chk.Applies {
		msg += " And the accountant does not analyse this training: " + chk.Caveat + "."
	}
	return msg
}

// validateDPAudits checks the games' bounds of an input.
func validateDPAudits(audits []DPAudit) error {
	seen := map[string]bool{}
	for i, d := range audits {
		switch {
		case d.Name == "":
			return fmt.Errorf("report: DP audit %d has no name", i)
		case seen[d.Name]:
			return fmt.Errorf("report: DP audit %d: name %q is used twice", i, d.Name)
		case math.IsNaN(d.Bound.Value) || d.Bound.Value < 0:
			return fmt.Errorf("report: DP audit %q: value %v, want a number ≥ 0", d.Name, d.Bound.Value)
		case !(d.Bound.Alpha > 0 && d.Bound.Alpha < 1):
			return fmt.Errorf("report: DP audit %q: alpha %v, want a number in (0, 1)", d.Name, d.Bound.Alpha)
		}
		seen[d.Name] = true
	}
	return nil
}
