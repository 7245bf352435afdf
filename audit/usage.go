package audit

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/dataset"
	"github.com/pmeter/pmeter/duci"
	"github.com/pmeter/pmeter/npy"
)

// usageGame is the privacy game of dataset usage cardinality inference (DUCI).
const usageGame = "dataset_usage"

// UsageConfig (pmeter) is the dataset_usage section of privacy_game dataset_usage (DUCI, package duci):
// which dataset the targets may have used and how much of it, the reference models that calibrate the
// estimate, and the attack.
//
// The dataset is DatasetSize records drawn from the training pool (at most half of it; 0: half).
// Target k trains on round(Proportions[k]·DatasetSize) records of it, drawn at random; the References
// reference models form complementary pairs on the dataset (each trains on half of it, as in Privacy
// Meter's run_duci.py). Every model's training set is topped up with random pool records outside the
// dataset to the same size, half the dataset plus half the rest, so that the targets train like the
// references whatever their proportion (the estimate assumes they do).
type UsageConfig struct {
	Proportions []float64 `yaml:"proportions"`
	DatasetSize int       `yaml:"dataset_size"`
	References  int       `yaml:"references"`
	// Attack is the membership attack: duci-rmia (DUCI's RMIA variant, offline a tuned on the references;
	// default), duci-population, or any attack of `pmeter attack --help` with its parameters.
	Attack *AttackConfig `yaml:"attack"`
	// Resamples and Level set the bootstrap interval (default 1000 and 0.95), Interval its construction:
	// conditional (the default) or conservative (duci.ParseInterval).
	Resamples int     `yaml:"resamples"`
	Level     float64 `yaml:"level"`
	Interval  string  `yaml:"interval,omitempty"`
	// Compat privacy-meter reproduces Privacy Meter v2's DUCI (its RMIA or the demo's population attack).
	Compat string `yaml:"compat"`
}

// usageSpec is the dataset_usage section, validated.
type usageSpec struct {
	proportions []float64
	size        int // 0: half the pool
	refs        int
	scorer      duci.Scorer
	method      string
	resamples   int
	level       float64
	interval    duci.IntervalMethod
	compat      attack.Compat
}

// parseUsage validates the dataset_usage section into c.usage. Errors name the line and the field.
func (c *Config) parseUsage() error {
	u := c.Usage
	s := &usageSpec{proportions: u.Proportions, size: u.DatasetSize, refs: u.References, resamples: u.Resamples, level: u.Level}
	if len(s.proportions) == 0 {
		s.proportions = []float64{0, 0.2, 0.5, 1}
	}
	if len(s.proportions) > maxModels/2 {
		return c.fieldError("dataset_usage", "proportions", "%d targets; at most %d", len(s.proportions), maxModels/2)
	}
	for k, p := range s.proportions {
		if !(p >= 0 && p <= 1) {
			return c.fieldError("dataset_usage", "proportions", "element %d is %v; a proportion lies in [0, 1]", k, p)
		}
	}
	if s.size < 0 {
		return c.fieldError("dataset_usage", "dataset_size", "must be 0 (half the training pool) or a number of records, got %d", s.size)
	}
	if !c.present("dataset_usage", "references") {
		s.refs = 4
	}
	if s.refs < 2 || s.refs%2 != 0 || s.refs > maxModels/2 {
		return c.fieldError("dataset_usage", "references", "must be an even number of reference models (complementary pairs) in [2, %d], got %d", maxModels/2, s.refs)
	}
	if s.resamples == 0 {
		s.resamples = 1000
	}
	if s.resamples < 2 || s.resamples > 100_000 {
		return c.fieldError("dataset_usage", "resamples", "must lie in [2, 100000], got %d", s.resamples)
	}
	if s.level == 0 {
		s.level = 0.95
	}
	if !(s.level > 0 && s.level < 1) {
		return c.fieldError("dataset_usage", "level", "must lie in (0, 1), got %v", s.level)
	}
	var err error
	if s.compat, err = duci.ParseCompat(u.Compat); err != nil {
		return c.fieldError("dataset_usage", "compat", "%v", err)
	}
	if s.interval, err = duci.ParseInterval(u.Interval); err != nil {
		return c.fieldError("dataset_usage", "interval", "%v", err)
	}
	if s.compat != "" && c.present("dataset_usage", "interval") {
		return c.fieldError("dataset_usage", "interval", "does not apply with compat %s, which computes no interval", s.compat)
	}
	name := "duci-rmia"
	var params map[string]string
	if u.Attack != nil {
		name, params = u.Attack.Name, u.Attack.Params
	}
	s.method = name
	if s.scorer, err = duci.ParseAttack(name, params, s.compat); err != nil {
		field := "attack"
		if s.compat != "" && strings.Contains(err.Error(), "compat") {
			field = "compat"
		}
		return c.fieldError("dataset_usage", field, "%v", err)
	}
	c.usage = s
	return nil
}

