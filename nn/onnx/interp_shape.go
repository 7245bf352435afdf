package onnx

import (
	"fmt"
	"math"
	"slices"
)

// The indexing and shape operators of a Graph.

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

// opTile repeats the input along each axis (rotary embeddings' caches, for example).
func opTile(r *runner, n *gnode, in []*constant) ([]*constant, error) {
	x, err := arg(n, in, 0)
	if err != nil {
		return nil, err
	}
	reps, err := shapeArg(in, 1, "repeats")
	if err != nil {
		return nil, err
	}
	if len(reps) != len(x.Shape) {
		return nil, fmt.Errorf("repeats %v for input of shape %v", reps, x.Shape)
	}
	shape := make([]int, len(reps))
	for i, k := range reps {
		if x.Shape[i] != 0 && k > maxElems/x.Shape[i] {
			return nil, fmt.Errorf("repeats %v: the output is too large", reps)
		}
		shape[i] = x.Shape[i] * k
	}
	out, err := r.newTensor(shape, x.isFloat())
	if err != nil {
		return nil, err
	}
	own := stridesOf(x.Shape)
	idx := make([]int, len(shape))
	for o := range out.Len() {
		at := 0
		for d := range idx {
			at += (idx[d] % x.Shape[d]) * own[d]
		}
		if x.isFloat() {
			out.F[o] = x.F[at]
		} else {
			out.I[o] = x.I[at]
		}
		for d := len(idx) - 1; d >= 0; d-- {
			if idx[d]++; idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return []*constant{out}, nil
}
