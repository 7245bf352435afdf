package metric

import (
	"math"
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

// TestUserPValues works the size-calibrated p-values out by hand: P = (1 + #{reference users ≥ s}) /
// (1 + #reference), the reference being the non-member users of the user's size (the user left out),
// widened to the nearest sizes when a size has fewer than minRef + 1 non-member users.
func TestUserPValues(t *testing.T) {
	type want struct {
		p        float64
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
		// single-record users first (5, 5); calibrated, users 3 and 7 tie at 1/3, each the highest of
		// its size.
		name:    "exact sizes",
		scores:  []float64{5, 1, 3, 5, 0.5, 0.2, 0.4, 0.9},
		members: []bool{true, false, false, false, true, false, false, false},
		sizes:   []int{1, 1, 1, 1, 2, 2, 2, 2},
		minRef:  2,
		want: []want{
			{2.0 / 4, 3, 1, 1}, // member 5 against {1, 3, 5}: one ≥ (a tie counts)
			{3.0 / 3, 2, 1, 1}, // non-member 1 against {3, 5}
			{2.0 / 3, 2, 1, 1}, // 3 against {1, 5}
			{1.0 / 3, 2, 1, 1}, // 5 against {1, 3}
			{2.0 / 4, 3, 2, 2}, // member 0.5 against {0.2, 0.4, 0.9}
			{3.0 / 3, 2, 2, 2},
			{2.0 / 3, 2, 2, 2},
			{1.0 / 3, 2, 2, 2},
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
			{3.0 / 3, 2, 1, 1}, // against {2, 3}
			{2.0 / 3, 2, 1, 1}, // against {1, 3}
			{1.0 / 3, 2, 1, 1}, // against {1, 2}
			{1.0 / 4, 3, 1, 2}, // 10 against {1, 2, 3}
			{3.0 / 5, 4, 1, 2}, // member 2.5 against {1, 2, 3, 10}
			{3.0 / 4, 3, 2, 8}, // 20 against {10, 30, 40}
			{4.0 / 5, 4, 2, 8}, // member 15 against {10, 20, 30, 40}
			{2.0 / 3, 2, 4, 8}, // 30 against {20, 40}
			{1.0 / 3, 2, 4, 8}, // 40 against {20, 30}
			{2.0 / 4, 3, 4, 8}, // member 35 against {20, 30, 40}
		},
	}, {
		// One non-member in all: it has no reference (P = 1), the member is compared with it.
		name:    "too few",
		scores:  []float64{7, 3},
		members: []bool{true, false},
		sizes:   []int{3, 1},
		minRef:  MinUserReference,
		want:    []want{{1.0 / 2, 1, 1, 3}, {1, 0, 1, 3}},
	}} {
		got, err := UserPValues(tc.scores, tc.members, tc.sizes, tc.minRef)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for u, w := range tc.want {
			g := got[u]
			if math.Abs(g.P-w.p) > 1e-12 || g.Reference != w.ref || g.MinSize != w.min || g.MaxSize != w.max {
				t.Errorf("%s: user %d: P %.4f against %d users of %d..%d records, want %.4f against %d of %d..%d",
					tc.name, u, g.P, g.Reference, g.MinSize, g.MaxSize, w.p, w.ref, w.min, w.max)
			}
		}
	}
	// P ≤ α is reachable in ⌊α(1 + m)⌋ of the 1 + m ranks: 19 references give 1/20 at 0.05, 18 none.
	for _, tc := range []struct {
		ref         int
		alpha, want float64
	}{{19, 0.05, 0.05}, {18, 0.05, 0}, {39, 0.05, 0.05}, {42, 0.05, 2.0 / 43}, {0, 0.05, 0}, {3, 1, 1}} {
		if got := (UserPValue{Reference: tc.ref}).NullShare(tc.alpha); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("NullShare(%v) with %d references: %v, want %v", tc.alpha, tc.ref, got, tc.want)
		}
	}
	for _, bad := range []struct {
		scores []float64
		sizes  []int
	}{{[]float64{1, 2}, []int{1, 0}}, {[]float64{1, math.NaN()}, []int{1, 1}}, {[]float64{1}, []int{1, 1}}} {
		if _, err := UserPValues(bad.scores, []bool{true, false}[:len(bad.scores)], bad.sizes, 1); err == nil {
			t.Errorf("scores %v, sizes %v accepted", bad.scores, bad.sizes)
		}
	}
}
