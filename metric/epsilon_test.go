package metric

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestHoldoutEpsilonNull checks the false-positive rate of the bound: scores independent of membership
// give a positive bound in at most an α fraction of trials (binomial tail below 0.001 fails).
func TestHoldoutEpsilonNull(t *testing.T) {
	const trials, n, alpha = 400, 400, 0.05
	r := rand.New(rand.NewPCG(1, 2))
	positive := 0
	for k := range trials {
		scores := make([]float64, n)
		members := make([]bool, n)
		for i := range scores {
			scores[i] = math.Round(r.NormFloat64()*4) / 4 // ties, as attacks produce them
			members[i] = r.IntN(2) == 0
		}
		b, err := HoldoutEpsilon(scores, members, EpsilonOptions{Alpha: alpha, Seed: uint64(k)})
		if err != nil {
			t.Fatal(err)
		}
		if b.Value < 0 || math.IsNaN(b.Value) {
			t.Fatalf("trial %d: value %v", k, b.Value)
		}
		if b.Value > 0 {
			positive++
		}
	}
	if p := binomSF(positive-1, trials, alpha); p < 0.001 {
		t.Errorf("%d of %d null trials give a positive bound at α = %v (binomial tail %.2g)", positive, trials, alpha, p)
	}
}

func TestHoldoutEpsilonSeparates(t *testing.T) {
	const n = 2000
	r := rand.New(rand.NewPCG(3, 4))
	scores := make([]float64, n)
	members := make([]bool, n)
	for i := range scores {
		members[i] = i%2 == 0
		scores[i] = r.NormFloat64()
		if members[i] {
			scores[i] += 3
		}
	}
	b, err := HoldoutEpsilon(scores, members, EpsilonOptions{Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	if !(b.Value > 1) || !b.DPBound || b.Method != HoldoutMethod || b.Alpha != 0.05 || b.Delta != DefaultEpsilonDelta {
		t.Errorf("bound %+v: want a DP bound above 1 at α 0.05, δ 1e-5", b)
	}
	if b.EvalMembers+b.EvalNonMembers+b.SelectionRecords != n || b.EvalMembers != n/4 {
		t.Errorf("split %d + %d + %d records", b.SelectionRecords, b.EvalMembers, b.EvalNonMembers)
	}
	// The value is the one of its own counts.
	lo, _ := ClopperPearson(b.TP, b.EvalMembers, 0.05)
	_, hi := ClopperPearson(b.FP, b.EvalNonMembers, 0.05)
	if want := max(0, dpBound(lo, hi, b.Delta)); b.Value != want || b.TPRLower != lo || b.FPRUpper != hi {
		t.Errorf("value %v from TP %d FP %d; want %v", b.Value, b.TP, b.FP, want)
	}
	nd, err := HoldoutEpsilon(scores, members, EpsilonOptions{Seed: 9, NotDP: "pairs design"})
	if err != nil {
		t.Fatal(err)
	}
	if nd.DPBound || nd.Caveat != "pairs design" || nd.Value != b.Value {
		t.Errorf("NotDP: %+v", nd)
	}
}

func TestHoldoutEpsilonErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		scores  []float64
		members []bool
		opt     EpsilonOptions
	}{
		{"lengths", []float64{1, 2}, []bool{true}, EpsilonOptions{}},
		{"nan", []float64{1, math.NaN(), 3, 4}, []bool{true, false, true, false}, EpsilonOptions{}},
		{"one member", []float64{1, 2, 3}, []bool{true, false, false}, EpsilonOptions{}},
		{"alpha", []float64{1, 2, 3, 4}, []bool{true, false, true, false}, EpsilonOptions{Alpha: 1.5}},
		{"delta", []float64{1, 2, 3, 4}, []bool{true, false, true, false}, EpsilonOptions{Delta: -1}},
	} {
		if _, err := HoldoutEpsilon(tc.scores, tc.members, tc.opt); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}
