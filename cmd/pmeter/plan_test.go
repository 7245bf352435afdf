package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPlan(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tiny.yaml")
	if err := os.WriteFile(cfg, []byte(tinyRun), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := cli(t, "plan", cfg, "--out", filepath.Join(dir, "run"))
	if code != 0 {
		t.Fatalf("pmeter plan: exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"models           4: 1 target, 3 references (4 trained here, 0 read from files)",
		"records          200 audited, 100 population", "logreg: 7,850 parameters, 2 epochs, batch 32",
		"memory", "training", "signals", "attack inputs", "disk", "machine", "verdict          fits",
		"compute", "FLOP per model", "training time    about", "GFLOP/s per core"} {
		if !strings.Contains(out, want) {
			t.Errorf("pmeter plan output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "run")); !os.IsNotExist(err) {
		t.Error("pmeter plan created the run directory")
	}
	// pmeter run -dry-run prints the same plan and trains nothing.
	code, dry, errs := cli(t, "run", cfg, "--dry-run", "--out", filepath.Join(dir, "run"))
	if code != 0 || !strings.Contains(dry, "training time") || !strings.Contains(dry, "verdict          fits") {
		t.Errorf("pmeter run --dry-run: exit %d\n%s\n%s", code, dry, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "run")); !os.IsNotExist(err) {
		t.Error("pmeter run --dry-run created the run directory")
	}

	// A plan no machine fits: a dense layer of 2e9 outputs (6 TB of weights).
	big := filepath.Join(dir, "big.yaml")
	text := strings.Replace(tinyRun, "  model_name: logreg\n", "  model: [{kind: flatten}, {kind: dense, out: 2000000000}, {kind: relu}, {kind: dense, out: 10}]\n", 1)
	if err := os.WriteFile(big, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = cli(t, "plan", big)
	if code != 1 || !strings.Contains(out, "1,590,000,000,010 parameters") ||
		!strings.Contains(out, "does not fit") || !strings.Contains(errs, "of memory at its peak") {
		t.Errorf("pmeter plan of an oversized model: exit %d\n%s\n%s", code, out, errs)
	}
	code, _, errs = cli(t, "run", big, "--out", filepath.Join(dir, "run"))
	if code != 1 || !strings.Contains(errs, "does not fit this machine") {
		t.Errorf("pmeter run of an oversized model: exit %d, %s", code, errs)
	}
}
