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
type ReLU struct{ elementwise }

// Spec implements Layer.
func (*ReLU) Spec() LayerSpec { return LayerSpec{Kind: KindReLU} }

// Forward implements Layer. NaN propagates, as in PyTorch.
func (r *ReLU) Forward(x *Tensor, train bool) *Tensor {
	y := reuse(&r.y, x.Shape...)
	yd := y.Data[:len(x.Data)]
	// On the bit patterns, so that the compiler selects without branching (the signs of
	// pre-activations are unpredictable): zero every value in [-Inf, -0], keep the rest (positive
	// values and every NaN).
	for i, v := range x.Data {
		b := math.Float32bits(v)
		if b-0x80000000 <= 0x7f800000 {
			b = 0
		}
		yd[i] = math.Float32frombits(b)
	}
	return y
}

// Backward implements Layer. The derivative at 0 is taken as 0, as in PyTorch, and so is the
// derivative where the output is NaN (PyTorch's mask y > 0).
func (r *ReLU) Backward(dy *Tensor, needDX bool) *Tensor {
	if !needDX {
		return nil
	}
	dx := reuse(&r.dx, dy.Shape...)
	y := r.y.Data[:len(dy.Data)]
	dd := dx.Data[:len(dy.Data)]
	for i, g := range dy.Data {
		// y > 0 and not NaN ⇔ its bits are in [1, 0x7f800000] (y is a ReLU output, so y ≥ +0 or NaN).
		b := math.Float32bits(g)
		if math.Float32bits(y[i])-1 >= 0x7f800000 {
			b = 0
		}
		dd[i] = math.Float32frombits(b)
	}
	return dx
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
