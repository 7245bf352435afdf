package metric

import (
	"math"
	"testing"
)

// TestKSDistance compares with scipy 1.x scipy.stats.ks_2samp(x, y).statistic.
func TestKSDistance(t *testing.T) {
	inf := math.Inf(1)
	for _, tt := range []struct {
		name string
		x, y []float64
		want float64
	}{
		{"equal samples", []float64{1, 2, 3}, []float64{1, 2, 3}, 0},
		{"disjoint", []float64{1, 2, 3}, []float64{4, 5}, 1},
		{"ties across samples", []float64{1, 2, 2, 3}, []float64{2, 2, 4}, 0.3333333333333333},
		{"interleaved", []float64{0.5, 1.5, 2.5, 3.5}, []float64{1, 2}, 0.5},
		{"unsorted input", []float64{3, 1, 2}, []float64{2.5, 0}, 0.5},
		{"one value", []float64{1, 1, 1}, []float64{1}, 0},
		{"infinities", []float64{-inf, 0, 1}, []float64{0, inf}, 0.5},
		{"empty", nil, []float64{1}, math.NaN()},
		{"NaN", []float64{1, math.NaN()}, []float64{1}, math.NaN()},
	} {
		got := KSDistance(tt.x, tt.y)
		if got != tt.want && !(math.IsNaN(got) && math.IsNaN(tt.want)) {
			t.Errorf("%s: KSDistance(%v, %v) = %v, want %v", tt.name, tt.x, tt.y, got, tt.want)
		}
		if back := KSDistance(tt.y, tt.x); back != got && !(math.IsNaN(got) && math.IsNaN(back)) {
			t.Errorf("%s: not symmetric: %v one way, %v the other", tt.name, got, back)
		}
	}
	// Unsorted input is sorted in a copy, never in place.
	x := []float64{3, 1, 2}
	KSDistance(x, []float64{0})
	if x[0] != 3 || x[1] != 1 || x[2] != 2 {
		t.Errorf("KSDistance reordered its input: %v", x)
	}
}

// TestQuantile compares with numpy.quantile([3, -1, 7, 2, 10], [0.05, 0.25, 0.5, 0.75, 0.95]).
func TestQuantile(t *testing.T) {
	v := []float64{-1, 2, 3, 7, 10}
	for _, tt := range []struct{ q, want float64 }{{0.05, -0.4}, {0.25, 2}, {0.5, 3}, {0.75, 7}, {0.95, 9.4}, {0, -1}, {1, 10}} {
		if got := Quantile(v, tt.q); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	for _, tt := range []struct {
		v []float64
		q float64
	}{{nil, 0.5}, {v, -0.1}, {v, 1.5}, {v, math.NaN()}} {
		if got := Quantile(tt.v, tt.q); !math.IsNaN(got) {
			t.Errorf("Quantile(%v, %v) = %v, want NaN", tt.v, tt.q, got)
		}
	}
}
