package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/pmeter/pmeter/audit"
	"github.com/pmeter/pmeter/llm"
	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/npy"
	"github.com/pmeter/pmeter/report"
)

// llmAttackArgs are 'pmeter attack”s flags as an LLM bundle uses them.
type llmAttackArgs struct {
	bundle, attack string
	sets           attackSets
	out            string
	alpha, delta   float64
	seed           uint64
}

// llmMetricsFile is the table 'pmeter attack' writes for an LLM bundle; its presence marks the directory's
// scores_*.npy as written by an earlier run.
const llmMetricsFile = "llm_metrics.json"

// llmReport is the content of llm_metrics.json.
type llmReport struct {
	Format  string       `json:"format"` // llmReportFormat
	Bundle  string       `json:"bundle"`
	Params  llm.Params   `json:"params"`
	Attacks []llm.Result `json:"attacks"`
	Blind   []llm.Result `json:"blind_baselines,omitempty"`
}

// runLLMAttack is 'pmeter attack' on an LLM bundle: the named attack (or all the bundle has inputs for),
// the blind baselines beside them, one table.
func runLLMAttack(ctx context.Context, a llmAttackArgs, stdout, stderr io.Writer) error {
	p := llm.DefaultParams()
	keys := make([]string, 0, len(a.sets))
	for k := range a.sets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := p.Set(k, a.sets[k]); err != nil {
			return usagef("--set: %v", err)
		}
	}
	names := []string{a.attack}
	if a.attack != "all" {
		if _, ok := llm.Lookup(a.attack); !ok {
			return usagef("--attack %q: an LLM bundle takes one of %s, or all", a.attack, strings.Join(llm.Names(), ", "))
		}
	}
	if err := checkLLMOut(a.bundle, a.out); err != nil {
		return err
	}
	// Claimed alone before the work, so that a report or another attack on --out waits for this one.
	claim, err := audit.ClaimAttackDir(a.out, func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) })
	if err != nil {
		return err
	}
	defer claim.Release()
	b, err := llm.Read(a.bundle)
	if err != nil {
		return err
	}
	if a.attack == "all" {
		names = llm.Available(b)
	}
	opt := llm.EvalOptions{Alpha: a.alpha, Delta: a.delta, Seed: a.seed, Bootstrap: 1000}
	res, err := llm.Evaluate(ctx, b, names, p, opt)
	if err != nil {
		return err
	}
	rep := llmReport{Format: llmReportFormat, Bundle: a.bundle, Params: p, Attacks: res}
	if b.Labels != nil {
		if rep.Blind, err = llm.Blind(ctx, b, opt); err != nil {
			return err
		}
	}
	// llm_metrics.json first: it marks the other files as this command's, also when it stops before them.
	if err := npy.WriteAtomic(filepath.Join(a.out, llmMetricsFile), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}); err != nil {
		return err
	}
	if b.Labels == nil {
		fmt.Fprintln(stderr, "pmeter attack: the bundle has no labels.npy: writing scores only")
		for _, r := range res {
			if err := npy.WriteFile(filepath.Join(a.out, audit.TextScoresFile(r.Attack)), npy.NewFloat64(r.Scores, len(r.Scores))); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "wrote %s and scores_<attack>.npy (higher = more likely a member)\n", filepath.Join(a.out, llmMetricsFile))
		return nil
	}
	// A run directory, as a text-modality 'pmeter run' writes: 'pmeter report' rebuilds its page.
	tr := &audit.TextResult{Bundle: b.Source, Attacks: res, Blind: rep.Blind}
	if err := audit.WriteTextRun(a.out, b, tr, p, &audit.Result{Dir: a.out, Source: b.Source}); err != nil {
		return err
	}
	writeLLMTable(stdout, rep, b.N())
	fmt.Fprintf(stdout, "wrote %s, %s, run.json and scores_<attack>.npy (higher = more likely a member); 'pmeter report %s' rebuilds the page\n",
		filepath.Join(a.out, llmMetricsFile), filepath.Join(a.out, report.ReportDir, "llm.html"), a.out)
	return nil
}

