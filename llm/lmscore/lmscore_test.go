package lmscore

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/llm"
	"github.com/pmeter/pmeter/npy"
)

// The fixtures are nn/onnx's: tiny GPT-2-shaped models exported from PyTorch 1.13 by
// scripts/onnx/tiny_gpt.py, with PyTorch's log-probabilities, μ and σ².
const fixtures = "../../nn/onnx/testdata"

type expected struct {
	TokenIDs      [][]int64   `json:"token_ids"`
	TokenLogProbs [][]float64 `json:"token_logprobs"`
	Mu            [][]float64 `json:"mu"`
	Sigma2        [][]float64 `json:"sigma2"`
}

func readExpected(t *testing.T, dir, name string) expected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name+"_expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e expected
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// checkBundle compares a bundle's token_logprobs, mu and sigma2 with PyTorch's within 1e-5.
func checkBundle(t *testing.T, b *llm.Bundle, e expected) {
	t.Helper()
	if b.N() != len(e.TokenIDs) {
		t.Fatalf("%d sequences, want %d", b.N(), len(e.TokenIDs))
	}
	worst := 0.0
	for s := range e.TokenIDs {
		lp := b.LogProbs.Seq(s)
		if len(lp) != len(e.TokenLogProbs[s]) {
			t.Fatalf("sequence %d: %d log-probs, want %d", s, len(lp), len(e.TokenLogProbs[s]))
		}
		at := b.LogProbs.Offsets[s]
		for i := range lp {
			for _, c := range []struct {
				what      string
				got, want float64
			}{{"log p", lp[i], e.TokenLogProbs[s][i]}, {"μ", b.Mu[at+int64(i)], e.Mu[s][i]}, {"σ²", b.Sigma2[at+int64(i)], e.Sigma2[s][i]}} {
				d := math.Abs(c.got - c.want)
				worst = math.Max(worst, d)
				if d > 1e-5 {
					t.Errorf("sequence %d token %d: %s = %.8f, PyTorch %.8f (|Δ| %.2g > 1e-5)", s, i+1, c.what, c.got, c.want, d)
				}
			}
		}
	}
	t.Logf("largest |Δ| against PyTorch: %.2g", worst)
}

