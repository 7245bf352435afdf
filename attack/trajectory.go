package attack

import (
	"fmt"
	"math"

	"github.com/pmeter/pmeter/signal"
)

// Loss trajectories (white-box, training-time access): a model's cross-entropy loss on each record at
// checkpoints saved during training (Data.Traj, the last checkpoint the final model). A member's loss
// falls as the model fits it, and falls faster than a non-member's (Liu et al., "Membership Inference
// Attacks by Exploiting Loss Trajectory", CCS 2022, who distil the trajectory from the final model; here
// the checkpoints themselves are read).

// TrajectoryStatistic is how the threshold attack summarises a trajectory.
type TrajectoryStatistic string

// The statistics: the mean loss over the checkpoints, and the least-squares slope of the loss against
// the checkpoints' epochs.
const (
	TrajectoryMean  TrajectoryStatistic = "mean"
	TrajectorySlope TrajectoryStatistic = "slope"
)

func checkTraj(d *Data, target int, name string) error {
	if err := d.Validate(); err != nil {
		return err
	}
	if err := d.CheckTarget(target); err != nil {
		return err
	}
	if d.Traj == nil {
		return fmt.Errorf("%s: the data have no loss trajectories (a white-box signal: the audit records them when train.checkpoints is set)", name)
	}
	return nil
}

// LossTrajectory is the threshold attack on the target's loss trajectory ℓ_1, …, ℓ_T at epochs e_1 < … <
// e_T: score = −mean_k ℓ_k (TrajectoryMean: LOSS averaged over training, Yeom et al. 2018 at every
// checkpoint), or −slope, slope = Σ_k (e_k − ē)(ℓ_k − ℓ̄) / Σ_k (e_k − ē)² (TrajectorySlope: the faster the
// loss falls, the more likely a member; 0 with one checkpoint). Higher = more likely a member. No
// reference models are used.
func LossTrajectory(d *Data, target int, stat TrajectoryStatistic) ([]float64, error) {
	if err := checkTraj(d, target, "loss-trajectory"); err != nil {
		return nil, err
	}
	t := d.T
	epochs := d.TrajEpochs
	if epochs == nil {
		epochs = make([]int, t)
		for k := range epochs {
			epochs[k] = k + 1
		}
	}
	eMean := 0.0
	for _, e := range epochs {
		eMean += float64(e)
	}
	eMean /= float64(t)
	den := 0.0
	for _, e := range epochs {
		den += (float64(e) - eMean) * (float64(e) - eMean)
	}
	out := make([]float64, d.N)
	for i := range out {
		l := d.Traj[(i*d.M+target)*t : (i*d.M+target+1)*t]
		mean := 0.0
		for _, v := range l {
			mean += v
		}
		mean /= float64(t)
		switch stat {
		case "", TrajectoryMean:
			out[i] = -mean
		case TrajectorySlope:
			num := 0.0
			for k, v := range l {
				num += (float64(epochs[k]) - eMean) * (v - mean)
			}
			if den > 0 {
				out[i] = -num / den
			}
		default:
			return nil, fmt.Errorf("loss-trajectory: statistic %q (want mean or slope)", stat)
		}
	}
	return out, nil
}

// LossTrajectoryLiRA is LiRA (Carlini et al. 2022, Algorithm 1) with the checkpoints as its queries: at
// each checkpoint k the loss becomes LiRA's rescaled logit φ_k = −log(e^{ℓ_k} − 1) (= log p_y/(1 − p_y)
// for a binary view of cross-entropy), Gaussians are fitted to φ_k over the record's IN and OUT reference
// models at the same checkpoint (SelectReferences), and the per-checkpoint scores are combined as LiRA
// combines queries. cfg is LiRA's configuration.
func LossTrajectoryLiRA(d *Data, target int, cfg LiRAConfig) ([]float64, error) {
	if err := checkTraj(d, target, "loss-trajectory-lira"); err != nil {
		return nil, err
	}
	if cfg.Compat.set() || cfg.PopulationOut {
		return nil, fmt.Errorf("loss-trajectory-lira: compat and population_out are for LiRA on logits")
	}
	v := &Data{N: d.N, M: d.M, Q: d.T, Kind: signal.Loss, Members: d.Members, Design: d.Design, Signals: d.Traj}
	return LiRA(v, target, cfg)
}

// validateTraj checks the shapes and values of the loss trajectories.
func (d *Data) validateTraj() error {
	if d.Traj == nil && d.PopTraj == nil {
		return nil
	}
	if d.T < 1 || len(d.Traj) != d.N*d.M*d.T || (d.PopTraj != nil && len(d.PopTraj) != d.Z*d.M*d.T) {
		return fmt.Errorf("loss trajectories: %d and %d values, want %d records and %d population records × %d models × %d checkpoints", len(d.Traj), len(d.PopTraj), d.N, d.Z, d.M, d.T)
	}
	if d.TrajEpochs != nil {
		if len(d.TrajEpochs) != d.T {
			return fmt.Errorf("loss trajectories: %d checkpoint epochs for %d checkpoints", len(d.TrajEpochs), d.T)
		}
		for k := 1; k < d.T; k++ {
			if d.TrajEpochs[k] <= d.TrajEpochs[k-1] {
				return fmt.Errorf("loss trajectories: checkpoint epochs %v do not increase", d.TrajEpochs)
			}
		}
	}
	for name, v := range map[string][]float64{"loss trajectories": d.Traj, "population loss trajectories": d.PopTraj} {
		for k, x := range v {
			if !(x >= 0) || math.IsInf(x, 0) {
				return fmt.Errorf("%s: record %d, model %d, checkpoint %d is %v; a loss is finite and ≥ 0", name, k/(d.M*d.T), k/d.T%d.M, k%d.T, x)
			}
		}
	}
	return nil
}
