package validity

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/internal/parallel"
	"github.com/pmeter/pmeter/metric"
)

// TPRFPR is the false positive rate at which the null harness checks the TPR: 0.1 %.
const TPRFPR = 0.001

// Config configures Run.
type Config struct {
	// Seeds is the number of independent data sets S per design (at least 3), each of Records audited
	// and Population population records.
	Seeds, Records, Population int
	// Null and Leak select the harnesses to run.
	Null, Leak bool
	// Variants and Designs span the cells: every variant under every design.
	Variants []Variant
	Designs  []Design
	// Signal is the synthetic signal model (DefaultSignal when zero).
	Signal Signal
	// Alpha is the significance of the ε lower bounds checked by the null harness (0.05 when 0).
	Alpha float64
	// Level is the harnesses' significance (0.001 when 0). The AUC and TPR intervals of a harness are
	// at two-sided level Level/cells each (Bonferroni over its cells); a cell's count of positive ε bounds
	// fails when its binomial tail probability is below Level.
	Level float64
	// Permutations is the number of random permutations of the memberships that estimate a seed's null
	// TPR (20 when 0).
	Permutations int
	// Workers is the number of data sets processed at once (0: GOMAXPROCS).
	Workers int
	// Seed is the base seed; every data set's seed derives from it, the harness, the design and the seed
	// index.
	Seed uint64
	// Progress, when set, is called after every data set with the number done and the total.
	Progress func(done, total int)
}

// FullConfig returns the full run of both harnesses (`pmeter validate`): 50 seeds of 3,000 audited and
// 3,000 population records, every variant including the slow ones, every design (about 20 minutes on 2
// cores, most of it the MLP shadow attack).
func FullConfig() Config {
	return Config{Seeds: 50, Records: 3000, Population: 3000, Null: true, Leak: true, Variants: Variants(true), Designs: Designs()}
}

// ReducedConfig returns the reduced run that `go test ./validity` performs (CI): 20 seeds of 2,500
// audited and 2,500 population records (enough non-members for TPR at 0.1 % FPR to allow one false
// positive), without the slow variants: about 100 s of CPU for both harnesses, under a minute on 2 cores.
func ReducedConfig() Config {
	return Config{Seeds: 20, Records: 2500, Population: 2500, Null: true, Leak: true, Variants: Variants(false), Designs: Designs()}
}

func (c *Config) defaults() error {
	if c.Signal == (Signal{}) {
		c.Signal = DefaultSignal()
	}
	if c.Alpha == 0 {
		c.Alpha = 0.05
	}
	if c.Level == 0 {
		c.Level = 0.001
	}
	if c.Permutations == 0 {
		c.Permutations = 20
	}
	switch {
	case c.Seeds < 3:
		return fmt.Errorf("validity: %d seeds; want at least 3 (the intervals come from the spread across seeds)", c.Seeds)
	case c.Records < 20:
		return fmt.Errorf("validity: %d records; want at least 20", c.Records)
	case c.Population < 1:
		return fmt.Errorf("validity: %d population records; want at least 1", c.Population)
	case !(c.Alpha > 0 && c.Alpha < 1):
		return fmt.Errorf("validity: alpha %v; want a value in (0, 1)", c.Alpha)
	case !(c.Level > 0 && c.Level < 1):
		return fmt.Errorf("validity: level %v; want a value in (0, 1)", c.Level)
	case c.Permutations < 1:
		return fmt.Errorf("validity: %d permutations; want at least 1", c.Permutations)
	case !c.Null && !c.Leak:
		return errors.New("validity: no harness selected")
	case len(c.Variants) == 0 || len(c.Designs) == 0:
		return fmt.Errorf("validity: %d variants × %d designs; want at least one of each", len(c.Variants), len(c.Designs))
	}
	for _, v := range c.Variants {
		if v.Queries < 1 {
			return fmt.Errorf("validity: variant %s has %d queries; want at least 1", v.Name, v.Queries)
		}
	}
	for _, g := range c.Designs {
		if g.Models < 4 {
			return fmt.Errorf("validity: design %s has %d models; want at least 4", g.Name, g.Models)
		}
	}
	return c.Signal.check()
}

// Report holds every number of a run. Null and Leak hold one cell per variant × design, variant-major.
type Report struct {
	Seeds        int           `json:"seeds"`
	Records      int           `json:"records"`
	Population   int           `json:"population"`
	Alpha        float64       `json:"alpha"`
	Level        float64       `json:"level"`
	Permutations int           `json:"permutations"`
	Signal       Signal        `json:"signal"`
	Seed         uint64        `json:"seed"`
	Elapsed      time.Duration `json:"elapsed_ns"`
	Null         []NullCell    `json:"null,omitempty"`
	Leak         []LeakCell    `json:"leak,omitempty"`
}

