package metric

import (
	"math"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/internal/vectortest"
)

// TestPrivacyGuardFDPVectors checks PrivacyGuardFDP against PrivacyGuard's FDPAnalysisNode on every
// dp_fdp_one_run* case: ε, the deciding candidate and the audit's values there, and the two helpers.
func TestPrivacyGuardFDPVectors(t *testing.T) {
	for _, name := range vectortest.Cases(t, "dp_fdp_one_run") {
		t.Run(name, func(t *testing.T) {
			c := vectortest.Load(t, name)
			m, cs, cCap, k := c.Ints(t, "m"), c.Ints(t, "c"), c.Ints(t, "c_cap"), c.Ints(t, "k")
			noise, thr, delta := c.F64(t, "target_noise"), c.F64(t, "threshold"), c.F64(t, "delta")
			var eps, noises, last, first, rhs []float64
			var index []int64
			for i := range m {
				p := PrivacyGuardFDP{TargetNoise: noise[i], Threshold: thr[i], K: int(k[i]), Delta: delta[i]}
				r, err := p.Run(int(m[i]), int(cCap[i]), int(cs[i]))
				if err != nil {
					t.Fatal(err)
				}
				eps = append(eps, r.Epsilon)
				noises = append(noises, r.Noise)
				index = append(index, int64(r.Index))
				last = append(last, r.LHSLastPass)
				first = append(first, r.LHSFirstFail)
				rhs = append(rhs, r.RHS)
			}
			c.Check(t, "eps", eps, len(m))
			c.Check(t, "empirical_noise", noises, len(m))
			c.CheckInt(t, "empirical_privacy_index", index)
			c.Check(t, "audit_lhs_last_pass", last, len(m))
			c.Check(t, "audit_lhs_first_fail", first, len(m))
			c.Check(t, "audit_rhs", rhs, len(m))

			grid, epsGrid, hd := c.F64(t, "noise_grid"), c.F64(t, "eps_grid"), c.F64(t, "helper_delta")
			var epsG, deltaG []float64
			for _, d := range hd {
				p := PrivacyGuardFDPDefaults()
				p.Delta = d
				for _, s := range grid {
					epsG = append(epsG, p.EpsilonGaussian(s))
				}
			}
			for _, s := range grid {
				for _, e := range epsGrid {
					deltaG = append(deltaG, PrivacyGuardDeltaGaussian(s, e))
				}
			}
			c.Check(t, "epsilon_gaussian", epsG, len(hd), len(grid))
			c.Check(t, "delta_gaussian", deltaG, len(grid), len(epsGrid))
		})
	}
}

// TestGaussianDPDeltaVectors checks pmeter's own evaluation of the Gaussian-DP curve against the
// dp_fdp_one_run delta_gaussian vectors, at their tolerance: the same curve, evaluated without
// underflow.
func TestGaussianDPDeltaVectors(t *testing.T) {
	for _, name := range vectortest.Cases(t, "dp_fdp_one_run") {
		t.Run(name, func(t *testing.T) {
			c := vectortest.Load(t, name)
			grid, epsGrid := c.F64(t, "noise_grid"), c.F64(t, "eps_grid")
			var got []float64
			for _, s := range grid {
				for _, e := range epsGrid {
					got = append(got, GaussianDPDelta(1/s, e))
				}
			}
			c.Check(t, "delta_gaussian", got, len(grid), len(epsGrid))
		})
	}
}

// TestPrivacyGuardAbstainVectors checks PrivacyGuardAbstainFDP against the notebook's
// compute_abstain_attack_fdp on every dp_fdp_abstain_scores* case.
func TestPrivacyGuardAbstainVectors(t *testing.T) {
	for _, name := range vectortest.Cases(t, "dp_fdp_abstain_scores") {
		t.Run(name, func(t *testing.T) {
			c := vectortest.Load(t, name)
			res, err := PrivacyGuardAbstainFDP(c.F64(t, "mia_scores"), c.Bools(t, "membership_labels"), c.Float(t, "delta"), c.Int(t, "step_size"))
			if err != nil {
				t.Fatal(err)
			}
			ints := func(x []int) []int64 {
				out := make([]int64, len(x))
				for i, v := range x {
					out[i] = int64(v)
				}
				return out
			}
			c.CheckInt(t, "one_side_guesses", ints(res.OneSideGuesses))
			c.CheckInt(t, "correct_num", ints(res.CorrectNum))
			c.CheckInt(t, "total_guesses", ints(res.TotalGuesses))
			c.Check(t, "eps", res.Eps, len(res.Eps))
			c.Check(t, "eps_opt", []float64{res.EpsOpt})
			c.CheckInt(t, "guess_opt", []int64{int64(res.GuessOpt)})
			c.CheckInt(t, "correct_num_opt", []int64{int64(res.CorrectNumOpt)})
			c.CheckInt(t, "total_num", []int64{int64(res.TotalNum)})
			b := res.Bound(c.Float(t, "delta"))
			if b.DPBound || b.Value != res.EpsOpt || !strings.Contains(b.Caveat, "compat=privacyguard") {
				t.Errorf("bound %+v: want the optimum labelled as no DP bound", b)
			}
		})
	}
}

