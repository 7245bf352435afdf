package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLLMScore runs 'pmeter llm score' on the tiny GPT-2 fixture of nn/onnx and then 'pmeter attack'
// with every attack on the bundle it wrote.
func TestLLMScore(t *testing.T) {
	fx := "../../nn/onnx/testdata"
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle")
	model, tokens := filepath.Join(fx, "gpt_op17.onnx"), filepath.Join(fx, "gpt_tokens.jsonl")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"llm", "score", model, "--tokens", tokens, "--out", bundle,
		"--eos", "0", "--corpus", tokens, "--ref", "op13=" + filepath.Join(fx, "gpt_op13.onnx")}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "6 sequences") || !strings.Contains(out.String(), "ref/op13") {
		t.Errorf("output %q", out.String())
	}
	for _, f := range []string{"token_logprobs.npy", "mu.npy", "sigma2.npy", "labels.npy", "token_logprobs_bos.npy", "corpus_token_ids.npy", "ref/op13/token_logprobs.npy", "meta.json"} {
		if _, err := os.Stat(filepath.Join(bundle, f)); err != nil {
			t.Error(err)
		}
	}
	res := filepath.Join(dir, "res")
	out.Reset()
	errb.Reset()
	if code := run(context.Background(), []string{"attack", bundle, "--attack", "all", "--out", res}, &out, &errb); code != 0 {
		t.Fatalf("attack: exit %d: %s", code, errb.String())
	}
	var rep llmReport
	b, err := os.ReadFile(filepath.Join(res, llmMetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range rep.Attacks {
		got[r.Attack] = true
	}
	for _, a := range []string{"loss", "min-k", "min-k-pp", "reference", "dc-pdd"} {
		if !got[a] {
			t.Errorf("attack %s missing from %s (have %v)", a, llmMetricsFile, got)
		}
	}

	// Usage errors: exit status 2 with the reason.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"llm"}, "no subcommand"},
		{[]string{"llm", "train"}, `unknown subcommand "train"`},
		{[]string{"llm", "score", model, "--out", filepath.Join(dir, "x")}, "--tokens is required"},
		{[]string{"llm", "score", model, "--tokens", tokens, "--out", bundle}, "is not empty"},
		{[]string{"llm", "score", model, "--tokens", tokens, "--out", tokens}, "is a file"},
		{[]string{"llm", "score", model, "--tokens", tokens, "--out", filepath.Join(dir, "y"), "--ref", "nofile"}, "want NAME=FILE.onnx"},
		{[]string{"llm", "score", model, "--tokens", tokens, "--out", filepath.Join(dir, "y"), "--corpus", tokens}, "needs --eos"},
	} {
		errb.Reset()
		if code := run(context.Background(), tc.args, &out, &errb); code != 2 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errb.String(), tc.want)
		}
	}
	// --max-tokens cuts the sequences of 23 and 31 tokens to 20.
	errb.Reset()
	out.Reset()
	if code := run(context.Background(), []string{"llm", "score", model, "--tokens", tokens, "--out", filepath.Join(dir, "cut"),
		"--eos", "0", "--max-tokens", "20"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "2 of 6 sequences cut to their first 20 tokens") {
		t.Errorf("--max-tokens: exit %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	if code := run(context.Background(), []string{"llm", "score", filepath.Join(fx, "mlp.onnx"), "--tokens", tokens, "--out", filepath.Join(dir, "z")}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "is FLOAT; a language model takes integer token ids") {
		t.Errorf("mlp.onnx: exit %d, stderr %q", code, errb.String())
	}
}
