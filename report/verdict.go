package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/pmeter/pmeter/metric"
)

// Risk levels of the verdict, weakest first. An attack's level is decided on statistics that account for
// the size of the audit, so that a lucky handful of records in a small audit does not raise it: the
// member-side Clopper–Pearson ε lower bound (at its best threshold the attack flags members at least e^ε
// times as often as non-members, with confidence 1-α: memberEpsilon) and the lower end of the AUC's
// bootstrap interval:
//
//	high:          ε >= ln 10 (10× better than chance at some threshold), or AUC >= 0.75
//	moderate:      ε >= ln 2 (2× better than chance), or AUC >= 0.60
//	low:           ε > 0, or AUC > 0.5
//	not-detected:  none of these
//
// The report's level is the highest level any attack reaches; "unknown" when no membership is known.
// (A rate such as the TPR at 0.1 % FPR is not used: with few non-members it is biased upwards, since it
// is the best of many thresholds.)
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
	auc := an.boot.AUC.Lo
	switch {
	case an.memberEps >= math.Log(highRatio) || auc >= highAUC:
		return levelHigh
	case an.memberEps >= math.Log(moderateRatio) || auc >= moderateAUC:
		return levelModerate
	case an.memberEps > 0 || auc > lowAUC:
		return levelLow
	}
	return levelNone
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
	tpr01, _ := an.result.TPR(verdictFPR)
	tpr1, _ := an.result.TPR(verdictSecondFPR)
	lo01, hi01 := interval(an.boot, verdictFPR)
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
	headline := fmt.Sprintf("%s: the strongest attack (%s) identifies %s of training records while wrongly flagging at most %s of other records.",
		head, as.Name, pct(tpr01), rate(verdictFPR))

	var b strings.Builder
	b.WriteString(audited)
	fmt.Fprintf(&b, "\n\nThe strongest attack, %s, separates members from non-members with an AUC of %s (%s CI %s–%s; 0.5 is guessing). "+
		"When it may wrongly accuse only 1 in %s non-members (%s false-positive rate), it correctly identifies %s of the members (%s CI %s–%s)",
		as.Name, f3(an.result.AUC), conf, f3(an.boot.AUC.Lo), f3(an.boot.AUC.Hi),
		thousands(int(math.Round(1/verdictFPR))), rate(verdictFPR), pct(tpr01), conf, pct(lo01), pct(hi01))
	if tpr01 > verdictFPR {
		fmt.Fprintf(&b, ", %s more than chance", times(tpr01/verdictFPR))
	}
	fmt.Fprintf(&b, "; at a %s false-positive rate it identifies %s.", rate(verdictSecondFPR), pct(tpr1))
	if an.eps > 0 {
		fmt.Fprintf(&b, " These outcomes imply that training was not ε-differentially private for any ε below %s "+
			"(Clopper–Pearson lower bound, %s confidence).", f2(an.eps), rate(1-a.opts.Alpha))
	} else {
		fmt.Fprintf(&b, " The outcomes imply no positive lower bound on ε at %s confidence.", rate(1-a.opts.Alpha))
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
	return Verdict{Level: level, StrongestAttack: as.Name, Headline: headline, Text: b.String()}
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
