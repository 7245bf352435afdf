package metric

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestAggregateUsers(t *testing.T) {
	scores := []float64{1, 3, 2, 0.5, math.Log(2)}
	members := []bool{true, true, false, false, true}
	users := []int{0, 0, 1, 1, 2}
	for _, tc := range []struct {
		how  UserAggregate
		want []float64
	}{
		{UserMax, []float64{3, 2, math.Log(2)}},
		{UserMean, []float64{2, 1.25, math.Log(2)}},
		{UserLogSumExp, []float64{math.Log(math.E + math.Exp(3)), math.Log(math.Exp(2) + math.Exp(0.5)), math.Log(2)}},
	} {
		got, mem, err := AggregateUsers(scores, members, users, tc.how)
		if err != nil {
			t.Fatal(err)
		}
		for k := range tc.want {
			if math.Abs(got[k]-tc.want[k]) > 1e-12 {
				t.Errorf("%s: %v, want %v", tc.how, got, tc.want)
				break
			}
		}
		if !mem[0] || mem[1] || !mem[2] {
			t.Errorf("%s: memberships %v", tc.how, mem)
		}
	}
	if _, _, err := AggregateUsers(scores, []bool{true, false, false, false, true}, users, UserMax); err == nil {
		t.Error("a user with members and non-members accepted")
	}
	if _, _, err := AggregateUsers(scores, members, []int{0, 0, 2, 2, 2}, UserMax); err == nil {
		t.Error("a user without records accepted")
	}
}

// TestUserPValues works the size-calibrated p-values out by hand: Hi = (1 + #{reference users ≥ s}) /
// (1 + #reference), Lo = #{reference users > s} / (1 + #reference), and P in [Lo, Hi), the reference
// being the non-member users of the user's size (the user left out), widened to the nearest sizes when
// a size has fewer than minRef + 1 non-member users.
func TestUserPValues(t *testing.T) {
	type want struct {
		lo, hi   float64
		ref      int
		min, max int
	}
	for _, tc := range []struct {
		name    string
		scores  []float64
		members []bool
		sizes   []int
		minRef  int
		want    []want
	}{{
		// Two sizes of three non-members each: every group is the user's own size. Raw scores rank the
		// single-record users first (5, 5); calibrated, users 3 and 7 are both the highest of their
		// size (Hi = 1/3).
		name:    "exact sizes",
		scores:  []float64{5, 1, 3, 5, 0.5, 0.2, 0.4, 0.9},
		members: []bool{true, false, false, false, true, false, false, false},
		sizes:   []int{1, 1, 1, 1, 2, 2, 2, 2},
		minRef:  2,
		want: []want{
			{0, 2.0 / 4, 3, 1, 1},       // member 5 against {1, 3, 5}: one ≥ (the tie), none >
			{2.0 / 3, 3.0 / 3, 2, 1, 1}, // non-member 1 against {3, 5}
			{1.0 / 3, 2.0 / 3, 2, 1, 1}, // 3 against {1, 5}
			{0, 1.0 / 3, 2, 1, 1},       // 5 against {1, 3}
			{1.0 / 4, 2.0 / 4, 3, 2, 2}, // member 0.5 against {0.2, 0.4, 0.9}
			{2.0 / 3, 3.0 / 3, 2, 2, 2},
			{1.0 / 3, 2.0 / 3, 2, 2, 2},
			{0, 1.0 / 3, 2, 2, 2},
		},
	}, {
		// Sizes 1, 2, 4, 8 with 3, 1, 1, 2 non-members and minRef 2 (groups of ≥ 3 non-members): size 2
		// adds size 1 (log 2/1 = log 4/2, the smaller first); size 4 adds 2 (a tie again), then 8
		// (log 8/4 < log 4/1); size 8 adds 4.
		name:    "widened",
		scores:  []float64{1, 2, 3, 10, 2.5, 20, 15, 30, 40, 35},
		members: []bool{false, false, false, false, true, false, true, false, false, true},
		sizes:   []int{1, 1, 1, 2, 2, 4, 4, 8, 8, 8},
		minRef:  2,
		want: []want{
			{2.0 / 3, 3.0 / 3, 2, 1, 1}, // against {2, 3}
			{1.0 / 3, 2.0 / 3, 2, 1, 1}, // against {1, 3}
			{0, 1.0 / 3, 2, 1, 1},       // against {1, 2}
			{0, 1.0 / 4, 3, 1, 2},       // 10 against {1, 2, 3}
			{2.0 / 5, 3.0 / 5, 4, 1, 2}, // member 2.5 against {1, 2, 3, 10}
			{2.0 / 4, 3.0 / 4, 3, 2, 8}, // 20 against {10, 30, 40}
			{3.0 / 5, 4.0 / 5, 4, 2, 8}, // member 15 against {10, 20, 30, 40}
			{1.0 / 3, 2.0 / 3, 2, 4, 8}, // 30 against {20, 40}
			{0, 1.0 / 3, 2, 4, 8},       // 40 against {20, 30}
			{1.0 / 4, 2.0 / 4, 3, 4, 8}, // member 35 against {20, 30, 40}
		},
	}, {
		// One non-member in all: it has no reference (P = 1), the member is compared with it.
		name:    "too few",
		scores:  []float64{7, 3},
		members: []bool{true, false},
		sizes:   []int{3, 1},
		minRef:  MinUserReference,
		want:    []want{{0, 1.0 / 2, 1, 1, 3}, {0, 1, 0, 1, 3}},
	}, {
		// Ties: the member's 1 ties with two references, so P spreads over [0, 3/4); a non-member's 1
		// ties with one other.
		name:    "ties",
		scores:  []float64{1, 1, 1, 0},
		members: []bool{true, false, false, false},
		sizes:   []int{1, 1, 1, 1},
		minRef:  0,
		want:    []want{{0, 3.0 / 4, 3, 1, 1}, {0, 2.0 / 3, 2, 1, 1}, {0, 2.0 / 3, 2, 1, 1}, {2.0 / 3, 1, 2, 1, 1}},
	}} {
		got, err := UserPValues(tc.scores, tc.members, tc.sizes, tc.minRef, 1)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for u, w := range tc.want {
			g := got[u]
			if math.Abs(g.Lo-w.lo) > 1e-12 || math.Abs(g.Hi-w.hi) > 1e-12 || !(g.Lo <= g.P && g.P < g.Hi) ||
				g.Reference != w.ref || g.MinSize != w.min || g.MaxSize != w.max {
				t.Errorf("%s: user %d: P %.4f in [%.4f, %.4f) against %d users of %d..%d records, want [%.4f, %.4f) against %d of %d..%d",
					tc.name, u, g.P, g.Lo, g.Hi, g.Reference, g.MinSize, g.MaxSize, w.lo, w.hi, w.ref, w.min, w.max)
			}
		}
	}
	for _, bad := range []struct {
		scores []float64
		sizes  []int
	}{{[]float64{1, 2}, []int{1, 0}}, {[]float64{1, math.NaN()}, []int{1, 1}}, {[]float64{1}, []int{1, 1}}} {
		if _, err := UserPValues(bad.scores, []bool{true, false}[:len(bad.scores)], bad.sizes, 1, 1); err == nil {
			t.Errorf("scores %v, sizes %v accepted", bad.scores, bad.sizes)
		}
	}
}

