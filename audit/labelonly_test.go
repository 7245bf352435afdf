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

// TestAugmentationsConfig: audit.augmentations sets the augmentations (here two-pixel shifts without
// flips: 25 per image), is checked where the config is parsed, and a run directory whose correctness
// was queried under other augmentations recomputes it.
func TestAugmentationsConfig(t *testing.T) {
	text := `
run: {random_seed: 6}
audit:
  num_ref_models: 1
  population_size: 50
  attacks: [{name: augmentation}]
train: {model_name: mlp, optimizer: Adam, learning_rate: 0.003, epochs: 2, batch_size: 32, schedule: constant}
data: {dataset: fashion-mnist, train_size: 60}
`
	c, err := ParseConfig([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	c.Run.LogDir = t.TempDir()
	if _, err := Run(context.Background(), c, Options{}); err != nil {
		t.Fatal(err)
	}
	c2, err := ParseConfig([]byte(strings.Replace(text, "attacks: [{name: augmentation}]", "attacks: [{name: augmentation}]\n  augmentations: {shift: 2, flips: false}", 1)))
	if err != nil {
		t.Fatal(err)
	}
	c2.Run.LogDir = c.Run.LogDir
	var log strings.Builder
	if _, err := Run(context.Background(), c2, Options{Log: &log}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "saved for other augmentations") {
		t.Errorf("changed augmentations were not recomputed; log:\n%s", log.String())
	}
	d, _ := LoadData(c2)
	p, _ := MakePlan(c2, d)
	meta, _, _ := signalPaths(c2.Run.LogDir, p.Jobs[0])
	x := &extractor{c: c2, p: p, aug: true}
	o := &modelOutputs{AuditRows: len(p.Audit)}
	if err := x.loadLabelOnly(meta, p.Jobs[0], o); err != nil || o.A != 25 {
		t.Errorf("saved augmentations: %d (%v), want 25", o.A, err)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"augmentations: {shift: 9}", "audit.augmentations: shift must lie in [1, 8]"},
		{"augmentations: {noise: 0}", "audit.augmentations: noise must be a σ in (0, 10]"},
		{"augmentations: {noise_draws: 0}", "audit.augmentations: noise_draws must lie in [1, 1024]"},
		{"augmentations: {shfit: 2}", "is not a known field of section audit.augmentations"},
	} {
		_, err := ParseConfig([]byte(strings.Replace(text, "population_size: 50", "population_size: 50\n  "+tc.yaml, 1)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.yaml, err, tc.want)
		}
	}
	_, err = ParseConfig([]byte(strings.Replace(text, "attacks: [{name: augmentation}]", "attacks: [{name: loss}]\n  augmentations: {shift: 2}", 1)))
	if err == nil || !strings.Contains(err.Error(), "neither is listed") {
		t.Errorf("augmentations without an augmentation attack: %v", err)
	}
}
