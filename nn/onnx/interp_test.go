package onnx

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// gptExpected is NAME_expected.json of scripts/onnx/tiny_gpt.py: PyTorch's per-token log-probabilities
// (in float64 from its float32 logits) of each sequence alone, and μ and σ² of the next-token
// distribution.
type gptExpected struct {
	TokenIDs      [][]int64   `json:"token_ids"`
	TokenLogProbs [][]float64 `json:"token_logprobs"`
	Mu            [][]float64 `json:"mu"`
	Sigma2        [][]float64 `json:"sigma2"`
}

func readGPTExpected(t *testing.T, name string) gptExpected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+"_expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e gptExpected
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// logSoftmaxRow returns log_softmax of one row of logits, in float64.
func logSoftmaxRow(row []float32) []float64 {
	m := math.Inf(-1)
	for _, v := range row {
		m = math.Max(m, float64(v))
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v) - m)
	}
	out := make([]float64, len(row))
	for i, v := range row {
		out[i] = float64(v) - m - math.Log(s)
	}
	return out
}

// TestGraphGPT runs the tiny GPT-2-shaped models exported from PyTorch 1.13 (opset 13 with decomposed
// LayerNorm and erf GELU; opset 17 with LayerNormalization and tanh GELU; opset 14 with an attention_mask
// input, positions from its CumSum) and checks every token's
// log-probability against PyTorch's within 1e-5, for each sequence alone and for two sequences in one
// batch.
func TestGraphGPT(t *testing.T) {
	for _, name := range []string{"gpt_op13", "gpt_op17", "gpt_mask"} {
		t.Run(name, func(t *testing.T) {
			g, err := LoadGraph(filepath.Join("testdata", name+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			if len(g.Warnings) > 0 {
				t.Errorf("warnings %q", g.Warnings)
			}
			// gpt_mask also takes an attention mask (all ones here).
			mask := func(in map[string]*Tensor) map[string]*Tensor {
				if name == "gpt_mask" {
					x := in["input_ids"]
					ones := make([]int64, len(x.I))
					for i := range ones {
						ones[i] = 1
					}
					in["attention_mask"] = &Tensor{Shape: x.Shape, I: ones}
				}
				return in
			}
			if len(g.Inputs) != map[bool]int{false: 1, true: 2}[name == "gpt_mask"] || g.Inputs[0].Name != "input_ids" || g.Inputs[0].Type != "INT64" ||
				len(g.Outputs) != 1 || g.Outputs[0].Name != "logits" || g.Outputs[0].Shape[2] != 64 {
				t.Fatalf("inputs %+v outputs %+v", g.Inputs, g.Outputs)
			}
			exp := readGPTExpected(t, name)
			check := func(s int, logits []float32, vocab int) {
				ids := exp.TokenIDs[s]
				for p := 0; p+1 < len(ids); p++ {
					lp := logSoftmaxRow(logits[p*vocab : (p+1)*vocab])
					got, want := lp[ids[p+1]], exp.TokenLogProbs[s][p]
					if d := math.Abs(got - want); d > 1e-5 {
						t.Errorf("sequence %d token %d: log p = %.8f, PyTorch %.8f (|Δ| %.2g > 1e-5)", s, p+1, got, want, d)
					}
				}
			}
			for s, ids := range exp.TokenIDs {
				out, err := g.Run(context.Background(), mask(map[string]*Tensor{"input_ids": {Shape: []int{1, len(ids)}, I: ids}}))
				if err != nil {
					t.Fatal(err)
				}
				y := out["logits"]
				if len(y.Shape) != 3 || y.Shape[0] != 1 || y.Shape[1] != len(ids) || y.Shape[2] != 64 {
					t.Fatalf("logits of shape %v for %d tokens", y.Shape, len(ids))
				}
				check(s, y.F, 64)
			}
			// Two sequences of 9 tokens in one batch.
			a, b := exp.TokenIDs[2], exp.TokenIDs[4][:9]
			out, err := g.Run(context.Background(), mask(map[string]*Tensor{"input_ids": {Shape: []int{2, 9}, I: append(append([]int64(nil), a...), b...)}}))
			if err != nil {
				t.Fatal(err)
			}
			y := out["logits"]
			check(2, y.F[:9*64], 64)
			exp.TokenIDs[4], exp.TokenLogProbs[4] = b, exp.TokenLogProbs[4][:8]
			check(4, y.F[9*64:], 64)
		})
	}
}

// TestGraphErrors checks that bad inputs and models give errors naming what is wrong.
func TestGraphErrors(t *testing.T) {
	g, err := LoadGraph(filepath.Join("testdata", "gpt_op13.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		in   map[string]*Tensor
		want string
	}{
		{map[string]*Tensor{}, `input "input_ids" is not given`},
		{map[string]*Tensor{"input_ids": {Shape: []int{1, 2}, F: []float32{1, 2}}}, "is INT64; got a float tensor"},
		{map[string]*Tensor{"input_ids": {Shape: []int{2}, I: []int64{1, 2}}}, "declares 2 dimensions"},
		{map[string]*Tensor{"input_ids": {Shape: []int{1, 3}, I: []int64{1, 2}}}, "holds 3 values"},
		{map[string]*Tensor{"input_ids": {Shape: []int{1, 2}, I: []int64{1, 64}}}, `node "/wte/Gather" (Gather): index 64 is out of range`},
		{map[string]*Tensor{"input_ids": {Shape: []int{1, 40}, I: make([]int64, 40)}}, `(Gather): index 32 is out of range`},
		{map[string]*Tensor{"input_ids": {Shape: []int{1, 1}, I: []int64{0}}, "x": {Shape: []int{}, I: []int64{0}}}, `no input "x"`},
	} {
		_, err := g.Run(ctx, tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want one containing %q", err, tc.want)
		}
	}
	// An unsupported operator is named with its node.
	b := model(13, []int{4}, nil, nd("Relu", []string{"x"}, []string{"r"}), nd("NonZero", []string{"r"}, []string{"y"}))
	if _, err := DecodeGraph(b); err == nil || !strings.Contains(err.Error(), "(NonZero): operator not supported") {
		t.Errorf("error %v, want the NonZero node named", err)
	}
}

// TestGraphSmall runs small hand-built graphs: a dead branch that would fail is not run, and a shape
// error names the node.
func TestGraphSmall(t *testing.T) {
	ctx := context.Background()
	b := model(13, []int{3}, []*tensorProto{tf("c", []int{3}, []float32{1, 2, 3}), ti("bad", []int{1}, 7), tf("w", []int{2}, []float32{1, 1})},
		nd("Gather", []string{"c", "bad"}, []string{"dead"}),
		nd("Mul", []string{"x", "c"}, []string{"y"}))
	g, err := DecodeGraph(b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := g.Run(ctx, map[string]*Tensor{"x": {Shape: []int{2, 3}, F: []float32{1, 1, 1, 2, 2, 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if y := out["y"]; y.F[2] != 3 || y.F[5] != 6 {
		t.Errorf("y = %v", y.F)
	}
	b = model(13, []int{3}, []*tensorProto{tf("w", []int{2}, []float32{1, 1})}, nd("Add", []string{"x", "w"}, []string{"y"}))
	if g, err = DecodeGraph(b); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Run(ctx, map[string]*Tensor{"x": {Shape: []int{2, 3}, F: make([]float32, 6)}}); err == nil || !strings.Contains(err.Error(), `node "y" (Add): shapes [[2 3] [2]] do not broadcast`) {
		t.Errorf("error %v", err)
	}
	// A tensor over MaxElems is refused by the node that would make it.
	b = model(13, []int{3}, []*tensorProto{ti("s", []int{3}, 1000, 1000, 3)}, nd("Expand", []string{"x", "s"}, []string{"y"}))
	if g, err = DecodeGraph(b); err != nil {
		t.Fatal(err)
	}
	g.MaxElems = 1 << 16
	if _, err := g.Run(ctx, map[string]*Tensor{"x": {Shape: []int{1, 3}, F: make([]float32, 3)}}); err == nil || !strings.Contains(err.Error(), `(Expand): an output of shape [1000 1000 3] has 3000000 elements, more than the limit of 65536`) {
		t.Errorf("error %v", err)
	}
}
