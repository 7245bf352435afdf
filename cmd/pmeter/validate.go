package main

import (
	"context"
	"flag"
	"io"
	"strings"
	"time"

	"github.com/pmeter/pmeter/internal/progress"
	"github.com/pmeter/pmeter/validity"
)

const validateUsage = `Usage:
  pmeter validate [flags]

Runs the validity harnesses on synthetic signals (no model is trained) and prints a table per harness:

  null  the target leaks nothing, the reference models leak: for every attack variant under every
        membership design, the mean AUC over the seeds must lie within a 99.9 % Student-t interval of 0.5
        (Bonferroni over the cells), the TPR at 0.1 % FPR must equal its value under permuted memberships,
        and the holdout ε lower bound must be positive on no more seeds than its α allows (binomial tail
        probability ≥ 0.001); under the bernoulli design so must the one-run bounds (Steinke, f-DP
        Gaussian, f-DP (ε, δ); the records as canaries, k± a tenth of them);
  leak  the target leaks as the references do: each variant's mean AUC under a design must equal its mean
        AUC with independent memberships and the same reference counts (Welch t interval).

Without flags it runs the full version: 50 seeds of 3,000 records, every variant (the slow ones too),
every design; about 20 minutes on 2 cores, most of it the MLP shadow attack (--no-slow: under 5).
'go test ./validity' runs a reduced version (20 seeds of 2,500 records; --reduced here). The exit
status is 1 when any cell fails. --ranges, --usage, --llm and --users select other harnesses; each
harness takes the flags listed for it, and a flag that does not apply to it is refused (exit status 2)
rather than ignored; a switch given false (--usage=false) selects nothing, as if left out.

Flags:
  --seeds N          data sets per design (default 50)
  --records N        audited records per data set (default 3000)
  --population N     population records per data set (default: --records)
  --harness H        null, leak or all (default all)
  --attacks LIST     comma-separated attack names or variant names (default: all)
  --designs LIST     comma-separated designs: pairs, lira-10, lira-9, bernoulli (default: all)
  --no-slow          leave out the slow variants (the MLP shadow attack)
  --reduced          the reduced version that 'go test ./validity' runs (other flags override it)
  --ranges           the range membership (RaMIA) variants instead of the attacks: each record's queries
                     are its range's points (full: 50 seeds of 3,000 ranges; reduced: 10 of 1,000);
                     every flag of the membership harness applies except --no-slow (no range variant
                     is slow)
  --usage            the dataset usage (DUCI) harness instead: targets that used 0, 20, 50 and 100 % of
                     the records; each variant's intervals must cover the truth at their stated rate and
                     its unclipped estimates be unbiased (full: 200 seeds of 400 records; reduced: 20);
                     with --llm, text DUCI (llm.Usage) on synthetic LLM bundles whose target LM was
                     fine-tuned on those fractions of a corpus of 400 sequences, 4 shadow LMs;
                     --reduced, --seeds, --records, --level, --seed, --workers, --json and --force
                     apply, and --resamples N (bootstrap resamples per interval; full: 1000) and
                     --compare-intervals (adds each variant again with duci's first, conservative
                     interval construction, on the same seeds); with --llm, --model-spread S (each
                     LM's leak factor times exp(S·N(0, 1)): models that differ; default 0); others
                     are refused
  --llm              the language-model attacks (package llm) on synthetic bundles instead, null harness
                     only (full: 50 seeds of 3,000 sequences; reduced: 12 of 800); --reduced, --seeds,
                     --records, --alpha, --level, --seed, --workers, --json and --force apply (others
                     are refused)
  --users            the user-level harness instead: memberships drawn per user (1 to 6 records each),
                     scores aggregated per user (max, mean, logsumexp); null: user-level mean AUC 0.5,
                     and the 10 most exposed users per seed (size-calibrated p) have the users' sizes
                     (full: 50 seeds of 1,000 users, every variant and design; reduced: 20 seeds of 400
                     users); --reduced, --seeds, --attacks, --designs, --harness, --no-slow, --level,
                     --seed, --workers, --json and --force apply (others, --records and --alpha
                     included, are refused)
  --alpha X          significance of the ε lower bounds (default 0.05)
  --level X          significance of the harnesses (default 0.001)
  --permutations N   permutations per seed for the null TPR (default 20)
  --seed N           base seed (default 0)
  --workers N        data sets processed at once (default: one per core)
  --json FILE        write every number, per seed included, to FILE
  --force            overwrite FILE if it exists
`

