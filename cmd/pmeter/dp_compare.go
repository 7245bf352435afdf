package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pmeter/pmeter/npy"
	"github.com/pmeter/pmeter/report"
)

const dpCompareUsage = `Usage:
  pmeter dp compare RUN_DIR... [--out FILE.html] [--json FILE] [--force]

Sets several runs side by side (for example one model trained without DP-SGD and with DP-SGD at several
ε, as examples/dp/compare.sh does): for each run, the accountant's ε (∞ without train.dp) against the
ε lower bounds its audits proved, read from RUN_DIR/report/summary.json. Prints a table; writes a
self-contained page with the table and a chart, and the rows as JSON, when asked.

Flags:
  --out FILE.html   write the comparison page
  --json FILE       write the rows as JSON
  --force           overwrite FILE.html or FILE if they exist
`

// runDPCompare implements 'pmeter dp compare'.
func runDPCompare(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("out", "", "")
	jsonOut := fs.String("json", "", "")
	force := fs.Bool("force", false, "")
	pos, err := parseArgs(fs, args, dpCompareUsage, stdout)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("want one or more RUN_DIR arguments; run 'pmeter dp compare -h'")
	}
	var runs []report.DPRun
	for _, dir := range pos {
		s, err := report.ReadSummary(filepath.Join(dir, "report", "summary.json"))
		if err != nil {
			return fmt.Errorf("run %s (has it finished? 'pmeter report %s' rebuilds its report): %w", dir, dir, err)
		}
		runs = append(runs, report.DPRun{Name: filepath.Base(filepath.Clean(dir)), Summary: s})
	}
	rows, err := report.CompareDP(runs)
	if err != nil {
		return err
	}
	for _, p := range []string{*out, *jsonOut} {
		if p == "" || *force {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("%s exists; use --force to overwrite it", p)
		}
	}
	if err := report.WriteDPCompareText(stdout, rows); err != nil {
		return err
	}
	if *out != "" {
		if err := npy.WriteAtomic(*out, func(w io.Writer) error { return report.WriteDPCompareHTML(w, rows) }); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", *out)
	}
	if *jsonOut != "" {
		if err := npy.WriteAtomic(*jsonOut, func(w io.Writer) error {
			e := json.NewEncoder(w)
			e.SetIndent("", "  ")
			return e.Encode(rows)
		}); err != nil {
			return err
		}
	}
	return nil
}
