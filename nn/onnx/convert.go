package onnx

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pmeter/pmeter/nn"
)

// maxNodes bounds the number of nodes of a graph.
const maxNodes = 1 << 17

// The versions of the default operator set whose semantics the conversion follows.
const minOpset, maxOpset = 7, 21

// converter turns a decoded graph into layers. The walk starts at the graph input and follows the
// chain of "dynamic" values (those computed from the input); every other operand of a node must be a
// constant: an initializer, a Constant node, or a value folded from constants and static shapes.
type converter struct {
	opt       Options
	opset     int64
	nodes     []*nodeProto
	inits     map[string]*tensorProto
	consts    map[string]*constant
	producer  map[string]int   // value → index of the node that computes it
	consumers map[string][]int // dynamic value → nodes that take it (Shape nodes excluded)
	dyn       map[string]bool  // values computed from the input
	used      []bool           // nodes converted or folded
	live      []bool           // nodes that lead to a graph output
	shapes    map[string][]int // per-record ONNX shape of each dynamic value walked so far
	input     string
	outputs   []string
	batch     int
	size      int // bytes of the encoded model
	folded    int // elements of the constants folded so far by Concat nodes (see grow)
	warnings  []string
}

// flow is the state of a chain being converted: its layers and the per-record shape of the current
// value. shape is the ONNX shape; nnShape is what the layers produce, which differs after a view-only
// operator (Flatten, Reshape, Squeeze, …) or GlobalAveragePool until a layer needs the ONNX layout.
type flow struct {
	layers         []nn.Layer
	shape, nnShape []int
	pad            int // zero padding of H and W from a Pad node, owed to the next Conv or AveragePool
}

// add appends l, which takes the layers' current output; the ONNX shape becomes l's output shape.
func (f *flow) add(l nn.Layer) error {
	out, err := l.OutShape(f.nnShape)
	if err != nil {
		return err
	}
	if _, err := numelOf(out); err != nil {
		return fmt.Errorf("records of shape %v: %w", out, err)
	}
	f.layers = append(f.layers, l)
	f.shape, f.nnShape = out, append([]int(nil), out...)
	return nil
}

// addElementwise appends a shape-preserving layer without changing the ONNX shape.
func (f *flow) addElementwise(l nn.Layer) error {
	if _, err := l.OutShape(f.nnShape); err != nil {
		return err
	}
	f.layers = append(f.layers, l)
	return nil
}

// materialize makes the layers produce the ONNX shape: nn.Flatten for a vector, a View otherwise.
func (f *flow) materialize() error {
	if slices.Equal(f.shape, f.nnShape) {
		return nil
	}
	if len(f.shape) == 1 {
		return f.add(&nn.Flatten{})
	}
	return f.add(&View{In: append([]int(nil), f.nnShape...), Out: append([]int(nil), f.shape...)})
}

func (c *converter) label(i int) string {
	n := c.nodes[i]
	if n.Name != "" {
		return fmt.Sprintf("node %q (%s)", n.Name, n.OpType)
	}
	return fmt.Sprintf("node %d (%s)", i, n.OpType)
}

func (c *converter) warnf(format string, a ...any) {
	c.warnings = append(c.warnings, fmt.Sprintf(format, a...))
}

