package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/pmeter/pmeter/internal/bench"
	"github.com/pmeter/pmeter/nn/nnbench"
)

const benchUsage = `Usage:
  pmeter bench <benchmark> [flags]

Benchmarks:
  rmia   RMIA (Privacy Meter v2 semantics) against Privacy Meter's numpy N × Z formulation
  roc    ROC curve and AUC against scikit-learn roc_curve + auc
  train  model training (MLP, CNN, two models at once, Fashion-MNIST accuracy) against PyTorch, and
         DP-SGD against non-private training of the same models
  lm     language-model scoring ('pmeter llm score': token log-probabilities, μ, σ² from an ONNX
         GPT-2-shaped model) against PyTorch CPU on the same model, in tokens per second

Run 'pmeter bench <benchmark> -h' for its flags. Baselines need /usr/bin/python3 with numpy (and
scikit-learn for roc, torch for train and lm); without them only pmeter is measured (lm needs --model then).
`

// runBench implements 'pmeter bench': it picks the benchmark, parses its flags and calls internal/bench.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, benchUsage)
		return usagef("no benchmark given (want rmia, roc, train or lm)")
	}
	switch name, rest := args[0], args[1:]; name {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, benchUsage)
		return nil
	case "rmia":
		return benchRMIA(ctx, rest, stdout, stderr)
	case "roc":
		return benchROC(ctx, rest, stdout, stderr)
	case "train":
		return benchTrain(ctx, rest, stdout, stderr)
	case "lm":
		return benchLM(ctx, rest, stdout, stderr)
	default:
		return usagef("unknown benchmark %q (want rmia, roc, train or lm)", name)
	}
}

// benchFlags adds the flags common to every benchmark.
func benchFlags(fs *flag.FlagSet, b *bench.Baseline, repeats *int, seed *uint64, procs *int) {
	fs.StringVar(&b.Python, "python", bench.DefaultPython, "Python interpreter for the baseline")
	fs.StringVar(&b.Scripts, "scripts", "", "directory of the baseline scripts (default: scripts/bench above the working directory or the executable)")
	fs.BoolVar(&b.Skip, "no-baseline", false, "measure pmeter only")
	fs.IntVar(repeats, "repeats", 3, "timed runs on each side (the best is compared)")
	fs.Uint64Var(seed, "seed", 1, "seed of the synthetic data")
	fs.IntVar(procs, "procs", 0, "threads for Go (GOMAXPROCS; 0 keeps the default)")
}

func parseBench(fs *flag.FlagSet, args []string, stderr io.Writer, procs *int) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	if *procs < 0 {
		return usagef("-procs %d: want 0 or more", *procs)
	}
	if *procs > 0 {
		runtime.GOMAXPROCS(*procs)
	}
	return nil
}

func benchRMIA(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o bench.RMIAOptions
	var procs int
	fs := flag.NewFlagSet("pmeter bench rmia", flag.ContinueOnError)
	fs.IntVar(&o.N, "n", 50000, "records (N)")
	fs.IntVar(&o.Z, "z", 10000, "population records (Z)")
	fs.IntVar(&o.M, "models", 8, "models (M, even: complementary pairs)")
	fs.IntVar(&o.R, "r", 0, "reference models R (0: all (M-2)/2 pairs)")
	fs.Float64Var(&o.OfflineA, "a", 0.3, "offline a")
	benchFlags(fs, &o.Baseline, &o.Repeats, &o.Seed, &procs)
	if err := parseBench(fs, args, stderr, &procs); err != nil {
		return err
	}
	_, err := bench.RMIA(ctx, stdout, o)
	return err
}

func benchROC(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o bench.ROCOptions
	var procs int
	fs := flag.NewFlagSet("pmeter bench roc", flag.ContinueOnError)
	fs.IntVar(&o.N, "n", 10_000_000, "scores")
	benchFlags(fs, &o.Baseline, &o.Repeats, &o.Seed, &procs)
	if err := parseBench(fs, args, stderr, &procs); err != nil {
		return err
	}
	_, err := bench.ROC(ctx, stdout, o)
	return err
}

func benchTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o nnbench.Options
	var parts string
	fs := flag.NewFlagSet("pmeter bench train", flag.ContinueOnError)
	fs.StringVar(&parts, "parts", "", "comma-separated parts to run: "+strings.Join(nnbench.Parts(), ", ")+" (default all)")
	fs.StringVar(&o.FashionMNIST, "fashion", "", "directory of the full Fashion-MNIST IDX files (default: the embedded subset)")
	fs.IntVar(&o.Repeats, "repeats", 3, "timed runs on each side (the fastest is compared)")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of the synthetic data and of the models")
	fs.BoolVar(&o.NoBaseline, "no-baseline", false, "measure pmeter only")
	fs.StringVar(&o.Python, "python", bench.DefaultPython, "Python interpreter with torch for the baseline")
	fs.StringVar(&o.Scripts, "scripts", "", "directory of train_torch.py (default: scripts/bench above the working directory or the executable)")
	procs := 0
	if err := parseBench(fs, args, stderr, &procs); err != nil {
		return err
	}
	if parts != "" {
		o.Parts = strings.Split(parts, ",")
	}
	_, err := nnbench.Run(ctx, stdout, o)
	return err
}

func benchLM(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o bench.LMOptions
	var procs int
	fs := flag.NewFlagSet("pmeter bench lm", flag.ContinueOnError)
	fs.IntVar(&o.D, "d", 256, "model width")
	fs.IntVar(&o.Layers, "layers", 4, "transformer blocks")
	fs.IntVar(&o.Heads, "heads", 4, "attention heads")
	fs.IntVar(&o.Vocab, "vocab", 4096, "vocabulary size")
	fs.IntVar(&o.Seq, "seq", 128, "tokens per sequence")
	fs.IntVar(&o.N, "n", 16, "sequences")
	fs.StringVar(&o.Model, "model", "", "an ONNX language model to time pmeter alone on (no baseline; token ids below -vocab)")
	benchFlags(fs, &o.Baseline, &o.Repeats, &o.Seed, &procs)
	if err := parseBench(fs, args, stderr, &procs); err != nil {
		return err
	}
	_, err := bench.LM(ctx, stdout, o)
	return err
}
