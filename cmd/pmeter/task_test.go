package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTaskCommands runs the tiny audit as its steps through the command line: plan lists the tasks,
// finish names the missing ones, train (index from the flag or the environment) trains each once.
func TestTaskCommands(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tiny.yaml")
	if err := os.WriteFile(cfg, []byte(tinyRun), 0o644); err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join(dir, "run")
	code, out, errs := cli(t, "plan", cfg, "--out", runDir)
	if code != 0 || !strings.Contains(out, "4 model tasks") || !strings.Contains(out, "0 done") ||
		strings.Count(out, "missing") != 4 || !strings.Contains(out, "target") {
		t.Fatalf("pmeter plan: exit %d\n%s\n%s", code, out, errs)
	}
	code, _, errs = cli(t, "task", "finish", cfg, "--out", runDir)
	if code != 1 || !strings.Contains(errs, "4 of 4 models are missing from the run directory (models 0-3)") {
		t.Fatalf("pmeter task finish before training: exit %d\n%s", code, errs)
	}
	for i := 0; i < 4; i++ {
		var args []string
		if i == 2 {
			t.Setenv("JOB_COMPLETION_INDEX", "2")
			args = []string{"task", "train", cfg, "--out", runDir}
		} else {
			args = []string{"task", "train", cfg, "--out", runDir, "--index", string(rune('0' + i))}
		}
		code, out, errs = cli(t, args...)
		if code != 0 || !strings.Contains(out, "model "+string(rune('0'+i))+" ") || !strings.Contains(out, "trained in") {
			t.Fatalf("pmeter %s: exit %d\n%s\n%s", strings.Join(args, " "), code, out, errs)
		}
	}
	code, out, _ = cli(t, "task", "train", cfg, "--out", runDir, "--index", "1")
	if code != 0 || !strings.Contains(out, "nothing to do") {
		t.Errorf("a repeated task: exit %d\n%s", code, out)
	}
	code, out, errs = cli(t, "task", "finish", cfg, "--out", runDir, "--wait", "--timeout", "1m")
	if code != 0 || !strings.Contains(out, "models: 0 trained, 4 reused") {
		t.Fatalf("pmeter task finish: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = cli(t, "plan", cfg, "--out", runDir)
	if code != 0 || !strings.Contains(out, "4 done") {
		t.Errorf("pmeter plan after the tasks: exit %d\n%s", code, out)
	}
	if code, _, errs = cli(t, "task", "train", cfg, "--out", runDir, "--index", "4"); code != 1 || !strings.Contains(errs, "4 models") {
		t.Errorf("index out of range: exit %d, %s", code, errs)
	}
}
