package metric

import (
	"math"
	"strings"
	"testing"
)

func TestOneRunEpsilonProperty(t *testing.T) {
	for _, tt := range []struct {
		m, r, v int
		delta   float64
	}{{1000, 100, 90, 0}, {1000, 100, 90, 1e-5}, {50000, 2000, 1500, 1e-6}, {10, 10, 10, 0}, {100, 20, 10, 0}} {
		eps := OneRunEpsilon(tt.m, tt.r, tt.v, tt.delta, 0.05)
		// The result is the lower end of a bracket of width <= 1e-5 around the crossing of p = 0.05.
		if eps > 0 && OneRunPValue(tt.m, tt.r, tt.v, eps, tt.delta) >= 0.05 {
			t.Errorf("%+v: p-value at eps %v is not below 0.05", tt, eps)
		}
		if OneRunPValue(tt.m, tt.r, tt.v, eps+1.0001e-5, tt.delta) < 0.05 {
			t.Errorf("%+v: p-value just above eps %v is still below 0.05", tt, eps)
		}
	}
	// Half right is no evidence at all.
	if eps := OneRunEpsilon(100, 20, 10, 0, 0.05); eps != 0 {
		t.Errorf("eps for 10 of 20 = %v, want 0", eps)
	}
	for _, bad := range [][3]int{{10, 5, 6}, {4, 5, 1}, {10, 5, -1}} {
		if e := OneRunEpsilon(bad[0], bad[1], bad[2], 0, 0.05); !math.IsNaN(e) {
			t.Errorf("OneRunEpsilon%v = %v, want NaN", bad, e)
		}
	}
	if e := OneRunEpsilon(10, 5, 5, 2, 0.05); !math.IsNaN(e) {
		t.Errorf("delta 2: %v", e)
	}
	if e := OneRunEpsilon(10, 5, 5, 0, 1); !math.IsNaN(e) {
		t.Errorf("p 1: %v", e)
	}
	if p := OneRunPValue(10, 5, 5, -1, 0); !math.IsNaN(p) {
		t.Errorf("negative eps: %v", p)
	}
}

// TestOneRunAlphaEarlyStop compares the delta term with the full loop of the original.
func TestOneRunAlphaEarlyStop(t *testing.T) {
	for _, tt := range [][3]int{{5000, 3000, 2500}, {100, 50, 50}, {10, 3, 1}} {
		m, r, v := tt[0], tt[1], tt[2]
		for _, eps := range []float64{0, 0.3, 1, 3} {
			q := 1 / (1 + math.Exp(-eps))
			alpha, sum := 0.0, 0.0
			for i := 1; i <= v; i++ {
				sum += binomPMF(v-i, r, q)
				if sum > float64(i)*alpha {
					alpha = sum / float64(i)
				}
			}
			want := min(binomSF(v-1, r, q)+alpha*1e-5*2*float64(m), 1)
			if got := OneRunPValue(m, r, v, eps, 1e-5); got != want {
				t.Errorf("%v eps %v: %v, full loop %v", tt, eps, got, want)
			}
		}
	}
}

func TestAbstainAuditErrors(t *testing.T) {
	for _, tt := range []struct {
		scores  []float64
		members []bool
		delta   float64
		p       float64
		want    string
	}{
		{[]float64{1, 2}, []bool{true}, 0, 0.05, "2 scores but 1 memberships"},
		{[]float64{1}, []bool{true}, 0, 0.05, "at least 2 records"},
		{[]float64{1, math.NaN()}, []bool{true, false}, 0, 0.05, "score 1 is NaN"},
		{[]float64{1, 2}, []bool{true, false}, -1, 0.05, "delta"},
		{[]float64{1, 2}, []bool{true, false}, 0, 0, "p-value"},
	} {
		if _, err := AbstainAudit(tt.scores, tt.members, tt.delta, tt.p); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("error %v, want one containing %q", err, tt.want)
		}
	}
	res, err := AbstainAudit([]float64{2, 1}, []bool{true, false}, 0, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	// n = 2, step 1: the single guess (KNeg 0, KPos 1) calls the higher record a member, correctly.
	if len(res.Guesses) != 1 || res.Best != (AbstainGuess{KNeg: 0, KPos: 1, Correct: 1, Epsilon: res.Best.Epsilon}) {
		t.Errorf("%+v", res)
	}
}

