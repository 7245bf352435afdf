package accountant

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/pmeter/pmeter/internal/parallel"
)

// A privacy-loss PMF on the grid k·d (k integer), with a separate mass at +∞, as dp_accounting's
// pld_pmf module keeps it: composition is convolution of the masses, with the tails beyond the
// truncation mass cut off pessimistically (the lower tail moved up to the first kept point, the upper tail
// to +∞).

// maxSparseSize is dp_accounting's _MAX_PMF_SPARSE_SIZE: a PMF with at most this many points is a
// SparsePLDPmf (composed exactly), a larger one a DensePLDPmf (composed by FFT).
const maxSparseSize = 1000

// tailMassTruncation is the mass that each composition may cut off (half per tail), dp_accounting's
// default.
const tailMassTruncation = 1e-15

// maxGridPoints bounds the number of grid points of any PMF, so that a tiny noise multiplier or interval
// fails with an error instead of exhausting memory: 2²⁵ points are 256 MiB per array.
const maxGridPoints = 1 << 25

type pmf struct {
	lower  int       // grid index of probs[0]
	probs  []float64 // masses at (lower+i)·d; may hold round-off below 0 after an FFT
	inf    float64   // mass at +∞
	sparse bool      // dp_accounting's SparsePLDPmf: composed exactly, kept as is when self-composed once
}

func identityPMF() pmf { return pmf{probs: []float64{1}, sparse: true} }

// truncateTails cuts the longest prefix and the longest suffix whose masses are each at most trunc/2. The
// prefix mass is added to the first kept point; the suffix mass is returned, for +∞. It returns the number
// of points cut at the front.
func truncateTails(probs []float64, trunc float64) (offset int, kept []float64, right float64, err error) {
	if trunc == 0 {
		return 0, probs, 0, nil
	}
	prefix := func(next func(int) float64) int {
		s := 0.0
		for i := range probs {
			if s += next(i); s > trunc/2 {
				return i
			}
		}
		return len(probs)
	}
	lo := prefix(func(i int) float64 { return probs[i] })
	hi := len(probs) - prefix(func(i int) float64 { return probs[len(probs)-1-i] })
	hi = max(hi, lo+1)
	if hi > len(probs) {
		return 0, nil, 0, errors.New("privacy-loss distribution holds no mass above the truncation bound")
	}
	left := 0.0
	for _, p := range probs[:lo] {
		left += p
	}
	for _, p := range probs[hi:] {
		right += p
	}
	kept = probs[lo:hi]
	kept[0] += left
	return lo, kept, right, nil
}

// compose returns the PMF of the sum of the losses of a and b (dp_accounting's compose_pmfs): exactly
// when both are sparse and the product of their sizes is at most maxSparseSize, by convolution
// otherwise.
func compose(a, b pmf, trunc float64) (pmf, error) {
	if len(a.probs)+len(b.probs) > maxGridPoints {
		return pmf{}, fmt.Errorf("composed privacy-loss distribution would have %d grid points (limit %d): use a larger discretization interval", len(a.probs)+len(b.probs), maxGridPoints)
	}
	sparse := a.sparse && b.sparse && len(a.probs)*len(b.probs) <= maxSparseSize
	conv := convolve(a.probs, b.probs)
	off, kept, right, err := truncateTails(conv, trunc)
	if err != nil {
		return pmf{}, err
	}
	return pmf{
		lower:  a.lower + b.lower + off,
		probs:  kept,
		inf:    a.inf + b.inf - a.inf*b.inf + right,
		sparse: sparse,
	}, nil
}

// selfCompose returns the n-fold composition of p with itself (dp_accounting's self_compose). A sparse
// PMF composed once is returned unchanged; one whose result could have more than maxSparseSize points is
// made dense. A dense PMF is composed by raising its FFT to the n-th power over the index range that the
// Chernoff bound keeps, which loses at most trunc of mass; that mass is added to +∞.
func selfCompose(ctx context.Context, p pmf, n int, trunc float64) (pmf, error) {
	if n < 1 {
		return pmf{}, fmt.Errorf("self-composition %d times: want at least once", n)
	}
	if p.sparse {
		if n == 1 {
			return p, nil
		}
		size := 1
		for range n {
			if size *= len(p.probs); size > maxSparseSize {
				break
			}
		}
		if size <= maxSparseSize {
			out := p
			for i := 2; i <= n; i++ {
				t := 0.0
				if i == n {
					t = trunc
				}
				var err error
				if out, err = compose(out, p, t); err != nil {
					return pmf{}, err
				}
			}
			return out, nil
		}
	}
	lo, hi, err := selfConvolveBounds(ctx, p.probs, n, trunc)
	if err != nil {
		return pmf{}, err
	}
	outLen := hi - lo + 1
	if outLen < 1 {
		return pmf{}, fmt.Errorf("self-composition %d times: empty index range [%d, %d]", n, lo, hi)
	}
	if outLen > maxGridPoints {
		return pmf{}, fmt.Errorf("%d-fold composed privacy-loss distribution would have %d grid points (limit %d): use a larger discretization interval", n, outLen, maxGridPoints)
	}
	L := fastLen(max(outLen, len(p.probs)))
	circ := selfConvolvePeriodic(p.probs, L, n)
	out := make([]float64, outLen)
	for i := range out {
		out[i] = circ[(i+lo)%L]
	}
	return pmf{
		lower: p.lower*n + lo,
		probs: out,
		inf:   trunc - math.Expm1(float64(n)*math.Log1p(-p.inf)),
	}, nil
}

