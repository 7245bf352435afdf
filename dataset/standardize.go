package dataset

import (
	"fmt"
	"math"
	"slices"
	"strconv"
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
			if v != v {
				return nil, fmt.Errorf("dataset %s: record %d, feature %s: missing (NaN); impute it first (FitMeanImputer)", d.Name, i, featureName(d, j))
			}
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

// Apply standardises every record of d in place. d must have as many features as the standardizer,
// and no missing (NaN) value: impute those first (FitMeanImputer).
func (s *Standardizer) Apply(d *Dataset) error {
	dim := d.Dim()
	if len(s.Mean) != dim || len(s.Scale) != dim {
		return fmt.Errorf("dataset %s: standardizer fitted on %d features, dataset has %d", d.Name, len(s.Mean), dim)
	}
	if k := slices.IndexFunc(d.X, func(v float32) bool { return v != v }); k >= 0 {
		return fmt.Errorf("dataset %s: record %d, feature %s: missing (NaN); impute it first (FitMeanImputer)", d.Name, k/dim, featureName(d, k%dim))
	}
	for i := range d.Len() {
		row := d.X[i*dim : (i+1)*dim]
		for j, v := range row {
			row[j] = float32((float64(v) - s.Mean[j]) / s.Scale[j])
		}
	}
	return nil
}

// MeanImputer replaces missing feature values, NaN (as LoadCSV and LoadParquet leave them under
// MissingMean), by the feature's mean over the rows it was fitted on. As with the Standardizer, fit
// it on the training rows only and apply it to every record, so that no statistic of the test or
// population records reaches a model; impute before standardising.
type MeanImputer struct {
	Mean []float64 // per-feature mean of the present values of the fitted rows; NaN where none is present
}

// FitMeanImputer computes, in float64, the mean of each feature's present (non-NaN) values over the
// given rows of d. rows must be non-empty and lie in [0, N); they may repeat.
func FitMeanImputer(d *Dataset, rows []int) (*MeanImputer, error) {
	if len(rows) == 0 {
		return nil, fmt.Errorf("dataset %s: cannot fit an imputer on zero rows", d.Name)
	}
	n, dim := d.Len(), d.Dim()
	sum := make([]float64, dim)
	count := make([]int, dim)
	for k, i := range rows {
		if i < 0 || i >= n {
			return nil, fmt.Errorf("dataset %s: imputer row %d (position %d) outside [0, %d)", d.Name, i, k, n)
		}
		for j, v := range d.X[i*dim : (i+1)*dim] {
			if v == v {
				sum[j] += float64(v)
				count[j]++
			}
		}
	}
	for j := range sum {
		if count[j] == 0 {
			sum[j] = math.NaN()
			continue
		}
		sum[j] /= float64(count[j])
	}
	return &MeanImputer{Mean: sum}, nil
}

// Apply replaces every NaN feature of d by the fitted mean, in place, and returns the number of
// values replaced. A NaN in a feature that had no present value in the fitted rows is an error naming
// the record and feature, and leaves d unchanged.
func (m *MeanImputer) Apply(d *Dataset) (int, error) {
	dim := d.Dim()
	if len(m.Mean) != dim {
		return 0, fmt.Errorf("dataset %s: imputer fitted on %d features, dataset has %d", d.Name, len(m.Mean), dim)
	}
	for k, v := range d.X {
		if v != v && math.IsNaN(m.Mean[k%dim]) {
			return 0, fmt.Errorf("dataset %s: record %d, feature %s: missing, and no fitted (training) row has a value of this feature to impute from", d.Name, k/dim, featureName(d, k%dim))
		}
	}
	replaced := 0
	for k, v := range d.X {
		if v != v {
			d.X[k] = float32(m.Mean[k%dim])
			replaced++
		}
	}
	return replaced, nil
}

// featureName names feature j for errors: its name when known, else its index.
func featureName(d *Dataset, j int) string {
	if j < len(d.FeatureNames) {
		return fmt.Sprintf("%d (%s)", j, d.FeatureNames[j])
	}
	return strconv.Itoa(j)
}
