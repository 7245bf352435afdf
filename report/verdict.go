package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/pmeter/pmeter/metric"
)

// Risk levels of the verdict, weakest first. An attack's level rests on two statistics that hold at a
// stated confidence, so that neither a lucky handful of records in a small audit nor the choice of the
// best of many thresholds raises it. With α = Options.Alpha and K attacks, each attack gets significance
// α/K (Bonferroni, riskAlpha), split evenly between
//
//   - ε_m, the member-side holdout ε lower bound at δ = 0 (metric.HoldoutEpsilon with MemberSide): the
//     attack's threshold is chosen on half of the audited records, and with confidence 1 − α/(2K) it
//     flags the other half's members at least e^ε_m times as often as their non-members;
//   - AUC_lo, the AUC's lower confidence bound at 1 − α/(2K) (metric.AUCLowerBound: DeLong's standard
//     error, never below the Mann–Whitney null standard error).
//
// The levels:
//
//	high:          ε_m ≥ ln 10 (10× more often than non-members), or AUC_lo ≥ 0.75
//	moderate:      ε_m ≥ ln 2 (2× more often), or AUC_lo ≥ 0.60
//	low:           ε_m > 0, or AUC_lo > 0.5
//	not-detected:  none of these
//
// The report's level is the highest level any attack reaches; "unknown" when no membership is known.
// On a target that leaks nothing (scores independent of membership) the level is above not-detected with
// probability at most about α over all attacks together: at most α/2 from the ε_m (Clopper–Pearson on
// held-out records) and about α/2 from the AUC_lo (a normal approximation); TestRiskLevelNull checks it
// over many seeds. The bootstrap intervals the report shows do not enter the level. (Rates such as the TPR at 0.1 % FPR are not used: the
// best of many thresholds on the same records, they are biased upwards.)
const (
	levelUnknown     = "unknown"
	levelNone        = "not-detected"
	levelLow         = "low"
	levelModerate    = "moderate"
	levelHigh        = "high"
	highRatio        = 10
	highAUC          = 0.75
	moderateRatio    = 2
	moderateAUC      = 0.60
	lowAUC           = 0.5
	verdictFPR       = 0.001 // the false positive rate the verdict quotes
	verdictSecondFPR = 0.01
)

// levelRank orders the levels.
func levelRank(l string) int {
	switch l {
	case levelHigh:
		return 4
	case levelModerate:
		return 3
	case levelLow:
		return 2
	case levelNone:
		return 1
	}
	return 0
}

// level returns the risk level of an evaluated attack.
func (an *attackAnalysis) level() string {
	if !an.evaluated {
		return levelUnknown
	}
	eps, auc := an.risk.memberEps, an.risk.aucLo
	switch {
	case eps >= math.Log(highRatio) || auc >= highAUC:
		return levelHigh
	case eps >= math.Log(moderateRatio) || auc >= moderateAUC:
		return levelModerate
	case eps > 0 || auc > lowAUC:
		return levelLow
	}
	return levelNone
}

// quotedFPRs returns the false positive rates the verdict quotes for a result on nonMembers non-members:
// verdictFPR and verdictSecondFPR, or the smallest standard rates that the audit resolves (none with
// fewer than 10 non-members).
func quotedFPRs(nonMembers int) (first, second float64, ok bool) {
	var fprs []float64
	for _, f := range []float64{verdictFPR, verdictSecondFPR, 0.1} {
		if !metric.BelowResolution(f, nonMembers) {
			fprs = append(fprs, f)
		}
	}
	switch len(fprs) {
	case 0:
		return 0, 0, false
	case 1:
		return fprs[0], math.NaN(), true
	}
	return fprs[0], fprs[1], true
}

