package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/npy"
)

const dpAuditUsage = `Usage:
  pmeter dp audit --canaries M --guesses G --correct C [--delta D] [--method steinke|fdp|fdp-approx] [flags]
  pmeter dp audit --scores S.npy --included MASK.npy (--k-plus N --k-minus N | --select-fraction F) [flags]
  pmeter dp audit --scores S.npy --included MASK.npy --method multi-run [flags]

Prints the ε lower bound that an audit proves (one line; with --json the epsilon_lower_bound object:
value, alpha, delta, method, dp_bound, caveat, guarantee and the counts behind it).

One-run audits (one training run, m canaries each included independently with probability ½; the rest
of the training set fixed; pmeter's "bernoulli" design):
  steinke    Steinke, Nasr & Jagielski 2023: with probability ≥ 1 − alpha, training is not (ε, δ)-DP for
             any ε below the bound. Holds for every mechanism, δ = 0 included.
  fdp        Mahloujifar, Melis & Chaudhuri 2024, Gaussian-DP family: the audit rejects μ-GDP up to a μ,
             and the bound is that μ's ε at δ. Tighter, but it holds only within the Gaussian-DP family
             (a mechanism with another privacy curve can have a smaller ε), and needs δ > 0.
  fdp-approx the same f-DP audit with the trade-off functions of (ε, δ)-DP itself: with probability
             ≥ 1 − alpha, training is not (ε, δ)-DP for any ε below the bound. Holds for every
             mechanism, δ = 0 included; about steinke's value, larger when 2·m·δ is not small.
  The number of guesses must be fixed before the scores are seen: from counts, you promise that; from
  a score file, either --k-plus/--k-minus (the k+ highest scores guessed included, the k− lowest
  excluded, the rest abstain; ties broken at random) or --select-fraction F (that fraction of the
  canaries, drawn at random, chooses the numbers of guesses; the bound counts only the others; exact
  for steinke at δ = 0, otherwise see the README's "Differential privacy audits").

Multi-run audit (--method multi-run, score files only): entry t of S.npy is the canary's score against
the model of training run t and entry t of MASK.npy whether the canary was in that run; a threshold is
chosen on half of the runs and Clopper–Pearson bounds on the other half give the bound (Jagielski et
al. 2020). The runs must be independent trainings.

Flags:
  --canaries M         number of canaries m
  --guesses G          number of membership guesses made (the others abstain), 0 to M
  --correct C          number of right guesses, 0 to G
  --scores S.npy       attack scores, one per canary (or run), higher = more likely included
  --included MASK.npy  whether each canary (or the canary in each run) was included: bool or 0/1
  --k-plus N           guess the N highest-scoring canaries included
  --k-minus N          guess the N lowest-scoring canaries excluded
  --select-fraction F  choose the numbers of guesses on this fraction of the canaries, in (0, 1)
  --method M           steinke (default), fdp, fdp-approx or multi-run
  --alpha A            significance, in (0, 1) (default 0.05)
  --delta D            δ, in [0, 1) (default 1e-5; 0 for pure DP, not with fdp)
  --seed N             seed of the selection split, the tie breaks and the multi-run halves (default 0)
  --compat C           reproduce an original's number, labelled as no DP bound:
                         privacy-meter  (steinke, score files) Privacy Meter v2's best of its guess counts,
                                        chosen on the same canaries after seeing their memberships
                         privacyguard   (fdp) PrivacyGuard's FDPAnalysisNode, and on score files its
                                        best of 10 guess counts (compute_abstain_attack_fdp)
  --json               print the bound as JSON
`

// dpAuditConfig is the command line of 'pmeter dp audit', parsed and checked.
type dpAuditConfig struct {
	counts                   bool // the counts form (else score files)
	canaries, guesses, right int
	scores, included         string
	method                   string // steinke, fdp or multi-run
	compat                   string
	opt                      metric.OneRunOptions
	json                     bool
}

// runDPAudit implements 'pmeter dp audit'.
func runDPAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseDPAudit(args, stdout)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := cfg.bound()
	if err != nil {
		return err
	}
	if cfg.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(b)
	}
	fmt.Fprintln(stdout, dpAuditLine(b))
	return nil
}

