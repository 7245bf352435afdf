package nnbench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pmeter/pmeter/internal/bench"
	"github.com/pmeter/pmeter/nn"
	"github.com/pmeter/pmeter/npy"
)

// defaultPython is the interpreter of the baseline: the system one, where torch is a distribution package.
const defaultPython = bench.DefaultPython

// TorchResult is the JSON line scripts/bench/train_torch.py prints.
type TorchResult struct {
	Impl        string    `json:"impl"` // "pytorch <version>"
	Model       string    `json:"model"`
	Samples     int       `json:"samples"`
	Seconds     float64   `json:"seconds"`
	CPUSeconds  float64   `json:"cpu_seconds"` // CPU time of the process over the same span, all threads
	SamplesPerS float64   `json:"samples_per_s"`
	Params      int       `json:"params"`
	FirstLoss   float64   `json:"first_loss"`
	LastLoss    float64   `json:"last_loss"`
	AllSeconds  []float64 `json:"all_seconds"` // every timed run
}

// baseline runs the PyTorch script, or says why it cannot.
type baseline struct {
	python, script string
	skip           string // reason to skip; "" when the baseline runs
}

func newBaseline(ctx context.Context, o Options) *baseline {
	if o.NoBaseline {
		return &baseline{skip: "not requested"}
	}
	py := o.Python
	if py == "" {
		py = defaultPython
	}
	if _, err := os.Stat(py); err != nil {
		return &baseline{skip: py + " not found"}
	}
	if out, err := exec.CommandContext(ctx, py, "-c", "import torch, numpy").CombinedOutput(); err != nil {
		return &baseline{skip: fmt.Sprintf("%s cannot import torch and numpy: %s", py, lastLine(out))}
	}
	script, err := bench.FindScript(o.Scripts, "train_torch.py")
	if err != nil {
		return &baseline{skip: err.Error()}
	}
	return &baseline{python: py, script: script}
}

// run trains the same model on the same data in PyTorch (one thread), repeats times, and returns the
// fastest run, or nil
// and the reason it did not run. A model with a different parameter count is an error, reported as
// the reason.
func (b *baseline) run(ctx context.Context, model string, x *nn.Tensor, y []int, classes int, cfg nn.TrainConfig, params, repeats int) (*TorchResult, string) {
	if b.skip != "" {
		return nil, b.skip
	}
	dir, err := os.MkdirTemp("", "pmeter-bench-train-")
	if err != nil {
		return nil, err.Error()
	}
	defer os.RemoveAll(dir)
	xp, yp := filepath.Join(dir, "x.npy"), filepath.Join(dir, "y.npy")
	labels := make([]int64, len(y))
	for i, v := range y {
		labels[i] = int64(v)
	}
	if err := npy.WriteFile(xp, npy.NewFloat32(x.Data, x.Shape...)); err != nil {
		return nil, err.Error()
	}
	if err := npy.WriteFile(yp, npy.NewInt64(labels, len(labels))); err != nil {
		return nil, err.Error()
	}
	cmd := exec.CommandContext(ctx, b.python, b.script, "--model", model, "--x", xp, "--y", yp,
		"--epochs", strconv.Itoa(cfg.Epochs), "--batch", strconv.Itoa(cfg.BatchSize), "--threads", "1",
		"--lr", strconv.FormatFloat(cfg.LR, 'g', -1, 64), "--classes", strconv.Itoa(classes),
		"--seed", strconv.FormatUint(cfg.Seed%(1<<31), 10), "--repeats", strconv.Itoa(max(repeats, 1)))
	cmd.Env = append(os.Environ(), "OPENBLAS_NUM_THREADS=1", "OMP_NUM_THREADS=1", "MKL_NUM_THREADS=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Sprintf("%s failed: %v: %s", filepath.Base(b.script), err, lastLine(stderr.Bytes()))
	}
	var r TorchResult
	if err := json.Unmarshal([]byte(lastLine(stdout.Bytes())), &r); err != nil || r.Seconds <= 0 {
		return nil, fmt.Sprintf("%s: unreadable result %q", filepath.Base(b.script), lastLine(stdout.Bytes()))
	}
	if r.Params != params {
		return nil, fmt.Sprintf("PyTorch's %s has %d parameters, pmeter's %d: not the same model", model, r.Params, params)
	}
	return &r, ""
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x6e6e62656e6368)) }
