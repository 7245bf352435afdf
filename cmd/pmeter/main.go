// Command pmeter audits the privacy risk of machine-learning models with membership inference.
//
// The command only parses flags and prints; the library packages (attack, metric, signal, nn, dataset,
// audit, report) do the work.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `pmeter audits the privacy risk of machine-learning models with membership inference.

Usage:
  pmeter <command> [arguments]

Commands:
  run       run a whole audit from a config (no config: the embedded Fashion-MNIST demo)
  plan      print the models, records, memory and disk a run of a config needs, and its model tasks
  task      run one step of a run alone: train one model (train), or finish (attacks, report)
  submit    hand a run's missing models and its finish step to Slurm (or Kubernetes)
  init      write a commented example config
  attack    run one attack on a signal bundle and write scores and metrics
  duci      estimate the fraction of a dataset that a model trained on (DUCI), from a signal bundle
  predict   run a model (ONNX or saved by pmeter) on X.npy and write its logits
  llm       language models: score token ids with an ONNX model into an LLM bundle (score)
  report    rebuild a run's report from its saved results
  bench     measure speed against baselines (rmia, roc, train, lm)
  validate  check that every attack under every design is calibrated (null and leak harnesses)
  dp        differential privacy: ε of DP-SGD (epsilon), noise for a target (noise), audits (audit)
  help      show help for a command

Run 'pmeter <command> -h' for a command's flags.
`

// command is one sub-command: run parses its own flags from args.
type command struct {
	name string
	run  func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"run", runRun},
		{"plan", runPlan},
		{"task", runTask},
		{"submit", runSubmit},
		{"init", runInit},
		{"attack", runAttack},
		{"duci", runDUCI},
		{"predict", runPredict},
		{"llm", runLLM},
		{"report", runReport},
		{"bench", runBench},
		{"validate", runValidate},
		{"dp", runDP},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the process exit code: 0 on success, 2 on a usage
// error, 1 on any other error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	name, rest := args[0], args[1:]
	if name == "help" || name == "-h" || name == "--help" {
		if len(rest) == 0 {
			fmt.Fprint(stdout, usage)
			return 0
		}
		name, rest = rest[0], []string{"-h"}
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(ctx, rest, stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, new(usageError)):
			fmt.Fprintf(stderr, "pmeter %s: %v\n", name, err)
			return 2
		default:
			fmt.Fprintf(stderr, "pmeter %s: %v\n", name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "pmeter: unknown command %q\n\n%s", name, usage)
	return 2
}

// usageError marks an error in the command line itself (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// parseArgs parses the flags of a command documented by usage (parseInterspersed: flags may follow
// positional arguments) and returns the positional arguments. -h prints usage to stdout and returns
// flag.ErrHelp; a bad flag is a usage error.
func parseArgs(fs *flag.FlagSet, args []string, usage string, stdout io.Writer) ([]string, error) {
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
	}
	return pos, err
}

// parseFlags is parseArgs for the command 'pmeter name', which takes flags only: a positional argument
// is a usage error.
func parseFlags(fs *flag.FlagSet, args []string, name, usage string, stdout io.Writer) error {
	pos, err := parseArgs(fs, args, usage, stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected arguments %q; run 'pmeter %s -h'", pos, name)
	}
	return nil
}

// parseInterspersed parses fs's flags from args, allowing flags after positional arguments (as in
// 'pmeter run config.yaml --out dir'), and returns the positional arguments. A bad flag is a usage error;
// -h returns flag.ErrHelp after fs's usage has been printed.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%v", err)
		}
		if args = fs.Args(); len(args) == 0 {
			return pos, nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}
