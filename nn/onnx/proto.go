package onnx

import "fmt"

// The ONNX messages this package reads, decoded from the protocol-buffer wire format by hand. Field
// numbers are those of onnx.proto (ONNX 1.12, Debian libonnx-dev /usr/include/onnx/onnx.proto).
// Unknown fields are skipped; sub-graphs of control-flow attributes, sparse tensors, functions and
// training information are not decoded.

type modelProto struct {
	IRVersion       int64
	Opsets          []opsetID
	ProducerName    string
	ProducerVersion string
	Graph           *graphProto
}

type opsetID struct {
	Domain  string
	Version int64
}

type graphProto struct {
	Name         string
	Nodes        []*nodeProto
	Initializers []*tensorProto
	Inputs       []*valueInfo
	Outputs      []*valueInfo
}

type nodeProto struct {
	Inputs  []string
	Outputs []string
	Name    string
	OpType  string
	Domain  string
	Attrs   []*attribute
}

type attribute struct {
	Name     string
	Type     int64
	F        float32
	I        int64
	S        []byte
	T        *tensorProto
	Floats   []float32
	Ints     []int64
	HasGraph bool // a sub-graph (g or graphs) was present; it is not decoded
}

// TensorProto.DataType values used here.
const (
	dtFloat  = 1
	dtUint8  = 2
	dtInt8   = 3
	dtInt32  = 6
	dtInt64  = 7
	dtBool   = 9
	dtDouble = 11
)

type tensorProto struct {
	Dims       []int64
	DataType   int64
	FloatData  []float32
	Int32Data  []int64
	Int64Data  []int64
	DoubleData []float64
	Name       string
	RawData    []byte
	HasRaw     bool
	External   bool // data_location = EXTERNAL or external_data entries
	Segmented  bool
}

type valueInfo struct {
	Name     string
	ElemType int64
	HasShape bool
	Dims     []dim
}

// dim is one dimension of a TensorShapeProto: a value, a symbolic name, or neither (unknown).
type dim struct {
	Value    int64
	Param    string
	HasValue bool
}

// each calls f for every field of the message b; f reports whether it consumed the field, and
// unconsumed fields are skipped.
func each(b []byte, f func(w *wire, field, typ int) (bool, error)) error {
	w := &wire{b: b}
	for !w.done() {
		at := w.off
		field, typ, err := w.key()
		if err != nil {
			return fmt.Errorf("byte %d: %w", at, err)
		}
		ok, err := f(w, field, typ)
		if err != nil {
			return fmt.Errorf("field %d at byte %d: %w", field, at, err)
		}
		if !ok {
			if err := w.skip(typ); err != nil {
				return fmt.Errorf("field %d at byte %d: %w", field, at, err)
			}
		}
	}
	return nil
}

// sub reads a length-delimited sub-message field.
func sub(w *wire, field, typ int) ([]byte, error) {
	if err := wantType(field, typ, wireBytes); err != nil {
		return nil, err
	}
	return w.bytes()
}

func decodeModel(b []byte) (*modelProto, error) {
	m := &modelProto{}
	err := each(b, func(w *wire, field, typ int) (bool, error) {
		var err error
		switch field {
		case 1:
			m.IRVersion, err = w.int64v(field, typ)
		case 2:
			m.ProducerName, err = w.str(field, typ)
		case 3:
			m.ProducerVersion, err = w.str(field, typ)
		case 7:
			var gb []byte
			if gb, err = sub(w, field, typ); err == nil {
				var g *graphProto
				if g, err = decodeGraph(gb); err != nil {
					return true, fmt.Errorf("graph: %w", err)
				}
				m.Graph = g
			}
		case 8:
			var ob []byte
			if ob, err = sub(w, field, typ); err == nil {
				var o opsetID
				if o, err = decodeOpset(ob); err != nil {
					return true, fmt.Errorf("opset_import[%d]: %w", len(m.Opsets), err)
				}
				m.Opsets = append(m.Opsets, o)
			}
		default:
			return false, nil
		}
		return true, err
	})
	if err != nil {
		return nil, fmt.Errorf("ModelProto: %w", err)
	}
	return m, nil
}

func decodeOpset(b []byte) (opsetID, error) {
	var o opsetID
	err := each(b, func(w *wire, field, typ int) (bool, error) {
		var err error
		switch field {
		case 1:
			o.Domain, err = w.str(field, typ)
		case 2:
			o.Version, err = w.int64v(field, typ)
		default:
			return false, nil
		}
		return true, err
	})
	return o, err
}

func decodeGraph(b []byte) (*graphProto, error) {
	g := &graphProto{}
	err := each(b, func(w *wire, field, typ int) (bool, error) {
		var err error
		switch field {
		case 1:
			var nb []byte
			if nb, err = sub(w, field, typ); err == nil {
				var n *nodeProto
				if n, err = decodeNode(nb); err != nil {
					return true, fmt.Errorf("node[%d]: %w", len(g.Nodes), err)
				}
				g.Nodes = append(g.Nodes, n)
			}
		case 2:
			g.Name, err = w.str(field, typ)
		case 5:
			var tb []byte
			if tb, err = sub(w, field, typ); err == nil {
				var t *tensorProto
				if t, err = decodeTensor(tb); err != nil {
					return true, fmt.Errorf("initializer[%d]: %w", len(g.Initializers), err)
				}
				g.Initializers = append(g.Initializers, t)
			}
		case 11, 12:
			var vb []byte
			if vb, err = sub(w, field, typ); err == nil {
				var v *valueInfo
				if v, err = decodeValueInfo(vb); err != nil {
					if field == 11 {
						return true, fmt.Errorf("input[%d]: %w", len(g.Inputs), err)
					}
					return true, fmt.Errorf("output[%d]: %w", len(g.Outputs), err)
				}
				if field == 11 {
					g.Inputs = append(g.Inputs, v)
				} else {
					g.Outputs = append(g.Outputs, v)
				}
			}
		default:
			return false, nil
		}
		return true, err
	})
	return g, err
}

