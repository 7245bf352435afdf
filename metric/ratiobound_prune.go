package metric

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mathext"
)

// This file finds the largest of many Clopper–Pearson ratio bounds without computing them all. Most of
// the cost of EpsilonLowerBound is the Clopper–Pearson limits: each is a root of the incomplete beta
// function, found by several evaluations of it (tens of microseconds). EpsilonLowerBoundMax and
// MaxLogRatioBound compute the limits only at the few points that can give the maximum, and prove for the
// others, from cheaper facts, that their bound is smaller. The result is bit for bit the maximum over all
// points.
//
// Each ratio of EpsilonLowerBound (TPR/FPR, TNR/FNR, FPR/TPR, FNR/TNR) is RatioBound(a, b, A, B): the
// rate a/A over the rate b/B, with Clopper–Pearson bound R = lo(a, A) / hi(b, B), where lo and hi are the
// limits of ClopperPearson at level 1-alpha, alpha < 1/2 (R = 0, which is left out, when a == 0 or
// b == B). The argument is the same for the four. Let best be the computed bound with the largest computed
// logarithm so far, and T = best (1 - pruneMargin). A point is skipped when one of these facts shows that
// its exact bound is below T:
//
//  1. Its empirical ratio r = (a/A) / (b/B) is below T, as lo(a, A) < a/A and hi(b, B) > b/B, so R < r:
//     with p = a/A the binomial Bin(A, p) has mean and median a, so P[Bin(A, p) >= a] >= 1/2 > alpha/2,
//     and lo, where this increasing function of p falls to alpha/2, is below p ((alpha/2)^(1/A) < 1 when
//     a == A). Likewise P[Bin(B, b/B) <= b] >= 1/2 gives hi > b/B.
//  2. There are x1 and x2 with x1/x2 = T, lo(a, A) < x1 and hi(b, B) > x2. As lo is where
//     P[Bin(A, x) >= a] = I_x(a, A-a+1) rises to alpha/2, lo < x1 when that tail exceeds alpha/2 at x1, and
//     hi > x2 when P[Bin(B, x2) <= b] = 1 - I_x2(b+1, B-b) exceeds alpha/2. Each tail is bounded from
//     below by the normal approximation less its Berry–Esseen error bound, and when that does not suffice
//     it is computed from the continued fraction; in both cases it must exceed alpha/2 by the relative
//     margin tailMargin, far above their rounding errors. x1 and x2 split the gap between approximate
//     limits (Wilson's interval with continuity correction), or take the computed limit itself when it is
//     already known.
//
// These hold for the exact limits. The computed limits are within 1e-13 relative of them (ClopperPearson),
// so assuming merely 1e-8, a skipped point's computed bound is below T (1 + 1e-7) < best (1 - 8e-7), and
// with math.Log in error by less than an ulp (<= 1.2e-13 for any float64), its computed logarithm is below
// that of best. So the largest computed logarithm, which EpsilonLowerBound returns first, is that of one of
// the points evaluated. The points are visited in any order; the exact bounds of the seedPoints points
// with the largest approximate bounds are computed first, so that best is close to its final value from
// the start. Nearly every point is then skipped by fact 1 or by the normal approximation in fact 2.
//
// The other methods are closed forms, under a microsecond per point, and are evaluated at every point.

const (
	// pruneMargin is the relative margin by which a skipped point's bound must be shown to fall below the
	// best bound.
	pruneMargin = 1e-6
	// tailMargin is the relative margin by which a computed beta tail must exceed alpha/2 to place a
	// Clopper–Pearson limit; the tails are accurate to about 1e-13 relative.
	tailMargin = 1e-6
	// seedPoints is the number of points with the largest approximate bounds whose exact bounds are
	// computed first, so that the best bound is close to its final value from the start.
	seedPoints = 8
)