// convert imports mp, decoded from size bytes (0 for a model built in memory).
func convert(mp *modelProto, opt Options, size int) (*Model, error) {
	g := mp.Graph
	if g == nil {
		return nil, fmt.Errorf("the model has no graph")
	}
	c := &converter{opt: opt, size: size, nodes: g.Nodes, inits: map[string]*tensorProto{}, consts: map[string]*constant{},
		producer: map[string]int{}, consumers: map[string][]int{}, dyn: map[string]bool{}, shapes: map[string][]int{}}
	found := false
	for _, o := range mp.Opsets {
		if o.Domain == "" || o.Domain == "ai.onnx" {
			c.opset, found = o.Version, true
		}
	}
	if !found {
		return nil, fmt.Errorf("the model imports no version of the default operator set (opset_import)")
	}
	if c.opset < minOpset || c.opset > maxOpset {
		c.warnf("opset %d is outside the versions %d to %d this importer follows; check the outputs", c.opset, minOpset, maxOpset)
	}
	if len(g.Nodes) > maxNodes {
		return nil, fmt.Errorf("the graph has %d nodes, more than the %d supported", len(g.Nodes), maxNodes)
	}
	for _, t := range g.Initializers {
		c.inits[t.Name] = t
	}

	// The input: the one graph input that is not an initializer.
	var inputs []*valueInfo
	for _, v := range g.Inputs {
		if _, ok := c.inits[v.Name]; !ok {
			inputs = append(inputs, v)
		}
	}
	if len(inputs) != 1 {
		names := make([]string, len(inputs))
		for i, v := range inputs {
			names[i] = fmt.Sprintf("%q", v.Name)
		}
		return nil, fmt.Errorf("the graph has %d inputs (%s) besides its initializers; only models with one input are supported",
			len(inputs), strings.Join(names, ", "))
	}
	in := inputs[0]
	c.input = in.Name
	for _, v := range g.Outputs {
		c.outputs = append(c.outputs, v.Name)
	}
	if err := c.index(); err != nil {
		return nil, err
	}
	c.prune()
	if err := c.checkAll(); err != nil {
		return nil, err
	}
	if in.ElemType != 0 && in.ElemType != dtFloat {
		return nil, fmt.Errorf("input %q has element type %s; only FLOAT inputs are supported", in.Name, dataTypeName(in.ElemType))
	}
	inShape, err := c.inputShape(in)
	if err != nil {
		return nil, err
	}
	if len(g.Outputs) != 1 {
		names := make([]string, len(g.Outputs))
		for i, v := range g.Outputs {
			names[i] = fmt.Sprintf("%q", v.Name)
		}
		return nil, fmt.Errorf("the graph has %d outputs (%s); only models with one output are supported",
			len(g.Outputs), strings.Join(names, ", "))
	}
	output := g.Outputs[0].Name
	if !c.dyn[output] {
		return nil, fmt.Errorf("the graph output %q is not computed from the input %q", output, c.input)
	}

	// A Softmax or LogSoftmax producing the output (possibly through Identity nodes) is set aside.
	stop, strip := output, -1
	for stop != c.input {
		p := c.producer[stop]
		n := c.nodes[p]
		if len(c.pending(stop)) > 0 || !c.dyn[input(n, 0)] {
			break
		}
		if n.OpType == "Identity" {
			c.used[p] = true
			stop = n.Inputs[0]
			continue
		}
		if (n.OpType == "Softmax" || n.OpType == "LogSoftmax") && !opt.KeepSoftmax {
			strip, stop = p, n.Inputs[0]
			c.used[p] = true
		}
		break
	}
	f := &flow{shape: append([]int(nil), inShape...), nnShape: append([]int(nil), inShape...)}
	c.shapes[c.input] = inShape
	if err := c.chain(c.input, stop, -1, f); err != nil {
		return nil, err
	}
	if strip >= 0 {
		n := c.nodes[strip]
		def := int64(1)
		if c.opset >= 13 {
			def = -1
		}
		axis := attrInt(n, "axis", def)
		if len(f.shape) == 1 && (axis == 1 || axis == -1) {
			c.warnf("%s on the output was stripped: the model returns logits (the %s's input)", c.label(strip), n.OpType)
		} else {
			if _, err := c.apply(strip, stop, f); err != nil {
				return nil, err
			}
		}
	}
	if p, ok := c.producer[stop]; ok && strip < 0 && c.nodes[p].OpType == "Sigmoid" && len(f.shape) == 1 {
		c.warnf("the output comes from %s: it is a probability, not a logit", c.label(p))
	}
	// The output keeps the layers' shape when it only drops size-1 dimensions of the ONNX shape (for
	// example N × C × 1 × 1 after GlobalAveragePool becomes N × C).
	if !slices.Equal(squeezeOnes(f.shape), squeezeOnes(f.nnShape)) || len(f.nnShape) != 1 {
		if err := f.materialize(); err != nil {
			return nil, fmt.Errorf("output %q: %w", output, err)
		}
	}
	for i, n := range c.nodes {
		if c.dyn[firstOutput(n)] && !c.used[i] {
			c.warnf("%s does not lead to the output %q and was ignored", c.label(i), output)
		}
	}
	name := opt.Name
	if name == "" {
		name = "onnx"
	}
	net := nn.NewSequential(name, f.layers...)
	outShape, err := net.OutShape(inShape)
	if err != nil {
		return nil, err
	}
	producer := mp.ProducerName
	if mp.ProducerVersion != "" {
		producer += " " + mp.ProducerVersion
	}
	return &Model{Net: net, InputName: c.input, OutputName: output, InputShape: inShape, OutputShape: outShape,
		Batch: c.batch, Opset: c.opset, IRVersion: mp.IRVersion, Producer: producer, Warnings: c.warnings}, nil
}

func firstOutput(n *nodeProto) string {
	if len(n.Outputs) == 0 {
		return ""
	}
	return n.Outputs[0]
}

func squeezeOnes(s []int) []int {
	var out []int
	for _, d := range s {
		if d != 1 {
			out = append(out, d)
		}
	}
	return out
}

