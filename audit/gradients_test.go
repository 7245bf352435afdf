package audit

import (
	"context"
	"math"
	"strings"
	"testing"
)

// TestRunGradients audits a small MLP with the white-box attacks: a run directory without gradient norms
// recomputes them from its saved models, and a later run reuses them; the
// whole-model norm is the root of the layers' squared norms; at an access level other than logits the
// white-box attacks are skipped.
func TestRunGradients(t *testing.T) {
	cfgText := `
run: {random_seed: 4}
audit:
  num_ref_models: 2
  population_size: 100
  attacks: [{name: loss}, {name: gradnorm}, {name: gradnorm, params: {layer: "2"}}, {name: gradnorm-lira}, {name: gradnorm-rmia}]
train: {model_name: mlp, optimizer: Adam, learning_rate: 0.003, epochs: 6, batch_size: 32, schedule: constant}
data: {dataset: fashion-mnist, train_size: 200}
`
	dir := t.TempDir()
	// First a black-box run: its signals have no gradient norms.
	c0, err := ParseConfig([]byte(strings.Replace(cfgText, "attacks: [{name: loss}, {name: gradnorm}, {name: gradnorm, params: {layer: \"2\"}}, {name: gradnorm-lira}, {name: gradnorm-rmia}]", "attacks: [{name: loss}]", 1)))
	if err != nil {
		t.Fatal(err)
	}
	c0.Run.LogDir = dir
	if _, err := Run(context.Background(), c0, Options{}); err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig([]byte(cfgText))
	if err != nil {
		t.Fatal(err)
	}
	c.Run.LogDir = dir
	var log strings.Builder
	res, err := Run(context.Background(), c, Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if res.Trained != 0 || !strings.Contains(log.String(), "no gradient norms saved") {
		t.Errorf("trained %d models; log:\n%s\nwant the saved models reused and their gradient norms recomputed", res.Trained, log.String())
	}
	auc := map[string]float64{}
	for _, a := range res.Attacks {
		auc[a.Label] = a.Targets[0].AUC
	}
	for _, name := range []string{"gradnorm", "gradnorm (layer=2)", "gradnorm-lira", "gradnorm-rmia"} {
		if !(auc[name] > 0.55) {
			t.Errorf("%s: AUC %v on an overfitted MLP", name, auc[name])
		}
	}
	// The saved norms: whole model² = Σ layers².
	d, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	p, err := MakePlan(c, d)
	if err != nil {
		t.Fatal(err)
	}
	meta, _, _ := signalPaths(dir, p.Jobs[0])
	o := &modelOutputs{AuditRows: len(p.Audit), PopRows: len(p.PopulationIdx)}
	if err := loadGradients(meta, o); err != nil {
		t.Fatal(err)
	}
	if o.G != 3 {
		t.Fatalf("G = %d, want the whole model and the MLP's 2 dense layers", o.G)
	}
	for i := 0; i < o.AuditRows; i++ {
		r := o.GradAudit[i*3 : i*3+3]
		if s := math.Sqrt(float64(r[1])*float64(r[1]) + float64(r[2])*float64(r[2])); math.Abs(s-float64(r[0])) > 1e-5*s {
			t.Fatalf("record %d: norms %v do not combine", i, r)
		}
	}
	// White-box attacks need the model: skipped at any other access level.
	ca, err := ParseConfig([]byte(strings.Replace(cfgText, "population_size: 100", "population_size: 100\n  access: [logits, probabilities]", 1)))
	if err != nil {
		t.Fatal(err)
	}
	ca.Run.LogDir = dir
	resA, err := Run(context.Background(), ca, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(resA.Skipped) != 4 || !strings.Contains(resA.Skipped[0].Reason, "white-box") {
		t.Errorf("skipped %+v; want the 4 white-box attacks at probabilities", resA.Skipped)
	}
	// At logits, the gradient norms were reused from the run directory: the same results.
	for k := range res.Attacks {
		if got := resA.Attacks[k].Targets[0].AUC; got != res.Attacks[k].Targets[0].AUC {
			t.Errorf("%s: AUC %v on reuse, %v before", resA.Attacks[k].Label, got, res.Attacks[k].Targets[0].AUC)
		}
	}
}

// TestExternalGradients runs the white-box attacks on a model imported from ONNX (PyTorch-trained,
// overfitted on 300 records) with reference models trained here.
func TestExternalGradients(t *testing.T) {
	c := externalConfig(t, t.TempDir())
	c.Audit.Attacks = []AttackConfig{{Name: "gradnorm"}, {Name: "gradnorm-lira"}, {Name: "gradnorm-rmia"}}
	res, err := Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.External != 1 {
		t.Fatalf("%d external models", res.External)
	}
	for _, a := range res.Attacks {
		if auc := a.Targets[0].AUC; !(auc > 0.6) {
			t.Errorf("%s: AUC %v on the overfitted imported model", a.Label, auc)
		}
		t.Logf("%s: AUC %.4f", a.Label, a.Targets[0].AUC)
	}
}
