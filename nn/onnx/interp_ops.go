package onnx

import (
	"fmt"
	"math"
	"slices"

	"github.com/pmeter/pmeter/nn/gemm"
)

// graphOps maps each operator a Graph runs to its implementation. Constant is decoded when the graph
// is loaded.
var graphOps map[string]opFunc

func init() {
	graphOps = map[string]opFunc{
		"Constant": nil, // replaced below
		"Identity": opIdentity, "Dropout": opDropout,
		"Add": binaryOp(bAdd), "Sub": binaryOp(bSub), "Mul": binaryOp(bMul), "Div": binaryOp(bDiv),
		"Pow": binaryOp(bPow), "Equal": binaryOp(bEq), "Less": binaryOp(bLt), "Greater": binaryOp(bGt),
		"LessOrEqual": binaryOp(bLe), "GreaterOrEqual": binaryOp(bGe), "And": binaryOp(bAnd),
		"Or": binaryOp(bOr), "Xor": binaryOp(bXor), "Max": variadicOp(bMax), "Min": variadicOp(bMin),
		"Sum": variadicOp(bAdd),
		"Neg": unaryOp(uNeg), "Abs": unaryOp(uAbs), "Sqrt": unaryOp(uSqrt), "Exp": unaryOp(uExp),
		"Log": unaryOp(uLog), "Erf": unaryOp(uErf), "Tanh": unaryOp(uTanh), "Sigmoid": unaryOp(uSigmoid),
		"Relu": unaryOp(uRelu), "Reciprocal": unaryOp(uRecip), "Not": unaryOp(uNot), "Floor": unaryOp(uFloor),
		"Ceil": unaryOp(uCeil), "Gelu": opGelu, "Clip": opClip,
		"Softmax": opSoftmax, "LogSoftmax": opSoftmax, "LayerNormalization": opLayerNorm,
		"ReduceMean": opReduce, "ReduceSum": opReduce, "ReduceMax": opReduce, "ReduceMin": opReduce,
		"MatMul": opMatMul, "Gemm": opGemm, "Gather": opGather,
		"Shape": opShape, "Size": opSize, "Reshape": opReshape, "Flatten": opFlatten,
		"Transpose": opTranspose, "Concat": opConcat, "Split": opSplit, "Slice": opSlice,
		"Squeeze": opSqueeze, "Unsqueeze": opSqueeze, "Expand": opExpand, "ConstantOfShape": opConstantOfShape,
		"Range": opRange, "Where": opWhere, "Cast": opCast, "Trilu": opTrilu, "CumSum": opCumSum,
	}
	graphOps["Constant"] = func(*runner, *gnode, []*constant) ([]*constant, error) {
		return nil, fmt.Errorf("constant not folded")
	}
}

// ---- allocation and argument helpers ----

// newTensor returns a zero tensor of the given shape, float or integer, refusing more than MaxElems
// elements.
func (r *runner) newTensor(shape []int, float bool) (*constant, error) {
	n, err := numelOf(shape)
	if err != nil {
		return nil, err
	}
	if n > r.g.MaxElems {
		return nil, fmt.Errorf("an output of shape %v has %d elements, more than the limit of %d", shape, n, r.g.MaxElems)
	}
	k := &constant{Shape: shape}
	if float {
		k.F = make([]float32, n)
	} else {
		k.I = make([]int64, n)
	}
	return k, nil
}

// arg returns input i, or an error when it is absent.
func arg(n *gnode, in []*constant, i int) (*constant, error) {
	if i >= len(in) || in[i] == nil {
		return nil, fmt.Errorf("input %d is missing", i)
	}
	return in[i], nil
}

// optArg returns input i or nil when it is absent.
func optArg(in []*constant, i int) *constant {
	if i < len(in) {
		return in[i]
	}
	return nil
}

// intsArg returns input i as integers (an error for a float tensor); absent gives nil, false.
func intsArg(in []*constant, i int, what string) ([]int64, bool, error) {
	k := optArg(in, i)
	if k == nil {
		return nil, false, nil
	}
	v, err := k.ints()
	if err != nil {
		return nil, true, fmt.Errorf("%s: %w", what, err)
	}
	return v, true, nil
}

// scalarArg returns the one value of input i as float64.
func scalarArg(n *gnode, in []*constant, i int, what string) (float64, error) {
	k, err := arg(n, in, i)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	if k.Len() != 1 {
		return 0, fmt.Errorf("%s has %d values (shape %v), want 1", what, k.Len(), k.Shape)
	}
	if k.isFloat() {
		return float64(k.F[0]), nil
	}
	return float64(k.I[0]), nil
}

// normAxis resolves a possibly negative axis for rank r.
func normAxis(a int64, r int, what string) (int, error) {
	if a < 0 {
		a += int64(r)
	}
	if a < 0 || a >= int64(r) {
		return 0, fmt.Errorf("%s %d is out of range for rank %d", what, a, r)
	}
	return int(a), nil
}

// stridesOf returns the row-major strides of shape.
func stridesOf(shape []int) []int {
	s := make([]int, len(shape))
	step := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = step
		step *= shape[i]
	}
	return s
}

// broadcastShapes returns the NumPy broadcast of shapes.
func broadcastShapes(shapes ...[]int) ([]int, error) {
	r := 0
	for _, s := range shapes {
		r = max(r, len(s))
	}
	out := make([]int, r)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		off := r - len(s)
		for i, d := range s {
			switch o := out[off+i]; {
			case d == o || d == 1:
			case o == 1:
				out[off+i] = d
			default:
				return nil, fmt.Errorf("shapes %v do not broadcast", shapes)
			}
		}
	}
	return out, nil
}

// bstrides returns the strides of a tensor of shape s read as the broadcast shape out (0 along
// broadcast dimensions).
func bstrides(s, out []int) []int {
	st := make([]int, len(out))
	own := stridesOf(s)
	off := len(out) - len(s)
	for i, d := range s {
		if d != 1 {
			st[off+i] = own[i]
		}
	}
	return st
}

// eachRow calls f for every row (last dimension) of the broadcast shape out, with the offsets of the
// row's first element in each operand (whose strides are st) and the operands' strides along the row.
func eachRow(out []int, st [][]int, f func(o int, offs []int)) {
	r := len(out)
	if r == 0 {
		f(0, make([]int, len(st)))
		return
	}
	rows := 1
	for _, d := range out[:r-1] {
		rows *= d
	}
	if rows == 0 || out[r-1] == 0 {
		return
	}
	idx := make([]int, r-1)
	offs := make([]int, len(st))
	for row := 0; row < rows; row++ {
		f(row*out[r-1], offs)
		for d := r - 2; d >= 0; d-- {
			idx[d]++
			for k := range offs {
				offs[k] += st[k][d]
			}
			if idx[d] < out[d] {
				break
			}
			for k := range offs {
				offs[k] -= st[k][d] * idx[d]
			}
			idx[d] = 0
		}
	}
}

// ---- element-wise operators ----

type bop int

const (
	bAdd bop = iota
	bSub
	bMul
	bDiv
	bPow
	bEq
	bLt
	bGt
	bLe
	bGe
	bAnd
	bOr
	bXor
	bMax
	bMin
)

// compares reports whether op gives a boolean.
func (op bop) compares() bool { return op >= bEq && op <= bXor }

