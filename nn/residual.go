package nn

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/pmeter/pmeter/nn/internal/vec"
)

// Residual is a residual block: y = Body(x) + Shortcut(x), with the identity as shortcut when
// Shortcut is empty (He et al., "Deep Residual Learning for Image Recognition", 2016). Body and
// Shortcut are layer sequences; a pre-activation block is written by putting the shared
// normalisation and activation before the Residual.
type Residual struct {
	Body, Shortcut []Layer

	x, y, dx *Tensor
	arena    *gradArena // set by Sequential.Backward while training: shared gradient buffers
	fuseReLU bool       // set by Sequential: apply the next layer's ReLU to the sum
}

// NewResidual returns a residual block; shortcut may be empty (identity).
func NewResidual(body, shortcut []Layer) *Residual {
	return &Residual{Body: body, Shortcut: shortcut}
}

// Spec implements Layer: kind "residual" with the Body and Shortcut layer specs.
func (r *Residual) Spec() LayerSpec {
	s := LayerSpec{Kind: KindResidual}
	for _, l := range r.Body {
		s.Body = append(s.Body, l.Spec())
	}
	for _, l := range r.Shortcut {
		s.Shortcut = append(s.Shortcut, l.Spec())
	}
	return s
}

// OutShape implements Layer. Body and Shortcut must map the input to the same shape.
func (r *Residual) OutShape(in []int) ([]int, error) {
	if len(r.Body) == 0 {
		return nil, fmt.Errorf("residual: empty body")
	}
	b, err := chainShape(r.Body, in)
	if err != nil {
		return nil, fmt.Errorf("residual body: %w", err)
	}
	s, err := chainShape(r.Shortcut, in)
	if err != nil {
		return nil, fmt.Errorf("residual shortcut: %w", err)
	}
	if !slices.Equal(b, s) {
		return nil, fmt.Errorf("residual: body gives %v, shortcut gives %v", b, s)
	}
	return b, nil
}

func chainShape(layers []Layer, in []int) ([]int, error) {
	s := append([]int(nil), in...)
	for i, l := range layers {
		out, err := l.OutShape(s)
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		s = out
	}
	return s, nil
}

// Init implements Initializer: the body's layers, then the shortcut's, draw from r in order.
func (r *Residual) Init(rng *rand.Rand) {
	for _, l := range append(append([]Layer(nil), r.Body...), r.Shortcut...) {
		if in, ok := l.(Initializer); ok {
			in.Init(rng)
		}
	}
}

// Reseed implements Reseeder for the random layers inside the block.
func (r *Residual) Reseed(seed uint64) {
	for i, l := range append(append([]Layer(nil), r.Body...), r.Shortcut...) {
		if rs, ok := l.(Reseeder); ok {
			rs.Reseed(seed ^ (uint64(i+1) * 0x94d049bb133111eb))
		}
	}
}

// Params implements Layer: "body.<i>.<name>" and "shortcut.<i>.<name>".
func (r *Residual) Params() []Param {
	var ps []Param
	for _, part := range []struct {
		prefix string
		layers []Layer
	}{{"body.", r.Body}, {"shortcut.", r.Shortcut}} {
		for i, l := range part.layers {
			for _, p := range l.Params() {
				p.Name = part.prefix + strconv.Itoa(i) + "." + p.Name
				ps = append(ps, p)
			}
		}
	}
	return ps
}

// Buffers implements Bufferer with the same naming as Params.
func (r *Residual) Buffers() []Param {
	var ps []Param
	for _, part := range []struct {
		prefix string
		layers []Layer
	}{{"body.", r.Body}, {"shortcut.", r.Shortcut}} {
		for i, l := range part.layers {
			if b, ok := l.(Bufferer); ok {
				for _, p := range b.Buffers() {
					p.Name = part.prefix + strconv.Itoa(i) + "." + p.Name
					ps = append(ps, p)
				}
			}
		}
	}
	return ps
}

// Forward implements Layer.
func (r *Residual) Forward(x *Tensor, train bool) *Tensor {
	r.x = x
	h := x
	for _, l := range r.Body {
		h = l.Forward(h, train)
	}
	s := x
	for _, l := range r.Shortcut {
		s = l.Forward(s, train)
	}
	y := reuse(&r.y, h.Shape...)
	yd, sd := y.Data[:len(h.Data)], s.Data[:len(h.Data)]
	k := vec.AddReLU(yd, h.Data, sd, r.fuseReLU)
	if r.fuseReLU {
		for i, v := range h.Data[k:] {
			yd[k+i] = relu32(v + sd[k+i])
		}
		return y
	}
	for i, v := range h.Data[k:] {
		yd[k+i] = v + sd[k+i]
	}
	return y
}

// Backward implements Layer.
func (r *Residual) Backward(dy *Tensor, needDX bool) *Tensor {
	g := dy
	// With shared gradient buffers, dy is read again by the shortcut and r.dx written last: the
	// layers inside use other buffers.
	var own *Tensor
	if needDX {
		own = r.dx
	}
	for i := len(r.Body) - 1; i >= 0; i-- {
		if r.arena != nil && (needDX || i > 0) {
			r.arena.assignGrad(r.Body[i], g, dy, own)
		}
		g = r.Body[i].Backward(g, needDX || i > 0)
	}
	var dx *Tensor
	if needDX {
		dx = reuse(&r.dx, r.x.Shape...)
		copy(dx.Data, g.Data)
	}
	s := dy
	for i := len(r.Shortcut) - 1; i >= 0; i-- {
		if r.arena != nil && (needDX || i > 0) {
			r.arena.assignGrad(r.Shortcut[i], s, dy, dx)
		}
		s = r.Shortcut[i].Backward(s, needDX || i > 0)
	}
	if needDX {
		addTo(dx.Data, s.Data)
	}
	return dx
}

// AddRecordSqNorms implements RecordNormer by summing over the block's layers. Precondition: every
// layer with parameters in the block implements RecordNormer (see recordNormsExact).
func (r *Residual) AddRecordSqNorms(sq []float64) {
	for _, l := range append(append([]Layer(nil), r.Body...), r.Shortcut...) {
		if rn, ok := l.(RecordNormer); ok {
			rn.AddRecordSqNorms(sq)
		}
	}
}

// recordNormsExact reports whether every layer with parameters in the block gives per-record norms.
func (r *Residual) recordNormsExact() bool {
	for _, l := range append(append([]Layer(nil), r.Body...), r.Shortcut...) {
		if !hasRecordNorms(l) {
			return false
		}
	}
	return true
}

// hasRecordNorms reports whether per-record gradient norms of l come from RecordNormer exactly.
func hasRecordNorms(l Layer) bool {
	if c, ok := l.(interface{ recordNormsExact() bool }); ok {
		return c.recordNormsExact()
	}
	if _, ok := l.(RecordNormer); ok {
		return true
	}
	return len(l.Params()) == 0
}
