package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/dataset"
	"github.com/pmeter/pmeter/dpaudit"
	"github.com/pmeter/pmeter/internal/jsonsum"
	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/nn"
	"github.com/pmeter/pmeter/nn/sched"
)

// The white-box DP audit (audit.canaries.kind: gradient): the canaries are gradients, not records
// (package dpaudit): each a direction of the model's flattened parameters, included in a run with
// probability ½ (dp_one_run) or in a random half of the runs (dp_multi_run); an included canary is
// inserted at norm C, the clipping norm, into the clipped gradient sum of every DP-SGD step that samples
// it (at the training's rate q), and every canary is scored from the steps' noisy sums (nn's Canary and
// Observe hooks). The whole training pool is every run's fixed training set. The scores take the place of
// an attack's: the one-run game bounds ε from one run's scores (Steinke et al. and f-DP, k± fixed before
// training), the multi-run game per canary over the runs, and the holdout bound on them is the audit's
// operating point on the report's trade-off curve.

// gradientAttack names the white-box audit where an attack's name goes (run.json, the report).
const (
	gradientAttack      = "white_box"
	gradientAttackLabel = "white-box gradient canaries"
)

// whiteBoxFormat identifies the schema of a run's saved canary scores.
const whiteBoxFormat = "pmeter.audit.whitebox/v1"

// whiteBoxScores are one training run's canary scores, saved in signals/<model key>-whitebox.json, so
// that a rerun reuses them (the scores exist only while the model trains: they cannot be recomputed from
// its weights). SHA256 is that of the compact JSON with SHA256 empty; a damaged file is never reused.
type whiteBoxScores struct {
	Format      string    `json:"format"`
	Model       ModelInfo `json:"model"`
	Scores      []float64 `json:"scores"`
	Insertions  []int     `json:"insertions"`
	Coordinates []int     `json:"coordinates,omitempty"`
	SHA256      string    `json:"sha256"`
}

func (w whiteBoxScores) selfHash() (string, error) {
	w.SHA256 = ""
	return jsonsum.SHA256(w)
}

func (w whiteBoxScores) write(path string) error {
	var err error
	if w.SHA256, err = w.selfHash(); err != nil {
		return err
	}
	return writeJSON(path, w)
}

// readWhiteBoxScores reads and verifies a run's saved scores for m canaries.
func readWhiteBoxScores(path string, m int) (*whiteBoxScores, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var w whiteBoxScores
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	sum, err := w.selfHash()
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: %w", path, err)
	case w.Format != whiteBoxFormat:
		return nil, fmt.Errorf("%s: format %q, want %q", path, w.Format, whiteBoxFormat)
	case sum != w.SHA256:
		return nil, fmt.Errorf("%s: damaged: its SHA-256 does not match its content", path)
	case len(w.Scores) != m || len(w.Insertions) != m:
		return nil, fmt.Errorf("%s: %d scores and %d insertion counts, want %d", path, len(w.Scores), len(w.Insertions), m)
	}
	return &w, nil
}

// gradientSpec returns the canaries' spec for the run's recipe (Norm: opt's test knob, else C).
func (c *Config) gradientSpec(dp *DPRecipe, opt Options, seed uint64) dpaudit.Spec {
	k := c.Audit.Canaries
	return dpaudit.Spec{Count: k.Count, Direction: k.Direction, Score: k.Score, Isolate: *k.Isolate,
		ClipNorm: dp.MaxGradNorm, NoiseMultiplier: dp.NoiseMultiplier, SamplingRate: dp.SamplingRate,
		Norm: opt.canaryNorm, Sampling: dp.Sampling, StepsPerEpoch: dp.StepsPerEpoch, Seed: seed}
}