func binaryOp(op bop) opFunc {
	return func(r *runner, n *gnode, in []*constant) ([]*constant, error) {
		if len(in) != 2 {
			return nil, fmt.Errorf("%d inputs, want 2", len(in))
		}
		out, err := r.binary(op, in[0], in[1])
		return []*constant{out}, err
	}
}

func variadicOp(op bop) opFunc {
	return func(r *runner, n *gnode, in []*constant) ([]*constant, error) {
		if len(in) == 0 {
			return nil, fmt.Errorf("no inputs")
		}
		acc, err := arg(n, in, 0)
		if err != nil {
			return nil, err
		}
		for i := 1; i < len(in); i++ {
			b, err := arg(n, in, i)
			if err != nil {
				return nil, err
			}
			if acc, err = r.binary(op, acc, b); err != nil {
				return nil, err
			}
		}
		return []*constant{acc}, nil
	}
}

func (r *runner) binary(op bop, a, b *constant) (*constant, error) {
	if a == nil || b == nil {
		return nil, fmt.Errorf("an input is missing")
	}
	if a.isFloat() != b.isFloat() && op == bPow {
		// Pow's exponent may have another type than the base (opset 12): convert it to the base's.
		if a.isFloat() {
			b = &constant{Shape: b.Shape, F: b.floats()}
		} else {
			e := make([]int64, len(b.F))
			for i, v := range b.F {
				if v != v || math.Abs(float64(v)) >= 1<<62 {
					return nil, fmt.Errorf("exponent %v for an integer base", v)
				}
				e[i] = int64(v)
			}
			b = &constant{Shape: b.Shape, I: e}
		}
	}
	if a.isFloat() != b.isFloat() {
		return nil, fmt.Errorf("operands of types %s and %s (they must be the same)", typeName(a), typeName(b))
	}
	if (op == bAnd || op == bOr || op == bXor) && a.isFloat() {
		return nil, fmt.Errorf("logical operator on float tensors")
	}
	shape, err := broadcastShapes(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	out, err := r.newTensor(shape, a.isFloat() && !op.compares())
	if err != nil {
		return nil, err
	}
	st := [][]int{bstrides(a.Shape, shape), bstrides(b.Shape, shape)}
	w := 1
	if len(shape) > 0 {
		w = shape[len(shape)-1]
	}
	sa, sb := st[0], st[1]
	ia, ib := 0, 0
	if len(shape) > 0 {
		ia, ib = sa[len(shape)-1], sb[len(shape)-1]
	}
	var ferr error
	eachRow(shape, st, func(o int, offs []int) {
		if a.isFloat() {
			if op.compares() {
				cmpRowF(op, out.I[o:o+w], a.F, offs[0], ia, b.F, offs[1], ib)
			} else {
				floatRow(op, out.F[o:o+w], a.F, offs[0], ia, b.F, offs[1], ib)
			}
		} else if err := intRow(op, out.I[o:o+w], a.I, offs[0], ia, b.I, offs[1], ib); err != nil && ferr == nil {
			ferr = err
		}
	})
	return out, ferr
}

func floatRow(op bop, out, a []float32, oa, ia int, b []float32, ob, ib int) {
	switch op {
	case bAdd:
		if ia == 1 && ib == 1 {
			a, b = a[oa:oa+len(out)], b[ob:ob+len(out)]
			for j := range out {
				out[j] = a[j] + b[j]
			}
			return
		}
		for j := range out {
			out[j] = a[oa+j*ia] + b[ob+j*ib]
		}
	case bSub:
		for j := range out {
			out[j] = a[oa+j*ia] - b[ob+j*ib]
		}
	case bMul:
		if ia == 1 && ib == 1 {
			a, b = a[oa:oa+len(out)], b[ob:ob+len(out)]
			for j := range out {
				out[j] = a[j] * b[j]
			}
			return
		}
		for j := range out {
			out[j] = a[oa+j*ia] * b[ob+j*ib]
		}
	case bDiv:
		for j := range out {
			out[j] = a[oa+j*ia] / b[ob+j*ib]
		}
	case bPow:
		for j := range out {
			x, y := a[oa+j*ia], b[ob+j*ib]
			switch y {
			case 2:
				out[j] = x * x
			case 1:
				out[j] = x
			case 3:
				out[j] = x * x * x
			default:
				out[j] = float32(math.Pow(float64(x), float64(y)))
			}
		}
	case bMax:
		for j := range out {
			x, y := a[oa+j*ia], b[ob+j*ib]
			if x != x || y > x {
				x = y
			}
			out[j] = x
		}
	case bMin:
		for j := range out {
			x, y := a[oa+j*ia], b[ob+j*ib]
			if x != x || y < x {
				x = y
			}
			out[j] = x
		}
	}
}

func cmpRowF(op bop, out []int64, a []float32, oa, ia int, b []float32, ob, ib int) {
	for j := range out {
		x, y := a[oa+j*ia], b[ob+j*ib]
		var v bool
		switch op {
		case bEq:
			v = x == y
		case bLt:
			v = x < y
		case bGt:
			v = x > y
		case bLe:
			v = x <= y
		case bGe:
			v = x >= y
		}
		if v {
			out[j] = 1
		}
	}
}

func intRow(op bop, out, a []int64, oa, ia int, b []int64, ob, ib int) error {
	for j := range out {
		x, y := a[oa+j*ia], b[ob+j*ib]
		var v int64
		switch op {
		case bAdd:
			v = x + y
		case bSub:
			v = x - y
		case bMul:
			v = x * y
		case bDiv:
			if y == 0 {
				return fmt.Errorf("integer division by zero")
			}
			if y == -1 {
				v = -x // avoids the overflow trap of MinInt64 / -1
			} else {
				v = x / y
			}
		case bPow:
			if y < 0 {
				return fmt.Errorf("integer power with negative exponent %d", y)
			}
			v = 1
			for e, base := y, x; e > 0; e >>= 1 {
				if e&1 == 1 {
					v *= base
				}
				base *= base
			}
		case bEq:
			v = b2i(x == y)
		case bLt:
			v = b2i(x < y)
		case bGt:
			v = b2i(x > y)
		case bLe:
			v = b2i(x <= y)
		case bGe:
			v = b2i(x >= y)
		case bAnd:
			v = b2i(x != 0 && y != 0)
		case bOr:
			v = b2i(x != 0 || y != 0)
		case bXor:
			v = b2i((x != 0) != (y != 0))
		case bMax:
			v = max(x, y)
		case bMin:
			v = min(x, y)
		}
		out[j] = v
	}
	return nil
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

type uop int

const (
	uNeg uop = iota
	uAbs
	uSqrt
	uExp
	uLog
	uErf
	uTanh
	uSigmoid
	uRelu
	uRecip
	uNot
	uFloor
	uCeil
)

func unaryOp(op uop) opFunc {
	return func(r *runner, n *gnode, in []*constant) ([]*constant, error) {
		x, err := arg(n, in, 0)
		if err != nil {
			return nil, err
		}
		if !x.isFloat() {
			out, err := r.newTensor(x.Shape, false)
			if err != nil {
				return nil, err
			}
			for i, v := range x.I {
				switch op {
				case uNeg:
					out.I[i] = -v
				case uAbs:
					out.I[i] = max(v, -v)
				case uRelu:
					out.I[i] = max(v, 0)
				case uNot:
					out.I[i] = b2i(v == 0)
				case uFloor, uCeil:
					out.I[i] = v
				default:
					return nil, fmt.Errorf("%s of an integer tensor is not supported", n.n.OpType)
				}
			}
			return []*constant{out}, nil
		}
		if op == uNot {
			return nil, fmt.Errorf("Not of a float tensor")
		}
		out, err := r.newTensor(x.Shape, true)
		if err != nil {
			return nil, err
		}
		for i, v := range x.F {
			out.F[i] = unaryF(op, v)
		}
		return []*constant{out}, nil
	}
}

func unaryF(op uop, v float32) float32 {
	x := float64(v)
	switch op {
	case uNeg:
		return -v
	case uAbs:
		return float32(math.Abs(x))
	case uSqrt:
		return float32(math.Sqrt(x))
	case uExp:
		return float32(math.Exp(x))
	case uLog:
		return float32(math.Log(x))
	case uErf:
		return float32(math.Erf(x))
	case uTanh:
		return float32(math.Tanh(x))
	case uSigmoid:
		return float32(1 / (1 + math.Exp(-x)))
	case uRelu:
		return max(v, 0)
	case uRecip:
		return 1 / v
	case uFloor:
		return float32(math.Floor(x))
	case uCeil:
		return float32(math.Ceil(x))
	}
	return v
}

func opGelu(r *runner, n *gnode, in []*constant) ([]*constant, error) {
	x, err := arg(n, in, 0)
	if err != nil {
		return nil, err
	}
	if !x.isFloat() {
		return nil, fmt.Errorf("Gelu of an integer tensor")
	}
	approx := attrString(n.n, "approximate", "none")
	if approx != "none" && approx != "tanh" {
		return nil, fmt.Errorf("approximate %q (want none or tanh)", approx)
	}
	out, err := r.newTensor(x.Shape, true)
	if err != nil {
		return nil, err
	}
	for i, v := range x.F {
		z := float64(v)
		if approx == "tanh" {
			out.F[i] = float32(0.5 * z * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(z+0.044715*z*z*z))))
		} else {
			out.F[i] = float32(0.5 * z * (1 + math.Erf(z/math.Sqrt2)))
		}
	}
	return []*constant{out}, nil
}

