package llm

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
)

// where names a layout file of b in messages: the path inside a directory, the member of a .npz, or the
// field of a JSONL file.
func (b *Bundle) where(name string) string {
	switch {
	case b.Source == "":
		return name + ".npy"
	case strings.HasSuffix(b.Source, ".jsonl"):
		return b.Source + ": field " + jsonlField(name)
	case strings.HasSuffix(b.Source, ".npz"):
		return b.Source + ":" + name + ".npy"
	}
	return filepath.Join(b.Source, filepath.FromSlash(name)+".npy")
}

// errAt is ferr for sequence s, adding the JSONL line when the bundle came from one.
func (b *Bundle) errAt(name string, index, s int, format string, a ...any) error {
	e := &FormatError{File: b.where(name), Index: index, Sequence: s, Msg: fmt.Sprintf(format, a...)}
	if s >= 0 && s < len(b.lines) {
		e.File = fmt.Sprintf("%s:%d: field %s", b.Source, b.lines[s], jsonlField(name))
		e.Index = -1
	}
	return e
}

// Validate checks that the bundle follows the layout:
//   - every offsets array has N+1 entries, starts at 0, never decreases and ends at its flat array's
//     length, and every flat array comes with its offsets;
//   - per sequence, the counts agree: token_logprobs has T_s - 1 values where token_ids,
//     token_logprobs_bos and cond_token_logprobs have T_s; mu and sigma2 align with token_logprobs;
//   - every sequence has at least one scored token (one token_logprobs value, one non-NaN conditional
//     log-prob, one reference log-prob, one neighbour loss);
//   - every log-probability is finite and ≤ 0 (cond_token_logprobs may be NaN where a window starts);
//   - sigma2 ≥ 0 and finite: a negative variance (float32 round-off in E[l²] − μ²) is reported, not
//     passed to a square root;
//   - labels, zlib_len and texts have N entries, zlib_len > 0, token ids and counts are ≥ 0 and the
//     token ids index freq_counts when both are given.
//
// Errors are *FormatError values naming the file (or JSONL line), the flat index and the sequence.
func (b *Bundle) Validate() error {
	if !b.LogProbs.Present() || b.LogProbs.Values == nil {
		switch {
		case b.LogProbs.Values == nil && b.LogProbs.Offsets == nil:
			return b.errAt("token_logprobs", -1, -1, "missing: every attack needs token_logprobs.npy and lp_offsets.npy")
		case b.LogProbs.Values == nil:
			return b.errAt("token_logprobs", -1, -1, "missing, but lp_offsets.npy is given")
		default:
			return b.errAt("lp_offsets", -1, -1, "missing, but token_logprobs.npy is given")
		}
	}
	n := len(b.LogProbs.Offsets) - 1
	if n < 1 {
		return b.errAt("lp_offsets", -1, -1, "has %d entries, want N+1 ≥ 2", len(b.LogProbs.Offsets))
	}
	if b.Meta.NSequences != 0 && b.Meta.NSequences != n {
		return ferr(b.metaWhere(), -1, -1, "n_sequences is %d but lp_offsets.npy describes %d sequences", b.Meta.NSequences, n)
	}
	checks := []struct {
		flat, off string
		vals      int
		offs      []int64
		present   bool
	}{
		{"token_logprobs", "lp_offsets", len(b.LogProbs.Values), b.LogProbs.Offsets, true},
		{"token_ids", "token_offsets", len(b.Tokens.Values), b.Tokens.Offsets, b.Tokens.Values != nil},
		{"cond_token_logprobs", "cond_lp_offsets", len(b.Cond.Values), b.Cond.Offsets, b.Cond.Values != nil},
		{"neighbor_losses", "neighbor_offsets", len(b.Neighbors.Values), b.Neighbors.Offsets, b.Neighbors.Values != nil},
	}
	for _, r := range b.Refs {
		checks = append(checks, struct {
			flat, off string
			vals      int
			offs      []int64
			present   bool
		}{b.refFile(r.Name, "token_logprobs"), b.refFile(r.Name, "lp_offsets"), len(r.LogProbs.Values), r.LogProbs.Offsets, r.LogProbs.Values != nil})
	}
	for _, sh := range b.Shadows {
		checks = append(checks, struct {
			flat, off string
			vals      int
			offs      []int64
			present   bool
		}{"shadow/" + sh.Name + "/token_logprobs", "shadow/" + sh.Name + "/lp_offsets", len(sh.LogProbs.Values), sh.LogProbs.Offsets, sh.LogProbs.Values != nil})
	}
	for _, c := range checks {
		if c.present != (c.offs != nil) {
			if c.present {
				return b.errAt(c.off, -1, -1, "missing, but %s.npy is given", c.flat)
			}
			return b.errAt(c.flat, -1, -1, "missing, but %s.npy is given", c.off)
		}
		if c.offs == nil {
			continue
		}
		if err := b.checkOffsets(c.off, c.flat, c.offs, c.vals, n); err != nil {
			return err
		}
	}
	if b.Corpus.Values != nil || b.Corpus.Offsets != nil {
		if b.Corpus.Values == nil || b.Corpus.Offsets == nil {
			return b.errAt("corpus_offsets", -1, -1, "corpus_token_ids.npy and corpus_offsets.npy must be given together")
		}
		if err := b.checkOffsets("corpus_offsets", "corpus_token_ids", b.Corpus.Offsets, len(b.Corpus.Values), len(b.Corpus.Offsets)-1); err != nil {
			return err
		}
	}
	if b.Vocab.Values != nil || b.Vocab.Offsets != nil {
		if b.Vocab.Values == nil || b.Vocab.Offsets == nil {
			return b.errAt("vocab_offsets", -1, -1, "vocab_bytes.npy and vocab_offsets.npy must be given together")
		}
		if err := b.checkOffsets("vocab_offsets", "vocab_bytes", b.Vocab.Offsets, len(b.Vocab.Values), len(b.Vocab.Offsets)-1); err != nil {
			return err
		}
		for i, v := range b.Vocab.Values {
			if v < 0 || v > 255 {
				return b.errAt("vocab_bytes", i, -1, "is %d, want a byte 0..255", v)
			}
		}
	}

	// Per-sequence counts.
	for s := range n {
		t := b.LogProbs.Count(s)
		if t < 1 {
			return b.errAt("lp_offsets", -1, s, "no scored token: each sequence needs at least two tokens (one log-probability)")
		}
		if b.Tokens.Offsets != nil && b.Tokens.Count(s) != t+1 {
			return b.errAt("token_offsets", -1, s, "%d token ids but %d log-probabilities: want T_s ids and T_s - 1 log-probabilities", b.Tokens.Count(s), t)
		}
		if b.Cond.Offsets != nil && b.Cond.Count(s) != t+1 {
			return b.errAt("cond_lp_offsets", -1, s, "%d conditional log-probabilities but %d log-probabilities: want T_s and T_s - 1", b.Cond.Count(s), t)
		}
		if b.Neighbors.Offsets != nil && b.Neighbors.Count(s) < 1 {
			return b.errAt("neighbor_offsets", -1, s, "no neighbour loss")
		}
		for _, r := range b.Refs {
			if r.LogProbs.Count(s) < 1 {
				return b.errAt(b.refFile(r.Name, "lp_offsets"), -1, s, "no scored reference token")
			}
		}
		for _, sh := range b.Shadows {
			if sh.LogProbs.Count(s) < 1 {
				return b.errAt("shadow/"+sh.Name+"/lp_offsets", -1, s, "no scored token of the shadow LM")
			}
		}
	}
	if err := b.checkLogProbs("token_logprobs", b.LogProbs, false); err != nil {
		return err
	}
	for _, r := range b.Refs {
		if err := b.checkLogProbs(b.refFile(r.Name, "token_logprobs"), r.LogProbs, false); err != nil {
			return err
		}
	}
	for _, sh := range b.Shadows {
		if err := b.checkLogProbs("shadow/"+sh.Name+"/token_logprobs", sh.LogProbs, false); err != nil {
			return err
		}
		if len(sh.Members) != n {
			return b.errAt("shadow/"+sh.Name+"/members", -1, -1, "has %d values, want N = %d (is each sequence in this model's training set?)", len(sh.Members), n)
		}
	}
	// Before the population's check, which reads the labels.
	if b.Labels != nil && len(b.Labels) != n {
		return b.errAt("labels", -1, -1, "has %d values, want N = %d", len(b.Labels), n)
	}
	if b.Population != nil {
		if len(b.Population) != n {
			return b.errAt("population", -1, -1, "has %d values, want N = %d", len(b.Population), n)
		}
		for s, p := range b.Population {
			if !p {
				continue
			}
			if b.Labels != nil && b.Labels[s] {
				return b.errAt("population", s, s, "marks a member of the target (labels.npy): population sequences must be in no model's training set")
			}
			for _, sh := range b.Shadows {
				if sh.Members[s] {
					return b.errAt("population", s, s, "marks a member of shadow model %s: population sequences must be in no model's training set", sh.Name)
				}
			}
		}
	}
	if b.Cond.Offsets != nil {
		if err := b.checkLogProbs("cond_token_logprobs", b.Cond, true); err != nil {
			return err
		}
	}
	if b.Neighbors.Offsets != nil {
		for i, v := range b.Neighbors.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				return b.errAt("neighbor_losses", i, seqOf(b.Neighbors.Offsets, i), "is %v, want a finite loss ≥ 0 (a mean negative log-probability)", v)
			}
		}
	}

	// Arrays aligned with token_logprobs.
	for _, a := range []struct {
		name string
		v    []float64
	}{{"mu", b.Mu}, {"sigma2", b.Sigma2}} {
		if a.v != nil && len(a.v) != len(b.LogProbs.Values) {
			return b.errAt(a.name, -1, -1, "has %d values, want %d (aligned with token_logprobs.npy)", len(a.v), len(b.LogProbs.Values))
		}
	}
	if (b.Mu == nil) != (b.Sigma2 == nil) {
		return b.errAt("sigma2", -1, -1, "mu.npy and sigma2.npy must be given together")
	}
	for i, v := range b.Mu {
		if math.IsNaN(v) || math.IsInf(v, 0) || v > 0 {
			return b.errAt("mu", i, seqOf(b.LogProbs.Offsets, i), "is %v, want a finite mean log-probability ≤ 0", v)
		}
	}
	for i, v := range b.Sigma2 {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return b.errAt("sigma2", i, seqOf(b.LogProbs.Offsets, i), "is %v, want a finite variance ≥ 0 (a negative value is float32 round-off in E[l²] − μ²: compute it in float64, as examples/llm/export_logprobs.py does)", v)
		}
	}

	// Arrays aligned with token_ids.
	if b.LogProbsBOS != nil {
		if b.Tokens.Offsets == nil {
			return b.errAt("token_logprobs_bos", -1, -1, "given without token_ids.npy and token_offsets.npy, which it is aligned with")
		}
		if len(b.LogProbsBOS) != len(b.Tokens.Values) {
			return b.errAt("token_logprobs_bos", -1, -1, "has %d values, want %d (aligned with token_ids.npy)", len(b.LogProbsBOS), len(b.Tokens.Values))
		}
		for i, v := range b.LogProbsBOS {
			if math.IsNaN(v) || math.IsInf(v, 0) || v > 0 {
				return b.errAt("token_logprobs_bos", i, seqOf(b.Tokens.Offsets, i), "is %v, want a finite log-probability ≤ 0", v)
			}
		}
	}
	for i, v := range b.Tokens.Values {
		if v < 0 {
			return b.errAt("token_ids", i, seqOf(b.Tokens.Offsets, i), "is %d, want a token id ≥ 0", v)
		}
		if b.FreqCounts != nil && v >= int64(len(b.FreqCounts)) {
			return b.errAt("token_ids", i, seqOf(b.Tokens.Offsets, i), "is %d, beyond freq_counts.npy's %d entries", v, len(b.FreqCounts))
		}
		if b.Vocab.Offsets != nil && v >= int64(len(b.Vocab.Offsets)-1) {
			return b.errAt("token_ids", i, seqOf(b.Tokens.Offsets, i), "is %d, beyond vocab_offsets.npy's %d tokens", v, len(b.Vocab.Offsets)-1)
		}
	}
	for i, v := range b.FreqCounts {
		if v < 0 {
			return b.errAt("freq_counts", i, -1, "is %d, want a count ≥ 0", v)
		}
	}
	for i, v := range b.Corpus.Values {
		if v < 0 {
			return b.errAt("corpus_token_ids", i, -1, "is %d, want a token id ≥ 0", v)
		}
	}

	// Per-sequence arrays.
	if b.ZlibLen != nil {
		if len(b.ZlibLen) != n {
			return b.errAt("zlib_len", -1, -1, "has %d values, want N = %d", len(b.ZlibLen), n)
		}
		for s, v := range b.ZlibLen {
			if v <= 0 {
				return b.errAt("zlib_len", s, s, "is %d, want a compressed length > 0", v)
			}
		}
	}
	if b.Texts != nil && len(b.Texts) != n {
		return ferr(b.textsWhere(), -1, -1, "has %d texts, want N = %d", len(b.Texts), n)
	}
	if rc := b.Meta.Recall; rc != nil {
		for _, s := range rc.PrefixSequences {
			if s < 0 || s >= n {
				return ferr(b.metaWhere(), -1, -1, "recall.prefix_sequences holds %d, want a sequence index in [0, %d)", s, n)
			}
		}
	}
	return nil
}

