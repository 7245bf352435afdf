package onnx

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pmeter/pmeter/nn"
)

// FuzzDecode checks that Decode never panics and never allocates beyond what the input holds: on
// any bytes it returns a model or an error, and a model it returns computes its declared output shape
// (run on one record when that is small).
func FuzzDecode(f *testing.F) {
	for _, fx := range fixtures {
		if b, err := os.ReadFile(filepath.Join("testdata", fx.name+".onnx")); err == nil {
			f.Add(b)
		}
	}
	f.Add(model(13, []int{2, 4, 4}, []*tensorProto{ti("p", []int{8}, 0, 0, 1, 1, 0, 0, 1, 1), tf("w", []int{1, 2, 3, 3}, ramp(18, 0.1))},
		nd("Pad", []string{"x", "p"}, []string{"xp"}), nd("Conv", []string{"xp", "w"}, []string{"c"}),
		nd("Relu", []string{"c"}, []string{"r"}), nd("Add", []string{"r", "c"}, []string{"y"})))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		out, err := m.Net.OutShape(m.InputShape)
		if err != nil {
			t.Fatalf("imported model rejects its own input shape %v: %v", m.InputShape, err)
		}
		if !slices.Equal(out, m.OutputShape) {
			t.Fatalf("output shape %v, model says %v", out, m.OutputShape)
		}
		if m.Net.NumParams() > 1<<16 || !smallActivations(m.Net.Layers, m.InputShape) {
			return
		}
		x := nn.NewTensor(append([]int{1}, m.InputShape...)...)
		y, err := m.Net.Forward(x, false)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(y.Shape[1:], out) {
			t.Fatalf("forward output %v, want records × %v", y.Shape, out)
		}
	})
}

// smallActivations reports whether every layer's input and output have at most 2¹² elements per
// record, so that a forward pass is quick.
func smallActivations(ls []nn.Layer, in []int) bool {
	for _, l := range ls {
		if n, err := numelOf(in); err != nil || n > 1<<12 {
			return false
		}
		if r, ok := l.(*nn.Residual); ok && (!smallActivations(r.Body, in) || !smallActivations(r.Shortcut, in)) {
			return false
		}
		out, err := l.OutShape(in)
		if err != nil {
			return false
		}
		in = out
	}
	n, err := numelOf(in)
	return err == nil && n <= 1<<12
}