// runGradientGame plays the DP audit game of c with gradient canaries on data d.
func runGradientGame(ctx context.Context, c *Config, d *Data, opt Options, res *Result, stage func(string)) (*Result, error) {
	seed := uint64(c.Run.RandomSeed)
	k := c.Audit.Canaries
	runs, m, n := c.Run.NumExperiments, k.Count, d.Pool.Len()
	p := &Plan{Models: runs, Targets: runs, Attacks: []AttackConfig{{Name: gradientAttack}}}
	var inc *dataset.Memberships
	var err error
	if c.Audit.PrivacyGame == GameDPOneRun {
		p.Design = attack.DesignBernoulli
		inc, err = dataset.BernoulliMemberships(m, runs, derive(seed, "canary-inclusion"))
	} else {
		p.Design = attack.DesignLiRA
		inc, err = dataset.LiRAMemberships(m, runs, 0.5, derive(seed, "canary-inclusion"))
	}
	if err != nil {
		return nil, err
	}
	// The memberships of the pool records (all in every run) and, after them, of the canaries: the
	// report's records and memberships.npy are the canaries, as in the other canary games.
	p.Memberships = dataset.NewMemberships(n+m, runs)
	for i := range n * runs {
		p.Memberships.Members[i] = true
	}
	copy(p.Memberships.Members[n*runs:], inc.Members)
	p.Audit = make([]int, m)
	for i := range p.Audit {
		p.Audit[i] = n + i
	}
	if p.DP, err = c.resolveDP(ctx, n); err != nil {
		return nil, err
	}
	res.DP = p.DP
	if _, err := c.trainConfigFor(0, p.DP, opt); err != nil { // before anything is written
		return nil, err
	}
	if p.Specs, err = c.modelSpecs(d); err != nil {
		return nil, err
	}
	probe, err := nn.FromSpecs("model", p.Specs)
	if err != nil {
		return nil, err
	}
	dim := probe.NumParams()
	spec := c.gradientSpec(p.DP, opt, derive(seed, "gradient-canary-directions"))
	if err := spec.Validate(dim); err != nil {
		return nil, c.pathError([]string{"audit", "canaries"}, "%v", err)
	}
	// The guesses of the one-run game, fixed before training: from the config, or planned on a
	// simulation of the claimed mechanism (dpaudit.PlanGuesses), which sees nothing of the runs.
	kPlus, kMinus, planned := 0, 0, false
	if c.Audit.PrivacyGame == GameDPOneRun {
		if k.KPlus != nil {
			kPlus, kMinus = *k.KPlus, *k.KMinus
		} else {
			claim := spec
			claim.Norm = 1
			if kPlus, kMinus, err = dpaudit.PlanGuesses(claim, p.DP.Steps, metric.StatSteinke, gameAlpha, p.DP.Delta, derive(seed, "plan-guesses")); err != nil {
				return nil, err
			}
			planned = true
		}
	}

	claimDir, err := ClaimDir(c.Run.LogDir, c, opt.logf)
	if err != nil {
		return nil, err
	}
	defer claimDir.Release()
	if err := writePlan(c, p); err != nil {
		return nil, err
	}
	stage("data and plan")
	opt.logf("plan: %s: %d gradient canaries (%s), %d training records, %d training run%s, model %s (%d parameters), %d epochs",
		c.Audit.PrivacyGame, m, spec.Direction, n, runs, plural(runs), modelName(c), dim, c.Train.Epochs)
	opt.logf("dp: %s", p.DP)

	outs, err := trainGradientRuns(ctx, c, d, p, spec, dim, inc, opt)
	if err != nil {
		return nil, err
	}
	for _, o := range outs {
		res.Models = append(res.Models, o.Model)
		if o.Model.Cached {
			res.Reused++
		} else {
			res.Trained++
		}
	}
	stage("train models and score the canaries")

	kr := &CanaryResult{Game: c.Audit.PrivacyGame, Kind: k.Kind, Count: m, FixedRecords: n, KPlus: kPlus, KMinus: kMinus,
		Records: make([]int, m), Labels: make([]int, m), Direction: spec.Direction, Score: spec.Score, Isolate: k.Isolate,
		Parameters: dim, PlannedGuesses: planned}
	for i := range kr.Records {
		kr.Records[i], kr.Labels[i] = -1, -1
	}
	res.Canaries = kr
	res.Records, res.Labels = kr.Records, kr.Labels
	ar := AttackResult{Name: gradientAttack, Label: gradientAttackLabel, Params: map[string]string{"score": spec.Score, "direction": spec.Direction}}
	for t, o := range outs {
		members := inc.Model(t)
		res.Members = append(res.Members, members)
		ar.Scores = append(ar.Scores, o.Scores)
		in, ins, nIns := 0, 0, 0
		for i, b := range members {
			if b {
				in++
				ins += o.Insertions[i]
				nIns++
			}
		}
		kr.Included = append(kr.Included, in)
		mean := 0.0
		if nIns > 0 {
			mean = float64(ins) / float64(nIns)
		}
		kr.MeanInsertions = append(kr.MeanInsertions, mean)
		if t == 0 {
			kr.Coordinates = o.Coordinates
		}
	}
	delta := res.DP.delta()
	game := canaryGame{oneRun: c.Audit.PrivacyGame == GameDPOneRun, name: "white-box one-run", multiName: "white-box multi-run",
		kPlus: kPlus, kMinus: kMinus, noROC: "the canaries' ROC needs included and excluded canaries"}
	if res.DPAudits, err = game.audit(&ar, res.Members, delta, derive(seed, "dp-audit"), opt.logf); err != nil {
		return nil, err
	}
	res.Attacks = []AttackResult{ar}
	stage("attacks and metrics")
	cd := &Data{Pool: d.Pool, Population: d.Population, ClassNames: d.ClassNames,
		Source: fmt.Sprintf("%s, with %d gradient canaries", d.Source, m)}
	if err := writeReport(ctx, c, cd, p, res); err != nil {
		return nil, err
	}
	if err := writeJSON(filepath.Join(c.Run.LogDir, "run.json"), res); err != nil {
		return nil, err
	}
	stage("report")
	return res, nil
}