// usagePlan fixes the dataset, the memberships and the models of the dataset_usage game.
func usagePlan(c *Config, d *Data, p *Plan, seed uint64) error {
	s := c.usage
	n := d.Pool.Len()
	size := s.size
	if size == 0 {
		size = n / 2
	}
	if size < 2 || size > n {
		return c.fieldError("dataset_usage", "dataset_size", "%d records of a training pool of %d; want at least 2 and at most the pool", size, n)
	}
	_, ds, err := dataset.HoldOut(n, size, derive(seed, "usage-dataset"))
	if err != nil {
		return err
	}
	T, K := len(s.proportions), s.refs
	p.Models, p.Targets, p.Design = T+K, T, attack.DesignOther
	ms := dataset.NewMemberships(n, p.Models)
	inDataset := make([]bool, n)
	for _, i := range ds {
		inDataset[i] = true
	}
	var background []int
	for i := range n {
		if !inDataset[i] {
			background = append(background, i)
		}
	}
	// Every model trains on L records: k of the dataset and L − k of the rest of the pool, so that the
	// targets train like the references (whose k is half the dataset) whatever their proportion.
	L := size/2 + len(background)/2
	rng := rand.New(rand.NewPCG(derive(seed, "usage-memberships"), 0))
	fill := func(m, k int, dsIdx []int) {
		for _, j := range dsIdx[:k] {
			ms.Members[ds[j]*p.Models+m] = true
		}
		for _, j := range rng.Perm(len(background))[:L-k] {
			ms.Members[background[j]*p.Models+m] = true
		}
	}
	for t, prop := range s.proportions {
		k := int(prop*float64(size) + 0.5)
		if L-k > len(background) {
			return c.fieldError("dataset_usage", "dataset_size", "%d records leave %d pool records outside the dataset, too few to give a target of proportion %v as many training records (%d) as a reference; want at most half the pool (%d)",
				size, len(background), prop, L, n/2)
		}
		fill(t, k, rng.Perm(size))
	}
	for pair := 0; pair < K/2; pair++ {
		perm := rng.Perm(size)
		fill(T+2*pair, size/2, perm)
		fill(T+2*pair+1, size-size/2, perm[size/2:])
	}
	p.Memberships, p.Audit = ms, ds
	return nil
}

// UsageResult is the outcome of the dataset_usage game (run.json's dataset_usage).
type UsageResult struct {
	// Modality is "text" for text DUCI (data.modality text): the records are the bundle's corpus
	// sequences, the target its target LM (model 0) and the references its shadow LMs (models 1 to R).
	Modality    string        `json:"modality,omitempty"`
	DatasetSize int           `json:"dataset_size"`
	References  []int         `json:"references"`
	Method      string        `json:"method"`
	Compat      attack.Compat `json:"compat,omitempty"`
	// Interval is the intervals' construction (dataset_usage.interval; empty in compat mode, which
	// computes none, and in a result saved by a pmeter that did not record it).
	Interval duci.IntervalMethod `json:"interval,omitempty"`
	// Targets holds one estimate per target: proportion (clipped; compat: Privacy Meter's), raw
	// proportion, ci (bootstrap over records and reference models), threshold, tpr, fpr, and the true
	// proportion the target was trained on.
	Targets []duci.Result `json:"targets"`
	// ReferenceCheck estimates each reference model's proportion (known: one half) from its own attack,
	// calibrated by the other references (duci.CheckReferences; default mode only).
	ReferenceCheck []duci.RefEstimate `json:"reference_check,omitempty"`
}

