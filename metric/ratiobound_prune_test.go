package metric

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/pmeter/pmeter/internal/vectortest"
)

// bruteBounds is the reference for EpsilonLowerBound and EpsilonLowerBoundMax, written from the definition
// without their code: the counts at each threshold by direct counting (every distinct score with >= when
// thresholds is nil, else > each threshold), RatioBound of every ratio, and the logarithms of the positive
// bounds, largest first.
func bruteBounds(pos, neg []float64, alpha float64, twoSided bool, thresholds []float64, method BoundMethod) []float64 {
	count := func(s []float64, t float64, strict bool) int {
		c := 0
		for _, v := range s {
			if v > t || (!strict && v == t) {
				c++
			}
		}
		return c
	}
	strict := thresholds != nil
	if !strict {
		thresholds = slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(pos), neg...))))
	}
	P, N := len(pos), len(neg)
	var eps []float64
	for _, t := range thresholds {
		tp, fp := count(pos, t, strict), count(neg, t, strict)
		bounds := []float64{RatioBound(tp, fp, P, N, alpha, method), RatioBound(N-fp, P-tp, N, P, alpha, method)}
		if twoSided {
			bounds = append(bounds, RatioBound(fp, tp, N, P, alpha, method), RatioBound(P-tp, N-fp, P, N, alpha, method))
		}
		for _, b := range bounds {
			if b > 0 {
				eps = append(eps, math.Log(b))
			}
		}
	}
	slices.SortFunc(eps, func(a, b float64) int { return cmp.Compare(b, a) })
	return eps
}

// bruteMaxLog is the reference for MaxLogRatioBound: the largest ln RatioBound over the positive bounds.
func bruteMaxLog(a, b []int, A, B int, alpha float64, method BoundMethod) (float64, bool) {
	best, ok := 0.0, false
	for k := range a {
		if r := RatioBound(a[k], b[k], A, B, alpha, method); r > 0 {
			if l := math.Log(r); !ok || l > best {
				best, ok = l, true
			}
		}
	}
	return best, ok
}

// scoreSet is a named generator of member (pos) and non-member (neg) scores.
type scoreSet struct {
	name string
	gen  func(r *rand.Rand, nPos, nNeg int) (pos, neg []float64)
}

func scoreSets() []scoreSet {
	normal := func(mu float64) func(r *rand.Rand, nPos, nNeg int) ([]float64, []float64) {
		return func(r *rand.Rand, nPos, nNeg int) ([]float64, []float64) {
			pos, neg := make([]float64, nPos), make([]float64, nNeg)
			for i := range pos {
				pos[i] = r.NormFloat64() + mu
			}
			for i := range neg {
				neg[i] = r.NormFloat64()
			}
			return pos, neg
		}
	}
	levels := func(k int, mu float64) func(r *rand.Rand, nPos, nNeg int) ([]float64, []float64) {
		return func(r *rand.Rand, nPos, nNeg int) ([]float64, []float64) {
			pos, neg := normal(mu)(r, nPos, nNeg)
			for _, s := range [][]float64{pos, neg} {
				for i := range s {
					s[i] = math.Round(s[i] * float64(k) / 4)
				}
			}
			return pos, neg
		}
	}
	return []scoreSet{
		{"null", normal(0)},
		{"weak", normal(0.3)},
		{"strong", normal(2)},
		{"separated", normal(50)},
		{"reversed", normal(-1)},
		{"ties3", levels(3, 0.5)},
		{"ties20", levels(20, 0.2)},
		{"constant", func(r *rand.Rand, nPos, nNeg int) ([]float64, []float64) {
			return make([]float64, nPos), make([]float64, nNeg)
		}},
	}
}