// gradientOutput is one run's canary scores.
type gradientOutput struct {
	Model       ModelInfo
	Scores      []float64
	Insertions  []int
	Coordinates []int
}

// trainGradientRuns trains every run of p with its gradient canaries (inc: canaries × runs), or reuses
// the scores a previous run saved, and returns each run's scores in run order.
func trainGradientRuns(ctx context.Context, c *Config, d *Data, p *Plan, spec dpaudit.Spec, dim int, inc *dataset.Memberships, opt Options) ([]*gradientOutput, error) {
	n := d.Pool.Len()
	seed := uint64(c.Run.RandomSeed)
	dir := c.Run.LogDir
	if err := os.MkdirAll(filepath.Join(dir, "signals"), 0o755); err != nil {
		return nil, err
	}
	specJSON, _ := json.Marshal(p.Specs)
	canaryJSON, _ := json.Marshal(spec)
	dataKey, trainKey := fingerprint(d.Pool), c.trainKey()+p.DP.keyPart()
	out := make([]*gradientOutput, p.Models)
	var mu sync.Mutex
	epochs := c.Train.Epochs
	bar := opt.bar(fmt.Sprintf("train %d models", p.Models), p.Models*epochs)
	defer bar.Finish()
	var jobs []sched.Job
	var seeds []uint64
	all := seq(n)
	for r := range p.Models {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		included := inc.Model(r)
		bits := make([]int, len(included))
		for i, b := range included {
			if b {
				bits[i] = 1
			}
		}
		insertSeed := derive(seed, fmt.Sprintf("gradient-canary-insertions-%d", r))
		j := Job{Model: r, Seed: derive(seed, fmt.Sprintf("model-%d", r)), Train: all}
		j.ModelKey = hashStrings("gradient-canary-model/v1", dataKey, string(specJSON), trainKey, fmt.Sprint(j.Seed),
			string(canaryJSON), hashInts(bits), fmt.Sprint(insertSeed))
		j.SignalKey = j.ModelKey
		p.Jobs = append(p.Jobs, j)
		path := filepath.Join(dir, "signals", j.ModelKey+"-whitebox.json")
		if w, err := readWhiteBoxScores(path, spec.Count); err == nil {
			w.Model.Cached = true
			out[r] = &gradientOutput{Model: w.Model, Scores: w.Scores, Insertions: w.Insertions, Coordinates: w.Coordinates}
			bar.Add(epochs)
			if opt.OnModel != nil {
				opt.OnModel(r, true)
			}
			continue
		} else if !errors.Is(err, os.ErrNotExist) {
			opt.logf("model %d: retraining: %v", r, err)
		}
		run, err := dpaudit.NewRun(spec, dim, included, insertSeed)
		if err != nil {
			return nil, err
		}
		cfg, err := c.trainConfigFor(j.Seed, p.DP, opt)
		if err != nil {
			return nil, err
		}
		if cfg.DP == nil {
			return nil, errors.New("gradient canaries need DP-SGD training, but the model's training has no DP configuration")
		}
		dp := *cfg.DP
		run.Hook(&dp)
		cfg.DP = &dp
		jobs = append(jobs, sched.Job{
			Name: fmt.Sprintf("model %d", r),
			Build: func() (*nn.Sequential, nn.Data, error) {
				mdl, err := p.build(fmt.Sprintf("model %d", r), j.Seed)
				if err != nil {
					return nil, nn.Data{}, err
				}
				tx, err := nn.FromSlice(d.Pool.X, append([]int{n}, d.Pool.Shape...)...)
				return mdl, nn.Data{X: tx, Labels: d.Pool.Y}, err
			},
			Config: cfg,
			Done: func(ctx context.Context, mdl *nn.Sequential, sr sched.Result) error {
				if err := run.Err(); err != nil {
					return fmt.Errorf("model %d: the gradient canaries: %w", r, err)
				}
				info := ModelInfo{Model: r, Key: j.ModelKey, Seed: j.Seed, TrainSize: n, Seconds: sr.Elapsed.Seconds()}
				if l := len(sr.Train.EpochLoss); l > 0 {
					info.FinalLoss = sr.Train.EpochLoss[l-1]
				}
				// Utility: accuracy on the training pool and on the population (no model trains on it).
				eval := nn.EvalConfig{BatchSize: c.Audit.BatchSize}
				for _, s := range []struct {
					ds  *dataset.Dataset
					acc *float64
				}{{d.Pool, &info.TrainAccuracy}, {d.Population, &info.TestAccuracy}} {
					x, err := nn.FromSlice(s.ds.X, append([]int{s.ds.Len()}, s.ds.Shape...)...)
					if err != nil {
						return err
					}
					o, err := nn.Evaluate(ctx, mdl, nn.Data{X: x, Labels: s.ds.Y}, eval)
					if err != nil {
						return err
					}
					*s.acc = accuracy(o.Logits, s.ds.Y, 1, func(int) bool { return true })
				}
				w := whiteBoxScores{Format: whiteBoxFormat, Model: info, Scores: run.Scores(), Insertions: run.Insertions(), Coordinates: run.Coordinates()}
				if err := w.write(path); err != nil {
					return err
				}
				mu.Lock()
				out[r] = &gradientOutput{Model: info, Scores: w.Scores, Insertions: w.Insertions, Coordinates: w.Coordinates}
				mu.Unlock()
				if opt.OnModel != nil {
					opt.OnModel(r, false)
				}
				return nil
			},
		})
		seeds = append(seeds, j.Seed)
	}
	if p.build == nil {
		specs := p.Specs
		p.build = func(name string, seed uint64) (*nn.Sequential, error) {
			m, err := nn.FromSpecs(name, specs)
			if err == nil {
				m.Init(seed)
			}
			return m, err
		}
	}
	workers := c.Run.Workers
	if workers == 0 {
		workers = runtime.NumCPU()
	}
	done := make([]int, len(jobs))
	_, err := sched.Run(ctx, jobs, sched.Options{Workers: workers, Seeds: seeds, Progress: func(e sched.Event) {
		k := e.Epoch
		if e.Batch < 0 {
			k = epochs
		}
		if k > done[e.Job] {
			bar.Add(k - done[e.Job])
			done[e.Job] = k
		}
	}})
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("interrupted; the runs that finished are saved and a rerun trains only the rest: %w", err)
		}
		return nil, fmt.Errorf("training: %w", err)
	}
	return out, nil
}
