package attack

import (
	"math"
	"testing"

	"github.com/pmeter/pmeter/signal"
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

// TestGradNormRMIA: RMIA on Pr(x|θ) = exp(−‖g‖) is RMIA on those probabilities (record 0, with the smaller
// target norm, ranks above record 1), and without population norms it is an error.
func TestGradNormRMIA(t *testing.T) {
	d := gradData()
	d.PopGrad = []float64{0.5, 0.2, 0.4, 0.1, 0.6, 0.3, 0.5, 0.2, 0.7, 0.3, 1.5, 1, 1.2, 0.9, 1.1, 0.5, 1.4, 1.2, 1.3, 0.8}
	for _, cfg := range []RMIAConfig{{OfflineA: 1}, {OfflineA: 0.3}, {Online: true}} {
		got, err := GradNormRMIA(d, 0, GradNormConfig{Layer: 1}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		pr := func(g []float64, rows int) []float64 {
			out := make([]float64, rows*d.M)
			for k := range out {
				out[k] = math.Exp(-g[k*2+1])
			}
			return out
		}
		v := &Data{N: 2, M: 5, Q: 1, Kind: signal.ProbTrue, Members: d.Members, Design: d.Design, Signals: pr(d.Grad, 2), Z: 2, Population: pr(d.PopGrad, 2)}
		want, err := RMIA(v, 0, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got[0] != want[0] || got[1] != want[1] || !(got[0] > got[1]) {
			t.Errorf("%+v: %v, RMIA on exp(−‖g‖) gives %v", cfg, got, want)
		}
	}
	d.PopGrad = nil
	if _, err := GradNormRMIA(d, 0, GradNormConfig{}, RMIAConfig{}); err == nil {
		t.Error("no population gradient norms accepted")
	}
}
