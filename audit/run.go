package audit

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/internal/progress"
	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/npy"
	"github.com/pmeter/pmeter/report"
	"github.com/pmeter/pmeter/signal"
)

// Options controls how a run reports on itself. The zero value is silent.
type Options struct {
	// Log receives progress bars (on a terminal) or plain progress lines.
	Log io.Writer
	// OnModel, if set, is called after each model is trained or reused (cached reports reuse).
	OnModel func(model int, cached bool)
	// Limits, if set, replaces the machine's memory and disk (MachineLimits) in the check of the plan's
	// estimate.
	Limits *Limits

	// dpTrain, if set, replaces withDP (tests: DP recipes without nn's DP-SGD).
	dpTrain dpTrainer
	// canaryNorm, if set, inserts gradient canaries at this multiple of the clipping norm (tests: a
	// DP-SGD that skips clipping).
	canaryNorm float64
	// only restricts training to these models, noTrain forbids training (task.go).
	only    []int
	noTrain bool
}

func (o Options) logf(format string, a ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", a...)
	}
}

func (o Options) bar(label string, total int) *progress.Bar {
	w := o.Log
	if w == nil {
		w = io.Discard
	}
	return progress.New(w, label, total)
}

// Result is the outcome of a run.
type Result struct {
	Dir     string         `json:"dir"`
	Dataset string         `json:"dataset"`
	Source  string         `json:"source"`
	Models  []ModelInfo    `json:"models"`
	Attacks []AttackResult `json:"attacks"`
	Stages  []Stage        `json:"stages"`
	// Records are the audited pool records (N), their labels, and Members[t][i] the membership of record
	// i in target t's training set.
	Records []int    `json:"-"`
	Labels  []int    `json:"-"`
	Members [][]bool `json:"-"`
	// DPCaveat says why the memberships of the audited records allow no ε bound on the training
	// algorithm's differential privacy (report.Input.DPCaveat), "" when they allow one.
	DPCaveat string `json:"dp_caveat,omitempty"`
	// Samples holds the results of the sample-level game (privacy_game: privacy_loss_sample).
	Samples []SampleResult `json:"samples,omitempty"`
	// Trained and Reused count the models trained in this run and those reused from the run directory.
	Trained int `json:"trained"`
	Reused  int `json:"reused"`
	// External counts the models read from files (target.model, target.references).
	External int `json:"external"`
	// ReferenceFit compares each target with its reference models: accuracy, signal distributions, and
	// warnings where they differ beyond the margins (resemblance.go).
	ReferenceFit *report.ReferenceFit `json:"reference_fit,omitempty"`

	// DP is the models' DP-SGD recipe and the accountant's guarantee for it (train.dp), nil for
	// non-private training; DPCheck sets the audits against it (the report's, with the red flag).
	DP      *DPRecipe       `json:"dp,omitempty"`
	DPCheck *report.DPCheck `json:"dp_check,omitempty"`
	// Canaries describes the canaries of a DP audit game and DPAudits holds its bounds (canary.go).
	Canaries *CanaryResult    `json:"canaries,omitempty"`
	DPAudits []report.DPAudit `json:"dp_audits,omitempty"`
	// Ranges holds the results of the range game (privacy_game: range_membership).
	Ranges *report.Ranges `json:"ranges,omitempty"`
	// Usage holds the results of the dataset usage game (privacy_game: dataset_usage).
	Usage *UsageResult `json:"dataset_usage,omitempty"`
	// Text holds the results of a language-model audit (data.modality: text; text.go).
	Text *TextResult `json:"text,omitempty"`

	// Skipped lists the attacks not run at an access level that does not return what they need.
	Skipped []SkippedAttack `json:"skipped_attacks,omitempty"`
	// Slices are the attacks on subgroups (audit.slices; slices.go).
	Slices []report.Slice `json:"slices,omitempty"`
	// Users are the attacks at user level (data.user_column; users.go). UsersListed names the entry whose
	// most exposed users the report lists and the summary prints (report.Settings.UsersListed).
	Users       []report.UserLevel  `json:"users,omitempty"`
	UsersListed *report.UsersListed `json:"users_listed,omitempty"`
}

