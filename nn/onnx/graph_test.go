package onnx

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/nn"
)

// Reference computations, written independently of package nn, on one record.

// refDense returns W·x + b for W of shape out × in.
func refDense(x, w, b []float32, out int) []float32 {
	in := len(x)
	y := make([]float32, out)
	for o := range y {
		var s float64
		for i := 0; i < in; i++ {
			s += float64(w[o*in+i]) * float64(x[i])
		}
		if b != nil {
			s += float64(b[o])
		}
		y[o] = float32(s)
	}
	return y
}

// refConv is a direct 2-D convolution of a C × H × W record with zero padding pad.
func refConv(x []float32, c, h, wd int, w, b []float32, out, k, stride, pad int) []float32 {
	ho, wo := (h+2*pad-k)/stride+1, (wd+2*pad-k)/stride+1
	y := make([]float32, out*ho*wo)
	for o := 0; o < out; o++ {
		for i := 0; i < ho; i++ {
			for j := 0; j < wo; j++ {
				var s float64
				if b != nil {
					s = float64(b[o])
				}
				for ci := 0; ci < c; ci++ {
					for u := 0; u < k; u++ {
						for v := 0; v < k; v++ {
							r, q := i*stride-pad+u, j*stride-pad+v
							if r >= 0 && r < h && q >= 0 && q < wd {
								s += float64(w[((o*c+ci)*k+u)*k+v]) * float64(x[(ci*h+r)*wd+q])
							}
						}
					}
				}
				y[(o*ho+i)*wo+j] = float32(s)
			}
		}
	}
	return y
}

// refAvgPool averages k × k windows with zero padding pad counted in the average.
func refAvgPool(x []float32, c, h, wd, k, stride, pad int) []float32 {
	ones := make([]float32, c*c*k*k)
	for ci := 0; ci < c; ci++ {
		for u := 0; u < k*k; u++ {
			ones[ci*c*k*k+ci*k*k+u] = 1 / float32(k*k)
		}
	}
	return refConv(x, c, h, wd, ones, nil, c, k, stride, pad)
}

func relu(x []float32) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(math.Max(float64(v), 0))
	}
	return y
}

func add(a, b []float32) []float32 {
	y := make([]float32, len(a))
	for i := range a {
		y[i] = a[i] + b[i]
	}
	return y
}

func TestRoundTrip(t *testing.T) {
	for _, fx := range fixtures {
		b, err := os.ReadFile(filepath.Join("testdata", fx.name+".onnx"))
		if err != nil {
			t.Fatal(err)
		}
		m1, err := decodeModel(b)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := decodeModel(encModel(m1))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(m1, m2) {
			t.Errorf("%s: decode(encode(decode(file))) differs from decode(file)", fx.name)
		}
	}
}

