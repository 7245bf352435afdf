package metric

import (
	"math"
	"testing"
)

// TestPRAUC checks PRAUC on curves worked by hand with scikit-learn 1.2's precision_recall_curve and auc.
func TestPRAUC(t *testing.T) {
	for _, c := range []struct {
		name     string
		scores   []float64
		positive []bool
		want     float64
	}{
		// Thresholds 3, 2 (a tie of one positive and one negative), 1: precision 0, 1/3, 1/2 at recall
		// 0, 1/2, 1; reversed with (0, 1) appended, the trapezoids give 0.5·(1/2+1/3)/2 + 0.5·(1/3)/2.
		{"ties", []float64{3, 1, 2, 2}, []bool{false, true, true, false}, 7.0 / 24},
		{"perfect", []float64{0.9, 0.1}, []bool{true, false}, 1},
		// Reversed ranking: precision 0 then 1/2 at recall 0 and 1: 1·(1/2+0)/2.
		{"reversed", []float64{0.9, 0.1}, []bool{false, true}, 0.25},
		// No positive: recall is 1 everywhere (scikit-learn), precision 0; only the last segment counts.
		{"no positive", []float64{1, 2}, []bool{false, false}, 0.5},
	} {
		if got := PRAUC(c.scores, c.positive); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("%s: PRAUC %v, want %v", c.name, got, c.want)
		}
	}
	if !math.IsNaN(PRAUC(nil, nil)) {
		t.Error("PRAUC of no scores is not NaN")
	}
}
