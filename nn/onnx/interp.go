package onnx

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Tensor is a value of a Graph: float values (float32; double inputs are converted) or integer values
// (int64; also booleans, as 0 and 1), in row-major order. Exactly one of F and I is non-nil. A scalar has
// an empty Shape.
type Tensor struct {
	Shape []int
	F     []float32
	I     []int64
}

// Len returns the number of elements.
func (t *Tensor) Len() int {
	if t.I != nil {
		return len(t.I)
	}
	return len(t.F)
}

// ValueInfo describes a graph input or output: its name, its ONNX element type ("FLOAT", "INT64", …)
// and its shape as declared, with -1 for a symbolic or unknown dimension (Names holds the symbol, or "").
type ValueInfo struct {
	Name  string
	Type  string
	Shape []int
	Names []string
}

// Graph is an ONNX model run by a small interpreter over float32 and int64 tensors: any graph of the
// operators Ops lists, with shapes known only when it runs (symbolic batch and sequence axes). It is what
// decoder-only transformers exported by torch.onnx.export need: embeddings (Gather), LayerNormalization
// or its decomposition (ReduceMean, Sub, Pow, Sqrt, Div), GELU (Erf or Tanh forms), causal masks (Range,
// comparisons, Where, Expand, ConstantOfShape, Slice, Trilu), head reshapes and transposes, batched
// MatMul (nn/gemm's kernel) and Softmax. Unlike Model, it neither trains nor maps onto nn's layers.
//
// A Graph is read-only once decoded: Run may be called from several goroutines at once.
type Graph struct {
	Inputs, Outputs []ValueInfo
	// Opset is the version of the default operator set, IRVersion the ONNX IR version, Producer the
	// exporting tool.
	Opset, IRVersion int64
	Producer         string
	// Warnings lists what the import could not verify (for example an opset outside 7 to 21).
	Warnings []string
	// MaxElems bounds the number of elements of any tensor a run computes (default 2²⁸: 1 GiB of
	// float32, room for a 2,048-token sequence's logits over a 100,000-token vocabulary); a node that
	// would exceed it fails with an error naming it, so that a malformed graph cannot exhaust memory.
	MaxElems int
	// Workers is the number of goroutines each MatMul and Gemm may use (≤ 1: the calling goroutine).
	Workers int

	nodes  []*gnode
	slots  int               // number of value slots
	consts map[int]*constant // initializers and Constant nodes, by slot
	inSlot []int             // slot of each input
	outSl  []int             // slot of each output
	last   []int             // last[s] = index of the last node reading slot s (-1: none or an output)
}

// defaultMaxRunElems is the default Graph.MaxElems.
const defaultMaxRunElems = 1 << 28

// gnode is a node prepared for the interpreter.
type gnode struct {
	n     *nodeProto
	label string
	in    []int // slots of the inputs (-1: absent optional input)
	out   []int // slots of the outputs (-1: unused)
	op    opFunc
}

// opFunc computes a node's outputs from its inputs (nil for absent optional inputs). It never modifies
// its inputs; it may return an input (or a tensor sharing its data) as an output.
type opFunc func(r *runner, n *gnode, in []*constant) ([]*constant, error)

// LoadGraph reads an .onnx file as a Graph (see DecodeGraph). Errors name the file.
func LoadGraph(path string) (*Graph, error) {
	b, err := readFile(path)
	if err != nil {
		return nil, err
	}
	g, err := decodeGraphModel(b)
	if err != nil {
		return nil, fmt.Errorf("onnx: %s: %w", path, err)
	}
	return g, nil
}

// DecodeGraph imports a serialized ONNX ModelProto as a Graph. Every node must be an operator of the
// default domain that Ops lists; the error for a graph that has others lists each such node by name and
// type. The nodes must be in topological order (as the ONNX standard requires) and every value defined
// once. Initializers and Constant nodes are decoded here; attributes and shapes are checked when the
// graph runs, where a bad one gives an error naming the node and its operator.
func DecodeGraph(data []byte) (*Graph, error) {
	g, err := decodeGraphModel(data)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return g, nil
}

