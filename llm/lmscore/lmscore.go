// Package lmscore runs a causal language model exported to ONNX on token ids and computes what package
// llm's attacks read: each token's log-probability under the model, and μ and σ², the mean and variance
// of the log-probability under the model's own next-token distribution at each position (Min-K%++,
// Zhang et al., "Min-K%++: Improved Baseline for Detecting Pre-Training Data from Large Language Models",
// ICLR 2025). The model runs in Go (nn/onnx's Graph), so neither Python nor a tokenizer is needed: the
// texts come as token ids.
//
// The model takes a batch × sequence tensor of int64 token ids and returns batch × sequence × vocabulary
// logits, as torch.onnx.export writes a decoder-only transformer (see scripts/onnx/tiny_gpt.py). An
// attention_mask input is filled with ones and a position_ids input with 0, 1, …, T−1.
package lmscore

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/pmeter/pmeter/internal/parallel"
	"github.com/pmeter/pmeter/internal/progress"
	"github.com/pmeter/pmeter/llm"
	"github.com/pmeter/pmeter/nn/onnx"
)

// Model is a causal language model: an ONNX graph with its token-id input and logits output identified.
type Model struct {
	Graph *onnx.Graph
	// IDs is the name of the token-id input, Output that of the logits output.
	IDs, Output string
	// Mask and Positions name the attention_mask and position_ids inputs ("" when the graph has none).
	Mask, Positions string
	// Vocab is the size of the vocabulary as the graph declares it (0 when symbolic).
	Vocab int
	// Name describes the model in meta.json (the file name).
	Name string
}

// Load reads an ONNX language model (see New).
func Load(path string) (*Model, error) {
	g, err := onnx.LoadGraph(path)
	if err != nil {
		return nil, err
	}
	m, err := New(g)
	if err != nil {
		return nil, fmt.Errorf("lmscore: %s: %w", path, err)
	}
	m.Name = path
	return m, nil
}

// New identifies the inputs and output of a language model's graph: the token ids are the input named
// input_ids, or else the one integer input other than attention_mask and position_ids; the logits are the
// output named logits, or else the first output. Any other input is an error that names it.
func New(g *onnx.Graph) (*Model, error) {
	m := &Model{Graph: g}
	var ints []string
	for _, in := range g.Inputs {
		switch in.Name {
		case "attention_mask":
			m.Mask = in.Name
		case "position_ids":
			m.Positions = in.Name
		default:
			if in.Type == "FLOAT" || in.Type == "DOUBLE" || in.Type == "FLOAT16" {
				return nil, fmt.Errorf("input %q is %s; a language model takes integer token ids (and optionally attention_mask and position_ids): export it without past key values (use_cache=False)", in.Name, in.Type)
			}
			ints = append(ints, in.Name)
		}
	}
	switch {
	case slices.Contains(ints, "input_ids"):
		m.IDs = "input_ids"
	case len(ints) == 1:
		m.IDs = ints[0]
	default:
		return nil, fmt.Errorf("the graph has %d token-id inputs (%s); want one (input_ids), plus optionally attention_mask and position_ids", len(ints), strings.Join(ints, ", "))
	}
	if len(ints) > 1 {
		return nil, fmt.Errorf("inputs %s besides input_ids are not supported", strings.Join(slices.DeleteFunc(ints, func(s string) bool { return s == "input_ids" }), ", "))
	}
	for _, in := range g.Inputs {
		if (in.Name == m.IDs || in.Name == m.Mask || in.Name == m.Positions) && in.Shape != nil && len(in.Shape) != 2 {
			return nil, fmt.Errorf("input %q has %d dimensions; want batch × sequence", in.Name, len(in.Shape))
		}
	}
	out := g.Outputs[0]
	for _, o := range g.Outputs {
		if o.Name == "logits" {
			out = o
		}
	}
	m.Output = out.Name
	if out.Shape != nil {
		if len(out.Shape) != 3 {
			return nil, fmt.Errorf("output %q has %d dimensions; want batch × sequence × vocabulary logits", out.Name, len(out.Shape))
		}
		m.Vocab = max(out.Shape[2], 0)
	}
	return m, nil
}

