package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pmeter/pmeter/accountant"
	"github.com/pmeter/pmeter/dpaudit"
	"github.com/pmeter/pmeter/internal/progress"
)

const dpSoundnessUsage = `Usage:
  pmeter dp soundness [flags]

The white-box DP audit's soundness, end to end: for each claimed ε, DP-SGD with the noise multiplier
the accountant calibrates for it trains --seeds times (real training with nn's DP-SGD: an MLP of 1,218
parameters on synthetic data; or --train sim, the DP-SGD step simulated exactly on the canaries'
coordinates), each time with --canaries Dirac gradient canaries included with probability ½, and the
white-box audit's bounds are computed: one-run Steinke et al., f-DP Gaussian and f-DP (ε, δ) (k±
planned from the claim before training), the holdout bound on the same scores, and with
--multi-run-groups the multi-run bound (one canary over --multi-runs trainings). A sound training fails
when a checked bound exceeds the claimed ε on more audits than α allows (binomial tail below 0.001); the
Gaussian f-DP bound is shown, not checked, unless the steps are full-batch (it holds within the
Gaussian-DP family only). For the first claimed ε, deliberately broken trainings follow
(--broken): noise=F trains at σ·F while claiming σ, norm=K inserts the canaries at K·C as a DP-SGD that
skips clipping would; each is "flagged" when its bound exceeds the claim on most audits. Prints a
Markdown table; the exit status is 1 when a sound training fails.

'go test ./dpaudit' runs a reduced version (TestSoundnessNN, TestSoundnessSimulated). The defaults
(200 seeds, full-batch steps, ε = 1 and 8) take about a minute on 2 cores.

Flags:
  --train T             nn (default) or sim
  --seeds N             trainings (one-run audits) per claimed ε and breakage (default 200)
  --canaries M          gradient canaries per training (default 1000; nn: at most 1218)
  --records N           training records (default 200)
  --batch-size B        expected batch size: q = B/N (default 200: full-batch steps, q = 1)
  --epochs E            epochs: T = E·⌈N/B⌉ steps (default 10)
  --clip C              clipping norm (default 1)
  --epsilons LIST       claimed ε values, comma-separated (default 1,8)
  --broken LIST         breakages for the first ε, comma-separated noise=F or norm=K (default
                        noise=0.5,norm=4; "none" for none)
  --multi-run-groups G  multi-run audits per training (default 0: none)
  --multi-runs R        trainings per multi-run audit (default 200; with --multi-run-groups only:
                        refused without it)
  --score S             likelihood (default) or sum
  --no-isolate          score the noisy sums as they are, the data's gradients included
  --delta D             δ (default 1e-5)
  --alpha A             significance of the bounds (default 0.05)
  --accountant A        rdp (default) or pld: calibrates σ and states the claimed ε
  --workers N           trainings at once (default: one per core)
  --json FILE           write every bound to FILE
  --force               overwrite FILE if it exists
`

// dpSoundnessMode returns the flags that 'pmeter dp soundness' takes: --multi-runs only with multi-run
// audits (--multi-run-groups G > 0); without them it would be ignored, so it is refused.
func dpSoundnessMode(multiRun bool) flagMode {
	m := flagMode{name: "dp soundness without --multi-run-groups", flags: []string{"train", "seeds", "canaries", "records",
		"batch-size", "epochs", "clip", "epsilons", "broken", "multi-run-groups", "score", "no-isolate", "delta", "alpha",
		"accountant", "workers", "json", "force"}}
	if multiRun {
		m.name, m.flags = "dp soundness", slices.Insert(m.flags, 10, "multi-runs")
	}
	return m
}

