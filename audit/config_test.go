package audit

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrivacyMeterConfigsParse(t *testing.T) {
	for _, f := range []string{"testdata/purchase.yaml", "testdata/cifar10.yaml"} {
		c, err := LoadConfig(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if c.NumRefModels() != 1 || c.Run.RandomSeed != 12345 || c.Train.Epochs != 100 || c.Audit.DataSize != 10000 {
			t.Errorf("%s: parsed %+v", f, c)
		}
		if got := c.attackList(); len(got) != 1 || got[0].Name != "rmia" || got[0].Params["tune_offline_a"] != "true" {
			t.Errorf("%s: algorithm RMIA became attacks %+v, want rmia with a tuned", f, got)
		}
		if len(c.Warnings()) == 0 {
			t.Errorf("%s: the ignored device settings give no warning", f)
		}
	}
}

func TestDefaultConfig(t *testing.T) {
	c, err := DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	if c.Data.Dataset != "fashion-mnist" || c.Train.ModelName != "mlp" || c.NumRefModels() < 4 {
		t.Errorf("default config: %+v", c)
	}
	names := map[string]bool{}
	for _, a := range c.attackList() {
		names[a.Name] = true
	}
	for _, want := range []string{"rmia", "lira", "reference", "population", "loss"} {
		if !names[want] {
			t.Errorf("default config lacks attack %s", want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	const base = "run:\n  random_seed: 1\ndata:\n  dataset: fashion-mnist\n"
	for _, tc := range []struct {
		name, yaml string
		want       []string // substrings of the error
	}{
		{"unknown key", base + "audit:\n  num_ref_modelz: 2\n", []string{"line 6", "num_ref_modelz", "section audit"}},
		{"unknown section", base + "trian:\n  epochs: 3\n", []string{"line 5", "trian"}},
		{"wrong type", base + "train:\n  epochs: many\n", []string{"line 6", "many"}},
		{"odd data_size", base + "audit:\n  data_size: 7\n", []string{"line 6", "audit.data_size", "even"}},
		{"negative refs", base + "audit:\n  num_ref_models: -1\n", []string{"line 6", "audit.num_ref_models"}},
		{"zero refs for rmia", base + "audit:\n  algorithm: RMIA\n  num_ref_models: 0\n", []string{"line 7", "num_ref_models", "rmia"}},
		{"offline_a out of range", base + "audit:\n  offline_a: 1.5\n", []string{"line 6", "offline_a", "[0, 1]"}},
		{"bad optimizer", base + "train:\n  optimizer: Adagrad\n", []string{"line 6", "train.optimizer", "Adagrad"}},
		{"bad split", base + "audit:\n  split: random\n", []string{"audit.split", "random"}},
		{"bad game", base + "audit:\n  privacy_game: privacy_loss_everything\n", []string{"privacy_game"}},
		{"no dataset", "run:\n  random_seed: 1\n", []string{"data.dataset", "required"}},
		{"empty", "", []string{"empty"}},
		// Numbers that yaml.v3 would coerce, and zeros that used to become defaults.
		{"fractional data_size", base + "audit:\n  data_size: 400.5\n", []string{"line 6", "audit.data_size", "whole number", "400.5"}},
		{"exponent epochs", base + "train:\n  epochs: 1e2\n", []string{"line 6", "train.epochs", "whole number", "1e2"}},
		{"fractional seed", "run:\n  random_seed: 1.5\ndata:\n  dataset: adult\n", []string{"line 2", "run.random_seed", "whole number"}},
		{"negative train_size", "data:\n  dataset: adult\n  train_size: -5\n", []string{"line 3", "data.train_size", "-5"}},
		{"zero epochs", base + "train:\n  epochs: 0\n", []string{"line 6", "train.epochs", "got 0"}},
		{"zero batch_size", base + "train:\n  batch_size: 0\n", []string{"line 6", "train.batch_size", "got 0"}},
		{"zero audit batch_size", base + "audit:\n  batch_size: 0\n", []string{"line 6", "audit.batch_size", "got 0"}},
		{"negative audit batch_size", base + "audit:\n  batch_size: -1\n", []string{"line 6", "audit.batch_size", "got -1"}},
		{"zero num_queries", base + "audit:\n  num_queries: 0\n", []string{"line 6", "audit.num_queries", "got 0"}},
		{"zero num_experiments", "run:\n  num_experiments: 0\ndata:\n  dataset: adult\n", []string{"line 2", "run.num_experiments", "got 0"}},
		{"zero learning_rate", base + "train:\n  learning_rate: 0\n", []string{"line 6", "train.learning_rate", "positive"}},
		{"NaN learning_rate", base + "train:\n  learning_rate: .nan\n", []string{"line 6", "train.learning_rate", "finite", ".nan"}},
		{"infinite learning_rate", base + "train:\n  learning_rate: -.inf\n", []string{"line 6", "train.learning_rate", "finite", "-.inf"}},
		{"NaN weight_decay", base + "train:\n  weight_decay: .NaN\n", []string{"line 6", "train.weight_decay", "finite"}},
		{"negative momentum", base + "train:\n  momentum: -0.9\n", []string{"line 6", "train.momentum", "-0.9"}},
		{"NaN offline_a", base + "audit:\n  offline_a: .nan\n", []string{"line 6", "audit.offline_a", "finite"}},
		{"NaN in a layer spec", base + "train:\n  model:\n    - {kind: flatten}\n    - {kind: dropout, p: .nan}\n", []string{"line 8", "train.model[1].p", "finite"}},
		{"unknown key in a layer spec", base + "train:\n  model:\n    - {kind: flatten}\n    - {kind: dense, outs: 10}\n", []string{"line 8", "train.model[1]", `unknown field "outs"`, "out"}},
		{"fractional layer size", base + "train:\n  model:\n    - {kind: dense, out: 10.5}\n", []string{"line 7", "train.model[0].out", "whole number"}},
		{"too many reference models", base + "audit:\n  num_ref_models: 1000000000\n", []string{"line 6", "audit.num_ref_models", "100000", "1000000000"}},
		{"too many workers", "run:\n  workers: 100000\ndata:\n  dataset: adult\n", []string{"line 2", "run.workers", "4096"}},
		{"too many epochs", base + "train:\n  epochs: 1000000000\n", []string{"line 6", "train.epochs"}},
		{"negative record", base + "audit:\n  records: [4, -1]\n", []string{"line 6", "audit.records", "element 1", "-1"}},
		{"repeated record", base + "audit:\n  records: [4, 2, 4]\n", []string{"line 6", "audit.records", "element 2 repeats record 4"}},
		{"not yaml", "run: [\n", []string{"line"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml))
			if err == nil {
				t.Fatalf("no error for:\n%s", tc.yaml)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestPlanErrorsNameTheField(t *testing.T) {
	c, err := ParseConfig([]byte("data:\n  dataset: fashion-mnist\naudit:\n  data_size: 100000\n"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := MakePlan(c, d); err == nil || !strings.Contains(err.Error(), "line 4: audit.data_size") {
		t.Errorf("data_size larger than the pool: error %v", err)
	}
	c.Audit.DataSize = 0
	c.Audit.PopulationSize = 5000
	if _, err := MakePlan(c, d); err == nil || !strings.Contains(err.Error(), "population_size") {
		t.Errorf("population_size larger than the population: error %v", err)
	}
	c.Data.Dataset = "imagenet"
	if _, err := LoadData(c); err == nil || !strings.Contains(err.Error(), "unknown dataset") {
		t.Errorf("unknown dataset: error %v", err)
	}
}

// TestCSVDataset runs LoadData on a CSV file: a 75/25 pool/population split in file order, features
// standardised with pool statistics only.
func TestCSVDataset(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/d.csv"
	text := "x,colour,y\n"
	for i := 0; i < 40; i++ {
		text += fmt.Sprintf("%d,%s,%d\n", i, []string{"red", "blue"}[i%2], i%2)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig([]byte("data:\n  dataset: csv\n  file: " + path + "\n  label_column: y\n"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	if d.Pool.Len() != 30 || d.Population.Len() != 10 || d.Pool.Classes != 2 {
		t.Fatalf("pool %d, population %d, classes %d; want 30, 10, 2", d.Pool.Len(), d.Population.Len(), d.Pool.Classes)
	}
	// Column x of the pool holds 0..29: mean 14.5, so standardised record 0 is −14.5/σ.
	sum := 0.0
	for i := 0; i < 30; i++ {
		sum += float64(d.Pool.Row(i)[0])
	}
	if math.Abs(sum) > 1e-4 {
		t.Errorf("pool feature x has mean %v after standardisation, want 0", sum/30)
	}
	c.Data.LabelCol = ""
	if _, err := LoadData(c); err == nil || !strings.Contains(err.Error(), "label_column") {
		t.Errorf("no label column: error %v", err)
	}
}

// TestPrivacyMeterCIFARConfigPlans loads Privacy Meter's cifar10.yaml with data_dir pointed at small
// files in CIFAR-10's binary format, and checks the plan: its WRN28-2, 2 pairs for R = 1, and
// data_size records audited (scaled down from 10,000 to the test's 60 records).
func TestPrivacyMeterCIFARConfigPlans(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cifar-10-batches-bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name string, n int) {
		b := make([]byte, 0, n*3073)
		for i := 0; i < n; i++ {
			b = append(b, byte(i%10))
			for j := 0; j < 3072; j++ {
				b = append(b, byte(i*7+j))
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 5; i++ {
		write(fmt.Sprintf("data_batch_%d.bin", i), 12)
	}
	write("test_batch.bin", 20)
	c, err := LoadConfig("testdata/cifar10.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c.Data.DataDir = filepath.Dir(dir)
	c.Audit.DataSize = 30
	d, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	if d.Pool.Len() != 60 || d.Population.Len() != 20 {
		t.Fatalf("pool %d, population %d; want 60 and 20", d.Pool.Len(), d.Population.Len())
	}
	// Privacy Meter normalises CIFAR to [−1, 1].
	for _, v := range d.Pool.X {
		if v < -1 || v > 1 {
			t.Fatalf("pixel %v outside [-1, 1]", v)
		}
	}
	p, err := MakePlan(c, d)
	if err != nil {
		t.Fatal(err)
	}
	// Privacy Meter trains 4 models (R = 1); tuning offline a on a model other than the target's pair
	// takes a third pair.
	if p.Models != 6 || len(p.Audit) != 30 {
		t.Errorf("%d models, %d audited records; want 6 and 30", p.Models, len(p.Audit))
	}
	m, err := p.build("wrn", 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.NumParams(); got != 1467610 {
		t.Errorf("wrn28-2 has %d parameters, want Privacy Meter's 1,467,610", got)
	}
}

// TestDefaultsOnlyWhenAbsent checks that a default fills in a field the YAML leaves out or sets to null,
// and that a value written out is kept (and validated), never replaced.
func TestDefaultsOnlyWhenAbsent(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want func(c *Config) bool
	}{
		{"train:\n  optimizer: Adam\n", func(c *Config) bool {
			return c.Train.Epochs == 1 && c.Train.BatchSize == 256 && c.Train.LearningRate == 0.001 && c.Audit.BatchSize == 1024 &&
				c.Audit.NumQueries == 1 && c.Run.NumExperiments == 1
		}},
		{"train:\n  epochs:\n  batch_size: ~\n", func(c *Config) bool { return c.Train.Epochs == 1 && c.Train.BatchSize == 256 }},
		{"train:\n  epochs: 3\n  batch_size: 7\n  learning_rate: 0.5\n", func(c *Config) bool {
			return c.Train.Epochs == 3 && c.Train.BatchSize == 7 && c.Train.LearningRate == 0.5
		}},
		{"audit:\n  data_size: 400\n  batch_size: 5\n", func(c *Config) bool { return c.Audit.DataSize == 400 && c.Audit.BatchSize == 5 }},
		{"run:\n  workers: 0\n", func(c *Config) bool { return c.Run.Workers == 0 }},
		// Aliases are followed: one to null leaves the default, one to a value keeps the value.
		{"train:\n  epochs: &none ~\n  batch_size: *none\n", func(c *Config) bool { return c.Train.Epochs == 1 && c.Train.BatchSize == 256 }},
		{"audit:\n  batch_size: &b 5\ntrain:\n  batch_size: *b\n", func(c *Config) bool { return c.Audit.BatchSize == 5 && c.Train.BatchSize == 5 }},
	} {
		c, err := ParseConfig([]byte("data:\n  dataset: adult\n" + tc.yaml))
		if err != nil {
			t.Errorf("%q: %v", tc.yaml, err)
			continue
		}
		if !tc.want(c) {
			t.Errorf("%q: parsed run %+v, audit %+v, train %+v", tc.yaml, c.Run, c.Audit, c.Train)
		}
	}
}

// TestLayerSpecsInferIn checks that train.model may leave out each layer's in (taken from the shape
// the previous layer gives), and that a wrong in, or a last layer without one logit per class, is an
// error naming train.model and the layer.
func TestLayerSpecsInferIn(t *testing.T) {
	const head = "data:\n  dataset: fashion-mnist\n  train_size: 100\ntrain:\n  model:\n    - {kind: flatten}\n"
	c, err := ParseConfig([]byte(head + "    - {kind: dense, out: 32}\n    - {kind: relu}\n    - {kind: dense, out: 10}\n"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	specs, err := c.modelSpecs(d)
	if err != nil {
		t.Fatal(err)
	}
	if specs[1].In != 784 || specs[3].In != 32 {
		t.Errorf("inferred in: %d and %d, want 784 and 32", specs[1].In, specs[3].In)
	}
	for _, tc := range []struct{ layers, want string }{
		{"    - {kind: dense, in: 100, out: 10}\n", "layer 1 (dense): in = 100, but its input has 784 features"},
		{"    - {kind: dense, out: 5}\n", "gives [5] per record, want [10]"},
	} {
		c, err := ParseConfig([]byte(head + tc.layers))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.modelSpecs(d); err == nil || !strings.Contains(err.Error(), "line 6: train.model") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one naming line 6, train.model and %q", tc.layers, err, tc.want)
		}
	}
}
