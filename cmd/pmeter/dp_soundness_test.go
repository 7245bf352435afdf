package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDPSoundnessCommand: a small harness run prints its table, writes every bound as JSON and exits 0;
// bad flags exit 2 naming the flag.
func TestDPSoundnessCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sound.json")
	code, stdout, stderr := attackCLI(t, "dp", "soundness", "--seeds", "4", "--canaries", "200", "--epochs", "2",
		"--epsilons", "4", "--broken", "norm=4", "--multi-run-groups", "1", "--multi-runs", "8", "--json", out)
	if code != 0 || !strings.Contains(stdout, "| sound | 4 (σ") || !strings.Contains(stdout, "clipping skipped") || !strings.Contains(stdout, "nn DP-SGD") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var cells []struct {
		Audit  string    `json:"audit"`
		Values []float64 `json:"values"`
	}
	// Per training (sound, clipping skipped): Steinke, f-DP Gaussian, f-DP (ε, δ), holdout, multi-run.
	if err := json.Unmarshal(b, &cells); err != nil || len(cells) != 10 || len(cells[0].Values) != 4 || cells[2].Audit != "one-run f-DP (ε, δ)" {
		t.Errorf("JSON: %d cells (%v), want 10 of 4 bounds", len(cells), err)
	}
	if code, _, stderr := attackCLI(t, "dp", "soundness", "--seeds", "4", "--json", out); code == 0 || !strings.Contains(stderr, "exists; use --force") {
		t.Errorf("existing JSON file: exit %d, stderr %q", code, stderr)
	}
	for _, tc := range []struct{ args, want string }{
		{"--train gpu", `--train "gpu"`},
		{"--broken noise=x", `--broken: "noise=x"`},
		{"--epsilons 0", `--epsilons: "0"`},
		{"--canaries 5000", "--canaries 5000: the MLP has 1218 parameters"},
		{"--batch-size 300", "--batch-size 300"},
		{"--score max", `--score "max"`},
	} {
		code, _, stderr := attackCLI(t, append([]string{"dp", "soundness"}, strings.Fields(tc.args)...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}
