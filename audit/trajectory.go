package audit

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/nn"
	"github.com/pmeter/pmeter/npy"
)

// Loss trajectories (train.checkpoints): every model pmeter trains saves its weights after each listed
// epoch (models/<key>-epoch<E>.safetensors, with the sidecar and SHA-256 of its final weights) and is
// evaluated there and after its last epoch; its cross-entropy loss on every audited and population
// record is saved beside its signals (rows × T checkpoints, with their SHA-256) for the trajectory
// attacks (attack.LossTrajectory, attack.LossTrajectoryLiRA). Both happen while the model trains (leaving
// its training bit for bit as it was). A run directory whose signals lack the losses recomputes them
// from the saved checkpoints, and retrains a model whose checkpoints are missing or damaged; the
// checkpoints are part of the models' keys.

// validateCheckpoints checks train.checkpoints, and that the trajectory attacks have them.
func (c *Config) validateCheckpoints() error {
	needs := ""
	for _, a := range c.attackList() {
		if s, err := attack.Lookup(a.Name); err == nil && s.Trajectory {
			needs = a.Name
		}
	}
	cp := c.Train.Checkpoints
	if len(cp) == 0 {
		if needs != "" {
			return c.fieldError("audit", "attacks", "attack %s reads loss trajectories, which need train.checkpoints (the epochs after which every model's losses are recorded)", needs)
		}
		return nil
	}
	for k, e := range cp {
		switch {
		case e < 1 || e > c.Train.Epochs:
			return c.fieldError("train", "checkpoints", "entry %d is epoch %d; checkpoints are epochs in [1, %d] (train.epochs)", k+1, e, c.Train.Epochs)
		case k > 0 && e <= cp[k-1]:
			return c.fieldError("train", "checkpoints", "must increase, but entry %d (%d) follows %d", k+1, e, cp[k-1])
		}
	}
	switch {
	case c.regression():
		return c.fieldError("train", "checkpoints", "loss trajectories are recorded for classifiers (cross-entropy), not with data.task: regression")
	case c.Target.Model != "":
		return c.fieldError("train", "checkpoints", "an imported target (target.model) has no training checkpoints")
	}
	return nil
}

// trajectoryEpochs returns the epochs of the trajectory: train.checkpoints and the last epoch; nil
// without checkpoints.
func (c *Config) trajectoryEpochs() []int {
	if len(c.Train.Checkpoints) == 0 {
		return nil
	}
	e := slices.Clone(c.Train.Checkpoints)
	if e[len(e)-1] != c.Train.Epochs {
		e = append(e, c.Train.Epochs)
	}
	return e
}

// trajectory collects one model's losses at its checkpoints while it trains.
type trajectory struct {
	epochs     []int
	audit, pop []float32 // rows × T, filled column by column
	done       int       // checkpoints recorded
}

// newTrajectory returns an empty trajectory of the run's epochs.
func (x *extractor) newTrajectory() *trajectory {
	t := len(x.traj)
	return &trajectory{epochs: x.traj, audit: make([]float32, x.auditX.Rows()*t), pop: make([]float32, x.popX.Rows()*t)}
}

// record evaluates model m's losses on the audited and population records as checkpoint k.
func (x *extractor) record(ctx context.Context, tr *trajectory, k int, m *nn.Sequential) error {
	t := len(tr.epochs)
	eval := nn.EvalConfig{BatchSize: x.c.Audit.BatchSize}
	for _, s := range []struct {
		d   nn.Data
		dst []float32
	}{{nn.Data{X: x.auditX, Labels: x.auditY}, tr.audit}, {nn.Data{X: x.popX, Labels: x.popY}, tr.pop}} {
		r, err := nn.Evaluate(ctx, m, s.d, eval)
		if err != nil {
			return fmt.Errorf("losses at epoch %d: %w", tr.epochs[k], err)
		}
		for i, l := range r.Loss {
			s.dst[i*t+k] = float32(l)
		}
	}
	tr.done++
	return nil
}

// finish hands a complete trajectory of model j to the extractor.
func (x *extractor) finish(j Job, tr *trajectory) {
	x.trajMu.Lock()
	x.trajs[j.Model] = tr
	x.trajMu.Unlock()
}

// checkpointPath is where model j's weights after epoch are saved.
func checkpointPath(dir string, j Job, epoch int) string {
	return filepath.Join(dir, "models", fmt.Sprintf("%s-epoch%d.safetensors", j.ModelKey, epoch))
}

// checkpoint returns nn.TrainConfig.Checkpoint for model j: after each of the trajectory's epochs it
// saves the weights (but after the last, which the run saves as the model) and evaluates the model's
// losses, and it hands the full trajectory to the extractor.
func (x *extractor) checkpoint(ctx context.Context, d *Data, j Job) func(epoch int, m *nn.Sequential) error {
	tr := x.newTrajectory()
	last := x.traj[len(x.traj)-1]
	return func(epoch int, m *nn.Sequential) error {
		k := slices.Index(tr.epochs, epoch)
		if k < 0 {
			return nil
		}
		if epoch != last {
			if err := x.saveAt(checkpointPath(x.dir, j, epoch), m, d, j, ModelInfo{}); err != nil {
				return err
			}
		}
		if err := x.record(ctx, tr, k, m); err != nil {
			return err
		}
		if tr.done == len(tr.epochs) {
			x.finish(j, tr)
		}
		return nil
	}
}

