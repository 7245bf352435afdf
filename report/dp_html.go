package report

import (
	"fmt"

	"github.com/pmeter/pmeter/metric"
)

// dpView is the page's section on the training's DP claim (nil without one).
type dpView struct {
	Claim     string // what the training claims, in words
	Violation bool   // the red flag
	Outside   bool   // some audit lies outside the claim (with or without the flag)
	Message   string
	Checks    int
	Level     string // each check's significance, "0.05/4"
	Rows      []dpRow

	EpsFig, TradeFig, TradeLogFig *pageFigure
}

type dpRow struct {
	Audit, Method, Value, Claimed, Checked, Status string
	Offending                                      bool
}

// dpAuditRow is one bound of the DP audit games.
type dpAuditRow struct {
	Name, Method, Value, Delta, Confidence, Guarantee, Caveat string
}

// methodName names an ε bound's method for the page.
func methodName(m string) string {
	switch m {
	case metric.HoldoutMethod:
		return "holdout (Clopper–Pearson)"
	case metric.MultiRunMethod:
		return "multi-run (Clopper–Pearson)"
	case metric.OneRunMethod:
		return "one-run (Steinke et al.)"
	case metric.FDPMethod:
		return "one-run f-DP (Gaussian)"
	case metric.FDPApproxMethod:
		return "one-run f-DP ((ε, δ) trade-off)"
	}
	return m
}

// dpPage builds the DP section and the table of the games' bounds.
func (a *analysis) dpPage(inline func(name, id, caption string) *pageFigure) (*dpView, []dpAuditRow) {
	var games []dpAuditRow
	for _, d := range a.in.DPAudits {
		b := d.Bound
		r := dpAuditRow{Name: d.Name, Method: methodName(b.Method), Value: sig3(b.Value), Delta: metric.FormatDelta(b.Delta),
			Confidence: rate(1 - b.Alpha), Guarantee: b.Guarantee}
		if b.DPBound {
			r.Caveat = b.Caveat // the f-DP bound's family; a DP bound's guarantee states the rest
		}
		games = append(games, r)
	}
	chk := a.summary.DP
	if chk == nil {
		return nil, games
	}
	v := &dpView{Violation: chk.Violation, Outside: chk.Outside, Message: chk.Message, Checks: chk.Checks,
		Level: fmt.Sprintf("%s/%d", fixed(chk.Alpha, 2), max(chk.Checks, 1))}
	sampling := "Poisson sampling"
	if chk.Sampling != "poisson" {
		sampling = "shuffled fixed-size batches"
	}
	sigma := fmt.Sprintf("noise multiplier σ = %.4g", chk.NoiseMultiplier)
	if chk.TargetEpsilon != nil {
		sigma += fmt.Sprintf(" (calibrated for ε = %s)", sig3(*chk.TargetEpsilon))
	}
	acct := "the RDP accountant"
	if chk.Accountant == "pld" {
		acct = "the PLD accountant"
	} else if chk.RDPOrder > 0 {
		acct += fmt.Sprintf(" (order %g)", chk.RDPOrder)
	}
	v.Claim = fmt.Sprintf("The models were trained with DP-SGD: %s, clipping norm %g, sampling rate %.4g (%s), %s steps. "+
		"By %s the training is (ε, δ)-differentially private with ε = %s at δ = %s, and (ε, δ(ε))-DP along the accountant's "+
		"whole privacy curve.", sigma, chk.MaxGradNorm, chk.SamplingRate, sampling, thousands(chk.Steps), acct, sig3(chk.Epsilon),
		metric.FormatDelta(chk.Delta))
	if chk.Caveat != "" {
		v.Claim += " But " + chk.Caveat + "."
	}
	for _, c := range chk.Audits {
		r := dpRow{Audit: c.Audit, Method: methodName(c.Method), Value: sig3(c.Value) + " (" + rate(1-c.Alpha) + ")",
			Claimed: "–", Checked: "–", Offending: c.Offending}
		if c.ClaimedEpsilon != nil {
			r.Claimed = sig3(*c.ClaimedEpsilon)
		}
		if c.CheckedValue != nil {
			r.Checked = sig3(*c.CheckedValue)
		}
		switch {
		case c.Offending && c.ExceedsEpsilon && c.OutsideCurve:
			r.Status = "outside the claim: ε bound and operating point"
		case c.Offending && c.ExceedsEpsilon:
			r.Status = "outside the claim: ε bound above the accountant's"
		case c.Offending:
			r.Status = "outside the claim: operating point above the trade-off curve"
		case c.Checked:
			r.Status = "within the claim"
		default:
			r.Status = c.Note
		}
		v.Rows = append(v.Rows, r)
	}
	v.EpsFig = inline("dp_epsilon", "fig-dp-epsilon", "")
	v.TradeFig = inline("dp_tradeoff", "fig-dp-tradeoff", "")
	v.TradeLogFig = inline("dp_tradeoff_log", "fig-dp-tradeoff-log", "")
	return v, games
}