func opClip(r *runner, n *gnode, in []*constant) ([]*constant, error) {
	x, err := arg(n, in, 0)
	if err != nil {
		return nil, err
	}
	lo, hi := math.Inf(-1), math.Inf(1)
	if r.g.Opset < 11 {
		lo, hi = float64(attrFloat(n.n, "min", float32(math.Inf(-1)))), float64(attrFloat(n.n, "max", float32(math.Inf(1))))
	} else {
		if optArg(in, 1) != nil {
			if lo, err = scalarArg(n, in, 1, "min"); err != nil {
				return nil, err
			}
		}
		if optArg(in, 2) != nil {
			if hi, err = scalarArg(n, in, 2, "max"); err != nil {
				return nil, err
			}
		}
	}
	out, err := r.newTensor(x.Shape, x.isFloat())
	if err != nil {
		return nil, err
	}
	if x.isFloat() {
		for i, v := range x.F {
			out.F[i] = float32(math.Min(math.Max(float64(v), lo), hi))
			if v != v {
				out.F[i] = v
			}
		}
	} else {
		for i, v := range x.I {
			f := math.Min(math.Max(float64(v), lo), hi)
			out.I[i] = v
			if f != float64(v) {
				out.I[i] = int64(f)
			}
		}
	}
	return []*constant{out}, nil
}

func opIdentity(r *runner, n *gnode, in []*constant) ([]*constant, error) {
	x, err := arg(n, in, 0)
	if err != nil {
		return nil, err
	}
	return []*constant{x}, nil
}

// opDropout is the identity of inference; its mask output, when asked for, is all true.
func opDropout(r *runner, n *gnode, in []*constant) ([]*constant, error) {
	x, err := arg(n, in, 0)
	if err != nil {
		return nil, err
	}
	if t := optArg(in, 2); t != nil && t.Len() == 1 && ((t.isFloat() && t.F[0] != 0) || (!t.isFloat() && t.I[0] != 0)) {
		return nil, fmt.Errorf("training_mode=true (only inference)")
	}
	if len(n.out) < 2 || n.out[1] < 0 {
		return []*constant{x}, nil
	}
	mask, err := r.newTensor(x.Shape, false)
	if err != nil {
		return nil, err
	}
	for i := range mask.I {
		mask.I[i] = 1
	}
	return []*constant{x, mask}, nil
}

// ---- normalisation ----

// outerInner splits shape at axis into the product before it, its size, and the product after it.
func outerInner(shape []int, axis int) (outer, dim, inner int) {
	return prod(shape[:axis]), shape[axis], prod(shape[axis+1:])
}

func opSoftmax(r *runner, n *gnode, in []*constant) ([]*constant, error) {
	x, err := arg(n, in, 0)
	if err != nil {
		return nil, err
	}
	if !x.isFloat() {
		return nil, fmt.Errorf("%s of an integer tensor", n.n.OpType)
	}
	rank := len(x.Shape)
	if rank == 0 {
		return nil, fmt.Errorf("%s of a scalar", n.n.OpType)
	}
	def := int64(1)
	if r.g.Opset >= 13 {
		def = -1
	}
	axis, err := normAxis(attrInt(n.n, "axis", def), rank, "axis")
	if err != nil {
		return nil, err
	}
	var outer, dim, inner int
	if r.g.Opset >= 13 {
		outer, dim, inner = outerInner(x.Shape, axis)
	} else {
		outer, dim, inner = prod(x.Shape[:axis]), prod(x.Shape[axis:]), 1
	}
	out, err := r.newTensor(x.Shape, true)
	if err != nil {
		return nil, err
	}
	log := n.n.OpType == "LogSoftmax"
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			base := o*dim*inner + i
			m := float32(math.Inf(-1))
			for j := 0; j < dim; j++ {
				if v := x.F[base+j*inner]; v > m || v != v {
					m = v
				}
			}
			var s float64
			for j := 0; j < dim; j++ {
				e := math.Exp(float64(x.F[base+j*inner] - m))
				s += e
				if !log {
					out.F[base+j*inner] = float32(e)
				}
			}
			if log {
				ls := math.Log(s)
				for j := 0; j < dim; j++ {
					out.F[base+j*inner] = float32(float64(x.F[base+j*inner]-m) - ls)
				}
			} else {
				for j := 0; j < dim; j++ {
					out.F[base+j*inner] = float32(float64(out.F[base+j*inner]) / s)
				}
			}
		}
	}
	return []*constant{out}, nil
}

