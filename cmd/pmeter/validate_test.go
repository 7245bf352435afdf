package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "v.json")
	// A small run: the loss attack cannot see reference models, so it is null under every design. Its
	// variants are 3: on classifier signals, on regression residuals and at access level probabilities.
	code, stdout, stderr := attackCLI(t, "validate", "--seeds", "4", "--records", "200", "--attacks", "loss", "--designs", "pairs,lira-9", "--json", out)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"null harness: 0 of 6 cells fail", "leak harness: 0 of 6 cells fail", "pairs", "lira-9", "wrote " + out} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "validate: data sets") {
		t.Errorf("no progress on stderr: %q", stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Seeds int `json:"seeds"`
		Null  []struct {
			Design  string    `json:"design"`
			SeedAUC []float64 `json:"seed_auc"`
			Pass    bool      `json:"pass"`
		} `json:"null"`
		Leak []struct {
			SeedIndAUC []float64 `json:"seed_independent_auc"`
		} `json:"leak"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Seeds != 4 || len(rep.Null) != 6 || len(rep.Null[0].SeedAUC) != 4 || !rep.Null[0].Pass || len(rep.Leak) != 6 || len(rep.Leak[1].SeedIndAUC) != 4 {
		t.Errorf("JSON report: %s", b)
	}

	// The file exists now: no overwrite without --force.
	code, _, stderr = attackCLI(t, "validate", "--seeds", "3", "--records", "50", "--attacks", "loss", "--designs", "pairs", "--harness", "null", "--json", out)
	if code != 1 || !strings.Contains(stderr, "exists; use --force") {
		t.Errorf("existing JSON file: exit %d, stderr %q", code, stderr)
	}
}

func TestValidateUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--harness", "both"}, "--harness"},
		{[]string{"--attacks", "nope"}, "--attacks"},
		{[]string{"--designs", "lira-11"}, "--designs"},
		{[]string{"--seeds", "2"}, "--seeds"},
		{[]string{"--alpha", "0"}, "--alpha"},
		{[]string{"extra"}, "unexpected arguments"},
	} {
		code, _, stderr := attackCLI(t, append([]string{"validate"}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
	if code, stdout, _ := attackCLI(t, "validate", "-h"); code != 0 || !strings.Contains(stdout, "--harness") {
		t.Errorf("-h: exit %d, %q", code, stdout)
	}
}

func TestValidateRanges(t *testing.T) {
	code, stdout, stderr := attackCLI(t, "validate", "--ranges", "--seeds", "3", "--records", "200", "--designs", "bernoulli", "--harness", "null")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"ramia tune_offline_a=true trim=tuned S=4", "ramia offline_a=0.3 trim=bottom:0.5 S=4", "null harness: 0 of 4 cells fail"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "lira online") {
		t.Errorf("--ranges ran the attack table:\n%s", stdout)
	}
}

// TestValidateUsers runs a tiny user-level harness: LOSS's cells under one design, every aggregate.
func TestValidateUsers(t *testing.T) {
	code, stdout, stderr := attackCLI(t, "validate", "--users", "--seeds", "3", "--attacks", "loss", "--designs", "pairs", "--harness", "null")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"user level: 3 seeds of 1000 users", "null     loss", "logsumexp"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if code, _, stderr := attackCLI(t, "validate", "--users", "--harness", "maybe"); code != 2 || !strings.Contains(stderr, "--harness") {
		t.Errorf("bad --harness: exit %d, %s", code, stderr)
	}
}

// TestValidateUsage runs the dataset usage harnesses, classifier and text, at a tiny size through the
// harness flags: the table, --json (the report: config, elapsed time, cells), the elapsed line, no
// overwrite without --force; and the flags that do not apply are refused.
func TestValidateUsage(t *testing.T) {
	for _, c := range []struct {
		name    string
		args    []string
		variant string
		cells   int
	}{
		{"classifier", []string{"--usage"}, "duci-population", 12},
		{"text", []string{"--usage", "--llm"}, "text lira", 8},
		{"compare", []string{"--usage", "--llm", "--compare-intervals", "--resamples", "20", "--model-spread", "0.03"}, "text lira (conservative)", 16},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "usage.json")
			args := append(append([]string{"validate"}, c.args...), "--reduced", "--seeds", "3", "--records", "40", "--seed", "5", "--workers", "1", "--json", out)
			code, stdout, stderr := attackCLI(t, args...)
			if code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			for _, want := range []string{"dataset usage (3 seeds, 40 records, 4 references", c.variant, "wrote " + out, "elapsed "} {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var rep struct {
				Config struct {
					Seeds   int    `json:"seeds"`
					Records int    `json:"records"`
					Seed    uint64 `json:"seed"`
					Workers int    `json:"workers"`
				} `json:"config"`
				Elapsed int64 `json:"elapsed_ns"`
				Cells   []struct {
					Variant string `json:"variant"`
					Seeds   int    `json:"seeds"`
				} `json:"cells"`
			}
			if err := json.Unmarshal(b, &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Config.Seeds != 3 || rep.Config.Records != 40 || rep.Config.Seed != 5 || rep.Config.Workers != 1 || rep.Elapsed <= 0 ||
				len(rep.Cells) != c.cells || rep.Cells[0].Seeds != 3 {
				t.Errorf("JSON report: %s", b)
			}
			code, _, stderr = attackCLI(t, args...)
			if code != 1 || !strings.Contains(stderr, "exists; use --force") {
				t.Errorf("existing JSON file: exit %d, stderr %q", code, stderr)
			}
		})
	}
	for _, tc := range []struct{ args, want string }{
		{"--alpha 0.1", "--alpha does not apply to --usage, whose flags are --reduced, --seeds, --records"},
		{"--llm --attacks loss", "--attacks does not apply to --usage --llm"},
		{"--users", "--users does not apply to --usage"},
		{"--seeds 2", "--seeds 2: want at least 3"},
		{"--records 10", "--records 10: want at least 20"},
		{"--level 1", "--level 1: want a value in (0, 1)"},
		{"--workers -1", "--workers -1"},
	} {
		code, _, stderr := attackCLI(t, append([]string{"validate", "--usage"}, strings.Fields(tc.args)...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("--usage %s: exit %d, stderr %q; want exit 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}