func parseDPAudit(args []string, stdout io.Writer) (dpAuditConfig, error) {
	fs := flag.NewFlagSet("dp audit", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var c dpAuditConfig
	fs.IntVar(&c.canaries, "canaries", 0, "")
	fs.IntVar(&c.guesses, "guesses", 0, "")
	fs.IntVar(&c.right, "correct", 0, "")
	fs.StringVar(&c.scores, "scores", "", "")
	fs.StringVar(&c.included, "included", "", "")
	fs.IntVar(&c.opt.KPlus, "k-plus", 0, "")
	fs.IntVar(&c.opt.KMinus, "k-minus", 0, "")
	fs.Float64Var(&c.opt.SelectFraction, "select-fraction", 0, "")
	fs.StringVar(&c.method, "method", "steinke", "")
	fs.Float64Var(&c.opt.Alpha, "alpha", 0.05, "")
	delta := fs.Float64("delta", metric.DefaultEpsilonDelta, "")
	fs.Uint64Var(&c.opt.Seed, "seed", 0, "")
	fs.StringVar(&c.compat, "compat", "", "")
	fs.BoolVar(&c.json, "json", false, "")
	if err := parseFlags(fs, args, "dp audit", dpAuditUsage, stdout); err != nil {
		return c, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	c.opt.Delta, c.opt.NoDelta = *delta, *delta == 0

	countFlags := set["canaries"] || set["guesses"] || set["correct"]
	fileFlags := set["scores"] || set["included"]
	switch {
	case countFlags && fileFlags:
		return c, usagef("give either counts (--canaries, --guesses, --correct) or score files (--scores, --included), not both")
	case countFlags:
		if !set["canaries"] || !set["guesses"] || !set["correct"] {
			return c, usagef("the counts form needs --canaries, --guesses and --correct")
		}
		if set["k-plus"] || set["k-minus"] || set["select-fraction"] {
			return c, usagef("--k-plus, --k-minus and --select-fraction apply to score files; with counts, the guesses are already made")
		}
		switch {
		case c.canaries < 1:
			return c, usagef("--canaries %d: want at least 1", c.canaries)
		case c.guesses < 0 || c.guesses > c.canaries:
			return c, usagef("--guesses %d: want 0 to --canaries (%d)", c.guesses, c.canaries)
		case c.right < 0 || c.right > c.guesses:
			return c, usagef("--correct %d: want 0 to --guesses (%d)", c.right, c.guesses)
		}
		c.counts = true
	case fileFlags:
		if c.scores == "" || c.included == "" {
			return c, usagef("score files need both --scores and --included")
		}
	default:
		return c, usagef("give counts (--canaries, --guesses, --correct) or score files (--scores, --included); run 'pmeter dp audit -h'")
	}
	switch {
	case !(c.opt.Alpha > 0 && c.opt.Alpha < 1):
		return c, usagef("--alpha %v: want a significance in (0, 1)", c.opt.Alpha)
	case !(*delta >= 0 && *delta < 1):
		return c, usagef("--delta %v: want a δ in [0, 1)", *delta)
	}
	if c.method != "steinke" && c.method != "fdp" && c.method != "fdp-approx" && c.method != "multi-run" {
		return c, usagef("--method %q: want steinke, fdp, fdp-approx or multi-run", c.method)
	}
	guessFlags := set["k-plus"] || set["k-minus"] || set["select-fraction"]
	switch c.compat {
	case "", "none":
		c.compat = ""
	case "privacy-meter":
		if c.method != "steinke" || c.counts {
			return c, usagef("--compat privacy-meter reproduces Privacy Meter's search over guess counts: it needs --method steinke and score files (from counts, Privacy Meter's number is the default one)")
		}
	case "privacyguard":
		if c.method != "fdp" {
			return c, usagef("--compat privacyguard needs --method fdp")
		}
	default:
		return c, usagef("--compat %q: want privacy-meter or privacyguard", c.compat)
	}
	switch {
	case c.compat != "" && guessFlags:
		return c, usagef("--compat %s searches the guess counts as the original does; --k-plus, --k-minus and --select-fraction do not apply", c.compat)
	case c.method == "multi-run" && c.counts:
		return c, usagef("--method multi-run takes score files (--scores, --included), one entry per training run")
	case c.method == "multi-run" && guessFlags:
		return c, usagef("--k-plus, --k-minus and --select-fraction apply to one-run audits, not --method multi-run")
	case c.method == "multi-run":
	case !c.counts && c.compat == "" && !guessFlags:
		return c, usagef("fix the guesses before the scores are seen: --k-plus and --k-minus, or choose them on other canaries with --select-fraction")
	case set["select-fraction"] && (set["k-plus"] || set["k-minus"]):
		return c, usagef("give either --k-plus/--k-minus or --select-fraction, not both")
	case c.method == "fdp" && *delta == 0 && c.compat == "":
		return c, usagef("--delta 0 with --method fdp: every μ-GDP mechanism with μ > 0 has ε = ∞ at δ = 0, so the f-DP audit states no finite ε; give δ > 0, or use --method steinke")
	}
	if c.method != "multi-run" {
		c.opt.Stat = metric.OneRunStat(c.method)
	}
	return c, nil
}

// bound computes the bound the command line asks for.
func (c dpAuditConfig) bound() (metric.EpsilonBound, error) {
	if c.counts {
		if c.compat == "privacyguard" {
			p := metric.PrivacyGuardFDPDefaults()
			p.Threshold, p.Delta = c.opt.Alpha, c.opt.Delta
			return p.Bound(c.canaries, c.guesses, c.right)
		}
		return metric.OneRunBound(c.canaries, c.guesses, c.right, c.opt)
	}
	scores, included, err := readDPAuditFiles(c.scores, c.included)
	if err != nil {
		return metric.EpsilonBound{}, err
	}
	var b metric.EpsilonBound
	switch {
	case c.compat == "privacy-meter":
		var r metric.AbstainResult
		if r, err = metric.AbstainAudit(scores, included, c.opt.Delta, c.opt.Alpha); err == nil {
			b = r.Bound()
		}
	case c.compat == "privacyguard":
		var r metric.PrivacyGuardAbstainResult
		if r, err = metric.PrivacyGuardAbstainFDP(scores, included, c.opt.Delta, 10); err == nil {
			b = r.Bound(c.opt.Delta)
		}
	case c.method == "multi-run":
		b, err = metric.MultiRunEpsilon(scores, included, metric.EpsilonOptions{Alpha: c.opt.Alpha, Delta: c.opt.Delta,
			NoDelta: c.opt.NoDelta, Seed: c.opt.Seed})
	default:
		b, err = metric.OneRunAudit(scores, included, c.opt)
	}
	if err != nil {
		return b, fmt.Errorf("%s, %s: %w", c.scores, c.included, err)
	}
	return b, nil
}

// readDPAuditFiles reads the scores and the inclusion mask: 1-D arrays of the same length.
func readDPAuditFiles(scoresPath, includedPath string) ([]float64, []bool, error) {
	read := func(path, what string) (*npy.Array, error) {
		a, err := npy.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--%s %s: %w", what, path, err)
		}
		if len(a.Shape) != 1 {
			return nil, fmt.Errorf("--%s %s: shape %s; want a 1-D array, one entry per canary", what, path, npy.ShapeString(a.Shape))
		}
		return a, nil
	}
	sa, err := read(scoresPath, "scores")
	if err != nil {
		return nil, nil, err
	}
	ia, err := read(includedPath, "included")
	if err != nil {
		return nil, nil, err
	}
	if sa.Len() != ia.Len() {
		return nil, nil, fmt.Errorf("--scores %s has %d entries but --included %s has %d", scoresPath, sa.Len(), includedPath, ia.Len())
	}
	included, err := ia.Bools()
	if err != nil {
		return nil, nil, fmt.Errorf("--included %s: %w", includedPath, err)
	}
	return sa.Float64s(), included, nil
}

// dpAuditLine is the one-line summary of a bound.
func dpAuditLine(b metric.EpsilonBound) string {
	conf := strconv.FormatFloat(100*(1-b.Alpha), 'g', 4, 64)
	var s string
	if b.DPBound {
		s = fmt.Sprintf("ε ≥ %.4f at δ = %s with %s%% confidence (%s", b.Value, metric.FormatDelta(b.Delta), conf, b.Method)
	} else {
		s = fmt.Sprintf("ε %.4f at δ = %s (%s, not a DP bound", b.Value, metric.FormatDelta(b.Delta), b.Method)
	}
	if g := b.Guesses; g != nil {
		s += fmt.Sprintf(": %d of %d guesses right on %d canaries", g.Correct, g.Guesses, g.Canaries)
		if g.KPlus+g.KMinus > 0 {
			s += fmt.Sprintf(", k+ %d, k− %d", g.KPlus, g.KMinus)
		}
		if b.SelectionRecords > 0 {
			s += fmt.Sprintf(", chosen on %d other canaries", b.SelectionRecords)
		}
		if b.Method == metric.FDPMethod && b.DPBound {
			s += fmt.Sprintf("; μ-GDP rejected up to μ = %.4g: within the Gaussian-DP family only", g.GDPMu)
		}
	} else if b.Method == metric.MultiRunMethod {
		s += fmt.Sprintf(": threshold chosen on %d runs, %d with and %d without the canary held out", b.SelectionRecords, b.EvalMembers, b.EvalNonMembers)
	}
	s += ")"
	if !b.DPBound {
		s += ": " + b.Caveat
	}
	return s
}
