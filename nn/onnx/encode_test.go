package onnx

import (
	"encoding/binary"
	"math"
)

// A protocol-buffer encoder for the messages of proto.go, used by the tests to build graphs by hand.
// Repeated numbers are written packed, as ONNX's own serializer does.

type pbuf struct{ b []byte }

func (p *pbuf) varint(v uint64) {
	for v >= 0x80 {
		p.b = append(p.b, byte(v)|0x80)
		v >>= 7
	}
	p.b = append(p.b, byte(v))
}

func (p *pbuf) key(field, typ int) { p.varint(uint64(field)<<3 | uint64(typ)) }

func (p *pbuf) int(field int, v int64) {
	p.key(field, wireVarint)
	p.varint(uint64(v))
}

func (p *pbuf) bytes(field int, b []byte) {
	p.key(field, wireBytes)
	p.varint(uint64(len(b)))
	p.b = append(p.b, b...)
}

func (p *pbuf) str(field int, s string) {
	if s != "" {
		p.bytes(field, []byte(s))
	}
}

func (p *pbuf) f32(field int, f float32) {
	p.key(field, wireFixed32)
	p.b = binary.LittleEndian.AppendUint32(p.b, math.Float32bits(f))
}

func (p *pbuf) ints(field int, v []int64) {
	if len(v) == 0 {
		return
	}
	var q pbuf
	for _, x := range v {
		q.varint(uint64(x))
	}
	p.bytes(field, q.b)
}

func (p *pbuf) floats(field int, v []float32) {
	if len(v) == 0 {
		return
	}
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	p.bytes(field, b)
}

func encModel(m *modelProto) []byte {
	var p pbuf
	p.int(1, m.IRVersion)
	p.str(2, m.ProducerName)
	p.str(3, m.ProducerVersion)
	if m.Graph != nil {
		p.bytes(7, encGraph(m.Graph))
	}
	for _, o := range m.Opsets {
		var q pbuf
		q.str(1, o.Domain)
		q.int(2, o.Version)
		p.bytes(8, q.b)
	}
	return p.b
}

func encGraph(g *graphProto) []byte {
	var p pbuf
	for _, n := range g.Nodes {
		p.bytes(1, encNode(n))
	}
	p.str(2, g.Name)
	for _, t := range g.Initializers {
		p.bytes(5, encTensor(t))
	}
	for _, v := range g.Inputs {
		p.bytes(11, encValueInfo(v))
	}
	for _, v := range g.Outputs {
		p.bytes(12, encValueInfo(v))
	}
	return p.b
}

func encNode(n *nodeProto) []byte {
	var p pbuf
	for _, s := range n.Inputs {
		p.bytes(1, []byte(s))
	}
	for _, s := range n.Outputs {
		p.bytes(2, []byte(s))
	}
	p.str(3, n.Name)
	p.str(4, n.OpType)
	for _, a := range n.Attrs {
		p.bytes(5, encAttr(a))
	}
	p.str(7, n.Domain)
	return p.b
}

func encAttr(a *attribute) []byte {
	var p pbuf
	p.str(1, a.Name)
	switch a.Type {
	case 1:
		p.f32(2, a.F)
	case 2:
		p.int(3, a.I)
	case 3:
		p.bytes(4, a.S)
	case 4:
		p.bytes(5, encTensor(a.T))
	case 6:
		p.floats(7, a.Floats)
	case 7:
		p.ints(8, a.Ints)
	}
	p.int(20, a.Type)
	return p.b
}

func encTensor(t *tensorProto) []byte {
	var p pbuf
	p.ints(1, t.Dims)
	p.int(2, t.DataType)
	p.floats(4, t.FloatData)
	p.ints(5, t.Int32Data)
	p.ints(7, t.Int64Data)
	p.str(8, t.Name)
	if t.HasRaw {
		p.bytes(9, t.RawData)
	}
	if len(t.DoubleData) > 0 {
		var b []byte
		for _, x := range t.DoubleData {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
		}
		p.bytes(10, b)
	}
	if t.External {
		p.int(14, 1)
	}
	return p.b
}

func encValueInfo(v *valueInfo) []byte {
	var tt pbuf
	tt.int(1, v.ElemType)
	if v.HasShape {
		var shape pbuf
		for _, d := range v.Dims {
			var dp pbuf
			if d.HasValue {
				dp.int(1, d.Value)
			}
			dp.str(2, d.Param)
			shape.bytes(1, dp.b)
		}
		tt.bytes(2, shape.b)
	}
	var typ pbuf
	typ.bytes(1, tt.b)
	var p pbuf
	p.str(1, v.Name)
	p.bytes(2, typ.b)
	return p.b
}

// Graph-building helpers.

func nd(op string, ins, outs []string, attrs ...*attribute) *nodeProto {
	return &nodeProto{OpType: op, Name: outs[0], Inputs: ins, Outputs: outs, Attrs: attrs}
}

func aInts(name string, v ...int64) *attribute { return &attribute{Name: name, Type: 7, Ints: v} }
func aInt(name string, v int64) *attribute     { return &attribute{Name: name, Type: 2, I: v} }
func aFloat(name string, v float32) *attribute { return &attribute{Name: name, Type: 1, F: v} }
func aStr(name, v string) *attribute           { return &attribute{Name: name, Type: 3, S: []byte(v)} }
func aTensor(name string, t *tensorProto) *attribute {
	return &attribute{Name: name, Type: 4, T: t}
}

func dims64(shape []int) []int64 {
	d := make([]int64, len(shape))
	for i, v := range shape {
		d[i] = int64(v)
	}
	return d
}

// tf is a float tensor stored in float_data.
func tf(name string, shape []int, data []float32) *tensorProto {
	return &tensorProto{Name: name, Dims: dims64(shape), DataType: dtFloat, FloatData: data}
}

// ti is an int64 tensor stored in int64_data.
func ti(name string, shape []int, data ...int64) *tensorProto {
	return &tensorProto{Name: name, Dims: dims64(shape), DataType: dtInt64, Int64Data: data}
}

// ramp returns n values (i+1)·scale·(−1)^i, a deterministic, sign-varying fill.
func ramp(n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i+1) * scale
		if i%2 == 1 {
			v[i] = -v[i]
		}
	}
	return v
}

// model encodes a graph with one float input "x" of shape [batch, shape...] (a symbolic batch when
// batch is 0) and one output "y".
func model(opset int64, shape []int, inits []*tensorProto, nodes ...*nodeProto) []byte {
	in := &valueInfo{Name: "x", ElemType: dtFloat, HasShape: true, Dims: []dim{{Param: "N"}}}
	for _, d := range shape {
		in.Dims = append(in.Dims, dim{Value: int64(d), HasValue: true})
	}
	g := &graphProto{Name: "g", Nodes: nodes, Initializers: inits, Inputs: []*valueInfo{in},
		Outputs: []*valueInfo{{Name: "y", ElemType: dtFloat}}}
	return encModel(&modelProto{IRVersion: 8, ProducerName: "test", Graph: g, Opsets: []opsetID{{Version: opset}}})
}
