package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/duci"
)

const usageBase = "run:\n  random_seed: 1\ndata:\n  dataset: fashion-mnist\naudit:\n  privacy_game: dataset_usage\n"

func TestUsageConfig(t *testing.T) {
	c, err := ParseConfig([]byte(usageBase))
	if err != nil {
		t.Fatal(err)
	}
	s := c.usage
	if len(s.proportions) != 4 || s.refs != 4 || s.resamples != 1000 || s.level != 0.95 || s.method != "duci-rmia" || s.compat != "" {
		t.Errorf("defaults: %+v", s)
	}
	if r, ok := s.scorer.(*duci.RMIA); !ok || !r.Tune {
		t.Errorf("default attack %T %+v, want DUCI's RMIA with a tuned", s.scorer, s.scorer)
	}
	if m, _ := c.modelCount(); m != 8 {
		t.Errorf("%d models, want 4 targets + 4 references", m)
	}
	e, err := EstimateRun(c, mustLoad(t, c))
	if err != nil {
		t.Fatal(err)
	}
	if e.Targets != 4 || e.References != 4 || e.AuditRecords != mustLoad(t, c).Pool.Len()/2 {
		t.Errorf("estimate: %d targets, %d references, %d audited records", e.Targets, e.References, e.AuditRecords)
	}
	big, err := ParseConfig([]byte(usageBase + "dataset_usage:\n  dataset_size: 100000\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := EstimateRun(big, mustLoad(t, big)); err == nil || !strings.Contains(err.Error(), "dataset_usage.dataset_size") {
		t.Errorf("a dataset larger than half the pool: %v", err)
	}
	c, err = ParseConfig([]byte(usageBase + "dataset_usage:\n  proportions: [0.3]\n  references: 6\n  attack: {name: lira, params: {online: \"false\"}}\n  level: 0.9\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s := c.usage; len(s.proportions) != 1 || s.refs != 6 || s.level != 0.9 || s.scorer.Method() != "lira" {
		t.Errorf("%+v", s)
	}
	c, err = ParseConfig([]byte(usageBase + "dataset_usage:\n  attack: {name: duci-rmia, params: {offline_a: \"0.2\"}}\n  compat: privacy-meter\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r := c.usage.scorer.(*duci.RMIA); r.Tune || r.OfflineA != 0.2 || c.usage.compat != attack.CompatPrivacyMeter {
		t.Errorf("%+v", r)
	}
}

// TestUsageInterval: dataset_usage.interval chooses the intervals' construction (conditional when left
// out), and the summary table and the page say which one a result has (nothing for a result saved
// before results recorded it).
func TestUsageInterval(t *testing.T) {
	for _, c := range []struct {
		yaml string
		want duci.IntervalMethod
	}{
		{"", duci.IntervalConditional},
		{"dataset_usage:\n  interval: conditional\n", duci.IntervalConditional},
		{"dataset_usage:\n  interval: conservative\n", duci.IntervalConservative},
	} {
		cfg, err := ParseConfig([]byte(usageBase + c.yaml))
		if err != nil {
			t.Fatalf("%q: %v", c.yaml, err)
		}
		if cfg.usage.interval != c.want {
			t.Errorf("%q: interval %q, want %q", c.yaml, cfg.usage.interval, c.want)
		}
	}
	for _, c := range []struct {
		method      duci.IntervalMethod
		cell, about string // in the summary and the page; the page's account of the interval
	}{
		{duci.IntervalConditional, "[0.100, 0.400] (95%, conditional)", "The interval (conditional, the default construction)"},
		{duci.IntervalConservative, "[0.100, 0.400] (95%, conservative)", "The interval (conservative, pmeter's first construction"},
		{"", "[0.100, 0.400] (95%)", "The interval is a percentile bootstrap over the records and the reference models"},
	} {
		ci := &duci.Interval{Lo: 0.1, Hi: 0.4, Level: 0.95, Resamples: 50, Method: c.method}
		u := &UsageResult{DatasetSize: 100, References: []int{1, 2}, Method: "duci-rmia", Interval: c.method,
			Targets:        []duci.Result{{Target: 0, Proportion: 0.25, CI: ci}},
			ReferenceCheck: []duci.RefEstimate{{Model: 1, TrueProportion: 0.5, Proportion: 0.3, CI: ci, Calibration: []int{2}}}}
		var sum strings.Builder
		writeUsage(&sum, u)
		if n := strings.Count(sum.String(), c.cell); n != 2 {
			t.Errorf("%q: the summary has %q %d times, want 2 (target and check):\n%s", c.method, c.cell, n, sum.String())
		}
		dir := t.TempDir()
		if err := writeUsageReport(dir, u); err != nil {
			t.Fatal(err)
		}
		page, err := os.ReadFile(filepath.Join(dir, "index.html"))
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(page), c.cell); n != 2 || !strings.Contains(string(page), c.about) {
			t.Errorf("%q: the page has %q %d times (want 2) and %q: %v", c.method, c.cell, n, c.about, strings.Contains(string(page), c.about))
		}
	}
}

func TestUsageConfigErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"dataset_usage:\n  proportions: [0.5, 1.5]\n", "dataset_usage.proportions: element 1 is 1.5"},
		{"dataset_usage:\n  references: 3\n", "dataset_usage.references: must be an even number"},
		{"dataset_usage:\n  references: 0\n", "dataset_usage.references"},
		{"dataset_usage:\n  level: 1\n", "dataset_usage.level"},
		{"dataset_usage:\n  dataset_size: -1\n", "dataset_usage.dataset_size"},
		{"dataset_usage:\n  attack: {name: nosuch}\n", "dataset_usage.attack"},
		{"dataset_usage:\n  attack: {name: duci-rmia, params: {offline_a: \"2\"}}\n", "offline_a"},
		{"dataset_usage:\n  attack: {name: lira}\n  compat: privacy-meter\n", "dataset_usage.compat"},
		{"dataset_usage:\n  compat: lira\n", "dataset_usage.compat"},
		{"dataset_usage:\n  nosuch: 1\n", "not a known field of section dataset_usage"},
		{"dataset_usage:\n  interval: bca\n", `dataset_usage.interval: interval "bca": want conditional (the default) or conservative`},
		{"dataset_usage:\n  interval: Conditional\n", "dataset_usage.interval"},
		{"dataset_usage:\n  interval: conservative\n  compat: privacy-meter\n", "dataset_usage.interval: does not apply with compat privacy-meter, which computes no interval"},
	} {
		_, err := ParseConfig([]byte(usageBase + tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

// TestUsageGame runs the dataset_usage game end to end on a small Fashion-MNIST run: targets trained on
// 0 and 100 % of the dataset and as many training records as the references, the estimates and
// intervals in run.json, the report page, the summary.
func TestUsageGame(t *testing.T) {
	dir := t.TempDir()
	c, err := ParseConfig([]byte(`
run:
  random_seed: 7
audit:
  privacy_game: dataset_usage
  population_size: 200
dataset_usage:
  proportions: [0, 1]
  dataset_size: 200
  resamples: 200
train:
  model_name: mlp
  optimizer: Adam
  learning_rate: 0.002
  epochs: 20
  batch_size: 32
  schedule: constant
data:
  dataset: fashion-mnist
  train_size: 400
`))
	if err != nil {
		t.Fatal(err)
	}
	c.Run.LogDir = dir
	var log bytes.Buffer
	res, err := Run(context.Background(), c, Options{Log: &log})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	u := res.Usage
	if u == nil || len(u.Targets) != 2 || u.DatasetSize != 200 {
		t.Fatalf("usage result %+v", u)
	}
	if u.Interval != duci.IntervalConditional || u.Targets[0].CI == nil || u.Targets[0].CI.Method != duci.IntervalConditional {
		t.Errorf("the intervals' construction: %q, target 0's %+v; want conditional", u.Interval, u.Targets[0].CI)
	}
	for k, want := range []float64{0, 1} {
		r := u.Targets[k]
		if *r.TrueProportion != want {
			t.Errorf("target %d: true proportion %v, want %v", k, *r.TrueProportion, want)
		}
		if r.CI == nil || r.CI.Lo > want || r.CI.Hi < want {
			t.Errorf("target %d: estimate %v, interval %+v does not cover %v", k, r.Proportion, r.CI, want)
		}
	}
	if u.Targets[1].Proportion <= u.Targets[0].Proportion {
		t.Errorf("the target that used the whole dataset has the lower estimate: %v ≤ %v", u.Targets[1].Proportion, u.Targets[0].Proportion)
	}
	// The estimator on the references, whose proportion is known.
	if len(u.ReferenceCheck) != 4 {
		t.Errorf("%d reference checks, want 4", len(u.ReferenceCheck))
	}
	for _, r := range u.ReferenceCheck {
		if r.TrueProportion != 0.5 || r.CI == nil || len(r.Calibration) != 2 {
			t.Errorf("reference check %+v", r)
		}
	}
	// Every model trains on as many records.
	n := -1
	p, err := MakePlan(c, mustLoad(t, c))
	if err != nil {
		t.Fatal(err)
	}
	for m := range p.Models {
		if k := len(p.Memberships.Train(m)); n >= 0 && k != n {
			t.Errorf("model %d trains on %d records, model 0 on %d", m, k, n)
		} else {
			n = k
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rj struct {
		Usage struct {
			Targets []struct {
				Proportion *float64 `json:"proportion"`
				CILow      *float64 `json:"ci_low"`
				CIHigh     *float64 `json:"ci_high"`
				Threshold  *float64 `json:"threshold"`
			} `json:"targets"`
		} `json:"dataset_usage"`
	}
	if err := json.Unmarshal(b, &rj); err != nil || len(rj.Usage.Targets) != 2 || rj.Usage.Targets[0].Proportion == nil || rj.Usage.Targets[0].CILow == nil || rj.Usage.Targets[0].CIHigh == nil {
		t.Errorf("run.json dataset_usage: %v %s", err, b)
	}
	page, err := os.ReadFile(filepath.Join(dir, "report", "index.html"))
	if err != nil || !strings.Contains(string(page), "Dataset usage") {
		t.Errorf("report page: %v", err)
	}
	// 'pmeter report' rebuilds the page from the run's saved input (TestRebuildReport for the rest).
	if got, err := RebuildReport(context.Background(), dir, filepath.Join(t.TempDir(), "rebuilt")); err != nil {
		t.Error(err)
	} else if b, err := os.ReadFile(got); err != nil || !bytes.Equal(b, page) {
		t.Errorf("rebuilt %s differs from the run's page (%v)", got, err)
	}
	var sum bytes.Buffer
	res.WriteSummary(&sum)
	if !strings.Contains(sum.String(), "target 1") {
		t.Errorf("summary:\n%s", sum.String())
	}
}

func mustLoad(t *testing.T, c *Config) *Data {
	t.Helper()
	d, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
