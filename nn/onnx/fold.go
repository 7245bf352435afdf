package onnx

import (
	"fmt"
	"math"
)

// batchDim stands for the number of records in a folded shape vector (the first element of Shape of
// a dynamic value).
const batchDim = math.MinInt64

// constOf returns the value of name, which must be constant: an initializer, or the output of a node
// that folds to a constant (Constant, or Shape, Gather, Cast, … of constants and static shapes).
func (c *converter) constOf(name string) (*constant, error) {
	if k, ok := c.consts[name]; ok {
		return k, nil
	}
	if c.dyn[name] || name == c.input {
		return nil, fmt.Errorf("value %q is computed from the input where a constant is needed", name)
	}
	if t, ok := c.inits[name]; ok {
		k, err := t.decode()
		if err != nil {
			return nil, fmt.Errorf("initializer %q: %w", name, err)
		}
		c.consts[name] = k
		return k, nil
	}
	p, ok := c.producer[name]
	if !ok {
		return nil, fmt.Errorf("value %q is not defined", name)
	}
	k, err := c.fold(p, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.label(p), err)
	}
	c.used[p] = true
	c.consts[name] = k
	return k, nil
}

// optConst returns the constant input i of n, or nil when the input is absent.
func (c *converter) optConst(n *nodeProto, i int) (*constant, error) {
	if name := input(n, i); name != "" {
		return c.constOf(name)
	}
	return nil, nil
}

// minFoldElems is the least number of elements that the constants folded by Concat nodes may hold
// in all; a larger file may fold one element per byte. Concat is the folded operator whose output can
// outgrow the file: a chain of Concat nodes each taking one value twice doubles it at every node, so
// that a file of a few hundred bytes would make the importer allocate gigabytes (the other operators'
// outputs are at most the size of one of their inputs). Folded values are shapes and indices, a few
// elements each, or at most pieces of the weights the file holds.
const minFoldElems = 1 << 16

// grow counts n more elements of constants folded by Concat against the budget: minFoldElems, or one
// element per byte of the file.
func (c *converter) grow(n int) error {
	budget := max(minFoldElems, c.size)
	if n > budget-c.folded {
		return fmt.Errorf("the constants folded from Concat nodes would hold more than %d elements in all, the most this importer folds from a %d-byte file (one per byte, at least %d)",
			budget, c.size, minFoldElems)
	}
	c.folded += n
	return nil
}

// fold computes the output out of node p from constant inputs.
func (c *converter) fold(p int, out string) (*constant, error) {
	n := c.nodes[p]
	if firstOutput(n) != out {
		return nil, fmt.Errorf("only the first output can be folded into a constant")
	}
	arg := func(i int) (*constant, error) {
		if input(n, i) == "" {
			return nil, fmt.Errorf("input %d is missing", i)
		}
		return c.constOf(n.Inputs[i])
	}
	switch n.OpType {
	case "Constant":
		return constantNode(n)
	case "Identity":
		return arg(0)
	case "Shape":
		return c.foldShape(n)
	case "Cast":
		x, err := arg(0)
		if err != nil {
			return nil, err
		}
		return castConst(x, attrInt(n, "to", 0))
	case "Gather":
		x, err := arg(0)
		if err != nil {
			return nil, err
		}
		idx, err := arg(1)
		if err != nil {
			return nil, err
		}
		return gatherConst(x, idx, attrInt(n, "axis", 0))
	case "Unsqueeze", "Squeeze":
		x, err := arg(0)
		if err != nil {
			return nil, err
		}
		axes, err := c.axes(n)
		if err != nil {
			return nil, err
		}
		var shape []int
		if n.OpType == "Unsqueeze" {
			shape, err = unsqueezeShape(x.Shape, axes)
		} else {
			shape, err = squeezeShape(x.Shape, axes)
		}
		if err != nil {
			return nil, err
		}
		return &constant{Shape: shape, F: x.F, I: x.I}, nil
	case "Concat":
		parts := make([]*constant, len(n.Inputs))
		for i := range n.Inputs {
			k, err := arg(i)
			if err != nil {
				return nil, err
			}
			parts[i] = k
			if err := c.grow(k.Len()); err != nil {
				return nil, err
			}
		}
		return concatConst(parts, attrInt(n, "axis", 0))
	case "Reshape":
		x, err := arg(0)
		if err != nil {
			return nil, err
		}
		s, err := arg(1)
		if err != nil {
			return nil, err
		}
		t, err := s.ints()
		if err != nil {
			return nil, err
		}
		shape, err := reshapeTarget(x.Shape, t)
		if err != nil {
			return nil, err
		}
		return &constant{Shape: shape, F: x.F, I: x.I}, nil
	}
	return nil, fmt.Errorf("%s of constants is not supported", n.OpType)
}