// AttackResult holds one attack's scores and metrics on every target.
type AttackResult struct {
	Label  string            `json:"label"`
	Name   string            `json:"name"`
	Params map[string]string `json:"params"`
	// Access is the level of model access the attack saw (audit.access), "" when the config sets none.
	Access string `json:"access,omitempty"`
	// Targets holds one metric summary per target model; Pooled pools the scores of all targets into one
	// ROC (Privacy Meter v2's average result), when there is more than one target.
	Targets []metric.Result `json:"targets"`
	Pooled  *metric.Result  `json:"pooled,omitempty"`
	// Epsilon holds one ε lower bound per target model (metric.HoldoutEpsilon at α = 0.05, δ =
	// metric.DefaultEpsilonDelta and split seed 0), null where a target has fewer than 2 members or 2 non-members;
	// PooledEpsilon the bound on the pooled records, never a DP bound.
	Epsilon       []*metric.EpsilonBound `json:"epsilon_lower_bound"`
	PooledEpsilon *metric.EpsilonBound   `json:"pooled_epsilon_lower_bound,omitempty"`
	// Scores is targets × records: higher means more likely a member.
	Scores [][]float64 `json:"-"`
}

// SkippedAttack is an attack not run at an access level, and why.
type SkippedAttack struct {
	Label  string `json:"label"`
	Access string `json:"access"`
	Reason string `json:"reason"`
}

// Stage is the wall time of one stage of a run.
type Stage struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// Run executes the whole audit of c: load data, plan, train or reuse models, extract signals, run the
// attacks on every target, and write the results into c.Run.LogDir.
func Run(ctx context.Context, c *Config, opt Options) (*Result, error) {
	t0 := time.Now()
	if IsURL(c.Run.LogDir) {
		return nil, fmt.Errorf("run.log_dir %s: pmeter run needs a path; a run directory on object storage is for the tasks of a submitted run (pmeter submit kubernetes, pmeter task --out URL)", c.Run.LogDir)
	}
	for _, w := range c.Warnings() {
		opt.logf("warning: %s", w)
	}
	if c.Data.Modality == ModalityText {
		return runText(ctx, c, opt, &Result{Dir: c.Run.LogDir, Dataset: c.Data.Dataset})
	}
	d, err := LoadData(c)
	if err != nil {
		return nil, err
	}
	return runWith(ctx, c, d, opt, t0)
}