func opLayerNorm(r *runner, n *gnode, in []*constant) ([]*constant, error) {
	x, err := arg(n, in, 0)
	if err != nil {
		return nil, err
	}
	scale, err := arg(n, in, 1)
	if err != nil {
		return nil, fmt.Errorf("Scale: %w", err)
	}
	bias := optArg(in, 2)
	if !x.isFloat() || !scale.isFloat() || bias != nil && !bias.isFloat() {
		return nil, fmt.Errorf("integer tensors (X, Scale and B must be float)")
	}
	rank := len(x.Shape)
	if rank == 0 {
		return nil, fmt.Errorf("X is a scalar")
	}
	axis, err := normAxis(attrInt(n.n, "axis", -1), rank, "axis")
	if err != nil {
		return nil, err
	}
	eps := decimal(attrFloat(n.n, "epsilon", 1e-5))
	outer, d := prod(x.Shape[:axis]), prod(x.Shape[axis:])
	if scale.Len() != d && scale.Len() != 1 {
		return nil, fmt.Errorf("Scale of shape %v for normalised dimensions %v", scale.Shape, x.Shape[axis:])
	}
	if bias != nil && bias.Len() != d && bias.Len() != 1 {
		return nil, fmt.Errorf("B of shape %v for normalised dimensions %v", bias.Shape, x.Shape[axis:])
	}
	out, err := r.newTensor(x.Shape, true)
	if err != nil {
		return nil, err
	}
	var mean, inv *constant
	statShape := append(append([]int(nil), x.Shape[:axis]...), slices.Repeat([]int{1}, rank-axis)...)
	if len(n.out) > 1 && n.out[1] >= 0 {
		if mean, err = r.newTensor(statShape, true); err != nil {
			return nil, err
		}
	}
	if len(n.out) > 2 && n.out[2] >= 0 {
		if inv, err = r.newTensor(statShape, true); err != nil {
			return nil, err
		}
	}
	if d == 0 {
		return []*constant{out, mean, inv}, nil
	}
	for o := 0; o < outer; o++ {
		row := x.F[o*d : (o+1)*d]
		var s float64
		for _, v := range row {
			s += float64(v)
		}
		mu := s / float64(d)
		var q float64
		for _, v := range row {
			q += (float64(v) - mu) * (float64(v) - mu)
		}
		is := 1 / math.Sqrt(q/float64(d)+eps)
		dst := out.F[o*d : (o+1)*d]
		for j, v := range row {
			y := (float64(v) - mu) * is
			if scale.Len() == 1 {
				y *= float64(scale.F[0])
			} else {
				y *= float64(scale.F[j])
			}
			if bias != nil {
				if bias.Len() == 1 {
					y += float64(bias.F[0])
				} else {
					y += float64(bias.F[j])
				}
			}
			dst[j] = float32(y)
		}
		if mean != nil {
			mean.F[o] = float32(mu)
		}
		if inv != nil {
			inv.F[o] = float32(is)
		}
	}
	return []*constant{out, mean, inv}, nil
}

func opReduce(r *runner, n *gnode, in []*constant) ([]*constant, error) {
	x, err := arg(n, in, 0)
	if err != nil {
		return nil, err
	}
	rank := len(x.Shape)
	axes, ok := attrInts(n.n, "axes")
	if !ok {
		var err error
		if axes, _, err = intsArg(in, 1, "axes"); err != nil {
			return nil, err
		}
	}
	keep := attrInt(n.n, "keepdims", 1) != 0
	reduce := make([]bool, rank)
	if len(axes) == 0 {
		if attrInt(n.n, "noop_with_empty_axes", 0) != 0 {
			return []*constant{x}, nil
		}
		for i := range reduce {
			reduce[i] = true
		}
	}
	for _, a := range axes {
		ax, err := normAxis(a, rank, "axis")
		if err != nil {
			return nil, err
		}
		reduce[ax] = true
	}
	var outShape, keptShape []int
	for i, d := range x.Shape {
		if reduce[i] {
			keptShape = append(keptShape, 1)
			if keep {
				outShape = append(outShape, 1)
			}
		} else {
			keptShape = append(keptShape, d)
			outShape = append(outShape, d)
		}
	}
	if outShape == nil {
		outShape = []int{}
	}
	cnt := 1
	for i, d := range x.Shape {
		if reduce[i] {
			cnt *= d
		}
	}
	op := n.n.OpType
	if cnt == 0 && (op == "ReduceMax" || op == "ReduceMin") {
		return nil, fmt.Errorf("%s over an empty axis", op)
	}
	const (
		rSum = iota
		rMax
		rMin
	)
	kind := rSum
	init := 0.0
	switch op {
	case "ReduceMax":
		kind, init = rMax, math.Inf(-1)
	case "ReduceMin":
		kind, init = rMin, math.Inf(1)
	}
	acc := make([]float64, prod(keptShape))
	for i := range acc {
		acc[i] = init
	}
	add := func(o int, v float64) {
		switch kind {
		case rMax:
			if v > acc[o] || v != v {
				acc[o] = v
			}
		case rMin:
			if v < acc[o] || v != v {
				acc[o] = v
			}
		default:
			acc[o] += v
		}
	}
	val := func(i int) float64 {
		if x.isFloat() {
			return float64(x.F[i])
		}
		return float64(x.I[i])
	}
	// The reduced axes are the last ones (LayerNorm's ReduceMean): contiguous rows.
	trailing := true
	for i := 1; i < rank; i++ {
		trailing = trailing && !(reduce[i-1] && !reduce[i])
	}
	if trailing && len(acc) > 0 {
		for o := range acc {
			for i := o * cnt; i < (o+1)*cnt; i++ {
				add(o, val(i))
			}
		}
	} else {
		// Strides of the output (kept shape) read along the input's dimensions.
		ost := bstrides(keptShape, x.Shape)
		idx := make([]int, rank)
		o := 0
		for i, total := 0, x.Len(); i < total; i++ {
			add(o, val(i))
			for d := rank - 1; d >= 0; d-- {
				idx[d]++
				o += ost[d]
				if idx[d] < x.Shape[d] {
					break
				}
				o -= ost[d] * idx[d]
				idx[d] = 0
			}
		}
	}
	out, err := r.newTensor(outShape, x.isFloat())
	if err != nil {
		return nil, err
	}
	for i, v := range acc {
		if op == "ReduceMean" {
			v /= float64(cnt)
		}
		if x.isFloat() {
			out.F[i] = float32(v)
		} else {
			out.I[i] = int64(v)
		}
	}
	return []*constant{out}, nil
}

// ---- matrix products ----