// constantNode reads the value of a Constant node.
func constantNode(n *nodeProto) (*constant, error) {
	for _, a := range n.Attrs {
		switch a.Name {
		case "value":
			if a.T == nil {
				return nil, fmt.Errorf("attribute value holds no tensor")
			}
			return a.T.decode()
		case "value_float":
			return &constant{Shape: []int{}, F: []float32{a.F}}, nil
		case "value_floats":
			return &constant{Shape: []int{len(a.Floats)}, F: append([]float32{}, a.Floats...)}, nil
		case "value_int":
			return &constant{Shape: []int{}, I: []int64{a.I}}, nil
		case "value_ints":
			return &constant{Shape: []int{len(a.Ints)}, I: append([]int64{}, a.Ints...)}, nil
		default:
			return nil, fmt.Errorf("attribute %q is not supported", a.Name)
		}
	}
	return nil, fmt.Errorf("no value attribute")
}

// foldShape computes Shape of a constant, or of a dynamic value whose per-record shape is known.
func (c *converter) foldShape(n *nodeProto) (*constant, error) {
	in := input(n, 0)
	var full []int64
	if c.dyn[in] {
		s, ok := c.shapes[in]
		if !ok {
			return nil, fmt.Errorf("the shape of %q is needed before it is known", in)
		}
		full = append(full, batchDim)
		for _, d := range s {
			full = append(full, int64(d))
		}
	} else {
		k, err := c.constOf(in)
		if err != nil {
			return nil, err
		}
		for _, d := range k.Shape {
			full = append(full, int64(d))
		}
	}
	r := int64(len(full))
	clamp := func(v int64) int64 {
		if v < 0 {
			v += r
		}
		return min(max(v, 0), r)
	}
	start, end := clamp(attrInt(n, "start", 0)), clamp(attrInt(n, "end", r))
	if end < start {
		end = start
	}
	out := append([]int64{}, full[start:end]...)
	return &constant{Shape: []int{len(out)}, I: out}, nil
}

// castConst converts x to the ONNX data type to.
func castConst(x *constant, to int64) (*constant, error) {
	switch to {
	case dtFloat, dtDouble, 10, 16:
		if x.isFloat() {
			return x, nil
		}
		for _, v := range x.I {
			if v == batchDim {
				return nil, fmt.Errorf("cast of a symbolic batch size to a float type")
			}
		}
		return &constant{Shape: x.Shape, F: x.floats()}, nil
	case dtInt64, dtInt32, dtInt8, dtUint8, 4, 5, 12, 13, dtBool:
		if !x.isFloat() {
			return x, nil
		}
		out := make([]int64, len(x.F))
		for i, v := range x.F {
			if math.IsNaN(float64(v)) || math.Abs(float64(v)) > 1<<62 {
				return nil, fmt.Errorf("cast of %v to an integer type", v)
			}
			out[i] = int64(v)
			if to == dtBool && v != 0 {
				out[i] = 1
			}
		}
		return &constant{Shape: x.Shape, I: out}, nil
	}
	return nil, fmt.Errorf("cast to %s is not supported", dataTypeName(to))
}

// gatherConst picks elements of a 1-D constant (ONNX Gather on axis 0).
func gatherConst(x, idx *constant, axis int64) (*constant, error) {
	if len(x.Shape) != 1 || (axis != 0 && axis != -1) {
		return nil, fmt.Errorf("Gather of a constant of shape %v on axis %d is not supported (only 1-D data)", x.Shape, axis)
	}
	ii, err := idx.ints()
	if err != nil {
		return nil, fmt.Errorf("indices: %w", err)
	}
	n := int64(x.Shape[0])
	out := &constant{Shape: append([]int(nil), idx.Shape...)}
	for _, i := range ii {
		if i < 0 {
			i += n
		}
		if i < 0 || i >= n {
			return nil, fmt.Errorf("index %d out of range [0, %d)", i, n)
		}
		if x.isFloat() {
			out.F = append(out.F, x.F[i])
		} else {
			out.I = append(out.I, x.I[i])
		}
	}
	if x.isFloat() && out.F == nil {
		out.F = []float32{}
	}
	if !x.isFloat() && out.I == nil {
		out.I = []int64{}
	}
	return out, nil
}

