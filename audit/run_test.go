package audit

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/nn"
	"github.com/pmeter/pmeter/npy"
)

// tinyConfig audits a small MLP on 400 embedded Fashion-MNIST records: 3 pairs (6 models: two would do
// for R = 1, the third lets RMIA tune a on a model other than the targets' pair), 2 targets.
func tinyConfig(t *testing.T, dir string, workers int) *Config {
	t.Helper()
	c, err := ParseConfig([]byte(`
run:
  random_seed: 7
  num_experiments: 2
audit:
  num_ref_models: 1
  population_size: 200
  attacks:
    - name: rmia
      params: {tune_offline_a: "true"}
    - name: lira
    - name: reference
    - name: population
    - name: loss
train:
  model_name: mlp
  optimizer: Adam
  learning_rate: 0.002
  epochs: 4
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
	c.Run.Workers = workers
	return c
}

func TestRunEndToEnd(t *testing.T) {
	dir := t.TempDir()
	res, err := Run(context.Background(), tinyConfig(t, dir, 0), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Trained != 6 || res.Reused != 0 || len(res.Models) != 6 {
		t.Errorf("trained %d, reused %d, models %d; want 6, 0, 6", res.Trained, res.Reused, len(res.Models))
	}
	if len(res.Attacks) != 5 {
		t.Fatalf("%d attack results, want 5", len(res.Attacks))
	}
	for _, a := range res.Attacks {
		if len(a.Targets) != 2 || a.Pooled == nil {
			t.Errorf("%s: %d target results, pooled %v; want 2 and a pooled result", a.Label, len(a.Targets), a.Pooled)
			continue
		}
		for tg, m := range a.Targets {
			if m.Members+m.NonMembers != 400 || m.Members == 0 || m.NonMembers == 0 {
				t.Errorf("%s target %d: %d members, %d non-members of 400 records", a.Label, tg, m.Members, m.NonMembers)
			}
			if !(m.AUC >= 0 && m.AUC <= 1) {
				t.Errorf("%s target %d: AUC %v", a.Label, tg, m.AUC)
			}
		}
		if p := a.Pooled; p.Members+p.NonMembers != 800 {
			t.Errorf("%s: pooled result counts %d records, want 800", a.Label, p.Members+p.NonMembers)
		}
		// The pairs split allows no DP bound: every ε bound says so.
		if len(a.Epsilon) != 2 || a.Epsilon[0] == nil || a.Epsilon[0].DPBound || a.PooledEpsilon == nil || a.PooledEpsilon.DPBound {
			t.Errorf("%s: ε bounds %v, pooled %v; want two per-target bounds and a pooled one, none a DP bound", a.Label, a.Epsilon, a.PooledEpsilon)
		}
	}
	if !strings.Contains(res.DPCaveat, "pairs design") {
		t.Errorf("DP caveat %q, want the pairs design's", res.DPCaveat)
	}
	// The model overfits 200 records, so the strongest attack must beat chance clearly.
	best := 0.0
	for _, a := range res.Attacks {
		best = max(best, a.Targets[0].AUC)
	}
	if best < 0.55 {
		t.Errorf("strongest attack AUC %.3f, want ≥ 0.55 on an overfitted model", best)
	}
	for _, f := range []string{"metadata.json", "memberships.npy", "run.json", "results/results.json", "report/index.html", "report/summary.json", "report/records.csv"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("run directory lacks %s: %v", f, err)
		}
	}
	ms, err := npy.ReadFile(filepath.Join(dir, "memberships.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ms.Shape, []int{400, 6}) || ms.Kind != npy.Bool {
		t.Errorf("memberships.npy: %v %v, want bool (400, 6)", ms.Kind, ms.Shape)
	}
}

// TestResume interrupts a run after two models, reruns it, and checks that only the other models are
// trained and that every score equals that of an uninterrupted run.
func TestResume(t *testing.T) {
	ref, err := Run(context.Background(), tinyConfig(t, t.TempDir(), 2), Options{})
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := 0
	_, err = Run(ctx, tinyConfig(t, dir, 1), Options{OnModel: func(int, bool) {
		if done++; done == 2 {
			cancel()
		}
	}})
	cancel()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: error %v, want context.Canceled", err)
	}
	var trained []int
	res, err := Run(context.Background(), tinyConfig(t, dir, 1), Options{OnModel: func(m int, cached bool) {
		if !cached {
			trained = append(trained, m)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Reused != 2 || res.Trained != 4 || len(trained) != 4 {
		t.Errorf("rerun trained %d (%v) and reused %d models; want 4 and 2", res.Trained, trained, res.Reused)
	}
	for i, a := range res.Attacks {
		for tg := range a.Scores {
			if !slices.Equal(a.Scores[tg], ref.Attacks[i].Scores[tg]) {
				t.Errorf("%s target %d: resumed scores differ from an uninterrupted run", a.Label, tg)
			}
		}
	}
	// A third run reuses everything.
	res, err = Run(context.Background(), tinyConfig(t, dir, 1), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Trained != 0 || res.Reused != 6 {
		t.Errorf("third run trained %d, reused %d; want 0 and 6", res.Trained, res.Reused)
	}
}

// TestChangedConfigRetrains checks that an artefact is never reused for a model whose recipe changed.
func TestChangedConfigRetrains(t *testing.T) {
	dir := t.TempDir()
	if _, err := Run(context.Background(), tinyConfig(t, dir, 0), Options{}); err != nil {
		t.Fatal(err)
	}
	c := tinyConfig(t, dir, 0)
	c.Train.Epochs = 5
	res, err := Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Reused != 0 || res.Trained != 6 {
		t.Errorf("after changing epochs: trained %d, reused %d; want 6 and 0", res.Trained, res.Reused)
	}
	c = tinyConfig(t, dir, 0)
	c.Audit.PopulationSize = 100
	res, err = Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Only the signals depend on the population: the saved models are reused, none is retrained.
	if res.Reused != 6 || res.Trained != 0 {
		t.Errorf("after changing the population: trained %d, reused %d; want 0 and 6", res.Trained, res.Reused)
	}
	// A damaged weights file is detected and the model retrained, never trusted.
	c.Audit.PopulationSize = 150
	matches, _ := filepath.Glob(filepath.Join(dir, "models", "*.safetensors"))
	if len(matches) != 12 {
		t.Fatalf("%d saved models, want 12 (two recipes × 6)", len(matches))
	}
	for _, m := range matches {
		if err := os.WriteFile(m, []byte("garbage"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err = Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Trained != 6 {
		t.Errorf("after damaging the weights: trained %d, want 6", res.Trained)
	}
}

func TestSampleGame(t *testing.T) {
	c := tinyConfig(t, t.TempDir(), 0)
	c.Audit.PrivacyGame = "privacy_loss_sample"
	c.Audit.Records = []int{3, 10}
	two := 2
	c.Audit.NumRefModels = &two
	c.Data.TrainSize = 200
	res, err := Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Samples) != 2 {
		t.Fatalf("%d sample results, want 2", len(res.Samples))
	}
	for _, s := range res.Samples {
		if len(s.InLoss) != 2 || len(s.OutLoss) != 2 {
			t.Errorf("record %d: %d IN and %d OUT models, want 2 and 2", s.Record, len(s.InLoss), len(s.OutLoss))
		}
		// Brute force: the AUC over 2 IN and 2 OUT losses is the fraction of (in, out) pairs with the
		// IN loss lower, ties counting one half.
		want := 0.0
		for _, a := range s.InLoss {
			for _, b := range s.OutLoss {
				switch {
				case a < b:
					want++
				case a == b:
					want += 0.5
				}
			}
		}
		want /= 4
		if s.AUC != want {
			t.Errorf("record %d: AUC %v, want %v", s.Record, s.AUC, want)
		}
		// Training on z lowers its loss (the model has seen it four epochs).
		if mean(s.InLoss) >= mean(s.OutLoss) {
			t.Errorf("record %d: mean IN loss %v not below mean OUT loss %v", s.Record, mean(s.InLoss), mean(s.OutLoss))
		}
	}
	c.Audit.Records = []int{100000}
	if _, err := Run(context.Background(), c, Options{}); err == nil {
		t.Error("a record outside the pool gives no error")
	}
}

// externalConfig audits the ONNX model of testdata/external (made by examples/onnx/train_and_export.py:
// an MLP trained in PyTorch on 300 of the first 600 embedded Fashion-MNIST images).
func externalConfig(t *testing.T, dir string) *Config {
	t.Helper()
	c, err := ParseConfig([]byte(`
run:
  random_seed: 1
target:
  model: testdata/external/target.onnx
  train_indices: testdata/external/target_train.npy
audit:
  num_ref_models: 2
  population_size: 300
  attacks:
    - name: rmia
    - name: lira
    - name: loss
train:
  optimizer: Adam
  learning_rate: 0.002
  epochs: 10
  batch_size: 32
  schedule: constant
data:
  dataset: fashion-mnist
  train_size: 600
`))
	if err != nil {
		t.Fatal(err)
	}
	c.Run.LogDir = dir
	return c
}

func TestExternalTarget(t *testing.T) {
	dir := t.TempDir()
	res, err := Run(context.Background(), externalConfig(t, dir), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.External != 1 || res.Trained != 4 || len(res.Models) != 5 {
		t.Errorf("external %d, trained %d, models %d; want 1, 4 (2·num_ref_models references), 5", res.External, res.Trained, len(res.Models))
	}
	idx, err := npy.ReadFile("testdata/external/target_train.npy")
	if err != nil {
		t.Fatal(err)
	}
	members := 0
	for _, m := range res.Members[0] {
		if m {
			members++
		}
	}
	if members != len(idx.I64) {
		t.Errorf("%d audited members, want the %d records of target_train.npy", members, len(idx.I64))
	}
	// The PyTorch model reaches 99 % training accuracy on 300 records: its leakage is plain.
	if m := res.Models[0]; m.TrainAccuracy < 0.95 {
		t.Errorf("target train accuracy %v; the imported model does not compute what PyTorch trained", m.TrainAccuracy)
	}
	if auc := res.Attacks[0].Targets[0].AUC; auc < 0.65 {
		t.Errorf("rmia AUC %v on an overfitted imported model, want ≥ 0.65", auc)
	}

	// Supplied reference models: the target file itself, with the complement of its training set.
	var comp []int64
	in := map[int64]bool{}
	for _, v := range idx.I64 {
		in[v] = true
	}
	for i := int64(0); i < 600; i++ {
		if !in[i] {
			comp = append(comp, i)
		}
	}
	compPath := filepath.Join(t.TempDir(), "comp.npy")
	if err := npy.WriteFile(compPath, npy.NewInt64(comp, len(comp))); err != nil {
		t.Fatal(err)
	}
	c := externalConfig(t, t.TempDir())
	c.Target.References = []ReferenceModel{{Model: "testdata/external/target.onnx", TrainIndices: compPath}}
	c.Audit.Attacks = []AttackConfig{{Name: "loss"}}
	res, err = Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.External != 2 || res.Trained != 0 {
		t.Errorf("with supplied references: external %d, trained %d; want 2 and 0", res.External, res.Trained)
	}
}

func TestExternalTargetErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.npy")
	if err := npy.WriteFile(bad, npy.NewInt64([]int64{1, 2, 2}, 3)); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.npy")
	if err := npy.WriteFile(out, npy.NewInt64([]int64{1, 600}, 2)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(c *Config)
		want   string
	}{
		{"missing model", func(c *Config) { c.Target.Model = "testdata/external/none.onnx" }, "target.model"},
		{"no indices", func(c *Config) { c.Target.TrainIndices = "" }, "target.train_indices: is required"},
		{"repeated index", func(c *Config) { c.Target.TrainIndices = bad }, "repeats record 2"},
		{"index outside the pool", func(c *Config) { c.Target.TrainIndices = out }, "outside the training pool"},
		{"model does not fit the data", func(c *Config) { c.Data.Dataset = "adult"; c.Data.TrainSize = 600 }, "shape"},
		{"several targets", func(c *Config) { c.Run.NumExperiments = 2 }, "run.num_experiments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := externalConfig(t, t.TempDir())
			tc.change(c)
			_, err := Run(context.Background(), c, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// TestMirrorQueries audits with two queries per record (the image and its mirror image).
func TestMirrorQueries(t *testing.T) {
	c := tinyConfig(t, t.TempDir(), 0)
	c.Audit.NumQueries = 2
	c.Run.NumExperiments = 1
	res, err := Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range res.Attacks {
		if len(a.Scores[0]) != 400 {
			t.Errorf("%s: %d scores, want 400", a.Label, len(a.Scores[0]))
		}
	}
	c.Data.Dataset = "adult"
	if _, err := Run(context.Background(), c, Options{}); err == nil || !strings.Contains(err.Error(), "image") {
		t.Errorf("mirror queries on tabular data: error %v, want one saying they need images", err)
	}
}

// TestDamagedSignalsAreRecomputed damages each kind of signal file in turn (the audited and the
// population records' logits and their sidecar): flipped bits, a truncated file, a digit changed in the
// sidecar's JSON, files swapped between models. Each rerun must notice, recompute the signals from the
// saved model (no retraining), rewrite the file as it was, and reach the same scores.
func TestDamagedSignalsAreRecomputed(t *testing.T) {
	dir := t.TempDir()
	first, err := Run(context.Background(), tinyConfig(t, dir, 0), Options{})
	if err != nil {
		t.Fatal(err)
	}
	sidecars, _ := filepath.Glob(filepath.Join(dir, "signals", "*.json"))
	if len(sidecars) != 6 {
		t.Fatalf("%d signal sidecars, want 6", len(sidecars))
	}
	base := strings.TrimSuffix(sidecars[1], ".json")
	other := strings.TrimSuffix(sidecars[2], ".json")
	flipLast := func(b []byte) []byte { b[len(b)-1] ^= 1; return b }
	flipMiddle := func(b []byte) []byte { b[len(b)/2] ^= 0x40; return b }
	for _, tc := range []struct {
		name, suffix string
		damage       func(b []byte) []byte
	}{
		{"population logits, last bit flipped", "-population.npy", flipLast},
		{"population logits, middle byte flipped", "-population.npy", flipMiddle},
		{"audited logits, last bit flipped", "-audit.npy", flipLast},
		{"audited logits, truncated", "-audit.npy", func(b []byte) []byte { return b[:len(b)/2] }},
		{"audited logits of another model", "-audit.npy", func([]byte) []byte {
			b, err := os.ReadFile(other + "-audit.npy")
			if err != nil {
				t.Fatal(err)
			}
			return b
		}},
		{"sidecar, a digit changed", ".json", func(b []byte) []byte {
			i := strings.Index(string(b), `"train_accuracy": 0.`) + len(`"train_accuracy": 0.`)
			b[i] = '0' + (b[i]-'0'+1)%10
			return b
		}},
		{"sidecar, middle byte flipped", ".json", flipMiddle},
		{"sidecar, empty", ".json", func([]byte) []byte { return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := base + tc.suffix
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tc.damage(slices.Clone(orig)), 0o644); err != nil {
				t.Fatal(err)
			}
			var log strings.Builder
			res, err := Run(context.Background(), tinyConfig(t, dir, 0), Options{Log: &log})
			if err != nil {
				t.Fatal(err)
			}
			if res.Trained != 0 {
				t.Errorf("a damaged signal file made the run retrain %d models; the saved weights suffice", res.Trained)
			}
			if n := strings.Count(log.String(), "recomputing its signals"); n != 1 {
				t.Errorf("the log says %d times that signals are recomputed, want once:\n%s", n, log.String())
			}
			again, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(again, orig) {
				t.Errorf("%s: the recomputed file differs from the original", filepath.Base(path))
			}
			for i, a := range res.Attacks {
				for tg := range a.Scores {
					if !slices.Equal(a.Scores[tg], first.Attacks[i].Scores[tg]) {
						t.Errorf("%s target %d: scores differ after recomputing the signals", a.Label, tg)
					}
				}
			}
		})
	}
}

// TestModelWithoutAuditedMembers audits two records, so that some models train on neither and their
// train accuracy is NaN: the run must save and reuse their signals (NaN as JSON null), not fail with
// "json: unsupported value: NaN".
func TestModelWithoutAuditedMembers(t *testing.T) {
	c := tinyConfig(t, t.TempDir(), 0)
	c.Audit.DataSize = 2
	c.Audit.Attacks = []AttackConfig{{Name: "loss"}}
	refs := 5 // six pairs of models: some hold both audited records, their pair neither
	c.Audit.NumRefModels = &refs
	res, err := Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	nan := 0
	for _, m := range res.Models {
		if math.IsNaN(m.TrainAccuracy) {
			nan++
		}
	}
	if nan == 0 {
		t.Fatal("no model without audited members: the test checks nothing")
	}
	again, err := Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Reused != len(res.Models) {
		t.Errorf("rerun reused %d of %d models", again.Reused, len(res.Models))
	}
	for i, m := range again.Models {
		if a, b := m.TrainAccuracy, res.Models[i].TrainAccuracy; a != b && !(math.IsNaN(a) && math.IsNaN(b)) {
			t.Errorf("model %d: train accuracy %v after reuse, %v before", i, a, b)
		}
	}
}

// TestDamagedModelSidecars damages a saved model's JSON sidecar (its signals deleted, so that the rerun
// needs the model): an edited field, a flipped byte and a truncated file are refused, with a line naming
// the file, and that model alone is retrained; a sidecar in the format from before sidecars recorded
// their SHA-256 is accepted once and rewritten with it, as Save would have written it. Every rerun
// reaches the first run's scores.
func TestDamagedModelSidecars(t *testing.T) {
	dir := t.TempDir()
	first, err := Run(context.Background(), tinyConfig(t, dir, 0), Options{})
	if err != nil {
		t.Fatal(err)
	}
	sidecars, _ := filepath.Glob(filepath.Join(dir, "models", "*.json"))
	if len(sidecars) != 6 {
		t.Fatalf("%d model sidecars, want 6", len(sidecars))
	}
	path := sidecars[2]
	for _, tc := range []struct {
		name    string
		damage  func(b []byte) []byte
		trained int
		log     []string
	}{
		{"a digit of the final loss changed", func(b []byte) []byte {
			i := strings.Index(string(b), `"final_loss": "`) + len(`"final_loss": "`) + 2
			if b[i] < '0' || b[i] > '9' {
				t.Fatalf("no digit at the final loss:\n%s", b)
			}
			b[i] = '0' + (b[i]-'0'+1)%10
			return b
		}, 1, []string{"retraining", path, "do not match the SHA-256 it records"}},
		{"seed edited", func(b []byte) []byte {
			return regexp.MustCompile(`"seed": \d+`).ReplaceAll(b, []byte(`"seed": 12345`))
		}, 1, []string{"retraining", path, "do not match the SHA-256 it records"}},
		{"truncated", func(b []byte) []byte { return b[:len(b)/2] }, 1, []string{"retraining", path}},
		{"old format, no checksum", func(b []byte) []byte {
			b = regexp.MustCompile(`,\n\s*"sha256": "[0-9a-f]{64}"`).ReplaceAll(b, nil)
			if strings.Contains(string(b), `"sha256"`) {
				t.Fatalf("sha256 field not removed:\n%s", b)
			}
			return b
		}, 0, []string{path, "without a checksum"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tc.damage(slices.Clone(orig)), 0o644); err != nil {
				t.Fatal(err)
			}
			signals, _ := filepath.Glob(filepath.Join(dir, "signals", "*"))
			for _, s := range signals {
				if err := os.Remove(s); err != nil {
					t.Fatal(err)
				}
			}
			var log strings.Builder
			res, err := Run(context.Background(), tinyConfig(t, dir, 0), Options{Log: &log})
			if err != nil {
				t.Fatal(err)
			}
			if res.Trained != tc.trained || res.Reused != 6-tc.trained {
				t.Errorf("trained %d, reused %d; want %d and %d", res.Trained, res.Reused, tc.trained, 6-tc.trained)
			}
			for _, s := range tc.log {
				if !strings.Contains(log.String(), s) {
					t.Errorf("the log does not say %q:\n%s", s, log.String())
				}
			}
			again, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := nn.ReadModelInfo(path); err != nil {
				t.Errorf("the sidecar after the rerun: %v", err)
			}
			if tc.trained == 0 && !slices.Equal(again, orig) {
				t.Errorf("the rewritten old-format sidecar differs from the one Save wrote:\n%s\nwant\n%s", again, orig)
			}
			for i, a := range res.Attacks {
				for tg := range a.Scores {
					if !slices.Equal(a.Scores[tg], first.Attacks[i].Scores[tg]) {
						t.Errorf("%s target %d: scores differ from the first run's", a.Label, tg)
					}
				}
			}
		})
	}
}