func opMatMul(r *runner, n *gnode, in []*constant) ([]*constant, error) {
	a, err := arg(n, in, 0)
	if err != nil {
		return nil, err
	}
	b, err := arg(n, in, 1)
	if err != nil {
		return nil, err
	}
	if !a.isFloat() || !b.isFloat() {
		return nil, fmt.Errorf("MatMul of integer tensors is not supported")
	}
	if len(a.Shape) == 0 || len(b.Shape) == 0 {
		return nil, fmt.Errorf("MatMul of a scalar (shapes %v and %v)", a.Shape, b.Shape)
	}
	as, bs := a.Shape, b.Shape
	if len(as) == 1 {
		as = []int{1, as[0]}
	}
	if len(bs) == 1 {
		bs = []int{bs[0], 1}
	}
	m, k, k2, nn := as[len(as)-2], as[len(as)-1], bs[len(bs)-2], bs[len(bs)-1]
	if k != k2 {
		return nil, fmt.Errorf("shapes %v and %v: inner dimensions %d and %d differ", a.Shape, b.Shape, k, k2)
	}
	batch, err := broadcastShapes(as[:len(as)-2], bs[:len(bs)-2])
	if err != nil {
		return nil, fmt.Errorf("shapes %v and %v: batch dimensions: %w", a.Shape, b.Shape, err)
	}
	full := append(append([]int(nil), batch...), m, nn)
	out, err := r.newTensor(full, true)
	if err != nil {
		return nil, err
	}
	var shape []int
	shape = append(shape, batch...)
	if len(a.Shape) > 1 {
		shape = append(shape, m)
	}
	if len(b.Shape) > 1 {
		shape = append(shape, nn)
	}
	out.Shape = shape
	if m == 0 || nn == 0 {
		return []*constant{out}, nil
	}
	w := r.g.Workers
	if len(bs) == 2 {
		// One product for every batch: A's rows are contiguous whatever its batch dimensions.
		if prod(as[:len(as)-2]) == prod(batch) {
			gemm.SgemmParallel(w, false, false, prod(batch)*m, nn, k, 1, a.F, max(k, 1), b.F, max(nn, 1), 0, out.F, nn)
			return []*constant{out}, nil
		}
	}
	sa := bstrides(as[:len(as)-2], batch)
	sb := bstrides(bs[:len(bs)-2], batch)
	nb := prod(batch)
	idx := make([]int, len(batch))
	oa, ob := 0, 0
	for i := 0; i < nb; i++ {
		gemm.SgemmParallel(w, false, false, m, nn, k, 1, a.F[oa*m*k:], max(k, 1), b.F[ob*k*nn:], max(nn, 1), 0, out.F[i*m*nn:], nn)
		for d := len(batch) - 1; d >= 0; d-- {
			idx[d]++
			oa += sa[d]
			ob += sb[d]
			if idx[d] < batch[d] {
				break
			}
			oa -= sa[d] * idx[d]
			ob -= sb[d] * idx[d]
			idx[d] = 0
		}
	}
	return []*constant{out}, nil
}

func opGemm(r *runner, n *gnode, in []*constant) ([]*constant, error) {
	a, err := arg(n, in, 0)
	if err != nil {
		return nil, err
	}
	b, err := arg(n, in, 1)
	if err != nil {
		return nil, err
	}
	c := optArg(in, 2)
	if !a.isFloat() || !b.isFloat() || c != nil && !c.isFloat() {
		return nil, fmt.Errorf("Gemm of integer tensors is not supported")
	}
	if len(a.Shape) != 2 || len(b.Shape) != 2 {
		return nil, fmt.Errorf("A of shape %v and B of shape %v (both must be matrices)", a.Shape, b.Shape)
	}
	tA, tB := attrInt(n.n, "transA", 0) != 0, attrInt(n.n, "transB", 0) != 0
	alpha, beta := attrFloat(n.n, "alpha", 1), attrFloat(n.n, "beta", 1)
	m, k := a.Shape[0], a.Shape[1]
	if tA {
		m, k = k, m
	}
	k2, nn := b.Shape[0], b.Shape[1]
	if tB {
		k2, nn = nn, k2
	}
	if k != k2 {
		return nil, fmt.Errorf("A of shape %v (transA=%v) and B of shape %v (transB=%v) do not multiply", a.Shape, tA, b.Shape, tB)
	}
	out, err := r.newTensor([]int{m, nn}, true)
	if err != nil {
		return nil, err
	}
	if c != nil && beta != 0 {
		if _, err := broadcastShapes(c.Shape, out.Shape); err != nil || len(c.Shape) > 2 {
			return nil, fmt.Errorf("C of shape %v does not broadcast to %v", c.Shape, out.Shape)
		}
		cs := c.Shape
		if len(cs) > 0 && cs[len(cs)-1] != 1 && cs[len(cs)-1] != nn || len(cs) == 2 && cs[0] != 1 && cs[0] != m {
			return nil, fmt.Errorf("C of shape %v does not broadcast to %v", c.Shape, out.Shape)
		}
		copy(out.F, expand(c.F, alignedOnes(cs, 2), out.Shape))
	} else {
		beta = 0
	}
	if m == 0 || nn == 0 {
		return []*constant{out}, nil
	}
	gemm.SgemmParallel(r.g.Workers, tA, tB, m, nn, k, alpha, a.F, max(a.Shape[1], 1), b.F, max(b.Shape[1], 1), beta, out.F, nn)
	return []*constant{out}, nil
}

// alignedOnes pads shape s with leading ones to rank r.
func alignedOnes(s []int, r int) []int {
	out := slices.Repeat([]int{1}, r-len(s))
	return append(out, s...)
}

// ---- indexing and shapes ----

func opGather(r *runner, n *gnode, in []*constant) ([]*constant, error) {
	x, err := arg(n, in, 0)
	if err != nil {
		return nil, err
	}
	idx, err := arg(n, in, 1)
	if err != nil {
		return nil, err
	}
	ii, err := idx.ints()
	if err != nil {
		return nil, fmt.Errorf("indices: %w", err)
	}
	if len(x.Shape) == 0 {
		return nil, fmt.Errorf("Gather from a scalar")
	}
	axis, err := normAxis(attrInt(n.n, "axis", 0), len(x.Shape), "axis")
	if err != nil {
		return nil, err
	}
	outer, dim, inner := outerInner(x.Shape, axis)
	shape := append(append(append([]int(nil), x.Shape[:axis]...), idx.Shape...), x.Shape[axis+1:]...)
	out, err := r.newTensor(shape, x.isFloat())
	if err != nil {
		return nil, err
	}
	for j, i := range ii {
		if i < 0 {
			i += int64(dim)
		}
		if i < 0 || i >= int64(dim) {
			return nil, fmt.Errorf("index %d is out of range [%d, %d) of axis %d of data of shape %v", ii[j], -dim, dim, axis, x.Shape)
		}
	}
	for o := 0; o < outer; o++ {
		for j, i := range ii {
			if i < 0 {
				i += int64(dim)
			}
			src := (o*dim + int(i)) * inner
			dst := (o*len(ii) + j) * inner
			if x.isFloat() {
				copy(out.F[dst:dst+inner], x.F[src:src+inner])
			} else {
				copy(out.I[dst:dst+inner], x.I[src:src+inner])
			}
		}
	}
	return []*constant{out}, nil
}

func opShape(r *runner, n *gnode, in []*constant) ([]*constant, error) {
	x, err := arg(n, in, 0)
	if err != nil {
		return nil, err
	}
	rk := int64(len(x.Shape))
	clamp := func(v int64) int64 {
		if v < 0 {
			v += rk
		}
		return min(max(v, 0), rk)
	}
	start, end := clamp(attrInt(n.n, "start", 0)), clamp(attrInt(n.n, "end", rk))
	end = max(end, start)
	out := &constant{Shape: []int{int(end - start)}, I: make([]int64, 0, end-start)}
	for _, d := range x.Shape[start:end] {
		out.I = append(out.I, int64(d))
	}
	return []*constant{out}, nil
}

func opSize(r *runner, n *gnode, in []*constant) ([]*constant, error) {
	x, err := arg(n, in, 0)
	if err != nil {
		return nil, err
	}
	return []*constant{{Shape: []int{}, I: []int64{int64(x.Len())}}}, nil
}

// view returns x's data with another shape (no copy).
func view(x *constant, shape []int) *constant {
	return &constant{Shape: shape, F: x.F, I: x.I}
}

