package dpaudit

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/pmeter/pmeter/accountant"
	"github.com/pmeter/pmeter/internal/parallel"
	"github.com/pmeter/pmeter/metric"
)

// Trainer runs DP-SGD with a run's gradient canaries: really (NNTrainer) or simulated on the canaries'
// coordinates (Simulator).
type Trainer interface {
	// Name says what is trained, for the harness's table.
	Name() string
	// Dim is the number of trainable parameters, the canaries' space.
	Dim() int
	// Train runs one training of steps DP-SGD steps at Poisson rate q with noise mech.NoiseMultiplier and
	// clipping norm mech.ClipNorm, with run's hooks, drawing its randomness from seed.
	Train(ctx context.Context, run *Run, mech Mechanism, q float64, seed uint64) error
}

// Simulator is the Trainer that simulates the DP-SGD step exactly on Dim coordinates (Run.Simulate).
type Simulator struct {
	Parameters int     // the coordinates simulated (at least the canaries)
	Drift      float64 // the data's gradient on each coordinate, N(0, (Drift·C)²) per step
}

func (s Simulator) Name() string {
	if s.Drift > 0 {
		return fmt.Sprintf("simulated DP-SGD steps (data gradient N(0, (%g C)²) per coordinate)", s.Drift)
	}
	return "simulated DP-SGD steps"
}
func (s Simulator) Dim() int { return s.Parameters }
func (s Simulator) Train(_ context.Context, run *Run, mech Mechanism, _ float64, seed uint64) error {
	mech.Drift = s.Drift
	return run.Simulate(mech, seed)
}

// SoundnessConfig configures Soundness. The training has Records records in expected batches of
// BatchSize for Epochs epochs: q = BatchSize/Records and T = Epochs·⌈Records/BatchSize⌉, as pmeter's
// DP recipes count them.
type SoundnessConfig struct {
	Trainer  Trainer
	Seeds    int // one-run audits (trainings) per mechanism
	Canaries int // m per training
	// MultiRunGroups audits of MultiRuns trainings each give the multi-run bounds (one canary per
	// training, in a random half of them); 0 leaves the multi-run audit out.
	MultiRunGroups, MultiRuns  int
	Records, BatchSize, Epochs int
	ClipNorm                   float64
	Epsilons                   []float64 // claimed ε: σ is calibrated for each
	// Broken adds, for the first claimed ε, the broken trainings: noise at σ·NoiseFactor while claiming
	// σ, and canaries inserted at Norm·C (clipping skipped).
	Broken     []Breakage
	Delta      float64
	Alpha      float64
	Accountant accountant.Kind
	Score      string
	Isolate    bool // Spec.Isolate
	Workers    int
	// Progress, when set, is called after each training with the number done and the total.
	Progress func(done, total int)
}

// Breakage is a deliberately broken DP-SGD for the harness: NoiseFactor (< 1: less noise than claimed;
// 0 means 1) and Norm (> 1: canaries inserted at Norm·C, as a training that skips clipping lets a
// record's gradient through; 0 means 1).
type Breakage struct {
	NoiseFactor float64
	Norm        float64
}

func (b Breakage) String() string {
	var p []string
	if b.NoiseFactor != 0 && b.NoiseFactor != 1 {
		p = append(p, fmt.Sprintf("noise σ×%g", b.NoiseFactor))
	}
	if b.Norm != 0 && b.Norm != 1 {
		p = append(p, fmt.Sprintf("canaries at %g·C (clipping skipped)", b.Norm))
	}
	if len(p) == 0 {
		return "sound"
	}
	return "broken: " + strings.Join(p, ", ")
}