// TestEpsilonLowerBoundMaxBitwise checks EpsilonLowerBoundMax, and EpsilonLowerBound in full, against the
// brute-force reference, bit for bit, over score shapes with and without ties, sizes from 1 to 1500,
// levels, sidedness, explicit thresholds and every method.
func TestEpsilonLowerBoundMaxBitwise(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	sizes := [][2]int{{1, 1}, {1, 4}, {3, 1}, {2, 2}, {5, 9}, {20, 13}, {60, 60}, {150, 90}}
	alphas := []float64{0.05, 0.01, 0.3, 1e-6, 0.49}
	check := func(t *testing.T, pos, neg []float64, alpha float64, two bool, thr []float64, m BoundMethod, full bool) {
		t.Helper()
		want := bruteBounds(pos, neg, alpha, two, thr, m)
		got, ok, err := EpsilonLowerBoundMax(pos, neg, alpha, two, thr, m)
		if err != nil {
			t.Fatal(err)
		}
		desc := fmt.Sprintf("%v alpha=%v two-sided=%v P=%d N=%d thresholds=%v", m, alpha, two, len(pos), len(neg), thr != nil)
		if ok != (len(want) > 0) || ok && math.Float64bits(got) != math.Float64bits(want[0]) || !ok && got != 0 {
			t.Errorf("%s: EpsilonLowerBoundMax = %v, %v; brute force %v", desc, got, ok, want[:min(1, len(want))])
		}
		if !full {
			return
		}
		all, err := EpsilonLowerBound(pos, neg, alpha, two, thr, m)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(all, want, func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) }) {
			t.Errorf("%s: EpsilonLowerBound differs from brute force", desc)
		}
	}
	for _, set := range scoreSets() {
		t.Run(set.name, func(t *testing.T) {
			for i, size := range sizes {
				pos, neg := set.gen(r, size[0], size[1])
				alpha := alphas[i%len(alphas)]
				var thr []float64
				if i%2 == 1 {
					// Explicit thresholds: repeated, outside the scores, infinite, at scores.
					thr = []float64{math.Inf(-1), -3, 0, 0, 0.5, math.Inf(1), 1e300}
					for range 10 {
						thr = append(thr, r.NormFloat64()*2)
					}
					thr = append(thr, pos[0], neg[len(neg)-1])
				}
				for _, m := range BoundMethods() {
					for _, two := range []bool{false, true} {
						check(t, pos, neg, alpha, two, thr, m, true)
					}
				}
			}
		})
	}
	// Larger inputs, Clopper–Pearson only (the brute force costs ~50 µs a bound).
	for _, set := range scoreSets()[:6] {
		pos, neg := set.gen(r, 700, 800)
		for _, two := range []bool{false, true} {
			check(t, pos, neg, 0.05, two, nil, ClopperPearsonBound, false)
		}
	}
}

