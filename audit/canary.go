package audit

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/dataset"
	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/report"
)

// The DP audit games of audit.privacy_game (pmeter). Both train their target models on a fixed training
// set plus canaries whose inclusion is drawn at random, score every canary by the target's loss on it
// (the LOSS attack, which needs no reference model), and bound the training algorithm's ε from how well
// the scores tell included canaries from excluded ones.
const (
	// GameDPOneRun is the one-run audit of Steinke, Nasr & Jagielski ("Privacy Auditing with One (1)
	// Training Run", NeurIPS 2023): one training run, m canaries each included independently with
	// probability ½; the k+ highest-scoring canaries are guessed included and the k− lowest excluded,
	// with k± fixed in the config before anything is trained; Steinke et al.'s bound and the f-DP bound of
	// Mahloujifar, Melis & Chaudhuri (2024).
	GameDPOneRun = "dp_one_run"
	// GameDPMultiRun is the multi-run game of Jagielski, Ullman & Oprea ("Auditing Differentially Private
	// Machine Learning", NeurIPS 2020): run.num_experiments training runs, each canary in a random half of
	// them (chosen independently per canary); per canary, a threshold on its score chosen on half of the
	// runs and Clopper–Pearson bounds on the others (metric.MultiRunEpsilon).
	GameDPMultiRun = "dp_multi_run"
)

// The kinds of canaries (audit.canaries.kind).
const (
	// CanaryNatural: records of the training pool, as they are; they leave the fixed training set.
	CanaryNatural = "natural"
	// CanaryMislabelled: records of the training pool with a wrong label drawn uniformly from the other
	// classes; the originals leave the fixed training set. A model fits such a record only by memorising
	// it, so they are the strongest canaries that still look like data.
	CanaryMislabelled = "mislabelled"
	// CanaryGradient: gradients, not records: the white-box audit (whitebox.go, package dpaudit), which
	// needs train.dp; the whole training pool is the fixed training set.
	CanaryGradient = "gradient"
	// CanaryOOD: out-of-distribution inputs, each feature uniform over the training pool's range (images:
	// over the range of all pixels, so uniform noise images; tabular data: per feature), with a uniformly
	// random label; the whole training pool is the fixed training set.
	CanaryOOD = "ood"
)

// CanaryConfig is audit.canaries (pmeter): the canaries of the DP audit games. Absent fields take
// defaults (applyDPDefaults): 1000 mislabelled canaries for dp_one_run (one for dp_multi_run), and k_plus
// = k_minus = count/10.
type CanaryConfig struct {
	Count  int    `yaml:"count"`   // m
	Kind   string `yaml:"kind"`    // natural, mislabelled (default), ood or gradient (white-box)
	KPlus  *int   `yaml:"k_plus"`  // dp_one_run: canaries guessed included (the highest scores)
	KMinus *int   `yaml:"k_minus"` // dp_one_run: canaries guessed excluded (the lowest scores)
	// Gradient canaries only: Direction is dirac (default) or random, Score likelihood (default) or sum,
	// Isolate (default true) whether the scores leave out the data's clipped gradient sum (dpaudit.Spec).
	Direction string `yaml:"direction,omitempty"`
	Score     string `yaml:"score,omitempty"`
	Isolate   *bool  `yaml:"isolate,omitempty"`
}

// isCanaryGame reports whether the config plays a DP audit game.
func (c *Config) isCanaryGame() bool {
	return c.Audit.PrivacyGame == GameDPOneRun || c.Audit.PrivacyGame == GameDPMultiRun
}

// gameAlpha is the significance of the DP audit games' bounds.
const gameAlpha = 0.05

