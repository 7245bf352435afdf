package llm

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
)

// torchPython is the interpreter of the export script's test: Debian's, with python3-torch.
const torchPython = "/usr/bin/python3"

// runTorchScript runs a script under testdata with a new temporary directory as its argument and returns
// the directory. Without PyTorch it skips, and fails under CI=true.
func runTorchScript(t *testing.T, script string) string {
	t.Helper()
	if out, err := exec.Command(torchPython, "-c", "import torch, numpy").CombinedOutput(); err != nil {
		msg := fmt.Sprintf("the export script's test needs %s with PyTorch and NumPy (Debian: apt-get install python3-torch python3-numpy): %v %s", torchPython, err, strings.TrimSpace(string(out)))
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	if out, err := exec.Command(torchPython, filepath.Join("testdata", script), dir).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", torchPython, script, err, out)
	}
	return dir
}

// TestExportScript runs examples/llm/export_logprobs.py on a tiny fine-tuned torch model and checks what
// it writes against values computed without the script, then runs every attack on it.
func TestExportScript(t *testing.T) {
	dir := runTorchScript(t, "tiny_export.py")
	b, err := Read(filepath.Join(dir, "bundle"))
	if err != nil {
		t.Fatal(err)
	}
	var exp struct {
		Loss []float64 `json:"loss"`
		Seq  int       `json:"seq"`
		K    int       `json:"k"`
		LpK  float64   `json:"lp_k"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &exp); err != nil {
		t.Fatal(err)
	}
	// −mean(token_logprobs) is torch's cross-entropy of the text; token k's log-probability is that of a
	// pass over tokens ≤ k alone (the alignment: value t−1 predicts token t). float32 model, so 1e-5.
	for s, l := range nll(b.LogProbs) {
		if math.Abs(l-exp.Loss[s]) > 1e-5*math.Max(1, exp.Loss[s]) {
			t.Errorf("sequence %d: -mean(token_logprobs) = %v, torch cross_entropy %v", s, l, exp.Loss[s])
		}
	}
	if got := b.LogProbs.Seq(exp.Seq)[exp.K-1]; math.Abs(got-exp.LpK) > 1e-5 {
		t.Errorf("token_logprobs of sequence %d, token %d = %v, a prefix-only pass gives %v", exp.Seq, exp.K, got, exp.LpK)
	}
	if got := Available(b); len(got) != len(Attacks()) {
		t.Errorf("attacks with inputs: %v, want all %d", got, len(Attacks()))
	}
	res, err := Evaluate(context.Background(), b, []string{"all"}, DefaultParams(), EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		t.Logf("%-13s AUC %.3f", r.Attack, r.Metrics.AUC)
		if r.Attack == "loss" && r.Metrics.AUC < 0.75 {
			t.Errorf("LOSS AUC %.3f on a model fine-tuned on its members for 20 epochs, want > 0.75", r.Metrics.AUC)
		}
		if r.Attack == "recall" && r.Dropped != 1 {
			t.Errorf("recall dropped %d sequences, want the prefix text only", r.Dropped)
		}
	}
	blind, err := Blind(context.Background(), b, EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range blind {
		t.Logf("%-13s AUC %.3f (blind)", r.Attack, r.Metrics.AUC)
	}
}