// NullCell is the null harness's verdict on one variant under one design: the target model leaks
// nothing, so the mean AUC must be 0.5, the TPR at 0.1 % FPR its value under permuted memberships, and
// the ε lower bound positive on at most an Alpha fraction of the seeds.
type NullCell struct {
	Variant string            `json:"variant"`
	Attack  string            `json:"attack"`
	Params  map[string]string `json:"params"`
	Queries int               `json:"queries"`
	Design  string            `json:"design"`
	// Errors lists the seeds on which the attack failed ("seed 3: …"); any fails the cell.
	Errors []string `json:"errors,omitempty"`
	// AUC is the interval for the mean AUC over seeds; AUCPass that it contains 0.5.
	AUC     Interval `json:"auc"`
	AUCPass bool     `json:"auc_pass"`
	// TPR is the interval for the mean of TPR − null TPR at TPRFPR; TPRPass that it contains 0.
	TPR         Interval `json:"tpr_minus_null"`
	MeanTPR     float64  `json:"mean_tpr"`
	MeanNullTPR float64  `json:"mean_null_tpr"`
	TPRPass     bool     `json:"tpr_pass"`
	// EpsPositive counts the seeds whose holdout ε lower bound is positive, EpsTail is P[Binomial(seeds,
	// Alpha) ≥ EpsPositive], and EpsPass that it is at least Level.
	EpsPositive int     `json:"epsilon_positive"`
	EpsTail     float64 `json:"epsilon_tail_probability"`
	EpsPass     bool    `json:"epsilon_pass"`
	// OneRun (the bernoulli design only: its memberships are the one-run audit's, independent coins with
	// probability ½) checks the one-run ε lower bounds with the target's records as canaries and
	// k+ = k− = Records/10 fixed in advance, one per statistic (metric.OneRunStats): each must be positive
	// on at most an Alpha fraction of the seeds, as EpsPositive.
	OneRun []OneRunNull `json:"one_run,omitempty"`
	// Pass: no seed failed and the checks pass.
	Pass bool `json:"pass"`
	// The per-seed values, in seed order (seeds that failed left out).
	SeedAUC     []float64 `json:"seed_auc"`
	SeedTPR     []float64 `json:"seed_tpr"`
	SeedNullTPR []float64 `json:"seed_null_tpr"`
	SeedEpsilon []float64 `json:"seed_epsilon"`
}

// OneRunNull is a one-run statistic's null check in a NullCell: Positive of Seeds bounds are positive,
// Tail is P[Binomial(Seeds, Alpha) ≥ Positive], and Pass that it is at least Level.
type OneRunNull struct {
	Method   string  `json:"method"`
	Positive int     `json:"epsilon_positive"`
	Seeds    int     `json:"seeds"`
	Tail     float64 `json:"epsilon_tail_probability"`
	Pass     bool    `json:"pass"`
}

// oneRunStats are the one-run statistics the null harness checks on the bernoulli design.
var oneRunStats = []metric.OneRunStat{metric.StatSteinke, metric.StatFDP, metric.StatFDPApprox}

// LeakCell is the leak harness's verdict on one variant under one design: with a target that leaks as
// the reference models do, the mean AUC must equal the one under the design's independent counterpart.
type LeakCell struct {
	Variant     string            `json:"variant"`
	Attack      string            `json:"attack"`
	Params      map[string]string `json:"params"`
	Queries     int               `json:"queries"`
	Design      string            `json:"design"`
	Independent string            `json:"independent"`
	Errors      []string          `json:"errors,omitempty"`
	MeanAUC     float64           `json:"mean_auc"`
	MeanIndAUC  float64           `json:"mean_independent_auc"`
	// Diff is Welch's interval for mean AUC − mean independent AUC; Pass that it contains 0.
	Diff       Interval  `json:"difference"`
	Pass       bool      `json:"pass"`
	SeedAUC    []float64 `json:"seed_auc"`
	SeedIndAUC []float64 `json:"seed_independent_auc"`
}

