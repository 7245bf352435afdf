package duci

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/internal/vectortest"
)

func TestDebias(t *testing.T) {
	// References: members score 3, 2, 2, non-members 2, 1, 1. Best point: threshold 2 (TPR 1, FPR 1/3).
	ref := [][]float64{{3, 2, 2, 2, 1, 1}}
	mem := [][]bool{{true, true, true, false, false, false}}
	target := []float64{2, 2, 1, 1}
	for _, tc := range []struct {
		strict bool
		want   float64
	}{
		{false, (0.5 - 1.0/3) / (1 - 1.0/3)}, // two of four ≥ 2
		{true, (0 - 1.0/3) / (1 - 1.0/3)},    // none > 2 (Privacy Meter's D1)
	} {
		d, err := Debias(target, ref, mem, tc.strict)
		if err != nil {
			t.Fatal(err)
		}
		if d.Threshold != 2 || d.TPR != 1 || d.FPR != 1.0/3 {
			t.Errorf("strict %v: threshold %v TPR %v FPR %v, want 2, 1, 1/3", tc.strict, d.Threshold, d.TPR, d.FPR)
		}
		if math.Abs(d.Proportion-tc.want) > 1e-15 {
			t.Errorf("strict %v: proportion %v, want %v", tc.strict, d.Proportion, tc.want)
		}
	}
	// Scores that do not separate: every threshold has TPR ≤ FPR.
	_, err := Debias(target, [][]float64{{1, 2}}, [][]bool{{true, false}}, false)
	if !errors.Is(err, ErrNoSeparation) {
		t.Errorf("no separation: error %v, want ErrNoSeparation", err)
	}
	if _, err := Debias(target, [][]float64{{1, 2}}, [][]bool{{true, true}}, false); err == nil {
		t.Error("references without non-members: no error")
	}
}

// TestAttackScorers runs the estimate with pmeter's registry attacks on a vector case's data: each gives
// an interval that covers the truth of the targets with proportions 0 and 1.
func TestAttackScorers(t *testing.T) {
	c := vectortest.Load(t, "duci_tuned_a")
	d := loadData(t, c)
	targets := []Target{{Model: 2, Refs: []int{8, 9, 10, 11}}, {Model: 6, Refs: []int{8, 9, 10, 11}}}
	for _, name := range []string{"rmia", "lira", "population"} {
		spec, err := attack.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		a, err := spec.Parse(nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Estimate(context.Background(), d, targets, Config{Attack: AttackScorer(a), Truth: true, Resamples: 200})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, r := range res {
			p := *r.TrueProportion
			t.Logf("%s target %d: true %v estimate %.3f [%.3f, %.3f] tpr %.3f fpr %.3f direct %.3f raw %.3f per-ref %v %v", name, r.Target, p, r.Proportion, r.CI.Lo, r.CI.Hi, r.TPR, r.FPR, r.Direct, r.Raw, r.PerRefTPR, r.PerRefFPR)
			if p < r.CI.Lo || p > r.CI.Hi || math.IsNaN(r.Proportion) {
				t.Errorf("%s target %d: interval [%v, %v] misses %v", name, r.Target, r.CI.Lo, r.CI.Hi, p)
			}
		}
	}
}

func TestEstimateErrors(t *testing.T) {
	c := vectortest.Load(t, "duci_fixed_a")
	d := loadData(t, c)
	for _, tc := range []struct {
		name string
		t    Target
	}{
		{"target out of range", Target{Model: 9, Refs: []int{4}}},
		{"no references", Target{Model: 0}},
		{"target among references", Target{Model: 0, Refs: []int{0, 4}}},
		{"reference twice", Target{Model: 0, Refs: []int{4, 4}}},
		{"reference without members", Target{Model: 1, Refs: []int{0}}},
		{"a lone reference for an attack that needs references", Target{Model: 0, Refs: []int{4}}},
	} {
		if _, err := Estimate(context.Background(), d, []Target{tc.t}, Config{}); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}
