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
	"github.com/pmeter/pmeter/ramia"
	"github.com/pmeter/pmeter/report"
)

const rangeBase = "run:\n  random_seed: 1\ndata:\n  dataset: fashion-mnist\naudit:\n  privacy_game: range_membership\n"

func TestRangeConfig(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		check      func(t *testing.T, s *rangeSpec)
	}{
		{"l2", "range:\n  sampler: l2\n  radius: 2\n  size: 10\n", func(t *testing.T, s *rangeSpec) {
			if s.sampler != "l2" || s.radius != 2 || s.size != 10 || s.trim != nil || s.compat != attack.CompatNone {
				t.Errorf("%+v", s)
			}
		}},
		{"privacy meter's names", "range:\n  range_function: missing_values\n  sample_size: 10\n  num_missing_feats: 2\n  col_ranges: [[0, 1], [1, 3]]\n  is_categorical: true\n  trim_ratio: 0.5\n  trim_direction: bottom\n  compat: privacy-meter\n",
			func(t *testing.T, s *rangeSpec) {
				if s.sampler != "missing_values" || s.size != 10 || s.lastK != 2 || !s.categorical || s.colRanges[1] != [2]float64{1, 3} ||
					*s.trim != (rangeTrim{0.5, ramia.TrimBottom}) || s.compat != attack.CompatPrivacyMeter {
					t.Errorf("%+v", s)
				}
			}},
		{"geometric default size", "range:\n  sampler: geometric\n  transformations: [horizontal_flip, \"rotate:15\"]\n", func(t *testing.T, s *rangeSpec) {
			if s.size != 3 || len(s.transforms) != 2 || s.transforms[1].Angle != 15 {
				t.Errorf("%+v", s)
			}
		}},
		{"trim none", "range:\n  sampler: l2\n  radius: 1\n  size: 4\n  trim_direction: none\n", func(t *testing.T, s *rangeSpec) {
			if s.trim == nil || s.trim.dir != ramia.TrimNone {
				t.Errorf("%+v", s)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(rangeBase + tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c.ranges)
			if a := c.attackList(); len(a) != 1 || a[0].Name != "rmia" {
				t.Errorf("attacks %+v, want RMIA alone", a)
			}
		})
	}
}

func TestRangeConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"no section", "", []string{"audit.privacy_game", "needs a range section"}},
		{"unknown sampler", "range:\n  sampler: ball\n  size: 3\n", []string{"line 8", "range.sampler", `unknown sampler "ball"`}},
		{"word replace", "range:\n  sampler: word_replace\n  size: 3\n", []string{"line 8", "masked language model", "ramia.TextRanges"}},
		{"no size", "range:\n  sampler: l2\n  radius: 1\n", []string{"range.size", "is required"}},
		{"both sizes", "range:\n  sampler: l2\n  radius: 1\n  size: 3\n  sample_size: 3\n", []string{"line 11", "sample_size", "not both"}},
		{"zero size", "range:\n  sampler: l2\n  radius: 1\n  size: 0\n", []string{"line 10", "range.size", "[1, 10000]"}},
		{"fractional size", "range:\n  sampler: l2\n  radius: 1\n  size: 2.5\n", []string{"line 10", "whole number"}},
		{"no radius", "range:\n  sampler: l2\n  size: 3\n", []string{"range.radius", "is required"}},
		{"negative radius", "range:\n  sampler: l2\n  radius: -1\n  size: 3\n", []string{"line 9", "range.radius", "positive"}},
		{"radius elsewhere", "range:\n  sampler: geometric\n  transformations: [vertical_flip]\n  radius: 1\n", []string{"line 10", "range.radius", "applies to sampler l2"}},
		{"unknown key", "range:\n  sampler: l2\n  radiuss: 1\n", []string{"line 9", "radiuss", "section range"}},
		{"bad transform", "range:\n  sampler: geometric\n  transformations: [horizontal_flip, rotate]\n", []string{"line 9", "range.transformations", "element 1", "rotate:DEGREES"}},
		{"geometric size", "range:\n  sampler: geometric\n  transformations: [horizontal_flip]\n  size: 5\n", []string{"line 10", "want 2 (the image and its transforms) or 1"}},
		{"no columns", "range:\n  sampler: missing_values\n  size: 3\n", []string{"range.columns", "num_missing_feats"}},
		{"col_ranges count", "range:\n  sampler: missing_values\n  size: 3\n  num_missing_feats: 2\n  col_ranges: [[0, 1]]\n", []string{"line 11", "range.col_ranges", "has 1 ranges"}},
		{"col_ranges order", "range:\n  sampler: missing_values\n  size: 3\n  num_missing_feats: 1\n  col_ranges: [[2, 1]]\n", []string{"line 11", "element 0", "low ≤ high"}},
		{"categorical range", "range:\n  sampler: missing_values\n  size: 3\n  num_missing_feats: 1\n  col_ranges: [[0, 1.5]]\n  is_categorical: true\n", []string{"range.col_ranges", "integers"}},
		{"zero missing", "range:\n  sampler: missing_values\n  size: 3\n  num_missing_feats: 0\n  col_ranges: []\n", []string{"line 10", "at least 1", "every feature"}},
		{"columns and k", "range:\n  sampler: missing_values\n  size: 3\n  columns: [age]\n  num_missing_feats: 1\n", []string{"range.columns", "not both"}},
		{"ratio without direction", "range:\n  sampler: l2\n  radius: 1\n  size: 4\n  trim_ratio: 0.5\n", []string{"line 11", "range.trim_ratio", "needs trim_direction"}},
		{"direction without ratio", "range:\n  sampler: l2\n  radius: 1\n  size: 4\n  trim_direction: top\n", []string{"line 11", "needs trim_ratio"}},
		{"bad direction", "range:\n  sampler: l2\n  radius: 1\n  size: 4\n  trim_ratio: 0.5\n  trim_direction: middle\n", []string{"line 12", "range.trim_direction"}},
		{"ratio keeps nothing", "range:\n  sampler: l2\n  radius: 1\n  size: 4\n  trim_ratio: 0.9\n  trim_direction: top\n", []string{"line 11", "range.trim_ratio", "keeps round"}},
		{"ratio out of range", "range:\n  sampler: l2\n  radius: 1\n  size: 4\n  trim_ratio: 1.5\n  trim_direction: top\n", []string{"line 11", "[0, 1]"}},
		{"compat", "range:\n  sampler: l2\n  radius: 1\n  size: 4\n  compat: pm\n", []string{"line 11", "range.compat", `"pm"`}},
		{"compat split", "  split: lira\nrange:\n  sampler: l2\n  radius: 1\n  size: 4\n  compat: privacy-meter\n", []string{"range.compat", "audit.split: pairs"}},
		{"queries", "  num_queries: 2\nrange:\n  sampler: l2\n  radius: 1\n  size: 4\n", []string{"line 7", "audit.num_queries", "must be 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(rangeBase + tc.yaml))
			if err == nil {
				t.Fatalf("accepted:\n%s", rangeBase+tc.yaml)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	c, err := ParseConfig([]byte("run:\n  random_seed: 1\ndata:\n  dataset: fashion-mnist\nrange:\n  sampler: l2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(c.Warnings(), "\n"); !strings.Contains(w, "range section is ignored") {
		t.Errorf("a range section of another game gives no warning: %q", w)
	}
}

// rangeRunConfig is tinyConfig as a range game.
func rangeRunConfig(t *testing.T, dir, rangeYAML string) *Config {
	t.Helper()
	c, err := ParseConfig([]byte(`
run:
  random_seed: 7
  num_experiments: 2
audit:
  privacy_game: range_membership
  num_ref_models: 1
  population_size: 200
train:
  model_name: mlp
  optimizer: Adam
  learning_rate: 0.002
  epochs: 6
  batch_size: 32
  schedule: constant
data:
  dataset: fashion-mnist
  train_size: 400
` + rangeYAML))
	if err != nil {
		t.Fatal(err)
	}
	c.Run.LogDir = dir
	return c
}

// TestRangeGame runs the range game end to end: ranges around every audited record, RaMIA against both
// targets, the results in run.json, summary.json and the report, and a rerun that reuses the range
// signals.
func TestRangeGame(t *testing.T) {
	dir := t.TempDir()
	c := rangeRunConfig(t, dir, "range:\n  sampler: geometric\n  transformations: [horizontal_flip, \"shift:1,0\"]\n")
	var log bytes.Buffer
	res, err := Run(context.Background(), c, Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Ranges
	if r == nil {
		t.Fatal("no range result")
	}
	if r.SamplesPerRange != 3 || r.Ranges+r.Dropped != 400 || r.Reported != "range" || len(r.Targets) != 2 || r.Pooled == nil {
		t.Fatalf("range result %+v", r)
	}
	for _, tr := range r.Targets {
		if tr.Range == nil || tr.Range.Members+tr.Range.NonMembers != r.Ranges || tr.TrimKeep < 1 || tr.TuningModel < 2 {
			t.Errorf("target %d: %+v", tr.Target, tr)
		}
		if tr.Sample.Members+tr.Sample.NonMembers != 3*r.Ranges {
			t.Errorf("target %d: per-sample result over %d points, want %d", tr.Target, tr.Sample.Members+tr.Sample.NonMembers, 3*r.Ranges)
		}
	}
	if len(res.Attacks) != 1 || res.Attacks[0].Name != "rmia" {
		t.Errorf("attacks %+v, want the record-level RMIA alone", res.Attacks)
	}
	var out bytes.Buffer
	res.WriteSummary(&out)
	for _, want := range []string{"range membership: geometric (horizontal_flip, shift:1,0; the image included), 3 points per range", "range AUC", "pooled"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
	for _, f := range []string{"run.json", "report/summary.json", "results/results.json"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Ranges *report.Ranges `json:"ranges"`
		}
		if err := json.Unmarshal(b, &v); err != nil || v.Ranges == nil || v.Ranges.Ranges != r.Ranges {
			t.Errorf("%s: ranges %+v, %v", f, v.Ranges, err)
		}
	}
	page, err := os.ReadFile(filepath.Join(dir, "report", "index.html"))
	if err != nil || !bytes.Contains(page, []byte(`id="ranges"`)) {
		t.Errorf("the report has no range section (%v)", err)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "signals", "*-range-*.npy"))
	if len(matches) != 6 {
		t.Errorf("%d range signal files, want one per model (6)", len(matches))
	}

	// A rerun reuses the models and their range signals, and gives the same numbers.
	log.Reset()
	again, err := Run(context.Background(), rangeRunConfig(t, dir, "range:\n  sampler: geometric\n  transformations: [horizontal_flip, \"shift:1,0\"]\n"), Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if again.Trained != 0 || strings.Contains(log.String(), "recomputing") {
		t.Errorf("rerun trained %d models; log:\n%s", again.Trained, log.String())
	}
	if a, b := again.Ranges.Targets[0].Range.AUC, r.Targets[0].Range.AUC; a != b {
		t.Errorf("rerun range AUC %v, want %v", a, b)
	}

	// A damaged range signal file is recomputed, never trusted.
	if err := os.WriteFile(matches[0], []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	log.Reset()
	third, err := Run(context.Background(), rangeRunConfig(t, dir, "range:\n  sampler: geometric\n  transformations: [horizontal_flip, \"shift:1,0\"]\n"), Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "recomputing its range signals") || third.Ranges.Targets[0].Range.AUC != r.Targets[0].Range.AUC {
		t.Errorf("a damaged range signal file: log %q, AUC %v", log.String(), third.Ranges.Targets[0].Range.AUC)
	}
}

// TestRangeGameDropsAmbiguousRanges: a range that contains another pool record is left out (its
// membership would not be its record's), and the rest satisfy the definition: no range of a
// non-member contains a training record.
func TestRangeGameDropsAmbiguousRanges(t *testing.T) {
	c := rangeRunConfig(t, t.TempDir(), "range:\n  sampler: l2\n  radius: 9\n  size: 3\n  compat: privacy-meter\n")
	var log bytes.Buffer
	res, err := Run(context.Background(), c, Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Ranges
	if r.Dropped == 0 || !strings.Contains(log.String(), "left out because they contain another pool record") {
		t.Fatalf("radius 9 drops no range (%d kept); log:\n%s", r.Ranges, log.String())
	}
	if r.Compat != "privacy-meter" || r.Reported != "sample" {
		t.Errorf("compat result %+v", r)
	}
	// Check the kept ranges against the definition, target by target.
	d, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	p, err := MakePlan(c, d)
	if err != nil {
		t.Fatal(err)
	}
	l2, _ := ramia.NewL2(9, 3, attack.CompatPrivacyMeter)
	dim := d.Pool.Dim()
	var centres []float32
	var idx []int
	for _, rec := range p.Audit {
		if in, _ := ramia.Contained(context.Background(), l2, d.Pool.Row(rec), d.Pool.X, dim, []int{rec}); len(in[0]) == 0 {
			centres = append(centres, d.Pool.Row(rec)...)
			idx = append(idx, rec)
		}
	}
	if len(idx) != r.Ranges {
		t.Fatalf("%d clean ranges, the run kept %d", len(idx), r.Ranges)
	}
	for tg := range p.Targets {
		members := make([]bool, len(idx))
		for i, rec := range idx {
			members[i] = p.Memberships.In(rec, tg)
		}
		var training []float32
		for _, rec := range p.Memberships.Train(tg) {
			training = append(training, d.Pool.Row(rec)...)
		}
		if err := ramia.CheckNonMembers(context.Background(), l2, centres, members, training, dim); err != nil {
			t.Errorf("target %d: %v", tg, err)
		}
	}
}

// TestRangeGameErrorsBeforeTraining: a range section that does not fit the data fails before any model
// is trained, naming the field.
func TestRangeGameErrorsBeforeTraining(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want []string
	}{
		{"range:\n  sampler: missing_values\n  size: 3\n  columns: [sleeve]\n", []string{"range.columns", `column "sleeve"`, "the dataset names no features"}},
		{"range:\n  sampler: missing_values\n  size: 3\n  num_missing_feats: 1\n  col_ranges: [[5, 6]]\n", []string{"pool record", "outside its range [5, 6]"}},
		{"range:\n  sampler: missing_values\n  size: 5\n  num_missing_feats: 2\n  col_ranges: [[0, 1], [0, 0]]\n  is_categorical: true\n", []string{"range.sampler", "only 2 distinct values"}},
	} {
		dir := t.TempDir()
		_, err := Run(context.Background(), rangeRunConfig(t, dir, tc.yaml), Options{})
		if err == nil {
			t.Errorf("%s: accepted", tc.yaml)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q lacks %q", err, w)
			}
		}
		if m, _ := filepath.Glob(filepath.Join(dir, "models", "*")); len(m) > 0 {
			t.Errorf("%s: %d model files written before the error", tc.yaml, len(m))
		}
	}
}

// TestRangeEstimate: the plan's estimate counts the sampled points and their signals.
func TestRangeEstimate(t *testing.T) {
	rec := rangeRunConfig(t, t.TempDir(), "range:\n  sampler: l2\n  radius: 1\n  size: 20\n")
	d, err := LoadData(rec)
	if err != nil {
		t.Fatal(err)
	}
	withRanges, err := EstimateRun(rec, d)
	if err != nil {
		t.Fatal(err)
	}
	plain := *rec
	plain.ranges, plain.Audit.PrivacyGame = nil, "privacy_loss_model"
	without, err := EstimateRun(&plain, d)
	if err != nil {
		t.Fatal(err)
	}
	// 400 records × 20 points × 784 features × 4 bytes alone.
	if got := withRanges.AttackMemory - without.AttackMemory; got < 400*20*784*4 {
		t.Errorf("the ranges add %d bytes to the attack stage, want at least the points' %d", got, 400*20*784*4)
	}
	if withRanges.SignalDisk <= without.SignalDisk {
		t.Errorf("the ranges' signal files are not counted: %d ≤ %d", withRanges.SignalDisk, without.SignalDisk)
	}
}
