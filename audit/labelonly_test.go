package audit

import (
	"context"
	"strings"
	"testing"
)

// TestRunLabelOnly audits a small overfitted MLP with the label-only attacks at access level label:
// the augmentation and boundary signals are queried, saved and reused, and every label-only attack runs
// where the score-based ones are skipped. (Label-only signals are copied to every level: run.go.)
func TestRunLabelOnly(t *testing.T) {
	c, err := ParseConfig([]byte(`
run: {random_seed: 6}
audit:
  num_ref_models: 2
  population_size: 100
  access: label
  attacks: [{name: loss}, {name: augmentation}, {name: augmentation-lira}, {name: augmentation-lira, params: {online: "false"}}, {name: boundary, params: {queries: "60"}}]
train: {model_name: mlp, optimizer: Adam, learning_rate: 0.003, epochs: 10, batch_size: 32, schedule: constant}
data: {dataset: fashion-mnist, train_size: 200}
`))
	if err != nil {
		t.Fatal(err)
	}
	c.Run.LogDir = t.TempDir()
	res, err := Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Attacks) != 4 || len(res.Skipped) != 1 || !strings.HasPrefix(res.Skipped[0].Label, "loss") {
		t.Fatalf("%d results, skipped %+v; want the 4 label-only attacks, loss skipped", len(res.Attacks), res.Skipped)
	}
	auc := map[string]float64{}
	for _, a := range res.Attacks {
		auc[a.Label] = a.Targets[0].AUC
		t.Logf("%s: AUC %.4f", a.Label, a.Targets[0].AUC)
		if !(a.Targets[0].AUC > 0.5) {
			t.Errorf("%s: AUC %v on an overfitted MLP", a.Label, a.Targets[0].AUC)
		}
	}
	var log strings.Builder
	res2, err := Run(context.Background(), c, Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Trained != 0 || strings.Contains(log.String(), "recomputing") {
		t.Errorf("rerun: trained %d; log:\n%s", res2.Trained, log.String())
	}
	for k := range res.Attacks {
		if res2.Attacks[k].Targets[0].AUC != res.Attacks[k].Targets[0].AUC {
			t.Errorf("%s: AUC changed on reuse", res.Attacks[k].Label)
		}
	}
}
