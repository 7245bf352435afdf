package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/report"
)

// TestDPCompare: 'pmeter dp compare' reads each run's summary.json, prints the table, writes the page and
// the JSON, and refuses to overwrite them without --force.
func TestDPCompare(t *testing.T) {
	dir := t.TempDir()
	runs := map[string]*report.Summary{
		"nodp": {Settings: report.Settings{EpsilonDelta: 1e-5}, DPAudits: []report.DPAudit{{Name: "one-run (Steinke et al.)",
			Bound: metric.EpsilonBound{Value: 3.2, Alpha: 0.05, Delta: 1e-5, Method: "one-run-steinke", DPBound: true}}}},
		"eps8": {Settings: report.Settings{EpsilonDelta: 1e-5}, DP: &report.DPCheck{DPClaim: report.DPClaim{Epsilon: 8, Delta: 1e-5, NoiseMultiplier: 1.16, Sampling: "poisson"}}},
	}
	for name, s := range runs {
		s.Schema, s.SchemaVersion = report.SchemaName, report.SchemaVersion
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, name, "report"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "report", "summary.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	page, js := filepath.Join(dir, "c.html"), filepath.Join(dir, "c.json")
	args := []string{"dp", "compare", filepath.Join(dir, "nodp"), filepath.Join(dir, "eps8"), "--out", page, "--json", js}
	code, stdout, stderr := attackCLI(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "∞ (no DP)") || !strings.Contains(stdout, "3.200") || strings.Index(stdout, "nodp") > strings.Index(stdout, "eps8") {
		t.Errorf("output:\n%s", stdout)
	}
	var rows []report.DPCompareRow
	if b, err := os.ReadFile(js); err != nil || json.Unmarshal(b, &rows) != nil || len(rows) != 2 || rows[1].Claimed == nil || *rows[1].Claimed != 8 {
		t.Errorf("json rows %+v (%v)", rows, err)
	}
	if b, err := os.ReadFile(page); err != nil || !strings.Contains(string(b), "<svg") {
		t.Errorf("page: %v", err)
	}
	if code, _, stderr := attackCLI(t, args...); code == 0 || !strings.Contains(stderr, "--force") {
		t.Errorf("overwrote without --force: exit %d, %s", code, stderr)
	}
	if code, _, stderr := attackCLI(t, append(args, "--force")...); code != 0 {
		t.Errorf("--force: exit %d, %s", code, stderr)
	}
	if code, _, stderr := attackCLI(t, "dp", "compare", filepath.Join(dir, "missing")); code == 0 || !strings.Contains(stderr, "missing") {
		t.Errorf("missing run: exit %d, %s", code, stderr)
	}
}
