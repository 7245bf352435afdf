package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pmeter/pmeter/llm/lmscore"
)

const llmUsage = `Usage:
  pmeter llm score MODEL.onnx --tokens TOKENS --out BUNDLE [flags]

Runs a causal language model exported to ONNX (torch.onnx.export of a decoder-only transformer:
input_ids → logits) on token ids, in Go, and writes the per-token bundle that 'pmeter attack' reads:
token log-probabilities, μ and σ² of each next-token distribution (Min-K%++), the token ids, and the
labels and texts when given. No Python and no tokenizer: the texts come as token ids.

TOKENS is a .jsonl file, one sequence per line: [ids...] or {"token_ids": [...], "label": true,
"text": "..."} (label and text optional, on every line or none); or a .npy of sequences × tokens
(integers) with --labels.

Flags:
  --tokens FILE      the sequences (.jsonl or .npy)
  --labels FILE      labels of a .npy TOKENS (boolean .npy, true = member)
  --out DIR          the bundle directory to write (new, or empty)
  --eos ID           also score each sequence after this token (DC-PDD's token_logprobs_bos)
  --corpus FILE      token ids of a reference corpus (.jsonl as TOKENS) for DC-PDD's frequencies
  --ref NAME=FILE    a reference model (.onnx, same tokenizer) for the reference attack; repeatable
  --max-tokens N     cut each sequence to its first N tokens (the model's context; one less with --eos)
  --workers N        sequences run at once (default: all cores)

Then: pmeter attack BUNDLE --attack all
`

// refFlags collects repeated --ref NAME=FILE flags.
type refFlags []string

func (r *refFlags) String() string     { return strings.Join(*r, ",") }
func (r *refFlags) Set(v string) error { *r = append(*r, v); return nil }

// runLLM implements 'pmeter llm'.
func runLLM(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, llmUsage)
		return usagef("no subcommand given (want score)")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, llmUsage)
		return flag.ErrHelp
	case "score":
		return runLLMScore(ctx, args[1:], stdout, stderr)
	}
	return usagef("unknown subcommand %q (want score)", args[0])
}

func runLLMScore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("llm score", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	tokens := fs.String("tokens", "", "")
	labels := fs.String("labels", "", "")
	out := fs.String("out", "", "")
	eos := fs.Int64("eos", -1, "")
	corpus := fs.String("corpus", "", "")
	workers := fs.Int("workers", 0, "")
	maxTokens := fs.Int("max-tokens", 0, "")
	var refs refFlags
	fs.Var(&refs, "ref", "")
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, llmUsage)
		return err
	}
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 1:
		return usagef("want one MODEL.onnx argument, got %d (%s); run 'pmeter llm -h'", len(pos), strings.Join(pos, " "))
	case *tokens == "":
		return usagef("--tokens is required")
	case *out == "":
		return usagef("--out is required")
	case *maxTokens < 0 || *maxTokens == 1:
		return usagef("--max-tokens %d: want 0 (no limit) or at least 2", *maxTokens)
	case *workers < 0:
		return usagef("--workers %d: want 0 or more", *workers)
	case *eos < -1:
		return usagef("--eos %d: want a token id (≥ 0)", *eos)
	case *corpus != "" && *eos < 0:
		return usagef("--corpus is for DC-PDD, which also needs --eos")
	}
	if st, err := os.Stat(*out); err == nil {
		if !st.IsDir() {
			return usagef("--out %s is a file; want a new directory", *out)
		}
		if ents, _ := os.ReadDir(*out); len(ents) > 0 {
			return usagef("--out %s exists and is not empty; write the bundle to a new directory", *out)
		}
	}
	in, err := lmscore.ReadTokens(*tokens, *labels)
	if err != nil {
		return err
	}
	if *maxTokens > 0 {
		if cut := lmscore.Truncate(&in, *maxTokens); cut > 0 {
			fmt.Fprintf(stderr, "pmeter llm score: %d of %d sequences cut to their first %d tokens (--max-tokens)\n", cut, len(in.Tokens), *maxTokens)
		}
	}
	m, err := lmscore.Load(pos[0])
	if err != nil {
		return err
	}
	for _, w := range m.Graph.Warnings {
		fmt.Fprintf(stderr, "pmeter llm score: %s: %s\n", pos[0], w)
	}
	opt := lmscore.Options{Workers: *workers, EOS: *eos, Progress: stderr}
	if *corpus != "" {
		c, err := lmscore.ReadTokens(*corpus, "")
		if err != nil {
			return err
		}
		opt.Corpus = c.Tokens
	}
	for _, r := range refs {
		name, path, ok := strings.Cut(r, "=")
		if !ok || name == "" || path == "" {
			return usagef("--ref %q: want NAME=FILE.onnx", r)
		}
		if _, dup := opt.Refs[name]; dup {
			return usagef("--ref %s is given twice", name)
		}
		rm, err := lmscore.Load(path)
		if err != nil {
			return err
		}
		if opt.Refs == nil {
			opt.Refs = map[string]*lmscore.Model{}
		}
		opt.Refs[name] = rm
	}
	b, err := lmscore.Score(ctx, m, in, opt)
	if err != nil {
		return err
	}
	if err := b.WriteDir(*out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d sequences, %d scored tokens (token_logprobs, mu, sigma2, token_ids", *out, b.N(), len(b.LogProbs.Values))
	if b.Labels != nil {
		fmt.Fprint(stdout, ", labels")
	}
	if b.LogProbsBOS != nil {
		fmt.Fprint(stdout, ", token_logprobs_bos")
	}
	for _, r := range b.Refs {
		fmt.Fprintf(stdout, ", ref/%s", r.Name)
	}
	fmt.Fprintf(stdout, ")\nnext: pmeter attack %s --attack all\n", *out)
	return nil
}