// verdict writes the plain-language conclusion of s.
func (a *analysis) verdict(s *Summary) Verdict {
	var names []string
	for _, at := range a.in.Attacks {
		names = append(names, at.Name)
	}
	what := fmt.Sprintf("%s on %s", orDefault(a.in.Model, "the target model"), orDefault(a.in.Dataset, "its data"))
	if a.in.Dataset == "" {
		what = orDefault(a.in.Model, "the target model")
	}
	targets := ""
	if s.Targets > 1 {
		targets = fmt.Sprintf(", %d target models pooled", s.Targets)
	}
	audited := fmt.Sprintf("This report audits %s%s for membership inference: can an adversary tell whether a given "+
		"person's record was used to train the model? %s were attacked with %s (%s).",
		what, targets, recordsPhrase(s.Records), plural(len(names), "attack", "attacks"), strings.Join(names, ", "))
	if a.strongest < 0 {
		return Verdict{
			Level:    levelUnknown,
			Headline: "Risk not measured: the true membership of the audited records is unknown.",
			Text: audited + "\n\nWithout records of known membership (both members and non-members) the attacks' " +
				"accuracy cannot be measured; the report lists the records the attacks consider most likely to be members.",
		}
	}
	an, as := &a.attacks[a.strongest], &s.Attacks[a.strongest]
	level := an.level()
	conf := rate(s.Settings.ConfidenceLevel)

	var head string
	switch level {
	case levelHigh:
		head = "High privacy risk"
	case levelModerate:
		head = "Moderate privacy risk"
	case levelLow:
		head = "Low privacy risk"
	default:
		head = "No membership leakage detected"
	}
	f1st, f2nd, resolved := quotedFPRs(an.result.NonMembers)
	tpr1st, _ := an.result.TPR(f1st)
	headline := fmt.Sprintf("%s: the strongest attack (%s) separates members from non-members with an AUC of %s (0.5 is guessing).",
		head, as.Name, f3(an.result.AUC))
	if resolved {
		headline = fmt.Sprintf("%s: the strongest attack (%s) identifies %s of training records while wrongly flagging at most %s of other records.",
			head, as.Name, pct(tpr1st), rate(f1st))
	}

	var b strings.Builder
	b.WriteString(audited)
	fmt.Fprintf(&b, "\n\nThe strongest attack, %s, separates members from non-members with an AUC of %s (%s CI %s–%s; 0.5 is guessing).",
		as.Name, f3(an.result.AUC), conf, f3(an.boot.AUC.Lo), f3(an.boot.AUC.Hi))
	if resolved {
		lo, hi := interval(an.boot, f1st)
		fmt.Fprintf(&b, " When it may wrongly accuse only 1 in %s non-members (%s false-positive rate), it correctly identifies %s of the members (%s CI %s–%s)",
			thousands(int(math.Round(1/f1st))), rate(f1st), pct(tpr1st), conf, pct(lo), pct(hi))
		if tpr1st > f1st {
			fmt.Fprintf(&b, ", %s more than chance", times(tpr1st/f1st))
		}
		if !math.IsNaN(f2nd) {
			tpr2nd, _ := an.result.TPR(f2nd)
			fmt.Fprintf(&b, "; at a %s false-positive rate it identifies %s", rate(f2nd), pct(tpr2nd))
		}
		b.WriteString(".")
	}
	if f1st != verdictFPR {
		fmt.Fprintf(&b, " With %s non-members the audit cannot measure false-positive rates below 1/%s; the rates at %s are reported as below resolution.",
			thousands(an.result.NonMembers), thousands(an.result.NonMembers), rate(verdictFPR))
	}
	if v := s.Verdict; v.EpsilonGuarantee != "" {
		b.WriteString(" " + v.EpsilonGuarantee)
	}
	b.WriteString("\n\n")
	switch level {
	case levelHigh:
		b.WriteString("What this means: an adversary with the same access can confirm, with high confidence and for a " +
			"substantial number of individuals, that their data was used to train the model. Treat this as a significant " +
			"privacy risk: consider training with differential privacy (DP-SGD), stronger regularisation or early stopping, " +
			"and reviewing the most exposed records listed below before the model is released.")
	case levelModerate:
		b.WriteString("What this means: an adversary can infer membership noticeably better than chance, though seldom " +
			"with high confidence for a given individual. For sensitive data this is a material risk; weigh mitigations " +
			"(regularisation, differential privacy) against the model's utility.")
	case levelLow:
		b.WriteString("What this means: the attacks do only slightly better than chance. Membership leakage is " +
			"measurable but small, and these attacks cannot single out individuals with confidence.")
	default:
		b.WriteString("What this means: no attack did better than chance with statistical confidence. This is not proof " +
			"of privacy: stronger attacks, more reference models or a larger audit may still succeed.")
	}
	b.WriteString(" All figures are lower bounds on the real risk: they measure these attacks, not the best possible one.")
	if tm := s.TargetModel; tm.TrainAccuracy != nil && tm.TestAccuracy != nil {
		fmt.Fprintf(&b, "\n\nThe model's accuracy is %s on its training data and %s on unseen data (generalisation gap %s points)",
			pct(*tm.TrainAccuracy), pct(*tm.TestAccuracy), f1(100*(*tm.TrainAccuracy-*tm.TestAccuracy)))
		if *tm.TrainAccuracy-*tm.TestAccuracy >= 0.1 {
			b.WriteString("; such a large gap (overfitting) is the usual cause of membership leakage.")
		} else {
			b.WriteString(".")
		}
	}
	v := s.Verdict
	v.Level, v.StrongestAttack, v.Headline, v.Text = level, as.Name, headline, b.String()
	return v
}

