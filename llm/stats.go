package llm

import "math"

// TokenStats computes, from one row of next-token logits, what the layout stores for a predicted
// position: the log-probability of the next token, and the mean μ and variance σ² of the log-probability
// under the full next-token distribution (Min-K%++'s stage one, as MIMIR computes it):
//
//	l = log_softmax(row),  lp = l[next],  μ = Σ_v e^{l_v} l_v,  σ² = Σ_v e^{l_v} l_v² − μ²
//
// in float64, over every column of the row (padding columns included, as MIMIR does).
func TokenStats(row []float64, next int) (lp, mu, sigma2 float64) {
	m := math.Inf(-1)
	for _, v := range row {
		m = max(m, v)
	}
	var z float64
	for _, v := range row {
		z += math.Exp(v - m)
	}
	lz := math.Log(z)
	var e2 float64
	for _, v := range row {
		l := v - m - lz
		p := math.Exp(l)
		mu += p * l
		e2 += p * l * l
	}
	return row[next] - m - lz, mu, e2 - mu*mu
}
