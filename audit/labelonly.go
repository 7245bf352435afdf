package audit

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/labelonly"
	"github.com/pmeter/pmeter/nn"
	"github.com/pmeter/pmeter/npy"
)

// Label-only signals. When a label-only attack that queries the model is listed, each model is queried
// for labels only (package labelonly): augmentation and augmentation-lira read whether every model keeps
// each audited record's label under its augmentations (by default images: flips and shifts of one
// pixel, 18 in all; tabular data: 16 draws of Gaussian noise of σ = 0.5 on the standardised features,
// and the record itself; audit.augmentations sets them), and boundary reads each target model's distance from every audited record to its decision
// boundary, found by a HopSkipJump-style search within the attack's query budget, starting from the
// nearest population records of another predicted label. They are saved beside the signals with their
// SHA-256 and reused like them.

// AugmentationsConfig (audit.augmentations) sets the augmentations that augmentation and
// augmentation-lira query; an unset field keeps its default.
type AugmentationsConfig struct {
	// Shift is the largest translation of an image in pixels (default 1), Flips whether each shift is
	// also taken mirrored (default true): (2·shift+1)²·2 augmentations with flips.
	Shift *int  `yaml:"shift,omitempty"`
	Flips *bool `yaml:"flips,omitempty"`
	// Noise is the σ of the Gaussian noise on a tabular record's standardised features (default 0.5),
	// NoiseDraws the number of noisy copies (default 16).
	Noise      *float64 `yaml:"noise,omitempty"`
	NoiseDraws *int     `yaml:"noise_draws,omitempty"`
}

// Bounds of audit.augmentations.
const (
	maxAugShift      = 8
	maxAugNoise      = 10
	maxAugNoiseDraws = 1024
)

// validateAugmentations checks audit.augmentations: values in range, and an attack that reads them.
func (c *Config) validateAugmentations() error {
	a := c.Audit.Augmentations
	if a == nil {
		return nil
	}
	listed := false
	for _, at := range c.attackList() {
		listed = listed || at.Name == "augmentation" || at.Name == "augmentation-lira"
	}
	switch {
	case !listed:
		return c.fieldError("audit", "augmentations", "sets the augmentations of the attacks augmentation and augmentation-lira, and neither is listed")
	case a.Shift != nil && (*a.Shift < 1 || *a.Shift > maxAugShift):
		return c.fieldError("audit", "augmentations", "shift must lie in [1, %d] pixels, got %d", maxAugShift, *a.Shift)
	case a.Noise != nil && !(*a.Noise > 0 && *a.Noise <= maxAugNoise):
		return c.fieldError("audit", "augmentations", "noise must be a σ in (0, %d] (features are standardised), got %v", maxAugNoise, *a.Noise)
	case a.NoiseDraws != nil && (*a.NoiseDraws < 1 || *a.NoiseDraws > maxAugNoiseDraws):
		return c.fieldError("audit", "augmentations", "noise_draws must lie in [1, %d], got %d", maxAugNoiseDraws, *a.NoiseDraws)
	}
	return nil
}

// augmentConfig returns the augmentations of audit.augmentations, defaults where unset.
func (c *Config) augmentConfig() labelonly.AugmentConfig {
	cfg := labelonly.AugmentConfig{Seed: augSeed}
	if a := c.Audit.Augmentations; a != nil {
		if a.Shift != nil {
			cfg.Shift = *a.Shift
		}
		if a.Flips != nil {
			cfg.NoFlips = !*a.Flips
		}
		if a.Noise != nil {
			cfg.Noise = *a.Noise
		}
		if a.NoiseDraws != nil {
			cfg.NoiseDraws = *a.NoiseDraws
		}
	}
	return cfg
}

// labelOnlyNeeds returns what the plan's attacks query: augmentation correctness, and the boundary
// search's budget (0: none).
func (p *Plan) labelOnlyNeeds() (aug bool, boundaryQueries int, err error) {
	for _, a := range p.Attacks {
		switch a.Name {
		case "augmentation", "augmentation-lira":
			aug = true
		case "boundary":
			s, err := attack.Lookup(a.Name)
			if err != nil {
				return false, 0, err
			}
			params, err := s.Resolve(a.Params)
			if err != nil {
				return false, 0, err
			}
			q, _ := strconv.Atoi(params["queries"])
			if boundaryQueries != 0 && q != boundaryQueries {
				return false, 0, fmt.Errorf("audit.attacks: boundary is listed with %d and %d queries; list it once", boundaryQueries, q)
			}
			boundaryQueries = q
		}
	}
	return aug, boundaryQueries, nil
}

