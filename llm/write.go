package llm

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pmeter/pmeter/npy"
)

// WriteDir writes the bundle in the directory layout: one .npy file per present array, meta.json (with
// format and n_sequences filled in) and texts.json when there are texts. dir is created; it must not
// exist yet or be empty, so that no file of another export is overwritten. Each file is written
// atomically.
func (b *Bundle) WriteDir(dir string) error {
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("llm: %s exists and is not empty; write the bundle to a new directory", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("llm: %w", err)
	}
	var err error
	f64 := func(name string, v []float64) {
		if err == nil && v != nil {
			err = writeArray(dir, name, npy.NewFloat64(v, len(v)))
		}
	}
	i64 := func(name string, v []int64) {
		if err == nil && v != nil {
			err = writeArray(dir, name, npy.NewInt64(v, len(v)))
		}
	}
	if b.Labels != nil && err == nil {
		err = writeArray(dir, "labels", npy.NewBool(b.Labels, len(b.Labels)))
	}
	f64("token_logprobs", b.LogProbs.Values)
	i64("lp_offsets", b.LogProbs.Offsets)
	f64("mu", b.Mu)
	f64("sigma2", b.Sigma2)
	i64("token_ids", b.Tokens.Values)
	i64("token_offsets", b.Tokens.Offsets)
	f64("token_logprobs_bos", b.LogProbsBOS)
	i64("freq_counts", b.FreqCounts)
	i64("corpus_token_ids", b.Corpus.Values)
	i64("corpus_offsets", b.Corpus.Offsets)
	i64("zlib_len", b.ZlibLen)
	i64("vocab_bytes", b.Vocab.Values)
	i64("vocab_offsets", b.Vocab.Offsets)
	f64("cond_token_logprobs", b.Cond.Values)
	i64("cond_lp_offsets", b.Cond.Offsets)
	f64("neighbor_losses", b.Neighbors.Values)
	i64("neighbor_offsets", b.Neighbors.Offsets)
	meta := b.Meta
	meta.Format, meta.NSequences = Format, b.N()
	meta.ReferenceModels = nil
	for _, r := range b.Refs {
		meta.ReferenceModels = append(meta.ReferenceModels, r.Name)
		if err == nil {
			err = os.MkdirAll(filepath.Join(dir, "ref", r.Name), 0o755)
		}
		f64("ref/"+r.Name+"/token_logprobs", r.LogProbs.Values)
		i64("ref/"+r.Name+"/lp_offsets", r.LogProbs.Offsets)
	}
	if b.Population != nil && err == nil {
		err = writeArray(dir, "population", npy.NewBool(b.Population, len(b.Population)))
	}
	for _, sh := range b.Shadows {
		if err == nil {
			err = os.MkdirAll(filepath.Join(dir, "shadow", sh.Name), 0o755)
		}
		f64("shadow/"+sh.Name+"/token_logprobs", sh.LogProbs.Values)
		i64("shadow/"+sh.Name+"/lp_offsets", sh.LogProbs.Offsets)
		if err == nil {
			err = writeArray(dir, "shadow/"+sh.Name+"/members", npy.NewBool(sh.Members, len(sh.Members)))
		}
	}
	if err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "meta.json"), meta); err != nil {
		return err
	}
	if b.Texts != nil {
		return writeJSON(filepath.Join(dir, "texts.json"), b.Texts)
	}
	return nil
}

func writeArray(dir, name string, a *npy.Array) error {
	if err := npy.WriteFile(filepath.Join(dir, filepath.FromSlash(name)+".npy"), a); err != nil {
		return fmt.Errorf("llm: %w", err)
	}
	return nil
}

func writeJSON(path string, v any) error {
	return npy.WriteAtomic(path, func(w io.Writer) error {
		e := json.NewEncoder(w)
		e.SetIndent("", " ")
		return e.Encode(v)
	})
}
