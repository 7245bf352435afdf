// Package cluster hands a run's tasks to the batch systems people already operate: a Slurm array job
// with a dependent finish job (sbatch), and Kubernetes Indexed Jobs (manifests for kubectl). It
// schedules nothing itself and opens no sockets of its own: each engine retries, places and limits the
// tasks, and every task is an ordinary 'pmeter task train' or 'pmeter task finish' process, idempotent
// because the run directory is content-addressed (package audit).
package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/pmeter/pmeter/audit"
)

// Slurm submits a run to Slurm. The run directory must be on a file system that the submitting host
// and every node share, at the same path.
type Slurm struct {
	// Partition, CPUsPerTask, Mem (e.g. "4G") and Time (e.g. "2:00:00") become #SBATCH directives of
	// both jobs when set.
	Partition   string
	CPUsPerTask int
	Mem, Time   string
	// MaxParallel caps the array's tasks running at once (--array=…%K); 0 leaves it to Slurm.
	MaxParallel int
	// Pmeter is the pmeter binary as the nodes see it.
	Pmeter string
	// Sbatch is the sbatch command ("sbatch" when empty).
	Sbatch string
}

// SlurmJobs is what a submission hands (or, in a dry run, would hand) to Slurm.
type SlurmJobs struct {
	// Dir is the run directory, Models the model tasks of the array job (those missing from it).
	Dir    string
	Models []int
	// TrainScript is the array job's script ("" when no model is missing), FinishScript the finish job's.
	TrainScript, FinishScript string
	// TrainID and FinishID are the job ids Slurm gave (empty in a dry run or when no array was needed).
	TrainID, FinishID string
}

// CheckSlurmDir refuses a run directory that Slurm's tasks cannot share: an object-store URL.
func CheckSlurmDir(dir string) error {
	if audit.IsURL(dir) {
		return fmt.Errorf("cluster: run directory %s: Slurm's tasks share the cluster's file system; give a path on it (object storage is for Kubernetes)", dir)
	}
	return nil
}

// dryRunID stands for the array job's id in the finish script of a dry run.
const dryRunID = "$TRAIN_JOB_ID"

// Plan writes the scripts of run r: an array job over the models missing from its run directory,
// running 'pmeter task train … --index $SLURM_ARRAY_TASK_ID', and a finish job that depends on it. It
// submits nothing.
func (s Slurm) Plan(ctx context.Context, r *audit.TaskRun) (*SlurmJobs, error) {
	if s.Pmeter == "" {
		return nil, errors.New("cluster: the path of the pmeter binary on the nodes is not set")
	}
	if s.MaxParallel < 0 || s.CPUsPerTask < 0 {
		return nil, fmt.Errorf("cluster: --max-parallel %d and --cpus-per-task %d must not be negative", s.MaxParallel, s.CPUsPerTask)
	}
	for _, v := range []struct{ name, val string }{{"partition", s.Partition}, {"mem", s.Mem}, {"time", s.Time}} {
		if strings.ContainsAny(v.val, " \t\n'\"$`\\") {
			return nil, fmt.Errorf("cluster: --%s %q: a Slurm value has no spaces, quotes or shell characters", v.name, v.val)
		}
	}
	dir, err := filepath.Abs(r.Config.Run.LogDir)
	if err != nil {
		return nil, err
	}
	if err := CheckSlurmDir(r.Dir); err != nil {
		return nil, err
	}
	missing, err := r.Missing(ctx)
	if err != nil {
		return nil, err
	}
	j := &SlurmJobs{Dir: dir, Models: missing}
	cfg := audit.SnapshotConfigPath(dir)
	name := "pmeter-" + filepath.Base(dir)
	if len(j.Models) > 0 {
		arr := audit.ArrayRange(j.Models)
		if s.MaxParallel > 0 {
			arr += "%" + strconv.Itoa(s.MaxParallel)
		}
		j.TrainScript = s.script(name+"-train", dir, []string{"--array=" + arr, "--output=" + filepath.Join(dir, "slurm", "train-%A_%a.out")},
			fmt.Sprintf("# Model task $SLURM_ARRAY_TASK_ID of the run in %s: it trains that model and extracts its signals, or\n"+
				"# does nothing when they are there and valid (a requeued or repeated task is harmless).\n", dir),
			[]string{s.Pmeter, "task", "train", cfg, "--out", dir, "--workers", "1"}, `--index "$SLURM_ARRAY_TASK_ID"`)
	}
	var dep []string
	if len(j.Models) > 0 {
		// A failed or cancelled task makes the dependency impossible: Slurm then cancels the finish job
		// instead of leaving it pending for ever.
		dep = []string{"--dependency=afterok:" + dryRunID, "--kill-on-invalid-dep=yes"}
	}
	j.FinishScript = s.script(name+"-finish", dir, append(dep, "--output="+filepath.Join(dir, "slurm", "finish-%j.out")),
		fmt.Sprintf("# The finish step of the run in %s: attacks, metrics and report, once every model exists.\n", dir),
		[]string{s.Pmeter, "task", "finish", cfg, "--out", dir}, "")
	return j, nil
}