// TestMaxLogRatioBoundBitwise checks MaxLogRatioBound against the brute-force maximum, bit for bit, on
// count points from tiny (A, B = 1, 2) to huge (up to 1e12) totals: points along random ROC-like
// staircases, clusters of near-equal ratios (where pruning has the least room), repeated points, and
// out-of-range counts.
func TestMaxLogRatioBoundBitwise(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	totals := [][2]int{{1, 1}, {1, 2}, {2, 7}, {30, 40}, {1000, 3}, {5000, 7000}, {1_000_000, 800_000}, {123_456_789, 987_654_321}, {1e12, 3e11}}
	for _, tot := range totals {
		A, B := tot[0], tot[1]
		for trial := range 4 {
			var a, b []int
			switch trial {
			case 0: // uniform points
				for range 40 {
					a, b = append(a, r.IntN(A+1)), append(b, r.IntN(B+1))
				}
			case 1: // a staircase: both counts non-decreasing
				x, y := 0, 0
				for range 60 {
					x = min(A, x+r.IntN(A/30+2))
					y = min(B, y+r.IntN(B/50+2))
					a, b = append(a, x), append(b, y)
				}
			case 2: // near-equal empirical ratios, with repeats
				for range 40 {
					f := 0.2 + 0.001*r.Float64()
					x := 1 + r.IntN(A)
					y := min(B, int(f*float64(x)*float64(B)/float64(A)))
					a, b = append(a, x, x), append(b, y, y)
				}
			case 3: // small counts and out-of-range ones (NaN bounds, skipped)
				for range 30 {
					a, b = append(a, r.IntN(min(A, 5)+1)), append(b, r.IntN(min(B, 5)+1))
				}
				a, b = append(a, -1, A+1, 1, 0), append(b, 0, 0, B+1, -2)
			}
			for _, m := range BoundMethods() {
				for _, alpha := range []float64{0.05, 0.001} {
					want, wantOK := bruteMaxLog(a, b, A, B, alpha, m)
					got, ok := MaxLogRatioBound(a, b, A, B, alpha, m)
					if ok != wantOK || math.Float64bits(got) != math.Float64bits(want) {
						t.Errorf("A=%d B=%d trial %d %v alpha=%v: got %v, %v; brute force %v, %v", A, B, trial, m, alpha, got, ok, want, wantOK)
					}
				}
			}
		}
	}
	if v, ok := MaxLogRatioBound(nil, nil, 5, 5, 0.05, ClopperPearsonBound); ok || v != 0 {
		t.Errorf("no points: %v, %v", v, ok)
	}
	if _, ok := MaxLogRatioBound([]int{3}, []int{0}, 5, 5, 0.5, ClopperPearsonBound); ok {
		t.Error("alpha 0.5 gave a bound")
	}
	if _, ok := MaxLogRatioBound([]int{3}, []int{0}, 5, 0, 0.05, KatzLog); ok {
		t.Error("B = 0 gave a bound")
	}
	defer func() {
		if recover() == nil {
			t.Error("no panic on lengths 1 and 0")
		}
	}()
	MaxLogRatioBound([]int{1}, nil, 5, 5, 0.05, ClopperPearsonBound)
}

// TestEpsilonLowerBoundMaxVectors checks EpsilonLowerBoundMax on every dp_clopper_pearson* case against TF
// Privacy's EpsilonLowerBound (one- and two-sided; NaN where it returns no bound), and bit for bit against
// EpsilonLowerBound, and on every dp_cp_sweep* case's scores against EpsilonLowerBound at every threshold.
func TestEpsilonLowerBoundMaxVectors(t *testing.T) {
	for _, name := range vectortest.Cases(t, "dp_clopper_pearson") {
		t.Run(name, func(t *testing.T) {
			c := vectortest.Load(t, name)
			alpha := c.Float(t, "alpha")
			counts := c.Ints(t, "counts")
			k := len(counts) / 4
			got := map[bool][]float64{}
			for i := range k {
				tp, fp, tn, fn := int(counts[4*i]), int(counts[4*i+1]), int(counts[4*i+2]), int(counts[4*i+3])
				pos, neg := make([]float64, tp+fn), make([]float64, fp+tn)
				for j := range tp {
					pos[j] = 1
				}
				for j := range fp {
					neg[j] = 1
				}
				for _, two := range []bool{false, true} {
					v, ok, err := EpsilonLowerBoundMax(pos, neg, alpha, two, []float64{0.5}, ClopperPearsonBound)
					if err != nil {
						t.Fatal(err)
					}
					all, err := EpsilonLowerBound(pos, neg, alpha, two, []float64{0.5}, ClopperPearsonBound)
					if err != nil {
						t.Fatal(err)
					}
					if ok != (len(all) > 0) || ok && math.Float64bits(v) != math.Float64bits(all[0]) {
						t.Errorf("row %d two-sided=%v: %v, %v; EpsilonLowerBound %v", i, two, v, ok, all)
					}
					if !ok {
						v = math.NaN()
					}
					got[two] = append(got[two], v)
				}
			}
			c.Check(t, "tfp_eps_lb_clopper_pearson_one_sided", got[false], k)
			c.Check(t, "tfp_eps_lb_clopper_pearson_two_sided", got[true], k)
		})
	}
	for _, name := range vectortest.Cases(t, "dp_cp_sweep") {
		t.Run(name, func(t *testing.T) {
			c := vectortest.Load(t, name)
			pos, neg := c.F64(t, "poison_scores"), c.F64(t, "unpois_scores")
			alpha := c.Float(t, "alpha")
			for _, two := range []bool{false, true} {
				all, err := EpsilonLowerBound(pos, neg, alpha, two, nil, ClopperPearsonBound)
				if err != nil {
					t.Fatal(err)
				}
				v, ok, err := EpsilonLowerBoundMax(pos, neg, alpha, two, nil, ClopperPearsonBound)
				if err != nil {
					t.Fatal(err)
				}
				if !ok || len(all) == 0 || math.Float64bits(v) != math.Float64bits(all[0]) {
					t.Errorf("two-sided=%v: %v, %v; EpsilonLowerBound first %v", two, v, ok, all[:min(1, len(all))])
				}
			}
		})
	}
}

