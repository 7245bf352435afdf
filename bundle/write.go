package bundle

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/npy"
)

// Write saves d in the Privacy Meter layout into dir, creating it if needed: signals.npy (N × M, or
// N × M × Q when Q > 1), memberships.npy, and population.npy, labels.npy, probs.npy,
// population_labels.npy, population_probs.npy, grad_norms.npy, population_grad_norms.npy, loss_trajectory.npy and population_loss_trajectory.npy when d has them, plus bundle.json naming the signal
// kind (and the membership design, when d declares one). Each file is written atomically. d must be valid (attack.Data.Validate).
func Write(dir string, d *attack.Data) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("bundle %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	shape := func(rows int, q int) []int {
		if q > 1 {
			return []int{rows, d.M, q}
		}
		return []int{rows, d.M}
	}
	type named struct {
		name string
		a    *npy.Array
	}
	arrays := []named{
		{"signals", npy.NewFloat64(d.Signals, shape(d.N, d.Q)...)},
		{"memberships", npy.NewBool(d.Members, d.N, d.M)},
	}
	add := func(name string, a *npy.Array) { arrays = append(arrays, named{name, a}) }
	if d.Population != nil {
		add("population", npy.NewFloat64(d.Population, shape(d.Z, d.Q)...))
	}
	if d.Labels != nil {
		add("labels", npy.NewInt64(toInt64(d.Labels), d.N))
	}
	if d.Probs != nil {
		add("probs", npy.NewFloat64(d.Probs, d.N, d.M, d.C))
	}
	if d.Population != nil && d.PopLabels != nil {
		add("population_labels", npy.NewInt64(toInt64(d.PopLabels), d.Z))
	}
	if d.Population != nil && d.PopProbs != nil {
		add("population_probs", npy.NewFloat64(d.PopProbs, d.Z, d.M, d.C))
	}
	if d.Grad != nil {
		add("grad_norms", npy.NewFloat64(d.Grad, d.N, d.M, d.G))
		if d.PopGrad != nil {
			add("population_grad_norms", npy.NewFloat64(d.PopGrad, d.Z, d.M, d.G))
		}
	}
	if d.Traj != nil {
		add("loss_trajectory", npy.NewFloat64(d.Traj, d.N, d.M, d.T))
		if d.PopTraj != nil {
			add("population_loss_trajectory", npy.NewFloat64(d.PopTraj, d.Z, d.M, d.T))
		}
	}
	for _, f := range arrays {
		if err := npy.WriteFile(filepath.Join(dir, f.name+".npy"), f.a); err != nil {
			return err
		}
	}
	m := Manifest{Signal: string(d.Kind), Layout: LayoutPrivacyMeter, TrajectoryEpochs: d.TrajEpochs}
	if d.Design != attack.DesignAuto {
		m.Design = d.Design.String()
	}
	return npy.WriteAtomic(filepath.Join(dir, ManifestFile), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	})
}

func toInt64(v []int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}