// runWith is Run on data d, loaded from c since t0 (the start of the first stage).
func runWith(ctx context.Context, c *Config, d *Data, opt Options, t0 time.Time) (*Result, error) {
	res := &Result{Dir: c.Run.LogDir, Dataset: c.Data.Dataset}
	stage := func(name string) {
		now := time.Now()
		res.Stages = append(res.Stages, Stage{name, now.Sub(t0).Seconds()})
		t0 = now
	}
	res.Source = d.Source
	opt.logf("data: %s — pool %d records, population %d, %d classes", d.Source, d.Pool.Len(), d.Population.Len(), d.Pool.Classes)
	// Refuse a plan that cannot fit before allocating it.
	est, err := EstimateRun(c, d)
	if err != nil {
		return nil, err
	}
	limits := opt.Limits
	if limits == nil {
		l := MachineLimits(c.Run.LogDir)
		limits = &l
	}
	if err := est.Check(*limits); err != nil {
		return nil, err
	}
	if c.Audit.PrivacyGame == "privacy_loss_sample" {
		if res.DP, err = c.resolveDP(ctx, c.dpTrainRecords(d.Pool.Len())); err != nil {
			return nil, err
		}
		if _, err := c.trainConfigFor(0, res.DP, opt); err != nil { // before anything is written
			return nil, err
		}
		claim, err := ClaimDir(c.Run.LogDir, c, opt.logf)
		if err != nil {
			return nil, err
		}
		defer claim.Release()
		if err := os.MkdirAll(filepath.Join(c.Run.LogDir, "report"), 0o755); err != nil {
			return nil, err
		}
		if res.Samples, err = runSampleGame(ctx, c, d, res.DP, opt); err != nil {
			return nil, err
		}
		stage("sample-level game")
		return res, nil
	}
	if c.isCanaryGame() {
		return runCanaryGame(ctx, c, d, opt, res, stage)
	}
	p, err := makePlan(ctx, c, d)
	if err != nil {
		return nil, err
	}
	res.DP = p.DP
	if _, err := c.trainConfigFor(0, p.DP, opt); err != nil { // before anything is written
		return nil, err
	}
	attacks, err := p.parseAttacks()
	if err != nil {
		return nil, err
	}
	if c.Audit.PrivacyGame == rangeGame {
		if _, _, _, err := prepareRanges(c, d, p); err != nil {
			return nil, err
		}
	}
	claim, err := ClaimDir(c.Run.LogDir, c, opt.logf)
	if err != nil {
		return nil, err
	}
	defer claim.Release()
	if err := writePlan(c, p); err != nil {
		return nil, err
	}
	stage("data and plan")
	opt.logf("plan: %d models (%d target%s), %d audited records, %d population records, model %s, %d epochs",
		p.Models, p.Targets, plural(p.Targets), len(p.Audit), len(p.PopulationIdx), modelName(c), c.Train.Epochs)
	if p.DP != nil {
		opt.logf("dp: %s", p.DP)
	}

	outs, err := trainAll(ctx, c, d, p, c.Run.LogDir, opt)
	if err != nil {
		return nil, err
	}
	for _, o := range outs {
		res.Models = append(res.Models, o.Info)
		switch {
		case o.Info.External:
			res.External++
		case o.Info.Cached:
			res.Reused++
		default:
			res.Trained++
		}
	}
	stage("train models and extract signals")

	var data *attack.Data
	if c.regression() {
		data, err = residualData(d, p, outs)
	} else {
		data, err = attackData(d, p, outs, c.Audit.NumQueries)
	}
	if err == nil {
		err = addGradients(data, outs, c.Audit.NumQueries)
	}
	if err == nil {
		err = addLabelOnly(data, outs)
	}
	if err == nil {
		err = addTrajectory(data, outs, c.Audit.NumQueries)
	}
	if err != nil {
		return nil, err
	}
	if c.Audit.PrivacyGame == usageGame {
		// The targets' memberships on the dataset are the unknowns (some have no member, some no
		// non-member): no membership audit, the DUCI estimate instead.
		stage("signals")
		if res.Usage, err = runUsage(ctx, c, p, data); err != nil {
			return nil, err
		}
		stage("dataset usage")
		if err := writeUsagePage(c.Run.LogDir, res.Usage); err != nil {
			return nil, err
		}
		if err := writeJSON(filepath.Join(c.Run.LogDir, "run.json"), res); err != nil {
			return nil, err
		}
		stage("report")
		return res, nil
	}
	res.ReferenceFit = referenceFit(signalsOf(data, res.Models), p.Targets, c.Target.Model != "", fitMargins)
	if res.ReferenceFit != nil && c.regression() {
		res.ReferenceFit.Signal = string(signal.Residual)
	}
	for _, w := range res.ReferenceFit.Warnings() {
		opt.logf("warning: %s", w)
	}
	stage("signals")
	res.Records = p.Audit
	res.Labels = data.Labels
	for t := 0; t < p.Targets; t++ {
		res.Members = append(res.Members, data.TargetMembers(t))
	}
	caveats := make([]string, p.Targets)
	for t := range caveats {
		caveats[t] = dpCaveat(d, p, data, t)
		if res.DPCaveat == "" {
			res.DPCaveat = caveats[t]
		}
	}

	levels := c.accessLevels()
	bar := opt.bar("attacks", len(levels)*len(p.Attacks)*p.Targets)
	for _, acc := range levels {
		data := data
		if !acc.Logits() {
			base := data
			if data, err = attackDataAt(d, p, outs, c.Audit.NumQueries, acc); err != nil {
				return nil, err
			}
			// Label-only signals are the model's labels at every level.
			data.A, data.Aug, data.Boundary = base.A, base.Aug, base.Boundary
		}
		for i, a := range p.Attacks {
			ar := AttackResult{Name: a.Name, Params: attacks[i].Params, Label: attackLabel(a) + c.accessSuffix(acc)}
			if len(c.access) > 0 {
				ar.Access = acc.String()
			}
			if spec, err := attack.Lookup(a.Name); err == nil {
				if err := spec.Admits(acc); err != nil {
					opt.logf("skipped: %v", err)
					res.Skipped = append(res.Skipped, SkippedAttack{Label: ar.Label, Access: acc.String(), Reason: err.Error()})
					bar.Add(p.Targets)
					continue
				}
			}
			for t := 0; t < p.Targets; t++ {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				scores, err := attacks[i].Run(data, t)
				if err != nil {
					return nil, fmt.Errorf("attack %s on target %d: %w", ar.Label, t, err)
				}
				r, err := metric.Evaluate(scores, res.Members[t])
				if err != nil {
					return nil, fmt.Errorf("attack %s on target %d: %w", ar.Label, t, err)
				}
				ar.Scores = append(ar.Scores, scores)
				ar.Targets = append(ar.Targets, r)
				ar.Epsilon = append(ar.Epsilon, epsilonBound(scores, res.Members[t], caveats[t], res.DP.delta()))
				bar.Add(1)
			}
			if p.Targets > 1 {
				tr, err := metric.EvaluateTargets(ar.Scores, res.Members)
				if err != nil {
					return nil, err
				}
				ar.Pooled = &tr.Pooled
				s, m, err := metric.Pool(ar.Scores, res.Members)
				if err != nil {
					return nil, err
				}
				ar.PooledEpsilon = epsilonBound(s, m, fmt.Sprintf("the records of %d target models are pooled, "+
					"and records shared between targets are not independent trials", p.Targets), res.DP.delta())
			}
			res.Attacks = append(res.Attacks, ar)
		}
	}
	bar.Finish()
	stage("attacks and metrics")
	if len(c.Audit.Slices) > 0 {
		if res.Slices, err = runSlices(ctx, c, d, p, res); err != nil {
			return nil, err
		}
		stage("slices")
	}
	if p.Users != nil {
		if res.Users, err = runUsers(c, p, res); err != nil {
			return nil, err
		}
		stage("users")
	}
	if c.Audit.PrivacyGame == rangeGame {
		if res.Ranges, err = runRanges(ctx, c, d, p, data, opt); err != nil {
			return nil, err
		}
		stage("ranges")
	}
	if err := writeReport(ctx, c, d, p, res); err != nil { // first: it sets res.DPCheck
		return nil, err
	}
	if err := writeJSON(filepath.Join(c.Run.LogDir, "run.json"), res); err != nil {
		return nil, err
	}
	stage("report")
	return res, nil
}