// runValidate implements 'pmeter validate'.
func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	seeds := fs.Int("seeds", 0, "")
	records := fs.Int("records", 0, "")
	population := fs.Int("population", 0, "")
	harness := fs.String("harness", "all", "")
	attacks := fs.String("attacks", "", "")
	designs := fs.String("designs", "", "")
	noSlow := fs.Bool("no-slow", false, "")
	reduced := fs.Bool("reduced", false, "")
	ranges := fs.Bool("ranges", false, "")
	usage := fs.Bool("usage", false, "")
	resamples := fs.Int("resamples", 0, "")
	compare := fs.Bool("compare-intervals", false, "")
	spread := fs.Float64("model-spread", 0, "")
	llmFlag := fs.Bool("llm", false, "")
	usersFlag := fs.Bool("users", false, "")
	level := fs.Float64("level", 0.001, "")
	perms := fs.Int("permutations", 20, "")
	seed := fs.Uint64("seed", 0, "")
	h := newHarnessFlags(fs)
	if err := parseFlags(fs, args, "validate", validateUsage, stdout); err != nil {
		return err
	}

	set, err := validateMode(*usage, *llmFlag, *usersFlag, *ranges).check(fs)
	if err != nil {
		return err
	}
	if *usage {
		return runValidateUsage(ctx, *reduced, *llmFlag, set, *seeds, *records, *level, *seed, *resamples, *compare, *spread, h, stdout)
	}
	if *llmFlag {
		return runValidateLLM(ctx, *reduced, set, *seeds, *records, *level, *seed, h, stdout)
	}
	if *usersFlag {
		return runValidateUsers(ctx, *reduced, set, *seeds, *harness, *attacks, *designs, *noSlow, *level, *seed, h, stdout)
	}
	cfg := validity.FullConfig()
	switch {
	case *ranges && *reduced:
		cfg = validity.ReducedRangeConfig()
	case *ranges:
		cfg = validity.FullRangeConfig()
	case *reduced:
		cfg = validity.ReducedConfig()
	}
	if set["seeds"] {
		cfg.Seeds = *seeds
	}
	if set["records"] {
		cfg.Records = *records
		cfg.Population = *records
	}
	if set["population"] {
		cfg.Population = *population
	}
	if cfg.Null, cfg.Leak, err = harnessSides(*harness); err != nil {
		return err
	}
	if *noSlow && !*ranges {
		cfg.Variants = validity.Variants(false)
	}
	if cfg.Variants, err = validity.SelectVariants(cfg.Variants, splitList(*attacks)); err != nil {
		return usagef("--attacks: %v", err)
	}
	if cfg.Designs, err = validity.LookupDesigns(splitList(*designs)); err != nil {
		return usagef("--designs: %v", err)
	}
	cfg.Alpha, cfg.Level, cfg.Permutations, cfg.Seed, cfg.Workers = h.alpha, *level, *perms, *seed, h.workers
	switch {
	case cfg.Seeds < 3:
		return usagef("--seeds %d: want at least 3", cfg.Seeds)
	case cfg.Records < 20:
		return usagef("--records %d: want at least 20", cfg.Records)
	case cfg.Population < 1:
		return usagef("--population %d: want at least 1", cfg.Population)
	case !(cfg.Level > 0 && cfg.Level < 1):
		return usagef("--level %v: want a value in (0, 1)", cfg.Level)
	case cfg.Permutations < 1:
		return usagef("--permutations %d: want at least 1", cfg.Permutations)
	}
	if err := h.check(); err != nil {
		return err
	}

	var bar *progress.Bar
	cfg.Progress = func(done, total int) {
		if bar == nil {
			bar = progress.New(stderr, "validate: data sets", total)
		}
		bar.Set(done)
	}
	rep, err := validity.Run(ctx, cfg)
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return err
	}
	if err := rep.WriteTables(stdout); err != nil {
		return err
	}
	return h.finish(rep, rep.Failures(), rep.Elapsed, stdout)
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// validateMode returns the mode of 'pmeter validate' that its switches select, and the flags that mode
// takes: runValidate refuses the others rather than ignoring them. --usage comes first, then --llm, then
// --users, then --ranges; without them, the membership harness, which takes every flag but the switches.
// A switch given false (--usage=false) selects nothing and is taken by every mode.
func validateMode(usage, llm, users, ranges bool) flagMode {
	m := validateModeFlags(usage, llm, users, ranges)
	m.switches = []string{"usage", "llm", "users", "ranges"}
	return m
}

func validateModeFlags(usage, llm, users, ranges bool) flagMode {
	out := []string{"seed", "workers", "json", "force"}
	switch {
	case usage && llm:
		return flagMode{name: "--usage --llm", selectors: []string{"usage", "llm"}, flags: append([]string{"reduced", "seeds", "records", "level"}, append(out, "resamples", "compare-intervals", "model-spread")...)}
	case usage:
		return flagMode{name: "--usage", selectors: []string{"usage"}, flags: append([]string{"reduced", "seeds", "records", "level"}, append(out, "resamples", "compare-intervals")...)}
	case llm:
		return flagMode{name: "--llm", selectors: []string{"llm"}, flags: append([]string{"reduced", "seeds", "records", "alpha", "level"}, out...)}
	case users:
		return flagMode{name: "--users", selectors: []string{"users"}, flags: append([]string{"reduced", "seeds", "harness", "attacks", "designs", "no-slow", "level"}, out...)}
	case ranges:
		// The range variants have no slow one: --no-slow would change nothing.
		return flagMode{name: "--ranges", selectors: []string{"ranges"}, flags: append([]string{"reduced", "seeds", "records", "population", "harness", "attacks", "designs", "alpha", "level", "permutations"}, out...)}
	}
	return flagMode{name: "the membership harness", flags: append([]string{"reduced", "seeds", "records", "population", "harness", "attacks", "designs", "no-slow", "alpha", "level", "permutations"}, out...)}
}