// TestFDPDefaultFixesQuirks checks pmeter's f-DP audit where PrivacyGuard's quirks show: no evidence
// gives 0 (PrivacyGuard about 0.40), small noise gives the curve's ε (PrivacyGuard 100, its bisection's
// upper end), and δ = 0 is refused (PrivacyGuard: where Φ underflows).
func TestFDPDefaultFixesQuirks(t *testing.T) {
	pg := PrivacyGuardFDPDefaults()
	for _, tt := range []struct {
		name              string
		m, guesses, right int
		pgEps             float64 // PrivacyGuard's ε (dp_fdp_one_run rows 3 and 4, and the helper at noise 0.05)
		wantZero          bool
	}{
		{"no correct guess", 1000, 10, 0, 0.397491455078125, true},
		{"chance", 200, 200, 100, 0.397491455078125, true},
		{"below chance", 10000, 2000, 900, 0, true},
		{"strong evidence", 1000, 100, 100, 6.12640380859375, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := OneRunBound(tt.m, tt.guesses, tt.right, OneRunOptions{Stat: StatFDP, Delta: 1e-6})
			if err != nil {
				t.Fatal(err)
			}
			if tt.pgEps > 0 {
				r, err := pg.Run(tt.m, tt.guesses, tt.right)
				if err != nil {
					t.Fatal(err)
				}
				if r.Epsilon != tt.pgEps {
					t.Errorf("PrivacyGuard ε %v, want %v", r.Epsilon, tt.pgEps)
				}
			}
			if tt.wantZero != (b.Value == 0) || b.Guesses.GDPMu < 0 {
				t.Errorf("ε %v (μ %v), want zero: %v", b.Value, b.Guesses.GDPMu, tt.wantZero)
			}
			if !tt.wantZero {
				// The grid's first failing noise is 0.821 (μ 1.218); the exact search lands at or just above it.
				if mu := b.Guesses.GDPMu; !(mu >= 1/0.821 && mu <= 1/0.811) {
					t.Errorf("μ %v, want in [1/0.821, 1/0.811]", mu)
				}
				if !FDPRejects(b.Guesses.GDPMu, tt.m, tt.guesses, tt.right, 0.05) || FDPRejects(b.Guesses.GDPMu*(1+1e-9), tt.m, tt.guesses, tt.right, 0.05) {
					t.Errorf("μ %v is not the edge of the rejected range", b.Guesses.GDPMu)
				}
				if want := GaussianDPEpsilon(b.Guesses.GDPMu, 1e-6); b.Value != want {
					t.Errorf("ε %v, want GaussianDPEpsilon(μ, 1e-6) = %v", b.Value, want)
				}
			}
		})
	}
	// Weak evidence (dp_fdp_one_run row 4): 120 of 200 right is unlikely (p ≈ 0.003) even under perfect
	// privacy, but PrivacyGuard's grid stops at noise 9.991 (μ ≈ 0.1001), which is not rejected, so it
	// reports that noise's ε, 0.397; pmeter finds the edge just below, μ ≈ 0.098, and its ε.
	b, err := OneRunBound(200, 200, 120, OneRunOptions{Stat: StatFDP, Delta: 1e-6})
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := pg.Run(200, 200, 120); r.Index != 1000 || !(b.Guesses.GDPMu > 0.09 && b.Guesses.GDPMu < 1/r.Noise) || !(b.Value > 0 && b.Value < r.Epsilon) {
		t.Errorf("weak evidence: pmeter μ %v ε %v, PrivacyGuard index %d noise %v ε %v", b.Guesses.GDPMu, b.Value, r.Index, r.Noise, r.Epsilon)
	}
	// Small noise: μ = 20 has ε ≈ 295 at δ = 1e-6, not the bisection's upper end.
	if e := pg.EpsilonGaussian(0.05); e != 100 {
		t.Errorf("PrivacyGuard ε at noise 0.05 = %v, want its cap 100", e)
	}
	if e := GaussianDPEpsilon(20, 1e-6); !(e > 290 && e < 300) || math.Abs(GaussianDPDelta(20, e)/1e-6-1) > 1e-9 {
		t.Errorf("GaussianDPEpsilon(20, 1e-6) = %v (δ there %v)", e, GaussianDPDelta(20, e))
	}
	if _, err := OneRunBound(1000, 100, 100, OneRunOptions{Stat: StatFDP, NoDelta: true}); err == nil || !strings.Contains(err.Error(), "δ = 0") {
		t.Errorf("δ = 0: %v, want an error naming δ = 0", err)
	}
}

