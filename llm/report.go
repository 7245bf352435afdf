package llm

import (
	"math"
	"sort"

	"github.com/pmeter/pmeter/report"
)

// ReportInput turns results into the language-model report's input: the attacks, then the blind
// baselines, and the topK sequences the attack with the highest AUC ranks highest (their texts when the
// bundle has them).
func ReportInput(b *Bundle, attacks, blind []Result, p Params, topK int) *report.LLMInput {
	in := &report.LLMInput{Bundle: b.Source, Sequences: b.N(), Mode: "pmeter's arithmetic", MimirNote: MimirConventions}
	if p.Compat != Default {
		in.Mode = "compat=" + string(p.Compat)
	}
	best := -1
	for i, r := range attacks {
		if best < 0 || r.Metrics.AUC > attacks[best].Metrics.AUC {
			best = i
		}
	}
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
	in.ExposedBy = attacks[best].Attack
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
