package nn

import (
	"fmt"
	"slices"
	"strconv"
)

// Sequential is a model made of layers applied in order (PyTorch nn.Sequential). Name identifies the
// model in errors (for example "target" or "ref-3").
type Sequential struct {
	Name   string
	Layers []Layer

	inShape, outShape []int // per-record shapes of the last validated input
	lastBatch         int   // batch size of the last Forward, -1 before any
	firstParam        int   // index of the first layer with parameters, set with inShape
	// grads holds the gradient buffers that the layers share in Backward while sharing is set (by
	// Train; see gradArena); shared records that the layers point at them.
	grads           *gradArena
	sharing, shared bool
}

// NewSequential returns a model of the given layers. Parameters are zero until Init.
func NewSequential(name string, layers ...Layer) *Sequential {
	return &Sequential{Name: name, Layers: layers, lastBatch: -1}
}

// FromSpecs builds a model from layer descriptions. Parameters are zero until Init.
func FromSpecs(name string, specs []LayerSpec) (*Sequential, error) {
	layers := make([]Layer, len(specs))
	for i, s := range specs {
		l, err := s.Build()
		if err != nil {
			return nil, fmt.Errorf("nn: model %q: layer %d: %w", name, i, err)
		}
		layers[i] = l
	}
	return NewSequential(name, layers...), nil
}

// Specs describes the model's layers as data; FromSpecs(name, m.Specs()) rebuilds its architecture.
func (m *Sequential) Specs() []LayerSpec {
	s := make([]LayerSpec, len(m.Layers))
	for i, l := range m.Layers {
		s[i] = l.Spec()
	}
	return s
}

// Init initialises every parameter from seed with PyTorch's default distributions (layer by layer,
// from one random stream) and reseeds the layers that draw random numbers in training.
func (m *Sequential) Init(seed uint64) {
	r := newRand(seed, streamInit)
	for _, l := range m.Layers {
		if in, ok := l.(Initializer); ok {
			in.Init(r)
		}
	}
	m.Reseed(seed)
}

// Reseed sets the random streams of the layers that draw random numbers in training (Dropout); layer
// i gets a stream derived from seed and i.
func (m *Sequential) Reseed(seed uint64) {
	for i, l := range m.Layers {
		if rs, ok := l.(Reseeder); ok {
			rs.Reseed(seed ^ (uint64(i+1) * 0xbf58476d1ce4e5b9))
		}
	}
}

// OutShape returns the per-record output shape for a per-record input shape (for example [3 32 32]
// for CIFAR images), or an error naming the first layer that cannot take its input.
func (m *Sequential) OutShape(in []int) ([]int, error) {
	s := append([]int(nil), in...)
	for i, d := range s {
		if d <= 0 {
			return nil, fmt.Errorf("nn: model %q: input shape %v: dimension %d is not positive", m.Name, in, i)
		}
	}
	for i, l := range m.Layers {
		out, err := l.OutShape(s)
		if err != nil {
			return nil, fmt.Errorf("nn: model %q: layer %d: %w", m.Name, i, err)
		}
		s = out
	}
	return s, nil
}

// checkInput validates x's per-record shape, caching the last shape accepted.
func (m *Sequential) checkInput(x *Tensor) error {
	if x == nil || len(x.Shape) == 0 {
		return fmt.Errorf("nn: model %q: input has no batch dimension", m.Name)
	}
	if numel(x.Shape) != len(x.Data) || x.Shape[0] < 0 {
		return fmt.Errorf("nn: model %q: input shape %v does not match its %d values", m.Name, x.Shape, len(x.Data))
	}
	if m.inShape != nil && slices.Equal(m.inShape, x.Shape[1:]) {
		return nil
	}
	out, err := m.OutShape(x.Shape[1:])
	if err != nil {
		return err
	}
	m.inShape, m.outShape = append([]int(nil), x.Shape[1:]...), out
	m.firstParam = 0
	for m.firstParam < len(m.Layers) && len(m.Layers[m.firstParam].Params()) == 0 {
		m.firstParam++
	}
	return nil
}

// Forward runs the model on a batch x (records × per-record shape) and returns the output (records ×
// per-record output shape), owned by the model until its next Forward. train selects training
// behaviour (batch statistics in BatchNorm, Dropout active).
func (m *Sequential) Forward(x *Tensor, train bool) (*Tensor, error) {
	if err := m.checkInput(x); err != nil {
		return nil, err
	}
	m.fuse()
	h := x
	for _, l := range m.Layers {
		h = l.Forward(h, train)
	}
	m.lastBatch = x.Rows()
	return h, nil
}

