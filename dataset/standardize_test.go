package dataset

import (
	"math"
	"strings"
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

// TestMeanImputer: the means come from the fitted rows' present values only, every NaN is replaced,
// and the errors name the record and feature.
func TestMeanImputer(t *testing.T) {
	nan := float32(math.NaN())
	d := &Dataset{Name: "t", Shape: []int{3}, Classes: 2, Y: []int{0, 1, 0, 1, 0}, FeatureNames: []string{"a", "b", "c"},
		X: []float32{
			1, nan, 5,
			2, 4, 5,
			nan, 8, 5,
			100, nan, nan, // not fitted: its 100 must not reach the mean of a
			3, 0.5, 5,
		}}
	m, err := FitMeanImputer(d, []int{0, 1, 2, 4})
	if err != nil {
		t.Fatal(err)
	}
	// a: (1+2+3)/3; b: (4+8+0.5)/3; c: 5.
	want := []float64{2, 12.5 / 3, 5}
	for j := range want {
		if math.Abs(m.Mean[j]-want[j]) > 1e-15 {
			t.Errorf("mean %d: %v, want %v", j, m.Mean[j], want[j])
		}
	}
	// Standardising before imputing is an error that names the place.
	if _, err := FitStandardizer(d, []int{0}); err == nil || !strings.Contains(err.Error(), "dataset t: record 0, feature 1 (b): missing (NaN); impute it first") {
		t.Errorf("standardizer on NaN: %v", err)
	}
	if err := (&Standardizer{Mean: make([]float64, 3), Scale: []float64{1, 1, 1}}).Apply(d); err == nil || !strings.Contains(err.Error(), "record 0, feature 1 (b): missing (NaN)") {
		t.Errorf("standardizer apply on NaN: %v", err)
	}
	n, err := m.Apply(d)
	if err != nil || n != 4 {
		t.Fatalf("apply: %d replaced, %v; want 4", n, err)
	}
	b := float32(12.5 / 3)
	sameFloats(t, "imputed", d.X, []float32{1, b, 5, 2, 4, 5, 2, 8, 5, 100, b, 5, 3, 0.5, 5})
	if err := d.Validate(); err != nil {
		t.Error(err)
	}

	// A feature with no present value in the fitted rows cannot be imputed; d is left unchanged.
	e := &Dataset{Name: "e", Shape: []int{2}, Classes: 1, Y: []int{0, 0}, X: []float32{1, nan, 2, 3}}
	m, err = FitMeanImputer(e, []int{0})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Apply(e); err == nil || !strings.Contains(err.Error(), "dataset e: record 0, feature 1: missing, and no fitted (training) row has a value") {
		t.Errorf("unimputable: %v", err)
	}
	if !math.IsNaN(float64(e.X[1])) || e.X[3] != 3 {
		t.Errorf("failed Apply changed the data: %v", e.X)
	}
	for _, rows := range [][]int{nil, {2}, {-1}} {
		if _, err := FitMeanImputer(e, rows); err == nil {
			t.Errorf("fit on rows %v succeeded", rows)
		}
	}
	if _, err := m.Apply(tiny()); err == nil {
		t.Error("apply to a dataset of another width succeeded")
	}
}