// dpCaveat says why the run's memberships allow target t no ε bound on the training algorithm's
// differential privacy, "" when they allow one: how the memberships were drawn (attack.NotDPReason) and
// whether the audited records were chosen by their membership.
func dpCaveat(d *Data, p *Plan, data *attack.Data, t int) string {
	var cs []string
	if r := attack.NotDPReason(data, t); r != "" {
		cs = append(cs, r)
	}
	if p.Users != nil {
		cs = append(cs, "memberships are drawn per user (data.user_column), so the records of a user are not independent trials")
	}
	if len(p.Audit) < d.Pool.Len() {
		cs = append(cs, "the audited records are a sample balanced by membership in target model 0 (audit.data_size), "+
			"so their memberships are not independent")
	}
	return strings.Join(cs, "; ")
}

// epsilonBound returns the ε lower bound of scores at α = 0.05 and δ = delta (0: the default), with the
// DP caveat notDP; nil when the records have fewer than 2 members or 2 non-members. The split's seed is
// 0, as in the report (report.Options.EpsilonSeed), so that both state the same bound.
func epsilonBound(scores []float64, members []bool, notDP string, delta float64) *metric.EpsilonBound {
	b, err := metric.HoldoutEpsilon(scores, members, metric.EpsilonOptions{NotDP: notDP, Delta: delta})
	if err != nil { // too few members or non-members to split; Evaluate has checked everything else
		return nil
	}
	return &b
}

