package llm

import (
	"math"
	"slices"
	"sort"

	"github.com/pmeter/pmeter/report"
)

// ReportInput turns results into the language-model report's input: the attacks, then the blind
// baselines, and the topK sequences that the listed attack (exposedBy) ranks highest (their texts when
// the bundle has them).
func ReportInput(b *Bundle, attacks, blind []Result, p Params, topK int) *report.LLMInput {
	in := &report.LLMInput{Bundle: b.Source, Sequences: b.N(), Mode: "pmeter's arithmetic", MimirNote: MimirConventions}
	if p.Compat != Default {
		in.Mode = "compat=" + string(p.Compat)
	}
	best, rule := exposedBy(attacks)
	for _, r := range append(append([]Result(nil), attacks...), blind...) {
		a := report.LLMAttack{Name: r.Attack, Paper: r.Paper, Blind: r.Blind, Metrics: r.Metrics, Epsilon: r.Epsilon, Dropped: r.Dropped, Curve: r.Curve}
		if r.Intervals != nil {
			iv := r.Intervals.AUC
			a.AUCCI = &iv
		}
		if m := r.Mimir; m != nil {
			a.Mimir = &report.LLMMimir{AUC: m.AUC, TPR1: m.TPRAtFPR1, TPR01: m.TPRAtFPR01, PRAUC: m.PRAUC}
		}
		in.Attacks = append(in.Attacks, a)
	}
	if best < 0 {
		return in
	}
	s := attacks[best].Scores
	in.ExposedBy, in.ExposedRule = attacks[best].Attack, rule
	idx := make([]int, 0, len(s))
	for i, v := range s {
		if !math.IsNaN(v) {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, c int) bool { return s[idx[a]] > s[idx[c]] })
	for _, i := range idx[:min(topK, len(idx))] {
		q := report.LLMSequence{Index: i, Score: s[i]}
		if b.Labels != nil {
			m := b.Labels[i]
			q.Member = &m
		}
		if b.Texts != nil {
			q.Text = b.Texts[i]
		}
		in.Exposed = append(in.Exposed, q)
	}
	return in
}

// exposedBy returns the index of the attack whose most exposed sequences the page lists, and the rule
// that chose it as the page states it; -1 when no attack scores any sequence. The rule is fixed before
// any result is seen: the run's first attack (the first of audit.attacks, or of 'pmeter attack --attack
// all': loss, in Attacks' order), or, when it scores no sequence, the first that scores one. The attack
// of highest AUC is not chosen: on a target that leaks nothing it is picked by chance, and its list would
// carry that selection.
func exposedBy(attacks []Result) (int, string) {
	for i, r := range attacks {
		if slices.ContainsFunc(r.Scores, func(s float64) bool { return !math.IsNaN(s) }) {
			if i == 0 {
				return 0, "the run's first attack, chosen before any result is seen"
			}
			return i, "the run's first attack that scores any sequence (" + attacks[0].Attack + ", the first, scores none), chosen before any result is seen"
		}
	}
	return -1, ""
}
