package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/pmeter/pmeter/dataset"
	"github.com/pmeter/pmeter/nn"
	"github.com/pmeter/pmeter/nn/onnx"
	"github.com/pmeter/pmeter/npy"
)

// TargetConfig (pmeter) audits a model trained elsewhere: the target is read from a file instead of
// being trained, and reference models are either trained here from the target's architecture with the
// train section's recipe, or read from files too.
type TargetConfig struct {
	// Model is an ONNX file (.onnx) or a model saved by pmeter (.safetensors with its .json sidecar).
	Model string `yaml:"model"`
	// TrainIndices is a .npy file naming the records of the training pool the target trained on: a 1-D
	// integer array of indices, or a 1-D bool array with one entry per pool record.
	TrainIndices string `yaml:"train_indices"`
	// References are reference models trained elsewhere, each with its training records. When empty,
	// 2·num_ref_models reference models are trained here, each on a random half of the pool (every record
	// IN for exactly half of them, as in LiRA), from the target's architecture.
	References []ReferenceModel `yaml:"references"`
}

// ReferenceModel is a reference model read from a file.
type ReferenceModel struct {
	Model        string `yaml:"model"`
	TrainIndices string `yaml:"train_indices"`
}

// externalModel is a model read from a file, with a function that builds fresh, untrained copies of its
// architecture.
type externalModel struct {
	net   *nn.Sequential
	fresh func(name string, seed uint64) (*nn.Sequential, error)
	hash  string
}

// loadModelFile reads an ONNX file or a model saved by pmeter and checks that it takes records of shape
// in and outputs one score per class.
func loadModelFile(path string, in []int, classes int) (*externalModel, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	em := &externalModel{hash: hex.EncodeToString(sum[:])}
	if strings.HasSuffix(strings.ToLower(path), ".onnx") {
		m, err := onnx.DecodeWith(b, onnx.Options{Name: path})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		em.net, em.fresh = m.Net, m.Fresh
	} else {
		m, _, err := nn.Load(path, nn.Expect{})
		if err != nil {
			return nil, err
		}
		specs := m.Specs()
		em.net = m
		em.fresh = func(name string, seed uint64) (*nn.Sequential, error) {
			f, err := nn.FromSpecs(name, specs)
			if err == nil {
				f.Init(seed)
			}
			return f, err
		}
	}
	out, err := em.net.OutShape(in)
	if err != nil {
		return nil, fmt.Errorf("%s: the model does not take the dataset's records of shape %v: %w", path, in, err)
	}
	if len(out) != 1 || out[0] != classes {
		return nil, fmt.Errorf("%s: the model outputs shape %v per record, want [%d] (one logit per class of the dataset)", path, out, classes)
	}
	return em, nil
}

// readIndices reads a training-record file: integer indices into a pool of n records, or a bool mask of
// length n. The result is sorted and free of duplicates.
func readIndices(path string, n int) ([]int, error) {
	a, err := npy.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(a.Shape) != 1 {
		return nil, fmt.Errorf("%s: shape %s, want a 1-D array of record indices or a bool mask", path, npy.ShapeString(a.Shape))
	}
	var idx []int
	if a.Kind == npy.Bool {
		if len(a.B) != n {
			return nil, fmt.Errorf("%s: a bool mask of %d records, but the training pool has %d", path, len(a.B), n)
		}
		for i, in := range a.B {
			if in {
				idx = append(idx, i)
			}
		}
	} else {
		v, err := a.Int64s()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		seen := make([]bool, n)
		for i, x := range v {
			if x < 0 || x >= int64(n) {
				return nil, fmt.Errorf("%s: element %d is %d, outside the training pool 0..%d", path, i, x, n-1)
			}
			if seen[x] {
				return nil, fmt.Errorf("%s: element %d repeats record %d", path, i, x)
			}
			seen[x] = true
			idx = append(idx, int(x))
		}
		slices.Sort(idx)
	}
	if len(idx) == 0 || len(idx) == n {
		return nil, fmt.Errorf("%s: names %d of %d pool records; an audit needs members and non-members", path, len(idx), n)
	}
	return idx, nil
}

// externalPlan sets up the models of an audit of an external target: model 0 is the target, read from
// c.Target.Model; the others are references, read from files or trained here.
func externalPlan(c *Config, d *Data, p *Plan) error {
	if c.Run.NumExperiments != 1 {
		return c.fieldError("run", "num_experiments", "must be 1 when target.model names an external target")
	}
	n := d.Pool.Len()
	tm, err := loadModelFile(c.Target.Model, d.Pool.Shape, d.Pool.Classes)
	if err != nil {
		return c.fieldError("target", "model", "%v", err)
	}
	if c.Target.TrainIndices == "" {
		return c.fieldError("target", "train_indices", "is required with target.model: the target's training records")
	}
	tidx, err := readIndices(c.Target.TrainIndices, n)
	if err != nil {
		return c.fieldError("target", "train_indices", "%v", err)
	}
	p.Targets = 1
	p.build = tm.fresh
	p.Specs = tm.net.Specs()
	var refIdx [][]int
	var refFiles []*externalModel
	if len(c.Target.References) > 0 {
		for i, r := range c.Target.References {
			em, err := loadModelFile(r.Model, d.Pool.Shape, d.Pool.Classes)
			if err != nil {
				return c.fieldError("target", "references", "[%d]: %v", i, err)
			}
			idx, err := readIndices(r.TrainIndices, n)
			if err != nil {
				return c.fieldError("target", "references", "[%d]: %v", i, err)
			}
			refFiles, refIdx = append(refFiles, em), append(refIdx, idx)
		}
	} else {
		k := 2 * max(c.NumRefModels(), 1)
		ms, err := dataset.LiRAMemberships(n, k, 0.5, derive(uint64(c.Run.RandomSeed), "references"))
		if err != nil {
			return err
		}
		for m := 0; m < k; m++ {
			refIdx = append(refIdx, ms.Train(m))
		}
	}
	p.Models = 1 + len(refIdx)
	p.Memberships = dataset.NewMemberships(n, p.Models)
	for m, idx := range append([][]int{tidx}, refIdx...) {
		for _, r := range idx {
			p.Memberships.Members[r*p.Models+m] = true
		}
	}
	p.external = map[int]*externalModel{0: tm}
	for i, em := range refFiles {
		p.external[1+i] = em
	}
	return nil
}
