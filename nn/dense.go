package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Dense is a fully connected layer (PyTorch nn.Linear): y = x·Wᵀ + b for x of shape N × In.
// W is Out × In and b has length Out.
type Dense struct {
	In, Out int
	W, B    *Tensor // B is nil without bias
	DW, DB  *Tensor

	x, y, dx, dy *Tensor
	// noParamGrad makes Backward compute the input gradient only (DP-SGD's first pass).
	noParamGrad bool
}

// NewDense returns a Dense layer with zero parameters. in and out must be positive.
func NewDense(in, out int, bias bool) (*Dense, error) {
	if in <= 0 || out <= 0 {
		return nil, fmt.Errorf("nn: dense: in=%d and out=%d must be positive", in, out)
	}
	d := &Dense{In: in, Out: out, W: NewTensor(out, in), DW: NewTensor(out, in)}
	if bias {
		d.B, d.DB = NewTensor(out), NewTensor(out)
	}
	return d, nil
}

// Spec implements Layer.
func (d *Dense) Spec() LayerSpec {
	return LayerSpec{Kind: KindDense, In: d.In, Out: d.Out, NoBias: d.B == nil}
}

// OutShape implements Layer. The input must be a vector of In features.
func (d *Dense) OutShape(in []int) ([]int, error) {
	if d.W == nil || d.W.Len() != d.In*d.Out || d.DW == nil || d.DW.Len() != d.W.Len() ||
		(d.B != nil && (d.B.Len() != d.Out || d.DB == nil || d.DB.Len() != d.Out)) {
		return nil, fmt.Errorf("dense: invalid layer (build it with NewDense)")
	}
	if len(in) != 1 || in[0] != d.In {
		return nil, fmt.Errorf("dense: input shape %v, want [%d] (add a flatten layer for images)", in, d.In)
	}
	return []int{d.Out}, nil
}

// Init draws W and b from U(-1/√In, 1/√In), PyTorch's default (kaiming-uniform with a = √5).
func (d *Dense) Init(r *rand.Rand) {
	bound := 1 / math.Sqrt(float64(d.In))
	for i := range d.W.Data {
		d.W.Data[i] = uniform32(r, bound)
	}
	if d.B != nil {
		for i := range d.B.Data {
			d.B.Data[i] = uniform32(r, bound)
		}
	}
}

// Params implements Layer: "weight" (Out × In) and "bias" (Out).
func (d *Dense) Params() []Param {
	p := []Param{{Name: "weight", Value: d.W, Grad: d.DW}}
	if d.B != nil {
		p = append(p, Param{Name: "bias", Value: d.B, Grad: d.DB})
	}
	return p
}

// Forward implements Layer.
func (d *Dense) Forward(x *Tensor, train bool) *Tensor {
	n := x.Rows()
	d.x = x
	y := reuse(&d.y, n, d.Out)
	if d.B != nil {
		for i := 0; i < n; i++ {
			copy(y.Data[i*d.Out:(i+1)*d.Out], d.B.Data)
		}
		gemm(false, true, n, d.Out, d.In, 1, x.Data, d.In, d.W.Data, d.In, 1, y.Data, d.Out)
	} else {
		gemm(false, true, n, d.Out, d.In, 1, x.Data, d.In, d.W.Data, d.In, 0, y.Data, d.Out)
	}
	return y
}

// Backward implements Layer.
func (d *Dense) Backward(dy *Tensor, needDX bool) *Tensor {
	n := dy.Rows()
	d.dy = dy
	if !d.noParamGrad {
		d.paramGrads(dy)
	}
	if !needDX {
		return nil
	}
	dx := reuse(&d.dx, n, d.In)
	gemm(false, false, n, d.In, d.Out, 1, dy.Data, d.Out, d.W.Data, d.In, 0, dx.Data, d.In)
	return dx
}

// paramGrads sets the parameter gradients for output gradient dy.
func (d *Dense) paramGrads(dy *Tensor) {
	n := dy.Rows()
	gemm(true, false, d.Out, d.In, n, 1, dy.Data, d.Out, d.x.Data, d.In, 0, d.DW.Data, d.In)
	if d.B != nil {
		db := d.DB.Data
		clear32(db)
		for i := 0; i < n; i++ {
			row := dy.Data[i*d.Out : (i+1)*d.Out]
			for j, v := range row {
				db[j] += v
			}
		}
	}
}

// AddRecordSqNorms implements RecordNormer with the ghost-norm identity: the gradient of record i is
// the outer product δ_i·a_iᵀ (plus δ_i for the bias), so ‖g_i‖² = ‖a_i‖²·‖δ_i‖² + ‖δ_i‖².
func (d *Dense) AddRecordSqNorms(sq []float64) {
	for i := range sq {
		a := sumSq(d.x.Data[i*d.In : (i+1)*d.In])
		g := sumSq(d.dy.Data[i*d.Out : (i+1)*d.Out])
		sq[i] += a * g
		if d.B != nil {
			sq[i] += g
		}
	}
}

func sumSq(s []float32) float64 {
	var t float64
	for _, v := range s {
		t += float64(v) * float64(v)
	}
	return t
}

func (d *Dense) setNoParamGrad(v bool) { d.noParamGrad = v }
func (d *Dense) lastDY() *Tensor       { return d.dy }