func TestGraphs(t *testing.T) {
	w34 := ramp(12, 0.05)   // 3 × 4
	w43 := ramp(12, 0.07)   // 4 × 3 (MatMul layout)
	wc := ramp(2*2*9, 0.02) // 2 × 2 × 3 × 3
	b4 := ramp(4, 0.3)
	p1 := ti("p", []int{8}, 0, 0, 1, 1, 0, 0, 1, 1) // Pad: 1 pixel on H and W

	cases := []struct {
		name    string
		opset   int64
		shape   []int // per-record input shape
		inits   []*tensorProto
		nodes   []*nodeProto
		opt     Options
		layers  string                      // kinds of the layers, space-separated
		ref     func(x []float32) []float32 // the expected output of one record
		warn    string
		wantErr string
	}{
		{
			name: "Pad folded into Conv", opset: 13, shape: []int{2, 4, 5},
			inits:  []*tensorProto{p1, tf("w", []int{2, 2, 3, 3}, wc)},
			nodes:  []*nodeProto{nd("Pad", []string{"x", "p"}, []string{"xp"}), nd("Conv", []string{"xp", "w"}, []string{"y"}, aInts("strides", 2, 2))},
			layers: "conv2d",
			ref:    func(x []float32) []float32 { return refConv(x, 2, 4, 5, wc, nil, 2, 3, 2, 1) },
		},
		{
			name: "Pad (opset 2 attribute) folded into AveragePool", opset: 9, shape: []int{2, 4, 4},
			nodes: []*nodeProto{nd("Pad", []string{"x"}, []string{"xp"}, aInts("pads", 0, 0, 1, 1, 0, 0, 1, 1)),
				nd("AveragePool", []string{"xp"}, []string{"y"}, aInts("kernel_shape", 3, 3), aInts("strides", 1, 1))},
			layers: "avgpool2d",
			ref:    func(x []float32) []float32 { return refAvgPool(x, 2, 4, 4, 3, 1, 1) },
		},
		{
			name: "Pad before Relu", opset: 13, shape: []int{2, 4, 4}, inits: []*tensorProto{p1},
			nodes:   []*nodeProto{nd("Pad", []string{"x", "p"}, []string{"xp"}), nd("Relu", []string{"xp"}, []string{"y"})},
			wantErr: `node "xp" (Pad): padding is supported only before a single Conv or AveragePool`,
		},
		{
			name: "Pad of all zeros", opset: 13, shape: []int{2, 4, 4}, inits: []*tensorProto{ti("p", []int{8}, 0, 0, 0, 0, 0, 0, 0, 0)},
			nodes:  []*nodeProto{nd("Pad", []string{"x", "p"}, []string{"xp"}), nd("Relu", []string{"xp"}, []string{"y"})},
			layers: "relu", ref: relu,
		},
		{
			name: "views around a 1x1 convolution", opset: 13, shape: []int{4},
			inits: []*tensorProto{ti("a", []int{2}, 2, 3), ti("s", []int{2}, 1, 2), tf("w", []int{3, 4, 1, 1}, w34)},
			nodes: []*nodeProto{
				nd("Unsqueeze", []string{"x", "a"}, []string{"u"}),
				nd("Conv", []string{"u", "w"}, []string{"c"}),
				nd("Transpose", []string{"c"}, []string{"t"}, aInts("perm", 0, 2, 3, 1)),
				nd("Squeeze", []string{"t", "s"}, []string{"y"}),
			},
			layers: "onnx.view conv2d flatten",
			ref:    func(x []float32) []float32 { return refDense(x, w34, nil, 3) },
		},
		{
			name: "MatMul, Add and Sub folded into the bias", opset: 13, shape: []int{3},
			inits: []*tensorProto{tf("w", []int{3, 4}, w43), tf("b", []int{4}, b4), tf("c", []int{1, 4}, []float32{1, 2, 3, 4})},
			nodes: []*nodeProto{nd("MatMul", []string{"x", "w"}, []string{"m"}), nd("Add", []string{"b", "m"}, []string{"a"}),
				nd("Sub", []string{"a", "c"}, []string{"s"}), nd("Relu", []string{"s"}, []string{"y"})},
			layers: "dense relu",
			ref: func(x []float32) []float32 {
				wt := make([]float32, 12)
				for i := 0; i < 3; i++ {
					for o := 0; o < 4; o++ {
						wt[o*3+i] = w43[i*4+o]
					}
				}
				y := refDense(x, wt, nil, 4)
				for o := range y {
					y[o] = y[o] + b4[o] - float32(o+1)
				}
				return relu(y)
			},
		},
		{
			name: "Conv bias from Add, Mul and a spatial Add as constants", opset: 13, shape: []int{2, 3, 3},
			inits: []*tensorProto{tf("w", []int{2, 2, 1, 1}, []float32{1, 2, 3, 4}), tf("b", []int{1, 2, 1, 1}, []float32{0.5, -1}),
				tf("m", []int{2, 1, 1}, []float32{2, 3}), tf("s", []int{3, 3}, ramp(9, 0.1))},
			nodes: []*nodeProto{nd("Conv", []string{"x", "w"}, []string{"c"}), nd("Add", []string{"c", "b"}, []string{"a"}),
				nd("Mul", []string{"a", "m"}, []string{"mm"}), nd("Add", []string{"mm", "s"}, []string{"y"})},
			layers: "conv2d onnx.constop onnx.constop",
			ref: func(x []float32) []float32 {
				y := refConv(x, 2, 3, 3, []float32{1, 2, 3, 4}, []float32{0.5, -1}, 2, 1, 1, 0)
				s := ramp(9, 0.1)
				for i := range y {
					y[i] = y[i]*[]float32{2, 3}[i/9] + s[i%9]
				}
				return y
			},
		},
		{
			name: "constant on the left of Sub and Div", opset: 13, shape: []int{3},
			nodes: []*nodeProto{
				nd("Constant", nil, []string{"k"}, aTensor("value", tf("", []int{}, []float32{2}))),
				nd("Constant", nil, []string{"v"}, &attribute{Name: "value_floats", Type: 6, Floats: []float32{1, 2, 4}}),
				nd("Sub", []string{"k", "x"}, []string{"s"}), nd("Div", []string{"v", "s"}, []string{"y"})},
			layers: "onnx.constop onnx.constop",
			ref: func(x []float32) []float32 {
				return []float32{1 / (2 - x[0]), 2 / (2 - x[1]), 4 / (2 - x[2])}
			},
		},
		{
			name: "residual with the identity as first operand", opset: 13, shape: []int{4},
			inits: []*tensorProto{tf("w", []int{4, 4}, ramp(16, 0.03)), tf("v", []int{4, 4}, ramp(16, -0.02))},
			nodes: []*nodeProto{nd("Gemm", []string{"x", "w"}, []string{"g"}, aInt("transB", 1)), nd("Relu", []string{"g"}, []string{"h"}),
				nd("Gemm", []string{"h", "v"}, []string{"b"}, aInt("transB", 1)), nd("Add", []string{"h", "b"}, []string{"y"})},
			layers: "dense relu residual",
			ref: func(x []float32) []float32 {
				h := relu(refDense(x, ramp(16, 0.03), nil, 4))
				return add(h, refDense(h, ramp(16, -0.02), nil, 4))
			},
		},
		{
			name: "nested residual blocks", opset: 13, shape: []int{4},
			inits: []*tensorProto{tf("w", []int{4, 4}, ramp(16, 0.03)), tf("v", []int{4, 4}, ramp(16, -0.02))},
			nodes: []*nodeProto{
				nd("Relu", []string{"x"}, []string{"r"}),
				nd("Gemm", []string{"r", "w"}, []string{"g"}, aInt("transB", 1)),
				nd("Sum", []string{"g", "r"}, []string{"inner"}),
				nd("Gemm", []string{"inner", "v"}, []string{"b"}, aInt("transB", 1)),
				nd("Add", []string{"b", "x"}, []string{"y"})},
			layers: "residual",
			ref: func(x []float32) []float32 {
				r := relu(x)
				inner := add(refDense(r, ramp(16, 0.03), nil, 4), r)
				return add(refDense(inner, ramp(16, -0.02), nil, 4), x)
			},
		},
		{
			name: "dead branch", opset: 13, shape: []int{4},
			nodes:  []*nodeProto{nd("Relu", []string{"x"}, []string{"y"}), nd("Sigmoid", []string{"x"}, []string{"z"}), nd("LSTM", []string{"z"}, []string{"w"})},
			layers: "relu", ref: relu, warn: `node "z" (Sigmoid) does not lead to the output "y" and was ignored`,
		},
		{
			name: "fork that never joins", opset: 13, shape: []int{4},
			nodes: []*nodeProto{nd("Relu", []string{"x"}, []string{"a"}), nd("Sigmoid", []string{"x"}, []string{"b"}),
				nd("Shape", []string{"a"}, []string{"s"}), nd("Reshape", []string{"b", "s"}, []string{"y"})},
			wantErr: `value "x" feeds node "a" (Relu) and node "b" (Sigmoid), which never join`,
		},
		{
			name: "branches joined by Mul", opset: 13, shape: []int{4},
			nodes: []*nodeProto{nd("Relu", []string{"x"}, []string{"a"}), nd("Sigmoid", []string{"x"}, []string{"b"}),
				nd("Mul", []string{"a", "b"}, []string{"y"})},
			wantErr: `join at node "y" (Mul); only an Add`,
		},
		{
			name: "three-way fork", opset: 13, shape: []int{4},
			nodes: []*nodeProto{nd("Relu", []string{"x"}, []string{"a"}), nd("Sigmoid", []string{"x"}, []string{"b"}),
				nd("Tanh", []string{"x"}, []string{"c"}), nd("Add", []string{"a", "b"}, []string{"d"}), nd("Add", []string{"c", "d"}, []string{"y"})},
			wantErr: `value "x" feeds 3 nodes`,
		},
		{
			name: "every unsupported node in one error", opset: 13, shape: []int{2, 4, 4},
			inits: []*tensorProto{tf("w", []int{2, 1, 1, 1}, []float32{1, 2})},
			nodes: []*nodeProto{nd("LSTM", []string{"x"}, []string{"l"}), nd("Conv", []string{"l", "w"}, []string{"c"}, aInt("group", 2)),
				{OpType: "FusedConv", Name: "f", Domain: "com.microsoft", Inputs: []string{"c"}, Outputs: []string{"f"}},
				nd("Relu", []string{"f"}, []string{"r"}), nd("Erf", []string{"r"}, []string{"y"})},
			wantErr: `4 unsupported node(s): node "l" (LSTM): operator not supported; node "c" (Conv): group=2 (grouped convolution); ` +
				`node "f" (FusedConv): operator domain "com.microsoft" is not supported; node "y" (Erf): operator not supported`,
		},
		{
			name: "Softmax over a non-class axis is kept", opset: 13, shape: []int{3, 2},
			nodes:  []*nodeProto{nd("Softmax", []string{"x"}, []string{"y"}, aInt("axis", 1))},
			layers: "onnx.softmax",
			ref: func(x []float32) []float32 {
				y := make([]float32, 6)
				for j := 0; j < 2; j++ {
					var s float64
					for i := 0; i < 3; i++ {
						s += math.Exp(float64(x[i*2+j]))
					}
					for i := 0; i < 3; i++ {
						y[i*2+j] = float32(math.Exp(float64(x[i*2+j])) / s)
					}
				}
				return y
			},
		},
		{
			name: "output Softmax kept on request", opset: 11, shape: []int{3}, opt: Options{KeepSoftmax: true},
			nodes:  []*nodeProto{nd("Softmax", []string{"x"}, []string{"s"}), nd("Identity", []string{"s"}, []string{"y"})},
			layers: "onnx.softmax",
			ref: func(x []float32) []float32 {
				var s float64
				for _, v := range x {
					s += math.Exp(float64(v))
				}
				return []float32{float32(math.Exp(float64(x[0])) / s), float32(math.Exp(float64(x[1])) / s), float32(math.Exp(float64(x[2])) / s)}
			},
		},
		{
			name: "output LogSoftmax behind Identity stripped", opset: 13, shape: []int{3},
			inits: []*tensorProto{tf("w", []int{3, 3}, ramp(9, 0.1))},
			nodes: []*nodeProto{nd("MatMul", []string{"x", "w"}, []string{"m"}), nd("LogSoftmax", []string{"m"}, []string{"s"}),
				nd("Identity", []string{"s"}, []string{"y"})},
			layers: "dense", warn: `node "s" (LogSoftmax) on the output was stripped`,
			ref: func(x []float32) []float32 {
				w := ramp(9, 0.1)
				wt := []float32{w[0], w[3], w[6], w[1], w[4], w[7], w[2], w[5], w[8]}
				return refDense(x, wt, nil, 3)
			},
		},
		{
			name: "Sigmoid output", opset: 13, shape: []int{1},
			nodes:  []*nodeProto{nd("Sigmoid", []string{"x"}, []string{"y"})},
			layers: "sigmoid", warn: "it is a probability, not a logit",
			ref: func(x []float32) []float32 { return []float32{float32(1 / (1 + math.Exp(-float64(x[0]))))} },
		},
		{
			name: "Dropout with a ratio input", opset: 13, shape: []int{3},
			inits:  []*tensorProto{tf("r", []int{}, []float32{0.25})},
			nodes:  []*nodeProto{nd("Dropout", []string{"x", "r"}, []string{"y"})},
			layers: "dropout",
			ref:    func(x []float32) []float32 { return x },
		},
		{
			name: "Reshape with the export's batch size", opset: 13, shape: []int{2, 3},
			inits:  []*tensorProto{ti("s", []int{2}, 5, -1)},
			nodes:  []*nodeProto{nd("Reshape", []string{"x", "s"}, []string{"y"})},
			layers: "flatten", warn: "fixes the number of records at 5",
			ref: func(x []float32) []float32 { return x },
		},
		{
			name: "Reshape to [0, -1] and [-1, 6]", opset: 13, shape: []int{2, 3},
			inits: []*tensorProto{ti("s", []int{3}, 0, 3, -1), ti("t", []int{2}, -1, 6)},
			nodes: []*nodeProto{nd("Reshape", []string{"x", "s"}, []string{"r"}), nd("Relu", []string{"r"}, []string{"q"}),
				nd("Reshape", []string{"q", "t"}, []string{"y"})},
			layers: "relu flatten", ref: relu, // the view before the element-wise Relu is not needed
		},
		{
			name: "Shape folded through Gather, Cast, Unsqueeze and Concat", opset: 13, shape: []int{2, 3},
			inits: []*tensorProto{ti("i", []int{}, 0), ti("a", []int{1}, 0), ti("m1", []int{1}, -1)},
			nodes: []*nodeProto{
				nd("Shape", []string{"x"}, []string{"sh"}), nd("Gather", []string{"sh", "i"}, []string{"n"}, aInt("axis", 0)),
				nd("Cast", []string{"n"}, []string{"nc"}, aInt("to", 7)), nd("Unsqueeze", []string{"nc", "a"}, []string{"nu"}),
				nd("Concat", []string{"nu", "m1"}, []string{"target"}, aInt("axis", 0)),
				nd("Reshape", []string{"x", "target"}, []string{"y"})},
			layers: "flatten", ref: func(x []float32) []float32 { return x },
		},
		{
			name: "Reshape that moves the records", opset: 13, shape: []int{2, 3},
			inits:   []*tensorProto{ti("s", []int{2}, -1, 2)},
			nodes:   []*nodeProto{nd("Reshape", []string{"x", "s"}, []string{"y"})},
			wantErr: "merges or splits records",
		},
		{
			name: "Gather of the data", opset: 13, shape: []int{3}, inits: []*tensorProto{ti("i", []int{}, 0)},
			nodes:   []*nodeProto{nd("Gather", []string{"x", "i"}, []string{"y"}, aInt("axis", 1))},
			wantErr: `node "y" (Gather): Gather of a value computed from the input is not supported`,
		},
		{
			name: "MaxPool indices used", opset: 13, shape: []int{1, 4, 4},
			nodes: []*nodeProto{nd("MaxPool", []string{"x"}, []string{"p", "idx"}, aInts("kernel_shape", 2, 2)),
				nd("Add", []string{"p", "idx"}, []string{"y"})},
			wantErr: `node "p" (MaxPool): its Indices output "idx" is used`,
		},
		{
			name: "weights computed from the input", opset: 13, shape: []int{3, 3},
			nodes:   []*nodeProto{nd("MatMul", []string{"x", "x"}, []string{"y"})},
			wantErr: `operand 1 ("x") is computed from the input`,
		},
		{
			name: "Conv with SAME_UPPER padding", opset: 13, shape: []int{2, 5, 5},
			inits:  []*tensorProto{tf("w", []int{2, 2, 3, 3}, wc), tf("b", []int{2}, []float32{0.1, 0.2})},
			nodes:  []*nodeProto{nd("Conv", []string{"x", "w", "b"}, []string{"y"}, aStr("auto_pad", "SAME_UPPER"), aInts("kernel_shape", 3, 3))},
			layers: "conv2d",
			ref:    func(x []float32) []float32 { return refConv(x, 2, 5, 5, wc, []float32{0.1, 0.2}, 2, 3, 1, 1) },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := DecodeWith(model(tc.opset, tc.shape, tc.inits, tc.nodes...), tc.opt)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(kinds(m.Net.Layers), " "); got != tc.layers {
				t.Errorf("layers %q, want %q", got, tc.layers)
			}
			warned := false
			for _, w := range m.Warnings {
				warned = warned || tc.warn != "" && strings.Contains(w, tc.warn)
			}
			if tc.warn != "" && !warned || tc.warn == "" && len(m.Warnings) > 0 {
				t.Errorf("warnings %q, want one containing %q", m.Warnings, tc.warn)
			}
			n := prod(tc.shape)
			x := nn.NewTensor(append([]int{2}, tc.shape...)...)
			copy(x.Data, ramp(2*n, 0.13))
			y, err := m.Net.Forward(x, false)
			if err != nil {
				t.Fatal(err)
			}
			for r := 0; r < 2; r++ {
				want := tc.ref(x.Data[r*n : (r+1)*n])
				got := y.Data[r*y.RowLen() : (r+1)*y.RowLen()]
				if len(got) != len(want) {
					t.Fatalf("record %d: %d outputs, want %d", r, len(got), len(want))
				}
				for i := range want {
					if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*math.Max(1, math.Abs(float64(want[i]))) {
						t.Errorf("record %d output %d: %v, want %v", r, i, got[i], want[i])
					}
				}
			}
		})
	}
}

