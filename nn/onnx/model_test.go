package onnx

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/nn"
	"github.com/pmeter/pmeter/npy"
)

// The fixtures in testdata are written by scripts/onnx/export_fixtures.py from PyTorch 1.13 (Debian
// python3-torch): NAME.onnx, its input NAME_x.npy and PyTorch's logits NAME_logits.npy, and, except
// for cnn_folded, random labels with PyTorch's per-record cross-entropy and gradient norm.
var fixtures = []struct {
	name string
	// layers are the kinds of the imported model's layers.
	layers []string
	// warn is a substring of a warning the import must give ("" for none).
	warn string
}{
	{"mlp", []string{"dense", "relu", "dense", "tanh", "dense"}, ""},
	{"cnn", []string{"conv2d", "batchnorm", "relu", "maxpool2d", "conv2d", "batchnorm", "relu", "avgpool2d", "flatten", "dense"}, ""},
	{"cnn_folded", []string{"conv2d", "relu", "maxpool2d", "conv2d", "relu", "avgpool2d", "flatten", "dense"}, ""},
	{"cnn_softmax", []string{"conv2d", "batchnorm", "relu", "maxpool2d", "conv2d", "batchnorm", "relu", "avgpool2d", "flatten", "dense"}, "Softmax) on the output was stripped"},
	{"resnet", []string{"conv2d", "batchnorm", "relu", "residual", "relu", "residual", "relu", "globalavgpool", "dense"}, ""},
	{"ops", []string{KindConstOp, KindConstOp, "conv2d", KindLeakyReLU, "flatten", "dense", "sigmoid", "dense"}, "LogSoftmax) on the output was stripped"},
}

func readNPY(t *testing.T, path string) *npy.Array {
	t.Helper()
	a, err := npy.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func tensorOf(t *testing.T, a *npy.Array) *nn.Tensor {
	t.Helper()
	if a.Kind != npy.Float32 {
		t.Fatalf("array of kind %v, want float32", a.Kind)
	}
	x, err := nn.FromSlice(a.F32, a.Shape...)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func kinds(ls []nn.Layer) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Spec().Kind
	}
	return out
}

func TestFixtures(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			dir := "testdata"
			m, err := Load(filepath.Join(dir, fx.name+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(kinds(m.Net.Layers), " "); got != strings.Join(fx.layers, " ") {
				t.Errorf("layers %s, want %s", got, strings.Join(fx.layers, " "))
			}
			if m.Net.Name != fx.name || m.InputName != "input" || m.OutputName != "output" || m.Opset != 13 ||
				!strings.HasPrefix(m.Producer, "pytorch") {
				t.Errorf("name %q input %q output %q opset %d producer %q", m.Net.Name, m.InputName, m.OutputName, m.Opset, m.Producer)
			}
			warned := false
			for _, w := range m.Warnings {
				warned = warned || fx.warn != "" && strings.Contains(w, fx.warn)
			}
			if fx.warn != "" && !warned || fx.warn == "" && len(m.Warnings) > 0 {
				t.Errorf("warnings %q, want one containing %q", m.Warnings, fx.warn)
			}

			x := tensorOf(t, readNPY(t, filepath.Join(dir, fx.name+"_x.npy")))
			want := readNPY(t, filepath.Join(dir, fx.name+"_logits.npy"))
			if !slices.Equal(m.InputShape, x.Shape[1:]) || !slices.Equal(m.OutputShape, want.Shape[1:]) {
				t.Fatalf("input shape %v output shape %v, want %v and %v", m.InputShape, m.OutputShape, x.Shape[1:], want.Shape[1:])
			}
			got, err := m.Net.Forward(x, false)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Shape, want.Shape) {
				t.Fatalf("logits of shape %v, want %v", got.Shape, want.Shape)
			}
			for i, w := range want.F32 {
				if d := math.Abs(float64(got.Data[i] - w)); d > 1e-5 {
					t.Errorf("logit %d (record %d): %v, PyTorch %v (|Δ| = %.3g > 1e-5)", i, i/got.RowLen(), got.Data[i], w, d)
				}
			}

			// Per-record loss and gradient norm through nn.Evaluate against PyTorch's.
			if _, err := os.Stat(filepath.Join(dir, fx.name+"_labels.npy")); err != nil {
				return
			}
			labels64, err := readNPY(t, filepath.Join(dir, fx.name+"_labels.npy")).Int64s()
			if err != nil {
				t.Fatal(err)
			}
			labels := make([]int, len(labels64))
			for i, v := range labels64 {
				labels[i] = int(v)
			}
			res, err := nn.Evaluate(context.Background(), m.Net, nn.Data{X: x, Labels: labels}, nn.EvalConfig{BatchSize: 3, GradNorms: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				what string
				got  []float64
			}{{"loss", res.Loss}, {"gradnorm", res.GradNorm}} {
				want := readNPY(t, filepath.Join(dir, fx.name+"_"+c.what+".npy")).Float64s()
				if len(want) != len(c.got) {
					t.Fatalf("%s: %d values, want %d", c.what, len(c.got), len(want))
				}
				for i, w := range want {
					if d := math.Abs(c.got[i] - w); d > 1e-5*math.Max(1, math.Abs(w)) {
						t.Errorf("%s of record %d: %v, PyTorch %v (|Δ| = %.3g)", c.what, i, c.got[i], w, d)
					}
				}
			}
		})
	}
}
