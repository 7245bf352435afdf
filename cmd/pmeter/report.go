package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pmeter/pmeter/audit"
	"github.com/pmeter/pmeter/report"
)

const reportUsage = `Usage:
  pmeter report RUN_DIR [flags]

Rebuilds the audit report of a run from its saved results, without retraining or rerunning any attack:
reads RUN_DIR/results (or RUN_DIR itself when it holds results.json) and writes RUN_DIR/report:
index.html (self-contained), summary.json, records.csv and plots/*.png|svg.

A text-modality run (data.modality: text), and the --out directory of 'pmeter attack' on an LLM bundle,
get report/llm.html back, and a dataset_usage run (DUCI, classifier or text) report/index.html, rebuilt
byte for byte from the inputs the run saved in RUN_DIR/results (llm_page.json with llm_page.npy,
usage_page.json; checksummed); only --out applies to them.

While it works it claims RUN_DIR alone (a file in RUN_DIR/claims, as pmeter run does): another pmeter report
or a pmeter run on RUN_DIR is refused, naming the process, until it ends; the claim of a killed process is
taken over. With --out DIR it claims DIR alone the same way (DIR/claims), so that a report of another run
into DIR is refused, naming DIR and the process, until this one ends; a DIR named report in a run
directory or a folder of saved results (or in a folder that is missing or empty) is that folder's report
folder, which pmeter run and pmeter report of that folder write, so that folder is claimed instead
(--out RUN_B/report waits for a report or run of RUN_B, and they for it). Paths are compared resolved
(absolute, symbolic links followed). When it ends it removes the claims folders and the folders
it made (an empty DIR after a failure), and nothing else: a folder of saved results is left as it was.

pmeter report overwrites and removes only files it wrote, in RUN_DIR/report as in DIR: those its earlier
reports listed in .pmeter-report-manifest.json there, or for a text or dataset_usage run an llm.html or
index.html page of that kind; a report that would write over any other file is refused, naming the file.

By default the settings of an existing RUN_DIR/report/summary.json (bootstrap resamples, level and seed,
alpha, top-k, ranking attack, users aggregate) are kept, so that the rebuilt report matches it; flags
override them.

Flags:
  --out DIR          write the report to DIR instead of RUN_DIR/report
  --top-k N          most vulnerable records shown (default 20)
  --resamples N      bootstrap resamples for the confidence intervals (default 1000)
  --level X          confidence level of the intervals (default 0.95)
  --seed N           seed of the bootstrap (default 0)
  --alpha X          significance of the epsilon lower bounds (default 0.05)
  --rank-by NAME     attack that ranks the records (default: the strongest); the most exposed users
                     listed are this attack's too
  --users-aggregate NAME
                     user aggregate (max, mean, logsumexp) of the most exposed users listed, for a run
                     with data.user_column (default: the run's first, audit.user_aggregates)
`

// runReport implements 'pmeter report'.
func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("report", flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	out := flags.String("out", "", "")
	topK := flags.Int("top-k", 0, "")
	resamples := flags.Int("resamples", 0, "")
	level := flags.Float64("level", 0, "")
	seed := flags.Uint64("seed", 0, "")
	alpha := flags.Float64("alpha", 0, "")
	rankBy := flags.String("rank-by", "", "")
	usersAggregate := flags.String("users-aggregate", "", "")
	pos, err := parseArgs(flags, args, reportUsage, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one RUN_DIR argument, got %d (%s); run 'pmeter report -h'", len(pos), strings.Join(pos, " "))
	}
	runDir := pos[0]
	results := filepath.Join(runDir, report.ResultsDir)
	if _, err := os.Stat(filepath.Join(runDir, report.InputFile)); err == nil {
		results = runDir
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join(runDir, report.ReportDir)
	}

	kind, err := audit.ReportKindOf(runDir)
	if err != nil {
		return err
	}
	if kind != audit.MembershipReport {
		var set []string
		flags.Visit(func(f *flag.Flag) {
			if f.Name != "out" {
				set = append(set, "--"+f.Name)
			}
		})
		if len(set) > 0 {
			return usagef("%s: %s applies to membership reports; %s is a %s run, whose page has no such setting", runDir, strings.Join(set, ", "), runDir, kind)
		}
	} else if _, err := os.Stat(filepath.Join(results, report.InputFile)); errors.Is(err, fs.ErrNotExist) {
		if lexists(filepath.Join(runDir, llmMetricsFile)) { // an LLM attack's --out of a pmeter before run directories
			return fmt.Errorf("%s was written by an earlier 'pmeter attack' on an LLM bundle, which saved no input for a report; rerun 'pmeter attack' with --out %s: %w", runDir, runDir, err)
		}
		return fmt.Errorf("%s holds no saved results (%s); run the audit first: %w", runDir, report.InputFile, err)
	}
	// Claimed once RUN_DIR is known to hold a run's results, so that no claims folder is made elsewhere.
	claim, err := audit.ClaimReport(runDir, *out, func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) })
	if err != nil {
		return err
	}
	defer claim.Release()
	if kind != audit.MembershipReport {
		page, err := audit.RebuildReport(ctx, runDir, dir)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", page)
		return nil
	}
	in, err := report.ReadInput(results)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s holds no saved results (%s); run the audit first: %w", runDir, report.InputFile, err)
		}
		return err
	}
	var opts report.Options
	if prev, err := report.ReadSummary(filepath.Join(dir, report.SummaryFile)); err == nil {
		opts = report.OptionsOf(prev)
	} else if !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stderr, "pmeter report: ignoring the existing summary: %v\n", err)
	}
	set := map[string]bool{}
	flags.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["top-k"] {
		opts.TopK = *topK
		if *topK == 0 {
			opts.TopK = -1
		}
	}
	if set["resamples"] {
		opts.Bootstrap.Resamples = *resamples
	}
	if set["level"] {
		opts.Bootstrap.Level = *level
	}
	if set["seed"] {
		opts.Bootstrap.Seed = *seed
	}
	if set["alpha"] {
		opts.Alpha = *alpha
	}
	if set["rank-by"] {
		opts.RankBy = *rankBy
	}
	if set["users-aggregate"] {
		opts.UsersAggregate = *usersAggregate
	}
	s, err := report.Build(ctx, in, dir, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\nwrote %s\n", s.Verdict.Headline, filepath.Join(dir, report.HTMLFile))
	return nil
}
