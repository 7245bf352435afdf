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

// TestSubmitDryRun: 'pmeter submit slurm --dry-run' prints both scripts and writes nothing;
// 'pmeter submit kubernetes' needs --image and --store.
func TestSubmitDryRun(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tiny.yaml")
	if err := os.WriteFile(cfg, []byte(tinyRun), 0o644); err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join(dir, "run")
	code, out, errs := cli(t, "submit", "slurm", cfg, "--out", runDir, "--dry-run", "--max-parallel", "2", "--pmeter", "/opt/pmeter")
	if code != 0 || !strings.Contains(out, "#SBATCH --array=0-3%2") || !strings.Contains(out, "--dependency=afterok:$TRAIN_JOB_ID") ||
		!strings.Contains(out, "exec /opt/pmeter task finish") {
		t.Fatalf("pmeter submit slurm --dry-run: exit %d\n%s\n%s", code, out, errs)
	}
	if _, err := os.Stat(runDir); !os.IsNotExist(err) {
		t.Error("a dry run created the run directory")
	}
	if code, _, errs = cli(t, "submit", "kubernetes", cfg); code != 2 || !strings.Contains(errs, "--store and --image") {
		t.Errorf("submit kubernetes without --store: exit %d, %s", code, errs)
	}
	if code, _, errs = cli(t, "submit", "slurm", cfg, "--out", "s3://b/p", "--dry-run"); code != 1 || !strings.Contains(errs, "file system") {
		t.Errorf("submit slurm to s3: exit %d, %s", code, errs)
	}
}
