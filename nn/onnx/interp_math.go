package onnx

import (
	"fmt"
	"math"
	"slices"

	"github.com/pmeter/pmeter/nn/gemm"
)

// The normalising, reducing and matrix-product operators of a Graph.

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
