package audit

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/nn"
	"github.com/pmeter/pmeter/npy"
)

// White-box signals. When a white-box attack (attack.Spec.WhiteBox: gradnorm, gradnorm-lira) is listed,
// every model's per-record gradient norms ‖∇_θ ℓ(x)‖₂ are extracted with its logits (nn.Evaluate's
// LayerGradNorms: the whole model, then each layer with parameters), for trained models and for models
// read from files (ONNX included) alike, saved beside the signals with their SHA-256 in the sidecar, and
// given to the attacks as attack.Data.Grad. A run directory whose signals lack them recomputes them from
// the saved models.

// needsGradients reports whether an attack of the plan reads gradient norms.
func (p *Plan) needsGradients() bool {
	for _, a := range p.Attacks {
		if s, err := attack.Lookup(a.Name); err == nil && s.WhiteBox && !s.Trajectory {
			return true
		}
	}
	return false
}

func gradPaths(metaPath string) (audit, pop string) {
	s := strings.TrimSuffix(metaPath, ".json")
	return s + "-grad-audit.npy", s + "-grad-population.npy"
}

// gradMatrix lays out one evaluation's norms as rows × G, whole model first.
func gradMatrix(r *nn.RecordOutputs) ([]float32, int) {
	g := 1 + len(r.LayerGradNorm)
	out := make([]float32, len(r.GradNorm)*g)
	for i, v := range r.GradNorm {
		out[i*g] = float32(v)
		for k, l := range r.LayerGradNorm {
			out[i*g+1+k] = float32(l[i])
		}
	}
	return out, g
}

// saveGradients stores the norms of ao and po in o and in files recorded by sc.
func saveGradients(metaPath string, o *modelOutputs, ao, po *nn.RecordOutputs, sc *signalSidecar) error {
	if ao.GradNorm == nil || po.GradNorm == nil {
		return fmt.Errorf("model %d: no gradient norms were computed", o.Info.Model)
	}
	o.GradAudit, o.G = gradMatrix(ao)
	o.GradPop, _ = gradMatrix(po)
	ap, pp := gradPaths(metaPath)
	a, err := writeSignalFile(ap, npy.NewFloat32(o.GradAudit, o.AuditRows, o.G))
	if err != nil {
		return err
	}
	p, err := writeSignalFile(pp, npy.NewFloat32(o.GradPop, o.PopRows, o.G))
	if err != nil {
		return err
	}
	sc.GradAudit, sc.GradPop = &a, &p
	return nil
}

// loadGradients reads the saved norms of o's model, verified against its sidecar.
func loadGradients(metaPath string, o *modelOutputs) error {
	sc, err := readSignalSidecar(metaPath)
	if err != nil {
		return err
	}
	if sc.GradAudit == nil || sc.GradPop == nil {
		return fmt.Errorf("%s: no gradient norms saved (a white-box attack is new to this run directory)", filepath.Base(metaPath))
	}
	ap, pp := gradPaths(metaPath)
	a, err := readSignalFile(ap, *sc.GradAudit)
	if err != nil {
		return err
	}
	p, err := readSignalFile(pp, *sc.GradPop)
	if err != nil {
		return err
	}
	if a.Shape[0] != o.AuditRows || p.Shape[0] != o.PopRows || a.Shape[1] != p.Shape[1] || a.Shape[1] < 1 {
		return fmt.Errorf("%s: stale gradient norms (shapes %v and %v)", metaPath, a.Shape, p.Shape)
	}
	o.GradAudit, o.GradPop, o.G = a.F32, p.F32, a.Shape[1]
	return nil
}

// addGradients gives d (from attackData) the models' gradient norms of each record's first query.
func addGradients(d *attack.Data, outs []*modelOutputs, q int) error {
	if len(outs) == 0 || outs[0].GradAudit == nil {
		return nil
	}
	g := outs[0].G
	d.G, d.Grad, d.PopGrad = g, make([]float64, d.N*d.M*g), make([]float64, d.Z*d.M*g)
	fill := func(dst []float64, src []float32, rows, m int) {
		for i := 0; i < rows; i++ {
			for k := 0; k < g; k++ {
				dst[(i*d.M+m)*g+k] = float64(src[i*q*g+k])
			}
		}
	}
	for m, o := range outs {
		if o.G != g || len(o.GradAudit) != d.N*q*g || len(o.GradPop) != d.Z*q*g {
			return fmt.Errorf("model %d: gradient norms of shape %d × %d, want %d layers like model 0", m, len(o.GradAudit)/max(o.G, 1), o.G, g)
		}
		fill(d.Grad, o.GradAudit, d.N, m)
		fill(d.PopGrad, o.GradPop, d.Z, m)
	}
	return d.Validate()
}