// TestEpsilonLowerBoundMaxErrors checks that EpsilonLowerBoundMax rejects what EpsilonLowerBound rejects.
func TestEpsilonLowerBoundMaxErrors(t *testing.T) {
	pos, neg := []float64{1, 2}, []float64{0}
	for _, c := range []struct {
		pos, neg, thr []float64
		alpha         float64
	}{
		{pos, nil, nil, 0.05},
		{nil, neg, nil, 0.05},
		{pos, neg, nil, 0},
		{pos, neg, nil, 0.5},
		{pos, neg, nil, math.NaN()},
		{[]float64{1, math.NaN()}, neg, nil, 0.05},
		{pos, []float64{math.NaN()}, nil, 0.05},
		{pos, neg, []float64{0, math.NaN()}, 0.05},
	} {
		_, errAll := EpsilonLowerBound(c.pos, c.neg, c.alpha, false, c.thr, ClopperPearsonBound)
		_, ok, err := EpsilonLowerBoundMax(c.pos, c.neg, c.alpha, false, c.thr, ClopperPearsonBound)
		if err == nil || ok || errAll == nil || err.Error() != errAll.Error() {
			t.Errorf("%+v: error %v (ok %v), EpsilonLowerBound's %v", c, err, ok, errAll)
		}
	}
}

// TestCPCacheRatio checks that the cached Clopper–Pearson ratio is RatioBound's, bit for bit.
func TestCPCacheRatio(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, alpha := range []float64{0.05, 0.2, 1e-4} {
		c := newCPCache(alpha)
		for range 150 {
			A, B := 1+r.IntN(3000), 1+r.IntN(40)
			a, b := r.IntN(A+3)-1, r.IntN(B+3)-1
			for range 2 { // the second call reads the cache
				got, want := c.ratio(a, b, A, B), RatioBound(a, b, A, B, alpha, ClopperPearsonBound)
				if math.Float64bits(got) != math.Float64bits(want) {
					t.Fatalf("alpha=%v ratio(%d, %d, %d, %d) = %v, RatioBound %v", alpha, a, b, A, B, got, want)
				}
			}
		}
	}
}