// Failures lists the failing cells, one line each, saying which check failed and why.
func (r *Report) Failures() []string {
	var out []string
	for _, c := range r.Null {
		if c.Pass {
			continue
		}
		var why []string
		if len(c.Errors) > 0 {
			why = append(why, fmt.Sprintf("%d seeds failed (%s)", len(c.Errors), c.Errors[0]))
		} else {
			if !c.AUCPass {
				why = append(why, fmt.Sprintf("mean AUC %.4f ± %.4f excludes 0.5", c.AUC.Mean, c.AUC.HalfWidth))
			}
			if !c.TPRPass {
				why = append(why, fmt.Sprintf("TPR@%g%%FPR %.4f against %.4f under permutation (difference %.4f ± %.4f)", 100*TPRFPR, c.MeanTPR, c.MeanNullTPR, c.TPR.Mean, c.TPR.HalfWidth))
			}
			if !c.EpsPass {
				why = append(why, fmt.Sprintf("ε > 0 on %d of %d seeds at α = %g (binomial tail %.2g)", c.EpsPositive, r.Seeds, r.Alpha, c.EpsTail))
			}
			for _, o := range c.OneRun {
				if !o.Pass {
					why = append(why, fmt.Sprintf("%s ε > 0 on %d of %d seeds at α = %g (binomial tail %.2g)", o.Method, o.Positive, o.Seeds, r.Alpha, o.Tail))
				}
			}
		}
		out = append(out, fmt.Sprintf("null %s | %s: %s", c.Design, c.Variant, strings.Join(why, "; ")))
	}
	for _, c := range r.Leak {
		if c.Pass {
			continue
		}
		why := fmt.Sprintf("mean AUC %.4f, %.4f with independent memberships (difference %.4f ± %.4f)", c.MeanAUC, c.MeanIndAUC, c.Diff.Mean, c.Diff.HalfWidth)
		if len(c.Errors) > 0 {
			why = fmt.Sprintf("%d seeds failed (%s)", len(c.Errors), c.Errors[0])
		}
		out = append(out, fmt.Sprintf("leak %s | %s: %s", c.Design, c.Variant, why))
	}
	return out
}