func TestInputShape(t *testing.T) {
	in := &valueInfo{Name: "x", ElemType: dtFloat, HasShape: true, Dims: []dim{{Param: "N"}, {Value: 2, HasValue: true}, {Param: "H"}}}
	g := &graphProto{Nodes: []*nodeProto{nd("Relu", []string{"x"}, []string{"y"})}, Inputs: []*valueInfo{in}, Outputs: []*valueInfo{{Name: "y"}}}
	b := encModel(&modelProto{Graph: g, Opsets: []opsetID{{Version: 13}}})
	if _, err := Decode(b); !errors.Is(err, ErrInputShape) || !strings.Contains(err.Error(), `input "x" of shape [N 2 H]`) {
		t.Errorf("error %v, want ErrInputShape naming the shape", err)
	}
	m, err := DecodeWith(b, Options{InputShape: []int{2, 5}})
	if err != nil || !slices.Equal(m.InputShape, []int{2, 5}) || m.Batch != 0 {
		t.Errorf("with InputShape: %v, %+v", err, m)
	}
	if _, err := DecodeWith(b, Options{InputShape: []int{3, 5}}); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("mismatched InputShape: error %v", err)
	}
	g.Inputs = append(g.Inputs, &valueInfo{Name: "z"})
	if _, err := Decode(encModel(&modelProto{Graph: g, Opsets: []opsetID{{Version: 13}}})); err == nil || !strings.Contains(err.Error(), `2 inputs ("x", "z")`) {
		t.Errorf("two inputs: error %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	b, err := os.ReadFile("testdata/mlp.onnx")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cut := filepath.Join(dir, "cut.onnx")
	if err := os.WriteFile(cut, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(cut); err == nil || !strings.Contains(err.Error(), cut) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated file: error %v, want the file name and 'truncated'", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.onnx")); err == nil || !strings.Contains(err.Error(), "missing.onnx") {
		t.Errorf("missing file: error %v", err)
	}
	// Every strict prefix of a model is an error, never a panic or a model.
	for n := 0; n < len(b); n += 1 + n/64 {
		if _, err := Decode(b[:n]); err == nil {
			t.Errorf("prefix of %d bytes decoded without error", n)
		}
	}
}