// inputShape returns the per-record input shape, from the graph or from Options.InputShape.
func (c *converter) inputShape(in *valueInfo) ([]int, error) {
	if len(c.opt.InputShape) > 0 {
		for i, d := range c.opt.InputShape {
			if d <= 0 {
				return nil, fmt.Errorf("Options.InputShape %v: dimension %d is not positive", c.opt.InputShape, i)
			}
		}
		if _, err := numelOf(c.opt.InputShape); err != nil {
			return nil, fmt.Errorf("Options.InputShape: %w", err)
		}
	}
	if !in.HasShape {
		if len(c.opt.InputShape) == 0 {
			return nil, fmt.Errorf("input %q: %w: the graph gives no shape (set Options.InputShape)", in.Name, ErrInputShape)
		}
		return append([]int(nil), c.opt.InputShape...), nil
	}
	if len(in.Dims) == 0 {
		return nil, fmt.Errorf("input %q is a scalar; the first dimension must index records", in.Name)
	}
	if d := in.Dims[0]; d.HasValue && d.Value > 0 && d.Value <= maxElems {
		c.batch = int(d.Value)
	}
	rec := in.Dims[1:]
	shape := make([]int, len(rec))
	unknown := false
	for i, d := range rec {
		switch {
		case d.HasValue && d.Value > 0 && d.Value <= maxElems:
			shape[i] = int(d.Value)
		case d.HasValue:
			return nil, fmt.Errorf("input %q of shape %s: dimension %d is %d", in.Name, dimsString(in.Dims), i+1, d.Value)
		default:
			unknown = true
		}
	}
	if opt := c.opt.InputShape; len(opt) > 0 {
		if len(opt) != len(shape) {
			return nil, fmt.Errorf("Options.InputShape %v has %d dimensions; input %q has %d per record (%s)",
				opt, len(opt), in.Name, len(shape), dimsString(in.Dims))
		}
		for i, d := range shape {
			if d != 0 && d != opt[i] {
				return nil, fmt.Errorf("Options.InputShape %v does not match input %q of shape %s", opt, in.Name, dimsString(in.Dims))
			}
		}
		return append([]int(nil), opt...), nil
	}
	if unknown {
		return nil, fmt.Errorf("input %q of shape %s: %w: set Options.InputShape", in.Name, dimsString(in.Dims), ErrInputShape)
	}
	if _, err := numelOf(shape); err != nil {
		return nil, fmt.Errorf("input %q: %w", in.Name, err)
	}
	return shape, nil
}

func dimsString(ds []dim) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		switch {
		case d.HasValue:
			parts[i] = fmt.Sprint(d.Value)
		case d.Param != "":
			parts[i] = d.Param
		default:
			parts[i] = "?"
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// index builds the producer, consumer and dynamic-value tables and checks that the nodes are in
// topological order.
func (c *converter) index() error {
	c.used = make([]bool, len(c.nodes))
	c.dyn[c.input] = true
	for i, n := range c.nodes {
		for _, v := range n.Inputs {
			if v == "" || v == c.input {
				continue
			}
			if _, ok := c.producer[v]; ok {
				continue
			}
			if _, ok := c.inits[v]; ok {
				continue
			}
			return fmt.Errorf("%s: input %q is neither a graph input, an initializer nor the output of an earlier node", c.label(i), v)
		}
		isDyn := false
		if n.OpType != "Shape" {
			seen := map[string]bool{}
			for _, v := range n.Inputs {
				if c.dyn[v] && !seen[v] {
					seen[v] = true
					isDyn = true
					c.consumers[v] = append(c.consumers[v], i)
				}
			}
		}
		for _, v := range n.Outputs {
			if v == "" {
				continue
			}
			if _, ok := c.producer[v]; ok || v == c.input {
				return fmt.Errorf("%s: value %q is computed twice", c.label(i), v)
			}
			c.producer[v] = i
			if isDyn {
				c.dyn[v] = true
			}
		}
	}
	return nil
}

// prune drops from the consumer lists the nodes that do not lead to a graph output, so that a dead
// branch does not look like a fork; they are reported in the warnings.
func (c *converter) prune() {
	c.live = make([]bool, len(c.nodes))
	stack := append([]string(nil), c.outputs...)
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if p, ok := c.producer[v]; ok && !c.live[p] {
			c.live[p] = true
			stack = append(stack, c.nodes[p].Inputs...)
		}
	}
	for v, cons := range c.consumers {
		var keep []int
		for _, i := range cons {
			if c.live[i] {
				keep = append(keep, i)
			}
		}
		c.consumers[v] = keep
	}
}

// pending returns the nodes that take v and have not been converted yet.
func (c *converter) pending(v string) []int {
	var out []int
	for _, i := range c.consumers[v] {
		if !c.used[i] {
			out = append(out, i)
		}
	}
	return out
}