// EpsilonLowerBoundMax returns the largest of the bounds that EpsilonLowerBound returns (its first
// element, the audit's epsilon lower bound), bit for bit, and ok false when EpsilonLowerBound returns none.
// With the Clopper–Pearson method it computes the Clopper–Pearson limits only at the few thresholds that
// can give the largest bound (see the comment at the top of this file): about 2 ms for 10,000 scores and
// 30 ms for 100,000, mostly sorting, against 0.25 s and 1.5 s for EpsilonLowerBound.
//
// It returns the errors of EpsilonLowerBound.
func EpsilonLowerBoundMax(pos, neg []float64, alpha float64, twoSided bool, thresholds []float64, method BoundMethod) (eps float64, ok bool, err error) {
	tps, fps, P, N, err := thresholdCounts(pos, neg, alpha, thresholds)
	if err != nil {
		return 0, false, err
	}
	eps, ok = maxLogRatio(func(f func(a, b, A, B int)) {
		for k := range tps {
			forEachRatio(tps[k], fps[k], P, N, twoSided, f)
		}
	}, alpha, method)
	return eps, ok, nil
}

// MaxLogRatioBound returns the largest ln RatioBound(a[k], b[k], A, B, alpha, method) over k among the
// positive bounds, bit for bit, and ok false when no bound is positive. Like EpsilonLowerBoundMax it
// computes few Clopper–Pearson limits. Points where RatioBound is NaN (a count out of range) are left out,
// and there is none when alpha is not in (0, 0.5) or A or B is not positive.
//
// Preconditions: len(a) == len(b), or MaxLogRatioBound panics.
func MaxLogRatioBound(a, b []int, A, B int, alpha float64, method BoundMethod) (eps float64, ok bool) {
	if len(a) != len(b) {
		panic(fmt.Sprintf("metric: MaxLogRatioBound: %d numerator counts, %d denominator counts", len(a), len(b)))
	}
	if !(alpha > 0 && alpha < 0.5) || A <= 0 || B <= 0 {
		return 0, false
	}
	return maxLogRatio(func(f func(a, b, A, B int)) {
		for k := range a {
			f(a[k], b[k], A, B)
		}
	}, alpha, method)
}

// maxLogRatio returns the largest ln RatioBound(a, b, A, B, alpha, method) among the positive bounds of
// the points that each passes to its argument, and false when there is none. each must give the same points
// each time it is called. 0 < alpha < 0.5.
func maxLogRatio(each func(f func(a, b, A, B int)), alpha float64, method BoundMethod) (float64, bool) {
	if method != ClopperPearsonBound {
		m := maxLog{v: math.Inf(-1)}
		each(func(a, b, A, B int) { m.add(RatioBound(a, b, A, B, alpha, method)) })
		return m.result()
	}
	s := cpSearch{cpCache: newCPCache(alpha), z: mathext.NormalQuantile(1 - alpha/2), best: maxLog{v: math.Inf(-1)}}

	// Seed the best bound with the exact bounds of the points whose approximate bounds are largest.
	var seeds [seedPoints]struct {
		est        float64
		a, b, A, B int
	}
	n := 0
	each(func(a, b, A, B int) {
		if !countsValid(a, b, A, B) {
			return
		}
		est := s.approxLower(a, A) / s.approxUpper(b, B)
		if n == len(seeds) && !(est > seeds[n-1].est) {
			return
		}
		if n < len(seeds) {
			n++
		}
		i := n - 1
		for ; i > 0 && est > seeds[i-1].est; i-- {
			seeds[i] = seeds[i-1]
		}
		seeds[i].est, seeds[i].a, seeds[i].b, seeds[i].A, seeds[i].B = est, a, b, A, B
	})
	for _, p := range seeds[:n] {
		s.evaluate(p.a, p.b, p.A, p.B)
	}

	each(func(a, b, A, B int) {
		if countsValid(a, b, A, B) && !s.below(a, b, A, B) {
			s.evaluate(a, b, A, B)
		}
	})
	return s.best.result()
}

// countsValid reports whether the point can have a positive Clopper–Pearson bound: the counts are in
// range (RatioBound is NaN otherwise), a > 0 (lo = 0) and b < B (hi = 1).
func countsValid(a, b, A, B int) bool {
	return a > 0 && a <= A && b >= 0 && b < B
}

// maxLog accumulates the largest logarithm of positive values.
type maxLog struct {
	v     float64 // the largest ln of a positive value added, -Inf before any
	bound float64 // the value whose logarithm is v
	ok    bool
}

// add adds b when it is positive.
func (m *maxLog) add(b float64) {
	if !(b > 0) {
		return
	}
	if l := math.Log(b); !m.ok || l > m.v {
		m.v, m.bound = l, b
	}
	m.ok = true
}

// result returns the largest logarithm and true, or 0 and false when no value was positive.
func (m *maxLog) result() (float64, bool) {
	if !m.ok {
		return 0, false
	}
	return m.v, true
}

