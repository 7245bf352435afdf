package llm

import (
	"math"
)

// DCPDD is DC-PDD (Zhang et al., "Pretraining Data Detection for Large Language Models: A Divergence-based
// Calibration Method", EMNLP 2024): each token's probability calibrated by its frequency in a reference
// corpus, the cross-entropy term p(x_i)·log(1/f(x_i)) clipped at a, averaged over the first occurrence of
// each distinct token:
//
//	α_i = min(p(x_i | EOS, x_<i) · log(1 / f(x_i)), a),   score(x) = mean_{i first occurrences} α_i
//	f(v) = (1 + count(v)) / (Σ_u count(u) + |V|)          (Laplace smoothing)
//
// Members have higher probabilities than their corpus frequency explains. MIMIR returns −score.
//
// pmeter computes f and the logarithm in float64; MIMIR computes both in float32, which Compat reproduces.
// When the bundle carries a corpus (corpus_token_ids) instead of freq_counts, the counts are made here by
// CountTokens: occurrences, as the DC-PDD reference code counts them (Compat: MIMIR's document frequency).
func DCPDD(b *Bundle, p Params) ([]float64, error) {
	counts := b.FreqCounts
	if counts == nil {
		size := 0
		if b.Meta.DCPDD != nil {
			size = b.Meta.DCPDD.VocabSize
		}
		for _, id := range b.Tokens.Values {
			size = max(size, int(id)+1)
		}
		counts = CountTokens(b.Corpus, size, p.Compat)
	}
	logInv := LogInvFrequency(counts, p.Compat)
	out := make([]float64, b.N())
	var alpha []float64
	for s := range out {
		ids := b.Tokens.Seq(s)
		lp := b.LogProbsBOS[b.Tokens.Offsets[s]:b.Tokens.Offsets[s+1]]
		alpha = alpha[:0]
		for i, first := range FirstOccurrence(ids) {
			if !first {
				continue
			}
			a := math.Exp(lp[i]) * logInv[ids[i]]
			if a > p.A {
				a = p.A
			}
			alpha = append(alpha, a)
		}
		out[s] = mean(alpha) // MIMIR returns -np.mean(alpha)
	}
	return out, nil
}

// FirstOccurrence marks the first occurrence of each token id in ids.
func FirstOccurrence(ids []int64) []bool {
	out := make([]bool, len(ids))
	seen := make(map[int64]bool, len(ids))
	for i, id := range ids {
		if !seen[id] {
			seen[id] = true
			out[i] = true
		}
	}
	return out
}

// CountTokens counts each token id of a corpus, in a table of at least size entries (grown to the largest
// id + 1). The default counts every occurrence, as the DC-PDD reference code does; under Compat it counts
// documents containing the token, each document truncated to 1024 tokens, as MIMIR's _fre_dis does (its
// fre_dis[input_ids] += 1 with a list index increments each distinct id once).
func CountTokens(corpus Ragged[int64], size int, c Compat) []int64 {
	for _, id := range corpus.Values {
		size = max(size, int(id)+1)
	}
	counts := make([]int64, size)
	for d := range len(corpus.Offsets) - 1 {
		doc := corpus.Seq(d)
		if !c.mimir() {
			for _, id := range doc {
				counts[id]++
			}
			continue
		}
		if len(doc) > 1024 {
			doc = doc[:1024]
		}
		for i, first := range FirstOccurrence(doc) {
			if first {
				counts[doc[i]]++
			}
		}
	}
	return counts
}

// Frequency returns the Laplace-smoothed token frequencies (1 + count) / (Σ count + |V|). Under Compat it
// is computed in float32 as MIMIR's DC_PDDAttack.__init__ does (float32 sum, float32 division); its
// float32 sum is exact while the counts total less than 2²⁴, and with larger totals torch's summation order
// matters, which this sequential sum does not reproduce.
func Frequency(counts []int64, c Compat) []float64 {
	out := make([]float64, len(counts))
	if c.mimir() {
		var sum float32
		for _, v := range counts {
			sum += float32(v)
		}
		den := sum + float32(len(counts))
		for i, v := range counts {
			out[i] = float64((1 + float32(v)) / den)
		}
		return out
	}
	var sum float64
	for _, v := range counts {
		sum += float64(v)
	}
	den := sum + float64(len(counts))
	for i, v := range counts {
		out[i] = (1 + float64(v)) / den
	}
	return out
}

// LogInvFrequency returns log(1 / f(v)) for each token v. Under Compat, 1/f and the logarithm are
// float32, as MIMIR evaluates np.log(1 / x_fre) on a float32 tensor (numpy's float32 log differs from this
// correctly rounded one by one ulp for a few per cent of inputs, within the vectors' tolerance).
func LogInvFrequency(counts []int64, c Compat) []float64 {
	f := Frequency(counts, c)
	for i, v := range f {
		if c.mimir() {
			f[i] = float64(float32(math.Log(float64(1 / float32(v)))))
		} else {
			f[i] = -math.Log(v)
		}
	}
	return f
}