// epsilonVerdict fills the verdict's ε lower bound: the largest of the attacks' bounds on each target at
// riskAlpha/targets (union bound over the attacks and targets), and what it guarantees.
func (a *analysis) epsilonVerdict(v *Verdict) {
	var e *metric.EpsilonBound
	bk, bt := -1, -1
	for k := range a.attacks {
		for t, b := range a.attacks[k].family {
			if b != nil && (e == nil || b.Value > e.Value) {
				e, bk, bt = b, k, t
			}
		}
	}
	if e == nil {
		return
	}
	name := a.in.Attacks[bk].Name
	conf := rate(1 - a.opts.Alpha)
	v.Epsilon, v.EpsilonAttack, v.EpsilonDPBound = num(e.Value), name, e.DPBound
	n, targets := len(a.in.Attacks), len(a.attacks[bk].family)
	var which string
	switch {
	case targets > 1:
		v.EpsilonTarget = &bt
		which = fmt.Sprintf("the largest of the %d attacks' holdout bounds on each of the %d target models, from %s on target %d, "+
			"each at %s confidence so that all hold together at %s", n, targets, name, bt, rate(1-e.Alpha), conf)
	case n > 1:
		which = fmt.Sprintf("the largest of the %d attacks' holdout bounds, from %s, each at %s confidence so that all hold together at %s",
			n, name, rate(1-e.Alpha), conf)
	default:
		which = fmt.Sprintf("%s's holdout bound", name)
	}
	dp := "(ε, δ=" + metric.FormatDelta(e.Delta) + ")-differentially private"
	switch {
	case !e.DPBound:
		v.EpsilonGuarantee = fmt.Sprintf("The ε lower bounds of this audit are not DP bounds: %s. They describe how well the attacks "+
			"separate the audited records, not the training algorithm's privacy.", e.Caveat)
	case e.Value == 0:
		v.EpsilonGuarantee = fmt.Sprintf("No attack gives evidence against %s training at %s confidence: the audit rules out no ε ≥ 0 "+
			"(%s). This is not evidence of privacy; a stronger attack may find some.", dp, conf, which)
	default:
		v.EpsilonGuarantee = fmt.Sprintf("With %s confidence, the training algorithm is not %s for any ε below %s (%s; threshold "+
			"chosen on half of the audited records, Clopper–Pearson bounds on the other half).", conf, dp, sig3(e.Value), which)
	}
}

// interval returns the bootstrap interval of the TPR at fpr.
func interval(b metric.BootstrapResult, fpr float64) (lo, hi float64) {
	for _, iv := range b.TPRAtFPR {
		if iv.FPR == fpr {
			return iv.Lo, iv.Hi
		}
	}
	return math.NaN(), math.NaN()
}

func recordsPhrase(c RecordCounts) string {
	if c.Members+c.NonMembers == 0 {
		return fmt.Sprintf("%s records of unknown membership", thousands(c.Unknown))
	}
	s := fmt.Sprintf("%s training records (members) and %s records the model did not train on (non-members)",
		thousands(c.Members), thousands(c.NonMembers))
	if c.Unknown > 0 {
		s += fmt.Sprintf(", plus %s records of unknown membership,", thousands(c.Unknown))
	}
	return s
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// pct formats a fraction as a percentage with up to three significant digits: 0.1234 → "12.3%".
func pct(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	v := x * 100
	switch {
	case v == 0:
		return "0%"
	case v == 100:
		return "100%"
	case math.Abs(v) >= 99.95 && math.Abs(v) < 100:
		return "99.9%" // never round a rate below 1 up to 100 %
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64) + "%"
	case math.Abs(v) >= 0.1:
		return strconv.FormatFloat(v, 'f', 2, 64) + "%"
	}
	return strconv.FormatFloat(v, 'g', 2, 64) + "%"
}

// rate formats a round fraction as a percentage without trailing zeros: 0.001 → "0.1%", 0.95 → "95%".
func rate(x float64) string {
	return strconv.FormatFloat(x*100, 'g', 4, 64) + "%"
}

// times formats a ratio: 12.34 → "12×".
func times(r float64) string {
	if r >= 10 {
		return fmt.Sprintf("%.0f×", r)
	}
	return fmt.Sprintf("%.1f×", r)
}

// sig3 formats x with three significant digits: 0.004123 → "0.00412", 1.2345 → "1.23".
func sig3(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return strconv.FormatFloat(x, 'g', 3, 64)
}

func f1(x float64) string { return fixed(x, 1) }
func f2(x float64) string { return fixed(x, 2) }
func f3(x float64) string { return fixed(x, 3) }

func fixed(x float64, prec int) string {
	if math.IsNaN(x) {
		return "–"
	}
	return strconv.FormatFloat(x, 'f', prec, 64)
}

// thousands formats n with thin thousands separators: 12345 → "12,345".
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
