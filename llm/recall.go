package llm

import (
	"fmt"
	"math"
)

// ReCaLL is ReCaLL (Xie et al., "ReCaLL: Membership Inference via Relative Conditional Log-Likelihoods",
// EMNLP 2024): the ratio of a text's log-likelihood conditioned on a prefix of non-member texts to its
// unconditional log-likelihood,
//
//	score(x) = LL(x | P) / LL(x) = L(x | P) / L(x)
//
// with L the average negative log-likelihood. Conditioning on non-members costs a member more likelihood
// than a non-member, so members score higher. MIMIR's score is −L(x | P) / L(x) (lower = member).
//
// L(x | P) is the mean of −cond_token_logprobs over the text's scored tokens (NaN marks an unscored one).
// Two MIMIR quirks are fixed (Compat keeps both, see recallMimir):
//   - windows: when prefix + text exceeds the model's context, MIMIR cuts the concatenation into windows
//     without context, counts each later window's first token, which no window predicts, in its
//     denominator, and skips a one-token window; pmeter averages over the tokens actually scored.
//   - prefix: MIMIR builds the prefix from the first num_shots non-member records and still scores them,
//     conditioned on themselves; pmeter leaves the sequences listed in meta.json's
//     recall.prefix_sequences out (NaN score, dropped from the metrics).
func ReCaLL(b *Bundle, p Params) ([]float64, error) {
	l := nll(b.LogProbs)
	out := make([]float64, len(l))
	if p.Compat.mimir() {
		rc := b.Meta.Recall
		if rc == nil || rc.MaxLength < 1 || rc.PrefixLen < 0 {
			return nil, fmt.Errorf("compat=%s needs meta.json's recall block with prefix_len and max_length (MIMIR's windows depend on them)", p.Compat)
		}
		for s := range out {
			out[s] = -(recallMimir(b.Cond.Seq(s), rc.PrefixLen, rc.MaxLength).ll / l[s])
		}
		return out, nil
	}
	skip := map[int]bool{}
	if rc := b.Meta.Recall; rc != nil {
		for _, s := range rc.PrefixSequences {
			skip[s] = true
		}
	}
	for s := range out {
		if skip[s] {
			out[s] = math.NaN()
			continue
		}
		sum, n := 0.0, 0
		for _, v := range b.Cond.Seq(s) {
			if !math.IsNaN(v) {
				sum -= v
				n++
			}
		}
		out[s] = (sum / float64(n)) / l[s]
	}
	return out, nil
}

// recallResult is get_conditional_ll's result for one text.
type recallResult struct {
	ll          float64 // −(total_loss / total_tokens)
	totalTokens int64
}

// recallMimir reproduces MIMIR's ReCaLLAttack.get_conditional_ll on the concatenation prefix + text of
// length L = prefixLen + T, given the text's conditional log-probabilities cond (T values, as the windowed
// forward passes give them): windows [i, min(i + maxLength, L)) for i = 0, maxLength, …; positions before
// the text are masked; a window's loss is the mean of −cond over its unmasked positions p > i (the
// transformers causal-LM loss cannot score a window's first position); a window with no unmasked position
// is skipped, and one whose loss is NaN (0/0: only its first position unmasked) is skipped and not
// counted; otherwise total_loss += loss_w · n_w and total_tokens += n_w, n_w counting the unscored first
// position too.
func recallMimir(cond []float64, prefixLen, maxLength int) recallResult {
	L := prefixLen + len(cond)
	totalLoss, totalTokens := 0.0, int64(0)
	for i := 0; i < L; i += maxLength {
		end := min(i+maxLength, L)
		nw := 0
		sum, scored := 0.0, 0
		for p := i; p < end; p++ {
			if p < prefixLen {
				continue
			}
			nw++
			if p > i {
				sum += -cond[p-prefixLen]
				scored++
			}
		}
		if nw == 0 {
			continue
		}
		lossW := sum / float64(scored)
		if math.IsNaN(lossW) {
			continue
		}
		totalLoss += lossW * float64(nw)
		totalTokens += int64(nw)
	}
	return recallResult{ll: -(totalLoss / float64(totalTokens)), totalTokens: totalTokens}
}
