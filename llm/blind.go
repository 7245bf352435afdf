package llm

import (
	"context"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"
)

// BlindFolds is the number of cross-fitting folds of the unigram blind baseline.
const BlindFolds = 5

// Blind computes the model-free baselines (Das, Zhang & Tramèr, "Blind Baselines Beat Membership
// Inference Attacks for Foundation Models", 2024), which never look at the model:
//
//   - "blind-length": the number of tokens (longer = member);
//   - "blind-unigram": a multinomial naive Bayes classifier on the text's tokens (token_ids, or the
//     texts' whitespace-separated words), cross-fitted: the sequences are split into BlindFolds folds
//     (seeded, stratified by label), and each fold is scored by the classifier trained on the others, as
//     the mean over its tokens of log(p_member(v) / p_nonmember(v)) with add-one smoothing.
//
// The main threat to an LLM membership result is a distribution shift between the member and non-member
// texts (other dates, sources or lengths): an attack that separates them no better than these baselines
// shows the shift, not the model's memory. Under labels independent of the texts each baseline's AUC is
// 0.5 up to sampling noise (length's AUC far below 0.5 is a shift too). It needs labels.
func Blind(ctx context.Context, b *Bundle, opt EvalOptions) ([]Result, error) {
	if b.Labels == nil {
		return nil, ErrNoLabels
	}
	n := b.N()
	length := make([]float64, n)
	for s := range length {
		length[s] = float64(b.LogProbs.Count(s) + 1)
	}
	var out []Result
	r := Result{Attack: "blind-length", Paper: "Das et al. 2024", Blind: true, Scores: length}
	if err := r.evaluate(ctx, b.Labels, opt); err != nil {
		return nil, err
	}
	out = append(out, r)
	if toks := blindTokens(b); toks != nil {
		r := Result{Attack: "blind-unigram", Paper: "Das et al. 2024", Blind: true, Scores: unigramScores(toks, b.Labels, opt.Seed)}
		if err := r.evaluate(ctx, b.Labels, opt); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// blindTokens returns each sequence's tokens: token ids, else hashed words of the texts, else nil.
func blindTokens(b *Bundle) [][]int64 {
	out := make([][]int64, b.N())
	switch {
	case b.Tokens.Present():
		for s := range out {
			out[s] = b.Tokens.Seq(s)
		}
	case b.Texts != nil:
		for s, t := range b.Texts {
			for _, w := range strings.Fields(t) {
				h := fnv.New64a()
				h.Write([]byte(w))
				out[s] = append(out[s], int64(h.Sum64()>>1))
			}
		}
	default:
		return nil
	}
	return out
}

// unigramScores is the cross-fitted naive Bayes score of each sequence.
func unigramScores(toks [][]int64, labels []bool, seed uint64) []float64 {
	n := len(toks)
	fold := make([]int, n)
	rng := rand.New(rand.NewPCG(seed, 0x626c696e64))
	for _, want := range []bool{true, false} {
		var idx []int
		for i, l := range labels {
			if l == want {
				idx = append(idx, i)
			}
		}
		rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		for k, i := range idx {
			fold[i] = k % BlindFolds
		}
	}
	out := make([]float64, n)
	for f := range BlindFolds {
		cnt := [2]map[int64]float64{{}, {}}
		var tot [2]float64
		vocab := map[int64]bool{}
		for i, t := range toks {
			if fold[i] == f {
				continue
			}
			c := 0
			if labels[i] {
				c = 1
			}
			for _, v := range t {
				cnt[c][v]++
				tot[c]++
				vocab[v] = true
			}
		}
		V := float64(len(vocab) + 1)
		for i, t := range toks {
			if fold[i] != f {
				continue
			}
			sum := 0.0
			for _, v := range t {
				sum += math.Log((cnt[1][v]+1)/(tot[1]+V)) - math.Log((cnt[0][v]+1)/(tot[0]+V))
			}
			if len(t) > 0 {
				out[i] = sum / float64(len(t))
			}
		}
	}
	return out
}
