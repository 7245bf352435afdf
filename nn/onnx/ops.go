package onnx

import (
	"fmt"
	"math"
	"strings"

	"github.com/pmeter/pmeter/nn"
)

// supported lists the operators of the default domain this package converts or folds.
var supported = map[string]bool{
	"Gemm": true, "MatMul": true, "Add": true, "Sub": true, "Mul": true, "Div": true, "Sum": true,
	"Relu": true, "LeakyRelu": true, "Sigmoid": true, "Tanh": true, "Softmax": true, "LogSoftmax": true,
	"Conv": true, "MaxPool": true, "AveragePool": true, "GlobalAveragePool": true,
	"BatchNormalization": true, "Flatten": true, "Reshape": true, "Transpose": true, "Squeeze": true,
	"Unsqueeze": true, "Dropout": true, "Identity": true, "Constant": true, "Pad": true, "Shape": true,
	"Gather": true, "Concat": true, "Cast": true,
}

// checkAll checks every node's operator and the attributes that do not depend on shapes, and returns
// one error listing every unsupported node.
func (c *converter) checkAll() error {
	var issues []string
	for i, n := range c.nodes {
		if !c.live[i] {
			continue
		}
		if err := c.check(n); err != nil {
			issues = append(issues, fmt.Sprintf("%s: %v", c.label(i), err))
		}
	}
	if len(issues) > 0 {
		return fmt.Errorf("%d unsupported node(s): %s", len(issues), strings.Join(issues, "; "))
	}
	return nil
}

func (c *converter) check(n *nodeProto) error {
	if n.Domain != "" && n.Domain != "ai.onnx" {
		return fmt.Errorf("operator domain %q is not supported", n.Domain)
	}
	if !supported[n.OpType] {
		return fmt.Errorf("operator not supported")
	}
	extraOutputs := func(what string) error {
		for _, o := range n.Outputs[min(1, len(n.Outputs)):] {
			if o != "" && (len(c.consumers[o]) > 0 || c.isGraphOutput(o)) {
				return fmt.Errorf("its %s output %q is used", what, o)
			}
		}
		return nil
	}
	dilations := func() error {
		if d, ok := attrInts(n, "dilations"); ok && !allEqual(d, 1) {
			return fmt.Errorf("dilations %v (only 1)", d)
		}
		return nil
	}
	autoPad := func() error {
		switch ap := attrString(n, "auto_pad", "NOTSET"); ap {
		case "NOTSET", "", "VALID", "SAME_UPPER", "SAME_LOWER":
			return nil
		default:
			return fmt.Errorf("auto_pad %q", ap)
		}
	}
	twoD := func(what string) error {
		if k, ok := attrInts(n, "kernel_shape"); ok && len(k) != 2 {
			return fmt.Errorf("%d-D %s (only 2-D)", len(k), what)
		}
		return nil
	}
	switch n.OpType {
	case "Gemm":
		if attrInt(n, "transA", 0) != 0 {
			return fmt.Errorf("transA=1 (records would be columns)")
		}
	case "Conv":
		if g := attrInt(n, "group", 1); g != 1 {
			return fmt.Errorf("group=%d (grouped convolution)", g)
		}
		for _, f := range []func() error{dilations, autoPad, func() error { return twoD("convolution") }} {
			if err := f(); err != nil {
				return err
			}
		}
	case "MaxPool", "AveragePool":
		for _, f := range []func() error{dilations, autoPad, func() error { return twoD("pooling") }} {
			if err := f(); err != nil {
				return err
			}
		}
		if n.OpType == "MaxPool" {
			return extraOutputs("Indices")
		}
		if pads, ok := attrInts(n, "pads"); ok && !allEqual(pads, 0) && attrInt(n, "count_include_pad", 0) == 0 {
			return fmt.Errorf("count_include_pad=0 with pads %v (nn.AvgPool2D counts padding, as PyTorch's default)", pads)
		}
	case "BatchNormalization":
		if attrInt(n, "training_mode", 0) != 0 {
			return fmt.Errorf("training_mode=1")
		}
		if attrInt(n, "spatial", 1) != 1 {
			return fmt.Errorf("spatial=0")
		}
		return extraOutputs("running statistics")
	case "Dropout":
		return extraOutputs("mask")
	case "Pad":
		if m := attrString(n, "mode", "constant"); m != "constant" {
			return fmt.Errorf("mode %q (only constant zero padding)", m)
		}
	case "Flatten":
		if attrInt(n, "axis", 1) == 0 {
			return fmt.Errorf("axis=0 (merges records)")
		}
	case "Softmax", "LogSoftmax":
		if attrInt(n, "axis", 1) == 0 {
			return fmt.Errorf("axis=0 (normalises across records)")
		}
	case "Transpose":
		if p, ok := attrInts(n, "perm"); ok && len(p) > 0 && p[0] != 0 {
			return fmt.Errorf("perm %v moves the record axis", p)
		}
	}
	return nil
}