// TestLimitCertificates checks the two tests that place a Clopper–Pearson limit without computing it:
// whenever lowerBelow(k, n, x) holds the computed lower limit is below x, and whenever upperAbove(k, n, x)
// holds the computed upper limit is above x, for x around the limits (both where the normal approximation
// decides and where the continued fraction does); and they hold for most x clearly on their side. It also
// checks betaTails against incBeta.
func TestLimitCertificates(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, alpha := range []float64{0.05, 0.001, 0.4} {
		s := cpSearch{cpCache: newCPCache(alpha)}
		held, clear := 0, 0
		for range 300 {
			n := 1 + int(math.Pow(10, 7*r.Float64()))
			k := r.IntN(n + 1)
			lo, hi := ClopperPearson(k, n, alpha)
			for _, f := range []float64{0.5, 0.9, 0.99, 0.999, 0.99999, 1, 1.00001, 1.001, 1.01, 1.1, 2} {
				if k > 0 {
					x := lo * f
					if ok := s.lowerBelow(k, n, x); ok && !(lo < x) {
						t.Errorf("alpha=%v lowerBelow(%d, %d, %v) but lo = %v", alpha, k, n, x, lo)
					} else if f >= 1.01 && x < 1 {
						clear++
						if ok {
							held++
						}
					}
				}
				if k < n {
					x := hi / f
					if ok := s.upperAbove(k, n, x); ok && !(hi > x) {
						t.Errorf("alpha=%v upperAbove(%d, %d, %v) but hi = %v", alpha, k, n, x, hi)
					} else if f >= 1.01 {
						clear++
						if ok {
							held++
						}
					}
				}
			}
		}
		if held < clear*9/10 {
			t.Errorf("alpha=%v: the tests held for %d of %d points clearly on their side", alpha, held, clear)
		}
	}
	for range 500 {
		a, b := 1+math.Floor(math.Pow(10, 5*r.Float64())), 1+math.Floor(math.Pow(10, 5*r.Float64()))
		x, y := exactComplement(r.Float64(), r.IntN(2) == 0)
		if !(x > 0 && x < 1) {
			continue
		}
		lower, upper := betaTails(a, b, x, y)
		wantLower, wantUpper := incBeta(a, b, x)
		small, want := lower, wantLower
		if upper < lower {
			small, want = upper, wantUpper
		}
		if math.Abs(small-want) > 1e-11*want+1e-300 || math.Abs(lower+upper-1) > 1e-15 {
			t.Errorf("betaTails(%v, %v, %v) = %v, %v; incBeta %v, %v", a, b, x, lower, upper, wantLower, wantUpper)
		}
	}
}

// benchScores returns n scores, about half members: benchData's (members shifted up by 0.25) or, when
// null, without shift (the attack of a model that does not leak, where pruning has the least room).
func benchScores(n int, null bool) (pos, neg []float64) {
	scores, members := benchData(n)
	for i, s := range scores {
		switch {
		case !members[i]:
			neg = append(neg, s)
		case null:
			pos = append(pos, s-0.25)
		default:
			pos = append(pos, s)
		}
	}
	return pos, neg
}

func BenchmarkEpsilonLowerBound(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		for _, null := range []bool{false, true} {
			pos, neg := benchScores(n, null)
			b.Run(fmt.Sprintf("n=%d/null=%v/all", n, null), func(b *testing.B) {
				for b.Loop() {
					if _, err := EpsilonLowerBound(pos, neg, 0.05, false, nil, ClopperPearsonBound); err != nil {
						b.Fatal(err)
					}
				}
			})
			for _, two := range []bool{false, true} {
				b.Run(fmt.Sprintf("n=%d/null=%v/max/two-sided=%v", n, null, two), func(b *testing.B) {
					for b.Loop() {
						if _, _, err := EpsilonLowerBoundMax(pos, neg, 0.05, two, nil, ClopperPearsonBound); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			b.Run(fmt.Sprintf("n=%d/null=%v/max/katz-log", n, null), func(b *testing.B) {
				for b.Loop() {
					if _, _, err := EpsilonLowerBoundMax(pos, neg, 0.05, false, nil, KatzLog); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkEpsilonLowerBoundBrute is the cost before caching and pruning: EpsilonLowerBound as it was,
// with RatioBound at every threshold.
func BenchmarkEpsilonLowerBoundBrute(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		pos, neg := benchScores(n, false)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) { benchBrute(b, pos, neg) })
	}
}

func benchBrute(b *testing.B, pos, neg []float64) {
	for b.Loop() {
		tps, fps, P, N, err := thresholdCounts(pos, neg, 0.05, nil)
		if err != nil {
			b.Fatal(err)
		}
		var eps []float64
		for k := range tps {
			forEachRatio(tps[k], fps[k], P, N, false, func(a, b, A, B int) {
				if r := RatioBound(a, b, A, B, 0.05, ClopperPearsonBound); r > 0 {
					eps = append(eps, math.Log(r))
				}
			})
		}
		slices.Sort(eps)
	}
}
