package cluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmeter/pmeter/audit"
)

const tinyYAML = `run: {random_seed: 3}
audit: {num_ref_models: 1, population_size: 100, attacks: [{name: rmia}, {name: loss}]}
train: {model_name: logreg, optimizer: Adam, learning_rate: 0.01, epochs: 2, batch_size: 32, schedule: constant}
data: {dataset: fashion-mnist, train_size: 200}
`

func tinyRun(t *testing.T, dir string) *audit.TaskRun {
	t.Helper()
	c, err := audit.ParseConfig([]byte(tinyYAML))
	if err != nil {
		t.Fatal(err)
	}
	c.Run.LogDir = dir
	r, err := audit.OpenTaskRun(context.Background(), c, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestSlurmScripts checks the scripts without Slurm: the array lists only the missing models, with the
// cap, the directives asked for, and the finish job's dependency.
func TestSlurmScripts(t *testing.T) {
	dir := t.TempDir()
	r := tinyRun(t, dir)
	for _, i := range []int{1, 2} {
		if _, err := r.Train(context.Background(), i, audit.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	s := Slurm{Partition: "gpu", CPUsPerTask: 4, Mem: "8G", Time: "1:00:00", MaxParallel: 3, Pmeter: "/opt/my pmeter/pmeter"}
	j, err := s.Plan(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(j.Models, []int{0, 3}) {
		t.Errorf("models %v, want the missing 0 and 3", j.Models)
	}
	for _, want := range []string{"#!/bin/sh\n", "#SBATCH --array=0,3%3\n", "#SBATCH --partition=gpu\n", "#SBATCH --cpus-per-task=4\n",
		"#SBATCH --mem=8G\n", "#SBATCH --time=1:00:00\n", "export GOMAXPROCS=4\n",
		"exec '/opt/my pmeter/pmeter' task train " + filepath.Join(dir, "submit", "config.yaml") + " --out " + dir + ` --workers 1 --index "$SLURM_ARRAY_TASK_ID"`} {
		if !strings.Contains(j.TrainScript, want) {
			t.Errorf("train script lacks %q:\n%s", want, j.TrainScript)
		}
	}
	for _, want := range []string{"#SBATCH --dependency=afterok:$TRAIN_JOB_ID\n", "#SBATCH --kill-on-invalid-dep=yes\n", " task finish "} {
		if !strings.Contains(j.FinishScript, want) {
			t.Errorf("finish script lacks %q:\n%s", want, j.FinishScript)
		}
	}
	if _, err := (Slurm{Pmeter: "p", Mem: "4G; rm -rf /"}).Plan(context.Background(), r); err == nil {
		t.Error("a --mem with shell characters is accepted")
	}
}

// requireSlurm skips the test unless a Slurm controller answers here (scripts/slurm-local.sh starts
// one); under CI=true it fails instead.
func requireSlurm(t *testing.T) {
	t.Helper()
	why := ""
	if _, err := exec.LookPath("sbatch"); err != nil {
		why = "sbatch is not installed (apt-get install slurm-wlm munge)"
	} else if out, err := exec.Command("scontrol", "ping").CombinedOutput(); err != nil || !strings.Contains(string(out), "UP") {
		why = "no Slurm controller answers (scontrol ping: " + strings.TrimSpace(string(out)) + ")"
	} else if out, _ := exec.Command("sinfo", "-h", "-o", "%t").Output(); !regexp.MustCompile(`idle|mix|alloc`).Match(out) {
		why = "the Slurm node is not up (sinfo: " + strings.TrimSpace(string(out)) + ")"
	}
	if why == "" {
		return
	}
	why += "; start a single-node cluster with scripts/slurm-local.sh (as root)"
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// buildPmeter builds the pmeter command once for the package's tests (dir is unused beyond the first
// call's temporary folder, which outlives the tests; TestMain removes it).
func buildPmeter(t *testing.T, _ string) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pmeter-cluster-test-*")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "pmeter")
		cmd := exec.Command("go", "build", "-o", builtBin, "../cmd/pmeter")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

func runCmd(t *testing.T, name string, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s\n%s", name, strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// waitJobs waits until Slurm lists none of the jobs as pending or running.
func waitJobs(t *testing.T, ids ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		out, err := exec.Command("squeue", "-h", "-j", strings.Join(ids, ","), "-o", "%i %T").Output()
		if err == nil && strings.TrimSpace(string(out)) == "" {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("Slurm jobs %v still queued after 5 minutes", ids)
}

func jobState(t *testing.T, id string) string {
	t.Helper()
	out := runCmd(t, "scontrol", "show", "job", id)
	m := regexp.MustCompile(`JobState=(\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("scontrol show job %s: no JobState:\n%s", id, out)
	}
	return m[1]
}

var submitted = regexp.MustCompile(`model tasks: Slurm array job (\d+) \(([^ ]+) of (\d+)\)\nfinish: Slurm job (\d+)\n`)

// TestSlurmArrayJob runs the default audit (with 20 epochs instead of 80; PMETER_SLURM_FULL=1 keeps
// 80) as a Slurm array job on a real single-node cluster, one task at a time. It cancels the last
// model's task while it trains: the finish job is then cancelled, not left pending, and every other
// model is kept. Submitting again submits only the cancelled model; the scores then equal, byte for
// byte, those of a local 'pmeter run'.
func TestSlurmArrayJob(t *testing.T) {
	requireSlurm(t)
	tmp := t.TempDir()
	bin := buildPmeter(t, tmp)
	yaml := string(audit.DefaultConfigYAML())
	if os.Getenv("PMETER_SLURM_FULL") != "1" {
		yaml = strings.Replace(yaml, "  epochs: 80 ", "  epochs: 20 ", 1)
	}
	cfg := filepath.Join(tmp, "audit.yaml")
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	local, cl := filepath.Join(tmp, "local"), filepath.Join(tmp, "slurm")
	runCmd(t, bin, "run", cfg, "--out", local)

	out := runCmd(t, bin, "submit", "slurm", cfg, "--out", cl, "--max-parallel", "1", "--cpus-per-task", "1")
	m := submitted.FindStringSubmatch(out)
	if m == nil || m[2] != "0-9" || m[3] != "10" {
		t.Fatalf("pmeter submit slurm printed:\n%s", out)
	}
	arrayID, finishID := m[1], m[4]
	// Cancel model 9's task while it trains (tasks run one at a time, in order).
	log9 := filepath.Join(cl, "slurm", "train-"+arrayID+"_9.out")
	deadline := time.Now().Add(5 * time.Minute)
	for {
		if b, _ := os.ReadFile(log9); bytes.Contains(b, []byte("train 1 model")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("task 9 did not start training within 5 minutes")
		}
		time.Sleep(10 * time.Millisecond)
	}
	runCmd(t, "scancel", arrayID+"_9")
	waitJobs(t, arrayID, finishID)
	if b, _ := os.ReadFile(log9); bytes.Contains(b, []byte("trained in")) {
		t.Fatalf("task 9 finished before it was cancelled:\n%s", b)
	}
	if st := jobState(t, finishID); st != "CANCELLED" {
		t.Errorf("finish job %s after a cancelled task: %s, want CANCELLED (--kill-on-invalid-dep)", finishID, st)
	}
	if _, err := os.Stat(filepath.Join(cl, "report")); err == nil {
		t.Error("the finish step ran although a model task was cancelled")
	}
	signals, _ := filepath.Glob(filepath.Join(cl, "signals", "*"))
	kept := map[string]time.Time{}
	for _, f := range signals {
		st, _ := os.Stat(f)
		kept[f] = st.ModTime()
	}
	if len(kept) != 9*3 {
		t.Fatalf("%d signal files after the cancel, want 27 (3 for each of models 0-8)", len(kept))
	}

	out = runCmd(t, bin, "submit", "slurm", cfg, "--out", cl)
	m = submitted.FindStringSubmatch(out)
	if m == nil || m[2] != "9" {
		t.Fatalf("resubmitting after the cancel: want only model 9 submitted, got:\n%s", out)
	}
	waitJobs(t, m[1], m[4])
	if st := jobState(t, m[4]); st != "COMPLETED" {
		b, _ := os.ReadFile(filepath.Join(cl, "slurm", "finish-"+m[4]+".out"))
		t.Fatalf("finish job %s: %s\n%s", m[4], st, b)
	}
	for f, mt := range kept {
		if st, err := os.Stat(f); err != nil || !st.ModTime().Equal(mt) {
			t.Errorf("%s was rewritten or lost by the resubmission", f)
		}
	}
	b, _ := os.ReadFile(filepath.Join(cl, "slurm", "finish-"+m[4]+".out"))
	if !bytes.Contains(b, []byte("models: 0 trained, 10 reused")) {
		t.Errorf("finish log:\n%s", b)
	}
	for _, f := range []string{"results/scores.npy", "report/records.csv"} {
		want, err1 := os.ReadFile(filepath.Join(local, f))
		got, err2 := os.ReadFile(filepath.Join(cl, f))
		if err1 != nil || err2 != nil || !bytes.Equal(want, got) {
			t.Errorf("%s of the Slurm run differs from the local run's (%v, %v)", f, err1, err2)
		}
	}
}
