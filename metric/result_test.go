package metric

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/internal/vectortest"
)

// TestEvaluateVectors checks Evaluate's AUC and Privacy Meter TPRs against every roc_* case.
func TestEvaluateVectors(t *testing.T) {
	for _, name := range vectortest.Cases(t, "roc_") {
		t.Run(name, func(t *testing.T) {
			c := vectortest.Load(t, name)
			labels := c.Bools(t, "labels")
			r, err := Evaluate(c.F64(t, "scores"), labels)
			if err != nil {
				t.Fatal(err)
			}
			c.Check(t, "auc", []float64{r.AUC})
			for _, f := range []struct {
				file string
				fpr  float64
			}{{"pm_one_fpr", 0.01}, {"pm_one_tenth_fpr", 0.001}, {"pm_zero_fpr", 0}} {
				got, ok := r.TPR(f.fpr)
				if !ok {
					t.Fatalf("no TPR at FPR %v in %v", f.fpr, r.TPRAtFPR)
				}
				c.Check(t, f.file, []float64{got})
			}
			if r.Members != c.Int(t, "n_members") || r.Members+r.NonMembers != len(labels) {
				t.Errorf("members %d, non-members %d; want %d of %d", r.Members, r.NonMembers, c.Int(t, "n_members"), len(labels))
			}
		})
	}
}

func TestEvaluate(t *testing.T) {
	r, err := Evaluate([]float64{0.9, 0.8, 0.7, 0.6, 0.5}, []bool{true, false, true, false, false})
	if err != nil {
		t.Fatal(err)
	}
	// Curve (drop_intermediate): FPR 0, 0, 1/3, 1/3, 1 and TPR 0, 1/2, 1/2, 1, 1.
	if want := 1.0/2*1.0/3 + 2.0/3; math.Abs(r.AUC-want) > 1e-15 {
		t.Errorf("AUC = %v, want %v", r.AUC, want)
	}
	if want := 1 - (1.0/3)/2; r.BalancedAccuracy != want {
		t.Errorf("BalancedAccuracy = %v, want %v", r.BalancedAccuracy, want)
	}
	for _, f := range StandardFPRs() {
		if got, _ := r.TPR(f); got != 0.5 {
			t.Errorf("TPR at %v = %v, want 0.5", f, got)
		}
	}
	if r.Members != 2 || r.NonMembers != 3 {
		t.Errorf("counts %d/%d", r.Members, r.NonMembers)
	}
	if _, ok := r.TPR(0.5); ok {
		t.Error("TPR(0.5) reported although not computed")
	}
}

func TestEvaluateErrors(t *testing.T) {
	tests := []struct {
		name    string
		scores  []float64
		members []bool
		want    string
	}{
		{"lengths", []float64{1, 2}, []bool{true}, "2 scores but 1 memberships"},
		{"NaN", []float64{1, math.NaN(), 3}, []bool{true, false, true}, "score 1 is NaN"},
		{"no members", []float64{1, 2}, []bool{false, false}, "no member"},
		{"no non-members", []float64{1, 2}, []bool{true, true}, "no non-member"},
		{"empty", nil, nil, "no member"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Evaluate(tt.scores, tt.members)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := Evaluate([]float64{math.Inf(1), math.Inf(-1)}, []bool{true, false}); err != nil {
		t.Errorf("infinite scores: %v", err)
	}
}

func TestPool(t *testing.T) {
	scores := [][]float64{{0.9, 0.1, 0.5}, {0.3, 0.8}}
	members := [][]bool{{true, false, false}, {false, true}}
	res, err := EvaluateTargets(scores, members)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Evaluate([]float64{0.9, 0.1, 0.5, 0.3, 0.8}, []bool{true, false, false, false, true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Pooled.AUC != want.AUC || res.Pooled.Members != 2 || res.Pooled.NonMembers != 3 {
		t.Errorf("pooled %+v, want %+v", res.Pooled, want)
	}
	if len(res.Targets) != 2 || res.Targets[0].AUC != 1 || res.Targets[1].AUC != 1 {
		t.Errorf("per target %+v", res.Targets)
	}

	for _, tt := range []struct {
		name    string
		scores  [][]float64
		members [][]bool
		want    string
	}{
		{"no target", nil, nil, "no target"},
		{"targets", scores, members[:1], "2 targets but memberships for 1"},
		{"records", [][]float64{{1}}, [][]bool{{true, false}}, "target 0: 1 scores but 2 memberships"},
		{"one class", [][]float64{{1, 2}, {1, 2}}, [][]bool{{true, false}, {true, true}}, "target 1: no non-member"},
	} {
		if _, err := EvaluateTargets(tt.scores, tt.members); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

// TestBelowResolution checks which FPR levels Evaluate marks: those above 0 and below 1/N for N
// non-members. TPR at 0 % FPR is always a measurement.
func TestBelowResolution(t *testing.T) {
	for _, tc := range []struct {
		nonMembers int
		below      []float64 // the standard FPRs marked
	}{
		{1, []float64{0.1, 0.01, 0.001, 0.0001, 0.00001}},
		{9, []float64{0.1, 0.01, 0.001, 0.0001, 0.00001}},
		{10, []float64{0.01, 0.001, 0.0001, 0.00001}},
		{999, []float64{0.001, 0.0001, 0.00001}},
		{1000, []float64{0.0001, 0.00001}},
		{1500, []float64{0.0001, 0.00001}},
		{100000, nil},
	} {
		n := tc.nonMembers + 3
		scores := make([]float64, n)
		members := make([]bool, n)
		for i := range scores {
			scores[i] = float64(i % 7)
			members[i] = i < 3
		}
		r, err := Evaluate(scores, members)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range r.TPRAtFPR {
			want := slices.Contains(tc.below, e.FPR)
			if e.BelowResolution != want || BelowResolution(e.FPR, tc.nonMembers) != want {
				t.Errorf("%d non-members, FPR %g: below resolution %v, want %v", tc.nonMembers, e.FPR, e.BelowResolution, want)
			}
			if got, ok := r.Entry(e.FPR); !ok || got != e {
				t.Errorf("Entry(%g) = %+v, %v; want %+v", e.FPR, got, ok, e)
			}
		}
	}
}
