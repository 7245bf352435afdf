package attack

import (
	"math"
	"testing"

	"github.com/pmeter/pmeter/signal"
)

// regressionData is a hand-worked regression case: 2 records × 5 models (target 0), bernoulli design,
// residuals r = y − ŷ, and 2 population records.
func regressionData() *Data {
	return &Data{
		N: 2, M: 5, Q: 1, Kind: signal.Residual, Design: DesignBernoulli,
		Signals: []float64{0.1, 0.3, -0.2, 1.0, 1.4, 0.8, 0.2, 1.1, -0.1, 0.9},
		Members: []bool{true, true, true, false, false, false, true, false, true, false},
		Z:       2, Population: []float64{0.5, 0.4, 0.6, 0.7, 0.3, -0.5, -0.6, -0.4, -0.8, -0.2},
	}
}

func TestLossResidual(t *testing.T) {
	d := regressionData()
	for _, tc := range []struct {
		e    RegressionError
		want []float64
	}{{RegressionSquared, []float64{-0.01, -0.64}}, {RegressionAbsolute, []float64{-0.1, -0.8}}} {
		got, err := LOSS(d, 0, LOSSConfig{Error: tc.e})
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if math.Abs(got[i]-tc.want[i]) > 1e-15 {
				t.Errorf("%s: scores %v, want %v", tc.e, got, tc.want)
			}
		}
	}
	if _, err := LOSS(d, 0, LOSSConfig{Compat: CompatPrivacyMeter}); err == nil {
		t.Error("compat accepted on residuals")
	}
}

// TestLiRAResidual checks LiRA on residuals against the formulas: record 0 has IN references 1, 2
// (residuals 0.3, −0.2: μ = 0.05, σ = 0.25) and OUT references 3, 4 (1.0, 1.4: μ = 1.2, σ = 0.2); record 1
// IN 1, 3 (0.2, −0.1: μ = 0.05, σ = 0.15) and OUT 2, 4 (1.1, 0.9: μ = 1.0, σ = 0.1).
func TestLiRAResidual(t *testing.T) {
	d := regressionData()
	no := false
	logN := func(x, mu, sd float64) float64 {
		return -0.5*((x-mu)/sd)*((x-mu)/sd) - math.Log(sd) - 0.5*math.Log(2*math.Pi)
	}
	phi := func(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }
	type fit struct{ r, muIn, sdIn, muOut, sdOut float64 }
	fits := []fit{{0.1, 0.05, 0.25, 1.2, 0.2}, {0.8, 0.05, 0.15, 1.0, 0.1}}
	online, err := LiRA(d, 0, LiRAConfig{Online: true, FixVariance: &no})
	if err != nil {
		t.Fatal(err)
	}
	offline, err := LiRA(d, 0, LiRAConfig{FixVariance: &no})
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range fits {
		if want := logN(f.r, f.muIn, f.sdIn) - logN(f.r, f.muOut, f.sdOut); math.Abs(online[i]-want) > 1e-9 {
			t.Errorf("online record %d: %v, want %v", i, online[i], want)
		}
		// log Pr[|R| ≥ |r|], R ~ N(μ_out, σ_out²).
		a := math.Abs(f.r)
		p := 1 - (phi((a-f.muOut)/f.sdOut) - phi((-a-f.muOut)/f.sdOut))
		if want := math.Log(p); math.Abs(offline[i]-want) > 1e-9 {
			t.Errorf("offline record %d: %v, want %v", i, offline[i], want)
		}
	}
	if !(offline[0] > offline[1]) {
		t.Error("the record fitted more closely than its OUT models fit it does not score higher offline")
	}
	if _, err := LiRA(d, 0, LiRAConfig{Compat: CompatLiRA}); err == nil {
		t.Error("compat accepted on residuals")
	}
}

// TestRMIAResidual checks the counts of RMIA on residuals against the densities computed directly:
// s_m² is model m's mean squared population residual, Pr(x|m) = exp(−r²/2s²)/s.
func TestRMIAResidual(t *testing.T) {
	d := regressionData()
	s2 := make([]float64, d.M)
	for m := range s2 {
		s2[m] = (d.PopSignal(0, m, 0)*d.PopSignal(0, m, 0) + d.PopSignal(1, m, 0)*d.PopSignal(1, m, 0)) / 2
	}
	dens := func(r float64, m int) float64 { return math.Exp(-r*r/(2*s2[m])) / math.Sqrt(s2[m]) }
	ratio := func(r func(m int) float64, refs []int) float64 {
		s := 0.0
		for _, m := range refs {
			s += dens(r(m), m)
		}
		return dens(r(0), 0) / (s / float64(len(refs)))
	}
	pool := []int{1, 2, 3, 4}
	var popRatio []float64
	for z := 0; z < d.Z; z++ {
		popRatio = append(popRatio, ratio(func(m int) float64 { return d.PopSignal(z, m, 0) }, pool))
	}
	for _, online := range []bool{false, true} {
		refs := [][]int{{3, 4}, {2, 4}} // OUT models of records 0 and 1
		if online {
			refs = [][]int{{1, 2, 3, 4}, {1, 3, 2, 4}}
		}
		got, err := RMIA(d, 0, RMIAConfig{Online: online, OfflineA: 1})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < d.N; i++ {
			rx := ratio(func(m int) float64 { return d.Signal(i, m, 0) }, refs[i])
			count := 0
			for _, rz := range popRatio {
				if rx/rz > 1 {
					count++
				}
			}
			if c := got[i] * float64(d.Z); c < float64(count) || c >= float64(count)+0.5 {
				t.Errorf("online %v, record %d: score × Z = %v, want %d plus a tie-break below ½", online, i, c, count)
			}
		}
	}
	if _, err := RMIA(d, 0, RMIAConfig{Compat: CompatPrivacyMeter}); err == nil {
		t.Error("compat accepted on residuals")
	}
}
