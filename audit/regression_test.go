package audit

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/dataset"
	"github.com/pmeter/pmeter/signal"
)

const diabetesPath = "../../shared/data/sklearn/diabetes.csv"

func TestRegressionConfigErrors(t *testing.T) {
	base := "data: {dataset: csv, file: x.csv, label_column: target, task: regression}\n"
	for _, tc := range []struct{ yaml, err string }{
		{"data: {dataset: csv, file: x.csv, label_column: y, task: ranking}\n", "data.task: unknown task \"ranking\""},
		{base + "audit: {attacks: [{name: entropy}]}\n", "audit.attacks[0]: attack entropy reads a classifier's outputs"},
		{base + "audit: {num_queries: 2}\n", "audit.num_queries: is 2, but a regression model is queried once"},
		{base + "audit: {access: label}\n", "audit.access: applies to classifiers"},
		{base + "audit: {privacy_game: privacy_loss_sample}\n", "privacy_loss_sample does not audit regression models"},
		{"data: {dataset: adult, task: regression}\n", "regression needs data.label_column"},
	} {
		_, err := ParseConfig([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error %v, want one containing %q", strings.TrimSpace(tc.yaml), err, tc.err)
		}
	}
	c, err := ParseConfig([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range c.attackList() {
		names = append(names, a.Name)
	}
	if !slices.Equal(names, []string{"rmia", "lira", "lira", "loss"}) {
		t.Errorf("default regression attacks %v", names)
	}
}

func TestTargetFromFeature(t *testing.T) {
	ds := &dataset.Dataset{Name: "t", X: []float32{1, 2, 3, 4, 5, 6}, Y: []int{0, 1}, Shape: []int{3}, Classes: 2,
		FeatureNames: []string{"a", "hours", "c"}}
	if err := targetFromFeature(ds, "hours"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ds.Values, []float64{2, 5}) || !slices.Equal(ds.X, []float32{1, 3, 4, 6}) ||
		!slices.Equal(ds.Shape, []int{2}) || !slices.Equal(ds.FeatureNames, []string{"a", "c"}) {
		t.Errorf("got values %v, X %v, shape %v, names %v", ds.Values, ds.X, ds.Shape, ds.FeatureNames)
	}
	if err := targetFromFeature(ds, "nope"); err == nil || !strings.Contains(err.Error(), `no numeric feature "nope"`) {
		t.Errorf("unknown column: %v", err)
	}
}

// TestRunRegression audits an MLP regressor on sklearn's diabetes data (442 records, column target):
// the residuals the attacks see are y − ŷ of each model, the model overfits (train MSE below test MSE),
// and loss, LiRA and RMIA give AUCs above chance on it.
func TestRunRegression(t *testing.T) {
	if _, err := os.Stat(diabetesPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("diabetes data set missing under CI: %v", err)
		}
		t.Skipf("diabetes data set not available: %v", err)
	}
	c, err := ParseConfig([]byte(`
run: {random_seed: 5}
audit: {num_ref_models: 4}
train: {model_name: mlp, optimizer: Adam, learning_rate: 0.01, epochs: 60, batch_size: 32, schedule: constant}
data: {dataset: csv, file: ` + diabetesPath + `, label_column: target, task: regression}
`))
	if err != nil {
		t.Fatal(err)
	}
	c.Run.LogDir = t.TempDir()
	res, err := Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Source, "regression on target") {
		t.Errorf("source %q does not say what is predicted", res.Source)
	}
	m := res.Models[0]
	if !(m.TrainMSE > 0 && m.TrainMSE < m.TestMSE) || !math.IsNaN(m.TrainAccuracy) {
		t.Errorf("target: train MSE %v, test MSE %v, accuracy %v; want an overfitted regressor without accuracy", m.TrainMSE, m.TestMSE, m.TrainAccuracy)
	}
	if len(res.Attacks) != 4 {
		t.Fatalf("%d attacks, want the 4 regression defaults", len(res.Attacks))
	}
	for _, a := range res.Attacks {
		if auc := a.Targets[0].AUC; !(auc > 0.55 && auc <= 1) {
			t.Errorf("%s: AUC %v on an overfitted regressor", a.Label, auc)
		}
	}
	// The attacks' input: residuals of the pool's standardised targets.
	d, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	if d.Pool.Classes != 1 || d.Pool.Values == nil || math.Abs(meanOfValues(d.Pool.Values)) > 1e-9 {
		t.Errorf("pool: %d classes, targets standardised: mean %v", d.Pool.Classes, meanOfValues(d.Pool.Values))
	}
	if res.ReferenceFit == nil || res.ReferenceFit.Signal != string(signal.Residual) {
		t.Fatalf("reference fit signal: %+v", res.ReferenceFit)
	}
	// MAE and R² beside the MSE: R² = 1 − MSE/variance over the same records, which is about 1 for the
	// standardised target; the report shows them instead of the (undefined) accuracies.
	if !(m.TrainMAE > 0 && m.TrainMAE < m.TestMAE && m.TrainR2 > m.TestR2 && m.TrainR2 < 1) || math.Abs(m.TestR2-(1-m.TestMSE)) > 0.25 {
		t.Errorf("target: MAE %v, %v; R² %v, %v (test MSE %v)", m.TrainMAE, m.TestMAE, m.TrainR2, m.TestR2, m.TestMSE)
	}
	if r := res.ReferenceFit.Models[0]; r.TrainMSE == nil || *r.TrainMSE != m.TrainMSE || r.TrainAccuracy != nil {
		t.Errorf("reference fit of the target: MSE %v, accuracy %v", r.TrainMSE, r.TrainAccuracy)
	}
	b, err := os.ReadFile(filepath.Join(c.Run.LogDir, "report", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Records struct {
			Classes int `json:"classes"`
		} `json:"records"`
		TargetModel struct {
			Regression *struct {
				MSE *float64 `json:"test_mse"`
				R2  *float64 `json:"test_r2"`
			} `json:"regression"`
		} `json:"target_model"`
	}
	if err := json.Unmarshal(b, &sum); err != nil || sum.TargetModel.Regression == nil || sum.TargetModel.Regression.MSE == nil ||
		*sum.TargetModel.Regression.MSE != m.TestMSE || sum.TargetModel.Regression.R2 == nil {
		t.Errorf("summary.json target_model.regression: %+v (%v)", sum.TargetModel.Regression, err)
	}
	if sum.Records.Classes != 0 {
		t.Errorf("summary.json records.classes = %d for a regression target, want 0 (it has no classes)", sum.Records.Classes)
	}
	page, _ := os.ReadFile(filepath.Join(c.Run.LogDir, "report", "index.html"))
	for _, want := range []string{"Train / test MSE", "Train / test R²", "<th class=\"num\">Train MSE</th>"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if strings.Contains(string(page), "<dt>Classes</dt>") || strings.Contains(string(page), `href="#classes"`) {
		t.Errorf("the report of a regression target lists classes")
	}
	// The comparison with references as printed for an imported target: MSE and the residual, not
	// accuracy and the rescaled logit.
	f := *res.ReferenceFit
	f.External = true
	var out strings.Builder
	writeFit(&out, &f)
	if s := out.String(); !strings.Contains(s, "mean squared residual") || !strings.Contains(s, "train MSE") || strings.Contains(s, "rescaled logit") || strings.Contains(s, "NaN") {
		t.Errorf("fit text for a regression target:\n%s", s)
	}
}

func meanOfValues(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func TestResidualData(t *testing.T) {
	pool := &dataset.Dataset{X: make([]float32, 2), Y: []int{0, 0}, Shape: []int{1}, Classes: 1, Values: []float64{1, 2}}
	pop := &dataset.Dataset{X: make([]float32, 1), Y: []int{0}, Shape: []int{1}, Classes: 1, Values: []float64{-1}}
	ms := dataset.NewMemberships(2, 2)
	ms.Members[0], ms.Members[3] = true, true
	p := &Plan{Audit: []int{1, 0}, PopulationIdx: []int{0}, Models: 2, Memberships: ms}
	outs := []*modelOutputs{{Audit: []float32{2.5, 0.5}, Pop: []float32{0}}, {Audit: []float32{1, 1.25}, Pop: []float32{-2}}}
	ad, err := residualData(&Data{Pool: pool, Population: pop}, p, outs)
	if err != nil {
		t.Fatal(err)
	}
	// Record 0 is pool record 1 (y = 2), record 1 pool record 0 (y = 1); rows are records × models.
	if want := []float64{-0.5, 1, 0.5, -0.25}; !slices.Equal(ad.Signals, want) {
		t.Errorf("residuals %v, want %v", ad.Signals, want)
	}
	if want := []float64{-1, 1}; !slices.Equal(ad.Population, want) {
		t.Errorf("population residuals %v, want %v", ad.Population, want)
	}
	if want := []bool{false, true, true, false}; !slices.Equal(ad.Members, want) {
		t.Errorf("memberships %v, want %v", ad.Members, want)
	}
}
