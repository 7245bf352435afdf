package audit

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/duci"
	"github.com/pmeter/pmeter/llm"
	"github.com/pmeter/pmeter/npy"
)

// ModalityText is data.modality for language models: the run reads an LLM bundle (per-token
// log-probabilities, package llm) named by data.bundle and runs the language-model attacks on it; no
// model is trained.
const ModalityText = "text"

// TextResult is the result of a text-modality run.
type TextResult struct {
	Bundle  string       `json:"bundle"`
	Attacks []llm.Result `json:"attacks"`
	Blind   []llm.Result `json:"blind_baselines,omitempty"`
}

// validateText checks a config with data.modality set: the modality, data.bundle and the attacks
// (audit.attacks with llm parameters, or audit.algorithms; default: every attack the bundle has inputs
// for). The training sections do not apply.
func (c *Config) validateText() error {
	if c.Data.Modality != ModalityText {
		return c.fieldError("data", "modality", "unknown modality %q (want %q, or leave it out for the classifiers pmeter trains)", c.Data.Modality, ModalityText)
	}
	if c.Data.Bundle == "" {
		return c.fieldError("data", "bundle", "is required with modality text: a directory, .npz or .jsonl in the mia-llm-logprobs/1 layout")
	}
	switch c.Audit.PrivacyGame {
	case "privacy_loss_model":
	case usageGame:
		return c.validateTextUsage()
	default:
		return c.fieldError("audit", "privacy_game", "%s with data.modality text; want privacy_loss_model (the attacks on the bundle's target LM) or %s (text DUCI)", c.Audit.PrivacyGame, usageGame)
	}
	for i, a := range c.textAttacks() {
		if a.Name == "all" {
			continue
		}
		if _, ok := llm.Lookup(a.Name); !ok {
			return c.fieldError("audit", "attacks", "attack %d is %q, not a language-model attack (want all or one of %s)", i, a.Name, strings.Join(llm.Names(), ", "))
		}
		if _, err := textParams(a); err != nil {
			return c.fieldError("audit", "attacks", "attack %d (%s): %v", i, a.Name, err)
		}
	}
	return nil
}

// paramLabel is "k=v,…" of an attack's parameters, sorted; "" without parameters.
func paramLabel(params map[string]string) string {
	var kv []string
	for k, v := range params {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

// textAttacks lists the configured attacks, default all.
func (c *Config) textAttacks() []AttackConfig {
	switch {
	case len(c.Audit.Attacks) > 0:
		return c.Audit.Attacks
	case len(c.Audit.Algorithms) > 0:
		var out []AttackConfig
		for _, a := range c.Audit.Algorithms {
			out = append(out, AttackConfig{Name: strings.ToLower(a)})
		}
		return out
	}
	return []AttackConfig{{Name: "all"}}
}

// textParams parses an attack's parameters, in a fixed order.
func textParams(a AttackConfig) (llm.Params, error) {
	p := llm.DefaultParams()
	keys := make([]string, 0, len(a.Params))
	for k := range a.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := p.Set(k, a.Params[k]); err != nil {
			return p, err
		}
	}
	return p, nil
}

// runText runs a text-modality audit: read and validate the bundle, run the attacks and the blind
// baselines, write run.json's text block, the scores, and report/llm.html with its saved input
// (results/llm_page.json and .npy, from which 'pmeter report' rebuilds it).
func runText(ctx context.Context, c *Config, opt Options, res *Result) (*Result, error) {
	b, err := llm.Read(c.Data.Bundle)
	if err != nil {
		return nil, fmt.Errorf("data.bundle: %w", err)
	}
	if c.Audit.PrivacyGame == usageGame {
		return runTextUsage(ctx, c, opt, res, b)
	}
	if b.Labels == nil {
		return nil, fmt.Errorf("data.bundle: %w", llm.ErrNoLabels)
	}
	res.Source = b.Source
	claim, err := ClaimDir(c.Run.LogDir, c, opt.logf)
	if err != nil {
		return nil, err
	}
	defer claim.Release()
	opt.logf("data: %s — %d sequences", b.Source, b.N())
	evalOpt := llm.EvalOptions{Seed: uint64(c.Run.RandomSeed), Bootstrap: 1000}
	tr := &TextResult{Bundle: b.Source}
	var first llm.Params
	for i, a := range c.textAttacks() {
		p, err := textParams(a)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			first = p
		}
		names := []string{a.Name}
		if a.Name == "all" {
			names = llm.Available(b)
		}
		r, err := llm.Evaluate(ctx, b, names, p, evalOpt)
		if err != nil {
			return nil, err
		}
		if label := paramLabel(a.Params); label != "" {
			for k := range r {
				r[k].Attack += "[" + label + "]"
			}
		}
		tr.Attacks = append(tr.Attacks, r...)
	}
	if tr.Blind, err = llm.Blind(ctx, b, evalOpt); err != nil {
		return nil, err
	}
	if err := WriteTextRun(c.Run.LogDir, b, tr, first, res); err != nil {
		return nil, err
	}
	return res, nil
}

// TextScoresFile returns the name of the file in a text run directory that holds the scores of attack
// (an llm attack's name, with "[k=v,…]" after it when it has parameters): scores_<attack>.npy, the
// brackets, commas and equals signs left out.
func TextScoresFile(attack string) string {
	return "scores_" + strings.NewReplacer("[", "_", "]", "", ",", "_", "=", "").Replace(attack) + ".npy"
}