// cpSearch holds the state of the search for the largest Clopper–Pearson bound.
type cpSearch struct {
	*cpCache
	z    float64 // Φ⁻¹(1 - alpha/2), for the approximate limits
	best maxLog  // over the points evaluated so far
}

// evaluate adds the point's exact bound.
func (s *cpSearch) evaluate(a, b, A, B int) {
	s.best.add(s.ratio(a, b, A, B))
}

// below reports whether the point's computed bound is proved to be below the best bound by the relative
// margin pruneMargin/2 (see the comment at the top of the file). a > 0 and b < B.
func (s *cpSearch) below(a, b, A, B int) bool {
	if !s.best.ok {
		return false
	}
	t := s.best.bound * (1 - pruneMargin)
	if r := (float64(a) / float64(A)) / (float64(b) / float64(B)); r < t {
		return true
	}
	lo, loKnown := s.lo[cpKey{a, A}]
	hi, hiKnown := s.hi[cpKey{b, B}]
	var x1, x2 float64
	switch {
	case loKnown && hiKnown:
		return false // evaluating it costs nothing
	case loKnown:
		x1, x2 = lo, lo/t
	case hiKnown:
		x1, x2 = hi*t, hi
	default:
		l, h := s.approxLower(a, A), s.approxUpper(b, B)
		if !(l < t*h) {
			return false // probably not below
		}
		x1 = math.Sqrt(l * t * h)
		if !(x1 > 0) {
			x1 = t * h / 2
		}
		x2 = x1 / t
	}
	return (loKnown || s.lowerBelow(a, A, x1)) && (hiKnown || s.upperAbove(b, B, x2))
}

// lowerBelow reports whether P[Bin(n, x) >= k] = I_x(k, n-k+1) > alpha/2 is certain, which means that
// the lower limit lo(k, n) is below x. 0 < k <= n.
func (s *cpSearch) lowerBelow(k, n int, x float64) bool {
	switch {
	case x >= 1:
		return true // lo <= (alpha/2)^(1/n) < 1
	case !(x > 0):
		return false
	}
	need := s.alpha / 2 * (1 + tailMargin)
	x, y := exactComplement(x, false)
	// P[Bin(n, x) >= k] = 1 - P[Bin(n, x) <= k-1] >= Φc((k-1 - n x)/σ) - be.
	if z, be := normalApprox(k-1, n, x, y); 0.5*math.Erfc(z/math.Sqrt2)-be > need {
		return true
	}
	lower, _ := betaTails(float64(k), float64(n-k+1), x, y)
	return lower > need
}

// upperAbove reports whether P[Bin(n, x) <= k] = 1 - I_x(k+1, n-k) > alpha/2 is certain, which means
// that the upper limit hi(k, n) is above x. 0 <= k < n.
func (s *cpSearch) upperAbove(k, n int, x float64) bool {
	switch {
	case !(x > 0):
		return true // hi >= 1 - (alpha/2)^(1/n) > 0
	case x >= 1:
		return false
	}
	need := s.alpha / 2 * (1 + tailMargin)
	x, y := exactComplement(x, true)
	// P[Bin(n, x) <= k] >= Φ((k - n x)/σ) - be.
	if z, be := normalApprox(k, n, x, y); 0.5*math.Erfc(-z/math.Sqrt2)-be > need {
		return true
	}
	_, upper := betaTails(float64(k+1), float64(n-k), x, y)
	return upper > need
}

// normalApprox returns the standardized count z = (k - n p)/σ of Bin(n, p), σ = sqrt(n p q) with
// q = 1 - p, and the Berry–Esseen bound be >= |P[Bin(n, p) <= s] - Φ((s - n p)/σ)| for all s:
// C ρ / (σ1³ √n) = C (p² + q²) / σ, where ρ = p q (p² + q²) and σ1² = p q are the third absolute and the
// second central moment of a Bernoulli(p) term, and C = 0.4748 (Shevtsova, "On the absolute constants in
// the Berry–Esseen type inequalities for identically distributed summands", 2011).
func normalApprox(k, n int, p, q float64) (z, be float64) {
	const c = 0.4748
	N := float64(n)
	sigma := math.Sqrt(N * p * q)
	return (float64(k) - N*p) / sigma, c * (p*p + q*q) / sigma
}

