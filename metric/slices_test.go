package metric

import (
	"math"
	"slices"
	"testing"
)

// TestHolm checks Holm's procedure on a hand-worked case: p = (0.01, 0.04, 0.03, 0.005) at α = 0.05:
// sorted 0.005 ≤ 0.05/4, 0.01 ≤ 0.05/3, 0.03 > 0.05/2 stops; adjusted = max-accumulated (m − k)·p.
func TestHolm(t *testing.T) {
	rej, adj := Holm([]float64{0.01, 0.04, 0.03, 0.005}, 0.05)
	if want := []bool{true, false, false, true}; !slices.Equal(rej, want) {
		t.Errorf("rejections %v, want %v", rej, want)
	}
	for i, want := range []float64{0.03, 0.06, 0.06, 0.02} {
		if math.Abs(adj[i]-want) > 1e-12 {
			t.Errorf("adjusted %v, want [0.03 0.06 0.06 0.02]", adj)
			break
		}
	}
	rej, adj = Holm([]float64{math.NaN(), 0.001}, 0.05)
	if rej[0] || !rej[1] || !math.IsNaN(adj[0]) || adj[1] != 0.002 {
		t.Errorf("with NaN: %v %v", rej, adj)
	}
}

// TestCompareSlice checks the AUCs against their definition on a hand-made case and the direction of z.
func TestCompareSlice(t *testing.T) {
	// Slice: members 3, 4, non-members 1, 2 → AUC 1. Complement: members 1, 3, non-members 2, 4 → pairs
	// (1>2? no)(1>4? no)(3>2 yes)(3>4 no) → 1/4.
	scores := []float64{3, 4, 1, 2, 1, 3, 2, 4}
	members := []bool{true, true, false, false, true, true, false, false}
	in := []bool{true, true, true, true, false, false, false, false}
	c, err := CompareSlice(scores, members, in)
	if err != nil {
		t.Fatal(err)
	}
	if c.AUC != 1 || c.ComplementAUC != 0.25 || !(c.Z > 0) || !(c.P < 0.5) {
		t.Errorf("%+v", c)
	}
	if _, err := CompareSlice(scores[:6], members[:6], in[:6]); err == nil {
		t.Error("a complement with 1 non-member accepted")
	}
}
