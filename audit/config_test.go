package audit

import (
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