func (b *Bundle) refFile(name, file string) string {
	flat := false
	for _, r := range b.Refs {
		flat = flat || (r.Name == name && r.flat)
	}
	if flat {
		if file == "lp_offsets" {
			return "ref_lp_offsets"
		}
		return "ref_" + file
	}
	return "ref/" + name + "/" + file
}

func (b *Bundle) metaWhere() string {
	if strings.HasSuffix(b.Source, ".npz") {
		return strings.TrimSuffix(b.Source, ".npz") + ".meta.json"
	}
	if strings.HasSuffix(b.Source, ".jsonl") {
		return b.Source + ": meta line"
	}
	return filepath.Join(b.Source, "meta.json")
}

func (b *Bundle) textsWhere() string {
	if strings.HasSuffix(b.Source, ".jsonl") {
		return b.Source + ": field text"
	}
	return filepath.Join(b.Source, "texts.json")
}

// checkOffsets checks an offsets array of n+1 entries against its flat array's length.
func (b *Bundle) checkOffsets(off, flat string, o []int64, vals, n int) error {
	if len(o) != n+1 {
		return b.errAt(off, -1, -1, "has %d entries, want N+1 = %d", len(o), n+1)
	}
	if o[0] != 0 {
		return b.errAt(off, 0, -1, "is %d, want 0", o[0])
	}
	for i := 1; i < len(o); i++ {
		if o[i] < o[i-1] {
			return b.errAt(off, i, i-1, "is %d, below the previous offset %d: offsets must never decrease", o[i], o[i-1])
		}
	}
	if o[n] != int64(vals) {
		return b.errAt(off, n, -1, "is %d, want %s.npy's length %d", o[n], flat, vals)
	}
	return nil
}

// checkLogProbs checks that every value is ≤ 0 and finite (NaN allowed when nanOK), and that each
// sequence has a finite value.
func (b *Bundle) checkLogProbs(name string, r Ragged[float64], nanOK bool) error {
	for s := range len(r.Offsets) - 1 {
		scored := 0
		for j, v := range r.Seq(s) {
			i := int(r.Offsets[s]) + j
			switch {
			case math.IsNaN(v) && nanOK:
				continue
			case math.IsNaN(v), math.IsInf(v, 0), v > 0:
				return b.errAt(name, i, s, "is %v, want a finite log-probability ≤ 0", v)
			}
			scored++
		}
		if scored == 0 {
			return b.errAt(name, -1, s, "no scored token (every value is NaN)")
		}
	}
	return nil
}

// seqOf returns the sequence whose values include flat index i.
func seqOf(off []int64, i int) int {
	lo, hi := 0, len(off)-1
	for lo+1 < hi {
		m := (lo + hi) / 2
		if off[m] <= int64(i) {
			lo = m
		} else {
			hi = m
		}
	}
	return lo
}
