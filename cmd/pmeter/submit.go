package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/pmeter/pmeter/audit"
	"github.com/pmeter/pmeter/cluster"
	"github.com/pmeter/pmeter/npy"
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
  kubernetes  writes the manifests (to standard output, or -o FILE) of an Indexed Job (batch/v1,
              completionMode Indexed, backoffLimitPerIndex: Kubernetes 1.29 or later) with one
              completion per missing model, and of a Job running 'task finish --wait' (Kubernetes Jobs
              have no dependencies); --apply hands them to kubectl apply. The run directory is --store,
              an object-store URL every pod reads and writes; the snapshot is uploaded there, unless
              --dry-run. The image is the repository's Dockerfile's (pmeter at /pmeter).
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
		if err := cluster.CheckSlurmDir(cfg.Run.LogDir); err != nil {
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
			j, err := s.Plan(ctx, r)
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
	case "kubernetes", "k8s":
		var k cluster.Kubernetes
		fs.StringVar(&k.Image, "image", "", "container image with pmeter at /pmeter (required)")
		fs.StringVar(&k.Store, "store", "", "the run directory: s3://bucket/prefix[?settings], gs://…, azblob://… (required)")
		fs.StringVar(&k.Namespace, "namespace", "", "namespace of the Jobs (default: kubectl's)")
		fs.StringVar(&k.CPU, "cpu", "1", "CPU request of each model pod")
		fs.StringVar(&k.Memory, "memory", "2Gi", "memory request and limit of each model pod")
		fs.StringVar(&k.FinishCPU, "finish-cpu", "1", "CPU request of the finish pod")
		fs.StringVar(&k.FinishMemory, "finish-memory", "4Gi", "memory request and limit of the finish pod")
		fs.IntVar(&k.MaxParallel, "max-parallel", 0, "most model pods at once (the Job's parallelism; 0: all)")
		fs.IntVar(&k.BackoffLimitPerIndex, "retries", 2, "retries of each model (backoffLimitPerIndex)")
		fs.StringVar(&k.Secret, "secret", "", "a Secret whose keys become the pods' environment (the store's credentials)")
		fs.StringVar(&k.ServiceAccount, "service-account", "", "service account of the pods (workload identity)")
		fs.StringVar(&k.DataClaim, "data-claim", "", "a PersistentVolumeClaim mounted read-only at data.data_dir")
		fs.StringVar(&k.FinishTimeout, "finish-timeout", "24h", "how long the finish pod waits for the models")
		output := fs.String("o", "", "write the manifests to this file instead of standard output")
		apply := fs.Bool("apply", false, "apply the manifests with kubectl")
		kubectl := fs.String("kubectl", "kubectl", "the kubectl command")
		rest, err := parseInterspersed(fs, args[1:])
		if err != nil {
			return err
		}
		if k.Store == "" || k.Image == "" {
			return usagef("--store and --image are required")
		}
		cfg, err := cf.load(rest)
		if err != nil {
			return err
		}
		cfg.Run.LogDir = k.Store
		opt := audit.Options{Log: stderr}
		r, err := audit.OpenTaskRun(ctx, cfg, opt)
		if err != nil {
			return err
		}
		defer r.Close()
		if !*dryRun {
			if err := r.WriteSnapshot(ctx); err != nil {
				return err
			}
		}
		jobs, err := k.Manifests(ctx, r)
		if err != nil {
			return err
		}
		y, err := jobs.YAML()
		if err != nil {
			return err
		}
		if *output != "" {
			if err := npy.WriteAtomic(*output, func(w io.Writer) error { _, err := w.Write(y); return err }); err != nil {
				return err
			}
			fmt.Fprintf(stderr, "wrote %s: %d model task%s of %d, and the finish Job\n", *output, len(jobs.Models), plural(len(jobs.Models)), r.Plan.Models)
		} else if !*apply {
			stdout.Write(y)
		}
		if *apply && !*dryRun {
			out, err := jobs.Apply(ctx, *kubectl)
			fmt.Fprint(stdout, out)
			return err
		}
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

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
