package attack

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/pmeter/pmeter/signal"
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

// TestAugmentationCrossCheck compares the augmentation attacks with an independent implementation of
// the papers' pseudo-code (scripts/labelonly-crosscheck/crosscheck.py, numpy) on a random case of 40
// records, 9 models (bernoulli design) and 6 augmentations, to 1e-12.
func TestAugmentationCrossCheck(t *testing.T) {
	b, err := os.ReadFile("testdata/labelonly_crosscheck.json")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		N, M, A                 int
		Members, Aug            []int
		Augmentation            []float64 `json:"augmentation"`
		AugmentationLiRAOnline  []float64 `json:"augmentation_lira_online"`
		AugmentationLiRAOffline []float64 `json:"augmentation_lira_offline"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	d := &Data{N: c.N, M: c.M, Q: 1, Kind: signal.ProbTrue, Design: DesignBernoulli, Signals: make([]float64, c.N*c.M),
		Members: make([]bool, c.N*c.M), A: c.A, Aug: make([]bool, c.N*c.M*c.A)}
	for k, v := range c.Members {
		d.Members[k] = v == 1
	}
	for k, v := range c.Aug {
		d.Aug[k] = v == 1
	}
	check := func(name string, got []float64, err error, want []float64) {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(want) != c.N || len(got) != c.N {
			t.Fatalf("%s: %d scores, %d expected, want %d", name, len(got), len(want), c.N)
		}
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-12*max(1, math.Abs(want[i])) {
				t.Errorf("%s record %d: %v, numpy %v", name, i, got[i], want[i])
			}
		}
	}
	got, err := Augmentation(d, 0)
	check("augmentation", got, err, c.Augmentation)
	got, err = AugmentationLiRA(d, 0, AugmentationLiRAConfig{Online: true})
	check("augmentation-lira online", got, err, c.AugmentationLiRAOnline)
	got, err = AugmentationLiRA(d, 0, AugmentationLiRAConfig{})
	check("augmentation-lira offline", got, err, c.AugmentationLiRAOffline)
}