// runDPSoundness implements 'pmeter dp soundness'.
func runDPSoundness(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dp soundness", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	train := fs.String("train", "nn", "")
	cfg := dpaudit.SoundnessConfig{}
	fs.IntVar(&cfg.Seeds, "seeds", 200, "")
	fs.IntVar(&cfg.Canaries, "canaries", 1000, "")
	fs.IntVar(&cfg.Records, "records", 200, "")
	fs.IntVar(&cfg.BatchSize, "batch-size", 200, "")
	fs.IntVar(&cfg.Epochs, "epochs", 10, "")
	fs.Float64Var(&cfg.ClipNorm, "clip", 1, "")
	epsilons := fs.String("epsilons", "1,8", "")
	broken := fs.String("broken", "noise=0.5,norm=4", "")
	fs.IntVar(&cfg.MultiRunGroups, "multi-run-groups", 0, "")
	fs.IntVar(&cfg.MultiRuns, "multi-runs", 200, "")
	fs.StringVar(&cfg.Score, "score", dpaudit.ScoreLikelihood, "")
	noIsolate := fs.Bool("no-isolate", false, "")
	fs.Float64Var(&cfg.Delta, "delta", 1e-5, "")
	kind := fs.String("accountant", "rdp", "")
	h := newHarnessFlags(fs)
	if err := parseFlags(fs, args, "dp soundness", dpSoundnessUsage, stdout); err != nil {
		return err
	}
	if _, err := dpSoundnessMode(cfg.MultiRunGroups > 0).check(fs); err != nil {
		return err
	}
	cfg.Alpha, cfg.Workers = h.alpha, h.workers
	cfg.Isolate = !*noIsolate
	k, err := accountant.ParseKind(*kind)
	if err != nil {
		return usagef("--accountant: %v", err)
	}
	cfg.Accountant = k
	for _, s := range splitList(*epsilons) {
		e, err := strconv.ParseFloat(s, 64)
		if err != nil || !(e > 0) {
			return usagef("--epsilons: %q is not a number > 0", s)
		}
		cfg.Epsilons = append(cfg.Epsilons, e)
	}
	if len(cfg.Epsilons) == 0 {
		return usagef("--epsilons: want at least one ε")
	}
	if *broken != "none" {
		for _, s := range splitList(*broken) {
			key, val, ok := strings.Cut(s, "=")
			f, err := strconv.ParseFloat(val, 64)
			switch {
			case !ok || err != nil || !(f > 0):
				return usagef("--broken: %q: want noise=F or norm=K with a number > 0", s)
			case key == "noise":
				cfg.Broken = append(cfg.Broken, dpaudit.Breakage{NoiseFactor: f})
			case key == "norm":
				cfg.Broken = append(cfg.Broken, dpaudit.Breakage{Norm: f})
			default:
				return usagef("--broken: %q: want noise=F or norm=K", s)
			}
		}
	}
	switch {
	case cfg.Seeds < 1:
		return usagef("--seeds %d: want at least 1", cfg.Seeds)
	case cfg.Canaries < 2:
		return usagef("--canaries %d: want at least 2", cfg.Canaries)
	case cfg.Records < 1 || cfg.BatchSize < 1 || cfg.BatchSize > cfg.Records:
		return usagef("--records %d, --batch-size %d: want 1 ≤ batch size ≤ records", cfg.Records, cfg.BatchSize)
	case cfg.Epochs < 1:
		return usagef("--epochs %d: want at least 1", cfg.Epochs)
	case !(cfg.ClipNorm > 0):
		return usagef("--clip %v: want a number > 0", cfg.ClipNorm)
	case cfg.Score != dpaudit.ScoreLikelihood && cfg.Score != dpaudit.ScoreSum:
		return usagef("--score %q: want likelihood or sum", cfg.Score)
	case !(cfg.Delta > 0 && cfg.Delta < 1):
		return usagef("--delta %v: want a value in (0, 1)", cfg.Delta)
	case cfg.MultiRunGroups < 0 || cfg.MultiRunGroups > 0 && cfg.MultiRuns < 4:
		return usagef("--multi-run-groups %d, --multi-runs %d: want groups ≥ 0 and at least 4 runs each", cfg.MultiRunGroups, cfg.MultiRuns)
	}
	switch *train {
	case "nn":
		t := dpaudit.DefaultNNTrainer
		t.Records, t.BatchSize = cfg.Records, cfg.BatchSize
		if cfg.Canaries > t.Dim() {
			return usagef("--canaries %d: the MLP has %d parameters, one Dirac canary each at most", cfg.Canaries, t.Dim())
		}
		cfg.Trainer = t
	case "sim":
		cfg.Trainer = dpaudit.Simulator{Parameters: cfg.Canaries}
	default:
		return usagef("--train %q: want nn or sim", *train)
	}
	if err := h.check(); err != nil {
		return err
	}
	var bar *progress.Bar
	cfg.Progress = func(done, total int) {
		if bar == nil {
			bar = progress.New(stderr, "dp soundness: trainings", total)
		}
		bar.Set(done)
	}
	start := time.Now()
	cells, err := dpaudit.Soundness(ctx, cfg)
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, dpaudit.SoundnessTable(cfg, cells))
	var failed []string
	for _, c := range dpaudit.Failed(cells) {
		failed = append(failed, fmt.Sprintf("claimed ε %.3g, %s: bound above the claim on %d of %d audits", c.ClaimedEpsilon, c.Audit, c.Above, len(c.Values)))
	}
	return h.finish(cells, failed, time.Since(start), stdout)
}