// trajectoryFromCheckpoints recomputes model j's trajectory from its saved checkpoints and final
// weights (a run directory whose signals lack the losses, or that audits other records).
func (x *extractor) trajectoryFromCheckpoints(ctx context.Context, d *Data, j Job, opt Options) error {
	tr := x.newTrajectory()
	want := nn.Expect{IndicesHash: nn.HashIndices(j.Train), InputShape: d.Pool.Shape, Layers: x.p.Specs}
	for k, e := range tr.epochs {
		path := checkpointPath(x.dir, j, e)
		if k == len(tr.epochs)-1 && e == x.c.Train.Epochs {
			path = weightsPath(x.dir, j)
		}
		m, _, err := loadCached(path, want, opt)
		if err != nil {
			return fmt.Errorf("checkpoint after epoch %d: %w", e, err)
		}
		if err := x.record(ctx, tr, k, m); err != nil {
			return err
		}
	}
	x.finish(j, tr)
	return nil
}

func trajPaths(metaPath string) (audit, pop string) {
	s := strings.TrimSuffix(metaPath, ".json")
	return s + "-traj-audit.npy", s + "-traj-population.npy"
}

// saveTrajectory stores model j's recorded trajectory in o and in files recorded by sc.
func (x *extractor) saveTrajectory(metaPath string, j Job, o *modelOutputs, sc *signalSidecar) error {
	x.trajMu.Lock()
	tr := x.trajs[j.Model]
	delete(x.trajs, j.Model)
	x.trajMu.Unlock()
	if tr == nil {
		return fmt.Errorf("model %d: no loss trajectory was recorded (it is recorded while the model trains)", j.Model)
	}
	t := len(tr.epochs)
	ap, pp := trajPaths(metaPath)
	a, err := writeSignalFile(ap, npy.NewFloat32(tr.audit, o.AuditRows, t))
	if err != nil {
		return err
	}
	p, err := writeSignalFile(pp, npy.NewFloat32(tr.pop, o.PopRows, t))
	if err != nil {
		return err
	}
	sc.TrajAudit, sc.TrajPop, sc.TrajEpochs = &a, &p, tr.epochs
	o.TrajAudit, o.TrajPop, o.TrajEpochs = tr.audit, tr.pop, tr.epochs
	return nil
}

// loadTrajectory reads the saved trajectory of o's model, verified against its sidecar and the run's
// epochs.
func (x *extractor) loadTrajectory(metaPath string, o *modelOutputs) error {
	sc, err := readSignalSidecar(metaPath)
	if err != nil {
		return err
	}
	if sc.TrajAudit == nil || sc.TrajPop == nil || !slices.Equal(sc.TrajEpochs, x.traj) {
		return fmt.Errorf("%s: no loss trajectory at epochs %v saved", filepath.Base(metaPath), x.traj)
	}
	ap, pp := trajPaths(metaPath)
	a, err := readSignalFile(ap, *sc.TrajAudit)
	if err != nil {
		return err
	}
	p, err := readSignalFile(pp, *sc.TrajPop)
	if err != nil {
		return err
	}
	if a.Shape[0] != o.AuditRows || p.Shape[0] != o.PopRows || a.Shape[1] != len(x.traj) || p.Shape[1] != len(x.traj) {
		return fmt.Errorf("%s: stale loss trajectory (shapes %v and %v)", metaPath, a.Shape, p.Shape)
	}
	o.TrajAudit, o.TrajPop, o.TrajEpochs = a.F32, p.F32, sc.TrajEpochs
	return nil
}

// addTrajectory gives d the models' loss trajectories of each record's first query.
func addTrajectory(d *attack.Data, outs []*modelOutputs, q int) error {
	if len(outs) == 0 || outs[0].TrajAudit == nil {
		return nil
	}
	t := len(outs[0].TrajEpochs)
	d.T, d.TrajEpochs = t, outs[0].TrajEpochs
	d.Traj, d.PopTraj = make([]float64, d.N*d.M*t), make([]float64, d.Z*d.M*t)
	fill := func(dst []float64, src []float32, rows, m int) {
		for i := 0; i < rows; i++ {
			for k := 0; k < t; k++ {
				dst[(i*d.M+m)*t+k] = float64(src[i*q*t+k])
			}
		}
	}
	for m, o := range outs {
		if len(o.TrajAudit) != d.N*q*t || len(o.TrajPop) != d.Z*q*t {
			return fmt.Errorf("model %d: loss trajectory of %d values, want %d records × %d checkpoints", m, len(o.TrajAudit), d.N*q, t)
		}
		fill(d.Traj, o.TrajAudit, d.N, m)
		fill(d.PopTraj, o.TrajPop, d.Z, m)
	}
	return d.Validate()
}
