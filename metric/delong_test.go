package metric

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAUCLowerBound checks the bound against an independent computation in Python (numpy 1.24.2,
// scipy 1.10.1):
//
//	m = [(i*7) % 3 != 0 for i in range(300)]; s = [((i*37) % 41)/8 + (1.0 if m[i] else 0.0) for i in range(300)]
//	psi = (X[:, None] > Y[None, :]) + 0.5*(X[:, None] == Y[None, :]); auc = psi.mean()
//	se = sqrt(psi.mean(1).var(ddof=1)/P + psi.mean(0).var(ddof=1)/N); se0 = sqrt((P+N+1)/(12*P*N))
//	auc - norm.ppf(1 - alpha)*max(se, se0)
//
// and the edge cases.
func TestAUCLowerBound(t *testing.T) {
	const n = 300
	scores := make([]float64, n)
	members := make([]bool, n)
	for i := range n {
		members[i] = (i*7)%3 != 0
		scores[i] = float64((i*37)%41) / 8
		if members[i] {
			scores[i]++
		}
	}
	for _, tc := range []struct{ alpha, want float64 }{{0.025, 0.6131394128804026}, {0.01, 0.6001642148247204}} {
		got, err := AUCLowerBound(scores, members, tc.alpha)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("alpha %v: %.17g, want %.17g", tc.alpha, got, tc.want)
		}
	}
	// Perfect separation of 5 members from 5 non-members: the Mann–Whitney floor, 1 − z(0.95)·√(11/300).
	perfect := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	split := []bool{false, false, false, false, false, true, true, true, true, true}
	if got, _ := AUCLowerBound(perfect, split, 0.05); math.Abs(got-0.6850345098530659) > 1e-12 {
		t.Errorf("perfect separation: %.17g, want 0.6850345098530659", got)
	}
	if got, err := AUCLowerBound([]float64{1, 2, 3}, []bool{true, false, false}, 0.05); err != nil || !math.IsNaN(got) {
		t.Errorf("one member: %v, %v; want NaN", got, err)
	}
	for _, bad := range []struct {
		s []float64
		m []bool
		a float64
	}{{perfect, split, 0}, {perfect, split[:3], 0.05}, {[]float64{math.NaN(), 1, 2, 3}, []bool{true, true, false, false}, 0.05}} {
		if _, err := AUCLowerBound(bad.s, bad.m, bad.a); err == nil {
			t.Errorf("AUCLowerBound(%v, %v, %v): no error", bad.s, bad.m, bad.a)
		}
	}
}

// TestAUCLowerBoundNull: on scores independent of membership (with ties) the bound exceeds 0.5 in at most
// an alpha fraction of trials (binomial tail below 0.001 fails).
func TestAUCLowerBoundNull(t *testing.T) {
	const trials, alpha = 1000, 0.05
	r := rand.New(rand.NewPCG(7, 8))
	above := 0
	for range trials {
		n := 20 + r.IntN(300)
		scores := make([]float64, n)
		members := make([]bool, n)
		for i := range scores {
			scores[i] = math.Round(r.NormFloat64() * 2)
			members[i] = r.IntN(2) == 0
		}
		lo, err := AUCLowerBound(scores, members, alpha)
		if err != nil {
			t.Fatal(err)
		}
		if lo > 0.5 {
			above++
		}
	}
	t.Logf("%d of %d null trials above 0.5", above, trials)
	if p := binomSF(above-1, trials, alpha); p < 0.001 {
		t.Errorf("%d of %d null trials give an AUC lower bound above 0.5 at α = %v (binomial tail %.2g)", above, trials, alpha, p)
	}
}