// writeLLMTable prints the per-attack table.
func writeLLMTable(w io.Writer, rep llmReport, n int) {
	mode := "pmeter's arithmetic"
	if rep.Params.Compat != "" {
		mode = "compat=" + string(rep.Params.Compat)
	}
	fmt.Fprintf(w, "%d sequences, %s\n", n, mode)
	fmt.Fprintf(w, "%-14s %7s  %-17s %10s %11s %9s  %s\n", "attack", "AUC", "95% CI", "TPR@1%FPR", "TPR@0.1%FPR", "ε bound", "left out")
	row := func(r llm.Result) {
		ci := ""
		if r.Intervals != nil {
			ci = fmt.Sprintf("[%.3f, %.3f]", r.Intervals.AUC.Lo, r.Intervals.AUC.Hi)
		}
		tpr := func(f float64) string {
			if e, ok := r.Metrics.Entry(f); ok {
				return tprText(e)
			}
			return ""
		}
		eps := "—"
		if r.Epsilon != nil {
			eps = fmt.Sprintf("%.3f", r.Epsilon.Value)
		}
		fmt.Fprintf(w, "%-14s %7.4f  %-17s %10s %11s %9s  %d\n", r.Attack, r.Metrics.AUC, ci, tpr(0.01), tpr(0.001), eps, r.Dropped)
	}
	for _, r := range rep.Attacks {
		row(r)
	}
	best := 0.0
	for _, r := range rep.Blind {
		row(r)
		best = max(best, r.Metrics.AUC, 1-r.Metrics.AUC)
	}
	llm.WriteMimirTable(w, rep.Attacks)
	if len(rep.Blind) > 0 {
		fmt.Fprintf(w, "blind-* are model-free baselines: an attack whose AUC is not above theirs (%.3f) shows a distribution shift between the member and non-member texts, not the model's memory.\n", best)
	}
	fmt.Fprintf(w, "ε bounds (%s, α = %g): %s.\n", metric.HoldoutMethod, rep.firstAlpha(), llm.NotDPDefault)
}

func (r llmReport) firstAlpha() float64 {
	for _, a := range r.Attacks {
		if a.Epsilon != nil {
			return a.Epsilon.Alpha
		}
	}
	return 0.05
}

// llmReportFormat is llm_metrics.json's format field.
const llmReportFormat = "pmeter-llm-attack/1"

// llmOutputs are the files besides llm_metrics.json and the scores that 'pmeter attack' writes into --out
// for an LLM bundle: a text run directory (audit.WriteTextRun).
var llmOutputs = []string{"run.json", filepath.Join(report.ResultsDir, "llm_page.json"), filepath.Join(report.ResultsDir, "llm_page.npy"),
	filepath.Join(report.ReportDir, "llm.html")}

// checkLLMOut refuses an output directory that is the bundle's own, or that holds files this command
// would overwrite and an earlier 'pmeter attack' did not write (its llm_metrics.json marks them).
func checkLLMOut(bundlePath, out string) error {
	if samePath(bundlePath, out) {
		return usagef("--out %s is the bundle's own directory; choose another directory", out)
	}
	if lexists(filepath.Join(out, llmMetricsFile)) {
		var m map[string]json.RawMessage
		data, err := os.ReadFile(filepath.Join(out, llmMetricsFile))
		if err == nil && json.Unmarshal(data, &m) == nil && string(m["format"]) == `"`+llmReportFormat+`"` {
			return nil
		}
		return usagef("--out %s: %s exists and was not written by 'pmeter attack'; choose another directory", out, llmMetricsFile)
	}
	files := slices.Clone(llmOutputs)
	for _, name := range llm.Names() {
		files = append(files, audit.TextScoresFile(name))
	}
	for _, name := range files {
		if p := filepath.Join(out, name); lexists(p) {
			return usagef("--out %s: %s exists and was not written by 'pmeter attack'; choose another directory", out, p)
		}
	}
	return nil
}

// writeLLMAttackTable lists the LLM attacks for 'pmeter attack -h'.
func writeLLMAttackTable(w io.Writer) {
	fmt.Fprintln(w, "\nLLM bundle attacks (--attack NAME or all; --set k=, window=, stride=, a=, neighbors=, reference=, online=, compat=mimir|mimir-py311):")
	for _, a := range llm.Attacks() {
		fmt.Fprintf(w, "  %-13s %s; reads %s\n", a.Name, a.Paper, a.Needs)
	}
}