// CanaryResult describes the canaries of a DP audit game (run.json "canaries"). Which canary was in which
// run is memberships.npy (canaries × runs).
type CanaryResult struct {
	Game  string `json:"game"`
	Kind  string `json:"kind"`
	Count int    `json:"count"`
	// FixedRecords is the size of the training set every run has besides its canaries.
	FixedRecords int `json:"fixed_records"`
	// KPlus and KMinus are the one-run game's guesses, fixed before training.
	KPlus  int `json:"k_plus,omitempty"`
	KMinus int `json:"k_minus,omitempty"`
	// Records holds each canary's record of the training pool (natural and mislabelled canaries), or −1
	// (ood); Labels the label each canary is trained with (mislabelled: the wrong one).
	Records []int `json:"records"`
	Labels  []int `json:"labels"`
	// Included counts the canaries included in each run.
	Included []int `json:"included"`

	// Gradient canaries (kind gradient): their direction, score and isolation, the model's trainable
	// parameters d, whether k± were planned from the claim before training (dpaudit.PlanGuesses), the
	// mean number of steps an included canary was inserted in, per run (about q·T), and the Dirac
	// canaries' coordinates in the flattened parameters (the same in every run).
	Direction      string    `json:"direction,omitempty"`
	Score          string    `json:"score,omitempty"`
	Isolate        *bool     `json:"isolate,omitempty"`
	Parameters     int       `json:"parameters,omitempty"`
	PlannedGuesses bool      `json:"planned_guesses,omitempty"`
	MeanInsertions []float64 `json:"mean_insertions,omitempty"`
	Coordinates    []int     `json:"coordinates,omitempty"`
}

// reportID is canary i's id in the report and records.csv: its training-pool record, or for an ood
// canary its number.
func (r *CanaryResult) reportID(i int) int {
	if r.Records[i] >= 0 {
		return r.Records[i]
	}
	return i
}

// canarySet is the training data of a canary game: the fixed records (rows 0..fixed−1) followed by the
// m canaries.
type canarySet struct {
	pool    *dataset.Dataset
	fixed   int
	records []int // per canary: its record of the training pool, or −1 (ood)
}

// makeCanaries builds the canaries of audit.canaries from the training pool of d, drawing every random
// choice from seed.
func makeCanaries(c *Config, d *Data, seed uint64) (*canarySet, error) {
	k := c.Audit.Canaries
	n, m, classes := d.Pool.Len(), k.Count, d.Pool.Classes
	src := rand.NewPCG(seed, 0x63616e61727921) // "canary!"
	unit := func() float64 { return float64(src.Uint64()>>11) / (1 << 53) }
	cs := &canarySet{}
	if k.Kind == CanaryOOD {
		pool := &dataset.Dataset{Name: d.Pool.Name, Shape: slices.Clone(d.Pool.Shape), Classes: classes,
			FeatureNames: d.Pool.FeatureNames, ClassNames: d.Pool.ClassNames,
			X: slices.Grow(slices.Clone(d.Pool.X), m*d.Pool.Dim()), Y: slices.Grow(slices.Clone(d.Pool.Y), m)}
		lo, hi := featureRanges(d.Pool)
		for range m {
			for j := range lo {
				pool.X = append(pool.X, float32(lo[j]+unit()*(hi[j]-lo[j])))
			}
			pool.Y = append(pool.Y, int(src.Uint64()%uint64(classes)))
		}
		cs.pool, cs.fixed = pool, n
		cs.records = make([]int, m)
		for i := range cs.records {
			cs.records[i] = -1
		}
		return cs, pool.Validate()
	}
	if m >= n {
		return nil, c.pathError([]string{"audit", "canaries", "count"}, "%d %s canaries drawn from a training pool of %d records leave no fixed training set; want fewer than %d",
			m, k.Kind, n, n)
	}
	fixed, picked, err := dataset.HoldOut(n, m, seed)
	if err != nil {
		return nil, err
	}
	if cs.pool, err = d.Pool.Subset(append(slices.Clone(fixed), picked...)); err != nil {
		return nil, err
	}
	cs.fixed, cs.records = len(fixed), picked
	if k.Kind == CanaryMislabelled {
		for i := range m {
			y := &cs.pool.Y[cs.fixed+i]
			*y = (*y + 1 + int(src.Uint64()%uint64(classes-1))) % classes
		}
	}
	return cs, nil
}

