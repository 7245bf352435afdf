package audit

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/dataset"
	"github.com/pmeter/pmeter/metric"
)

// TestRunSlices audits an MLP on Adult sliced by sex, race and age: every value is a slice (age by
// quartiles), each slice's AUC is the AUC of the pooled scores of its records, the small slices get no
// statistics, and summary.json and the report carry them.
func TestRunSlices(t *testing.T) {
	c, err := ParseConfig([]byte(`
run: {random_seed: 2}
audit:
  num_ref_models: 1
  population_size: 500
  slices: [sex, race, age, outliers]
  attacks: [{name: lira}]
train: {model_name: mlp, optimizer: Adam, learning_rate: 0.005, epochs: 12, batch_size: 64, schedule: constant}
data: {dataset: adult, train_size: 1200}
`))
	if err != nil {
		t.Fatal(err)
	}
	c.Run.LogDir = t.TempDir()
	res, err := Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// 2 sexes + 5 races + 4 age quartiles + the outliers.
	if len(res.Slices) != 2+5+4+1 {
		t.Fatalf("%d slices, want 12", len(res.Slices))
	}
	d, _ := LoadData(c)
	p, _ := MakePlan(c, d)
	defs, err := c.sliceDefs(d, p)
	if err != nil {
		t.Fatal(err)
	}
	small := 0
	for k, s := range res.Slices {
		def := defs[k%len(defs)]
		if s.Column != def.column || s.Value != def.value {
			t.Fatalf("slice %d is %s = %s, want %s = %s", k, s.Column, s.Value, def.column, def.value)
		}
		if s.AUC == nil {
			small++
			if s.Members >= 20 && s.NonMembers >= 20 {
				t.Errorf("%s = %s: no statistics with %d members and %d non-members", s.Column, s.Value, s.Members, s.NonMembers)
			}
			continue
		}
		a := res.Attacks[k/len(defs)]
		var ss []float64
		var sm []bool
		for i, in := range def.in {
			if in {
				ss, sm = append(ss, a.Scores[0][i]), append(sm, res.Members[0][i])
			}
		}
		r, err := metric.Evaluate(ss, sm)
		if err != nil || r.AUC != *s.AUC.Value {
			t.Errorf("%s = %s: AUC %v, the slice's records give %v (%v)", s.Column, s.Value, *s.AUC.Value, r.AUC, err)
		}
		if s.PHolm == nil || *s.PHolm < *s.P || !(*s.AUC.Lo <= *s.AUC.Value && *s.AUC.Value <= *s.AUC.Hi) {
			t.Errorf("%s = %s: p %v, Holm %v, AUC %+v", s.Column, s.Value, s.P, s.PHolm, s.AUC)
		}
	}
	if small == 0 {
		t.Error("no slice is too small; Adult's rarer races should be")
	}
	b, err := os.ReadFile(filepath.Join(c.Run.LogDir, "report", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Slices []json.RawMessage `json:"slices"`
	}
	if err := json.Unmarshal(b, &sum); err != nil || len(sum.Slices) != 12 {
		t.Errorf("summary.json: %d slices, %v", len(sum.Slices), err)
	}
	page, _ := os.ReadFile(filepath.Join(c.Run.LogDir, "report", "index.html"))
	if !strings.Contains(string(page), "Who is at risk: subgroups") {
		t.Error("the report has no subgroup section")
	}
	if _, err := ParseConfig([]byte("data: {dataset: adult}\naudit: {slices: [sex, sex]}\n")); err == nil || !strings.Contains(err.Error(), "audit.slices: lists column \"sex\" twice") {
		t.Errorf("duplicate slice column: %v", err)
	}
	c.Audit.Slices = []string{"nope"}
	if _, err := c.sliceDefs(d, p); err == nil || !strings.Contains(err.Error(), `no column "nope"`) {
		t.Errorf("unknown column: %v", err)
	}
}

// TestOutliers: in class 0 of {0, 0.1, 0.2, …, 0.8, 10} (one feature) the record at 10 is farthest from
// the class mean, and the top 10 % of 10 records is that record alone.
func TestOutliers(t *testing.T) {
	x := []float32{0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 10}
	pool := &dataset.Dataset{X: x, Y: make([]int, 10), Shape: []int{1}, Classes: 2}
	p := &Plan{Audit: []int{9, 0, 4}}
	s := outliers(&Data{Pool: pool}, p)
	if want := []bool{true, false, false}; !slices.Equal(s.in, want) {
		t.Errorf("outliers %v, want %v", s.in, want)
	}
}
