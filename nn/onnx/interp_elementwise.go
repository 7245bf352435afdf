package onnx

import (
	"fmt"
	"math"
)

// The element-wise operators of a Graph: arithmetic, comparisons and logic with NumPy broadcasting,
// unary functions, GELU, Clip, Identity and Dropout.

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
	uSin
	uCos
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
	case uSin:
		return float32(math.Sin(x))
	case uCos:
		return float32(math.Cos(x))
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