// TestUserPValuesNullUniform: on users whose record scores are 0/1 (a label-only attack) with nothing
// leaked, the max aggregate ties massively — six records' max is almost always 1 — yet the randomized P
// is uniform at every size, while the conservative Hi is not (the reason P ranks users). 60 data sets of
// 300 users of 1 to 6 records, P(record score 1) = 0.8, memberships fair coins.
func TestUserPValuesNullUniform(t *testing.T) {
	const sets, users, alpha = 60, 300, 0.2
	r := rand.New(rand.NewPCG(3, 4))
	var below, belowHi, total [6]int
	for set := range sets {
		scores, members, sizes := make([]float64, users), make([]bool, users), make([]int, users)
		for u := range users {
			sizes[u], members[u] = 1+r.IntN(6), r.IntN(2) == 0
			for range sizes[u] {
				if r.Float64() < 0.8 {
					scores[u] = 1
				}
			}
		}
		ps, err := UserPValues(scores, members, sizes, MinUserReference, uint64(set))
		if err != nil {
			t.Fatal(err)
		}
		for u, p := range ps {
			total[sizes[u]-1]++
			if p.P <= alpha {
				below[sizes[u]-1]++
			}
			if p.Hi <= alpha {
				belowHi[sizes[u]-1]++
			}
		}
	}
	for n := range total {
		// Binomial(total, α): 5 standard deviations.
		mean := alpha * float64(total[n])
		sd := math.Sqrt(mean * (1 - alpha))
		if math.Abs(float64(below[n])-mean) > 5*sd {
			t.Errorf("users of %d records: %d of %d at P ≤ %g, want %.0f ± %.0f", n+1, below[n], total[n], alpha, mean, 5*sd)
		}
		if float64(belowHi[n]) > mean+5*sd {
			t.Errorf("users of %d records: %d of %d at Hi ≤ %g; the conservative p-value exceeds its level", n+1, belowHi[n], total[n], alpha)
		}
	}
	if belowHi[5] > total[5]/20 {
		t.Errorf("six-record users: %d of %d at Hi ≤ %g; expected the ties to hold Hi near 1", belowHi[5], total[5], alpha)
	}
}