// runUsage runs DUCI against every target of the dataset_usage game and writes its scores.
func runUsage(ctx context.Context, c *Config, p *Plan, data *attack.Data) (*UsageResult, error) {
	s := c.usage
	refs := make([]int, s.refs)
	for k := range refs {
		refs[k] = p.Targets + k
	}
	var targets []duci.Target
	for t := range p.Targets {
		targets = append(targets, duci.Target{Model: t, Refs: refs})
	}
	cfg := duci.Config{Attack: s.scorer, Resamples: s.resamples, Level: s.level, Seed: derive(uint64(c.Run.RandomSeed), "usage-bootstrap"),
		Interval: s.interval, Truth: true, Compat: s.compat}
	if s.compat == attack.CompatPrivacyMeter {
		if r, ok := s.scorer.(*duci.RMIA); ok && r.Tune {
			cfg.Attack = nil // Privacy Meter tunes a once, on the first target's paired model
		}
	}
	res, err := duci.Estimate(ctx, data, targets, cfg)
	if err != nil {
		return nil, fmt.Errorf("dataset usage: %w", err)
	}
	u := &UsageResult{DatasetSize: len(p.Audit), References: refs, Method: s.method, Compat: s.compat, Targets: res}
	if s.compat == "" {
		u.Interval = s.interval
		if u.ReferenceCheck, err = duci.CheckReferences(ctx, data, &res[0], duci.BootstrapOptions{Resamples: s.resamples, Level: s.level, Seed: cfg.Seed, Method: s.interval}); err != nil {
			return nil, fmt.Errorf("dataset usage: %w", err)
		}
	}
	var scores []float64
	for _, r := range res {
		scores = append(scores, r.TargetScores...)
	}
	if err := npy.WriteFile(filepath.Join(c.Run.LogDir, "duci_scores.npy"), npy.NewFloat64(scores, len(res), len(p.Audit))); err != nil {
		return nil, err
	}
	return u, nil
}

// writeUsage writes the dataset usage table of the run summary.
func writeUsage(w io.Writer, u *UsageResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	unit := "records"
	if u.Modality == ModalityText {
		unit = "sequences, text DUCI, references = shadow LMs"
	}
	fmt.Fprintf(tw, "dataset usage (%s%s, %d %s)\ttrue\testimate\tinterval\tthreshold\tTPR\tFPR\n", u.Method, compatNote(u.Compat), u.DatasetSize, unit)
	for _, r := range u.Targets {
		fmt.Fprintf(tw, "target %d\t%s\t%.4f\t%s\t%.4g\t%.3f\t%.3f\n", r.Target, trueText(r.TrueProportion, "%.3f"), r.Proportion, ciText(r.CI), r.Threshold, r.TPR, r.FPR)
	}
	for _, r := range u.ReferenceCheck {
		fmt.Fprintf(tw, "reference %d (check)\t%.3f\t%.4f\t%s\t\t\t\n", r.Model, r.TrueProportion, r.Proportion, ciText(r.CI))
	}
	tw.Flush()
}

// ciText formats an interval for the summary table and the page: its ends, level and construction,
// "[0.349, 0.904] (95%, conditional)"; "–" for none.
func ciText(ci *duci.Interval) string {
	switch {
	case ci == nil:
		return "–"
	case ci.Method == "":
		return fmt.Sprintf("[%.3f, %.3f] (%g%%)", ci.Lo, ci.Hi, 100*ci.Level)
	}
	return fmt.Sprintf("[%.3f, %.3f] (%g%%, %s)", ci.Lo, ci.Hi, 100*ci.Level, ci.Method)
}

// trueText formats a true proportion, "unknown" when it is not (a text bundle without labels.npy).
func trueText(p *float64, format string) string {
	if p == nil {
		return "unknown"
	}
	return fmt.Sprintf(format, *p)
}

func compatNote(c attack.Compat) string {
	if c == "" {
		return ""
	}
	return ", compat " + string(c)
}