// featureRanges returns the range of each feature of ds: per feature for tabular data, the range of all
// values for every feature of images (C × H × W), so that an ood canary is a uniform noise image.
func featureRanges(ds *dataset.Dataset) (lo, hi []float64) {
	dim := ds.Dim()
	lo, hi = make([]float64, dim), make([]float64, dim)
	for j := range lo {
		lo[j], hi[j] = math.Inf(1), math.Inf(-1)
	}
	for k, v := range ds.X {
		j := k % dim
		lo[j], hi[j] = min(lo[j], float64(v)), max(hi[j], float64(v))
	}
	if len(ds.Shape) == 3 {
		l, h := slices.Min(lo), slices.Max(hi)
		for j := range lo {
			lo[j], hi[j] = l, h
		}
	}
	return lo, hi
}

// makeCanaryPlan plans the runs of a canary game on the data d of the canary set cs: which canaries each
// run includes, the audited records (the canaries), the population and one job per run.
func makeCanaryPlan(ctx context.Context, c *Config, d *Data, cs *canarySet) (*Plan, error) {
	seed := uint64(c.Run.RandomSeed)
	runs, m := c.Run.NumExperiments, c.Audit.Canaries.Count
	p := &Plan{Models: runs, Targets: runs, Attacks: []AttackConfig{{Name: "loss"}}}
	var inc *dataset.Memberships
	var err error
	if c.Audit.PrivacyGame == GameDPOneRun {
		p.Design = attack.DesignBernoulli // each canary in with probability ½, independently
		inc, err = dataset.BernoulliMemberships(m, runs, derive(seed, "canary-inclusion"))
	} else {
		p.Design = attack.DesignLiRA // each canary in a uniformly random half of the runs, independently per canary
		inc, err = dataset.LiRAMemberships(m, runs, 0.5, derive(seed, "canary-inclusion"))
	}
	if err != nil {
		return nil, err
	}
	p.Memberships = dataset.NewMemberships(cs.fixed+m, runs)
	for i := range cs.fixed * runs {
		p.Memberships.Members[i] = true
	}
	copy(p.Memberships.Members[cs.fixed*runs:], inc.Members)
	p.Audit = make([]int, m)
	for i := range p.Audit {
		p.Audit[i] = cs.fixed + i
	}
	if p.DP, err = c.resolveDP(ctx, cs.fixed+m/2); err != nil {
		return nil, err
	}
	if err := p.addJobs(c, d, seed); err != nil {
		return nil, err
	}
	return p, nil
}