// runValidateUsage is 'pmeter validate --usage': the DUCI harness (validity.RunUsage), or with text the
// text DUCI harness (validity.RunLLMUsage) on synthetic LLM bundles.
func runValidateUsage(ctx context.Context, reduced, text bool, set map[string]bool, seeds, records int, level float64, seed uint64, resamples int, compare bool, spread float64, h *harnessFlags, stdout io.Writer) error {
	cfg := validity.FullUsageConfig()
	switch {
	case text && reduced:
		cfg = validity.ReducedLLMUsageConfig()
	case text:
		cfg = validity.FullLLMUsageConfig()
	case reduced:
		cfg = validity.ReducedUsageConfig()
	}
	if set["seeds"] {
		cfg.Seeds = seeds
	}
	if set["records"] {
		cfg.N, cfg.Z = records, records
		if text {
			cfg.Z = max(1, records/2)
		}
	}
	if set["resamples"] {
		cfg.Resamples = resamples
	}
	if set["model-spread"] {
		if !(spread >= 0 && spread < 1) {
			return usagef("--model-spread %v: want a value in [0, 1)", spread)
		}
		cfg.ModelSpread = spread
	}
	cfg.Alpha, cfg.Seed, cfg.Workers = level, seed, h.workers
	switch {
	case cfg.Resamples < 2:
		return usagef("--resamples %d: want at least 2", cfg.Resamples)
	case cfg.Seeds < 3:
		return usagef("--seeds %d: want at least 3", cfg.Seeds)
	case cfg.N < 20:
		return usagef("--records %d: want at least 20", cfg.N)
	case !(cfg.Alpha > 0 && cfg.Alpha < 1):
		return usagef("--level %v: want a value in (0, 1)", cfg.Alpha)
	}
	if err := h.check(); err != nil {
		return err
	}
	run, variants := validity.RunUsage, validity.UsageVariants()
	if text {
		run, variants = validity.RunLLMUsage, validity.LLMUsageVariants()
	}
	if compare {
		variants = validity.CompareIntervals(variants)
	}
	rep, err := run(ctx, cfg, variants)
	if err != nil {
		return err
	}
	if err := rep.WriteTable(stdout); err != nil {
		return err
	}
	return h.finish(rep, rep.Failures(), rep.Elapsed, stdout)
}

// runValidateLLM is 'pmeter validate --llm'.
func runValidateLLM(ctx context.Context, reduced bool, set map[string]bool, seeds, records int, level float64, seed uint64, h *harnessFlags, stdout io.Writer) error {
	cfg := validity.FullLLMConfig()
	if reduced {
		cfg = validity.ReducedLLMConfig()
	}
	if set["seeds"] {
		cfg.Seeds = seeds
	}
	if set["records"] {
		cfg.Sequences = records
	}
	cfg.Alpha, cfg.Level, cfg.Seed, cfg.Workers = h.alpha, level, seed, h.workers
	switch {
	case cfg.Seeds < 3:
		return usagef("--seeds %d: want at least 3", cfg.Seeds)
	case cfg.Sequences < 40:
		return usagef("--records %d: want at least 40 sequences", cfg.Sequences)
	case !(cfg.Alpha > 0 && cfg.Alpha < 1), !(cfg.Level > 0 && cfg.Level < 1):
		return usagef("--alpha and --level: want values in (0, 1)")
	}
	if err := h.check(); err != nil {
		return err
	}
	start := time.Now()
	rep, err := validity.RunLLM(ctx, cfg)
	if err != nil {
		return err
	}
	rep.WriteTable(stdout)
	return h.finish(rep, rep.Failures(), time.Since(start), stdout)
}

// runValidateUsers is 'pmeter validate --users'.
func runValidateUsers(ctx context.Context, reduced bool, set map[string]bool, seeds int, harness, attacks, designs string, noSlow bool, level float64, seed uint64, h *harnessFlags, stdout io.Writer) error {
	cfg := validity.FullUserConfig()
	if reduced {
		cfg = validity.ReducedUserConfig()
	}
	if set["seeds"] {
		cfg.Seeds = seeds
	}
	var err error
	if cfg.Null, cfg.Leak, err = harnessSides(harness); err != nil {
		return err
	}
	if noSlow {
		cfg.Variants = validity.Variants(false)
	}
	if cfg.Variants, err = validity.SelectVariants(cfg.Variants, splitList(attacks)); err != nil {
		return usagef("--attacks: %v", err)
	}
	if set["designs"] {
		if cfg.Designs, err = validity.LookupDesigns(splitList(designs)); err != nil {
			return usagef("--designs: %v", err)
		}
	}
	cfg.Level, cfg.Seed, cfg.Workers = level, seed, h.workers
	if err := h.check(); err != nil {
		return err
	}
	start := time.Now()
	rep, err := validity.RunUsers(ctx, cfg)
	if err != nil {
		return err
	}
	rep.WriteTable(stdout)
	return h.finish(rep, rep.Failures(), time.Since(start), stdout)
}
