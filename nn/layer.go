package nn

import (
	"fmt"
	"math/rand/v2"
)

// Layer is one stage of a Sequential model.
//
// Shapes passed to OutShape are per record (without the batch dimension); tensors passed to Forward
// and Backward carry the batch as their first dimension. Forward and Backward do not validate shapes:
// the precondition is that x's per-record shape was accepted by OutShape, which Sequential checks.
// Backward must follow a Forward on the same batch; it uses what Forward cached.
type Layer interface {
	// Spec describes the layer as data (kind and hyper-parameters, not weights).
	Spec() LayerSpec
	// OutShape returns the per-record output shape for a per-record input shape, or an error if the
	// layer cannot take that input.
	OutShape(in []int) ([]int, error)
	// Forward computes the output for a batch. train selects training behaviour (batch statistics,
	// dropout). The result is owned by the layer and valid until its next Forward.
	Forward(x *Tensor, train bool) *Tensor
	// Backward takes the gradient of the loss with respect to the last output, sets (overwrites) the
	// gradients of the layer's parameters, and returns the gradient with respect to the input, or nil
	// when needDX is false.
	Backward(dy *Tensor, needDX bool) *Tensor
	// Params lists the trainable parameters with their local names ("weight", "bias"), in a fixed order.
	Params() []Param
}

// Param is a named tensor of a layer: a trainable parameter with its gradient, or a buffer (such as
// a batch-norm running mean) with a nil Grad.
type Param struct {
	Name  string
	Value *Tensor
	Grad  *Tensor
}

// Initializer is implemented by layers with parameters: Init draws fresh initial values from r.
type Initializer interface {
	Init(r *rand.Rand)
}

// Bufferer is implemented by layers with state that is not trained by gradients (batch-norm running
// statistics). Buffers lists it with local names.
type Bufferer interface {
	Buffers() []Param
}

// Reseeder is implemented by layers that draw random numbers while training (Dropout).
type Reseeder interface {
	Reseed(seed uint64)
}

// RecordNormer is implemented by layers with parameters that can give per-record gradient norms.
// After a Backward whose dy holds per-record (not batch-averaged) loss gradients of an evaluation-mode
// forward pass, AddRecordSqNorms adds ‖∂ℓ_i/∂θ‖² over the layer's parameters θ to sq[i] for each
// record i of the batch. Precondition: len(sq) equals the batch size.
type RecordNormer interface {
	AddRecordSqNorms(sq []float64)
}

// Layer kinds, as used in LayerSpec.Kind.
const (
	KindDense         = "dense"
	KindConv2D        = "conv2d"
	KindMaxPool2D     = "maxpool2d"
	KindAvgPool2D     = "avgpool2d"
	KindGlobalAvgPool = "globalavgpool"
	KindBatchNorm     = "batchnorm"
	KindReLU          = "relu"
	KindTanh          = "tanh"
	KindSigmoid       = "sigmoid"
	KindDropout       = "dropout"
	KindFlatten       = "flatten"
	KindResidual      = "residual"
)

// LayerSpec describes a layer as data, so that models can be written in JSON or YAML and rebuilt.
// Fields not used by a kind are zero. In is the size of the layer's input (dense: features; conv2d and
// batchnorm: channels); Summarize fills in an In left 0 from the shape the previous layers produce, as
// pmeter's train.model does, and refuses one that contradicts it.
//
//	dense:         In, Out (features), NoBias
//	conv2d:        In, Out (channels), Kernel, Stride (default 1), Padding, NoBias
//	maxpool2d:     Kernel, Stride (default Kernel), Padding
//	avgpool2d:     Kernel, Stride (default Kernel), Padding (padding counts in the average)
//	batchnorm:     In (channels or features), Eps (default 1e-5), Momentum (default 0.1, PyTorch meaning)
//	dropout:       P (probability of zeroing)
//	residual:      Body, Shortcut (layer specs; an empty shortcut is the identity)
//	globalavgpool, relu, tanh, sigmoid, flatten: no fields
type LayerSpec struct {
	Kind     string      `json:"kind" yaml:"kind"`
	In       int         `json:"in,omitempty" yaml:"in,omitempty"`
	Out      int         `json:"out,omitempty" yaml:"out,omitempty"`
	Kernel   int         `json:"kernel,omitempty" yaml:"kernel,omitempty"`
	Stride   int         `json:"stride,omitempty" yaml:"stride,omitempty"`
	Padding  int         `json:"padding,omitempty" yaml:"padding,omitempty"`
	NoBias   bool        `json:"no_bias,omitempty" yaml:"no_bias,omitempty"`
	P        float64     `json:"p,omitempty" yaml:"p,omitempty"`
	Eps      float64     `json:"eps,omitempty" yaml:"eps,omitempty"`
	Momentum float64     `json:"momentum,omitempty" yaml:"momentum,omitempty"`
	Body     []LayerSpec `json:"body,omitempty" yaml:"body,omitempty"`
	Shortcut []LayerSpec `json:"shortcut,omitempty" yaml:"shortcut,omitempty"`
}

// Build constructs the layer s describes, with zero parameters (call Sequential.Init or the layer's
// Init). It returns an error for an unknown kind or invalid hyper-parameters.
func (s LayerSpec) Build() (Layer, error) {
	switch s.Kind {
	case KindDense:
		return NewDense(s.In, s.Out, !s.NoBias)
	case KindConv2D:
		return NewConv2D(s.In, s.Out, s.Kernel, s.Stride, s.Padding, !s.NoBias)
	case KindMaxPool2D:
		return NewMaxPool2D(s.Kernel, s.Stride, s.Padding)
	case KindAvgPool2D:
		return NewAvgPool2D(s.Kernel, s.Stride, s.Padding)
	case KindGlobalAvgPool:
		return &GlobalAvgPool{}, nil
	case KindBatchNorm:
		return NewBatchNorm(s.In, s.Eps, s.Momentum)
	case KindReLU:
		return &ReLU{}, nil
	case KindTanh:
		return &Tanh{}, nil
	case KindSigmoid:
		return &Sigmoid{}, nil
	case KindDropout:
		return NewDropout(s.P)
	case KindFlatten:
		return &Flatten{}, nil
	case KindResidual:
		body, err := buildAll(s.Body)
		if err != nil {
			return nil, fmt.Errorf("residual body: %w", err)
		}
		shortcut, err := buildAll(s.Shortcut)
		if err != nil {
			return nil, fmt.Errorf("residual shortcut: %w", err)
		}
		if len(body) == 0 {
			return nil, fmt.Errorf("nn: residual: empty body")
		}
		return NewResidual(body, shortcut), nil
	}
	return nil, fmt.Errorf("nn: unknown layer kind %q", s.Kind)
}

func buildAll(specs []LayerSpec) ([]Layer, error) {
	layers := make([]Layer, len(specs))
	for i, s := range specs {
		l, err := s.Build()
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		layers[i] = l
	}
	return layers, nil
}