// TestFDPRejectsMonotone checks on a grid that the audit's rejections form an interval [0, μ*): the
// bisection of FDPMu finds its edge.
func TestFDPRejectsMonotone(t *testing.T) {
	for _, tt := range [][3]int{{1000, 100, 100}, {1000, 800, 500}, {5000, 1000, 900}, {200, 200, 130}, {10000, 10, 10}} {
		m, g, c := tt[0], tt[1], tt[2]
		mu, err := FDPMu(m, g, c, 0.05)
		if err != nil {
			t.Fatal(err)
		}
		for x := 0.0; x < 8; x += 0.01 {
			if got, want := FDPRejects(x, m, g, c, 0.05), x <= mu; got != want && math.Abs(x-mu) > 1e-9 {
				t.Errorf("%v: μ %v rejected %v, but μ* = %v", tt, x, got, mu)
				break
			}
		}
	}
}

func TestGaussianDPEpsilonEdges(t *testing.T) {
	for _, tt := range []struct {
		mu, delta, want float64
	}{
		{0, 1e-5, 0},
		{1, 0, math.Inf(1)},
		{1, 1, 0},
		{1, 0.5, 0}, // δ(0) = 2Φ(½) − 1 ≈ 0.383
		{math.Inf(1), 1e-5, math.Inf(1)},
		{-1, 1e-5, math.NaN()},
		{1, -1e-5, math.NaN()},
		{1, 2, math.NaN()},
	} {
		got := GaussianDPEpsilon(tt.mu, tt.delta)
		if !(got == tt.want || math.IsNaN(got) && math.IsNaN(tt.want)) {
			t.Errorf("GaussianDPEpsilon(%v, %v) = %v, want %v", tt.mu, tt.delta, got, tt.want)
		}
	}
	// The root: δ(ε) crosses δ there, and the Gaussian mechanism with σ = 1 at δ = 1e-5 has ε ≈ 4.38
	// (helper_delta 1e-5 at noise 1 in dp_fdp_one_run: PrivacyGuard's 4.3777, within its 0.001 bracket).
	for _, mu := range []float64{0.05, 0.5, 1, 3, 40, 1000} {
		for _, d := range []float64{0.1, 1e-5, 1e-12, 1e-200} {
			e := GaussianDPEpsilon(mu, d)
			if e == 0 {
				if GaussianDPDelta(mu, 0) > d {
					t.Errorf("μ %v δ %v: ε 0, but δ(0) = %v", mu, d, GaussianDPDelta(mu, 0))
				}
				continue
			}
			if !(GaussianDPDelta(mu, e) >= d) || !(GaussianDPDelta(mu, math.Nextafter(e, math.Inf(1))*(1+1e-12)) <= d) {
				t.Errorf("μ %v δ %v: ε %v is not the root (δ(ε) = %v)", mu, d, e, GaussianDPDelta(mu, e))
			}
		}
	}
	if e := GaussianDPEpsilon(1, 1e-5); math.Abs(e-4.37774658203125) > 0.001 {
		t.Errorf("GaussianDPEpsilon(1, 1e-5) = %v", e)
	}
}

func TestNormQuantile(t *testing.T) {
	for _, p := range []float64{1e-300, 1e-20, 1e-5, 0.02, 0.3, 0.5, 0.7, 0.975, 1 - 1e-12} {
		x := normQuantile(p)
		// Φ(x) = p to within a few ulps of x (Φ's slope there).
		if got := normCDF(x); math.Abs(got-p) > 1e-14*p+4e-16*math.Abs(x)*math.Exp(normLogPDF(x)) {
			t.Errorf("Φ(Φ⁻¹(%v)) = %v", p, got)
		}
	}
	if !math.IsInf(normQuantile(0), -1) || !math.IsInf(normQuantile(1), 1) || !math.IsNaN(normQuantile(1.5)) || !math.IsNaN(normQuantile(-0.1)) {
		t.Error("special values of normQuantile")
	}
}

