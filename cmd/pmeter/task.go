package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pmeter/pmeter/audit"
)

const taskUsage = `Usage:
  pmeter task train [flags] [config.yaml] --index I
  pmeter task finish [flags] [config.yaml] [--wait [--timeout D]]

The steps of a run, each runnable alone, in any order and any number of times, on any machine that
sees the run directory (what 'pmeter submit' hands to Slurm or Kubernetes):

  train   trains model I and extracts its signals; does nothing when the run directory already holds
          them, valid. --index defaults to $JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs) or
          $SLURM_ARRAY_TASK_ID (Slurm array jobs).
  finish  runs the attacks, metrics and report once every model exists, and names the missing
          models otherwise; with --wait it looks again every --poll until they exist, or --timeout.

With --out RUN_DIR and no config, the tasks read the submitted run's snapshot alone; RUN_DIR may be
an object-store URL (s3://bucket/prefix?settings, gs://…, azblob://…), staged in a local folder under
$TMPDIR. When the run was submitted, the tasks use the configuration snapshotted in its run directory
(submit/config.yaml), not the config file given: a config edited later cannot mix two runs. 'pmeter
plan CONFIG' lists the tasks and their keys.
`

// runTask implements 'pmeter task train|finish'.
func runTask(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, taskUsage)
		if len(args) == 0 {
			return usagef("want train or finish")
		}
		return flag.ErrHelp
	}
	fs := flag.NewFlagSet("task "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := newConfigFlags(fs, "override data.dataset", "override run.log_dir, the run directory")
	fs.Usage = func() {
		fmt.Fprint(stderr, taskUsage+"\nFlags:\n")
		fs.PrintDefaults()
	}
	switch args[0] {
	case "train":
		index := fs.Int("index", -1, "the model to train (0 .. models−1; default $JOB_COMPLETION_INDEX or $SLURM_ARRAY_TASK_ID)")
		rest, err := parseInterspersed(fs, args[1:])
		if err != nil {
			return err
		}
		i, err := taskIndex(*index)
		if err != nil {
			return err
		}
		opt := audit.Options{Log: stderr}
		r, err := cf.openTaskRun(ctx, rest, opt)
		if err != nil {
			return err
		}
		defer r.Close()
		info, err := r.Train(ctx, i, opt)
		if err != nil {
			return err
		}
		what := fmt.Sprintf("trained in %.1f s", info.Seconds)
		if info.Cached {
			what = "already in the run directory: nothing to do"
		}
		fmt.Fprintf(stdout, "model %d (key %s): %s\n", info.Model, info.Key, what)
		return nil
	case "finish":
		wait := fs.Bool("wait", false, "wait until every model exists instead of failing")
		timeout := fs.Duration("timeout", 0, "with --wait: give up after this long (0: never)")
		poll := fs.Duration("poll", 30*time.Second, "with --wait: how often to look")
		rest, err := parseInterspersed(fs, args[1:])
		if err != nil {
			return err
		}
		opt := audit.Options{Log: stderr}
		t0 := time.Now()
		r, err := cf.openTaskRun(ctx, rest, opt)
		if err != nil {
			return err
		}
		defer r.Close()
		if err := r.WaitModels(ctx, opt, audit.FinishOptions{Wait: *wait, Timeout: *timeout, Poll: *poll}); err != nil {
			return err
		}
		res, err := r.Finish(ctx, opt, t0)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout)
		res.WriteSummary(stdout)
		fmt.Fprintf(stdout, "\nresults: %s\n", res.Dir+"/report")
		return nil
	}
	return usagef("unknown task %q: want train or finish", args[0])
}

// openTaskRun prepares the run of the config named by args, or, with no config and --out, the run
// submitted into that run directory (a path or an object-store URL) from its snapshot alone.
func (f configFlags) openTaskRun(ctx context.Context, args []string, opt audit.Options) (*audit.TaskRun, error) {
	if len(args) == 0 && *f.out != "" {
		setMemoryLimit(*f.out)
		return audit.OpenSubmitted(ctx, *f.out, max(*f.workers, 0), opt)
	}
	cfg, err := f.load(args)
	if err != nil {
		return nil, err
	}
	setMemoryLimit(cfg.Run.LogDir)
	return audit.OpenTaskRun(ctx, cfg, opt)
}

// taskIndex is --index, or the index the cluster gives the process in its environment; with
// $PMETER_TASK_MODELS (a list of models, which 'pmeter submit kubernetes' sets when only some models
// are missing) index i stands for the list's i-th model.
func taskIndex(flagged int) (int, error) {
	i, env := flagged, "--index"
	if i < 0 {
		for _, e := range []string{"JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID"} {
			if v := os.Getenv(e); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 {
					return 0, fmt.Errorf("$%s = %q is not a model index", e, v)
				}
				i, env = n, "$"+e
				break
			}
		}
	}
	if i < 0 {
		return 0, usagef("--index is required (or $JOB_COMPLETION_INDEX, $SLURM_ARRAY_TASK_ID)")
	}
	list := os.Getenv("PMETER_TASK_MODELS")
	if list == "" || env == "--index" {
		return i, nil
	}
	models := strings.Split(list, ",")
	if i >= len(models) {
		return 0, fmt.Errorf("%s = %d, but $PMETER_TASK_MODELS lists %d models", env, i, len(models))
	}
	m, err := strconv.Atoi(strings.TrimSpace(models[i]))
	if err != nil || m < 0 {
		return 0, fmt.Errorf("$PMETER_TASK_MODELS = %q: entry %d is not a model index", list, i)
	}
	return m, nil
}