func TestEpsilonFromCountsEdges(t *testing.T) {
	// No true positive: p1 = 0, no bound.
	if e, a := EpsilonFromCounts(0, 5, 5, 10, 0.05); e != 0 || a != 0 {
		t.Errorf("tp = 0: (%v, %v)", e, a)
	}
	// p0 + p1 > 1: the bound comes from the complementary rates (Appendix A of Jagielski et al.).
	p1, _ := ClopperPearson(99, 100, 0.05)
	_, p0 := ClopperPearson(50, 100, 0.05)
	if !(p0+p1 > 1) {
		t.Fatalf("p0 + p1 = %v", p0+p1)
	}
	p0, p1 = 1-p1, 1-p0
	e, a := EpsilonFromCounts(99, 50, 50, 1, 0.05)
	if e != math.Log(p1/p0) || a != (p1+(1-p0))/2 {
		t.Errorf("flipped: (%v, %v), want (%v, %v)", e, a, math.Log(p1/p0), (p1+(1-p0))/2)
	}
	if e, a := EpsilonFromCounts(0, 1, 1, 0, 0.05); !math.IsNaN(e) || !math.IsNaN(a) {
		t.Errorf("P = 0: (%v, %v), want NaN", e, a)
	}
}

func TestEpsilonSweepErrors(t *testing.T) {
	for _, tt := range []struct {
		in, out []float64
		alpha   float64
		want    string
	}{
		{nil, []float64{1}, 0.05, "0 in, 1 out"},
		{[]float64{1}, []float64{1}, 1, "alpha"},
		{[]float64{1, math.NaN()}, []float64{1}, 0.05, "in score 1 is NaN"},
		{[]float64{1}, []float64{math.NaN()}, 0.05, "out score 0 is NaN"},
	} {
		if _, err := EpsilonSweep(tt.in, tt.out, tt.alpha); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("error %v, want one containing %q", err, tt.want)
		}
	}
	// Indistinguishable runs: no positive epsilon, no threshold.
	s, err := EpsilonSweep([]float64{1, 2, 3}, []float64{1, 2, 3}, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(s.Threshold) || s.Epsilon != 0 {
		t.Errorf("%+v", s)
	}
}

// TestEpsilonLowerBoundAllThresholds checks that thresholds == nil means "every distinct score, >=": the
// same as explicit strict thresholds one ulp below each score.
func TestEpsilonLowerBoundAllThresholds(t *testing.T) {
	pos := []float64{0.9, 0.8, 0.8, 0.7, 0.95, 0.6, 0.85, 0.99}
	neg := []float64{0.1, 0.2, 0.8, 0.3, 0.5, 0.6, 0.4, 0.35, 0.25}
	var thr []float64
	for _, s := range append(append([]float64{}, pos...), neg...) {
		thr = append(thr, math.Nextafter(s, math.Inf(-1)))
	}
	for _, m := range BoundMethods() {
		for _, two := range []bool{false, true} {
			all, err := EpsilonLowerBound(pos, neg, 0.05, two, nil, m)
			if err != nil {
				t.Fatal(err)
			}
			explicit, err := EpsilonLowerBound(pos, neg, 0.05, two, thr, m)
			if err != nil {
				t.Fatal(err)
			}
			// explicit repeats thresholds of tied scores; compare the distinct values.
			if !sameSet(all, explicit) || len(all) == 0 {
				t.Errorf("%v two-sided=%v: %v vs %v", m, two, all, explicit)
			}
		}
	}
	if _, err := EpsilonLowerBound(pos, neg, 0.5, true, nil, KatzLog); err == nil {
		t.Error("alpha 0.5 accepted")
	}
	if _, err := EpsilonLowerBound(pos, nil, 0.05, true, nil, KatzLog); err == nil {
		t.Error("no negatives accepted")
	}
	if _, err := EpsilonLowerBound(pos, neg, 0.05, true, []float64{math.NaN()}, KatzLog); err == nil || !strings.Contains(err.Error(), "threshold 0 is NaN") {
		t.Errorf("NaN threshold: %v", err)
	}
}

func sameSet(a, b []float64) bool {
	has := func(s []float64, x float64) bool {
		for _, v := range s {
			if v == x {
				return true
			}
		}
		return false
	}
	for _, x := range a {
		if !has(b, x) {
			return false
		}
	}
	for _, x := range b {
		if !has(a, x) {
			return false
		}
	}
	return true
}

func TestRatioBoundPreconditions(t *testing.T) {
	for _, bad := range [][4]int{{-1, 0, 5, 5}, {6, 0, 5, 5}, {1, 6, 5, 5}, {0, 0, 0, 5}} {
		if r := RatioBound(bad[0], bad[1], bad[2], bad[3], 0.05, KatzLog); !math.IsNaN(r) {
			t.Errorf("RatioBound%v = %v, want NaN", bad, r)
		}
	}
	if r := RatioBound(1, 1, 5, 5, 0.05, BoundMethod(99)); !math.IsNaN(r) {
		t.Errorf("unknown method: %v", r)
	}
	if s := BoundMethod(99).String(); s != "BoundMethod(99)" {
		t.Error(s)
	}
}