// WriteTextRun writes dir as the run directory of a language-model audit of b whose results are tr: each
// attack's scores (TextScoresFile: one float64 per sequence, NaN where the attack gives none),
// report/llm.html with its saved input in results/ (llm_page.json and .npy), and run.json, res with tr
// as its text block.
// 'pmeter report dir' rebuilds the page from the saved input byte for byte. p are the parameters of the
// first attack (the page's mode). Both a text-modality 'pmeter run' and 'pmeter attack' on an LLM bundle
// write their directory with it; the caller has claimed dir and checked that it overwrites no file it
// did not write.
func WriteTextRun(dir string, b *llm.Bundle, tr *TextResult, p llm.Params, res *Result) error {
	if b.Labels == nil {
		return fmt.Errorf("%s: %w", b.Source, llm.ErrNoLabels)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	res.Text = tr
	for _, r := range tr.Attacks {
		if err := npy.WriteFile(filepath.Join(dir, TextScoresFile(r.Attack)), npy.NewFloat64(r.Scores, len(r.Scores))); err != nil {
			return err
		}
	}
	if err := writeTextPage(dir, llm.ReportInput(b, tr.Attacks, tr.Blind, p, 20)); err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, "run.json"), res)
}

// writeTextSummary prints the text-modality table.
func (t *TextResult) writeSummary(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	io.WriteString(tw, "attack\tAUC\t95% CI\tTPR@1%FPR\tTPR@0.1%FPR\tε bound\n")
	for _, r := range append(append([]llm.Result(nil), t.Attacks...), t.Blind...) {
		ci := ""
		if r.Intervals != nil {
			ci = fmt.Sprintf("[%.3f, %.3f]", r.Intervals.AUC.Lo, r.Intervals.AUC.Hi)
		}
		fmt.Fprintf(tw, "%s\t%.4f\t%s", r.Attack, r.Metrics.AUC, ci)
		for _, f := range []float64{0.01, 0.001} {
			e, _ := r.Metrics.Entry(f)
			if e.BelowResolution {
				io.WriteString(tw, "\tbelow res.")
			} else {
				fmt.Fprintf(tw, "\t%.4f", e.TPR)
			}
		}
		if r.Epsilon != nil {
			fmt.Fprintf(tw, "\t%.4f\n", r.Epsilon.Value)
		} else {
			io.WriteString(tw, "\t—\n")
		}
	}
	tw.Flush()
	llm.WriteMimirTable(w, t.Attacks)
	fmt.Fprintf(w, "blind-* never see the model: an attack not above them measures a distribution shift between member and non-member texts.\nε bounds are not DP bounds: %s.\n", llm.NotDPDefault)
}

// validateTextUsage checks privacy_game dataset_usage with data.modality text (text DUCI): the bundle's
// target LM and shadow LMs are the models, so the dataset_usage fields that describe models pmeter
// trains do not apply; attack, resamples, level, interval and compat do.
func (c *Config) validateTextUsage() error {
	for _, f := range []string{"proportions", "dataset_size", "references"} {
		if c.present("dataset_usage", f) {
			return c.fieldError("dataset_usage", f, "does not apply with data.modality text: the bundle's shadow LMs are the reference models and the corpus is every sequence outside population.npy")
		}
	}
	if err := c.parseUsage(); err != nil {
		return err
	}
	if r, ok := c.usage.scorer.(*duci.RMIA); ok && r.Tune && c.usage.compat == attack.CompatPrivacyMeter {
		return c.fieldError("dataset_usage", "compat", "privacy-meter with data.modality text needs dataset_usage.attack's offline_a: Privacy Meter tunes a on the target's paired model, which an LLM bundle does not have")
	}
	return nil
}

// runTextUsage runs text DUCI (llm.Usage) on the bundle: the fraction of its corpus (every sequence
// outside population.npy) that the target LM was fine-tuned on, the shadow LMs as references; it writes
// run.json's dataset_usage block (modality text), duci_scores.npy, and report/index.html with its saved
// input (results/usage_page.json).
func runTextUsage(ctx context.Context, c *Config, opt Options, res *Result, b *llm.Bundle) (*Result, error) {
	res.Source = b.Source
	claim, err := ClaimDir(c.Run.LogDir, c, opt.logf)
	if err != nil {
		return nil, err
	}
	defer claim.Release()
	opt.logf("data: %s — %d sequences, %d shadow LMs", b.Source, b.N(), len(b.Shadows))
	s := c.usage
	cfg := duci.Config{Attack: s.scorer, Resamples: s.resamples, Level: s.level, Seed: derive(uint64(c.Run.RandomSeed), "usage-bootstrap"), Interval: s.interval, Compat: s.compat}
	if r, ok := s.scorer.(*duci.RMIA); ok && s.compat == attack.CompatPrivacyMeter && r.Tune {
		cfg.Attack = nil
	}
	r, d, err := llm.Usage(ctx, b, nil, nil, cfg)
	if err != nil {
		return nil, fmt.Errorf("data.bundle: %w", err)
	}
	u := &UsageResult{Modality: ModalityText, DatasetSize: d.N, References: r.References, Method: s.method, Compat: s.compat, Targets: []duci.Result{*r}}
	if s.compat == "" {
		u.Interval = s.interval
		if u.ReferenceCheck, err = duci.CheckReferences(ctx, d, r, duci.BootstrapOptions{Resamples: s.resamples, Level: s.level, Seed: cfg.Seed, Method: s.interval}); err != nil {
			return nil, fmt.Errorf("dataset usage: %w", err)
		}
	}
	res.Usage = u
	if err := npy.WriteFile(filepath.Join(c.Run.LogDir, "duci_scores.npy"), npy.NewFloat64(r.TargetScores, 1, len(r.TargetScores))); err != nil {
		return nil, err
	}
	if err := writeUsagePage(c.Run.LogDir, u); err != nil {
		return nil, err
	}
	if err := writeJSON(filepath.Join(c.Run.LogDir, "run.json"), res); err != nil {
		return nil, err
	}
	return res, nil
}
