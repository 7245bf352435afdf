package attack

import (
	"math"
	"testing"
)

// gradData is regressionData with gradient norms: G = 2 (whole model, one layer).
func gradData() *Data {
	d := regressionData()
	d.G = 2
	// Record 0 under models 0..4, then record 1: (whole, layer 1) pairs.
	d.Grad = []float64{0.1, 0.05, 0.2, 0.1, 0.3, 0.2, 1, 0.5, 2, 1, 0.5, 0.4, 0.1, 0.1, 0.8, 0.3, 0.1, 0.05, 0.9, 0.6}
	return d
}

func TestGradNorm(t *testing.T) {
	d := gradData()
	for _, tc := range []struct {
		layer int
		want  []float64
	}{{0, []float64{-0.1, -0.5}}, {1, []float64{-0.05, -0.4}}} {
		got, err := GradNorm(d, 0, GradNormConfig{Layer: tc.layer})
		if err != nil {
			t.Fatal(err)
		}
		if got[0] != tc.want[0] || got[1] != tc.want[1] {
			t.Errorf("layer %d: %v, want %v", tc.layer, got, tc.want)
		}
	}
	if _, err := GradNorm(d, 0, GradNormConfig{Layer: 2}); err == nil {
		t.Error("layer 2 of 1 accepted")
	}
	d.Grad = nil
	if _, err := GradNorm(d, 0, GradNormConfig{}); err == nil {
		t.Error("no gradient norms accepted")
	}
}

// TestGradNormLiRA checks the online score on φ = −log ‖g‖ against the formula: record 0 has IN models
// 1, 2 (norms 0.2, 0.3) and OUT models 3, 4 (1, 2); record 1 IN 1, 3 (0.1, 0.1: σ_in = 0 falls back to
// the global σ, so it is checked by its rank only) and OUT 2, 4 (0.8, 0.9).
func TestGradNormLiRA(t *testing.T) {
	d := gradData()
	no := false
	got, err := GradNormLiRA(d, 0, GradNormConfig{}, LiRAConfig{Online: true, FixVariance: &no})
	if err != nil {
		t.Fatal(err)
	}
	logN := func(x, mu, sd float64) float64 {
		return -0.5*((x-mu)/sd)*((x-mu)/sd) - math.Log(sd) - 0.5*math.Log(2*math.Pi)
	}
	fit := func(a, b float64) (mu, sd float64) {
		a, b = -math.Log(a), -math.Log(b)
		return (a + b) / 2, math.Abs(a-b) / 2
	}
	muIn, sdIn := fit(0.2, 0.3)
	muOut, sdOut := fit(1, 2)
	x := -math.Log(0.1)
	if want := logN(x, muIn, sdIn) - logN(x, muOut, sdOut); math.Abs(got[0]-want) > 1e-9 {
		t.Errorf("record 0: %v, want %v", got[0], want)
	}
	if !(got[0] > got[1]) {
		t.Errorf("the member (record 0, small norm) scores %v, the non-member %v", got[0], got[1])
	}
}