// Ops returns the operators a Graph runs, sorted.
func Ops() []string {
	out := make([]string, 0, len(graphOps))
	for k := range graphOps {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func nodeLabel(i int, n *nodeProto) string {
	if n.Name != "" {
		return fmt.Sprintf("node %q (%s)", n.Name, n.OpType)
	}
	return fmt.Sprintf("node %d (%s)", i, n.OpType)
}

func decodeGraphModel(data []byte) (*Graph, error) {
	mp, err := decodeModel(data)
	if err != nil {
		return nil, fmt.Errorf("decode %w", err)
	}
	gp := mp.Graph
	if gp == nil {
		return nil, fmt.Errorf("the model has no graph")
	}
	g := &Graph{IRVersion: mp.IRVersion, Producer: strings.TrimSpace(mp.ProducerName + " " + mp.ProducerVersion),
		MaxElems: defaultMaxRunElems, consts: map[int]*constant{}}
	found := false
	for _, o := range mp.Opsets {
		if o.Domain == "" || o.Domain == "ai.onnx" {
			g.Opset, found = o.Version, true
		}
	}
	if !found {
		return nil, fmt.Errorf("the model imports no version of the default operator set (opset_import)")
	}
	if g.Opset < minOpset || g.Opset > maxOpset {
		g.Warnings = append(g.Warnings, fmt.Sprintf("opset %d is outside the versions %d to %d this importer follows; check the outputs", g.Opset, minOpset, maxOpset))
	}
	if len(gp.Nodes) > maxNodes {
		return nil, fmt.Errorf("the graph has %d nodes, more than the %d supported", len(gp.Nodes), maxNodes)
	}
	var issues []string
	for i, n := range gp.Nodes {
		if n.Domain != "" && n.Domain != "ai.onnx" {
			issues = append(issues, fmt.Sprintf("%s: operator domain %q is not supported", nodeLabel(i, n), n.Domain))
		} else if graphOps[n.OpType] == nil {
			issues = append(issues, fmt.Sprintf("%s: operator not supported", nodeLabel(i, n)))
		}
	}
	if len(issues) > 0 {
		return nil, fmt.Errorf("%d unsupported node(s) (a Graph runs %s): %s", len(issues), strings.Join(Ops(), ", "), strings.Join(issues, "; "))
	}

	slot := map[string]int{}
	define := func(name string) (int, error) {
		if _, ok := slot[name]; ok {
			return 0, fmt.Errorf("value %q is defined twice", name)
		}
		slot[name] = g.slots
		g.slots++
		return g.slots - 1, nil
	}
	for _, t := range gp.Initializers {
		s, err := define(t.Name)
		if err != nil {
			return nil, fmt.Errorf("initializer: %w", err)
		}
		k, err := t.decode()
		if err != nil {
			return nil, fmt.Errorf("initializer %q: %w", t.Name, err)
		}
		g.consts[s] = k
	}
	for _, v := range gp.Inputs {
		if s, ok := slot[v.Name]; ok {
			if _, isInit := g.consts[s]; isInit {
				continue // an initializer listed as an input (IR < 4): a constant here
			}
		}
		s, err := define(v.Name)
		if err != nil {
			return nil, fmt.Errorf("input: %w", err)
		}
		g.inSlot = append(g.inSlot, s)
		g.Inputs = append(g.Inputs, valueInfoOf(v))
	}
	for i, n := range gp.Nodes {
		gn := &gnode{n: n, label: nodeLabel(i, n), op: graphOps[n.OpType]}
		for _, in := range n.Inputs {
			if in == "" {
				gn.in = append(gn.in, -1)
				continue
			}
			s, ok := slot[in]
			if !ok {
				return nil, fmt.Errorf("%s: input %q is neither a graph input, an initializer nor the output of an earlier node", gn.label, in)
			}
			gn.in = append(gn.in, s)
		}
		for _, out := range n.Outputs {
			if out == "" {
				gn.out = append(gn.out, -1)
				continue
			}
			s, err := define(out)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", gn.label, err)
			}
			gn.out = append(gn.out, s)
		}
		if n.OpType == "Constant" {
			k, err := constantNode(n)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", gn.label, err)
			}
			if len(gn.out) != 1 || gn.out[0] < 0 {
				return nil, fmt.Errorf("%s: want one output", gn.label)
			}
			g.consts[gn.out[0]] = k
			continue
		}
		g.nodes = append(g.nodes, gn)
	}
	if len(gp.Outputs) == 0 {
		return nil, fmt.Errorf("the graph has no output")
	}
	for _, v := range gp.Outputs {
		s, ok := slot[v.Name]
		if !ok {
			return nil, fmt.Errorf("output %q is not computed by the graph", v.Name)
		}
		g.outSl = append(g.outSl, s)
		g.Outputs = append(g.Outputs, valueInfoOf(v))
	}
	// Keep only the nodes that lead to an output.
	producer := map[int]*gnode{}
	for _, n := range g.nodes {
		for _, s := range n.out {
			if s >= 0 {
				producer[s] = n
			}
		}
	}
	live := map[*gnode]bool{}
	stack := append([]int(nil), g.outSl...)
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n := producer[s]; n != nil && !live[n] {
			live[n] = true
			for _, in := range n.in {
				if in >= 0 {
					stack = append(stack, in)
				}
			}
		}
	}
	g.nodes = slices.DeleteFunc(g.nodes, func(n *gnode) bool { return !live[n] })
	g.last = make([]int, g.slots)
	for i := range g.last {
		g.last[i] = -1
	}
	for i, n := range g.nodes {
		for _, s := range n.in {
			if s >= 0 {
				g.last[s] = i
			}
		}
	}
	for _, s := range g.outSl {
		g.last[s] = len(g.nodes) // kept to the end
	}
	return g, nil
}