// Run runs the selected harnesses. Each data set (a harness, a design or its counterpart, a seed) is drawn
// once and every variant is run on it; data sets are processed on Workers goroutines. Attack errors
// fail their cells and are reported in them; Run itself fails only on a bad Config or when ctx is done.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	start := time.Now()
	scorers := make([]Scorer, len(cfg.Variants))
	scorerErr := make([]error, len(cfg.Variants))
	for k, v := range cfg.Variants {
		scorers[k], scorerErr[k] = v.scorer()
	}
	var jobs []job
	for _, h := range []struct {
		on   bool
		kind harness
	}{{cfg.Null, null}, {cfg.Leak, leak}} {
		if !h.on {
			continue
		}
		for gi := range cfg.Designs {
			for s := range cfg.Seeds {
				jobs = append(jobs, job{kind: h.kind, design: gi, seed: s})
				if h.kind == leak {
					jobs = append(jobs, job{kind: h.kind, design: gi, seed: s, independent: true})
				}
			}
		}
	}
	results := make([][]outcome, len(jobs))
	done := 0
	doneCh := make(chan struct{}, len(jobs))
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		for range doneCh {
			done++
			if cfg.Progress != nil {
				cfg.Progress(done, len(jobs))
			}
		}
	}()
	err := parallel.For(ctx, len(jobs), cfg.Workers, func(ctx context.Context, i int) error {
		var err error
		results[i], err = jobs[i].run(ctx, &cfg, scorers, scorerErr)
		doneCh <- struct{}{}
		return err
	})
	close(doneCh)
	<-progressDone
	if err != nil {
		return nil, err
	}

	rep := &Report{Seeds: cfg.Seeds, Records: cfg.Records, Population: cfg.Population, Alpha: cfg.Alpha, Level: cfg.Level,
		Permutations: cfg.Permutations, Signal: cfg.Signal, Seed: cfg.Seed}
	// per[kind][independent][design][seed] are the outcomes of one data set, one per variant.
	per := map[job][]outcome{}
	for i, j := range jobs {
		per[j] = results[i]
	}
	cells := len(cfg.Variants) * len(cfg.Designs)
	level := cfg.Level / float64(cells)
	for k, v := range cfg.Variants {
		for gi, g := range cfg.Designs {
			if cfg.Null {
				rep.Null = append(rep.Null, nullCell(&cfg, v, g, level, func(s int) outcome { return per[job{kind: null, design: gi, seed: s}][k] }))
			}
			if cfg.Leak {
				rep.Leak = append(rep.Leak, leakCell(&cfg, v, g, level, func(s int, ind bool) outcome {
					return per[job{kind: leak, design: gi, seed: s, independent: ind}][k]
				}))
			}
		}
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

func nullCell(cfg *Config, v Variant, g Design, level float64, at func(seed int) outcome) NullCell {
	c := NullCell{Variant: v.Name, Attack: v.Attack, Params: v.Params, Queries: v.Queries, Design: g.Name}
	var diffs []float64
	for s := range cfg.Seeds {
		o := at(s)
		if o.err != nil {
			c.Errors = append(c.Errors, fmt.Sprintf("seed %d: %v", s, o.err))
			continue
		}
		c.SeedAUC = append(c.SeedAUC, o.auc)
		c.SeedTPR = append(c.SeedTPR, o.tpr)
		c.SeedNullTPR = append(c.SeedNullTPR, o.nullTPR)
		c.SeedEpsilon = append(c.SeedEpsilon, o.eps)
		diffs = append(diffs, o.tpr-o.nullTPR)
		if o.eps > 0 {
			c.EpsPositive++
		}
		if len(o.oneRun) > 0 && c.OneRun == nil {
			for _, st := range oneRunStats {
				m, _ := metric.OneRunOptions{Stat: st}.Method()
				c.OneRun = append(c.OneRun, OneRunNull{Method: m})
			}
		}
		for i, v := range o.oneRun {
			c.OneRun[i].Seeds++
			if v > 0 {
				c.OneRun[i].Positive++
			}
		}
	}
	if len(c.SeedAUC) < 2 {
		return c
	}
	c.AUC = meanInterval(c.SeedAUC, level)
	c.AUCPass = c.AUC.Contains(0.5)
	c.TPR = meanInterval(diffs, level)
	c.MeanTPR, _ = meanSD(c.SeedTPR)
	c.MeanNullTPR, _ = meanSD(c.SeedNullTPR)
	c.TPRPass = c.TPR.Contains(0)
	c.EpsTail = binomialTail(c.EpsPositive, len(c.SeedEpsilon), cfg.Alpha)
	c.EpsPass = c.EpsTail >= cfg.Level
	c.Pass = len(c.Errors) == 0 && c.AUCPass && c.TPRPass && c.EpsPass
	for i := range c.OneRun {
		o := &c.OneRun[i]
		o.Tail = binomialTail(o.Positive, o.Seeds, cfg.Alpha)
		o.Pass = o.Tail >= cfg.Level
		c.Pass = c.Pass && o.Pass
	}
	return c
}

func leakCell(cfg *Config, v Variant, g Design, level float64, at func(seed int, independent bool) outcome) LeakCell {
	c := LeakCell{Variant: v.Name, Attack: v.Attack, Params: v.Params, Queries: v.Queries, Design: g.Name, Independent: g.Independent().Name}
	for s := range cfg.Seeds {
		for _, ind := range []bool{false, true} {
			o := at(s, ind)
			switch {
			case o.err != nil:
				side := ""
				if ind {
					side = " (independent)"
				}
				c.Errors = append(c.Errors, fmt.Sprintf("seed %d%s: %v", s, side, o.err))
			case ind:
				c.SeedIndAUC = append(c.SeedIndAUC, o.auc)
			default:
				c.SeedAUC = append(c.SeedAUC, o.auc)
			}
		}
	}
	if len(c.SeedAUC) < 2 || len(c.SeedIndAUC) < 2 {
		return c
	}
	c.MeanAUC, _ = meanSD(c.SeedAUC)
	c.MeanIndAUC, _ = meanSD(c.SeedIndAUC)
	c.Diff = welchInterval(c.SeedAUC, c.SeedIndAUC, level)
	c.Pass = len(c.Errors) == 0 && c.Diff.Contains(0)
	return c
}

type harness int

const (
	null harness = iota
	leak
)

func (h harness) String() string { return [...]string{"null", "leak"}[h] }

// job is one data set: a harness, a design (index into Config.Designs) or its independent counterpart,
// and a seed index.
type job struct {
	kind        harness
	design      int
	seed        int
	independent bool
}

// outcome is one variant's result on one data set.
type outcome struct {
	auc, tpr, nullTPR, eps float64
	oneRun                 []float64 // the one-run bounds of oneRunStats, when checked
	err                    error
}

// dataSeed derives the seed of a data set from the base seed and what identifies it.
func (j job) dataSeed(base uint64, g Design) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|%s|%t|%d", j.kind, g.Name, j.independent, j.seed)
	x := base ^ h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// run draws the job's data set and runs every variant on it. The target is model 0 on even seeds and the
// last model on odd ones. The error is ctx's or a data-generation failure; attack errors go into the
// outcomes.
func (j job) run(ctx context.Context, cfg *Config, scorers []Scorer, scorerErr []error) ([]outcome, error) {
	g := cfg.Designs[j.design]
	seed := j.dataSeed(cfg.Seed, g)
	m := g.Models
	if j.independent {
		m = g.Independent().Models
	}
	target := 0
	if j.seed%2 == 1 {
		target = m - 1
	}
	var members []bool
	var err error
	if j.independent {
		members, err = g.independentMembers(cfg.Records, target, seed)
	} else {
		members, err = g.members(cfg.Records, seed)
	}
	if err != nil {
		return nil, err
	}
	q := 1
	for _, v := range cfg.Variants {
		q = max(q, v.Queries)
	}
	draw := Draw{Members: members, N: cfg.Records, M: m, Z: cfg.Population, Q: q, Seed: seed, Design: g.Kind}
	if j.independent {
		draw.Design = g.Independent().Kind
	}
	if j.kind == null {
		draw.Silent = []int{target}
	}
	full, err := Generate(cfg.Signal, draw)
	if err != nil {
		return nil, fmt.Errorf("%s harness, design %s, seed %d: %w", j.kind, g.Name, j.seed, err)
	}
	views := map[int]*attack.Data{q: full}
	tm := full.TargetMembers(target)
	var perms [][]bool
	if j.kind == null {
		r := rand.New(rand.NewPCG(seed, 0x7065726d)) // "perm"
		for range cfg.Permutations {
			p := slices.Clone(tm)
			r.Shuffle(len(p), func(a, b int) { p[a], p[b] = p[b], p[a] })
			perms = append(perms, p)
		}
	}
	out := make([]outcome, len(cfg.Variants))
	for k, v := range cfg.Variants {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if scorerErr[k] != nil {
			out[k].err = scorerErr[k]
			continue
		}
		d, ok := views[v.Queries]
		if !ok {
			d = firstQueries(full, v.Queries)
			views[v.Queries] = d
		}
		oneRun := j.kind == null && !j.independent && g.Kind == attack.DesignBernoulli
		out[k] = evaluate(scorers[k], d, target, tm, perms, j.kind == null, oneRun, cfg.Alpha, seed)
	}
	return out, nil
}

// evaluate scores d for target and measures the scores: AUC, and for the null harness TPR at TPRFPR, its
// mean under the permuted memberships perms, the holdout ε lower bound, and with oneRun the one-run
// bounds (the records as canaries, k+ = k− = a tenth of them).
func evaluate(score Scorer, d *attack.Data, target int, tm []bool, perms [][]bool, isNull, oneRun bool, alpha float64, seed uint64) (o outcome) {
	scores, err := score(d, target)
	if err != nil {
		o.err = err
		return o
	}
	if len(scores) != len(tm) {
		o.err = fmt.Errorf("%d scores for %d records", len(scores), len(tm))
		return o
	}
	if i := slices.IndexFunc(scores, math.IsNaN); i >= 0 {
		o.err = fmt.Errorf("score of record %d is NaN", i)
		return o
	}
	c := metric.ROC(scores, tm, true)
	o.auc = metric.AUC(c)
	if !isNull {
		return o
	}
	o.tpr = metric.TPRAtFPR(c, TPRFPR)
	for _, p := range perms {
		o.nullTPR += metric.TPRAtFPR(metric.ROC(scores, p, true), TPRFPR)
	}
	o.nullTPR /= float64(len(perms))
	b, err := metric.HoldoutEpsilon(scores, tm, metric.EpsilonOptions{Alpha: alpha, Seed: seed})
	if err != nil {
		o.err = fmt.Errorf("ε bound: %w", err)
		return o
	}
	o.eps = b.Value
	if oneRun {
		k := max(1, len(scores)/10)
		for _, st := range oneRunStats {
			b, err := metric.OneRunAudit(scores, tm, metric.OneRunOptions{Stat: st, Alpha: alpha, KPlus: k, KMinus: k, Seed: seed})
			if err != nil {
				o.err = fmt.Errorf("one-run %s bound: %w", st, err)
				return o
			}
			o.oneRun = append(o.oneRun, b.Value)
		}
	}
	return o
}

// firstQueries returns d with its first q queries only (signals and population signals; the rest shared).
func firstQueries(d *attack.Data, q int) *attack.Data {
	r := *d
	r.Q = q
	take := func(v []float64, rows int) []float64 {
		out := make([]float64, 0, rows*d.M*q)
		for k := range rows * d.M {
			out = append(out, v[k*d.Q:k*d.Q+q]...)
		}
		return out
	}
	r.Signals = take(d.Signals, d.N)
	r.Population = take(d.Population, d.Z)
	return &r
}