// chain converts the nodes from value v to value stop into f. When first ≥ 0 it is the first node
// (a branch of a fork); otherwise each value must have exactly one consumer or fork into a residual
// block.
func (c *converter) chain(v, stop string, first int, f *flow) error {
	for v != stop {
		ni := first
		first = -1
		if ni < 0 {
			cons := c.pending(v)
			switch len(cons) {
			case 0:
				return fmt.Errorf("value %q does not lead to %q", v, stop)
			case 1:
				ni = cons[0]
			default:
				out, err := c.residual(v, cons, f)
				if err != nil {
					return err
				}
				v = out
				continue
			}
		}
		if c.used[ni] {
			return fmt.Errorf("%s is reached twice", c.label(ni))
		}
		c.used[ni] = true
		out, err := c.apply(ni, v, f)
		if err != nil {
			return err
		}
		v = out
		c.shapes[v] = append([]int(nil), f.shape...)
	}
	return nil
}

// reach returns the nodes reachable from node i (i included) through dynamic values.
func (c *converter) reach(i int) map[int]bool {
	seen := map[int]bool{i: true}
	stack := []int{i}
	for len(stack) > 0 {
		j := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, o := range c.nodes[j].Outputs {
			for _, k := range c.consumers[o] {
				if !seen[k] {
					seen[k] = true
					stack = append(stack, k)
				}
			}
		}
	}
	return seen
}

// residual converts a fork of v into two branches joined by an Add into an nn.Residual, and returns
// the Add's output.
func (c *converter) residual(v string, cons []int, f *flow) (string, error) {
	labels := make([]string, len(cons))
	for i, k := range cons {
		labels[i] = c.label(k)
	}
	if len(cons) != 2 {
		return "", fmt.Errorf("value %q feeds %d nodes (%s); only a fork into two branches joined by Add (a residual block) is supported",
			v, len(cons), strings.Join(labels, ", "))
	}
	if f.pad != 0 {
		return "", fmt.Errorf("value %q: padding from a Pad node must go to one Conv or AveragePool", v)
	}
	ra, rb := c.reach(cons[0]), c.reach(cons[1])
	join := -1
	for k := range ra {
		if rb[k] && (join < 0 || k < join) {
			join = k
		}
	}
	if join < 0 {
		return "", fmt.Errorf("value %q feeds %s and %s, which never join; only residual blocks are supported", v, labels[0], labels[1])
	}
	j := c.nodes[join]
	var ins []string
	for _, in := range j.Inputs {
		if c.dyn[in] {
			ins = append(ins, in)
		}
	}
	if (j.OpType != "Add" && j.OpType != "Sum") || len(j.Inputs) != 2 || len(ins) != 2 {
		return "", fmt.Errorf("the branches from value %q (%s, %s) join at %s; only an Add of the two branches (a residual block) is supported",
			v, labels[0], labels[1], c.label(join))
	}
	if err := f.materialize(); err != nil {
		return "", err
	}
	// branch converts the branch that starts at node start and returns its layers and which input of
	// the join it computes.
	branch := func(start int) ([]nn.Layer, int, error) {
		b := &flow{shape: append([]int(nil), f.shape...), nnShape: append([]int(nil), f.nnShape...)}
		if start == join {
			for k, in := range ins {
				if in == v {
					return nil, k, nil
				}
			}
			return nil, 0, fmt.Errorf("%s does not take %q", c.label(join), v)
		}
		r := c.reach(start)
		k := -1
		for i, in := range ins {
			if in == v {
				continue
			}
			if r[c.producer[in]] {
				if k >= 0 {
					return nil, 0, fmt.Errorf("both inputs of %s depend on %s; only residual blocks are supported", c.label(join), c.label(start))
				}
				k = i
			}
		}
		if k < 0 {
			return nil, 0, fmt.Errorf("%s does not lead to %s", c.label(start), c.label(join))
		}
		if err := c.chain(v, ins[k], start, b); err != nil {
			return nil, 0, err
		}
		if b.pad != 0 {
			return nil, 0, fmt.Errorf("padding from a Pad node before %s is not used by a Conv or AveragePool", c.label(join))
		}
		if err := b.materialize(); err != nil {
			return nil, 0, err
		}
		return b.layers, k, nil
	}
	la, ka, err := branch(cons[0])
	if err != nil {
		return "", err
	}
	lb, kb, err := branch(cons[1])
	if err != nil {
		return "", err
	}
	if ka == kb {
		return "", fmt.Errorf("both branches from value %q reach the same input of %s", v, c.label(join))
	}
	c.used[join] = true
	// Body is the branch of the Add's first input, unless that branch is the identity.
	body, short := la, lb
	if ka != 0 {
		body, short = lb, la
	}
	if len(body) == 0 {
		body, short = short, body
	}
	res := nn.NewResidual(body, short)
	if err := f.add(res); err != nil {
		return "", fmt.Errorf("residual block joined at %s: %w", c.label(join), err)
	}
	out := firstOutput(j)
	c.shapes[out] = append([]int(nil), f.shape...)
	return out, nil
}
