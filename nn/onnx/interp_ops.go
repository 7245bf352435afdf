package onnx

import "fmt"

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
		"Ceil": unaryOp(uCeil), "Sin": unaryOp(uSin), "Cos": unaryOp(uCos), "Gelu": opGelu, "Clip": opClip,
		"Softmax": opSoftmax, "LogSoftmax": opSoftmax, "LayerNormalization": opLayerNorm,
		"ReduceMean": opReduce, "ReduceSum": opReduce, "ReduceMax": opReduce, "ReduceMin": opReduce,
		"MatMul": opMatMul, "Gemm": opGemm, "Gather": opGather,
		"Shape": opShape, "Size": opSize, "Reshape": opReshape, "Flatten": opFlatten,
		"Transpose": opTranspose, "Concat": opConcat, "Split": opSplit, "Slice": opSlice,
		"Squeeze": opSqueeze, "Unsqueeze": opSqueeze, "Expand": opExpand, "ConstantOfShape": opConstantOfShape,
		"Range": opRange, "Where": opWhere, "Cast": opCast, "Trilu": opTrilu, "CumSum": opCumSum,
		"Tile": opTile,
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
