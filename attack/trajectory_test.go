package attack

import (
	"math"
	"strings"
	"testing"
)

// trajData is regressionData with loss trajectories at epochs 1, 2, 4 (T = 3): record 0 (a member of
// model 0) falls from 2 to 0.5, record 1 (a non-member) from 2 to 1.7.
func trajData() *Data {
	d := regressionData()
	d.T, d.TrajEpochs = 3, []int{1, 2, 4}
	d.Traj = make([]float64, d.N*d.M*d.T)
	for m := 0; m < d.M; m++ {
		copy(d.Traj[(0*d.M+m)*3:], []float64{2, 1, 0.5 + 0.1*float64(m)})
		copy(d.Traj[(1*d.M+m)*3:], []float64{2, 1.8, 1.7 - 0.05*float64(m)})
	}
	return d
}

// TestLossTrajectory checks both statistics against the hand-worked values: mean −3.5/3 and −5.5/3;
// slope of (2, 1, 0.5) at epochs (1, 2, 4): ē = 7/3, Σ(e − ē)² = 42/9, Σ(e − ē)(ℓ − ℓ̄) = −13/6, so
// score 13/6 · 9/42 = 0.4642857…; of (2, 1.8, 1.7): −(−0.5)·9/42 … computed the same way.
func TestLossTrajectory(t *testing.T) {
	d := trajData()
	got, err := LossTrajectory(d, 0, TrajectoryMean)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got[0]+3.5/3) > 1e-12 || math.Abs(got[1]+5.5/3) > 1e-12 {
		t.Errorf("mean: %v", got)
	}
	got, err = LossTrajectory(d, 0, TrajectorySlope)
	if err != nil {
		t.Fatal(err)
	}
	slope := func(l [3]float64) float64 {
		e := [3]float64{1, 2, 4}
		em, lm := 7.0/3, (l[0]+l[1]+l[2])/3
		num, den := 0.0, 0.0
		for k := range 3 {
			num += (e[k] - em) * (l[k] - lm)
			den += (e[k] - em) * (e[k] - em)
		}
		return num / den
	}
	if math.Abs(got[0]-13.0/6*9/42) > 1e-12 || math.Abs(got[1]+slope([3]float64{2, 1.8, 1.7})) > 1e-12 || !(got[0] > got[1]) {
		t.Errorf("slope: %v", got)
	}
	if _, err := LossTrajectory(d, 0, "median"); err == nil {
		t.Error("unknown statistic accepted")
	}
	d.TrajEpochs = []int{1, 4, 2}
	if _, err := LossTrajectory(d, 0, TrajectoryMean); err == nil || !strings.Contains(err.Error(), "do not increase") {
		t.Errorf("decreasing epochs: %v", err)
	}
	d.Traj = nil
	if _, err := LossTrajectory(d, 0, TrajectoryMean); err == nil || !strings.Contains(err.Error(), "no loss trajectories") {
		t.Errorf("no trajectories: %v", err)
	}
}

// TestLossTrajectoryLiRA: LiRA over the checkpoints is LiRA on the losses as T queries, and the member
// (record 0, whose loss falls lower) ranks first.
func TestLossTrajectoryLiRA(t *testing.T) {
	d := trajData()
	no := false
	cfg := LiRAConfig{Online: true, FixVariance: &no}
	got, err := LossTrajectoryLiRA(d, 0, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want, err := LiRA(&Data{N: 2, M: 5, Q: 3, Kind: "loss", Members: d.Members, Design: d.Design, Signals: d.Traj}, 0, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != want[0] || got[1] != want[1] {
		t.Errorf("%v, LiRA on the losses gives %v", got, want)
	}
}