// script writes one batch script: the directives, then the pmeter command (argv quoted, then extra
// unquoted).
func (s Slurm) script(name, dir string, directives []string, comment string, argv []string, extra string) string {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	d := append([]string{"--job-name=" + name}, directives...)
	if s.Partition != "" {
		d = append(d, "--partition="+s.Partition)
	}
	if s.CPUsPerTask > 0 {
		d = append(d, "--cpus-per-task="+strconv.Itoa(s.CPUsPerTask))
	}
	if s.Mem != "" {
		d = append(d, "--mem="+s.Mem)
	}
	if s.Time != "" {
		d = append(d, "--time="+s.Time)
	}
	for _, x := range d {
		fmt.Fprintf(&b, "#SBATCH %s\n", x)
	}
	b.WriteString(comment)
	b.WriteString("set -e\n")
	if s.CPUsPerTask > 0 {
		// Without cgroups (task/none) Go would see every CPU of the node.
		fmt.Fprintf(&b, "export GOMAXPROCS=%d\n", s.CPUsPerTask)
	}
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = shellQuote(a)
	}
	cmd := "exec " + strings.Join(q, " ")
	if extra != "" {
		cmd += " " + extra
	}
	b.WriteString(cmd + "\n")
	return b.String()
}

// shellQuote quotes s for sh when it holds anything but safe characters.
func shellQuote(s string) string {
	if s != "" && safeShell.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

var safeShell = regexp.MustCompile(`^[A-Za-z0-9_./:=,+@%-]+$`)

// Submit snapshots run r's configuration and data hash into its run directory, then submits the array
// job over its missing models and the finish job, and returns them with their ids. Submitting again
// submits only the models still missing (tasks of an earlier submission that are still queued may then
// run twice, which is harmless: the second one finds the model done).
func (s Slurm) Submit(ctx context.Context, r *audit.TaskRun, logf func(string, ...any)) (*SlurmJobs, error) {
	claim, err := audit.ClaimDir(r.Config.Run.LogDir, r.Config, logf)
	if err != nil {
		return nil, err
	}
	err = r.WriteSnapshot(ctx)
	claim.Release()
	if err != nil {
		return nil, err
	}
	j, err := s.Plan(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(j.Dir, "slurm"), 0o755); err != nil {
		return nil, err
	}
	if j.TrainScript != "" {
		if j.TrainID, err = s.sbatch(ctx, j.TrainScript); err != nil {
			return nil, fmt.Errorf("submitting the model tasks: %w", err)
		}
		j.FinishScript = strings.ReplaceAll(j.FinishScript, dryRunID, j.TrainID)
	}
	if j.FinishID, err = s.sbatch(ctx, j.FinishScript); err != nil {
		return j, fmt.Errorf("submitting the finish job (the model tasks are array job %s): %w", j.TrainID, err)
	}
	return j, nil
}

// sbatch submits a script on standard input and returns its job id (--parsable prints "id[;cluster]").
func (s Slurm) sbatch(ctx context.Context, script string) (string, error) {
	bin := s.Sbatch
	if bin == "" {
		bin = "sbatch"
	}
	cmd := exec.CommandContext(ctx, bin, "--parsable")
	cmd.Stdin = strings.NewReader(script)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %w: %s", bin, err, strings.TrimSpace(errb.String()))
	}
	id, _, _ := strings.Cut(strings.TrimSpace(out.String()), ";")
	if _, err := strconv.Atoi(id); err != nil {
		return "", fmt.Errorf("%s printed %q, not a job id", bin, out.String())
	}
	return id, nil
}