// runCanaryGame plays the DP audit game of c on data d (after Run has checked the plan's estimate): it
// builds the canaries, trains (or reuses) the runs' models, scores the canaries, computes the game's
// bounds and writes run.json and the report.
func runCanaryGame(ctx context.Context, c *Config, d *Data, opt Options, res *Result, stage func(string)) (*Result, error) {
	if c.Audit.Canaries.Kind == CanaryGradient {
		return runGradientGame(ctx, c, d, opt, res, stage)
	}
	seed := uint64(c.Run.RandomSeed)
	k := c.Audit.Canaries
	cs, err := makeCanaries(c, d, derive(seed, "canaries"))
	if err != nil {
		return nil, fmt.Errorf("making the canaries: %w", err)
	}
	cd := &Data{Pool: cs.pool, Population: d.Population, ClassNames: d.ClassNames,
		Source: fmt.Sprintf("%s, with %d %s canaries", d.Source, k.Count, k.Kind)}
	p, err := makeCanaryPlan(ctx, c, cd, cs)
	if err != nil {
		return nil, err
	}
	res.DP = p.DP
	if _, err := c.trainConfigFor(0, p.DP, opt); err != nil { // before anything is written
		return nil, err
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
	opt.logf("plan: %s: %d %s canaries, %d fixed training records, %d training run%s, model %s, %d epochs",
		c.Audit.PrivacyGame, k.Count, k.Kind, cs.fixed, p.Models, plural(p.Models), modelName(c), c.Train.Epochs)
	if p.DP != nil {
		opt.logf("dp: %s", p.DP)
	}
	outs, err := trainAll(ctx, c, cd, p, c.Run.LogDir, opt)
	if err != nil {
		return nil, err
	}
	res.addModels(outs)
	stage("train models and extract signals")

	data, err := attackData(cd, p, outs, c.Audit.NumQueries)
	if err != nil {
		return nil, err
	}
	attacks, err := p.parseAttacks()
	if err != nil {
		return nil, err
	}
	res.Canaries = &CanaryResult{Game: c.Audit.PrivacyGame, Kind: k.Kind, Count: k.Count, FixedRecords: cs.fixed,
		Records: cs.records, Labels: data.Labels}
	if c.Audit.PrivacyGame == GameDPOneRun {
		res.Canaries.KPlus, res.Canaries.KMinus = *k.KPlus, *k.KMinus
	}
	res.Records, res.Labels = cs.records, data.Labels
	delta := res.DP.delta()
	ar := AttackResult{Name: "loss", Label: "loss", Params: attacks[0].Params}
	for t := 0; t < p.Targets; t++ {
		members := data.TargetMembers(t)
		res.Members = append(res.Members, members)
		scores, err := attacks[0].Run(data, t)
		if err != nil {
			return nil, fmt.Errorf("scoring the canaries against run %d: %w", t, err)
		}
		ar.Scores = append(ar.Scores, scores)
		in := 0
		for _, b := range members {
			if b {
				in++
			}
		}
		res.Canaries.Included = append(res.Canaries.Included, in)
	}
	game := canaryGame{oneRun: c.Audit.PrivacyGame == GameDPOneRun, name: "one-run", multiName: "multi-run",
		ids: cs.records, noROC: "the LOSS attack's metrics need included and excluded canaries"}
	if game.oneRun {
		game.kPlus, game.kMinus = *k.KPlus, *k.KMinus
	}
	if res.DPAudits, err = game.audit(&ar, res.Members, delta, derive(seed, "dp-audit"), opt.logf); err != nil {
		return nil, err
	}
	res.Attacks = []AttackResult{ar}
	stage("attacks and metrics")
	if err := writeReport(ctx, c, cd, p, res); err != nil {
		return nil, err
	}
	if err := writeJSON(filepath.Join(c.Run.LogDir, "run.json"), res); err != nil {
		return nil, err
	}
	stage("report")
	return res, nil
}

// addModels records the models of a run and counts those trained, reused and read from files.
func (r *Result) addModels(outs []*modelOutputs) {
	for _, o := range outs {
		r.Models = append(r.Models, o.Info)
		switch {
		case o.Info.External:
			r.External++
		case o.Info.Cached:
			r.Reused++
		default:
			r.Trained++
		}
	}
}

// canaryGame describes how a canary game (dp_one_run or dp_multi_run, with any kind of canary) turns
// the canaries' scores into its metrics and bounds.
type canaryGame struct {
	oneRun          bool   // the one-run game (one training run); else the multi-run game
	name, multiName string // prefixes of the one-run and the multi-run bounds' names
	ids             []int  // the canaries' training-pool records (−1 or nil: none), for the multi-run bounds' names
	kPlus, kMinus   int    // the one-run game's guesses
	noROC           string // the warning logged when the one run's canaries are all in or all out
}

// audit computes the metrics of ar, whose Scores hold the canaries' scores against each run's model
// (higher = more likely included), and returns the game's bounds at δ = delta (0: the default), with
// members[t] the canaries' inclusions in run t. In the one-run game, the run's ROC and holdout ε bound
// go in ar.Targets and ar.Epsilon — the inclusions are independent coins, so the bound is a DP bound —
// or, when the canaries are all in or all out, a warning is logged (the game's bounds stand), and the
// bounds are oneRunAudits'. In the multi-run game a run holds too few canaries for metrics of its
// own: the runs' canaries are pooled into ar.Pooled (the game's bounds are per canary, over the runs),
// and the bounds are multiRunAudits'.
func (g canaryGame) audit(ar *AttackResult, members [][]bool, delta float64, seed uint64, logf func(string, ...any)) ([]report.DPAudit, error) {
	if g.oneRun {
		if r, err := metric.Evaluate(ar.Scores[0], members[0]); err == nil {
			ar.Targets = []metric.Result{r}
			ar.Epsilon = []*metric.EpsilonBound{epsilonBound(ar.Scores[0], members[0], "", delta)}
		} else {
			logf("warning: %s: %v", g.noROC, err)
		}
		return oneRunAudits(g.name, ar.Scores[0], members[0], g.kPlus, g.kMinus, delta, seed)
	}
	ps, pm, err := metric.Pool(ar.Scores, members)
	if err != nil {
		return nil, err
	}
	r, err := metric.Evaluate(ps, pm)
	if err != nil {
		return nil, fmt.Errorf("the canaries of all runs: %w", err)
	}
	ar.Pooled = &r
	return multiRunAudits(g.multiName, ar.Scores, members, g.ids, delta, seed)
}

// oneRunAudits returns the one-run game's bounds at δ = delta (0: the default) and gameAlpha, from the
// canaries' scores (higher = more likely included) and inclusions: the kPlus highest-scoring canaries are
// guessed included and the kMinus lowest excluded (fixed before the scores exist; ties broken at random
// from seed), and the counts give Steinke et al.'s bound and the f-DP bound with the (ε, δ)-DP trade-off
// functions (both for every mechanism), and the f-DP bound of the Gaussian-DP family (within that family
// only; its caveat says so).
func oneRunAudits(name string, scores []float64, included []bool, kPlus, kMinus int, delta float64, seed uint64) ([]report.DPAudit, error) {
	var out []report.DPAudit
	for _, st := range []struct {
		name string
		stat metric.OneRunStat
	}{{name + " (Steinke et al.)", metric.StatSteinke}, {name + " (f-DP, Gaussian)", metric.StatFDP}, {name + " (f-DP, (ε, δ))", metric.StatFDPApprox}} {
		b, err := metric.OneRunAudit(scores, included, metric.OneRunOptions{Stat: st.stat, Alpha: gameAlpha, Delta: delta,
			KPlus: kPlus, KMinus: kMinus, Seed: seed})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", st.name, err)
		}
		out = append(out, report.DPAudit{Name: st.name, Bound: b})
	}
	return out, nil
}