// attackData assembles the attacks' input from every model's logits: signals are rescaled logits
// (records × models × queries), probabilities are those of the first query.
func attackData(d *Data, p *Plan, outs []*modelOutputs, q int) (*attack.Data, error) {
	n, z, m := len(p.Audit), len(p.PopulationIdx), p.Models
	classes := d.Pool.Classes
	ad := &attack.Data{N: n, M: m, Q: q, Kind: signal.RescaledLogit, Z: z, C: classes, Design: p.Design,
		Signals: make([]float64, n*m*q), Members: make([]bool, n*m), Population: make([]float64, z*m*q),
		Probs: make([]float64, n*m*classes), PopProbs: make([]float64, z*m*classes)}
	ad.Labels = make([]int, n)
	for i, r := range p.Audit {
		ad.Labels[i] = d.Pool.Y[r]
		for j := 0; j < m; j++ {
			ad.Members[i*m+j] = p.Memberships.In(r, j)
		}
	}
	ad.PopLabels = make([]int, z)
	for i, r := range p.PopulationIdx {
		ad.PopLabels[i] = d.Population.Y[r]
	}
	fill := func(logits []float32, labels []int, sig, probs []float64, model int) error {
		rows := len(labels)
		lq := make([]int, rows*q)
		for i, l := range labels {
			for k := 0; k < q; k++ {
				lq[i*q+k] = l
			}
		}
		l64 := make([]float64, len(logits))
		for i, v := range logits {
			l64[i] = float64(v)
		}
		phi, err := signal.FromLogits(signal.RescaledLogit, l64, classes, labels, signal.Options{Queries: q})
		if err != nil {
			return fmt.Errorf("model %d: %w", model, err)
		}
		for i := 0; i < rows; i++ {
			copy(sig[(i*m+model)*q:(i*m+model+1)*q], phi[i*q:(i+1)*q])
			pr, err := signal.Softmax(l64[i*q*classes:(i*q+1)*classes], classes, 1)
			if err != nil {
				return fmt.Errorf("model %d, record %d: %w", model, i, err)
			}
			copy(probs[(i*m+model)*classes:], pr)
		}
		return nil
	}
	for j, o := range outs {
		if err := fill(o.Audit, ad.Labels, ad.Signals, ad.Probs, j); err != nil {
			return nil, err
		}
		if err := fill(o.Pop, ad.PopLabels, ad.Population, ad.PopProbs, j); err != nil {
			return nil, err
		}
	}
	return ad, ad.Validate()
}

// parseAttacks parses the attacks' parameters once, with audit.num_ref_models as every attack's
// num_ref_models unless the attack sets its own.
func (p *Plan) parseAttacks() ([]attack.Attack, error) {
	out := make([]attack.Attack, len(p.Attacks))
	for i, a := range p.Attacks {
		s, err := attack.Lookup(a.Name)
		if err != nil {
			return nil, fmt.Errorf("audit.attacks[%d]: %w", i, err)
		}
		params := a.Params
		if _, set := params["num_ref_models"]; !set && s.Has("num_ref_models") && p.NumRef > 0 {
			params = maps.Clone(params)
			if params == nil {
				params = map[string]string{}
			}
			params["num_ref_models"] = strconv.Itoa(p.NumRef)
		}
		if out[i], err = s.Parse(params); err != nil {
			return nil, fmt.Errorf("audit.attacks[%d] (%s): %w", i, a.Name, err)
		}
	}
	return out, nil
}

// attackLabel names an attack with the parameters that distinguish it, e.g. "lira (online)".
func attackLabel(a AttackConfig) string {
	if len(a.Params) == 0 {
		return a.Name
	}
	var parts []string
	for _, k := range sortedKeys(a.Params) {
		v := a.Params[k]
		switch {
		case k == "online" && v == "true":
			parts = append(parts, "online")
		case k == "online" && v == "false":
			parts = append(parts, "offline")
		case k == "tune_offline_a" && v == "true":
			parts = append(parts, "a tuned")
		default:
			parts = append(parts, k+"="+v)
		}
	}
	return a.Name + " (" + strings.Join(parts, ", ") + ")"
}

