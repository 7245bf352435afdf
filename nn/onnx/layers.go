package onnx

import (
	"fmt"
	"math"
	"slices"

	"github.com/pmeter/pmeter/nn"
)

// Layers for ONNX operators that package nn does not have. None has trainable parameters. Their
// LayerSpec kinds start with "onnx." and nn.FromSpecs does not know them: rebuild a model that
// contains them with Model.Fresh.

// Kinds of the layers of this package, as reported by their Spec.
const (
	KindLeakyReLU  = "onnx.leakyrelu"
	KindSoftmax    = "onnx.softmax"
	KindLogSoftmax = "onnx.logsoftmax"
	KindConstOp    = "onnx.constop"
	KindView       = "onnx.view"
)

// reuse returns *t with the given shape, reusing its storage when large enough.
func reuse(t **nn.Tensor, shape []int) *nn.Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	if *t == nil {
		*t = &nn.Tensor{}
	}
	x := *t
	if cap(x.Data) < n {
		x.Data = make([]float32, n)
	}
	x.Data = x.Data[:n]
	x.Shape = append(x.Shape[:0], shape...)
	return x
}

// LeakyReLU is ONNX LeakyRelu (PyTorch nn.LeakyReLU): x for x ≥ 0, Alpha·x otherwise.
type LeakyReLU struct {
	Alpha float32

	x, y, dx *nn.Tensor
}

// Spec implements nn.Layer: kind "onnx.leakyrelu" with P = Alpha.
func (l *LeakyReLU) Spec() nn.LayerSpec {
	return nn.LayerSpec{Kind: KindLeakyReLU, P: float64(l.Alpha)}
}

// OutShape implements nn.Layer.
func (l *LeakyReLU) OutShape(in []int) ([]int, error) { return append([]int(nil), in...), nil }

// Params implements nn.Layer; there are none.
func (l *LeakyReLU) Params() []nn.Param { return nil }

// Forward implements nn.Layer.
func (l *LeakyReLU) Forward(x *nn.Tensor, train bool) *nn.Tensor {
	l.x = x
	y := reuse(&l.y, x.Shape)
	for i, v := range x.Data {
		if v < 0 {
			v *= l.Alpha
		}
		y.Data[i] = v
	}
	return y
}

// Backward implements nn.Layer; the derivative at 0 is taken as 1, as in PyTorch.
func (l *LeakyReLU) Backward(dy *nn.Tensor, needDX bool) *nn.Tensor {
	if !needDX {
		return nil
	}
	dx := reuse(&l.dx, dy.Shape)
	for i, g := range dy.Data {
		if l.x.Data[i] < 0 {
			g *= l.Alpha
		}
		dx.Data[i] = g
	}
	return dx
}

func (l *LeakyReLU) fresh() nn.Layer { return &LeakyReLU{Alpha: l.Alpha} }

// Softmax is softmax (or, with Log, log-softmax) over groups of Dim values of each record: a record
// of shape Shape is viewed as Outer × Dim × Inner (Outer·Dim·Inner elements) and normalised along Dim.
// This covers ONNX Softmax of opset 13 and later (one axis: Outer and Inner are the products of the
// dimensions before and after it) and of earlier opsets (the axis and all later dimensions: Inner = 1).
type Softmax struct {
	Log               bool
	Shape             []int
	Outer, Dim, Inner int

	y, dx *nn.Tensor
}

// Spec implements nn.Layer: kind "onnx.softmax" or "onnx.logsoftmax", with In = Dim.
func (s *Softmax) Spec() nn.LayerSpec {
	if s.Log {
		return nn.LayerSpec{Kind: KindLogSoftmax, In: s.Dim}
	}
	return nn.LayerSpec{Kind: KindSoftmax, In: s.Dim}
}

// OutShape implements nn.Layer. The input must have shape Shape.
func (s *Softmax) OutShape(in []int) ([]int, error) {
	n, err := numelOf(s.Shape)
	if err != nil || s.Outer <= 0 || s.Dim <= 0 || s.Inner <= 0 || s.Outer*s.Dim*s.Inner != n {
		return nil, fmt.Errorf("%s: invalid layer", s.Spec().Kind)
	}
	if !slices.Equal(in, s.Shape) {
		return nil, fmt.Errorf("%s: input shape %v, want %v", s.Spec().Kind, in, s.Shape)
	}
	return append([]int(nil), in...), nil
}

