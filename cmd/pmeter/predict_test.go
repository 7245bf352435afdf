package main

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/nn"
	"github.com/pmeter/pmeter/npy"
)

// onnxTestdata holds the ONNX fixtures of package nn/onnx (PyTorch exports with PyTorch's logits).
const onnxTestdata = "../../nn/onnx/testdata"

// predictCLI runs 'pmeter predict args...' through run and returns its exit code, stdout and stderr.
func predictCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"predict"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func readF32(t *testing.T, path string) *npy.Array {
	t.Helper()
	a, err := npy.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if a.Kind != npy.Float32 {
		t.Fatalf("%s: %v, want float32", path, a.Kind)
	}
	return a
}

func checkClose(t *testing.T, got, want *npy.Array, tol float64) {
	t.Helper()
	if npy.ShapeString(got.Shape) != npy.ShapeString(want.Shape) {
		t.Fatalf("shape %s, want %s", npy.ShapeString(got.Shape), npy.ShapeString(want.Shape))
	}
	for i, w := range want.F32 {
		if d := math.Abs(float64(got.F32[i] - w)); d > tol {
			t.Errorf("element %d: %v, want %v (|Δ| = %.3g > %g)", i, got.F32[i], w, d, tol)
		}
	}
}

// TestPredictONNX runs PyTorch exports end to end and compares with PyTorch's logits.
func TestPredictONNX(t *testing.T) {
	for _, name := range []string{"mlp", "cnn", "resnet", "cnn_softmax"} {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "logits.npy")
			x := filepath.Join(onnxTestdata, name+"_x.npy")
			code, stdout, stderr := predictCLI(t, filepath.Join(onnxTestdata, name+".onnx"), "--input", x, "--out", out, "--batch", "2")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(stdout, "wrote "+out) {
				t.Errorf("stdout %q", stdout)
			}
			if name == "cnn_softmax" != strings.Contains(stderr, "stripped") {
				t.Errorf("stderr %q: the softmax warning must appear exactly for cnn_softmax", stderr)
			}
			checkClose(t, readF32(t, out), readF32(t, filepath.Join(onnxTestdata, name+"_logits.npy")), 1e-5)
		})
	}
}

// TestPredictSaved runs a model saved by nn.Save and compares with its own forward pass.
func TestPredictSaved(t *testing.T) {
	dir := t.TempDir()
	m, err := nn.FromSpecs("tiny", []nn.LayerSpec{{Kind: nn.KindFlatten}, {Kind: nn.KindDense, In: 12, Out: 4}, {Kind: nn.KindReLU}, {Kind: nn.KindDense, In: 4, Out: 3}})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(7)
	weights := filepath.Join(dir, "tiny.safetensors")
	if err := nn.Save(weights, m, nn.ModelInfo{InputShape: []int{3, 2, 2}}); err != nil {
		t.Fatal(err)
	}
	xs := make([]float64, 5*12) // float64 input: converted to float32
	for i := range xs {
		xs[i] = math.Sin(float64(i))
	}
	xpath := filepath.Join(dir, "x.npy")
	if err := npy.WriteFile(xpath, npy.NewFloat64(xs, 5, 3, 2, 2)); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "logits.npy")
	if code, _, stderr := predictCLI(t, weights, "--input", xpath, "--out", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	x32 := make([]float32, len(xs))
	for i, v := range xs {
		x32[i] = float32(v)
	}
	xt, err := nn.FromSlice(x32, 5, 3, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	y, err := m.Forward(xt, false)
	if err != nil {
		t.Fatal(err)
	}
	checkClose(t, readF32(t, out), npy.NewFloat32(y.Data, y.Shape...), 0)

	// The output exists now: it is overwritten only with --force, and never onto an input.
	if code, _, stderr := predictCLI(t, weights, "--input", xpath, "--out", out); code != 2 || !strings.Contains(stderr, "exists; use --force") {
		t.Errorf("existing --out: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := predictCLI(t, weights, "--input", xpath, "--out", out, "--force"); code != 0 {
		t.Errorf("--force: exit %d: %s", code, stderr)
	}
	x0, _ := os.ReadFile(xpath)
	w0, _ := os.ReadFile(weights)
	for _, in := range []string{xpath, weights, nn.SidecarPath(weights)} {
		code, _, stderr := predictCLI(t, weights, "--input", xpath, "--out", in, "--force")
		if code != 2 || !strings.Contains(stderr, "is an input of the command") {
			t.Errorf("--out %s: exit %d, stderr %q", in, code, stderr)
		}
	}
	if x1, _ := os.ReadFile(xpath); !bytes.Equal(x0, x1) {
		t.Error("the input was changed")
	}
	if w1, _ := os.ReadFile(weights); !bytes.Equal(w0, w1) {
		t.Error("the model was changed")
	}
}

func TestPredictErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.npy")
	if err := npy.WriteFile(bad, npy.NewFloat32(make([]float32, 2*3*4*4), 2, 3, 4, 4)); err != nil {
		t.Fatal(err)
	}
	ints := filepath.Join(dir, "ints.npy")
	if err := npy.WriteFile(ints, npy.NewInt64(make([]int64, 2*20), 2, 20)); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(dir, "junk.onnx")
	if err := os.WriteFile(junk, []byte{0x3a, 0xff}, 0o644); err != nil {
		t.Fatal(err)
	}
	mlp := filepath.Join(onnxTestdata, "mlp.onnx")
	cnn := filepath.Join(onnxTestdata, "cnn.onnx")
	out := filepath.Join(dir, "out.npy")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--input", bad, "--out", out}, 2, "want one MODEL"},
		{[]string{mlp, "--out", out}, 2, "--input is required"},
		{[]string{mlp, "--input", bad}, 2, "--out is required"},
		{[]string{mlp, "--input", bad, "--out", out, "--batch", "0"}, 2, "--batch 0"},
		{[]string{cnn, "--input", bad, "--out", out}, 1, "expects records of shape (3, 8, 8) (an array of shape (2, 3, 8, 8))"},
		{[]string{mlp, "--input", bad, "--out", out}, 1, "records of shape (3, 4, 4); model " + mlp + " expects records of shape (20,)"},
		{[]string{mlp, "--input", ints, "--out", out}, 1, "float32 or float64"},
		{[]string{junk, "--input", bad, "--out", out}, 1, "junk.onnx"},
		{[]string{filepath.Join(dir, "missing.safetensors"), "--input", bad, "--out", out}, 1, "missing.safetensors"},
	} {
		code, _, stderr := predictCLI(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}
