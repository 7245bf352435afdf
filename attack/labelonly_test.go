package attack

import (
	"math"
	"testing"
)

// augData is regressionData's memberships (record 0: IN references 1, 2, OUT 3, 4; record 1: IN 1, 3,
// OUT 2, 4) with the correctness of 2 augmentations.
func augData() *Data {
	d := regressionData()
	d.A = 2
	T, F := true, false
	d.Aug = []bool{T, T, T, F, T, T, F, F, T, F /* record 1 */, T, F, T, T, F, F, T, T, F, T}
	return d
}

func TestAugmentationAttacks(t *testing.T) {
	d := augData()
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
	got, err := Augmentation(d, 0)
	if err != nil || got[0] != 1 || got[1] != 0.5 {
		t.Errorf("augmentation: %v, %v; want [1 0.5]", got, err)
	}
	// Record 0: p_in = (3/4, 2/4), p_out = (2/4, 1/4), both augmentations right: log(3/2) + log 2.
	// Record 1: p_in = (3/4, 3/4), p_out = (1/4, 2/4), right then wrong: log 3 + log(1/4 ÷ 1/2).
	got, err = AugmentationLiRA(d, 0, AugmentationLiRAConfig{Online: true})
	if err != nil || !near(got[0], math.Log(3)) || !near(got[1], math.Log(1.5)) {
		t.Errorf("online: %v, %v; want [log 3, log 1.5]", got, err)
	}
	// Offline, record 0: (1 − 1/2)/√(1/4) + (1 − 1/4)/√(3/16) = 1 + √3.
	got, err = AugmentationLiRA(d, 0, AugmentationLiRAConfig{})
	if err != nil || !near(got[0], 1+math.Sqrt(3)) {
		t.Errorf("offline: %v, %v; want record 0 at 1 + √3", got, err)
	}
	d.Aug = nil
	if _, err := Augmentation(d, 0); err == nil {
		t.Error("no augmentation correctness accepted")
	}
}

func TestBoundary(t *testing.T) {
	d := regressionData()
	d.Boundary = []float64{0.7, -1, -1, -1, -1, math.Inf(1), -1, -1, -1, -1}
	got, err := Boundary(d, 0)
	if err != nil || got[0] != 0.7 || got[1] != math.MaxFloat64 {
		t.Errorf("boundary: %v, %v", got, err)
	}
	if _, err := Boundary(d, 1); err == nil {
		t.Error("a model without measured distances accepted")
	}
}
