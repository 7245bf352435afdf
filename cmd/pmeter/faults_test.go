//go:build unix

package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for the pmeter command: with PMETER_TEST_AS_PMETER=1 in its
// environment it runs main, so that the tests below can start pmeter as a process of its own and kill
// it with SIGKILL.
func TestMain(m *testing.M) {
	if os.Getenv("PMETER_TEST_AS_PMETER") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// pmeterCmd returns the command 'pmeter args…', run by the test binary.
func pmeterCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "PMETER_TEST_AS_PMETER=1")
	return cmd
}

// faultConfig is a small audit (6 MLPs of 2 epochs on 400 records, every default attack) that runs in a
// few seconds, so that kills land in every stage: training, signals, attacks, report.
const faultConfig = `run:
  random_seed: 11
  workers: 2
audit:
  num_ref_models: 2
  population_size: 200
train:
  model_name: mlp
  optimizer: Adam
  learning_rate: 0.002
  epochs: 2
  batch_size: 32
  schedule: constant
data:
  dataset: fashion-mnist
  train_size: 400
`

// atomicTemp matches npy.WriteAtomic's temporary files.
var atomicTemp = regexp.MustCompile(`^\..+\.tmp\d+$`)

// runFiles returns the files of a run directory that must not depend on whether the run was
// interrupted: the scores, the memberships, the models' weights and the signal files (sidecars hold
// timings, so they are left out), by path relative to dir.
func runFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for _, pattern := range []string{"results/scores.npy", "memberships.npy", "models/*.safetensors", "signals/*.npy"} {
		matches, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, m := range matches {
			b, err := os.ReadFile(m)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(dir, m)
			files[rel] = b
		}
	}
	if files["results/scores.npy"] == nil {
		t.Fatalf("%s has no results/scores.npy", dir)
	}
	return files
}

// TestFaultInjection kills 'pmeter run' with SIGKILL at random points of a small audit, reruns it to
// completion each time, and checks that the scores (and every model and signal file) are byte-identical
// to those of an uninterrupted run, and that no temporary or claim file is left behind.
//
// It kills PMETER_FAULT_KILLS times (3 by default, as in CI; scripts/faults.sh runs 20), at points drawn
// from PMETER_FAULT_SEED (logged, so that a failure can be replayed).
func TestFaultInjection(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection runs pmeter several times; skipped with -short")
	}
	kills := 3
	if s := os.Getenv("PMETER_FAULT_KILLS"); s != "" {
		var err error
		if kills, err = strconv.Atoi(s); err != nil || kills < 1 {
			t.Fatalf("PMETER_FAULT_KILLS=%q: want a positive number", s)
		}
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("PMETER_FAULT_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("PMETER_FAULT_SEED=%q: want a number", s)
		}
	}
	t.Logf("%d kills, PMETER_FAULT_SEED=%d", kills, seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	work := t.TempDir()
	cfg := filepath.Join(work, "faults.yaml")
	if err := os.WriteFile(cfg, []byte(faultConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	complete := func(dir string) string {
		t.Helper()
		var out, errb bytes.Buffer
		cmd := pmeterCmd("run", cfg, "--out", dir)
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("pmeter run --out %s: %v\n%s\n%s", dir, err, out.String(), errb.String())
		}
		return errb.String()
	}
	start := time.Now()
	refDir := filepath.Join(work, "reference")
	complete(refDir)
	full := time.Since(start)
	want := runFiles(t, refDir)
	t.Logf("an uninterrupted run takes %v and writes %d checked files", full.Round(time.Millisecond), len(want))

	for k := 0; k < kills; k++ {
		dir := filepath.Join(work, fmt.Sprintf("killed-%d", k))
		at := time.Duration(rng.Int64N(int64(full)))
		cmd := pmeterCmd("run", cfg, "--out", dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(at)
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		killed := err != nil && strings.Contains(err.Error(), "killed")
		log := complete(dir)
		got := runFiles(t, dir)
		for name, b := range want {
			if !bytes.Equal(got[name], b) {
				t.Errorf("kill %d at %v (killed: %v): %s differs from the uninterrupted run's", k, at, killed, name)
			}
		}
		for name := range got {
			if want[name] == nil {
				t.Errorf("kill %d at %v: the rerun wrote %s, which the uninterrupted run did not", k, at, name)
			}
		}
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, path)
			switch {
			case atomicTemp.MatchString(d.Name()):
				t.Errorf("kill %d at %v: temporary file %s left behind", k, at, rel)
			case filepath.Dir(rel) == "claims" && strings.HasSuffix(rel, ".json"):
				t.Errorf("kill %d at %v: claim file %s left behind", k, at, rel)
			}
			return nil
		})
		t.Logf("kill %d at %v (killed before finishing: %v): rerun matches; its log: %s", k, at.Round(time.Millisecond), killed,
			firstLines(log, "taking over", "recomputing", "retraining", "removed"))
		if !t.Failed() {
			os.RemoveAll(dir)
		}
	}
}

// firstLines returns the lines of log that contain any of words, joined, or "nothing to report".
func firstLines(log string, words ...string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		for _, w := range words {
			if strings.Contains(l, w) {
				out = append(out, strings.TrimSpace(l))
				break
			}
		}
	}
	if len(out) == 0 {
		return "nothing to report"
	}
	return strings.Join(out, " | ")
}

// TestClaimAcrossProcesses starts a pmeter run as a process of its own, runs another configuration on
// the same directory while it works (refused, naming the process), kills the process with SIGKILL, and
// runs the other configuration again: it takes the stale claim over and completes.
func TestClaimAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts pmeter as a separate process; skipped with -short")
	}
	work := t.TempDir()
	dir := filepath.Join(work, "run")
	slow := filepath.Join(work, "slow.yaml")
	other := filepath.Join(work, "other.yaml")
	if err := os.WriteFile(slow, []byte(strings.Replace(faultConfig, "epochs: 2", "epochs: 200", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, []byte(strings.Replace(faultConfig, "random_seed: 11", "random_seed: 12", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	holder := pmeterCmd("run", slow, "--out", dir)
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer holder.Process.Kill()
	deadline := time.Now().Add(time.Minute)
	for {
		if m, _ := filepath.Glob(filepath.Join(dir, "claims", "*.json")); len(m) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first pmeter run has not claimed its directory after a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
	code, _, errs := cli(t, "run", other, "--out", dir)
	if code != 1 || !strings.Contains(errs, "in use by another configuration") || !strings.Contains(errs, fmt.Sprintf("pid %d", holder.Process.Pid)) ||
		!strings.Contains(errs, "slow.yaml") {
		t.Errorf("a second configuration while the first runs: exit %d, stderr:\n%s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "run.json")); err == nil {
		t.Error("the refused run wrote run.json")
	}
	holder.Process.Signal(syscall.SIGKILL)
	holder.Wait()
	code, out, errs := cli(t, "run", other, "--out", dir)
	if code != 0 {
		t.Fatalf("after the holder was killed: exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(errs, fmt.Sprintf("taking over the stale claim of pid %d", holder.Process.Pid)) {
		t.Errorf("the log does not say the killed process's claim is taken over:\n%s", errs)
	}
}
