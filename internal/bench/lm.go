package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/pmeter/pmeter/internal/parallel"
	"github.com/pmeter/pmeter/llm/lmscore"
	"github.com/pmeter/pmeter/npy"
)

// LMOptions configures the language-model benchmark.
type LMOptions struct {
	// The model: width, blocks, heads, vocabulary; and the input: N sequences of Seq tokens.
	D, Layers, Heads, Vocab, Seq, N int
	Repeats                         int // timed runs on each side; the best is compared
	Seed                            uint64
	// Model, when set, is an ONNX model to time pmeter on (random token ids below Vocab) instead of the
	// one the PyTorch script builds; there is then no baseline.
	Model    string
	Baseline Baseline
}

// LMResult is the outcome of the language-model benchmark.
type LMResult struct {
	Go        Measurement // logits, then log-probabilities, μ and σ² (lmscore.Score)
	GoForward Measurement // the logits alone (the ONNX graph)
	Tokens    int         // tokens scored per run

	Skipped       string // why the baseline did not run ("" when it ran)
	TorchBest     time.Duration
	TorchMedian   time.Duration
	TorchForward  time.Duration // best time of the forward pass alone
	TorchThreads  int
	TorchVersion  string
	Params        int
	MaxAbsLogProb float64 // largest |Δ| between pmeter's and PyTorch's token log-probabilities
}

type lmPython struct {
	Seconds []float64 `json:"seconds"`
	Forward []float64 `json:"forward_seconds"`
	Threads int       `json:"threads"`
	Torch   string    `json:"torch"`
	Params  int       `json:"params"`
}