// Logits runs the model on one sequence and returns its T × V logits, row t predicting token t+1.
func (m *Model) Logits(ctx context.Context, ids []int64) ([]float32, int, error) {
	t := len(ids)
	in := map[string]*onnx.Tensor{m.IDs: {Shape: []int{1, t}, I: ids}}
	if m.Mask != "" {
		ones := make([]int64, t)
		for i := range ones {
			ones[i] = 1
		}
		in[m.Mask] = &onnx.Tensor{Shape: []int{1, t}, I: ones}
	}
	if m.Positions != "" {
		pos := make([]int64, t)
		for i := range pos {
			pos[i] = int64(i)
		}
		in[m.Positions] = &onnx.Tensor{Shape: []int{1, t}, I: pos}
	}
	out, err := m.Graph.Run(ctx, in)
	if err != nil {
		if strings.Contains(err.Error(), "(Gather): index") {
			// An embedding lookup out of range: a token id outside the vocabulary, or more tokens than
			// the model has positions.
			return nil, 0, fmt.Errorf("%w (a token id outside the vocabulary, or %d tokens, more than the model's context?)", err, t)
		}
		return nil, 0, err
	}
	y := out[m.Output]
	if y.F == nil || len(y.Shape) != 3 || y.Shape[0] != 1 || y.Shape[1] != t || y.Shape[2] == 0 {
		return nil, 0, fmt.Errorf("output %q of shape %v for %d tokens; want float logits of shape [1 %d vocabulary]", m.Output, y.Shape, t, t)
	}
	return y.F, y.Shape[2], nil
}

// Stats holds one sequence's per-token quantities, each of T−1 values for a sequence of T tokens: value
// t is about token t+1 given tokens 0..t.
type Stats struct {
	LogProbs, Mu, Sigma2 []float64
}

// Sequence computes a sequence's token log-probabilities and μ, σ² of the next-token distribution, in
// float64 from the model's float32 logits: log p = log_softmax(logits), μ = Σ_v p_v log p_v,
// σ² = Σ_v p_v (log p_v − μ)² (the centred form, never negative). ids must hold at least 2 tokens, each in
// [0, vocabulary).
func (m *Model) Sequence(ctx context.Context, ids []int64) (Stats, error) {
	if len(ids) < 2 {
		return Stats{}, fmt.Errorf("%d token(s); at least 2 are needed to score one", len(ids))
	}
	logits, v, err := m.Logits(ctx, ids)
	if err != nil {
		return Stats{}, err
	}
	n := len(ids) - 1
	st := Stats{LogProbs: make([]float64, n), Mu: make([]float64, n), Sigma2: make([]float64, n)}
	lp, p := make([]float64, v), make([]float64, v)
	for t := 0; t < n; t++ {
		next := ids[t+1]
		if next < 0 || next >= int64(v) {
			return Stats{}, fmt.Errorf("token %d (id %d) is outside the model's vocabulary of %d", t+1, next, v)
		}
		logSoftmax(lp, p, logits[t*v:(t+1)*v])
		var mu float64
		for i, l := range lp {
			mu += p[i] * l
		}
		var s2 float64
		for i, l := range lp {
			d := l - mu
			s2 += p[i] * d * d
		}
		st.LogProbs[t], st.Mu[t], st.Sigma2[t] = lp[next], mu, s2
	}
	return st, nil
}

// logSoftmax writes log_softmax(row) into lp and softmax(row) into p, in float64.
func logSoftmax(lp, p []float64, row []float32) {
	m := math.Inf(-1)
	for _, x := range row {
		m = math.Max(m, float64(x))
	}
	var s float64
	for i, x := range row {
		p[i] = math.Exp(float64(x) - m)
		s += p[i]
	}
	ls := m + math.Log(s)
	for i, x := range row {
		lp[i] = float64(x) - ls
		p[i] /= s
	}
}

// score computes sequence s's statistics, its pass after EOS and its reference log-probabilities.
func score(ctx context.Context, m *Model, ids []int64, s int, opt Options, refNames []string, st *Stats, bos *[]float64, refs [][][]float64) error {
	var err error
	if *st, err = m.Sequence(ctx, ids); err != nil {
		return fmt.Errorf("lmscore: sequence %d: %w", s, err)
	}
	if opt.EOS >= 0 {
		b, err := m.Sequence(ctx, append([]int64{opt.EOS}, ids...))
		if err != nil {
			return fmt.Errorf("lmscore: sequence %d after EOS %d: %w", s, opt.EOS, err)
		}
		*bos = b.LogProbs
	}
	for i, name := range refNames {
		r, err := opt.Refs[name].Sequence(ctx, ids)
		if err != nil {
			return fmt.Errorf("lmscore: reference model %s: sequence %d: %w", name, s, err)
		}
		refs[i][s] = r.LogProbs
	}
	return nil
}

