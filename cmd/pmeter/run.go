package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/pmeter/pmeter/audit"
	"github.com/pmeter/pmeter/npy"
)

// runRun implements 'pmeter run [config.yaml]'.
func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := newConfigFlags(fs, "override data.dataset (e.g. adult for the embedded UCI Adult data)", "override run.log_dir, the run directory")
	dryRun := fs.Bool("dry-run", false, "print the plan with its estimated training time ('pmeter plan') and stop")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: pmeter run [flags] [config.yaml]

Runs a whole audit: data, splits, target and reference models, signals, attacks, metrics and report.
Without a config it audits an MLP on the Fashion-MNIST subset embedded in pmeter ('pmeter init' writes
that config, commented). Rerunning reuses every model and signal that is still valid; an interrupted run
loses nothing already finished.

Flags:
`)
		fs.PrintDefaults()
	}
	args, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	cfg, err := cf.load(args)
	if err != nil {
		return err
	}
	if *dryRun {
		return printPlan(ctx, cfg, true, stdout)
	}
	setMemoryLimit(cfg.Run.LogDir)
	res, err := audit.Run(ctx, cfg, audit.Options{Log: stderr})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	res.WriteSummary(stdout)
	fmt.Fprintf(stdout, "\nresults: %s\n", res.Dir+"/report")
	return nil
}

// runInit implements 'pmeter init [file]': it writes the commented default configuration.
func runInit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	force := fs.Bool("force", false, "overwrite an existing file")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: pmeter init [-force] [file]\n\nWrites a commented example configuration (default pmeter.yaml; - for standard output).\n")
		fs.PrintDefaults()
	}
	args, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	path := "pmeter.yaml"
	if len(args) > 1 {
		return usagef("want at most one file, got %d arguments", len(args))
	}
	if len(args) == 1 {
		path = args[0]
	}
	text := audit.DefaultConfigYAML()
	if path == "-" {
		_, err := stdout.Write(text)
		return err
	}
	if lexists(path) && !*force { // a symbolic link counts, even a dangling one
		return fmt.Errorf("%s exists; use -force to overwrite it", path)
	}
	if err := npy.WriteAtomic(path, func(w io.Writer) error { _, err := w.Write(text); return err }); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s; run it with: pmeter run %s\n", path, path)
	return nil
}

// setMemoryLimit gives the Go runtime a soft memory limit of 90 % of the machine's memory, unless
// GOMEMLIMIT sets one. By default the collector lets the heap grow to twice the live data; near the
// limit it collects more often instead, so that a run whose live data fits (what audit.Run's estimate
// checks) is not killed for the garbage it has not yet collected.
func setMemoryLimit(dir string) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	if l := audit.MachineLimits(dir); l.Memory > 0 {
		debug.SetMemoryLimit(l.Memory / 10 * 9)
	}
}
