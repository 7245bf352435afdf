package nn

import "unsafe"

// Shared gradient buffers. A layer's input gradient is needed only until the layer before it has
// run its Backward, so while training (Train, outside DP-SGD) the layers of a model write their
// input gradients into a few buffers shared by the whole model instead of one buffer each: the
// memory of a training step is then about its activations, not twice them. Before each layer's
// Backward, Sequential (and Residual, inside a block) points the layer's gradient buffer at a shared
// buffer that holds no gradient still to be read. Per-record gradient norms (RecordNormer) and
// DP-SGD read each layer's output gradient after the backward pass, so they run without sharing.

// gradOwner is implemented by layers that own their input-gradient buffer.
type gradOwner interface {
	dxBuffer() **Tensor
}

func (c *Conv2D) dxBuffer() **Tensor        { return &c.dx }
func (b *BatchNorm) dxBuffer() **Tensor     { return &b.dx }
func (e *elementwise) dxBuffer() **Tensor   { return &e.dx }
func (m *MaxPool2D) dxBuffer() **Tensor     { return &m.dx }
func (a *AvgPool2D) dxBuffer() **Tensor     { return &a.dx }
func (g *GlobalAvgPool) dxBuffer() **Tensor { return &g.dx }
func (d *Dense) dxBuffer() **Tensor         { return &d.dx }
func (d *Dropout) dxBuffer() **Tensor       { return &d.dx }
func (r *Residual) dxBuffer() **Tensor      { return &r.dx }

// gradArena is the set of shared gradient buffers of a model.
type gradArena struct {
	slots []*Tensor
}

// pick returns a shared buffer whose storage is none of busy's (nil entries are ignored), adding one
// when all are busy. The choice depends only on the sequence of calls, so training stays
// deterministic.
func (a *gradArena) pick(busy ...*Tensor) *Tensor {
	for _, s := range a.slots {
		free := true
		for _, b := range busy {
			if b != nil && (b == s || sameStorage(b, s)) {
				free = false
				break
			}
		}
		if free {
			return s
		}
	}
	s := &Tensor{}
	a.slots = append(a.slots, s)
	return s
}

// sameStorage reports whether two tensors' data start at the same address (a view such as
// Flatten's shares its input's storage from the start).
func sameStorage(a, b *Tensor) bool {
	return cap(a.Data) > 0 && cap(b.Data) > 0 && unsafe.SliceData(a.Data[:1]) == unsafe.SliceData(b.Data[:1])
}

// assignGrad points l's input-gradient buffer at a shared buffer not among busy, when l owns one, and
// lets a residual block share inside itself.
func (a *gradArena) assignGrad(l Layer, busy ...*Tensor) {
	if r, ok := l.(*Residual); ok {
		r.arena = a
	}
	if o, ok := l.(gradOwner); ok {
		*o.dxBuffer() = a.pick(busy...)
	}
}

// unshareGrads gives every layer of layers its own gradient buffers again (allocated at their next
// Backward) and turns sharing off inside residual blocks.
func unshareGrads(layers []Layer) {
	for _, l := range layers {
		if r, ok := l.(*Residual); ok {
			r.arena = nil
			unshareGrads(r.Body)
			unshareGrads(r.Shortcut)
		}
		if o, ok := l.(gradOwner); ok {
			*o.dxBuffer() = nil
		}
	}
}