func opReshape(r *runner, n *gnode, in []*constant) ([]*constant, error) {
	x, err := arg(n, in, 0)
	if err != nil {
		return nil, err
	}
	t, ok, err := intsArg(in, 1, "shape")
	if err != nil {
		return nil, err
	}
	if !ok {
		if t, ok = attrInts(n.n, "shape"); !ok {
			return nil, fmt.Errorf("no shape")
		}
	}
	if attrInt(n.n, "allowzero", 0) != 0 {
		for i, d := range t {
			if d < -1 || d > maxElems {
				return nil, fmt.Errorf("shape %v: element %d (%d)", t, i, d)
			}
		}
		if slices.Contains(t, 0) && slices.Contains(t, -1) {
			return nil, fmt.Errorf("shape %v has both 0 and −1 with allowzero=1", t)
		}
		if !slices.Contains(t, -1) {
			shape := make([]int, len(t))
			for i, d := range t {
				shape[i] = int(d)
			}
			if nn, err := numelOf(shape); err != nil || nn != x.Len() {
				return nil, fmt.Errorf("cannot reshape %v to %v", x.Shape, t)
			}
			return []*constant{view(x, shape)}, nil
		}
	}
	if c := count64(t, -1); c > 1 {
		return nil, fmt.Errorf("shape %v has %d −1", t, c)
	}
	shape, err := reshapeTarget(x.Shape, t)
	if err != nil {
		return nil, err
	}
	return []*constant{view(x, shape)}, nil
}

func count64(s []int64, v int64) int {
	c := 0
	for _, x := range s {
		if x == v {
			c++
		}
	}
	return c
}

func opFlatten(r *runner, n *gnode, in []*constant) ([]*constant, error) {
	x, err := arg(n, in, 0)
	if err != nil {
		return nil, err
	}
	rk := len(x.Shape)
	a := attrInt(n.n, "axis", 1)
	if a < 0 {
		a += int64(rk)
	}
	if a < 0 || a > int64(rk) {
		return nil, fmt.Errorf("axis %d for rank %d", attrInt(n.n, "axis", 1), rk)
	}
	return []*constant{view(x, []int{prod(x.Shape[:a]), prod(x.Shape[a:])})}, nil
}

// gatherStrided copies x into a new tensor of shape out, reading element idx at offset
// off0 + Σ idx[d]·st[d] of x.
func (r *runner) gatherStrided(x *constant, out []int, off0 int, st []int) (*constant, error) {
	y, err := r.newTensor(out, x.isFloat())
	if err != nil {
		return nil, err
	}
	w := 1
	inner := 0
	if len(out) > 0 {
		w, inner = out[len(out)-1], st[len(out)-1]
	}
	eachRow(out, [][]int{st}, func(o int, offs []int) {
		at := off0 + offs[0]
		if x.isFloat() {
			if inner == 1 {
				copy(y.F[o:o+w], x.F[at:at+w])
				return
			}
			for j := 0; j < w; j++ {
				y.F[o+j] = x.F[at+j*inner]
			}
		} else {
			for j := 0; j < w; j++ {
				y.I[o+j] = x.I[at+j*inner]
			}
		}
	})
	return y, nil
}

func opTranspose(r *runner, n *gnode, in []*constant) ([]*constant, error) {
	x, err := arg(n, in, 0)
	if err != nil {
		return nil, err
	}
	rk := len(x.Shape)
	perm, ok := attrInts(n.n, "perm")
	if !ok || len(perm) == 0 {
		perm = make([]int64, rk)
		for i := range perm {
			perm[i] = int64(rk - 1 - i)
		}
	}
	if len(perm) != rk {
		return nil, fmt.Errorf("perm %v for rank %d", perm, rk)
	}
	seen := make([]bool, rk)
	own := stridesOf(x.Shape)
	out, st := make([]int, rk), make([]int, rk)
	for i, p := range perm {
		if p < 0 || p >= int64(rk) || seen[p] {
			return nil, fmt.Errorf("perm %v is not a permutation of %d axes", perm, rk)
		}
		seen[p] = true
		out[i], st[i] = x.Shape[p], own[p]
	}
	y, err := r.gatherStrided(x, out, 0, st)
	return []*constant{y}, err
}

func opConcat(r *runner, n *gnode, in []*constant) ([]*constant, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("no inputs")
	}
	first, err := arg(n, in, 0)
	if err != nil {
		return nil, err
	}
	rk := len(first.Shape)
	if rk == 0 {
		return nil, fmt.Errorf("Concat of scalars")
	}
	axis, err := normAxis(attrInt(n.n, "axis", 0), rk, "axis")
	if err != nil {
		return nil, err
	}
	shape := append([]int(nil), first.Shape...)
	shape[axis] = 0
	for i := range in {
		x, err := arg(n, in, i)
		if err != nil {
			return nil, err
		}
		if x.isFloat() != first.isFloat() {
			return nil, fmt.Errorf("inputs mix float and integer tensors")
		}
		if len(x.Shape) != rk {
			return nil, fmt.Errorf("input %d has shape %v; input 0 has %v", i, x.Shape, first.Shape)
		}
		for d := range x.Shape {
			if d != axis && x.Shape[d] != first.Shape[d] {
				return nil, fmt.Errorf("input %d has shape %v; input 0 has %v (they differ outside axis %d)", i, x.Shape, first.Shape, axis)
			}
		}
		if shape[axis] > maxElems-x.Shape[axis] {
			return nil, fmt.Errorf("the output is too large")
		}
		shape[axis] += x.Shape[axis]
	}
	out, err := r.newTensor(shape, first.isFloat())
	if err != nil {
		return nil, err
	}
	outer, inner := prod(shape[:axis]), prod(shape[axis+1:])
	at := 0
	for o := 0; o < outer; o++ {
		for _, x := range in {
			w := x.Shape[axis] * inner
			if x.isFloat() {
				copy(out.F[at:at+w], x.F[o*w:(o+1)*w])
			} else {
				copy(out.I[at:at+w], x.I[o*w:(o+1)*w])
			}
			at += w
		}
	}
	return []*constant{out}, nil
}

func opSplit(r *runner, n *gnode, in []*constant) ([]*constant, error) {
	x, err := arg(n, in, 0)
	if err != nil {
		return nil, err
	}
	rk := len(x.Shape)
	if rk == 0 {
		return nil, fmt.Errorf("Split of a scalar")
	}
	axis, err := normAxis(attrInt(n.n, "axis", 0), rk, "axis")
	if err != nil {
		return nil, err
	}
	nOut := len(n.out)
	if nOut == 0 {
		return nil, fmt.Errorf("no outputs")
	}
	sizes, ok, err := intsArg(in, 1, "split")
	if err != nil {
		return nil, err
	}
	if !ok {
		sizes, ok = attrInts(n.n, "split")
	}
	dim := x.Shape[axis]
	if !ok || len(sizes) == 0 {
		if no := attrInt(n.n, "num_outputs", int64(nOut)); no != int64(nOut) {
			return nil, fmt.Errorf("num_outputs %d with %d outputs", no, nOut)
		}
		// Equal parts, the last smaller when dim does not divide (opset 18).
		part := (dim + nOut - 1) / nOut
		sizes = make([]int64, nOut)
		left := dim
		for i := range sizes {
			sizes[i] = int64(min(part, left))
			left -= int(sizes[i])
		}
	}
	if len(sizes) != nOut {
		return nil, fmt.Errorf("split %v has %d parts for %d outputs", sizes, len(sizes), nOut)
	}
	var total int64
	for _, s := range sizes {
		if s < 0 || s > int64(dim) {
			return nil, fmt.Errorf("split %v: a part is negative or longer than axis %d of shape %v", sizes, axis, x.Shape)
		}
		total += s
		if total > int64(dim) {
			break
		}
	}
	if total != int64(dim) {
		return nil, fmt.Errorf("split %v does not add up to axis %d of shape %v", sizes, axis, x.Shape)
	}
	outs := make([]*constant, nOut)
	st := stridesOf(x.Shape)
	off := 0
	for i, s := range sizes {
		shape := append([]int(nil), x.Shape...)
		shape[axis] = int(s)
		y, err := r.gatherStrided(x, shape, off*st[axis], st)
		if err != nil {
			return nil, err
		}
		outs[i] = y
		off += int(s)
	}
	return outs, nil
}

