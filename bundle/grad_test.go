package bundle

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/npy"
	"github.com/pmeter/pmeter/signal"
)

// TestGradNorms round-trips white-box gradient norms through Write and Load, reads a 2-D grad_norms
// (G = 1), runs the gradnorm attack on a loaded bundle and rejects bad norms by file and position.
func TestGradNorms(t *testing.T) {
	d := &attack.Data{N: 2, M: 2, Q: 1, Kind: signal.ProbTrue, Signals: []float64{0.9, 0.4, 0.3, 0.8},
		Members: []bool{true, false, false, true}, Z: 1, Population: []float64{0.5, 0.5},
		G: 2, Grad: []float64{0.1, 0.05, 2, 1, 3, 2, 0.2, 0.1}, PopGrad: []float64{1, 0.5, 1, 0.5}}
	dir := t.TempDir()
	if err := Write(dir, d); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.G != 2 || !slices.Equal(got.Grad, d.Grad) || !slices.Equal(got.PopGrad, d.PopGrad) {
		t.Errorf("loaded G %d, grad %v, population %v", got.G, got.Grad, got.PopGrad)
	}
	scores, err := attack.GradNorm(got, 0, attack.GradNormConfig{Layer: 1})
	if err != nil || !slices.Equal(scores, []float64{-0.05, -2}) {
		t.Errorf("gradnorm on the bundle: %v, %v", scores, err)
	}
	// A 2-D grad_norms file is the whole model's norm.
	if err := npy.WriteFile(filepath.Join(dir, "grad_norms.npy"), npy.NewFloat64([]float64{1, 2, 3, 4}, 2, 2)); err != nil {
		t.Fatal(err)
	}
	if err := npy.WriteFile(filepath.Join(dir, "population_grad_norms.npy"), npy.NewFloat64([]float64{1, 2}, 1, 2)); err != nil {
		t.Fatal(err)
	}
	if got, err = Load(dir); err != nil || got.G != 1 || !slices.Equal(got.Grad, []float64{1, 2, 3, 4}) {
		t.Errorf("2-D grad_norms: G %d, %v, %v", got.G, got.Grad, err)
	}
	for _, bad := range []struct {
		a    *npy.Array
		want string
	}{
		{npy.NewFloat64([]float64{1, -2, 3, 4}, 2, 2), "grad_norms.npy: record 0, model 1: gradient norm -2"},
		{npy.NewFloat64([]float64{1, 2, 3}, 3, 1), "grad_norms.npy: shape (3, 1); want 2 records × 2 models"},
	} {
		if err := npy.WriteFile(filepath.Join(dir, "grad_norms.npy"), bad.a); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("error %v, want one containing %q", err, bad.want)
		}
	}
}

// TestTrajectories round-trips loss trajectories and their epochs through Write and Load, runs the
// trajectory attack on the loaded bundle and rejects a mismatched epoch list and bad losses.
func TestTrajectories(t *testing.T) {
	d := &attack.Data{N: 2, M: 2, Q: 1, Kind: signal.ProbTrue, Signals: []float64{0.9, 0.4, 0.3, 0.8},
		Members: []bool{true, false, false, true}, Z: 1, Population: []float64{0.5, 0.5},
		T: 3, TrajEpochs: []int{2, 4, 6}, Traj: []float64{2, 1, 0.5, 2, 1.8, 1.7, 2, 1.9, 1.8, 2, 1, 0.2}, PopTraj: []float64{2, 1.9, 1.9, 2, 1.8, 1.8}}
	dir := t.TempDir()
	if err := Write(dir, d); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.T != 3 || !slices.Equal(got.Traj, d.Traj) || !slices.Equal(got.PopTraj, d.PopTraj) || !slices.Equal(got.TrajEpochs, d.TrajEpochs) {
		t.Fatalf("loaded T %d, epochs %v, %v, %v", got.T, got.TrajEpochs, got.Traj, got.PopTraj)
	}
	scores, err := attack.LossTrajectory(got, 0, attack.TrajectoryMean)
	if err != nil || !(scores[0] > scores[1]) {
		t.Errorf("loss-trajectory on the bundle: %v, %v", scores, err)
	}
	if err := npy.WriteFile(filepath.Join(dir, "loss_trajectory.npy"), npy.NewFloat64([]float64{1, 2, 3, 4}, 2, 2)); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), `"trajectory_epochs" names 3 epochs, but loss_trajectory.npy has 1 checkpoints`) {
		t.Errorf("mismatched epochs: %v", err)
	}
	if err := npy.WriteFile(filepath.Join(dir, "loss_trajectory.npy"), npy.NewFloat64([]float64{1, 2, -3, 4, 1, 1, 1, 1, 1, 1, 1, 1}, 2, 2, 3)); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "record 0, model 0, checkpoint 2: loss -3") {
		t.Errorf("negative loss: %v", err)
	}
}