// exactComplement returns x' and y = 1 - x' exactly, with x' = x or a float64 next to it on the side that
// up says (x' >= x when up is set, else x' <= x), so that a tail evaluated from x' and y is evaluated at
// one point, whichever of the two it is computed from. 0 < x < 1.
func exactComplement(x float64, up bool) (float64, float64) {
	if x >= 0.5 {
		return x, 1 - x // exact (Sterbenz)
	}
	y := 1 - x // in [0.5, 1], so 1 - y is exact
	switch {
	case up && 1-y < x:
		y = math.Nextafter(y, 0)
	case !up && 1-y > x:
		y = math.Nextafter(y, 1)
	}
	return 1 - y, y
}

// betaTails returns I_x(a, b) and 1 - I_x(a, b), for a, b > 0, 0 < x < 1 and y = 1 - x exactly, from the
// continued fraction on the side where it converges: the tail that it gives keeps its relative accuracy,
// and the other, 1 minus it, is then at least about 0.2. Unlike incBeta it never sums the binomial series,
// which costs as many terms as the counts in some regions, as this accuracy is more than enough here.
func betaTails(a, b, x, y float64) (lower, upper float64) {
	if x < (a+1)/(a+b+2) {
		lower = math.Exp(logBetaPrefactor(a, b, x, y)) * betaCF(a, b, x) / a
		return lower, 1 - lower
	}
	upper = math.Exp(logBetaPrefactor(b, a, y, x)) * betaCF(b, a, y) / b
	return 1 - upper, upper
}

// approxLower returns an approximation of the Clopper–Pearson lower limit lo(k, n): Wilson's score
// interval with continuity correction (Newcombe 1998, method 4). It only guides the search.
func (s *cpSearch) approxLower(k, n int) float64 {
	if k == 0 {
		return 0
	}
	K, N, z := float64(k), float64(n), s.z
	p := K / N
	d := z * math.Sqrt(max(0, z*z-2-1/N+4*p*(N*(1-p)+1)))
	return max(0, (2*K+z*z-1-d)/(2*(N+z*z)))
}

// approxUpper returns an approximation of the Clopper–Pearson upper limit hi(k, n), like approxLower.
func (s *cpSearch) approxUpper(k, n int) float64 {
	if k == n {
		return 1
	}
	K, N, z := float64(k), float64(n), s.z
	p := K / N
	d := z * math.Sqrt(max(0, z*z+2-1/N+4*p*(N*(1-p)-1)))
	return min(1, (2*K+z*z+1+d)/(2*(N+z*z)))
}

// cpKey identifies a Clopper–Pearson limit: k successes in n trials.
type cpKey struct{ k, n int }

// cpCache computes Clopper–Pearson limits at one level, each once.
type cpCache struct {
	alpha  float64
	lo, hi map[cpKey]float64
}

func newCPCache(alpha float64) *cpCache {
	return &cpCache{alpha: alpha, lo: map[cpKey]float64{}, hi: map[cpKey]float64{}}
}

// lower returns the lower limit lo of ClopperPearson(k, n, alpha), 0 <= k <= n, n > 0.
func (c *cpCache) lower(k, n int) float64 {
	if k == 0 {
		return 0
	}
	key := cpKey{k, n}
	v, ok := c.lo[key]
	if !ok {
		v = betaQuantile(float64(k), float64(n-k+1), c.alpha/2)
		c.lo[key] = v
	}
	return v
}

// upper returns the upper limit hi of ClopperPearson(k, n, alpha), 0 <= k <= n, n > 0.
func (c *cpCache) upper(k, n int) float64 {
	if k == n {
		return 1
	}
	key := cpKey{k, n}
	v, ok := c.hi[key]
	if !ok {
		v = betaUpperQuantile(float64(k+1), float64(n-k), c.alpha/2)
		c.hi[key] = v
	}
	return v
}

// ratio returns RatioBound(a, b, A, B, c.alpha, ClopperPearsonBound), bit for bit.
func (c *cpCache) ratio(a, b, A, B int) float64 {
	if a < 0 || a > A || b < 0 || b > B || A <= 0 || B <= 0 {
		return math.NaN()
	}
	p1, p0 := c.lower(a, A), c.upper(b, B)
	if p1 <= 0 || p0 >= 1 {
		return 0
	}
	return p1 / p0
}
