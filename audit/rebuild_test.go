package audit

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/duci"
	"github.com/pmeter/pmeter/llm"
	"github.com/pmeter/pmeter/report"
	"github.com/pmeter/pmeter/validity"
)

// TestRebuildReport runs each kind of run whose page package report's Build does not make (text, text
// DUCI, classifier DUCI) and checks that RebuildReport gives its page back byte for byte, that a run
// directory without the saved input (an earlier pmeter's) gets an error naming the missing file, and
// that a damaged saved file is detected by its checksum.
func TestRebuildReport(t *testing.T) {
	runText := func(t *testing.T, dir string, b *llm.Bundle, extra string) {
		bdir := filepath.Join(dir, "bundle")
		if err := b.WriteDir(bdir); err != nil {
			t.Fatal(err)
		}
		cfg, err := ParseConfig([]byte("run: {log_dir: " + filepath.Join(dir, "run") + "}\ndata: {modality: text, bundle: " + bdir + "}\n" + extra))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Run(context.Background(), cfg, Options{Log: io.Discard}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name  string
		run   func(t *testing.T, dir string) // writes dir/run
		kind  string
		page  string
		saved []string // the saved inputs, each of which a run of an earlier pmeter lacks
		// corrupt damages a saved input in a way only its checksum reveals.
		corrupt map[string]func([]byte) []byte
	}{
		{
			name: "text",
			run: func(t *testing.T, dir string) {
				runText(t, dir, syntheticTextBundle(5), "audit: {attacks: [{name: all}, {name: loss, params: {compat: mimir}}]}\n")
			},
			kind: TextReport, page: "llm.html", saved: []string{textPageFile, textPageFloats},
			corrupt: map[string]func([]byte) []byte{
				textPageFile:   replaceOnce(`"mode": "`, `"mode": "x`),
				textPageFloats: flipLastByte,
			},
		},
		{
			name: "text dataset_usage",
			run: func(t *testing.T, dir string) {
				runText(t, dir, validity.GenerateLLMUsage(7, 120, 40, 4, 0.4), "audit: {privacy_game: dataset_usage}\ndataset_usage: {resamples: 50}\n")
			},
			kind: UsageReport, page: "index.html", saved: []string{usagePageFile},
			corrupt: map[string]func([]byte) []byte{usagePageFile: replaceOnce(`"method": "`, `"method": "x`)},
		},
		{
			// The classifier game's page from its result (TestUsageGame checks it after a trained run).
			name: "dataset_usage",
			run: func(t *testing.T, dir string) {
				tp, lo, hi := 0.5, 0.25, 0.75
				u := &UsageResult{DatasetSize: 200, References: []int{2, 3, 4, 5}, Method: "duci-rmia",
					Targets: []duci.Result{{Target: 0, Proportion: 0.43, Raw: 0.43, CI: &duci.Interval{Lo: lo, Hi: hi, Level: 0.95, Resamples: 50},
						Threshold: 1.5, TPR: 0.7, FPR: 0.2, Direct: 0.4, TrueProportion: &tp}},
					ReferenceCheck: []duci.RefEstimate{{Model: 2, TrueProportion: 0.5, Proportion: 0.52, Calibration: []int{4, 5}}}}
				if err := writeUsagePage(filepath.Join(dir, "run"), u); err != nil {
					t.Fatal(err)
				}
				if err := writeJSON(filepath.Join(dir, "run", "run.json"), &Result{Usage: u}); err != nil {
					t.Fatal(err)
				}
			},
			kind: UsageReport, page: "index.html", saved: []string{usagePageFile},
			corrupt: map[string]func([]byte) []byte{usagePageFile: replaceOnce(`"proportion": 0.43`, `"proportion": 0.44`)},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			c.run(t, dir)
			runDir := filepath.Join(dir, "run")
			if kind, err := ReportKindOf(runDir); err != nil || kind != c.kind {
				t.Fatalf("ReportKindOf = %q, %v; want %q", kind, err, c.kind)
			}
			page := filepath.Join(runDir, report.ReportDir, c.page)
			orig, err := os.ReadFile(page)
			if err != nil {
				t.Fatal(err)
			}
			// Rebuilt in place (over the run's own page) and elsewhere: the same bytes.
			if err := os.Remove(page); err != nil {
				t.Fatal(err)
			}
			for _, out := range []string{filepath.Join(runDir, report.ReportDir), filepath.Join(dir, "out")} {
				got, err := RebuildReport(context.Background(), runDir, out)
				if err != nil {
					t.Fatal(err)
				}
				if got != filepath.Join(out, c.page) {
					t.Errorf("page %s, want %s", got, filepath.Join(out, c.page))
				}
				if b, err := os.ReadFile(got); err != nil || !bytes.Equal(b, orig) {
					t.Errorf("rebuilt %s differs from the run's page (%v)", got, err)
				}
			}
			// A file that is not such a page is not overwritten.
			foreign := filepath.Join(dir, "foreign")
			if err := os.MkdirAll(foreign, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(foreign, c.page), []byte("mine"), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := RebuildReport(context.Background(), runDir, foreign); err == nil || !strings.Contains(err.Error(), "not overwriting") {
				t.Errorf("over a foreign %s: %v, want a refusal", c.page, err)
			}
			// Each saved input damaged, then missing.
			for _, name := range c.saved {
				path := filepath.Join(runDir, report.ResultsDir, name)
				good, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				bad := c.corrupt[name](good)
				if bytes.Equal(bad, good) {
					t.Fatalf("%s: the corruption changed nothing", name)
				}
				if err := os.WriteFile(path, bad, 0o644); err != nil {
					t.Fatal(err)
				}
				if _, err := RebuildReport(context.Background(), runDir, filepath.Join(dir, "damaged")); err == nil || !strings.Contains(err.Error(), name+": damaged") {
					t.Errorf("damaged %s: %v, want an error naming it as damaged", name, err)
				}
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
				_, err = RebuildReport(context.Background(), runDir, filepath.Join(dir, "old"))
				if !errors.Is(err, ErrNoPageInput) || !strings.Contains(err.Error(), path+" is missing") || !strings.Contains(err.Error(), "rerun `pmeter run`") {
					t.Errorf("without %s: %v, want an error naming it and saying to rerun pmeter run", name, err)
				}
				if err := os.WriteFile(path, good, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if c.kind == TextReport { // an earlier format (v1: no exposed_rule) is refused, naming the file
				path := filepath.Join(runDir, report.ResultsDir, textPageFile)
				good, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				os.WriteFile(path, bytes.Replace(good, []byte(textPageFormat), []byte("pmeter.audit.llm-page/v1"), 1), 0o644)
				if _, err := RebuildReport(context.Background(), runDir, filepath.Join(dir, "damaged")); err == nil || !strings.Contains(err.Error(), path+": format \"pmeter.audit.llm-page/v1\"") {
					t.Errorf("%s of format v1: %v, want an error naming it and its format", textPageFile, err)
				}
				os.WriteFile(path, good, 0o644)
			}
			if _, err := os.Stat(filepath.Join(dir, "damaged", c.page)); err == nil {
				t.Error("a page was written from a damaged input")
			}
		})
	}
}

func replaceOnce(old, new string) func([]byte) []byte {
	return func(b []byte) []byte { return bytes.Replace(b, []byte(old), []byte(new), 1) }
}

func flipLastByte(b []byte) []byte {
	b = bytes.Clone(b)
	b[len(b)-1] ^= 1
	return b
}