func opSlice(r *runner, n *gnode, in []*constant) ([]*constant, error) {
	x, err := arg(n, in, 0)
	if err != nil {
		return nil, err
	}
	rk := len(x.Shape)
	var starts, ends, axes, steps []int64
	if r.g.Opset < 10 {
		starts, _ = attrInts(n.n, "starts")
		ends, _ = attrInts(n.n, "ends")
		axes, _ = attrInts(n.n, "axes")
	} else {
		var ok bool
		if starts, ok, err = intsArg(in, 1, "starts"); err != nil || !ok {
			return nil, fmt.Errorf("starts: %v", orMissing(err))
		}
		if ends, ok, err = intsArg(in, 2, "ends"); err != nil || !ok {
			return nil, fmt.Errorf("ends: %v", orMissing(err))
		}
		if axes, _, err = intsArg(in, 3, "axes"); err != nil {
			return nil, err
		}
		if steps, _, err = intsArg(in, 4, "steps"); err != nil {
			return nil, err
		}
	}
	if len(starts) != len(ends) || axes != nil && len(axes) != len(starts) || steps != nil && len(steps) != len(starts) {
		return nil, fmt.Errorf("starts %v, ends %v, axes %v and steps %v differ in length", starts, ends, axes, steps)
	}
	shape := append([]int(nil), x.Shape...)
	own := stridesOf(x.Shape)
	st := append([]int(nil), own...)
	off := 0
	seen := make([]bool, rk)
	for i := range starts {
		a := int64(i)
		if axes != nil {
			a = axes[i]
		}
		ax, err := normAxis(a, rk, "axis")
		if err != nil {
			return nil, err
		}
		if seen[ax] {
			return nil, fmt.Errorf("axis %d is sliced twice", ax)
		}
		seen[ax] = true
		step := int64(1)
		if steps != nil {
			step = steps[i]
		}
		if step == 0 {
			return nil, fmt.Errorf("step 0")
		}
		dim := int64(x.Shape[ax])
		// A step longer than the axis takes at most one element: clamp it (no overflow below).
		step = min(max(step, -dim-1), dim+1)
		s, e := starts[i], ends[i]
		if s < 0 {
			s += dim
		}
		if e < 0 {
			e += dim
		}
		var cnt int64
		if step > 0 {
			s, e = min(max(s, 0), dim), min(max(e, 0), dim)
			if e > s {
				cnt = (e-s-1)/step + 1
			}
		} else {
			s, e = min(max(s, 0), dim-1), min(max(e, -1), dim-1)
			if s > e {
				cnt = (s-e-1)/(-step) + 1
			}
		}
		shape[ax] = int(cnt)
		if cnt > 0 {
			off += int(s) * own[ax]
		}
		st[ax] = own[ax] * int(step)
	}
	y, err := r.gatherStrided(x, shape, off, st)
	return []*constant{y}, err
}

func orMissing(err error) error {
	if err == nil {
		return fmt.Errorf("missing")
	}
	return err
}

func opSqueeze(r *runner, n *gnode, in []*constant) ([]*constant, error) {
	x, err := arg(n, in, 0)
	if err != nil {
		return nil, err
	}
	axes, ok := attrInts(n.n, "axes")
	if !ok {
		if axes, _, err = intsArg(in, 1, "axes"); err != nil {
			return nil, err
		}
	}
	var shape []int
	if n.n.OpType == "Unsqueeze" {
		if len(axes) == 0 {
			return nil, fmt.Errorf("no axes")
		}
		shape, err = unsqueezeShape(x.Shape, axes)
	} else {
		shape, err = squeezeShape(x.Shape, axes)
	}
	if err != nil {
		return nil, err
	}
	return []*constant{view(x, shape)}, nil
}

// shapeArg reads a shape input: non-negative integers.
func shapeArg(in []*constant, i int, what string) ([]int, error) {
	t, ok, err := intsArg(in, i, what)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s is missing", what)
	}
	shape := make([]int, len(t))
	for j, d := range t {
		if d < 0 || d > maxElems {
			return nil, fmt.Errorf("%s %v: dimension %d is %d", what, t, j, d)
		}
		shape[j] = int(d)
	}
	return shape, nil
}

func opExpand(r *runner, n *gnode, in []*constant) ([]*constant, error) {
	x, err := arg(n, in, 0)
	if err != nil {
		return nil, err
	}
	s, err := shapeArg(in, 1, "shape")
	if err != nil {
		return nil, err
	}
	shape, err := broadcastShapes(x.Shape, s)
	if err != nil {
		return nil, err
	}
	y, err := r.gatherStrided(x, shape, 0, bstrides(x.Shape, shape))
	return []*constant{y}, err
}

func opConstantOfShape(r *runner, n *gnode, in []*constant) ([]*constant, error) {
	shape, err := shapeArg(in, 0, "input")
	if err != nil {
		return nil, err
	}
	var val *constant
	if a := findAttr(n.n, "value"); a != nil {
		if a.T == nil {
			return nil, fmt.Errorf("attribute value holds no tensor")
		}
		if val, err = a.T.decode(); err != nil {
			return nil, fmt.Errorf("value: %w", err)
		}
		if val.Len() != 1 {
			return nil, fmt.Errorf("value has %d elements, want 1", val.Len())
		}
	} else {
		val = &constant{F: []float32{0}}
	}
	out, err := r.newTensor(shape, val.isFloat())
	if err != nil {
		return nil, err
	}
	if val.isFloat() {
		for i := range out.F {
			out.F[i] = val.F[0]
		}
	} else {
		for i := range out.I {
			out.I[i] = val.I[0]
		}
	}
	return []*constant{out}, nil
}