// SoundnessCell is one audit of one mechanism over the seeds.
type SoundnessCell struct {
	Training       string  `json:"training"`        // sound, or the breakage
	Broken         bool    `json:"broken"`          // a broken training: the audit should exceed the claim
	ClaimedEpsilon float64 `json:"claimed_epsilon"` // the accountant's ε at Delta for the claimed σ
	Sigma          float64 `json:"noise_multiplier"`
	Audit          string  `json:"audit"`
	KPlus          int     `json:"k_plus,omitempty"`
	KMinus         int     `json:"k_minus,omitempty"`
	// Checked is false for the Gaussian f-DP bound when q < 1: it holds within the Gaussian-DP family only, and
	// subsampled DP-SGD's privacy curve is not Gaussian. With full-batch steps (q = 1) DP-SGD is exactly
	// μ-GDP (μ = √T/σ for the canaries at norm C), whose ε the accountant's does not undercut, so the
	// f-DP bound is checked too.
	Checked bool      `json:"checked"`
	Values  []float64 `json:"values"`
	Above   int       `json:"above_claim"` // audits whose bound exceeds the claimed ε
	// Tail is P[Binomial(audits, Alpha) ≥ Above]: a sound training fails the harness when it is below
	// 0.001; a broken one fails unless most audits are above the claim.
	Tail float64 `json:"binomial_tail"`
	Pass bool    `json:"pass"`
}