// Backward back-propagates dy, the gradient of the loss with respect to the output of the last
// Forward, and sets every parameter's gradient. It does not compute the gradient with respect to the
// model's input.
func (m *Sequential) Backward(dy *Tensor) error {
	if m.lastBatch < 0 {
		return fmt.Errorf("nn: model %q: Backward before Forward", m.Name)
	}
	if dy == nil || len(dy.Shape) == 0 || dy.Shape[0] != m.lastBatch || !slices.Equal(dy.Shape[1:], m.outShape) || len(dy.Data) != numel(dy.Shape) {
		var shape []int
		if dy != nil {
			shape = dy.Shape
		}
		return fmt.Errorf("nn: model %q: output gradient shape %v, want [%d %v]", m.Name, shape, m.lastBatch, m.outShape)
	}
	// Layers before the first one with parameters need no gradient: stop there, and do not compute
	// the input gradient of that layer (for a model starting with flatten → dense, the dense layer's).
	first := m.firstParam
	g := dy
	switch {
	case m.sharing && m.grads == nil:
		m.grads = &gradArena{}
	case !m.sharing && m.shared:
		unshareGrads(m.Layers)
	}
	m.shared = m.sharing
	for i := len(m.Layers) - 1; i >= first; i-- {
		if m.sharing && i > first {
			m.grads.assignGrad(m.Layers[i], g)
		}
		g = m.Layers[i].Backward(g, i > first)
	}
	return nil
}

// shareGrads turns shared gradient buffers on or off for the next Backward passes (see gradArena).
// The shared buffers are kept for the next time; a Backward without sharing gives the layers their
// own buffers again.
func (m *Sequential) shareGrads(on bool) { m.sharing = on }

// Params lists the trainable parameters with PyTorch state_dict names ("<layer index>.weight").
func (m *Sequential) Params() []Param {
	var ps []Param
	for i, l := range m.Layers {
		for _, p := range l.Params() {
			p.Name = strconv.Itoa(i) + "." + p.Name
			ps = append(ps, p)
		}
	}
	return ps
}

// Buffers lists the non-trainable state (batch-norm running statistics) with state_dict names.
func (m *Sequential) Buffers() []Param {
	var ps []Param
	for i, l := range m.Layers {
		if b, ok := l.(Bufferer); ok {
			for _, p := range b.Buffers() {
				p.Name = strconv.Itoa(i) + "." + p.Name
				ps = append(ps, p)
			}
		}
	}
	return ps
}

// NumParams returns the number of trainable scalars.
func (m *Sequential) NumParams() int {
	n := 0
	for _, l := range m.Layers {
		for _, p := range l.Params() {
			n += p.Value.Len()
		}
	}
	return n
}

// fuse marks the ReLU layers whose work a neighbour does in passing: after a Conv2D, a BatchNorm or a
// residual block (post-activation ResNets), that layer applies it to its output; before a MaxPool2D, pooling applies its mask to the input
// gradient, and after a BatchNorm, batch norm applies it to the gradient it receives. It does the same
// inside residual blocks. The results are bitwise those of the separate layers.
func (m *Sequential) fuse() { fuseLayers(m.Layers) }

func fuseLayers(layers []Layer) {
	for i, l := range layers {
		var prev, next Layer
		if i > 0 {
			prev = layers[i-1]
		}
		if i+1 < len(layers) {
			next = layers[i+1]
		}
		_, nextReLU := next.(*ReLU)
		switch l := l.(type) {
		case *Conv2D:
			l.fuseReLU = nextReLU
		case *BatchNorm:
			l.fuseReLU = nextReLU
		case *ReLU:
			_, afterConv := prev.(*Conv2D)
			_, afterBN := prev.(*BatchNorm)
			_, afterBlock := prev.(*Residual)
			_, beforePool := next.(*MaxPool2D)
			l.fusedIn, l.maskedBelow, l.fusedOut = afterConv || afterBN || afterBlock, afterBN, beforePool
		case *MaxPool2D:
			_, l.reluMask = prev.(*ReLU)
		case *Residual:
			l.fuseReLU = nextReLU
			fuseLayers(l.Body)
			fuseLayers(l.Shortcut)
		}
	}
}
