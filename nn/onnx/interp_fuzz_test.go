package onnx

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeGraph checks that DecodeGraph and Run never panic and never allocate beyond MaxElems: on any
// bytes DecodeGraph returns a graph or an error, and a graph runs on small inputs of its declared shapes
// (symbolic dimensions 2) to outputs or an error.
func FuzzDecodeGraph(f *testing.F) {
	for _, name := range []string{"mlp", "ops"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name+".onnx")); err == nil {
			f.Add(b)
		}
	}
	f.Add(model(13, []int{3, 4}, []*tensorProto{ti("s", []int{1}, 2), ti("a", []int{1}, -1), tf("w", []int{4, 2}, ramp(8, 0.1))},
		nd("Split", []string{"x", "s"}, []string{"p", "q"}, aInt("axis", 2)),
		nd("Concat", []string{"q", "p"}, []string{"c"}, aInt("axis", -1)),
		nd("ReduceMean", []string{"c"}, []string{"m"}, aInts("axes", -1)),
		nd("Sub", []string{"c", "m"}, []string{"d"}),
		nd("MatMul", []string{"d", "w"}, []string{"e"}),
		nd("Softmax", []string{"e"}, []string{"y"})))
	// Token ids → embedding, positions from Shape/Range/Expand, a causal mask from comparisons, Where
	// and Trilu, LayerNormalization, a head split, Slice.
	f.Add(model(17, []int{3}, []*tensorProto{tf("emb", []int{8, 4}, ramp(32, 0.1)), tf("g", []int{4}, ramp(4, 1)),
		ti("zero", []int{}, 0), ti("one", []int{}, 1), ti("ax", []int{1}, 1), ti("shp", []int{2}, 0, -1),
		ti("st", []int{1}, 1), ti("en", []int{1}, 3), ti("ss", []int{3}, 1, 1, 1)},
		nd("Cast", []string{"x"}, []string{"xi"}, aInt("to", 7)),
		nd("Gather", []string{"emb", "xi"}, []string{"e"}),
		nd("Shape", []string{"xi"}, []string{"s"}),
		nd("Gather", []string{"s", "one"}, []string{"t"}),
		nd("Range", []string{"zero", "t", "one"}, []string{"r"}),
		nd("Unsqueeze", []string{"r", "ax"}, []string{"rc"}),
		nd("GreaterOrEqual", []string{"rc", "r"}, []string{"causal"}),
		nd("ConstantOfShape", []string{"ax"}, []string{"z"}),
		nd("Expand", []string{"r", "s"}, []string{"pos"}),
		nd("LayerNormalization", []string{"e", "g"}, []string{"ln"}, aInt("axis", -1)),
		nd("Transpose", []string{"ln"}, []string{"lt"}, aInts("perm", 0, 2, 1)),
		nd("MatMul", []string{"ln", "lt"}, []string{"att"}),
		nd("Where", []string{"causal", "att", "z"}, []string{"m"}),
		nd("Trilu", []string{"m"}, []string{"tri"}, aInt("upper", 0)),
		nd("Softmax", []string{"tri"}, []string{"p"}),
		nd("Split", []string{"p", "ss"}, []string{"p1", "p2", "p3"}, aInt("axis", -1)),
		nd("Slice", []string{"p1", "st", "en", "ax"}, []string{"sl"}),
		nd("Reshape", []string{"sl", "shp"}, []string{"y"})))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := DecodeGraph(b)
		if err != nil {
			return
		}
		g.MaxElems = 1 << 14
		in := map[string]*Tensor{}
		for _, v := range g.Inputs {
			shape := []int{2}
			if v.Shape != nil {
				shape = make([]int, len(v.Shape))
				for i, d := range v.Shape {
					shape[i] = d
					if d < 0 {
						shape[i] = 2
					}
				}
			}
			n, err := numelOf(shape)
			if err != nil || n > 1<<12 {
				return
			}
			x := &Tensor{Shape: shape}
			if v.Type == "FLOAT" || v.Type == "DOUBLE" || v.Type == "UNDEFINED" {
				x.F = ramp(n, 0.25)
			} else {
				x.I = make([]int64, n)
				for i := range x.I {
					x.I[i] = int64(i % 3)
				}
			}
			in[v.Name] = x
		}
		out, err := g.Run(context.Background(), in)
		if err != nil {
			return
		}
		for _, v := range g.Outputs {
			y := out[v.Name]
			if y == nil {
				t.Fatalf("output %q missing", v.Name)
			}
			if n, err := numelOf(y.Shape); err != nil || n != y.Len() {
				t.Fatalf("output %q of shape %v holds %d values", v.Name, y.Shape, y.Len())
			}
		}
	})
}