// usagePage is the report of the dataset_usage game: the estimated against the true proportion of every
// target, with the interval and the references' rates.
var usagePage = template.Must(template.New("usage").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Dataset usage audit</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse}td,th{padding:.3rem .7rem;border-bottom:1px solid #ddd}.num{text-align:right;font-variant-numeric:tabular-nums}.note{color:#555}</style></head>
<body><h1>Dataset usage audit</h1>
<section id="dataset-usage"><h2>Dataset usage</h2>
<p class="note">{{if .Modality}}Text DUCI: how much of a corpus of {{.DatasetSize}} sequences was the target language model (model 0) fine-tuned on? The membership signal is each sequence's exp(mean token log-probability), as Privacy Meter v2 audits fine-tuned LMs, and the reference models are the bundle's shadow LMs (fine-tuned with known memberships).{{else}}How much of a dataset of {{.DatasetSize}} records did each target model train on?{{end}} Each target is attacked with {{.Method}} on every record of the dataset, and so is each reference model (models {{.References}}, whose memberships are known), with the same number of references. The threshold maximises TPR − FPR on the references' scores, and each record's prediction is debiased with their rates: p̂ = mean((1[score ≥ θ] − FPR)/(TPR − FPR)) (Tong et al., “How Much of My Dataset Did You Use?”, ICLR 2025); the rates are measured on other records of the references than those that chose the threshold (cross-fitting: half and half, both ways); the threshold, TPR and FPR shown are those of all the references' records. {{if eq .Interval "conditional"}}The interval (conditional, the default construction) is a percentile bootstrap of the estimate's error with the target's memberships fixed: the references' rates redrawn (reference models and their records), the target's own binomial noise at them, and the target's model effect drawn from a Student t on the references' spread between models; it covers the true proportion at about its level when the target is trained like the references.{{else if eq .Interval "conservative"}}The interval (conservative, pmeter's first construction, chosen with dataset_usage.interval) is a percentile bootstrap over the records, the target's included, and the reference models, with one reference's whole deviation added; kept for comparison: wider than the default where the models differ little, it missed the truth more often than its level allows at a proportion of 1 where they differ much.{{else}}The interval is a percentile bootstrap over the records and the reference models, with one model's deviation added; it covers the true proportion at about its level when the target is trained like the references.{{end}}{{if .Compat}} <strong>Compatibility mode ({{.Compat}}):</strong> Privacy Meter's estimate, with its quirks (strict prediction, references attacked with one reference fewer, no clipping, no interval).{{end}}</p>
<table><thead><tr><th>Target</th><th class="num">True proportion</th><th class="num">Estimate</th><th class="num">Interval</th><th class="num">Error</th><th class="num">Threshold</th><th class="num">TPR</th><th class="num">FPR</th><th class="num">Naive (fraction predicted)</th></tr></thead>
<tbody>{{range .Rows}}<tr><td>target {{.Target}}</td><td class="num">{{.True}}</td><td class="num">{{.Est}}</td><td class="num">{{.CI}}</td><td class="num">{{.Err}}</td><td class="num">{{.Thr}}</td><td class="num">{{.TPR}}</td><td class="num">{{.FPR}}</td><td class="num">{{.Direct}}</td></tr>
{{end}}</tbody></table>
{{if .Checks}}<h3>The estimator on the reference models</h3>
<p class="note">Each reference model's use of the dataset is known{{if not .Modality}} (one half){{end}}. Estimated from its own scores, calibrated by the other references except its pair, it shows how the estimator does on models trained like the targets.</p>
<table><thead><tr><th>Reference</th><th class="num">True proportion</th><th class="num">Estimate</th><th class="num">Interval</th><th class="num">Error</th><th>Calibrated by</th></tr></thead>
<tbody>{{range .Checks}}<tr><td>model {{.Target}}</td><td class="num">{{.True}}</td><td class="num">{{.Est}}</td><td class="num">{{.CI}}</td><td class="num">{{.Err}}</td><td>{{.Thr}}</td></tr>
{{end}}</tbody></table>{{end}}
</section></body></html>
`))

// writeUsageReport writes report/index.html of the dataset_usage game.
func writeUsageReport(dir string, u *UsageResult) error {
	type row struct{ Target, True, Est, CI, Err, Thr, TPR, FPR, Direct string }
	v := struct {
		*UsageResult
		Rows, Checks []row
	}{UsageResult: u}
	for _, r := range u.ReferenceCheck {
		rw := row{Target: fmt.Sprint(r.Model), True: fmt.Sprintf("%.3f", r.TrueProportion), Est: fmt.Sprintf("%.3f", r.Proportion), CI: ciText(r.CI),
			Err: fmt.Sprintf("%+.3f", r.Proportion-r.TrueProportion), Thr: fmt.Sprintf("models %v", r.Calibration)}
		v.Checks = append(v.Checks, rw)
	}
	for _, r := range u.Targets {
		rw := row{Target: fmt.Sprint(r.Target), True: trueText(r.TrueProportion, "%.3f"), Est: fmt.Sprintf("%.3f", r.Proportion), CI: ciText(r.CI), Err: "–", Thr: fmt.Sprintf("%.4g", r.Threshold), TPR: fmt.Sprintf("%.3f", r.TPR),
			FPR: fmt.Sprintf("%.3f", r.FPR), Direct: fmt.Sprintf("%.3f", r.Direct)}
		if r.TrueProportion != nil {
			rw.Err = fmt.Sprintf("%+.3f", r.Proportion-*r.TrueProportion)
		}
		v.Rows = append(v.Rows, rw)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var b strings.Builder
	if err := usagePage.Execute(&b, v); err != nil {
		return err
	}
	return npy.WriteAtomic(filepath.Join(dir, "index.html"), func(w io.Writer) error {
		_, err := io.WriteString(w, b.String())
		return err
	})
}