// rrDeltaEpsilon returns the ε at which r guesses on the canaries of the (ε, δ)-DP mechanism "the
// inclusion bit with probability δ, else randomized response at ε" get v or more right with probability
// alpha: each guess is right with probability δ + (1 − δ)·e^ε/(1 + e^ε), independently. No audit valid
// at level alpha for every (ε, δ)-DP mechanism can reject (ε, δ)-DP at a smaller ε with v right (this
// mechanism reaches v with probability above alpha there), so it caps every valid bound.
func rrDeltaEpsilon(r, v int, delta, alpha float64) float64 {
	tail := func(eps float64) float64 { return binomSF(v-1, r, delta+(1-delta)/(1+math.Exp(-eps))) }
	if tail(0) >= alpha {
		return 0
	}
	lo, hi := 0.0, 1.0
	for tail(hi) < alpha {
		lo, hi = hi, 2*hi
	}
	for hi-lo > 1e-12*hi {
		if mid := (lo + hi) / 2; tail(mid) < alpha {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// TestApproxDPEpsilon checks the f-DP audit with the (ε, δ)-DP trade-off functions against randomized
// response (with probability δ the bit itself), an (ε, δ)-DP mechanism whose count of right guesses is
// binomial: the bound never exceeds the ε at which that mechanism reaches the count with probability α
// (a larger bound would reject a mechanism that keeps the guarantee more often than α), and comes
// within a few per cent of it where δ is negligible (m·δ ≤ 0.1; with a larger δ other (ε, δ)-DP
// mechanisms than this one reach the count more easily, and the bound is lower, but not below
// Steinke et al.'s); no evidence gives 0, and the rejections form an interval [0, ε*).
func TestApproxDPEpsilon(t *testing.T) {
	for _, tt := range []struct {
		m, guesses, correct int
		delta               float64
		zero                bool // no evidence: the bound is 0
	}{
		{1000, 100, 100, 0, false},
		{1000, 100, 90, 0, false},
		{1000, 100, 90, 1e-5, false},
		{1000, 1000, 600, 1e-5, false},
		{10000, 1000, 900, 1e-5, false},
		{10000, 10000, 7311, 1e-6, false},
		{100000, 1000, 980, 1e-5, false}, // 2·m·δ = 2: Steinke's δ term weighs, this one's not
		{1000, 200, 150, 1e-3, false},
		{200, 200, 130, 0.01, false},
		{1000, 1000, 500, 1e-5, true}, // chance
		{1000, 100, 0, 1e-5, true},    // no right guess
		{1000, 10, 6, 0, true},        // too few guesses
	} {
		got, err := ApproxDPEpsilon(tt.m, tt.guesses, tt.correct, tt.delta, 0.05)
		if err != nil {
			t.Fatal(err)
		}
		cap := rrDeltaEpsilon(tt.guesses, tt.correct, tt.delta, 0.05)
		switch {
		case tt.zero && got != 0:
			t.Errorf("%+v: bound %v, want 0 (no evidence)", tt, got)
		case got > cap*(1+1e-9):
			t.Errorf("%+v: bound %v exceeds %v, where an (ε, δ)-DP randomized response reaches the count with probability α", tt, got, cap)
		case !tt.zero && float64(tt.m)*tt.delta <= 0.1 && !(got >= 0.95*cap):
			t.Errorf("%+v: bound %v, far below the randomized-response cap %v", tt, got, cap)
		case !tt.zero && !(got >= OneRunEpsilon(tt.m, tt.guesses, tt.correct, tt.delta, 0.05)-2e-2):
			t.Errorf("%+v: bound %v, below Steinke et al.'s %v", tt, got, OneRunEpsilon(tt.m, tt.guesses, tt.correct, tt.delta, 0.05))
		}
		// The rejections form [0, ε*): the bisection finds their edge.
		for x := 0.0; x < 2*got+1; x += (2*got + 1) / 500 {
			if rej := ApproxDPRejects(x, tt.delta, tt.m, tt.guesses, tt.correct, 0.05); rej != (x <= got) && math.Abs(x-got) > 1e-9*(1+got) {
				t.Errorf("%+v: ε %v rejected %v, but ε* = %v", tt, x, rej, got)
				break
			}
		}
		// More right guesses never lower the bound.
		if tt.correct < tt.guesses {
			more, _ := ApproxDPEpsilon(tt.m, tt.guesses, tt.correct+1, tt.delta, 0.05)
			if more < got {
				t.Errorf("%+v: one more right guess lowers the bound from %v to %v", tt, got, more)
			}
		}
	}
	for _, bad := range []struct {
		m, g, c      int
		delta, alpha float64
	}{{0, 0, 0, 0, 0.05}, {10, 11, 1, 0, 0.05}, {10, 5, 6, 0, 0.05}, {10, 5, 5, 1, 0.05}, {10, 5, 5, -1e-9, 0.05}, {10, 5, 5, 0, 0}, {10, 5, 5, 0, 1}} {
		if _, err := ApproxDPEpsilon(bad.m, bad.g, bad.c, bad.delta, bad.alpha); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}