// Options configures Score.
type Options struct {
	// Workers is the number of sequences run at once (0: GOMAXPROCS).
	Workers int
	// EOS, when ≥ 0, adds a second pass over each sequence with this token prepended, for DC-PDD's
	// token_logprobs_bos (the log-probability of every token, the first included), and records it as
	// meta.json's dc_pdd.eos_token_id. −1 leaves it out.
	EOS int64
	// Refs are reference language models (mimir's "reference" attack), scored on the same token ids: they
	// must share the target's tokenizer. The map key names each in the bundle (ref/<name>/).
	Refs map[string]*Model
	// Corpus, when not nil, is a reference corpus of token ids whose counts DC-PDD uses as token
	// frequencies (written as corpus_token_ids; meta.json's dc_pdd.vocab_size is the model's vocabulary).
	Corpus [][]int64
	// Progress, when not nil, receives a progress bar.
	Progress io.Writer
}

// Input is what Score scores: the token ids of each sequence and, optionally, labels (true = member) and
// texts (for reports and the zlib attack).
type Input struct {
	Tokens [][]int64
	Labels []bool
	Texts  []string
}

// Score runs the model (and any reference models) on every sequence and returns the bundle of package
// llm's layout: token_logprobs, mu and sigma2, token_ids, labels and texts when given, and
// token_logprobs_bos and ref/<name>/ when asked for. The bundle is validated; errors name the sequence.
func Score(ctx context.Context, m *Model, in Input, opt Options) (*llm.Bundle, error) {
	n := len(in.Tokens)
	if n == 0 {
		return nil, fmt.Errorf("lmscore: no sequences")
	}
	if in.Labels != nil && len(in.Labels) != n {
		return nil, fmt.Errorf("lmscore: %d labels for %d sequences", len(in.Labels), n)
	}
	if in.Texts != nil && len(in.Texts) != n {
		return nil, fmt.Errorf("lmscore: %d texts for %d sequences", len(in.Texts), n)
	}
	refNames := make([]string, 0, len(opt.Refs))
	for name := range opt.Refs {
		if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
			return nil, fmt.Errorf("lmscore: reference model name %q (want a plain name, used as ref/<name>/)", name)
		}
		refNames = append(refNames, name)
	}
	slices.Sort(refNames)
	stats := make([]Stats, n)
	bos := make([][]float64, n)
	refs := make([][][]float64, len(refNames))
	for i := range refs {
		refs[i] = make([][]float64, n)
	}
	var bar *progress.Bar
	if opt.Progress != nil {
		bar = progress.New(opt.Progress, "scoring sequences", n)
	}
	outer := ctx
	err := parallel.For(ctx, n, opt.Workers, func(ctx context.Context, s int) error {
		err := score(ctx, m, in.Tokens[s], s, opt, refNames, &stats[s], &bos[s], refs)
		if err != nil && ctx.Err() != nil && outer.Err() == nil {
			return nil // stopped because another sequence failed: that error is the one to report
		}
		if err == nil && bar != nil {
			bar.Add(1)
		}
		return err
	})
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return nil, err
	}
	b := &llm.Bundle{Labels: in.Labels, Texts: in.Texts}
	lp, mu, s2 := make([][]float64, n), make([][]float64, n), make([][]float64, n)
	for s, st := range stats {
		lp[s], mu[s], s2[s] = st.LogProbs, st.Mu, st.Sigma2
	}
	b.LogProbs = llm.NewRagged(lp)
	b.Mu, b.Sigma2 = llm.NewRagged(mu).Values, llm.NewRagged(s2).Values
	b.Tokens = llm.NewRagged(in.Tokens)
	b.Meta = llm.Meta{Format: llm.Format, NSequences: n, TargetModel: m.Name, LogitsDtype: "float32",
		Source: "pmeter llm score (nn/onnx Graph; log-probabilities in float64 from float32 logits)"}
	if opt.EOS >= 0 {
		b.LogProbsBOS = llm.NewRagged(bos).Values
		b.Meta.DCPDD = &llm.DCPDDMeta{EOSTokenID: int(opt.EOS)}
	}
	if opt.Corpus != nil {
		if b.Meta.DCPDD == nil {
			return nil, fmt.Errorf("lmscore: a reference corpus is for DC-PDD, which also needs the EOS pass (Options.EOS ≥ 0)")
		}
		b.Corpus = llm.NewRagged(opt.Corpus)
		b.Meta.DCPDD.VocabSize = m.Vocab
	}
	for i, name := range refNames {
		b.Refs = append(b.Refs, llm.Reference{Name: name, LogProbs: llm.NewRagged(refs[i])})
		b.Meta.ReferenceModels = append(b.Meta.ReferenceModels, name)
	}
	if err := b.Validate(); err != nil {
		return nil, err
	}
	return b, nil
}