func valueInfoOf(v *valueInfo) ValueInfo {
	vi := ValueInfo{Name: v.Name, Type: dataTypeName(v.ElemType)}
	if v.HasShape {
		vi.Shape, vi.Names = make([]int, len(v.Dims)), make([]string, len(v.Dims))
		for i, d := range v.Dims {
			vi.Shape[i], vi.Names[i] = -1, d.Param
			if d.HasValue && d.Value >= 0 && d.Value <= maxElems {
				vi.Shape[i] = int(d.Value)
			}
		}
	}
	return vi
}

// runner is the state of one run.
type runner struct {
	g    *Graph
	ctx  context.Context
	vals []*constant
}

// Run computes the graph's outputs from its inputs, given by name (every graph input that is not an
// initializer must be given). An integer tensor may be passed for an integer or boolean input, a float
// tensor for a float input. The context is checked between nodes.
func (g *Graph) Run(ctx context.Context, inputs map[string]*Tensor) (map[string]*Tensor, error) {
	r := &runner{g: g, ctx: ctx, vals: make([]*constant, g.slots)}
	for s, k := range g.consts {
		r.vals[s] = k
	}
	for name := range inputs {
		if !slices.ContainsFunc(g.Inputs, func(v ValueInfo) bool { return v.Name == name }) {
			return nil, fmt.Errorf("onnx: the graph has no input %q", name)
		}
	}
	for i, v := range g.Inputs {
		t, ok := inputs[v.Name]
		if !ok || t == nil {
			return nil, fmt.Errorf("onnx: input %q is not given", v.Name)
		}
		k, err := checkTensor(t)
		if err != nil {
			return nil, fmt.Errorf("onnx: input %q: %w", v.Name, err)
		}
		isFloat := v.Type == "FLOAT" || v.Type == "DOUBLE" || v.Type == "FLOAT16"
		isInt := v.Type == "INT64" || v.Type == "INT32" || v.Type == "BOOL" || v.Type == "INT8" || v.Type == "UINT8"
		if isFloat && !k.isFloat() || isInt && k.isFloat() {
			return nil, fmt.Errorf("onnx: input %q is %s; got a %s tensor", v.Name, v.Type, typeName(k))
		}
		if v.Shape != nil {
			if len(v.Shape) != len(k.Shape) {
				return nil, fmt.Errorf("onnx: input %q of shape %v: the graph declares %d dimensions", v.Name, k.Shape, len(v.Shape))
			}
			for j, d := range v.Shape {
				if d >= 0 && d != k.Shape[j] {
					return nil, fmt.Errorf("onnx: input %q of shape %v: dimension %d must be %d", v.Name, k.Shape, j, d)
				}
			}
		}
		r.vals[g.inSlot[i]] = k
	}
	for i, n := range g.nodes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		in := make([]*constant, len(n.in))
		for j, s := range n.in {
			if s >= 0 {
				in[j] = r.vals[s]
			}
		}
		outs, err := n.op(r, n, in)
		if err != nil {
			return nil, fmt.Errorf("onnx: %s: %w", n.label, err)
		}
		for j, s := range n.out {
			if s < 0 {
				continue
			}
			if j >= len(outs) || outs[j] == nil {
				return nil, fmt.Errorf("onnx: %s: output %d (%q) is not computed", n.label, j, n.n.Outputs[j])
			}
			r.vals[s] = outs[j]
		}
		// Release the values no later node reads.
		for _, s := range n.in {
			if s >= 0 && g.last[s] == i {
				if _, isConst := g.consts[s]; !isConst {
					r.vals[s] = nil
				}
			}
		}
	}
	out := make(map[string]*Tensor, len(g.Outputs))
	for i, v := range g.Outputs {
		k := r.vals[g.outSl[i]]
		if k == nil {
			return nil, fmt.Errorf("onnx: output %q was not computed", v.Name)
		}
		out[v.Name] = &Tensor{Shape: k.Shape, F: k.F, I: k.I}
	}
	return out, nil
}

// checkTensor validates a caller's tensor and returns it as a constant (sharing its data).
func checkTensor(t *Tensor) (*constant, error) {
	if (t.F == nil) == (t.I == nil) {
		return nil, fmt.Errorf("a tensor needs exactly one of F and I")
	}
	n, err := numelOf(t.Shape)
	if err != nil {
		return nil, err
	}
	if n != t.Len() {
		return nil, fmt.Errorf("shape %v holds %d values; the tensor has %d", t.Shape, n, t.Len())
	}
	return &constant{Shape: t.Shape, F: t.F, I: t.I}, nil
}

func typeName(k *constant) string {
	if k.isFloat() {
		return "float"
	}
	return "integer"
}
