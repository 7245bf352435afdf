package nn

import "math"

// elementwise holds the output and input-gradient buffers of a shape-preserving layer.
type elementwise struct {
	y, dx *Tensor
}

func (e *elementwise) OutShape(in []int) ([]int, error) { return append([]int(nil), in...), nil }

// Params implements Layer; element-wise layers have none.
func (e *elementwise) Params() []Param { return nil }

// ReLU is max(x, 0), element-wise.
type ReLU struct {
	elementwise
	// Set by Sequential for the next Forward and Backward: the input is the output of a Conv2D or
	// BatchNorm that already applied the ReLU (Forward returns it as is); the next layer is a
	// MaxPool2D that applies the ReLU mask to the gradient it returns, or the previous one a
	// BatchNorm that applies it to the gradient it receives (Backward returns dy as is).
	fusedIn, fusedOut, maskedBelow bool
	out                            *Tensor // the output of the last Forward: y, or the fused input
}

// Spec implements Layer.
func (*ReLU) Spec() LayerSpec { return LayerSpec{Kind: KindReLU} }

// relu32 is max(v, 0) with NaN kept, as in PyTorch. It works on the bit patterns, so that the compiler
// selects without branching (the signs of pre-activations are unpredictable): it zeroes every value
// in [-Inf, -0] and keeps the rest (positive values and every NaN).
func relu32(v float32) float32 {
	b := math.Float32bits(v)
	if b-0x80000000 <= 0x7f800000 {
		b = 0
	}
	return math.Float32frombits(b)
}

// Forward implements Layer. NaN propagates, as in PyTorch.
func (r *ReLU) Forward(x *Tensor, train bool) *Tensor {
	if r.fusedIn {
		r.out = x
		return x
	}
	y := reuse(&r.y, x.Shape...)
	yd := y.Data[:len(x.Data)]
	for i, v := range x.Data {
		yd[i] = relu32(v)
	}
	r.out = y
	return y
}

// Backward implements Layer. The derivative at 0 is taken as 0, as in PyTorch, and so is the
// derivative where the output is NaN (PyTorch's mask y > 0).
func (r *ReLU) Backward(dy *Tensor, needDX bool) *Tensor {
	if !needDX {
		return nil
	}
	if r.fusedOut || r.maskedBelow {
		return dy
	}
	dx := reuse(&r.dx, dy.Shape...)
	y := r.out.Data[:len(dy.Data)]
	dd := dx.Data[:len(dy.Data)]
	for i, g := range dy.Data {
		dd[i] = reluGrad32(g, y[i])
	}
	return dx
}

// reluGrad32 is g where the ReLU output y is positive, +0 elsewhere (y ≤ 0 or NaN): y > 0 and not NaN
// ⇔ its bits are in [1, 0x7f800000] (y is a ReLU output, so y ≥ +0 or NaN).
func reluGrad32(g, y float32) float32 {
	b := math.Float32bits(g)
	if math.Float32bits(y)-1 >= 0x7f800000 {
		b = 0
	}
	return math.Float32frombits(b)
}

// Tanh is the hyperbolic tangent, element-wise.
type Tanh struct{ elementwise }

// Spec implements Layer.
func (*Tanh) Spec() LayerSpec { return LayerSpec{Kind: KindTanh} }

// Forward implements Layer.
func (t *Tanh) Forward(x *Tensor, train bool) *Tensor {
	y := reuse(&t.y, x.Shape...)
	for i, v := range x.Data {
		y.Data[i] = float32(math.Tanh(float64(v)))
	}
	return y
}

// Backward implements Layer: dx = dy·(1 − y²).
func (t *Tanh) Backward(dy *Tensor, needDX bool) *Tensor {
	if !needDX {
		return nil
	}
	dx := reuse(&t.dx, dy.Shape...)
	y := t.y.Data[:len(dy.Data)]
	for i, g := range dy.Data {
		dx.Data[i] = g * (1 - y[i]*y[i])
	}
	return dx
}

// Sigmoid is the logistic function 1/(1 + e^−x), element-wise.
type Sigmoid struct{ elementwise }

// Spec implements Layer.
func (*Sigmoid) Spec() LayerSpec { return LayerSpec{Kind: KindSigmoid} }

// Forward implements Layer.
func (s *Sigmoid) Forward(x *Tensor, train bool) *Tensor {
	y := reuse(&s.y, x.Shape...)
	for i, v := range x.Data {
		y.Data[i] = float32(sigmoid(float64(v)))
	}
	return y
}

// Backward implements Layer: dx = dy·y·(1 − y).
func (s *Sigmoid) Backward(dy *Tensor, needDX bool) *Tensor {
	if !needDX {
		return nil
	}
	dx := reuse(&s.dx, dy.Shape...)
	y := s.y.Data[:len(dy.Data)]
	for i, g := range dy.Data {
		dx.Data[i] = g * y[i] * (1 - y[i])
	}
	return dx
}

// sigmoid is 1/(1 + e^−x), computed without overflow for large |x|.
func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}