// concatConst joins 1-D constants (ONNX Concat on axis 0).
func concatConst(parts []*constant, axis int64) (*constant, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("no inputs")
	}
	if axis != 0 && axis != -1 {
		return nil, fmt.Errorf("Concat of constants on axis %d is not supported (only 1-D)", axis)
	}
	out := &constant{}
	isFloat := parts[0].isFloat()
	for i, p := range parts {
		if len(p.Shape) != 1 {
			return nil, fmt.Errorf("input %d has shape %v; only 1-D constants can be concatenated", i, p.Shape)
		}
		if p.isFloat() != isFloat {
			return nil, fmt.Errorf("inputs mix integer and float types")
		}
		out.F = append(out.F, p.F...)
		out.I = append(out.I, p.I...)
	}
	if isFloat && out.F == nil {
		out.F = []float32{}
	}
	if !isFloat && out.I == nil {
		out.I = []int64{}
	}
	out.Shape = []int{out.Len()}
	return out, nil
}

// reshapeTarget resolves an ONNX Reshape shape for data of shape in: 0 copies the dimension of in at
// the same index, −1 takes what is left.
func reshapeTarget(in []int, t []int64) ([]int, error) {
	total, err := numelOf(in)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(t))
	infer, known := -1, 1
	for i, d := range t {
		switch {
		case d == -1 && infer < 0:
			infer = i
			continue
		case d == 0 && i < len(in):
			out[i] = in[i]
		case d > 0 && d <= maxElems:
			out[i] = int(d)
		default:
			return nil, fmt.Errorf("shape %v: element %d (%d) is not supported", t, i, d)
		}
		if out[i] > 0 && known > maxElems/out[i] {
			return nil, fmt.Errorf("shape %v is too large", t)
		}
		known *= out[i]
	}
	if infer >= 0 {
		if known == 0 || total%known != 0 {
			return nil, fmt.Errorf("cannot reshape %v (%d elements) to %v", in, total, t)
		}
		out[infer] = total / known
	} else if known != total {
		return nil, fmt.Errorf("cannot reshape %v (%d elements) to %v", in, total, t)
	}
	return out, nil
}

// axes returns the axes of Squeeze or Unsqueeze: the attribute before opset 13, the second input
// from opset 13 (absent: nil).
func (c *converter) axes(n *nodeProto) ([]int64, error) {
	if a, ok := attrInts(n, "axes"); ok {
		return a, nil
	}
	k, err := c.optConst(n, 1)
	if err != nil || k == nil {
		return nil, err
	}
	return k.ints()
}

// unsqueezeShape inserts size-1 dimensions at axes (of the output's rank).
func unsqueezeShape(in []int, axes []int64) ([]int, error) {
	r := len(in) + len(axes)
	ones := make([]bool, r)
	for _, a := range axes {
		if a < 0 {
			a += int64(r)
		}
		if a < 0 || a >= int64(r) || ones[a] {
			return nil, fmt.Errorf("axes %v invalid for rank %d", axes, r)
		}
		ones[a] = true
	}
	out := make([]int, 0, r)
	j := 0
	for i := 0; i < r; i++ {
		if ones[i] {
			out = append(out, 1)
		} else {
			out = append(out, in[j])
			j++
		}
	}
	return out, nil
}

// squeezeShape removes the size-1 dimensions at axes (all of them when axes is empty).
func squeezeShape(in []int, axes []int64) ([]int, error) {
	drop := make([]bool, len(in))
	if len(axes) == 0 {
		for i, d := range in {
			drop[i] = d == 1
		}
	}
	for _, a := range axes {
		if a < 0 {
			a += int64(len(in))
		}
		if a < 0 || a >= int64(len(in)) || in[a] != 1 {
			return nil, fmt.Errorf("axes %v invalid for shape %v", axes, in)
		}
		drop[a] = true
	}
	var out []int
	for i, d := range in {
		if !drop[i] {
			out = append(out, d)
		}
	}
	if out == nil {
		out = []int{}
	}
	return out, nil
}