// modelOracle returns m's predicted labels, evaluated in batches.
func modelOracle(m *nn.Sequential, shape []int, batch int) labelonly.Oracle {
	return func(ctx context.Context, x []float32, rows int) ([]int, error) {
		d := len(x) / max(rows, 1)
		out := make([]int, rows)
		batch := m.EvalPass(shape, batch, 0) // fewer records per pass when a batch's activations are large
		for lo := 0; lo < rows; lo += batch {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			hi := min(lo+batch, rows)
			t, err := nn.FromSlice(x[lo*d:hi*d], append([]int{hi - lo}, shape...)...)
			if err != nil {
				return nil, err
			}
			y, err := m.Forward(t, false)
			if err != nil {
				return nil, err
			}
			c := y.RowLen()
			for i := 0; i < hi-lo; i++ {
				row := y.Data[i*c : (i+1)*c]
				best := 0
				for k, v := range row {
					if v > row[best] {
						best = k
					}
				}
				out[lo+i] = best
			}
		}
		return out, nil
	}
}

// augSeed fixes the tabular noise of a run's augmentations.
const augSeed = 0x6c6f6d6961 // "lomia"

func labelOnlyPaths(metaPath string) (aug, boundary string) {
	s := strings.TrimSuffix(metaPath, ".json")
	return s + "-augmentations.npy", s + "-boundary.npy"
}