func modelName(c *Config) string {
	if !c.Train.Model.IsZero() {
		return "custom"
	}
	if c.Train.ModelName == "" {
		return "mlp"
	}
	return c.Train.ModelName
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// writePlan saves the membership matrix of the audited records and the run metadata.
func writePlan(c *Config, p *Plan) error {
	ms, err := p.Memberships.Rows(p.Audit)
	if err != nil {
		return err
	}
	if err := npy.WriteFile(filepath.Join(c.Run.LogDir, "memberships.npy"), npy.NewBool(ms.Members, ms.N, ms.M)); err != nil {
		return err
	}
	meta := map[string]any{
		"version": 1, "config": c, "models": p.Models, "targets": p.Targets,
		"audited_records": p.Audit, "population_records": p.PopulationIdx,
	}
	return writeJSON(filepath.Join(c.Run.LogDir, "metadata.json"), meta)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return npy.WriteAtomic(path, func(w io.Writer) error { _, err := w.Write(append(b, '\n')); return err })
}

// WriteSummary prints the attack table and the per-stage timing table.
func (r *Result) WriteSummary(w io.Writer) {
	if r.Usage != nil {
		writeUsage(w, r.Usage)
		return
	}
	if r.Text != nil {
		r.Text.writeSummary(w)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "attack\ttarget\tAUC\tTPR@10%%FPR\tTPR@1%%FPR\tTPR@0.1%%FPR\tTPR@0%%FPR\tε≥ (δ=%s)\n", metric.FormatDelta(cmp.Or(r.DP.delta(), metric.DefaultEpsilonDelta)))
	notDP := ""
	for _, a := range r.Attacks {
		row := func(name string, m metric.Result, eps *metric.EpsilonBound) {
			fmt.Fprintf(tw, "%s\t%s\t%.4f", a.Label, name, m.AUC)
			for _, f := range []float64{0.1, 0.01, 0.001, 0} {
				e, _ := m.Entry(f)
				if e.BelowResolution {
					io.WriteString(tw, "\tbelow res.")
				} else {
					fmt.Fprintf(tw, "\t%.4f", e.TPR)
				}
			}
			switch {
			case eps == nil:
				io.WriteString(tw, "\t–")
			case !eps.DPBound:
				io.WriteString(tw, "\tn/a")
				if notDP == "" {
					notDP = eps.Caveat
				}
			default:
				fmt.Fprintf(tw, "\t%.3f", eps.Value)
			}
			fmt.Fprintln(tw)
		}
		for t, m := range a.Targets {
			var eps *metric.EpsilonBound
			if t < len(a.Epsilon) {
				eps = a.Epsilon[t]
			}
			row(strconv.Itoa(t), m, eps)
		}
		if a.Pooled != nil {
			row("pooled", *a.Pooled, a.PooledEpsilon)
		}
	}
	tw.Flush()
	if notDP != "" {
		fmt.Fprintf(w, "ε≥ n/a: not a DP bound: %s\n", notDP)
	}
	if len(r.Slices) > 0 {
		writeSlices(w, r.Slices)
	}
	writeUsers(w, r.Users, r.UsersListed)
	for _, sk := range r.Skipped {
		fmt.Fprintf(w, "not run: %s: %s\n", sk.Label, sk.Reason)
	}
	r.writeDP(w)
	if r.Ranges != nil {
		writeRanges(w, r.Ranges)
	}
	if len(r.Samples) > 0 {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "record\tmodels in/out\tmean loss in\tmean loss out\tAUC\tadvantage")
		for _, s := range r.Samples {
			fmt.Fprintf(tw, "%d\t%d/%d\t%.4f\t%.4f\t%.3f\t%.3f\n", s.Record, len(s.InLoss), len(s.OutLoss), mean(s.InLoss), mean(s.OutLoss), s.AUC, s.Advantage)
		}
		tw.Flush()
	}
	if len(r.Models) > 0 {
		m := r.Models[0]
		if m.TrainMSE != 0 || m.TestMSE != 0 {
			fmt.Fprintf(w, "\ntarget model 0: train MSE %.4f, test MSE %.4f (standardised target; gap %.4f); MAE %.4f, %.4f; R² %.4f, %.4f\n",
				m.TrainMSE, m.TestMSE, m.TestMSE-m.TrainMSE, m.TrainMAE, m.TestMAE, m.TrainR2, m.TestR2)
		} else {
			fmt.Fprintf(w, "\ntarget model 0: train accuracy %.4f, test accuracy %.4f (gap %.4f)\n", m.TrainAccuracy, m.TestAccuracy, m.TrainAccuracy-m.TestAccuracy)
		}
	}
	writeFit(w, r.ReferenceFit)
	fmt.Fprintf(w, "models: %d trained, %d reused from %s", r.Trained, r.Reused, r.Dir)
	if r.External > 0 {
		fmt.Fprintf(w, ", %d read from files", r.External)
	}
	fmt.Fprint(w, "\n\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stage\tseconds\t")
	total := 0.0
	for _, s := range r.Stages {
		fmt.Fprintf(tw, "%s\t%.2f\t\n", s.Name, s.Seconds)
		total += s.Seconds
	}
	fmt.Fprintf(tw, "total\t%.2f\t\n", total)
	tw.Flush()
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}