// LM times 'pmeter llm score' (package lmscore: the ONNX graph in Go, then log-probabilities, μ and σ²
// in float64) on N sequences of a GPT-2-shaped model with random weights, against PyTorch on CPU doing
// the same on the same model (scripts/bench/lm_torch.py builds and exports the model, and times its
// batched forward pass and statistics), checks that the log-probabilities agree within 1e-4, and writes a
// table of tokens per second.
func LM(ctx context.Context, w io.Writer, o LMOptions) (*LMResult, error) {
	o.Repeats = max(o.Repeats, 1)
	if o.N <= 0 || o.Seq < 2 || o.Vocab < 64 {
		return nil, fmt.Errorf("bench lm: %d sequences of %d tokens, vocabulary %d; want ≥ 1, ≥ 2 and ≥ 64", o.N, o.Seq, o.Vocab)
	}
	dir, err := tempDir()
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	res := &LMResult{}
	model := o.Model
	var ids [][]int64
	if model == "" {
		res.Skipped = lmBaseline(ctx, dir, o, res)
		if res.Skipped != "" {
			return nil, fmt.Errorf("bench lm: %s; pass --model FILE.onnx to time pmeter alone", res.Skipped)
		}
		model = filepath.Join(dir, "model.onnx")
		a, err := npy.ReadFile(filepath.Join(dir, "tokens.npy"))
		if err != nil {
			return nil, fmt.Errorf("bench lm: %w", err)
		}
		v, err := a.Int64s()
		if err != nil {
			return nil, fmt.Errorf("bench lm: tokens.npy: %w", err)
		}
		for s := range o.N {
			ids = append(ids, v[s*o.Seq:(s+1)*o.Seq])
		}
	} else {
		res.Skipped = "baseline skipped: --model given"
		r := rand.New(rand.NewPCG(o.Seed, 0x4c4d))
		for range o.N {
			s := make([]int64, o.Seq)
			for i := range s {
				s[i] = int64(r.IntN(o.Vocab))
			}
			ids = append(ids, s)
		}
	}
	m, err := lmscore.Load(model)
	if err != nil {
		return nil, err
	}
	var lp []float64
	res.Go, err = measure(o.Repeats, func() error {
		b, err := lmscore.Score(ctx, m, lmscore.Input{Tokens: ids}, lmscore.Options{EOS: -1})
		if err == nil {
			lp = b.LogProbs.Values
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	res.GoForward, err = measure(o.Repeats, func() error {
		return parallel.For(ctx, len(ids), 0, func(ctx context.Context, s int) error {
			_, _, err := m.Logits(ctx, ids[s])
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	res.Tokens = o.N * o.Seq
	if res.Skipped == "" {
		a, err := npy.ReadFile(filepath.Join(dir, "torch_lp.npy"))
		if err != nil {
			return nil, fmt.Errorf("bench lm: %w", err)
		}
		if len(a.F64) != len(lp) {
			return nil, fmt.Errorf("bench lm: PyTorch wrote %d log-probabilities, pmeter %d", len(a.F64), len(lp))
		}
		for i, v := range a.F64 {
			res.MaxAbsLogProb = math.Max(res.MaxAbsLogProb, math.Abs(v-lp[i]))
		}
	}
	if err := printLM(w, o, model, res); err != nil {
		return res, err
	}
	if res.Skipped == "" && !(res.MaxAbsLogProb <= 1e-4) {
		return res, fmt.Errorf("bench lm: MISMATCH: token log-probabilities differ from PyTorch's by up to %g", res.MaxAbsLogProb)
	}
	return res, nil
}

func lmBaseline(ctx context.Context, dir string, o LMOptions, res *LMResult) string {
	if o.Baseline.Skip {
		return "the model is built by the PyTorch baseline, which was not requested"
	}
	py, err := o.Baseline.python(ctx, "numpy", "torch")
	if err != nil {
		return fmt.Sprintf("python3-torch not found (%v)", err)
	}
	script, err := o.Baseline.script("lm_torch.py")
	if err != nil {
		return err.Error()
	}
	args := []string{script, dir, "--d", strconv.Itoa(o.D), "--layers", strconv.Itoa(o.Layers), "--heads", strconv.Itoa(o.Heads),
		"--vocab", strconv.Itoa(o.Vocab), "--seq", strconv.Itoa(o.Seq), "--n", strconv.Itoa(o.N),
		"--repeats", strconv.Itoa(o.Repeats), "--seed", strconv.FormatUint(o.Seed, 10),
		"--threads", strconv.Itoa(runtime.GOMAXPROCS(0))}
	cmd := exec.CommandContext(ctx, py, args...)
	out, err := cmd.Output()
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*exec.ExitError); ok {
			msg += ": " + lastLine(ee.Stderr)
		}
		return fmt.Sprintf("baseline failed: %s", msg)
	}
	var r lmPython
	if err := json.Unmarshal([]byte(lastLine(out)), &r); err != nil || len(r.Seconds) == 0 {
		return fmt.Sprintf("baseline failed: reading its result: %v", err)
	}
	tp := pythonResult{Seconds: r.Seconds}
	res.TorchBest, res.TorchMedian, res.TorchThreads, res.TorchVersion, res.Params = tp.best(), tp.median(), r.Threads, r.Torch, r.Params
	if len(r.Forward) > 0 {
		res.TorchForward = pythonResult{Seconds: r.Forward}.best()
	}
	return ""
}

func printLM(w io.Writer, o LMOptions, model string, r *LMResult) error {
	if o.Model == "" {
		fmt.Fprintf(w, "Language-model scoring: GPT-2-shaped model (d = %d, %d blocks, %d heads, vocabulary %d, %d parameters), %d sequences × %d tokens, seed %d\n",
			o.D, o.Layers, o.Heads, o.Vocab, r.Params, o.N, o.Seq, o.Seed)
	} else {
		fmt.Fprintf(w, "Language-model scoring: %s, %d sequences × %d tokens, seed %d\n", model, o.N, o.Seq, o.Seed)
	}
	fmt.Fprintf(w, "log-probabilities, μ and σ² of every position; Go runs with GOMAXPROCS = %d\n\n", runtime.GOMAXPROCS(0))
	tps := func(d time.Duration) string { return fmt.Sprintf("%.0f", float64(r.Tokens)/d.Seconds()) }
	t := newTable(w)
	t.row("implementation", fmt.Sprintf("best of %d", o.Repeats), "median", "tokens/s (best)", "forward pass alone (best)", "tokens/s")
	t.row("pmeter (Go, nn/onnx Graph, one sequence per goroutine)", formatDuration(r.Go.Best), formatDuration(r.Go.Median), tps(r.Go.Best),
		formatDuration(r.GoForward.Best), tps(r.GoForward.Best))
	if r.Skipped == "" {
		t.row(fmt.Sprintf("PyTorch %s CPU (%d threads, one batch)", r.TorchVersion, r.TorchThreads), formatDuration(r.TorchBest), formatDuration(r.TorchMedian), tps(r.TorchBest),
			formatDuration(r.TorchForward), tps(r.TorchForward))
		t.row("ratio (pmeter tokens/s ÷ PyTorch's)", "", "", fmt.Sprintf("%.2f×", r.TorchBest.Seconds()/r.Go.Best.Seconds()),
			"", fmt.Sprintf("%.2f×", r.TorchForward.Seconds()/r.GoForward.Best.Seconds()))
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if r.Skipped != "" {
		_, err := fmt.Fprintln(w, r.Skipped)
		return err
	}
	_, err := fmt.Fprintf(w, "token log-probabilities: largest |pmeter − PyTorch| = %.2g\n", r.MaxAbsLogProb)
	return err
}