func opRange(r *runner, n *gnode, in []*constant) ([]*constant, error) {
	for i, what := range []string{"start", "limit", "delta"} {
		k, err := arg(n, in, i)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if k.Len() != 1 {
			return nil, fmt.Errorf("%s has shape %v, want a scalar", what, k.Shape)
		}
	}
	if in[0].isFloat() != in[1].isFloat() || in[0].isFloat() != in[2].isFloat() {
		return nil, fmt.Errorf("start, limit and delta mix float and integer types")
	}
	if !in[0].isFloat() {
		s, l, d := in[0].I[0], in[1].I[0], in[2].I[0]
		if d == 0 {
			return nil, fmt.Errorf("delta 0")
		}
		cnt := math.Ceil((float64(l) - float64(s)) / float64(d))
		if cnt > float64(r.g.MaxElems) {
			return nil, fmt.Errorf("%v elements, more than the limit of %d", cnt, r.g.MaxElems)
		}
		out, err := r.newTensor([]int{int(max(cnt, 0))}, false)
		if err != nil {
			return nil, err
		}
		for i := range out.I {
			out.I[i] = s + int64(i)*d
		}
		return []*constant{out}, nil
	}
	s, l, d := float64(in[0].F[0]), float64(in[1].F[0]), float64(in[2].F[0])
	cnt := math.Ceil((l - s) / d)
	if d == 0 || cnt != cnt {
		return nil, fmt.Errorf("range from %v to %v by %v", s, l, d)
	}
	if cnt > float64(r.g.MaxElems) {
		return nil, fmt.Errorf("%v elements, more than the limit of %d", cnt, r.g.MaxElems)
	}
	out, err := r.newTensor([]int{int(max(cnt, 0))}, true)
	if err != nil {
		return nil, err
	}
	for i := range out.F {
		out.F[i] = float32(s + float64(i)*d)
	}
	return []*constant{out}, nil
}

func opWhere(r *runner, n *gnode, in []*constant) ([]*constant, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("%d inputs, want 3", len(in))
	}
	c, err := arg(n, in, 0)
	if err != nil {
		return nil, err
	}
	x, err := arg(n, in, 1)
	if err != nil {
		return nil, err
	}
	y, err := arg(n, in, 2)
	if err != nil {
		return nil, err
	}
	if c.isFloat() {
		return nil, fmt.Errorf("condition is a float tensor (want bool)")
	}
	if x.isFloat() != y.isFloat() {
		return nil, fmt.Errorf("X and Y differ in type")
	}
	shape, err := broadcastShapes(c.Shape, x.Shape, y.Shape)
	if err != nil {
		return nil, err
	}
	out, err := r.newTensor(shape, x.isFloat())
	if err != nil {
		return nil, err
	}
	st := [][]int{bstrides(c.Shape, shape), bstrides(x.Shape, shape), bstrides(y.Shape, shape)}
	w, inner := 1, []int{0, 0, 0}
	if len(shape) > 0 {
		w = shape[len(shape)-1]
		for k := range inner {
			inner[k] = st[k][len(shape)-1]
		}
	}
	eachRow(shape, st, func(o int, offs []int) {
		for j := 0; j < w; j++ {
			pick := c.I[offs[0]+j*inner[0]] != 0
			if x.isFloat() {
				if pick {
					out.F[o+j] = x.F[offs[1]+j*inner[1]]
				} else {
					out.F[o+j] = y.F[offs[2]+j*inner[2]]
				}
			} else if pick {
				out.I[o+j] = x.I[offs[1]+j*inner[1]]
			} else {
				out.I[o+j] = y.I[offs[2]+j*inner[2]]
			}
		}
	})
	return []*constant{out}, nil
}

func opCast(r *runner, n *gnode, in []*constant) ([]*constant, error) {
	x, err := arg(n, in, 0)
	if err != nil {
		return nil, err
	}
	to := attrInt(n.n, "to", 0)
	switch to {
	case dtFloat, dtDouble, 10, 16:
		if x.isFloat() {
			return []*constant{x}, nil
		}
		out, err := r.newTensor(x.Shape, true)
		if err != nil {
			return nil, err
		}
		for i, v := range x.I {
			out.F[i] = float32(v)
		}
		return []*constant{out}, nil
	case dtInt64, dtInt32, dtInt8, dtUint8, 4, 5, 12, 13, dtBool:
		if !x.isFloat() && to != dtBool {
			return []*constant{x}, nil
		}
		out, err := r.newTensor(x.Shape, false)
		if err != nil {
			return nil, err
		}
		if !x.isFloat() {
			for i, v := range x.I {
				out.I[i] = b2i(v != 0)
			}
			return []*constant{out}, nil
		}
		for i, v := range x.F {
			if to == dtBool {
				out.I[i] = b2i(v != 0)
				continue
			}
			if v != v || math.Abs(float64(v)) >= 1<<63 {
				return nil, fmt.Errorf("cast of %v to %s", v, dataTypeName(to))
			}
			out.I[i] = int64(v)
		}
		return []*constant{out}, nil
	}
	return nil, fmt.Errorf("cast to %s is not supported", dataTypeName(to))
}

func opTrilu(r *runner, n *gnode, in []*constant) ([]*constant, error) {
	x, err := arg(n, in, 0)
	if err != nil {
		return nil, err
	}
	if len(x.Shape) < 2 {
		return nil, fmt.Errorf("input of shape %v (want at least 2 dimensions)", x.Shape)
	}
	k := int64(0)
	if optArg(in, 1) != nil {
		v, err := scalarArg(n, in, 1, "k")
		if err != nil {
			return nil, err
		}
		k = int64(v)
	}
	upper := attrInt(n.n, "upper", 1) != 0
	out, err := r.newTensor(x.Shape, x.isFloat())
	if err != nil {
		return nil, err
	}
	rows, cols := x.Shape[len(x.Shape)-2], x.Shape[len(x.Shape)-1]
	for i := 0; i < x.Len(); i++ {
		c := int64(i % max(cols, 1))
		rw := int64((i / max(cols, 1)) % max(rows, 1))
		keep := c-rw >= k
		if !upper {
			keep = c-rw <= k
		}
		if keep {
			if x.isFloat() {
				out.F[i] = x.F[i]
			} else {
				out.I[i] = x.I[i]
			}
		}
	}
	return []*constant{out}, nil
}

// opCumSum is ONNX CumSum (Hugging Face exports compute position ids as attention_mask.cumsum(-1) − 1).
func opCumSum(r *runner, n *gnode, in []*constant) ([]*constant, error) {
	x, err := arg(n, in, 0)
	if err != nil {
		return nil, err
	}
	a, err := scalarArg(n, in, 1, "axis")
	if err != nil {
		return nil, err
	}
	if len(x.Shape) == 0 {
		return nil, fmt.Errorf("CumSum of a scalar")
	}
	axis, err := normAxis(int64(a), len(x.Shape), "axis")
	if err != nil {
		return nil, err
	}
	exclusive, reverse := attrInt(n.n, "exclusive", 0) != 0, attrInt(n.n, "reverse", 0) != 0
	out, err := r.newTensor(x.Shape, x.isFloat())
	if err != nil {
		return nil, err
	}
	outer, dim, inner := outerInner(x.Shape, axis)
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			var fs float64
			var is int64
			for j := 0; j < dim; j++ {
				jj := j
				if reverse {
					jj = dim - 1 - j
				}
				at := (o*dim+jj)*inner + i
				if x.isFloat() {
					if exclusive {
						out.F[at] = float32(fs)
					}
					fs += float64(x.F[at])
					if !exclusive {
						out.F[at] = float32(fs)
					}
				} else {
					if exclusive {
						out.I[at] = is
					}
					is += x.I[at]
					if !exclusive {
						out.I[at] = is
					}
				}
			}
		}
	}
	return []*constant{out}, nil
}