// queryLabelOnly computes what x's label-only attacks need of model m (j's outputs o, logits of the
// population po) and records the files in sc.
func (x *extractor) queryLabelOnly(ctx context.Context, m *nn.Sequential, j Job, o *modelOutputs, sc *signalSidecar, metaPath string) error {
	q := x.c.Audit.NumQueries
	shape := x.auditX.Shape[1:]
	dim := x.auditX.RowLen()
	n := x.auditX.Rows() / q
	xs := make([]float32, 0, n*dim)
	ys := make([]int, n)
	for i := 0; i < n; i++ {
		xs = append(xs, x.auditX.Data[i*q*dim:(i*q+1)*dim]...)
		ys[i] = x.auditY[i*q]
	}
	oracle := modelOracle(m, shape, 256)
	augPath, bPath := labelOnlyPaths(metaPath)
	if x.aug {
		ac := x.c.augmentConfig()
		augs := labelonly.Augmentations(shape, ac)
		ok, err := labelonly.Correct(ctx, oracle, xs, shape, ys, augs, 0, augSeed, 64)
		if err != nil {
			return fmt.Errorf("model %d: augmentations: %w", j.Model, err)
		}
		v := make([]float32, len(ok))
		for k, b := range ok {
			if b {
				v[k] = 1
			}
		}
		o.Aug, o.A = v, len(augs)
		f, err := writeSignalFile(augPath, npy.NewFloat32(v, n, len(augs)))
		if err != nil {
			return err
		}
		sc.Augmentations, sc.AugmentConfig = &f, ac.String()
	}
	if x.boundary > 0 && j.Model < x.p.Targets {
		// Starting points: population records the model labels otherwise, nearest first.
		pn := x.popX.Rows() / q
		popPred := make([]int, pn)
		c := len(o.Pop) / x.popX.Rows()
		for z := 0; z < pn; z++ {
			row := o.Pop[z*q*c : (z*q+1)*c]
			for k := range row {
				if row[k] > row[popPred[z]] {
					popPred[z] = k
				}
			}
		}
		dist := make([]float32, n)
		for i := 0; i < n; i++ {
			xi := xs[i*dim : (i+1)*dim]
			type cand struct {
				z int
				d float64
			}
			var cs []cand
			for z := 0; z < pn; z++ {
				if popPred[z] == ys[i] {
					continue
				}
				pz := x.popX.Data[z*q*dim : (z*q+1)*dim]
				s := 0.0
				for k := range xi {
					v := float64(xi[k] - pz[k])
					s += v * v
				}
				cs = append(cs, cand{z, s})
			}
			slices.SortFunc(cs, func(a, b cand) int { return cmpFloat(a.d, b.d) })
			var starts [][]float32
			for _, cd := range cs[:min(3, len(cs))] {
				starts = append(starts, x.popX.Data[cd.z*q*dim:(cd.z*q+1)*dim])
			}
			dd, _, err := labelonly.Distance(ctx, oracle, xi, ys[i], starts, labelonly.BoundaryConfig{Queries: x.boundary, Seed: uint64(i)})
			if err != nil {
				return fmt.Errorf("model %d: boundary distance of record %d: %w", j.Model, i, err)
			}
			dist[i] = float32(min(dd, math.MaxFloat32))
		}
		o.Boundary = dist
		f, err := writeSignalFile(bPath, npy.NewFloat32(dist, n))
		if err != nil {
			return err
		}
		sc.Boundary, sc.BoundaryQueries = &f, x.boundary
	}
	return nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// loadLabelOnly reads model j's saved label-only signals, verified against its sidecar.
func (x *extractor) loadLabelOnly(metaPath string, j Job, o *modelOutputs) error {
	sc, err := readSignalSidecar(metaPath)
	if err != nil {
		return err
	}
	augPath, bPath := labelOnlyPaths(metaPath)
	n := o.AuditRows / x.c.Audit.NumQueries
	if x.aug {
		if sc.Augmentations == nil {
			return fmt.Errorf("%s: no augmentation correctness saved (a label-only attack is new to this run directory)", metaPath)
		}
		// Sidecars written before audit.augmentations existed hold the default augmentations.
		if saved, want := cmp.Or(sc.AugmentConfig, (labelonly.AugmentConfig{Seed: augSeed}).String()), x.c.augmentConfig().String(); saved != want {
			return fmt.Errorf("%s: augmentation correctness saved for other augmentations (%s, now %s)", metaPath, saved, want)
		}
		a, err := readSignalFile(augPath, *sc.Augmentations)
		if err != nil {
			return err
		}
		if len(a.Shape) != 2 || a.Shape[0] != n {
			return fmt.Errorf("%s: stale augmentation correctness (shape %v)", augPath, a.Shape)
		}
		o.Aug, o.A = a.F32, a.Shape[1]
	}
	if x.boundary > 0 && j.Model < x.p.Targets {
		if sc.Boundary == nil || sc.BoundaryQueries != x.boundary {
			return fmt.Errorf("%s: no boundary distances saved for a budget of %d queries", metaPath, x.boundary)
		}
		b, err := readSignalFile(bPath, *sc.Boundary)
		if err != nil {
			return err
		}
		if len(b.Shape) != 1 || b.Shape[0] != n {
			return fmt.Errorf("%s: stale boundary distances (shape %v)", bPath, b.Shape)
		}
		o.Boundary = b.F32
	}
	return nil
}

// addLabelOnly gives d the models' label-only signals.
func addLabelOnly(d *attack.Data, outs []*modelOutputs) error {
	if len(outs) == 0 {
		return nil
	}
	if outs[0].Aug != nil {
		a := outs[0].A
		d.A, d.Aug = a, make([]bool, d.N*d.M*a)
		for m, o := range outs {
			if o.A != a || len(o.Aug) != d.N*a {
				return fmt.Errorf("model %d: augmentation correctness of %d values, want %d records × %d", m, len(o.Aug), d.N, a)
			}
			for i := 0; i < d.N; i++ {
				for k := 0; k < a; k++ {
					d.Aug[(i*d.M+m)*a+k] = o.Aug[i*a+k] != 0
				}
			}
		}
	}
	if outs[0].Boundary != nil {
		d.Boundary = make([]float64, d.N*d.M)
		for k := range d.Boundary {
			d.Boundary[k] = -1
		}
		for m, o := range outs {
			if o.Boundary == nil {
				continue
			}
			for i := 0; i < d.N; i++ {
				v := float64(o.Boundary[i])
				if v >= math.MaxFloat32 {
					v = math.Inf(1)
				}
				d.Boundary[i*d.M+m] = v
			}
		}
	}
	return d.Validate()
}