// selfConvolveBounds returns the index range [lo, hi] of the n-fold self-convolution of p outside which
// the mass is at most trunc, from Chernoff bounds at the orders ±1 … ±20 divided by len(p)
// (dp_accounting's compute_self_convolve_bounds).
func selfConvolveBounds(ctx context.Context, p []float64, n int, trunc float64) (lo, hi int, err error) {
	lo, hi = 0, (len(p)-1)*n
	if trunc == 0 {
		return lo, hi, nil
	}
	var orders, mgf [40]float64
	for i := range orders {
		k := i - 20
		if k >= 0 {
			k++
		}
		orders[i] = float64(k) / float64(len(p))
	}
	if err := parallel.For(ctx, len(orders), 0, func(_ context.Context, i int) error {
		mgf[i] = logMGF(p, orders[i])
		return nil
	}); err != nil {
		return 0, 0, err
	}
	logTwoOverTrunc := math.Log(2 / trunc)
	for i, order := range orders {
		bound := (float64(n)*mgf[i] + logTwoOverTrunc) / order
		if math.IsNaN(bound) || math.IsInf(bound, 0) {
			continue
		}
		if order > 0 {
			if c := math.Ceil(bound); c < float64(hi) {
				hi = int(c)
			}
		} else if f := math.Floor(bound); f > float64(lo) {
			lo = int(f)
		}
	}
	return lo, hi, nil
}

// logMGF is log Σᵢ pᵢ e^{i·t} (scipy's logsumexp with weights; zero weights are left out of the maximum).
// The factors e^{i·t - m} are computed exactly every 256 indices and by repeated multiplication with e^t
// in between, which costs at most 256 ulp of relative error in the sum, far below what moves a bound.
func logMGF(p []float64, t float64) float64 {
	m := math.Inf(-1)
	for i, w := range p {
		if w != 0 {
			m = max(m, float64(i)*t)
		}
	}
	if math.IsInf(m, 0) {
		m = 0
	}
	s, step := 0.0, math.Exp(t)
	var e float64
	for i, w := range p {
		if i%256 == 0 {
			e = math.Exp(float64(i)*t - m)
		} else {
			e *= step
		}
		if w != 0 {
			s += w * e
		}
	}
	return math.Log(s) + m
}

// epsilonForDelta is the smallest ε ≥ 0 whose hockey-stick divergence under p is at most delta
// (dp_accounting's _get_epsilon_for_delta), scanning the losses from the top.
func (p pmf) epsilonForDelta(delta, d float64) float64 {
	if p.inf > delta {
		return math.Inf(1)
	}
	upper, lower := p.inf, 0.0
	// Dense PMFs step the loss down by repeated subtraction, as itertools.count does there.
	loss := float64(p.lower+len(p.probs)-1) * d
	for i := len(p.probs) - 1; i >= 0; i-- {
		if p.sparse {
			loss = float64(p.lower+i) * d
		}
		if upper > delta && lower > 0 && math.Log((upper-delta)/lower) >= loss {
			break
		}
		prob := p.probs[i]
		upper += prob
		lower += math.Exp(-loss) * prob
		if upper >= delta && lower == 0 {
			return max(0, loss)
		}
		loss -= d
	}
	if upper <= lower+delta {
		return 0
	}
	return math.Log((upper - delta) / lower)
}

// deltaForEpsilon is the hockey-stick divergence of p at eps: the mass at +∞ plus
// Σ_{loss > eps} (1 - e^{eps - loss})·p(loss).
func (p pmf) deltaForEpsilon(eps, d float64) float64 {
	s := 0.0
	for i := len(p.probs) - 1; i >= 0; i-- {
		loss := float64(p.lower+i) * d
		if !(loss > eps) {
			break
		}
		s += -math.Expm1(eps-loss) * p.probs[i]
	}
	return p.inf + s
}

// deltaCurve is deltaForEpsilon at each of eps (finite, any order) in one pass down the grid. With the
// ε in descending order ε₁ > ε₂ > …, and over the losses above ε_j,
//
//	D_j = Σ p·(1 − e^{ε_j − loss}),   T_j = Σ p·e^{ε_j − loss},
//
// a step down by Δ = ε_{j+1} − ε_j ≤ 0 gives D_{j+1} = D_j − expm1(Δ)·T_j and T_{j+1} = e^Δ·T_j, plus
// the terms of the losses in (ε_{j+1}, ε_j]. Every term is non-negative (up to the FFT's round-off in
// the masses) and at most the mass, so nothing cancels and nothing overflows: each D is the sum that
// deltaForEpsilon forms, to a few ulp per term. The result is the mass at +∞ plus D.
func (p pmf) deltaCurve(eps []float64, d float64) []float64 {
	order := make([]int, len(eps))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int { return cmp.Compare(eps[y], eps[x]) }) // descending
	out := make([]float64, len(eps))
	var sumD, sumT float64
	i := len(p.probs) - 1
	for j, k := range order {
		e := eps[k]
		if j > 0 {
			em := math.Expm1(e - eps[order[j-1]])
			sumD -= em * sumT
			sumT += em * sumT
		}
		for ; i >= 0; i-- {
			loss := float64(p.lower+i) * d
			if !(loss > e) {
				break
			}
			em := math.Expm1(e - loss)
			sumD -= em * p.probs[i]
			sumT += (1 + em) * p.probs[i]
		}
		out[k] = p.inf + sumD
	}
	return out
}
