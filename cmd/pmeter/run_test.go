package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/audit"
)

func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

const tinyRun = `run:
  random_seed: 3
audit:
  num_ref_models: 1
  population_size: 100
  attacks:
    - name: rmia
    - name: loss
train:
  model_name: logreg
  optimizer: Adam
  learning_rate: 0.01
  epochs: 2
  batch_size: 32
  schedule: constant
data:
  dataset: fashion-mnist
  train_size: 200
`

// TestRunAndReport runs a tiny audit through the command line, then rebuilds its report with
// 'pmeter report' and checks the rebuilt files equal the first ones.
func TestRunAndReport(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tiny.yaml")
	if err := os.WriteFile(cfg, []byte(tinyRun), 0o644); err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join(dir, "run")
	code, out, errs := cli(t, "run", cfg, "--out", runDir)
	if code != 0 {
		t.Fatalf("pmeter run: exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"rmia", "loss", "AUC", "stage", "total", "models: 4 trained"} {
		if !strings.Contains(out, want) {
			t.Errorf("pmeter run output lacks %q:\n%s", want, out)
		}
	}
	first, err := os.ReadFile(filepath.Join(runDir, "report", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(runDir, "report")); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := cli(t, "report", runDir); code != 0 {
		t.Fatalf("pmeter report: exit %d\n%s\n%s", code, out, errs)
	}
	again, err := os.ReadFile(filepath.Join(runDir, "report", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, again) {
		t.Error("the rebuilt summary.json differs from the one the run wrote")
	}
	if _, err := os.Stat(filepath.Join(runDir, "report", "index.html")); err != nil {
		t.Error(err)
	}
	// A second run reuses every model.
	if code, out, _ := cli(t, "run", cfg, "--out", runDir); code != 0 || !strings.Contains(out, "models: 0 trained, 4 reused") {
		t.Errorf("rerun: exit %d, output:\n%s", code, out)
	}
	// Every JSON file of the run directory has snake_case keys.
	err = filepath.WalkDir(runDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".json" {
			return err
		}
		b, err := os.ReadFile(path)
		if err == nil {
			checkJSONKeys(t, path, b)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("run:\n  random_sed: 1\ndata:\n  dataset: adult\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"run", "a.yaml", "b.yaml"}, 2, "at most one config"},
		{[]string{"run", "--bogus"}, 2, "bogus"},
		{[]string{"run", filepath.Join(dir, "missing.yaml")}, 1, "missing.yaml"},
		{[]string{"run", bad}, 1, "line 2: field random_sed is not a known field of section run"},
		{[]string{"report", filepath.Join(dir, "nothing")}, 1, "no saved results"},
		{[]string{"init", "a", "b"}, 2, "at most one file"},
	} {
		code, _, errs := cli(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("pmeter %s: exit %d, stderr %q; want exit %d mentioning %q", strings.Join(tc.args, " "), code, errs, tc.code, tc.want)
		}
	}
}

func TestInit(t *testing.T) {
	code, out, _ := cli(t, "init", "-")
	if code != 0 {
		t.Fatalf("pmeter init -: exit %d", code)
	}
	if _, err := audit.ParseConfig([]byte(out)); err != nil {
		t.Errorf("the config 'pmeter init' writes does not parse: %v", err)
	}
	path := filepath.Join(t.TempDir(), "p.yaml")
	if code, _, errs := cli(t, "init", path); code != 0 {
		t.Fatalf("pmeter init %s: exit %d: %s", path, code, errs)
	}
	if code, _, errs := cli(t, "init", path); code != 1 || !strings.Contains(errs, "exists") {
		t.Errorf("init over an existing file: exit %d, %q", code, errs)
	}
	if code, _, _ := cli(t, "init", "-force", path); code != 0 {
		t.Errorf("init -force: exit %d", code)
	}
	// A symbolic link is the user's file too, even when it points nowhere.
	link := filepath.Join(t.TempDir(), "link.yaml")
	if err := os.Symlink(filepath.Join(t.TempDir(), "missing.yaml"), link); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := cli(t, "init", link); code != 1 || !strings.Contains(errs, "exists") {
		t.Errorf("init over a dangling link: exit %d, %q", code, errs)
	}
}
