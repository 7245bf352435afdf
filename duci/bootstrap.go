package duci

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/pmeter/pmeter/internal/parallel"
	"github.com/pmeter/pmeter/metric"
)

// BootstrapOptions configures Bootstrap.
type BootstrapOptions struct {
	Resamples int     // B; 1000 if 0
	Level     float64 // in (0, 1); 0.95 if 0
	Seed      uint64
	// Method is the construction (IntervalConditional if empty).
	Method IntervalMethod
}

// IntervalMethod names a construction of Bootstrap's interval.
type IntervalMethod string

const (
	// IntervalConditional, the default, holds the target's memberships fixed (see Bootstrap).
	IntervalConditional IntervalMethod = "conditional"
	// IntervalConservative is pmeter's first construction, kept for comparison (see Bootstrap): it
	// redraws the target's records, hence how many are members, and adds a reference's whole deviation.
	IntervalConservative IntervalMethod = "conservative"
)

// ParseInterval returns the construction that s names: "conditional" (and "", the default) or
// "conservative"; anything else is an error that lists them.
func ParseInterval(s string) (IntervalMethod, error) {
	switch m := IntervalMethod(s); m {
	case "":
		return IntervalConditional, nil
	case IntervalConditional, IntervalConservative:
		return m, nil
	}
	return "", fmt.Errorf("interval %q: want %s (the default) or %s", s, IntervalConditional, IntervalConservative)
}