func (c *converter) isGraphOutput(v string) bool { return indexOf(c.outputs, v) >= 0 }

// apply converts node ni, whose dynamic input is v, into f and returns its dynamic output.
func (c *converter) apply(ni int, v string, f *flow) (string, error) {
	out, err := c.applyOp(c.nodes[ni], v, f)
	if err != nil {
		return "", fmt.Errorf("%s: %w", c.label(ni), err)
	}
	return out, nil
}

func (c *converter) applyOp(n *nodeProto, v string, f *flow) (string, error) {
	out := firstOutput(n)
	if out == "" {
		return "", fmt.Errorf("no output")
	}
	if f.pad != 0 && n.OpType != "Conv" && n.OpType != "AveragePool" {
		return "", fmt.Errorf("padding from a Pad node must go to a Conv or AveragePool")
	}
	switch n.OpType {
	case "Add", "Sub", "Mul", "Div", "Sum":
		return out, c.binary(n, v, f)
	}
	if input(n, 0) != v {
		return "", fmt.Errorf("the value computed from the input is operand %d; only operand 0 is supported", indexOf(n.Inputs, v))
	}
	for i, in := range n.Inputs[1:] {
		if c.dyn[in] {
			return "", fmt.Errorf("operand %d (%q) is computed from the input; it must be constant", i+1, in)
		}
	}
	switch n.OpType {
	case "Identity":
		return out, nil
	case "Cast":
		if to := attrInt(n, "to", 0); to != dtFloat {
			return "", fmt.Errorf("cast of the data to %s (only FLOAT)", dataTypeName(to))
		}
		return out, nil
	case "Relu":
		return out, f.addElementwise(&nn.ReLU{})
	case "Sigmoid":
		return out, f.addElementwise(&nn.Sigmoid{})
	case "Tanh":
		return out, f.addElementwise(&nn.Tanh{})
	case "LeakyRelu":
		return out, f.addElementwise(&LeakyReLU{Alpha: attrFloat(n, "alpha", 0.01)})
	case "Dropout":
		return out, c.dropout(n, f)
	case "Softmax", "LogSoftmax":
		return out, c.softmax(n, f)
	case "Gemm":
		return out, c.gemm(n, f)
	case "MatMul":
		return out, c.matmul(n, f)
	case "Conv":
		return out, c.conv(n, f)
	case "MaxPool", "AveragePool":
		return out, c.pool(n, f)
	case "GlobalAveragePool":
		if err := f.materialize(); err != nil {
			return "", err
		}
		if len(f.shape) != 3 {
			return "", fmt.Errorf("records of shape %v (only [C H W])", f.shape)
		}
		ch := f.shape[0]
		if err := f.add(&nn.GlobalAvgPool{}); err != nil {
			return "", err
		}
		f.shape = []int{ch, 1, 1}
		return out, nil
	case "BatchNormalization":
		return out, c.batchNorm(n, f)
	case "Flatten":
		return out, c.flatten(n, f)
	case "Reshape":
		return out, c.reshape(n, f)
	case "Squeeze", "Unsqueeze":
		return out, c.squeeze(n, f)
	case "Transpose":
		return out, c.transpose(n, f)
	case "Pad":
		return out, c.pad(n, f)
	}
	return "", fmt.Errorf("%s of a value computed from the input is not supported", n.OpType)
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// alignConst returns the shape of constant k aligned to the per-record shape s (NumPy broadcasting
// against records × s, with k's records dimension, if it has one, of size 1): len(s) dimensions,
// each 1 or the dimension of s.
func alignConst(k *constant, s []int) ([]int, error) {
	ks := k.Shape
	if len(ks) == len(s)+1 {
		if ks[0] != 1 {
			return nil, fmt.Errorf("constant of shape %v varies over records (its first dimension is not 1)", k.Shape)
		}
		ks = ks[1:]
	}
	if len(ks) > len(s) {
		return nil, fmt.Errorf("constant of shape %v has more dimensions than records × %v", k.Shape, s)
	}
	off := len(s) - len(ks)
	out := make([]int, len(s))
	for i := range out {
		out[i] = 1
	}
	for i, d := range ks {
		if d != 1 && d != s[off+i] {
			return nil, fmt.Errorf("constant of shape %v does not broadcast to records of shape %v", k.Shape, s)
		}
		out[off+i] = d
	}
	return out, nil
}

// expand broadcasts src, of shape ks (aligned to s by alignConst), to shape s.
func expand(src []float32, ks, s []int) []float32 {
	// stride[i] is src's stride along dimension i (0 where it is broadcast).
	stride := make([]int, len(s))
	step := 1
	for i := len(ks) - 1; i >= 0; i-- {
		if ks[i] != 1 {
			stride[i] = step
		}
		step *= ks[i]
	}
	out := make([]float32, prod(s))
	idx := make([]int, len(s))
	at := 0
	for j := range out {
		out[j] = src[at]
		for d := len(s) - 1; d >= 0; d-- {
			idx[d]++
			at += stride[d]
			if idx[d] < s[d] {
				break
			}
			at -= stride[d] * idx[d]
			idx[d] = 0
		}
	}
	return out
}

// binary converts Add, Sub, Mul, Div and Sum with one constant operand. An Add or Sub of a
// per-channel constant right after a Dense or Conv2D becomes (part of) its bias.
func (c *converter) binary(n *nodeProto, v string, f *flow) error {
	if n.OpType == "Sum" && len(n.Inputs) == 1 {
		return nil
	}
	if len(n.Inputs) != 2 {
		return fmt.Errorf("%d operands (only 2)", len(n.Inputs))
	}
	k := indexOf(n.Inputs, v)
	other := n.Inputs[1-k]
	if c.dyn[other] {
		return fmt.Errorf("both operands are computed from the input but do not form a residual block (a fork joined by Add)")
	}
	kc, err := c.constOf(other)
	if err != nil {
		return err
	}
	if err := f.materialize(); err != nil {
		return err
	}
	ks, err := alignConst(kc, f.shape)
	if err != nil {
		return err
	}
	var op byte
	switch n.OpType {
	case "Add", "Sum":
		op = OpAdd
	case "Mul":
		op = OpMul
	case "Sub":
		op = OpSub
		if k == 1 {
			op = OpRSub
		}
	case "Div":
		op = OpDiv
		if k == 1 {
			op = OpRDiv
		}
	}
	if (op == OpAdd || op == OpSub) && len(f.layers) > 0 && foldBias(f.layers[len(f.layers)-1], f.shape, kc.floats(), ks, op == OpSub) {
		return nil
	}
	return f.addElementwise(&ConstOp{Op: op, Shape: append([]int(nil), f.shape...), C: append([]float32(nil), kc.floats()...), CShape: ks})
}

// foldBias adds the constant c of aligned shape ks (negated when sub) to the bias of l when l is a
// Dense or Conv2D layer producing records of shape s and c is constant over each output channel.
// It reports whether it did.
func foldBias(l nn.Layer, s []int, c []float32, ks []int, sub bool) bool {
	var out int
	var bias, dbias **nn.Tensor
	switch l := l.(type) {
	case *nn.Dense:
		if len(s) != 1 || s[0] != l.Out {
			return false
		}
		out, bias, dbias = l.Out, &l.B, &l.DB
	case *nn.Conv2D:
		if len(s) != 3 || s[0] != l.Out || ks[1] != 1 || ks[2] != 1 {
			return false
		}
		out, bias, dbias = l.Out, &l.B, &l.DB
	default:
		return false
	}
	vals := expand(c, ks[:1], []int{out})
	if *bias == nil {
		*bias, *dbias = nn.NewTensor(out), nn.NewTensor(out)
	}
	for o, v := range vals {
		if sub {
			v = -v
		}
		(*bias).Data[o] += v
	}
	return true
}

func (c *converter) dropout(n *nodeProto, f *flow) error {
	ratio := float32(0.5)
	if c.opset < 12 {
		ratio = attrFloat(n, "ratio", 0.5)
	} else {
		k, err := c.optConst(n, 1)
		if err != nil {
			return err
		}
		if k != nil {
			if k.Len() != 1 {
				return fmt.Errorf("ratio has %d values", k.Len())
			}
			ratio = k.floats()[0]
		}
		t, err := c.optConst(n, 2)
		if err != nil {
			return err
		}
		if t != nil && t.Len() == 1 && t.floats()[0] != 0 {
			return fmt.Errorf("training_mode=true")
		}
	}
	if !(ratio >= 0 && ratio < 1) {
		c.warnf("Dropout ratio %v is outside [0, 1): the layer was left out (it is the identity in evaluation)", ratio)
		return nil
	}
	d, err := nn.NewDropout(decimal(ratio))
	if err != nil {
		return err
	}
	return f.addElementwise(d)
}

func (c *converter) softmax(n *nodeProto, f *flow) error {
	if err := f.materialize(); err != nil {
		return err
	}
	s := f.shape
	r := int64(len(s) + 1)
	def := int64(1)
	if c.opset >= 13 {
		def = -1
	}
	axis := attrInt(n, "axis", def)
	if axis < 0 {
		axis += r
	}
	if axis < 1 || axis >= r {
		return fmt.Errorf("axis %d of records × %v (the axis must not be the records')", attrInt(n, "axis", def), s)
	}
	a := int(axis) - 1
	l := &Softmax{Log: n.OpType == "LogSoftmax", Shape: append([]int(nil), s...), Outer: prod(s[:a])}
	if c.opset >= 13 {
		l.Dim, l.Inner = s[a], prod(s[a+1:])
	} else {
		l.Dim, l.Inner = prod(s[a:]), 1
	}
	return f.addElementwise(l)
}

func (c *converter) gemm(n *nodeProto, f *flow) error {
	if err := f.materialize(); err != nil {
		return err
	}
	if len(f.shape) != 1 {
		return fmt.Errorf("input records of shape %v (Gemm needs records × features)", f.shape)
	}
	b, err := c.constOf(input(n, 1))
	if err != nil {
		return err
	}
	if len(b.Shape) != 2 {
		return fmt.Errorf("B of shape %v is not a matrix", b.Shape)
	}
	alpha, beta := attrFloat(n, "alpha", 1), attrFloat(n, "beta", 1)
	transB := attrInt(n, "transB", 0) != 0
	in, out := b.Shape[0], b.Shape[1]
	if transB {
		in, out = out, in
	}
	if in != f.shape[0] {
		return fmt.Errorf("B of shape %v (transB=%v) takes %d features; the input has %d", b.Shape, transB, in, f.shape[0])
	}
	bias, err := c.optConst(n, 2)
	if err != nil {
		return err
	}
	d, err := nn.NewDense(in, out, bias != nil)
	if err != nil {
		return err
	}
	bf := b.floats()
	for o := 0; o < out; o++ {
		for i := 0; i < in; i++ {
			w := bf[i*out+o]
			if transB {
				w = bf[o*in+i]
			}
			if alpha != 1 {
				w *= alpha
			}
			d.W.Data[o*in+i] = w
		}
	}
	if bias != nil {
		ks, err := alignConst(bias, []int{out})
		if err != nil {
			return fmt.Errorf("C: %w", err)
		}
		for o, x := range expand(bias.floats(), ks, []int{out}) {
			if beta != 1 {
				x *= beta
			}
			d.B.Data[o] = x
		}
	}
	return f.add(d)
}

func (c *converter) matmul(n *nodeProto, f *flow) error {
	if err := f.materialize(); err != nil {
		return err
	}
	if len(f.shape) != 1 {
		return fmt.Errorf("input records of shape %v (only records × features times a matrix)", f.shape)
	}
	w, err := c.constOf(input(n, 1))
	if err != nil {
		return err
	}
	if len(w.Shape) != 2 || w.Shape[0] != f.shape[0] {
		return fmt.Errorf("right operand of shape %v for %d input features", w.Shape, f.shape[0])
	}
	in, out := w.Shape[0], w.Shape[1]
	d, err := nn.NewDense(in, out, false)
	if err != nil {
		return err
	}
	wf := w.floats()
	for o := 0; o < out; o++ {
		for i := 0; i < in; i++ {
			d.W.Data[o*in+i] = wf[i*out+o]
		}
	}
	return f.add(d)
}

// geometry reads the square kernel and equal strides of a 2-D Conv or pooling node.
func geometry(n *nodeProto, kernel []int64) (k, stride int, err error) {
	if len(kernel) != 2 || kernel[0] != kernel[1] || kernel[0] <= 0 || kernel[0] > 1<<20 {
		return 0, 0, fmt.Errorf("kernel %v (only square 2-D kernels)", kernel)
	}
	strides, ok := attrInts(n, "strides")
	if !ok || len(strides) == 0 {
		strides = []int64{1, 1}
	}
	if len(strides) != 2 || strides[0] != strides[1] || strides[0] <= 0 || strides[0] > 1<<20 {
		return 0, 0, fmt.Errorf("strides %v (only equal positive strides on H and W)", strides)
	}
	return int(kernel[0]), int(strides[0]), nil
}

// spatialPad returns the zero padding, the same on all four sides, of a 2-D Conv or pooling node on an
// h × w input, from its pads or auto_pad attribute.
func spatialPad(n *nodeProto, h, w, k, s int) (int, error) {
	switch ap := attrString(n, "auto_pad", "NOTSET"); ap {
	case "VALID":
		return 0, nil
	case "SAME_UPPER", "SAME_LOWER":
		total := func(in int) int { return max(((in+s-1)/s-1)*s+k-in, 0) }
		th, tw := total(h), total(w)
		if th != tw || th%2 != 0 {
			return 0, fmt.Errorf("auto_pad %s on %d×%d pads %d and %d (only the same padding on all sides)", ap, h, w, th, tw)
		}
		return th / 2, nil
	}
	pads, ok := attrInts(n, "pads")
	if !ok || len(pads) == 0 {
		return 0, nil
	}
	if len(pads) != 4 || !allEqual(pads, pads[0]) || pads[0] < 0 || pads[0] > 1<<20 {
		return 0, fmt.Errorf("pads %v (only the same padding on all sides)", pads)
	}
	return int(pads[0]), nil
}

func (c *converter) conv(n *nodeProto, f *flow) error {
	if err := f.materialize(); err != nil {
		return err
	}
	s := f.shape
	if len(s) != 3 {
		return fmt.Errorf("input records of shape %v (only 2-D convolutions over [C H W])", s)
	}
	w, err := c.constOf(input(n, 1))
	if err != nil {
		return err
	}
	if len(w.Shape) != 4 {
		return fmt.Errorf("weights of shape %v (only 2-D convolutions)", w.Shape)
	}
	out, cin := w.Shape[0], w.Shape[1]
	if cin != s[0] {
		return fmt.Errorf("weights of shape %v for %d input channels; the input has %d", w.Shape, cin, s[0])
	}
	kernel := []int64{int64(w.Shape[2]), int64(w.Shape[3])}
	if ks, ok := attrInts(n, "kernel_shape"); ok && (len(ks) != 2 || ks[0] != kernel[0] || ks[1] != kernel[1]) {
		return fmt.Errorf("kernel_shape %v does not match weights of shape %v", ks, w.Shape)
	}
	k, stride, err := geometry(n, kernel)
	if err != nil {
		return err
	}
	p, err := spatialPad(n, s[1], s[2], k, stride)
	if err != nil {
		return err
	}
	p, f.pad = p+f.pad, 0
	bias, err := c.optConst(n, 2)
	if err != nil {
		return err
	}
	if bias != nil && bias.Len() != out {
		return fmt.Errorf("bias of shape %v for %d output channels", bias.Shape, out)
	}
	l, err := nn.NewConv2D(cin, out, k, stride, p, bias != nil)
	if err != nil {
		return err
	}
	copy(l.W.Data, w.floats())
	if bias != nil {
		copy(l.B.Data, bias.floats())
	}
	return f.add(l)
}

func (c *converter) pool(n *nodeProto, f *flow) error {
	if err := f.materialize(); err != nil {
		return err
	}
	s := f.shape
	if len(s) != 3 {
		return fmt.Errorf("input records of shape %v (only 2-D pooling over [C H W])", s)
	}
	ks, _ := attrInts(n, "kernel_shape")
	k, stride, err := geometry(n, ks)
	if err != nil {
		return err
	}
	p, err := spatialPad(n, s[1], s[2], k, stride)
	if err != nil {
		return err
	}
	if attrInt(n, "ceil_mode", 0) != 0 {
		for _, in := range s[1:] {
			fl, cl := (in+2*p-k)/stride+1, (in+2*p-k+stride-1)/stride+1
			if fl != cl {
				return fmt.Errorf("ceil_mode=1 gives %d outputs instead of %d along a %d-pixel axis (only floor mode)", cl, fl, in)
			}
		}
	}
	if 2*p > k {
		return fmt.Errorf("padding %d is more than half the kernel %d (nn, like PyTorch, needs padding ≤ kernel/2)", p, k)
	}
	var l nn.Layer
	if n.OpType == "MaxPool" {
		if f.pad != 0 {
			return fmt.Errorf("zero padding from a Pad node (MaxPool pads with −∞)")
		}
		l, err = nn.NewMaxPool2D(k, stride, p)
	} else {
		if p > 0 && attrInt(n, "count_include_pad", 0) == 0 {
			return fmt.Errorf("count_include_pad=0 with padding %d (nn.AvgPool2D counts padding)", p)
		}
		p, f.pad = p+f.pad, 0
		l, err = nn.NewAvgPool2D(k, stride, p)
	}
	if err != nil {
		return err
	}
	return f.add(l)
}

func (c *converter) batchNorm(n *nodeProto, f *flow) error {
	if err := f.materialize(); err != nil {
		return err
	}
	if len(f.shape) == 0 {
		return fmt.Errorf("input records are scalars")
	}
	ch := f.shape[0]
	var ks [4]*constant
	for i, what := range []string{"scale", "B", "mean", "var"} {
		k, err := c.constOf(input(n, i+1))
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if k.Len() != ch {
			return fmt.Errorf("%s of shape %v for %d channels", what, k.Shape, ch)
		}
		ks[i] = k
	}
	b, err := nn.NewBatchNorm(ch, 1e-5, 0.1)
	if err != nil {
		return err
	}
	b.Eps = decimal(attrFloat(n, "epsilon", 1e-5))
	// ONNX: running = momentum·running + (1 − momentum)·batch; PyTorch's momentum is 1 − that.
	m := 1 - decimal(attrFloat(n, "momentum", 0.9))
	b.Momentum = math.Round(m*1e9) / 1e9
	copy(b.Gamma.Data, ks[0].floats())
	copy(b.Beta.Data, ks[1].floats())
	copy(b.RunningMean.Data, ks[2].floats())
	copy(b.RunningVar.Data, ks[3].floats())
	return f.add(b)
}

func (c *converter) flatten(n *nodeProto, f *flow) error {
	r := int64(len(f.shape) + 1)
	axis := attrInt(n, "axis", 1)
	if axis < 0 {
		axis += r
	}
	if axis < 1 || axis > r {
		return fmt.Errorf("axis %d for records × %v", attrInt(n, "axis", 1), f.shape)
	}
	if prod(f.shape[:axis-1]) != 1 {
		return fmt.Errorf("axis %d merges records with dimensions %v", axis, f.shape[:axis-1])
	}
	f.shape = []int{prod(f.shape)}
	return nil
}

func (c *converter) reshape(n *nodeProto, f *flow) error {
	k, err := c.constOf(input(n, 1))
	if err != nil {
		return err
	}
	t, err := k.ints()
	if err != nil {
		return fmt.Errorf("shape: %w", err)
	}
	if len(t) <= 1 && prod(f.shape) != 1 {
		return fmt.Errorf("reshape of records × %v to %s merges records", f.shape, shapeString(t))
	}
	if len(t) == 0 {
		return fmt.Errorf("reshape to a scalar")
	}
	allowZero := attrInt(n, "allowzero", 0) != 0
	rest := make([]int64, len(t)-1)
	for j, d := range t[1:] {
		switch {
		case d == batchDim:
			return fmt.Errorf("shape %s puts the number of records at position %d", shapeString(t), j+1)
		case d == 0 && !allowZero:
			if j >= len(f.shape) {
				return fmt.Errorf("shape %s copies dimension %d, which records × %v lack", shapeString(t), j+1, f.shape)
			}
			rest[j] = int64(f.shape[j])
		case d == 0:
			return fmt.Errorf("shape %s with allowzero=1 makes empty records", shapeString(t))
		default:
			rest[j] = d
		}
	}
	switch first := t[0]; {
	case first == batchDim || first == 0 && !allowZero:
	case first == -1:
		if indexOf64(rest, -1) >= 0 {
			return fmt.Errorf("shape %s has two −1", shapeString(t))
		}
	case first > 0:
		if int(first) != c.batch {
			c.warnf("Reshape to %s fixes the number of records at %d (the batch size of the export); it was taken as the number of records", shapeString(t), first)
		}
	default:
		return fmt.Errorf("shape %s", shapeString(t))
	}
	target, err := reshapeTarget(f.shape, rest)
	if err != nil {
		return fmt.Errorf("reshape of records × %v to %s merges or splits records: %w", f.shape, shapeString(t), err)
	}
	f.shape = target
	return nil
}

func indexOf64(s []int64, v int64) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// shapeString formats a folded shape vector, writing the number of records as N.
func shapeString(t []int64) string {
	parts := make([]string, len(t))
	for i, d := range t {
		if d == batchDim {
			parts[i] = "N"
		} else {
			parts[i] = fmt.Sprint(d)
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func (c *converter) squeeze(n *nodeProto, f *flow) error {
	axes, err := c.axes(n)
	if err != nil {
		return err
	}
	if n.OpType == "Unsqueeze" {
		full := append([]int{-1}, f.shape...) // -1 marks the records dimension
		out, err := unsqueezeShape(full, axes)
		if err != nil {
			return err
		}
		if out[0] != -1 {
			return fmt.Errorf("axes %v insert a dimension before the records", axes)
		}
		f.shape = out[1:]
		return nil
	}
	if len(axes) == 0 {
		out, _ := squeezeShape(f.shape, nil)
		f.shape = out
		return nil
	}
	r := int64(len(f.shape) + 1)
	rec := make([]int64, len(axes))
	for i, a := range axes {
		if a < 0 {
			a += r
		}
		if a == 0 {
			return fmt.Errorf("axes %v remove the records dimension", axes)
		}
		rec[i] = a - 1
	}
	out, err := squeezeShape(f.shape, rec)
	if err != nil {
		return err
	}
	f.shape = out
	return nil
}

func (c *converter) transpose(n *nodeProto, f *flow) error {
	full := append([]int{0}, f.shape...)
	r := len(full)
	perm, ok := attrInts(n, "perm")
	if !ok || len(perm) == 0 {
		perm = make([]int64, r)
		for i := range perm {
			perm[i] = int64(r - 1 - i)
		}
	}
	if len(perm) != r {
		return fmt.Errorf("perm %v for rank %d", perm, r)
	}
	if perm[0] != 0 {
		return fmt.Errorf("perm %v moves the records dimension", perm)
	}
	seen := make([]bool, r)
	out := make([]int, r-1)
	last := -1
	for i, p := range perm[1:] {
		if p < 1 || p >= int64(r) || seen[p] {
			return fmt.Errorf("perm %v is not a permutation", perm)
		}
		seen[p] = true
		out[i] = full[p]
		if full[p] != 1 {
			if int(p) < last {
				return fmt.Errorf("perm %v reorders the data of records × %v (only moves of size-1 dimensions are supported)", perm, f.shape)
			}
			last = int(p)
		}
	}
	f.shape = out
	return nil
}

func (c *converter) pad(n *nodeProto, f *flow) error {
	var pads []int64
	var value float32
	r := len(f.shape) + 1
	axes := make([]int64, r)
	for i := range axes {
		axes[i] = int64(i)
	}
	if c.opset >= 11 {
		k, err := c.constOf(input(n, 1))
		if err != nil {
			return fmt.Errorf("pads: %w", err)
		}
		if pads, err = k.ints(); err != nil {
			return fmt.Errorf("pads: %w", err)
		}
		v, err := c.optConst(n, 2)
		if err != nil {
			return fmt.Errorf("constant_value: %w", err)
		}
		if v != nil && v.Len() == 1 {
			value = v.floats()[0]
		}
		a, err := c.optConst(n, 3)
		if err != nil {
			return fmt.Errorf("axes: %w", err)
		}
		if a != nil {
			if axes, err = a.ints(); err != nil {
				return fmt.Errorf("axes: %w", err)
			}
		}
	} else {
		var ok bool
		if pads, ok = attrInts(n, "pads"); !ok {
			pads, _ = attrInts(n, "paddings")
		}
		value = attrFloat(n, "value", 0)
	}
	if len(pads) != 2*len(axes) {
		return fmt.Errorf("pads %v for axes %v", pads, axes)
	}
	before, after := make([]int64, r), make([]int64, r)
	for i, a := range axes {
		if a < 0 {
			a += int64(r)
		}
		if a < 0 || a >= int64(r) {
			return fmt.Errorf("axis %d for rank %d", axes[i], r)
		}
		before[a], after[a] = pads[i], pads[len(axes)+i]
	}
	if allEqual(before, 0) && allEqual(after, 0) {
		return nil
	}
	if value != 0 {
		return fmt.Errorf("padding with %v (only zeros)", value)
	}
	if r != 4 || before[0] != 0 || after[0] != 0 || before[1] != 0 || after[1] != 0 ||
		!allEqual([]int64{before[3], after[2], after[3]}, before[2]) || before[2] < 0 || before[2] > 1<<20 {
		return fmt.Errorf("pads %v (only the same zero padding on all sides of H and W of [C H W] records)", pads)
	}
	cons := c.pending(firstOutput(n))
	if len(cons) != 1 || (c.nodes[cons[0]].OpType != "Conv" && c.nodes[cons[0]].OpType != "AveragePool") {
		return fmt.Errorf("padding is supported only before a single Conv or AveragePool, which takes it")
	}
	f.pad += int(before[2])
	return nil
}
