package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestLMModel times pmeter alone on the tiny GPT-2 fixture of nn/onnx (no baseline with --model).
func TestLMModel(t *testing.T) {
	var out bytes.Buffer
	res, err := LM(context.Background(), &out, LMOptions{Model: "../../nn/onnx/testdata/gpt_op13.onnx", N: 3, Seq: 10, Vocab: 64, Repeats: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Tokens != 30 || res.Go.Best <= 0 || res.GoForward.Best <= 0 || !strings.Contains(out.String(), "baseline skipped: --model given") {
		t.Errorf("result %+v, output:\n%s", res, out.String())
	}
	if _, err := LM(context.Background(), &out, LMOptions{Model: "x.onnx", N: 0, Seq: 10, Vocab: 64}); err == nil || !strings.Contains(err.Error(), "0 sequences") {
		t.Errorf("error %v", err)
	}
}
