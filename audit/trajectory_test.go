package audit

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunTrajectory audits a small MLP with the loss-trajectory attacks: every model's losses are
// recorded after epochs 2 and 4 and the last (6), the last column is the final model's loss, the
// attacks find the members of an overfitted model, a second run reuses the saved trajectories, and the
// attacks are skipped at an access level without the model.
func TestRunTrajectory(t *testing.T) {
	cfgText := `
run: {random_seed: 4}
audit:
  num_ref_models: 2
  population_size: 100
  attacks: [{name: loss}, {name: loss-trajectory}, {name: loss-trajectory, params: {statistic: slope}}, {name: loss-trajectory-lira}]
train: {model_name: mlp, optimizer: Adam, learning_rate: 0.003, epochs: 6, batch_size: 32, schedule: constant, checkpoints: [2, 4]}
data: {dataset: fashion-mnist, train_size: 200}
`
	c, err := ParseConfig([]byte(cfgText))
	if err != nil {
		t.Fatal(err)
	}
	c.Run.LogDir = t.TempDir()
	res, err := Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	auc := map[string]float64{}
	for _, a := range res.Attacks {
		auc[a.Label] = a.Targets[0].AUC
		t.Logf("%s: AUC %.4f", a.Label, a.Targets[0].AUC)
	}
	for _, name := range []string{"loss-trajectory", "loss-trajectory (statistic=slope)", "loss-trajectory-lira"} {
		if !(auc[name] > 0.55) {
			t.Errorf("%s: AUC %v on an overfitted MLP", name, auc[name])
		}
	}
	// The last checkpoint is the final model: its losses are LOSS's scores (−loss, in float32).
	d, _ := LoadData(c)
	p, _ := MakePlan(c, d)
	x := &extractor{c: c, p: p, dir: c.Run.LogDir, traj: c.trajectoryEpochs()}
	meta, _, _ := signalPaths(c.Run.LogDir, p.Jobs[0])
	o := &modelOutputs{AuditRows: len(p.Audit), PopRows: len(p.PopulationIdx)}
	if err := x.loadTrajectory(meta, o); err != nil {
		t.Fatal(err)
	}
	if len(o.TrajEpochs) != 3 || o.TrajEpochs[2] != 6 {
		t.Fatalf("trajectory epochs %v, want [2 4 6]", o.TrajEpochs)
	}
	loss := res.Attacks[0].Scores[0]
	for i := range loss {
		if l := float64(o.TrajAudit[i*3+2]); math.Abs(l+loss[i]) > 1e-4*(1+l) {
			t.Fatalf("record %d: last checkpoint's loss %v, LOSS scores %v", i, l, loss[i])
		}
	}
	// A second run reuses everything; at probabilities the trajectory attacks are skipped.
	ca, err := ParseConfig([]byte(strings.Replace(cfgText, "population_size: 100", "population_size: 100\n  access: [logits, probabilities]", 1)))
	if err != nil {
		t.Fatal(err)
	}
	ca.Run.LogDir = c.Run.LogDir
	resA, err := Run(context.Background(), ca, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if resA.Trained != 0 || len(resA.Skipped) != 3 || !strings.Contains(resA.Skipped[0].Reason, "checkpoints") {
		t.Errorf("trained %d, skipped %+v", resA.Trained, resA.Skipped)
	}
	for k := range res.Attacks {
		if resA.Attacks[k].Targets[0].AUC != res.Attacks[k].Targets[0].AUC {
			t.Errorf("%s: AUC %v on reuse, %v before", res.Attacks[k].Label, resA.Attacks[k].Targets[0].AUC, res.Attacks[k].Targets[0].AUC)
		}
	}
	// The checkpoints are saved; without the signals the losses are recomputed from them, not retrained.
	for _, j := range p.Jobs {
		for _, e := range []int{2, 4} {
			if _, err := os.Stat(checkpointPath(c.Run.LogDir, j, e)); err != nil {
				t.Fatalf("model %d: %v", j.Model, err)
			}
		}
	}
	if err := os.RemoveAll(filepath.Join(c.Run.LogDir, "signals")); err != nil {
		t.Fatal(err)
	}
	resB, err := Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if resB.Trained != 0 {
		t.Errorf("trained %d models; want the trajectories recomputed from the checkpoints", resB.Trained)
	}
	for k := range res.Attacks {
		if resB.Attacks[k].Targets[0].AUC != res.Attacks[k].Targets[0].AUC {
			t.Errorf("%s: AUC %v from the checkpoints, %v while training", res.Attacks[k].Label, resB.Attacks[k].Targets[0].AUC, res.Attacks[k].Targets[0].AUC)
		}
	}
	// A damaged checkpoint retrains its model.
	if err := os.WriteFile(checkpointPath(c.Run.LogDir, p.Jobs[1], 2), []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(c.Run.LogDir, "signals")); err != nil {
		t.Fatal(err)
	}
	resC, err := Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if resC.Trained != 1 || resC.Attacks[3].Targets[0].AUC != res.Attacks[3].Targets[0].AUC {
		t.Errorf("trained %d models (want 1), AUC %v (want %v)", resC.Trained, resC.Attacks[3].Targets[0].AUC, res.Attacks[3].Targets[0].AUC)
	}
}

// TestCheckpointConfigErrors: train.checkpoints is checked where the config is parsed.
func TestCheckpointConfigErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"data: {dataset: adult}\ntrain: {epochs: 5, checkpoints: [2, 9]}\n", "train.checkpoints: entry 2 is epoch 9; checkpoints are epochs in [1, 5]"},
		{"data: {dataset: adult}\ntrain: {epochs: 5, checkpoints: [3, 2]}\n", "train.checkpoints: must increase"},
		{"data: {dataset: adult}\naudit: {attacks: [{name: loss-trajectory}]}\n", "audit.attacks: attack loss-trajectory reads loss trajectories, which need train.checkpoints"},
	} {
		_, err := ParseConfig([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
