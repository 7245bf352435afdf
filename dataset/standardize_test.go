package dataset

import (
	"math"
	"testing"
)

// TestStandardizerTrainingRowsOnly fits on training rows and checks the statistics against a direct
// float64 computation over those rows only, and that changing the other rows changes nothing.
func TestStandardizerTrainingRowsOnly(t *testing.T) {
	const n, dim = 50, 4
	d := &Dataset{X: make([]float32, n*dim), Y: make([]int, n), Shape: []int{dim}, Classes: 1}
	r := newRNG(7, 1)
	for i := range d.X {
		d.X[i] = float32(3*r.norm() + 10)
	}
	for i := range n {
		d.X[i*dim+3] = 2 // constant feature
	}
	train := []int{}
	for i := 0; i < n; i += 3 {
		train = append(train, i)
	}
	s, err := FitStandardizer(d, train)
	if err != nil {
		t.Fatal(err)
	}
	for j := range dim {
		var mean, ss float64
		for _, i := range train {
			mean += float64(d.X[i*dim+j])
		}
		mean /= float64(len(train))
		for _, i := range train {
			e := float64(d.X[i*dim+j]) - mean
			ss += e * e
		}
		std := math.Sqrt(ss / float64(len(train)))
		if j == 3 {
			std = 1
		}
		if math.Abs(s.Mean[j]-mean) > 1e-12*math.Abs(mean) || math.Abs(s.Scale[j]-std) > 1e-12*std {
			t.Errorf("feature %d: mean %v scale %v, want %v %v", j, s.Mean[j], s.Scale[j], mean, std)
		}
	}

	// Rows outside the training set must not influence the fit.
	d2 := &Dataset{X: append([]float32(nil), d.X...), Y: d.Y, Shape: d.Shape, Classes: 1}
	for i := range n {
		if i%3 != 0 {
			for j := range dim {
				d2.X[i*dim+j] = 1e6
			}
		}
	}
	s2, err := FitStandardizer(d2, train)
	if err != nil {
		t.Fatal(err)
	}
	for j := range dim {
		if s2.Mean[j] != s.Mean[j] || s2.Scale[j] != s.Scale[j] {
			t.Fatalf("feature %d: fit depends on non-training rows", j)
		}
	}

	if err := s.Apply(d); err != nil {
		t.Fatal(err)
	}
	for j := range dim {
		var mean, ss float64
		for _, i := range train {
			mean += float64(d.X[i*dim+j])
		}
		mean /= float64(len(train))
		for _, i := range train {
			e := float64(d.X[i*dim+j]) - mean
			ss += e * e
		}
		wantVar := 1.0
		if j == 3 {
			wantVar = 0
		}
		if math.Abs(mean) > 1e-5 || math.Abs(ss/float64(len(train))-wantVar) > 1e-5 {
			t.Errorf("feature %d after Apply: training mean %v variance %v", j, mean, ss/float64(len(train)))
		}
	}

	if _, err := FitStandardizer(d, nil); err == nil {
		t.Error("fit on zero rows succeeded")
	}
	if _, err := FitStandardizer(d, []int{n}); err == nil {
		t.Error("fit on an out-of-range row succeeded")
	}
	if err := s.Apply(tiny()); err == nil {
		t.Error("apply to a dataset of another width succeeded")
	}
}