func TestMalformed(t *testing.T) {
	graphWith := func(t *tensorProto) []byte {
		return model(13, []int{3}, []*tensorProto{t}, nd("Add", []string{"x", t.Name}, []string{"y"}))
	}
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "has no graph"},
		{"varint past the end", []byte{0x08, 0x80}, "truncated"},
		{"varint of 11 bytes", append([]byte{0x08}, bytesOf(0xff, 10)...), "varint"},
		{"length past the end", []byte{0x3a, 0x05, 0x01}, "exceeds"},
		{"wrong wire type", []byte{0x3d, 0, 0, 0, 0}, "wire type 5, want 2"},
		{"group", []byte{0x7b}, "unsupported wire type 3"},
		{"field 0", []byte{0x00, 0x01}, "invalid field number 0"},
		{"no opset", encModel(&modelProto{Graph: &graphProto{}}), "opset_import"},
		{"raw data too short", graphWith(&tensorProto{Name: "c", Dims: []int64{3}, DataType: dtFloat, RawData: make([]byte, 8), HasRaw: true}),
			`tensor "c" of shape [3] (3 elements) holds 2 values`},
		{"huge dimensions", graphWith(&tensorProto{Name: "c", Dims: []int64{1 << 20, 1 << 20}, DataType: dtFloat, RawData: make([]byte, 8), HasRaw: true}),
			"more than"},
		{"negative dimension", graphWith(&tensorProto{Name: "c", Dims: []int64{-3}, DataType: dtFloat}), "dimension 0 is -3"},
		{"external data", graphWith(&tensorProto{Name: "c", Dims: []int64{3}, DataType: dtFloat, External: true}), "external data"},
		{"string tensor", graphWith(&tensorProto{Name: "c", Dims: []int64{1}, DataType: 8}), "data type STRING"},
		{"double input", encModel(&modelProto{Opsets: []opsetID{{Version: 13}}, Graph: &graphProto{
			Inputs: []*valueInfo{{Name: "x", ElemType: dtDouble}}, Outputs: []*valueInfo{{Name: "x"}}}}), "element type DOUBLE"},
		{"undefined value", model(13, []int{3}, nil, nd("Add", []string{"x", "nowhere"}, []string{"y"})), `input "nowhere" is neither`},
		{"unsorted nodes", model(13, []int{3}, nil, nd("Relu", []string{"a"}, []string{"y"}), nd("Relu", []string{"x"}, []string{"a"})),
			`input "a" is neither`},
		{"value computed twice", model(13, []int{3}, nil, nd("Relu", []string{"x"}, []string{"y"}), nd("Tanh", []string{"x"}, []string{"y"})),
			`value "y" is computed twice`},
		{"Concat doubling a constant 31 times", concatDoubling(31), "more than 65536 elements in all"},
	} {
		_, err := Decode(c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "onnx: ") {
			t.Errorf("%s: error %v, want one starting with onnx: and containing %q", c.name, err, c.want)
		}
	}
}

// concatDoubling is a model of about 1 KB whose Add constant is a one-element constant doubled by
// a chain of k Concat nodes, each taking the previous value twice: 2^k elements unless folding is
// bounded (k = 31 would be 8 GiB of float32).
func concatDoubling(k int) []byte {
	var nodes []*nodeProto
	prev := "c0"
	for i := 1; i <= k; i++ {
		cur := fmt.Sprintf("c%d", i)
		nodes = append(nodes, nd("Concat", []string{prev, prev}, []string{cur}, aInt("axis", 0)))
		prev = cur
	}
	nodes = append(nodes, nd("Add", []string{"x", prev}, []string{"y"}))
	return model(13, []int{4}, []*tensorProto{tf("c0", []int{1}, []float32{1})}, nodes...)
}

func bytesOf(b byte, n int) []byte {
	s := make([]byte, n)
	for i := range s {
		s[i] = b
	}
	return s
}
