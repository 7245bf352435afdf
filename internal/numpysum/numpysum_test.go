package numpysum

import (
	"slices"
	"testing"
)

// TestSumAlong checks SumAlong against np.sum(a, 1)[0, 0] of a = np.full((1, k, inner), v, dtype) with
// NumPy 1.24.2 (Debian's /usr/bin/python3): the same k values sum pairwise when the axis is the last one
// (inner 1) and one after another when it is not, and the two differ in the last bit.
func TestSumAlong(t *testing.T) {
	tests64 := []struct {
		v          float64
		k          int
		last, notL float64 // inner = 1, inner = 2
	}{
		{0.1, 1, 0.1, 0.1},
		{0.1, 7, 0.7, 0.7}, // below 8 pairwise_sum is sequential too
		{0.1, 8, 0.8, 0.7999999999999999},
		{0.1, 10, 1.0, 0.9999999999999999},
		{2.675, 9, 24.075, 24.075000000000003},
		{1.0 / 3, 16, 5.333333333333333, 5.333333333333332},
		{0.1, 130, 12.999999999999998, 12.99999999999997},
	}
	for _, tc := range tests64 {
		x := slices.Repeat([]float64{tc.v}, tc.k)
		if got := SumAlong(x, 1); got != tc.last {
			t.Errorf("float64 %v × %d, inner 1: %v, NumPy %v", tc.v, tc.k, got, tc.last)
		}
		for _, inner := range []int{2, 3} {
			if got := SumAlong(x, inner); got != tc.notL {
				t.Errorf("float64 %v × %d, inner %d: %v, NumPy %v", tc.v, tc.k, inner, got, tc.notL)
			}
		}
	}
	tests32 := []struct {
		v          float32
		k          int
		last, notL float32
	}{
		{0.1, 8, 0.8, 0.8000001},
		{0.1, 10, 1.0, 1.0000001},
		{2.675, 9, 24.074999, 24.074997},
		{0.1, 130, 13.000001, 13.000013},
	}
	for _, tc := range tests32 {
		x := slices.Repeat([]float32{tc.v}, tc.k)
		if got := SumAlong(x, 1); got != tc.last {
			t.Errorf("float32 %v × %d, inner 1: %v, NumPy %v", tc.v, tc.k, got, tc.last)
		}
		if got := SumAlong(x, 2); got != tc.notL {
			t.Errorf("float32 %v × %d, inner 2: %v, NumPy %v", tc.v, tc.k, got, tc.notL)
		}
	}
}