// Bootstrap returns a percentile bootstrap confidence interval for the debiased proportion estimate
// (DebiasCrossFit) of target's scores given the reference models' scores and memberships.
//
// The estimate's error is p̂ − p = [p·(TPR_t − TPR) + (1 − p)·(FPR_t − FPR)]/(TPR − FPR), TPR_t and FPR_t
// the target's rates on its own members and non-members of the records, TPR and FPR the references'.
// The target's memberships, hence p, are fixed: the error comes from (1) the references' estimate of the
// rates, (2) the target being one model whose expected rates differ from the references' mean (the model
// effect), and (3) the target's own sampling noise on its round(p·N) members and N − round(p·N)
// non-members. Each resample (IntervalConditional, the default) reproduces the three:
//
//  1. it draws the reference models with replacement and the records with replacement, within the even
//     and within the odd records (the same records for every reference), and cross-fits as
//     DebiasCrossFit does: the threshold of maximal TPR − FPR on the drawn references' even records with
//     their rates on the odd ones, and the other way round;
//  2. with K ≥ 2 references it adds to the rates a model effect drawn from a bivariate Student t with
//     K − 1 degrees of freedom whose scale is the between-model covariance of the rates (modelCov: the
//     K references' sample covariance on the records of the rates' parity, each variance shrunk to its
//     part that is not the references' own sampling noise, max(0, S² − v)); Student's t because that
//     covariance is estimated from K models (a prediction interval for one more model); with one
//     reference it is left out;
//  3. it predicts with the target's own records at the resample's threshold and adds the sampling noise
//     of a model with the resample's rates and round(p̂·N) members: Binomial(round(p̂·N), TPR) +
//     Binomial(N − round(p̂·N), FPR) less its mean, p̂ the clipped estimate (N/2 members if there is
//     none).
//
// The resample's estimate is the mean of the two cross-fitted debiased proportions. The interval runs
// from the (1 − Level)/2 to the (1 + Level)/2 quantile of the B estimates (numpy's linear
// interpolation), clipped to [0, 1].
//
// IntervalConservative is the first construction, kept for comparison: it draws the target's
// predictions on the drawn records and adds the deviation of a reference drawn at random from the mean
// of the K, scaled by √(K/(K−1)), unshrunk. Drawing the target's records redraws how many of them are
// members, a variance of p(1 − p)/N that the estimate does not have (the main cause of its width at
// 0 < p < 1), and the unshrunk deviation counts a reference's sampling noise on top of the target's;
// while models differ little it covers more often than its level says, with intervals up to twice as
// wide as the estimate's spread, and where they differ much its K deviations understate the spread of
// one more model (93.8 to 94.2 % coverage in the text harness with a model effect, see the README).
//
// What it guarantees: the interval covers the target's proportion at about Level when the target's attack
// behaves like a reference model's (the target trained like the references, on a subset of the
// dataset): its coverage and width against the estimate's spread are measured by the validity harness
// (validity.RunUsage, RunLLMUsage) and stated in the README. A resample whose references do not separate
// members from non-members (TPR ≤ FPR) has no estimate; it counts as consistent with every proportion
// (alternately −∞ and +∞), which widens the interval toward [0, 1].
//
// Resample b draws from PCG seeded with (Seed, b), on all cores; the result depends only on the inputs.
func Bootstrap(ctx context.Context, target []float64, refScores [][]float64, refMembers [][]bool, opt BootstrapOptions) (Interval, error) {
	if opt.Resamples == 0 {
		opt.Resamples = 1000
	}
	if opt.Level == 0 {
		opt.Level = 0.95
	}
	if opt.Resamples < 2 || !(opt.Level > 0 && opt.Level < 1) {
		return Interval{}, fmt.Errorf("duci: bootstrap of %d resamples at level %v; want at least 2 resamples and a level in (0, 1)", opt.Resamples, opt.Level)
	}
	n, k := len(target), len(refScores)
	for j := range refScores {
		if len(refScores[j]) != n || len(refMembers[j]) != n {
			return Interval{}, fmt.Errorf("duci: bootstrap: reference %d has %d scores and %d memberships for %d records", j, len(refScores[j]), len(refMembers[j]), n)
		}
	}
	evens, odds := (n+1)/2, n/2
	if odds == 0 {
		return Interval{}, fmt.Errorf("duci: bootstrap of %d record(s); want at least 2", n)
	}
	var one func(w *bootScratch, rng *rand.Rand, b int) float64
	method, err := ParseInterval(string(opt.Method))
	if err != nil {
		return Interval{}, fmt.Errorf("duci: bootstrap: %w", err)
	}
	switch method {
	case IntervalConditional:
		one = newConditional(target, refScores, refMembers).resample
	case IntervalConservative:
		one = func(w *bootScratch, rng *rand.Rand, b int) float64 {
			return resampleConservative(w, rng, b, target, refScores, refMembers)
		}
	}
	est := make([]float64, opt.Resamples)
	err = parallel.ForEach(ctx, opt.Resamples, 0, func() *bootScratch {
		return &bootScratch{recs: make([]int, n), other: make([]int, 0, n), ps: make([]float64, 0, n*k), pm: make([]bool, 0, n*k), u: make([]float64, n)}
	}, func(_ context.Context, w *bootScratch, b int) error {
		rng := rand.New(rand.NewPCG(opt.Seed, uint64(b)))
		// Records are drawn within the even and within the odd ones, which DebiasCrossFit uses in
		// turn to choose the threshold and to measure the rates.
		for i := range w.recs {
			if i%2 == 0 {
				w.recs[i] = 2 * rng.IntN(evens)
			} else {
				w.recs[i] = 2*rng.IntN(odds) + 1
			}
		}
		est[b] = one(w, rng, b)
		return nil
	})
	if err != nil {
		return Interval{}, err
	}
	iv := Interval{Level: opt.Level, Resamples: opt.Resamples, Method: method}
	for _, e := range est {
		if math.IsInf(e, 0) {
			iv.Undefined++
		}
	}
	slices.Sort(est)
	iv.Lo = min(1, max(0, quantile(est, (1-opt.Level)/2)))
	iv.Hi = min(1, max(0, quantile(est, (1+opt.Level)/2)))
	return iv, nil
}

// quantile is numpy.percentile's linear interpolation on the ascending v, an infinite neighbour winning.
func quantile(v []float64, q float64) float64 {
	pos := q * float64(len(v)-1)
	i := int(math.Floor(pos))
	if i >= len(v)-1 {
		return v[len(v)-1]
	}
	a, b, t := v[i], v[i+1], pos-float64(i)
	switch {
	case t == 0:
		return a
	case math.IsInf(a, 0):
		return a
	case math.IsInf(b, 0):
		return b
	}
	return a + (b-a)*t
}