// Params implements nn.Layer; there are none.
func (s *Softmax) Params() []nn.Param { return nil }

// Forward implements nn.Layer. Sums are taken in float64.
func (s *Softmax) Forward(x *nn.Tensor, train bool) *nn.Tensor {
	y := reuse(&s.y, x.Shape)
	s.groups(len(x.Data), func(base int) {
		mx := math.Inf(-1)
		for k := 0; k < s.Dim; k++ {
			mx = math.Max(mx, float64(x.Data[base+k*s.Inner]))
		}
		var sum float64
		for k := 0; k < s.Dim; k++ {
			sum += math.Exp(float64(x.Data[base+k*s.Inner]) - mx)
		}
		lse := mx + math.Log(sum)
		for k := 0; k < s.Dim; k++ {
			i := base + k*s.Inner
			if s.Log {
				y.Data[i] = float32(float64(x.Data[i]) - lse)
			} else {
				y.Data[i] = float32(math.Exp(float64(x.Data[i]) - lse))
			}
		}
	})
	return y
}

// Backward implements nn.Layer: dx = y·(dy − Σ dy·y) for softmax, dx = dy − softmax·Σ dy for
// log-softmax.
func (s *Softmax) Backward(dy *nn.Tensor, needDX bool) *nn.Tensor {
	if !needDX {
		return nil
	}
	dx := reuse(&s.dx, dy.Shape)
	y := s.y.Data
	s.groups(len(dy.Data), func(base int) {
		var dot float64
		for k := 0; k < s.Dim; k++ {
			i := base + k*s.Inner
			if s.Log {
				dot += float64(dy.Data[i])
			} else {
				dot += float64(dy.Data[i]) * float64(y[i])
			}
		}
		for k := 0; k < s.Dim; k++ {
			i := base + k*s.Inner
			if s.Log {
				dx.Data[i] = float32(float64(dy.Data[i]) - math.Exp(float64(y[i]))*dot)
			} else {
				dx.Data[i] = float32(float64(y[i]) * (float64(dy.Data[i]) - dot))
			}
		}
	})
	return dx
}

// groups calls f with the index of the first element of every group of an n-element batch.
func (s *Softmax) groups(n int, f func(base int)) {
	block := s.Dim * s.Inner
	for start := 0; start < n; start += block {
		for j := 0; j < s.Inner; j++ {
			f(start + j)
		}
	}
}

func (s *Softmax) fresh() nn.Layer {
	return &Softmax{Log: s.Log, Shape: append([]int(nil), s.Shape...), Outer: s.Outer, Dim: s.Dim, Inner: s.Inner}
}

// Element-wise operations of ConstOp.
const (
	OpAdd  = '+' // x + c
	OpSub  = '-' // x − c
	OpRSub = 'r' // c − x
	OpMul  = '*' // x · c
	OpDiv  = '/' // x / c
	OpRDiv = 'd' // c / x
)

// ConstOp applies an element-wise binary operation between each record and a constant (ONNX Add,
// Sub, Mul or Div with a constant operand). C holds the constant in its own shape CShape, which has
// the rank of the record's shape Shape and, along each dimension, either its size or 1 (broadcast);
// it is expanded to Shape at the first Forward. The constant is not a trainable parameter.
type ConstOp struct {
	Op     byte // OpAdd, OpSub, OpRSub, OpMul, OpDiv or OpRDiv
	Shape  []int
	C      []float32
	CShape []int

	full     []float32 // C expanded to Shape
	x, y, dx *nn.Tensor
}

// Spec implements nn.Layer: kind "onnx.constop" (the operation and constant are not described).
func (c *ConstOp) Spec() nn.LayerSpec { return nn.LayerSpec{Kind: KindConstOp} }

// OutShape implements nn.Layer. The input must have shape Shape.
func (c *ConstOp) OutShape(in []int) ([]int, error) {
	n, err := numelOf(c.CShape)
	valid := err == nil && n == len(c.C) && len(c.CShape) == len(c.Shape) && validOp(c.Op)
	for i, d := range c.CShape {
		valid = valid && (d == 1 || d == c.Shape[i])
	}
	if !valid {
		return nil, fmt.Errorf("%s: invalid layer", KindConstOp)
	}
	if !slices.Equal(in, c.Shape) {
		return nil, fmt.Errorf("%s: input shape %v, want %v", KindConstOp, in, c.Shape)
	}
	return append([]int(nil), in...), nil
}