// TestScoreMatchesTorch scores the committed fixtures' sequences and checks the bundle against PyTorch,
// writes it, reads it back with package llm and runs every attack it has inputs for.
func TestScoreMatchesTorch(t *testing.T) {
	in, err := ReadTokens(filepath.Join(fixtures, "gpt_tokens.jsonl"), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"gpt_op13", "gpt_op17", "gpt_mask"} {
		t.Run(name, func(t *testing.T) {
			m, err := Load(filepath.Join(fixtures, name+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			if m.IDs != "input_ids" || m.Output != "logits" || m.Vocab != 64 || (m.Mask == "attention_mask") != (name == "gpt_mask") {
				t.Errorf("ids %q mask %q logits %q vocabulary %d", m.IDs, m.Mask, m.Output, m.Vocab)
			}
			b, err := Score(context.Background(), m, in, Options{EOS: 0, Refs: map[string]*Model{"self": m}, Corpus: in.Tokens[:3]})
			if err != nil {
				t.Fatal(err)
			}
			checkBundle(t, b, readExpected(t, fixtures, name))
			// The reference model is the target itself: the same log-probabilities.
			for i, v := range b.Refs[0].LogProbs.Values {
				if v != b.LogProbs.Values[i] {
					t.Fatalf("reference log-prob %d = %v, target %v", i, v, b.LogProbs.Values[i])
				}
			}
			// After the EOS token, the first token is scored too: one more value per sequence.
			if len(b.LogProbsBOS) != len(b.Tokens.Values) || b.Meta.DCPDD == nil {
				t.Errorf("%d token_logprobs_bos for %d tokens", len(b.LogProbsBOS), len(b.Tokens.Values))
			}
			dir := filepath.Join(t.TempDir(), "bundle")
			if err := b.WriteDir(dir); err != nil {
				t.Fatal(err)
			}
			back, err := llm.Read(dir)
			if err != nil {
				t.Fatal(err)
			}
			checkBundle(t, back, readExpected(t, fixtures, name))
			names := llm.Available(back)
			for _, want := range []string{"loss", "min-k", "min-k-pp", "reference", "dc-pdd"} {
				if !strings.Contains(" "+strings.Join(names, " ")+" ", " "+want+" ") {
					t.Errorf("attacks with inputs %v lack %s", names, want)
				}
			}
			res, err := llm.Evaluate(context.Background(), back, []string{"all"}, llm.DefaultParams(), llm.EvalOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != len(names) {
				t.Errorf("%d results for %d attacks", len(res), len(names))
			}
		})
	}
}

func TestScoreErrors(t *testing.T) {
	m, err := Load(filepath.Join(fixtures, "gpt_op13.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	long := make([]int64, 40)
	for _, tc := range []struct {
		in   Input
		opt  Options
		want string
	}{
		{Input{Tokens: [][]int64{{1, 2}, {3, 64}}}, Options{EOS: -1}, "sequence 1:"},
		{Input{Tokens: [][]int64{{1, 2}, {3}}}, Options{EOS: -1}, "sequence 1: 1 token(s)"},
		{Input{Tokens: [][]int64{long}}, Options{EOS: -1}, "(Gather): index 32 is out of range"},
		{Input{Tokens: [][]int64{{1, 2}}, Labels: []bool{true, false}}, Options{EOS: -1}, "2 labels for 1 sequences"},
		{Input{Tokens: [][]int64{{1, 2}}}, Options{EOS: 99}, "after EOS 99"},
		{Input{Tokens: [][]int64{{1, 2}}}, Options{EOS: -1, Refs: map[string]*Model{"a/b": m}}, `name "a/b"`},
	} {
		_, err := Score(ctx, m, tc.in, tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want one containing %q", err, tc.want)
		}
	}
}

func TestReadTokens(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	in, err := ReadTokens(write("a.jsonl", "[1, 2, 3]\n\n[4, 5]\n"), "")
	if err != nil || len(in.Tokens) != 2 || in.Labels != nil || len(in.Tokens[1]) != 2 {
		t.Errorf("%+v %v", in, err)
	}
	in, err = ReadTokens(write("b.jsonl", `{"token_ids": [1, 2], "label": true, "text": "hi"}`+"\n"+`{"token_ids": [3, 4, 5], "label": false, "text": "yo"}`), "")
	if err != nil || len(in.Labels) != 2 || !in.Labels[0] || in.Texts[1] != "yo" {
		t.Errorf("%+v %v", in, err)
	}
	x := npy.NewInt64([]int64{1, 2, 3, 4, 5, 6}, 2, 3)
	if err := npy.WriteFile(filepath.Join(dir, "x.npy"), x); err != nil {
		t.Fatal(err)
	}
	if err := npy.WriteFile(filepath.Join(dir, "y.npy"), npy.NewBool([]bool{true, false}, 2)); err != nil {
		t.Fatal(err)
	}
	in, err = ReadTokens(filepath.Join(dir, "x.npy"), filepath.Join(dir, "y.npy"))
	if err != nil || len(in.Tokens) != 2 || in.Tokens[1][2] != 6 || !in.Labels[0] {
		t.Errorf("%+v %v", in, err)
	}
	for _, tc := range []struct{ file, content, want string }{
		{"c.jsonl", `{"token_ids": [1, 2], "label": true}` + "\n" + `{"token_ids": [1, 2]}`, `c.jsonl:2: "label" is on some lines`},
		{"d.jsonl", `{"tokens": [1, 2]}`, `d.jsonl:1: want {"token_ids"`},
		{"e.jsonl", "[1]", "e.jsonl:1: 1 token id(s)"},
		{"f.jsonl", "[1, 2.5]", "f.jsonl:1: want a JSON array of integer token ids"},
		{"g.jsonl", "\n", "holds no sequence"},
		{"h.txt", "", "want a .jsonl or .npy file"},
	} {
		_, err := ReadTokens(write(tc.file, tc.content), "")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.file, err, tc.want)
		}
	}
}

// torchPython is Debian's interpreter, with python3-torch.
const torchPython = "/usr/bin/python3"

// TestTorchCrossCheck exports the tiny models afresh with PyTorch (scripts/onnx/tiny_gpt.py) and checks
// pmeter's log-probabilities, μ and σ² on the new files against the ones PyTorch writes beside them, so
// that the committed fixtures are not the only models checked. Without PyTorch it skips, and fails
// under CI=true.
func TestTorchCrossCheck(t *testing.T) {
	if out, err := exec.Command(torchPython, "-c", "import torch").CombinedOutput(); err != nil {
		msg := fmt.Sprintf("the cross-check needs %s with PyTorch (Debian: apt-get install python3-torch): %v %s", torchPython, err, strings.TrimSpace(string(out)))
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	if out, err := exec.Command(torchPython, "../../scripts/onnx/tiny_gpt.py", dir).CombinedOutput(); err != nil {
		t.Fatalf("tiny_gpt.py: %v\n%s", err, out)
	}
	in, err := ReadTokens(filepath.Join(dir, "gpt_tokens.jsonl"), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"gpt_op13", "gpt_op17", "gpt_mask"} {
		m, err := Load(filepath.Join(dir, name+".onnx"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := Score(context.Background(), m, in, Options{EOS: -1})
		if err != nil {
			t.Fatal(err)
		}
		checkBundle(t, b, readExpected(t, dir, name))
	}
}