// ratesAt returns the fraction of members and of non-members among the records recs (with their
// multiplicity) scoring ≥ t; 0 for a class with no record.
func ratesAt(scores []float64, members []bool, recs []int, t float64) (tpr, fpr float64) {
	tp, p, fp, n := countsAt(scores, members, recs, t)
	if p > 0 {
		tpr = float64(tp) / float64(p)
	}
	if n > 0 {
		fpr = float64(fp) / float64(n)
	}
	return tpr, fpr
}

// countsAt returns the members scoring ≥ t, the members, the non-members scoring ≥ t and the
// non-members among the records recs (with their multiplicity).
func countsAt(scores []float64, members []bool, recs []int, t float64) (tp, p, fp, n int) {
	for _, i := range recs {
		hit := scores[i] >= t
		if members[i] {
			p++
			if hit {
				tp++
			}
		} else {
			n++
			if hit {
				fp++
			}
		}
	}
	return tp, p, fp, n
}

// bootScratch is one worker's buffers: the drawn records, the records of the other parity, the pooled
// reference scores and memberships, and the uniforms of the target's sampling noise.
type bootScratch struct {
	recs, other []int
	ps          []float64
	pm          []bool
	u           []float64
}

// threshold chooses the threshold of maximal TPR − FPR on the drawn references' scores at the drawn
// records of parity sel, and leaves the drawn records of the other parity in w.other.
func (w *bootScratch) threshold(refs []int, refScores [][]float64, refMembers [][]bool, sel int) float64 {
	n := len(w.recs)
	w.ps, w.pm, w.other = w.ps[:0], w.pm[:0], w.other[:0]
	for q, i := range w.recs {
		if q%2 != sel {
			w.other = append(w.other, i)
		}
	}
	for _, j := range refs {
		for q := sel; q < n; q += 2 {
			i := w.recs[q]
			w.ps = append(w.ps, refScores[j][i])
			w.pm = append(w.pm, refMembers[j][i])
		}
	}
	c := metric.ROC(w.ps, w.pm, true)
	best, bk := math.Inf(-1), 0
	for q := range c.TPR {
		if g := c.TPR[q] - c.FPR[q]; g > best {
			best, bk = g, q
		}
	}
	return c.Thresholds[bk]
}

// conditional is IntervalConditional's resampling of one target.
type conditional struct {
	target     []float64
	refScores  [][]float64
	refMembers [][]bool
	// members is the target's number of members the sampling noise is drawn for: round(p̂·N), p̂ the
	// clipped estimate (N/2 where there is none).
	members int
}

func newConditional(target []float64, refScores [][]float64, refMembers [][]bool) *conditional {
	n := len(target)
	c := &conditional{target: target, refScores: refScores, refMembers: refMembers, members: n / 2}
	if d, err := DebiasCrossFit(target, refScores, refMembers); err == nil {
		c.members = int(math.Round(min(1, max(0, d.Proportion)) * float64(n)))
	}
	return c
}

