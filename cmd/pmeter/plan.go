package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/pmeter/pmeter/audit"
)

// runPlan implements 'pmeter plan [config.yaml]': it prints what a run of the config will need
// (audit.Estimate) and whether that fits this machine.
func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := newConfigFlags(fs, "override data.dataset", "override run.log_dir (its file system's free space is checked)")
	noCal := fs.Bool("no-calibrate", false, "skip the short training that measures this machine's speed (no time estimate)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: pmeter plan [flags] [config.yaml]

Prints what 'pmeter run' of the config will need, without training anything: models (targets and
references), audited and population records, parameters per model, memory (the peak, while run.workers
models train at once, with every model's signals and the attacks' inputs) and disk (models, signals,
report), against this machine's memory and the free space of the run directory's file system, and the
training's FLOPs per model with the estimated training time, from a few training steps of the model
timed on this machine (a calibration of about a second). It exits with status 1 when the plan does not
fit, as 'pmeter run' would refuse it. It loads the data to know its size. 'pmeter run -dry-run' prints
the same.

It also lists the run's model tasks, one per model, with the keys that name their artefacts and
whether the run directory holds them: 'pmeter task train CONFIG --index I' runs one, and 'pmeter
submit' hands the missing ones to a cluster.

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
	return printPlan(ctx, cfg, !*noCal, stdout)
}

// printPlan prints the estimate of a run of cfg, with the training time calibrated on this machine
// when calibrate is set, and the verdict; it returns audit.ErrDoesNotFit (wrapped) when the plan does
// not fit.
func printPlan(ctx context.Context, cfg *audit.Config, calibrate bool, stdout io.Writer) error {
	d, err := audit.LoadData(cfg)
	if err != nil {
		return err
	}
	est, err := audit.EstimateRun(cfg, d)
	if err != nil {
		return err
	}
	limits := audit.MachineLimits(cfg.Run.LogDir)
	fits := est.Check(limits)
	// Calibrating builds and trains one model: only when that fits in half the memory (a plan that does
	// not fit as a whole still gets its time estimate).
	if calibrate && (limits.Memory == 0 || est.CalibrationMemory() <= limits.Memory/2) {
		if err := est.Calibrate(ctx, cfg, d); err != nil {
			return err
		}
	}
	if _, err := est.WriteTo(stdout); err != nil {
		return err
	}
	dp, err := cfg.DPRecipe(ctx, d)
	if err != nil {
		return err
	}
	if dp != nil {
		fmt.Fprintf(stdout, "%-*s%s\n", audit.EstimateColumn, "dp", dp)
	}
	if err := writeTasks(ctx, stdout, cfg, d); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%-*s%s\n", audit.EstimateColumn, "machine", limits)
	if err := fits; err != nil {
		if errors.Is(err, audit.ErrDoesNotFit) {
			fmt.Fprintf(stdout, "%-*s%s\n", audit.EstimateColumn, "verdict", "does not fit: pmeter run refuses it")
		}
		return err
	}
	fmt.Fprintf(stdout, "%-*s%s\n", audit.EstimateColumn, "verdict", "fits")
	return nil
}

// writeTasks lists the model tasks of cfg's run: index, role, training records, keys and state.
func writeTasks(ctx context.Context, w io.Writer, cfg *audit.Config, d *audit.Data) error {
	tasks, err := audit.PlanTasks(ctx, cfg, d)
	if err != nil {
		fmt.Fprintf(w, "%-*s%s\n", audit.EstimateColumn, "tasks", "none: "+err.Error())
		return nil
	}
	done := 0
	for _, t := range tasks {
		if t.Done {
			done++
		}
	}
	fmt.Fprintf(w, "%-*s%d model tasks ('pmeter task train CONFIG --index I', I = 0..%d), %d done in %s, then 'pmeter task finish CONFIG'\n",
		audit.EstimateColumn, "tasks", len(tasks), len(tasks)-1, done, cfg.Run.LogDir)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  index\trole\ttrain records\tmodel key\tsignal key\tstate")
	for _, t := range tasks {
		role, state := "reference", "missing"
		if t.Target {
			role = "target"
		}
		if t.External {
			role += " (file)"
		}
		if t.Done {
			state = "done"
		}
		fmt.Fprintf(tw, "  %d\t%s\t%d\t%s\t%s\t%s\n", t.Index, role, t.TrainSize, t.ModelKey, t.SignalKey, state)
	}
	return tw.Flush()
}
