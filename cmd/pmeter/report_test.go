package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/validity"
)

// TestReportRebuildsTextAndUsage runs 'pmeter run' on a text bundle (membership and DUCI) and checks that
// 'pmeter report RUN_DIR' gives the run's page back byte for byte, rejects the membership report's
// flags, and tells a run directory without the saved input to rerun 'pmeter run'.
func TestReportRebuildsTextAndUsage(t *testing.T) {
	usageBundle := filepath.Join(t.TempDir(), "bundle")
	if err := validity.GenerateLLMUsage(3, 120, 40, 4, 0.3).WriteDir(usageBundle); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, bundle, extra, page, saved string
	}{
		{"text", llmTestBundle(t), "", "llm.html", "llm_page.json"},
		{"text dataset_usage", usageBundle, "audit: {privacy_game: dataset_usage}\ndataset_usage: {resamples: 50}\n", "index.html", "usage_page.json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			runDir := filepath.Join(dir, "run")
			cfg := filepath.Join(dir, "config.yaml")
			if err := os.WriteFile(cfg, []byte("run: {log_dir: "+runDir+"}\ndata: {modality: text, bundle: "+c.bundle+"}\n"+c.extra), 0o644); err != nil {
				t.Fatal(err)
			}
			if code, _, errs := cli(t, "run", cfg); code != 0 {
				t.Fatalf("pmeter run: exit %d: %s", code, errs)
			}
			page := filepath.Join(runDir, "report", c.page)
			orig, err := os.ReadFile(page)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(page); err != nil {
				t.Fatal(err)
			}
			if code, out, errs := cli(t, "report", runDir); code != 0 || !strings.Contains(out, "wrote "+page) {
				t.Fatalf("pmeter report: exit %d: %s%s", code, out, errs)
			}
			if b, err := os.ReadFile(page); err != nil || !bytes.Equal(b, orig) {
				t.Errorf("the rebuilt %s differs from the run's (%v)", c.page, err)
			}
			if code, _, errs := cli(t, "report", runDir, "--seed", "1"); code != 2 || !strings.Contains(errs, "--seed applies to membership reports") {
				t.Errorf("--seed: exit %d: %s", code, errs)
			}
			if err := os.Remove(filepath.Join(runDir, "results", c.saved)); err != nil {
				t.Fatal(err)
			}
			if code, _, errs := cli(t, "report", runDir); code != 1 || !strings.Contains(errs, c.saved+" is missing") || !strings.Contains(errs, "rerun `pmeter run`") {
				t.Errorf("without %s: exit %d: %s", c.saved, code, errs)
			}
		})
	}
}
