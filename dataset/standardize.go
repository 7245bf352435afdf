package dataset

import (
	"fmt"
	"math"
)

// Standardizer maps each feature j to (x − Mean[j]) / Scale[j]. Fit it on the training rows only, then
// apply it to every record (training, test, population), so that no statistic leaks from records a
// model must not see.
type Standardizer struct {
	Mean  []float64 // per-feature mean of the fitted rows
	Scale []float64 // per-feature population standard deviation (ddof = 0), or 1 where it is 0
}

// FitStandardizer computes the per-feature mean and standard deviation over the given rows of d, in
// float64 with a two-pass algorithm. As scikit-learn's StandardScaler does, the standard deviation
// divides by the number of rows (ddof = 0), and a feature that is constant over those rows gets scale 1
// so that it maps to 0 rather than NaN. rows must be non-empty and lie in [0, N); they may repeat.
func FitStandardizer(d *Dataset, rows []int) (*Standardizer, error) {
	if len(rows) == 0 {
		return nil, fmt.Errorf("dataset %s: cannot fit a standardizer on zero rows", d.Name)
	}
	n, dim := d.Len(), d.Dim()
	for k, i := range rows {
		if i < 0 || i >= n {
			return nil, fmt.Errorf("dataset %s: standardizer row %d (position %d) outside [0, %d)", d.Name, i, k, n)
		}
	}
	mean := make([]float64, dim)
	for _, i := range rows {
		for j, v := range d.X[i*dim : (i+1)*dim] {
			mean[j] += float64(v)
		}
	}
	inv := 1 / float64(len(rows))
	for j := range mean {
		mean[j] *= inv
	}
	ss := make([]float64, dim)
	for _, i := range rows {
		for j, v := range d.X[i*dim : (i+1)*dim] {
			e := float64(v) - mean[j]
			ss[j] += e * e
		}
	}
	scale := ss
	for j := range scale {
		s := math.Sqrt(ss[j] * inv)
		if s == 0 || math.IsNaN(s) {
			s = 1
		}
		scale[j] = s
	}
	return &Standardizer{Mean: mean, Scale: scale}, nil
}

// Apply standardises every record of d in place. d must have as many features as the standardizer.
func (s *Standardizer) Apply(d *Dataset) error {
	dim := d.Dim()
	if len(s.Mean) != dim || len(s.Scale) != dim {
		return fmt.Errorf("dataset %s: standardizer fitted on %d features, dataset has %d", d.Name, len(s.Mean), dim)
	}
	for i := range d.Len() {
		row := d.X[i*dim : (i+1)*dim]
		for j, v := range row {
			row[j] = float32((float64(v) - s.Mean[j]) / s.Scale[j])
		}
	}
	return nil
}