func decodeNode(b []byte) (*nodeProto, error) {
	n := &nodeProto{}
	err := each(b, func(w *wire, field, typ int) (bool, error) {
		var err error
		var s string
		switch field {
		case 1:
			if s, err = w.str(field, typ); err == nil {
				n.Inputs = append(n.Inputs, s)
			}
		case 2:
			if s, err = w.str(field, typ); err == nil {
				n.Outputs = append(n.Outputs, s)
			}
		case 3:
			n.Name, err = w.str(field, typ)
		case 4:
			n.OpType, err = w.str(field, typ)
		case 7:
			n.Domain, err = w.str(field, typ)
		case 5:
			var ab []byte
			if ab, err = sub(w, field, typ); err == nil {
				var a *attribute
				if a, err = decodeAttribute(ab); err != nil {
					return true, fmt.Errorf("attribute[%d]: %w", len(n.Attrs), err)
				}
				n.Attrs = append(n.Attrs, a)
			}
		default:
			return false, nil
		}
		return true, err
	})
	return n, err
}

func decodeAttribute(b []byte) (*attribute, error) {
	a := &attribute{}
	err := each(b, func(w *wire, field, typ int) (bool, error) {
		var err error
		switch field {
		case 1:
			a.Name, err = w.str(field, typ)
		case 20:
			a.Type, err = w.int64v(field, typ)
		case 2:
			a.F, err = w.float32v(field, typ)
		case 3:
			a.I, err = w.int64v(field, typ)
		case 4:
			a.S, err = sub(w, field, typ)
		case 5:
			var tb []byte
			if tb, err = sub(w, field, typ); err == nil {
				if a.T, err = decodeTensor(tb); err != nil {
					return true, fmt.Errorf("t: %w", err)
				}
			}
		case 6, 11:
			a.HasGraph = true
			return false, nil
		case 7:
			a.Floats, err = w.appendFloat32s(a.Floats, field, typ)
		case 8:
			a.Ints, err = w.appendInt64s(a.Ints, field, typ)
		default:
			return false, nil
		}
		return true, err
	})
	return a, err
}

func decodeTensor(b []byte) (*tensorProto, error) {
	t := &tensorProto{}
	err := each(b, func(w *wire, field, typ int) (bool, error) {
		var err error
		switch field {
		case 1:
			t.Dims, err = w.appendInt64s(t.Dims, field, typ)
		case 2:
			t.DataType, err = w.int64v(field, typ)
		case 3:
			t.Segmented = true
			return false, nil
		case 4:
			t.FloatData, err = w.appendFloat32s(t.FloatData, field, typ)
		case 5:
			t.Int32Data, err = w.appendInt64s(t.Int32Data, field, typ)
		case 7:
			t.Int64Data, err = w.appendInt64s(t.Int64Data, field, typ)
		case 8:
			t.Name, err = w.str(field, typ)
		case 9:
			t.RawData, err = sub(w, field, typ)
			t.HasRaw = true
		case 10:
			t.DoubleData, err = w.appendFloat64s(t.DoubleData, field, typ)
		case 13:
			t.External = true
			return false, nil
		case 14:
			var loc int64
			loc, err = w.int64v(field, typ)
			t.External = t.External || loc == 1
		default:
			return false, nil
		}
		return true, err
	})
	return t, err
}

func decodeValueInfo(b []byte) (*valueInfo, error) {
	v := &valueInfo{}
	err := each(b, func(w *wire, field, typ int) (bool, error) {
		var err error
		switch field {
		case 1:
			v.Name, err = w.str(field, typ)
		case 2:
			var tb []byte
			if tb, err = sub(w, field, typ); err == nil {
				if err = decodeTypeProto(tb, v); err != nil {
					return true, fmt.Errorf("type: %w", err)
				}
			}
		default:
			return false, nil
		}
		return true, err
	})
	return v, err
}

// decodeTypeProto reads TypeProto.tensor_type (field 1) into v; other types are ignored.
func decodeTypeProto(b []byte, v *valueInfo) error {
	return each(b, func(w *wire, field, typ int) (bool, error) {
		if field != 1 {
			return false, nil
		}
		tb, err := sub(w, field, typ)
		if err != nil {
			return true, err
		}
		return true, each(tb, func(w *wire, field, typ int) (bool, error) {
			var err error
			switch field {
			case 1:
				v.ElemType, err = w.int64v(field, typ)
			case 2:
				var sb []byte
				if sb, err = sub(w, field, typ); err == nil {
					v.HasShape = true
					v.Dims = v.Dims[:0]
					err = decodeShape(sb, v)
				}
			default:
				return false, nil
			}
			return true, err
		})
	})
}

func decodeShape(b []byte, v *valueInfo) error {
	return each(b, func(w *wire, field, typ int) (bool, error) {
		if field != 1 {
			return false, nil
		}
		db, err := sub(w, field, typ)
		if err != nil {
			return true, err
		}
		var d dim
		err = each(db, func(w *wire, field, typ int) (bool, error) {
			var err error
			switch field {
			case 1:
				d.Value, err = w.int64v(field, typ)
				d.HasValue = true
			case 2:
				d.Param, err = w.str(field, typ)
			default:
				return false, nil
			}
			return true, err
		})
		if err != nil {
			return true, fmt.Errorf("shape.dim[%d]: %w", len(v.Dims), err)
		}
		v.Dims = append(v.Dims, d)
		return true, nil
	})
}