// multiRunAudits returns the multi-run game's bounds at δ = delta (0: the default): scores[t][k] is
// canary k's score against run t's model (higher = more likely included) and in[t][k] whether run t
// included it. Each canary gets its own bound (metric.MultiRunEpsilon over the runs, split into halves
// from seed) at significance gameAlpha/m, so that all m hold together with confidence 1 − gameAlpha, and
// so does the largest. ids name the canaries (their training-pool records, −1 for ood).
func multiRunAudits(prefix string, scores [][]float64, in [][]bool, ids []int, delta float64, seed uint64) ([]report.DPAudit, error) {
	runs := len(scores)
	if runs == 0 || len(in) != runs {
		return nil, fmt.Errorf("multi-run audit: %d runs of scores and %d of inclusions", runs, len(in))
	}
	m := len(scores[0])
	var out []report.DPAudit
	for k := range m {
		s, b := make([]float64, runs), make([]bool, runs)
		for t := range runs {
			s[t], b[t] = scores[t][k], in[t][k]
		}
		bound, err := metric.MultiRunEpsilon(s, b, metric.EpsilonOptions{Alpha: gameAlpha / float64(m), Delta: delta, Seed: seed})
		if err != nil {
			return nil, fmt.Errorf("canary %d: %w", k, err)
		}
		name := prefix
		if m > 1 {
			name = fmt.Sprintf("%s, canary %d", prefix, k)
			if k < len(ids) && ids[k] >= 0 {
				name += fmt.Sprintf(" (record %d)", ids[k])
			}
		}
		out = append(out, report.DPAudit{Name: name, Bound: bound})
	}
	return out, nil
}

// delta is the δ of the run's ε bounds: the recipe's, or 0 (metric's default) without one.
func (r *DPRecipe) delta() float64 {
	if r == nil {
		return 0
	}
	return r.Delta
}