// resample is one resample of IntervalConditional (see Bootstrap); w.recs holds the drawn records.
func (c *conditional) resample(w *bootScratch, rng *rand.Rand, b int) float64 {
	n, k := len(c.target), len(c.refScores)
	refs := make([]int, k)
	for q := range refs {
		refs[q] = rng.IntN(k)
	}
	// The model effect: a bivariate Student t with K − 1 degrees of freedom, (z1, z2)·√((K−1)/χ²).
	z1, z2, chi := rng.NormFloat64(), rng.NormFloat64(), 0.0
	for range k - 1 {
		x := rng.NormFloat64()
		chi += x * x
	}
	scale := 0.0
	if chi > 0 {
		scale = math.Sqrt(float64(k-1) / chi)
	}
	for j := range w.u {
		w.u[j] = rng.Float64()
	}
	sum := 0.0
	for sel := range 2 {
		thr := w.threshold(refs, c.refScores, c.refMembers, sel)
		var tp, np1, fp, nn int
		for _, j := range refs {
			tp1, p1, fp1, n1 := countsAt(c.refScores[j], c.refMembers[j], w.other, thr)
			tp, np1, fp, nn = tp+tp1, np1+p1, fp+fp1, nn+n1
		}
		if np1 == 0 || nn == 0 {
			return math.Inf(2*(b%2) - 1)
		}
		t0, f0 := float64(tp)/float64(np1), float64(fp)/float64(nn)
		tpr, fpr := t0, f0
		if k > 1 {
			ctt, ctf, cff := c.modelCov(thr, 1-sel)
			// (dt, df) = L·(z1, z2)·scale, L the Cholesky factor of the model covariance.
			l11 := math.Sqrt(ctt)
			l21, l22 := 0.0, math.Sqrt(cff)
			if l11 > 0 {
				l21 = ctf / l11
				l22 = math.Sqrt(max(0, cff-l21*l21))
			}
			tpr += scale * l11 * z1
			fpr += scale * (l21*z1 + l22*z2)
		}
		if !(tpr > fpr) {
			return math.Inf(2*(b%2) - 1)
		}
		// The target's predictions at thr on its own records, plus the sampling noise of a model
		// with the references' rates and c.members members: Binomial(members, t0) + Binomial(N −
		// members, f0) less its mean, drawn from the same uniforms at both thresholds.
		x := 0.0
		for i, s := range c.target {
			if s >= thr {
				x++
			}
			r := f0
			if i < c.members {
				r = t0
			}
			if w.u[i] < r {
				x++
			}
			x -= r
		}
		sum += (x/float64(n) - fpr) / (tpr - fpr)
	}
	return sum / 2
}

// modelCov returns the between-model covariance of the rates (TPR, FPR) at threshold thr, measured on
// the references' records of parity par: the K references' sample covariance with each variance shrunk
// to its part that is not the references' own sampling noise, σ² = max(0, S² − v) (v the mean binomial
// variance r(1 − r)/n, the method-of-moments estimate), and the covariance scaled alike (TPR and FPR
// are measured on disjoint records, so their sampling noise is independent).
func (c *conditional) modelCov(thr float64, par int) (ctt, ctf, cff float64) {
	k := len(c.refScores)
	var t, f [maxDevRefs]float64
	tt, ff := t[:0], f[:0]
	if k > maxDevRefs {
		tt, ff = make([]float64, 0, k), make([]float64, 0, k)
	}
	var mt, mf, nt, nf float64
	for q := range k {
		var tp, p, fp, nn int
		sc, mb := c.refScores[q], c.refMembers[q]
		for i := par; i < len(sc); i += 2 {
			hit := sc[i] >= thr
			if mb[i] {
				p++
				if hit {
					tp++
				}
			} else {
				nn++
				if hit {
					fp++
				}
			}
		}
		var a, z float64
		if p > 0 {
			a = float64(tp) / float64(p)
			nt += a * (1 - a) / float64(p)
		}
		if nn > 0 {
			z = float64(fp) / float64(nn)
			nf += z * (1 - z) / float64(nn)
		}
		tt, ff = append(tt, a), append(ff, z)
		mt, mf = mt+a, mf+z
	}
	kf := float64(k)
	mt, mf, nt, nf = mt/kf, mf/kf, nt/kf, nf/kf
	var st, sf, stf float64
	for q := range k {
		st += (tt[q] - mt) * (tt[q] - mt)
		sf += (ff[q] - mf) * (ff[q] - mf)
		stf += (tt[q] - mt) * (ff[q] - mf)
	}
	st, sf, stf = st/(kf-1), sf/(kf-1), stf/(kf-1)
	lt, lf := shrink(st, nt), shrink(sf, nf)
	return lt * lt * st, lt * lf * stf, lf * lf * sf
}

// maxDevRefs is the number of references deviation handles without allocating.
const maxDevRefs = 16

// shrink is √(max(0, 1 − v/s2)), 0 when s2 is 0.
func shrink(s2, v float64) float64 {
	if !(s2 > 0) || v >= s2 {
		return 0
	}
	return math.Sqrt(1 - v/s2)
}