func validOp(op byte) bool {
	switch op {
	case OpAdd, OpSub, OpRSub, OpMul, OpDiv, OpRDiv:
		return true
	}
	return false
}

// Params implements nn.Layer; the constant is not trainable.
func (c *ConstOp) Params() []nn.Param { return nil }

// Forward implements nn.Layer.
func (c *ConstOp) Forward(x *nn.Tensor, train bool) *nn.Tensor {
	if c.full == nil {
		c.full = expand(c.C, c.CShape, c.Shape)
	}
	c.x = x
	y := reuse(&c.y, x.Shape)
	cs := c.full
	k := len(cs)
	for start := 0; start < len(x.Data); start += k {
		xs, ys := x.Data[start:start+k], y.Data[start:start+k]
		switch c.Op {
		case OpAdd:
			for j, v := range xs {
				ys[j] = v + cs[j]
			}
		case OpSub:
			for j, v := range xs {
				ys[j] = v - cs[j]
			}
		case OpRSub:
			for j, v := range xs {
				ys[j] = cs[j] - v
			}
		case OpMul:
			for j, v := range xs {
				ys[j] = v * cs[j]
			}
		case OpDiv:
			for j, v := range xs {
				ys[j] = v / cs[j]
			}
		case OpRDiv:
			for j, v := range xs {
				ys[j] = cs[j] / v
			}
		}
	}
	return y
}

// Backward implements nn.Layer.
func (c *ConstOp) Backward(dy *nn.Tensor, needDX bool) *nn.Tensor {
	if !needDX {
		return nil
	}
	dx := reuse(&c.dx, dy.Shape)
	cs := c.full
	k := len(cs)
	for start := 0; start < len(dy.Data); start += k {
		gs, ds, xs := dy.Data[start:start+k], dx.Data[start:start+k], c.x.Data[start:start+k]
		for j, g := range gs {
			switch c.Op {
			case OpAdd, OpSub:
				ds[j] = g
			case OpRSub:
				ds[j] = -g
			case OpMul:
				ds[j] = g * cs[j]
			case OpDiv:
				ds[j] = g / cs[j]
			case OpRDiv:
				ds[j] = -g * cs[j] / (xs[j] * xs[j])
			}
		}
	}
	return dx
}

func (c *ConstOp) fresh() nn.Layer {
	return &ConstOp{Op: c.Op, Shape: append([]int(nil), c.Shape...), C: append([]float32(nil), c.C...),
		CShape: append([]int(nil), c.CShape...)}
}

// View changes the per-record shape from In to Out (same number of elements) without moving data,
// like a reshape of a contiguous PyTorch tensor. The output shares the input's data.
type View struct {
	In, Out []int

	y, dx nn.Tensor
}

// Spec implements nn.Layer: kind "onnx.view" (the shapes are not described).
func (v *View) Spec() nn.LayerSpec { return nn.LayerSpec{Kind: KindView} }

// OutShape implements nn.Layer. The input must have shape In.
func (v *View) OutShape(in []int) ([]int, error) {
	a, err1 := numelOf(v.In)
	b, err2 := numelOf(v.Out)
	if err1 != nil || err2 != nil || a != b {
		return nil, fmt.Errorf("%s: invalid layer (%v to %v)", KindView, v.In, v.Out)
	}
	if !slices.Equal(in, v.In) {
		return nil, fmt.Errorf("%s: input shape %v, want %v", KindView, in, v.In)
	}
	return append([]int(nil), v.Out...), nil
}

// Params implements nn.Layer; there are none.
func (v *View) Params() []nn.Param { return nil }

// Forward implements nn.Layer. The result shares x's data.
func (v *View) Forward(x *nn.Tensor, train bool) *nn.Tensor {
	v.y.Shape = append(append(v.y.Shape[:0], x.Rows()), v.Out...)
	v.y.Data = x.Data
	return &v.y
}

// Backward implements nn.Layer. The result shares dy's data.
func (v *View) Backward(dy *nn.Tensor, needDX bool) *nn.Tensor {
	if !needDX {
		return nil
	}
	v.dx.Shape = append(append(v.dx.Shape[:0], dy.Rows()), v.In...)
	v.dx.Data = dy.Data
	return &v.dx
}

func (v *View) fresh() nn.Layer {
	return &View{In: append([]int(nil), v.In...), Out: append([]int(nil), v.Out...)}
}
