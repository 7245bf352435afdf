package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/pmeter/pmeter/audit"
	"github.com/pmeter/pmeter/cluster"
)

const submitUsage = `Usage:
  pmeter submit slurm [flags] [config.yaml]
  pmeter submit kubernetes [flags] [config.yaml] --image IMAGE --store s3://bucket/prefix

Hands a run to a cluster's batch system: one task per model that the run directory lacks
('pmeter task train --index I'), and a finish step ('pmeter task finish') once they all exist. It first
snapshots the config and a content hash of the data into the run directory (submit/), which the tasks
then use. Submitting again submits only the models still missing. 'pmeter plan CONFIG' lists the tasks.

  slurm       sbatch an array job over the missing models and a finish job that runs after every task
              succeeded (--dependency=afterok, --kill-on-invalid-dep=yes: a failed or cancelled task
              cancels it). The run directory (run.log_dir, --out) must be on the cluster's shared file
              system. Prints the job ids; --dry-run prints the scripts instead.
`

// runSubmit implements 'pmeter submit slurm|kubernetes'.
func runSubmit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, submitUsage)
		if len(args) == 0 {
			return usagef("want slurm or kubernetes")
		}
		return flag.ErrHelp
	}
	fs := flag.NewFlagSet("submit "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := newConfigFlags(fs, "override data.dataset", "override run.log_dir, the run directory")
	fs.Usage = func() {
		fmt.Fprint(stderr, submitUsage+"\nFlags:\n")
		fs.PrintDefaults()
	}
	dryRun := fs.Bool("dry-run", false, "print what would be submitted, submit nothing")
	switch args[0] {
	case "slurm":
		var s cluster.Slurm
		fs.StringVar(&s.Partition, "partition", "", "Slurm partition (default: the cluster's)")
		fs.IntVar(&s.CPUsPerTask, "cpus-per-task", 0, "CPUs per model task (and GOMAXPROCS)")
		fs.StringVar(&s.Mem, "mem", "", "memory per task, e.g. 4G")
		fs.StringVar(&s.Time, "time", "", "time limit per task, e.g. 2:00:00")
		fs.IntVar(&s.MaxParallel, "max-parallel", 0, "most model tasks running at once (0: no limit)")
		fs.StringVar(&s.Pmeter, "pmeter", "", "the pmeter binary as the nodes see it (default: this one)")
		rest, err := parseInterspersed(fs, args[1:])
		if err != nil {
			return err
		}
		cfg, err := cf.load(rest)
		if err != nil {
			return err
		}
		if s.Pmeter == "" {
			if s.Pmeter, err = os.Executable(); err != nil {
				return err
			}
		}
		r, err := audit.OpenTaskRun(ctx, cfg, audit.Options{Log: stderr})
		if err != nil {
			return err
		}
		if *dryRun {
			j, err := s.Plan(r)
			if err != nil {
				return err
			}
			if j.TrainScript != "" {
				fmt.Fprintf(stdout, "# sbatch --parsable <<'EOF'   (the model tasks: %d of %d models missing)\n%sEOF\n\n", len(j.Models), r.Plan.Models, j.TrainScript)
			}
			fmt.Fprintf(stdout, "# sbatch --parsable <<'EOF'   (the finish job)\n%sEOF\n", j.FinishScript)
			return nil
		}
		j, err := s.Submit(ctx, r, func(f string, a ...any) { fmt.Fprintf(stderr, f+"\n", a...) })
		if j != nil && j.TrainID != "" {
			fmt.Fprintf(stdout, "model tasks: Slurm array job %s (%s of %d)\n", j.TrainID, audit.ArrayRange(j.Models), r.Plan.Models)
		} else if j != nil {
			fmt.Fprintf(stdout, "model tasks: none: all %d models are in %s\n", r.Plan.Models, j.Dir)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "finish: Slurm job %s\n", j.FinishID)
		fmt.Fprintf(stdout, "follow with: squeue -j %s; logs in %s/slurm; report in %s/report\n", joinIDs(j.TrainID, j.FinishID), j.Dir, j.Dir)
		return nil
	}
	return usagef("unknown engine %q: want slurm or kubernetes", args[0])
}

func joinIDs(ids ...string) string {
	out := ""
	for _, id := range ids {
		if id == "" {
			continue
		}
		if out != "" {
			out += ","
		}
		out += id
	}
	return out
}