// Median returns the median of the cell's bounds.
func (c SoundnessCell) Median() float64 {
	s := slices.Clone(c.Values)
	slices.Sort(s)
	if len(s) == 0 {
		return math.NaN()
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Soundness audits DP-SGD white-box over many seeds at each claimed ε: every training adds σ·C noise
// with σ calibrated by the accountant for that ε at Delta, with Canaries gradient canaries (Dirac, each
// in with probability ½), and the one-run bounds (Steinke et al., f-DP Gaussian and f-DP (ε, δ), k± planned in advance from the
// claim; the holdout bound on the same scores) and the multi-run bound are computed. A sound training
// passes when its checked bounds exceed the claimed ε on no more audits than α allows (binomial tail ≥
// 0.001); a broken training (Broken) passes when most audits exceed it.
func Soundness(ctx context.Context, cfg SoundnessConfig) ([]SoundnessCell, error) {
	if cfg.Trainer == nil || cfg.Seeds < 1 || cfg.Canaries < 2 || cfg.Records < 1 || cfg.BatchSize < 1 || cfg.BatchSize > cfg.Records ||
		cfg.Epochs < 1 || !(cfg.ClipNorm > 0) || len(cfg.Epsilons) == 0 || !(cfg.Delta > 0 && cfg.Delta < 1) || !(cfg.Alpha > 0 && cfg.Alpha < 1) ||
		cfg.MultiRunGroups > 0 && cfg.MultiRuns < 4 {
		return nil, fmt.Errorf("dpaudit: soundness harness: bad configuration %+v", cfg)
	}
	q := float64(cfg.BatchSize) / float64(cfg.Records)
	steps := cfg.Epochs * ((cfg.Records + cfg.BatchSize - 1) / cfg.BatchSize)
	type mech struct {
		claimed, sigma float64
		br             Breakage
	}
	var mechs []mech
	for k, eps := range cfg.Epsilons {
		cal, err := accountant.CalibrateNoise(ctx, accountant.Target{Epsilon: eps, Delta: cfg.Delta, SamplingRate: q, Steps: steps},
			accountant.Options{Kind: cfg.Accountant})
		if err != nil {
			return nil, fmt.Errorf("dpaudit: calibrating σ for ε = %v: %w", eps, err)
		}
		mechs = append(mechs, mech{cal.Guarantee.Epsilon, cal.NoiseMultiplier, Breakage{}})
		if k == 0 {
			for _, b := range cfg.Broken {
				mechs = append(mechs, mech{cal.Guarantee.Epsilon, cal.NoiseMultiplier, b})
			}
		}
	}
	total := len(mechs) * (cfg.Seeds + cfg.MultiRunGroups*cfg.MultiRuns)
	done := 0
	var cells []SoundnessCell
	for _, mc := range mechs {
		spec := Spec{Count: cfg.Canaries, Score: cfg.Score, Isolate: cfg.Isolate, ClipNorm: cfg.ClipNorm, NoiseMultiplier: mc.sigma, SamplingRate: q, Norm: mc.br.Norm}
		run := Mechanism{NoiseMultiplier: mc.sigma, ClipNorm: cfg.ClipNorm, Steps: steps}
		if mc.br.NoiseFactor != 0 {
			run.NoiseMultiplier *= mc.br.NoiseFactor
		}
		// Guesses planned from the claim (sound canaries, claimed σ) before any training.
		claim := spec
		claim.Norm = 1
		type plan struct {
			stat    metric.OneRunStat
			name    string
			kp, km  int
			checked bool
		}
		var plans []plan
		for _, st := range []struct {
			stat metric.OneRunStat
			name string
		}{{metric.StatSteinke, "one-run Steinke"}, {metric.StatFDP, "one-run f-DP (Gaussian)"}, {metric.StatFDPApprox, "one-run f-DP (ε, δ)"}} {
			kp, km, err := PlanGuesses(claim, steps, st.stat, cfg.Alpha, cfg.Delta, 1)
			if err != nil {
				return nil, err
			}
			// The Gaussian family's bound is checked only where DP-SGD is Gaussian (q = 1).
			plans = append(plans, plan{st.stat, st.name, kp, km, st.stat != metric.StatFDP || q == 1})
		}
		holdout := len(plans) // the index of the holdout bound in names and vals
		names := []string{}
		for _, p := range plans {
			names = append(names, p.name)
		}
		names = append(names, "holdout (same scores)")
		vals := make([][]float64, len(names))
		for a := range vals {
			vals[a] = make([]float64, cfg.Seeds)
		}
		err := parallel.For(ctx, cfg.Seeds, cfg.Workers, func(ctx context.Context, s int) error {
			seed := uint64(s)*0x9e3779b97f4a7c15 + 1
			in := Inclusions(cfg.Canaries, seed)
			r, err := NewRun(spec, cfg.Trainer.Dim(), in, seed)
			if err != nil {
				return err
			}
			if err := cfg.Trainer.Train(ctx, r, run, q, seed); err != nil {
				return err
			}
			if err := r.Err(); err != nil {
				return err
			}
			scores := r.Scores()
			for a, p := range plans {
				b, err := metric.OneRunAudit(scores, in, metric.OneRunOptions{Stat: p.stat, Alpha: cfg.Alpha, Delta: cfg.Delta, KPlus: p.kp, KMinus: p.km, Seed: seed})
				if err != nil {
					return err
				}
				vals[a][s] = b.Value
			}
			b, err := metric.HoldoutEpsilon(scores, in, metric.EpsilonOptions{Alpha: cfg.Alpha, Delta: cfg.Delta, Seed: seed})
			if err != nil {
				return err
			}
			vals[holdout][s] = b.Value
			return nil
		})
		if err != nil {
			return nil, err
		}
		done += cfg.Seeds
		if cfg.Progress != nil {
			cfg.Progress(done, total)
		}
		for a, name := range names {
			c := SoundnessCell{Training: mc.br.String(), Broken: mc.br != (Breakage{}), ClaimedEpsilon: mc.claimed, Sigma: mc.sigma,
				Audit: name, Checked: a == holdout || plans[a].checked, Values: vals[a]}
			if a < holdout {
				c.KPlus, c.KMinus = plans[a].kp, plans[a].km
			}
			cells = append(cells, c)
		}
		if cfg.MultiRunGroups > 0 {
			mv := make([]float64, cfg.MultiRunGroups)
			one := spec
			one.Count = 1
			err := parallel.For(ctx, cfg.MultiRunGroups, cfg.Workers, func(ctx context.Context, g int) error {
				scores, in := make([]float64, cfg.MultiRuns), make([]bool, cfg.MultiRuns)
				for t := range cfg.MultiRuns {
					seed := uint64(g)*0x9e3779b97f4a7c15 + uint64(t)*0xbf58476d1ce4e5b9 + 7
					in[t] = t%2 == 0
					r, err := NewRun(one, cfg.Trainer.Dim(), []bool{in[t]}, seed)
					if err != nil {
						return err
					}
					if err := cfg.Trainer.Train(ctx, r, run, q, seed); err != nil {
						return err
					}
					if err := r.Err(); err != nil {
						return err
					}
					scores[t] = r.scores[0]
				}
				b, err := metric.MultiRunEpsilon(scores, in, metric.EpsilonOptions{Alpha: cfg.Alpha, Delta: cfg.Delta, Seed: uint64(g)})
				if err != nil {
					return err
				}
				mv[g] = b.Value
				return nil
			})
			if err != nil {
				return nil, err
			}
			done += cfg.MultiRunGroups * cfg.MultiRuns
			if cfg.Progress != nil {
				cfg.Progress(done, total)
			}
			cells = append(cells, SoundnessCell{Training: mc.br.String(), Broken: mc.br != (Breakage{}), ClaimedEpsilon: mc.claimed,
				Sigma: mc.sigma, Audit: fmt.Sprintf("multi-run (%d trainings)", cfg.MultiRuns), Checked: true, Values: mv})
		}
	}
	for i := range cells {
		c := &cells[i]
		for _, v := range c.Values {
			if v > c.ClaimedEpsilon {
				c.Above++
			}
		}
		c.Tail = binomTail(c.Above, len(c.Values), cfg.Alpha)
		switch {
		case !c.Checked:
			c.Pass = true
		case c.Broken:
			c.Pass = 2*c.Above > len(c.Values)
		default:
			c.Pass = c.Tail >= 0.001
		}
	}
	return cells, nil
}

// binomTail returns P[Binomial(n, p) ≥ k].
func binomTail(k, n int, p float64) float64 {
	if k <= 0 {
		return 1
	}
	s := 0.0
	lg, _ := math.Lgamma(float64(n + 1))
	for j := k; j <= n; j++ {
		a, _ := math.Lgamma(float64(j + 1))
		b, _ := math.Lgamma(float64(n - j + 1))
		s += math.Exp(lg - a - b + float64(j)*math.Log(p) + float64(n-j)*math.Log1p(-p))
	}
	return min(s, 1)
}

// SoundnessTable formats the cells as a Markdown table.
func SoundnessTable(cfg SoundnessConfig, cells []SoundnessCell) string {
	var b strings.Builder
	q := float64(cfg.BatchSize) / float64(cfg.Records)
	steps := cfg.Epochs * ((cfg.Records + cfg.BatchSize - 1) / cfg.BatchSize)
	score := cfg.Score
	if score == "" {
		score = ScoreSum
	}
	if cfg.Isolate {
		score += ", isolated from the data's gradients"
	}
	fmt.Fprintf(&b, "%s: %d canaries (Dirac, score %s), q = %.4g, T = %d, C = %g, δ = %s, α = %g, %d seeds",
		cfg.Trainer.Name(), cfg.Canaries, score, q, steps, cfg.ClipNorm, metric.FormatDelta(cfg.Delta), cfg.Alpha, cfg.Seeds)
	if cfg.MultiRunGroups > 0 {
		fmt.Fprintf(&b, "; multi-run: %d audits of %d trainings", cfg.MultiRunGroups, cfg.MultiRuns)
	}
	b.WriteString("\n\n| training | claimed ε (σ) | audit | median bound | median / claimed | above claimed ε | binomial tail | result |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, c := range cells {
		audit := c.Audit
		if c.KPlus+c.KMinus > 0 {
			audit += fmt.Sprintf(" (k+ %d, k− %d)", c.KPlus, c.KMinus)
		}
		pass := "yes"
		switch {
		case !c.Checked:
			pass = "not checked (q < 1: not in the Gaussian-DP family)"
		case c.Broken && c.Pass:
			pass = "flagged"
		case c.Broken:
			pass = "not flagged on most"
		case !c.Pass:
			pass = "**FAIL**"
		}
		tail := fmt.Sprintf("%.3g", c.Tail)
		if c.Broken {
			tail = "–"
		}
		med := c.Median()
		fmt.Fprintf(&b, "| %s | %.3g (σ %.4g) | %s | %.3f | %.2f | %d of %d | %s | %s |\n", c.Training, c.ClaimedEpsilon, c.Sigma, audit,
			med, med/c.ClaimedEpsilon, c.Above, len(c.Values), tail, pass)
	}
	return b.String()
}

// Failed returns the cells of sound trainings that fail the harness: a bound above the claim on more
// audits than α allows. (A broken training's cell that is not flagged on most audits shows the audit's
// lack of power, not unsoundness.)
func Failed(cells []SoundnessCell) []SoundnessCell {
	var out []SoundnessCell
	for _, c := range cells {
		if !c.Pass && !c.Broken {
			out = append(out, c)
		}
	}
	return out
}
