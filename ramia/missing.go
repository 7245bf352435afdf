package ramia

import (
	"fmt"
	"math"
	"slices"
)

// MissingColumn is one column whose value is missing: its features and the values it may take.
type MissingColumn struct {
	// Name identifies the column in errors.
	Name string
	// Features are the column's feature indices: one for a continuous or integer column, several for a
	// one-hot encoded categorical column.
	Features []int
	// Low and High bound a continuous column (one feature): its value is uniform in [Low, High].
	Low, High float64
	// Values, when set, makes the column categorical: its value (len(Features) numbers) is one of
	// Values, drawn uniformly.
	Values [][]float32
}

// Missing is the data-imputation range (Privacy Meter's range function missing_values,
// sample_data_imputation): the records that agree with the centre everywhere except in the missing
// columns, which take any of their values. Each point draws every missing column independently, in
// column order (a continuous column one uniform number, a categorical one a uniform index), and S
// distinct points are kept.
type Missing struct {
	Columns []MissingColumn
	Samples int
	dim     int
	missing []bool // per feature: in a missing column
}

// NewMissing checks the columns against records of dim features and returns the sampler. Columns must
// not share features; a continuous column needs Low ≤ High, finite; a categorical one at least one value
// of the column's width. S must not exceed the number of distinct imputations when every column is
// categorical.
func NewMissing(columns []MissingColumn, samples, dim int) (*Missing, error) {
	if len(columns) == 0 {
		return nil, fmt.Errorf("missing-values range: no missing column")
	}
	if samples < 1 {
		return nil, fmt.Errorf("missing-values range: %d samples per range; want at least 1", samples)
	}
	m := &Missing{Columns: columns, Samples: samples, dim: dim, missing: make([]bool, dim)}
	distinct := 1.0
	for k, c := range columns {
		name := c.Name
		if name == "" {
			name = fmt.Sprintf("column %d", k)
		}
		if len(c.Features) == 0 {
			return nil, fmt.Errorf("missing-values range: %s has no feature", name)
		}
		for _, f := range c.Features {
			if f < 0 || f >= dim {
				return nil, fmt.Errorf("missing-values range: %s: feature %d does not exist (records have %d)", name, f, dim)
			}
			if m.missing[f] {
				return nil, fmt.Errorf("missing-values range: %s: feature %d belongs to another missing column too", name, f)
			}
			m.missing[f] = true
		}
		if c.Values == nil {
			if len(c.Features) != 1 {
				return nil, fmt.Errorf("missing-values range: %s has %d features but no values; a continuous column has one feature", name, len(c.Features))
			}
			if math.IsNaN(c.Low) || math.IsNaN(c.High) || math.IsInf(c.Low, 0) || math.IsInf(c.High, 0) || c.Low > c.High {
				return nil, fmt.Errorf("missing-values range: %s: range [%v, %v]; want finite bounds, low ≤ high", name, c.Low, c.High)
			}
			distinct = math.Inf(1)
			continue
		}
		if len(c.Values) == 0 {
			return nil, fmt.Errorf("missing-values range: %s is categorical but has no value", name)
		}
		for j, v := range c.Values {
			if len(v) != len(c.Features) {
				return nil, fmt.Errorf("missing-values range: %s: value %d has %d numbers, want %d (one per feature)", name, j, len(v), len(c.Features))
			}
		}
		distinct *= float64(len(c.Values))
	}
	if float64(samples) > distinct {
		return nil, fmt.Errorf("missing-values range: %d distinct points requested, but the missing columns take only %v distinct values together (Privacy Meter loops forever here)", samples, distinct)
	}
	return m, nil
}

// Size implements Sampler.
func (m *Missing) Size() int { return m.Samples }

// Check implements Sampler: the centre must have the records' length, and the values of its missing
// columns must be among the column's values (so that the range contains the centre).
func (m *Missing) Check(centre []float32) error {
	if len(centre) != m.dim {
		return fmt.Errorf("%d features, want %d", len(centre), m.dim)
	}
	for k, c := range m.Columns {
		if !m.columnContains(c, centre) {
			name := c.Name
			if name == "" {
				name = fmt.Sprintf("column %d", k)
			}
			vals := make([]float32, len(c.Features))
			for j, f := range c.Features {
				vals[j] = centre[f]
			}
			if c.Values == nil {
				return fmt.Errorf("missing column %s has value %v, outside its range [%v, %v]", name, vals[0], c.Low, c.High)
			}
			return fmt.Errorf("missing column %s has value %v, which is not among the column's %d values", name, vals, len(c.Values))
		}
	}
	return nil
}

// columnContains reports whether x's values of column c are among those c takes.
func (m *Missing) columnContains(c MissingColumn, x []float32) bool {
	if c.Values == nil {
		v := float64(x[c.Features[0]])
		return v >= c.Low && v <= c.High
	}
	for _, v := range c.Values {
		ok := true
		for j, f := range c.Features {
			if x[f] != v[j] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// Contains implements Sampler: x equals the centre outside the missing columns, and each missing column
// of x holds one of its values.
func (m *Missing) Contains(centre, x []float32) bool {
	for j := range centre {
		if !m.missing[j] && x[j] != centre[j] && !(isNaN32(x[j]) && isNaN32(centre[j])) {
			return false
		}
	}
	for _, c := range m.Columns {
		if !m.columnContains(c, x) {
			return false
		}
	}
	return true
}

// Sample implements Sampler. S = 1 samples the centre alone.
func (m *Missing) Sample(dst, centre []float32, rng Draws) ([]float32, error) {
	return m.sample(dst, centre, rng, nil)
}

// sample is Sample; visit, when set, is called for every candidate with the values drawn for its
// continuous columns (before they are stored as float32) and whether it duplicates an earlier point.
func (m *Missing) sample(dst, centre []float32, rng Draws, visit func(imputed []float64, duplicate bool)) ([]float32, error) {
	if len(centre) != m.dim {
		return nil, fmt.Errorf("missing-values range: the centre has %d features, want %d", len(centre), m.dim)
	}
	if m.Samples == 1 {
		return append(dst, centre...), nil
	}
	d := m.dim
	start := len(dst)
	cand := make([]float32, d)
	var imputed []float64
	for kept, tries := 0, 0; kept < m.Samples; tries++ {
		if tries >= maxAttempts*m.Samples {
			return nil, fmt.Errorf("missing-values range: %d of %d distinct points after %d draws", kept, m.Samples, tries)
		}
		copy(cand, centre)
		imputed = imputed[:0]
		for _, c := range m.Columns {
			if c.Values == nil {
				// NumPy's legacy uniform(low, high): low + (high − low)·u, the product rounded on its own.
				v := c.Low + float64((c.High-c.Low)*rng.Uniform())
				imputed = append(imputed, v)
				cand[c.Features[0]] = float32(v)
				continue
			}
			v := c.Values[rng.IntN(len(c.Values))]
			for j, f := range c.Features {
				cand[f] = v[j]
			}
		}
		dup := slices.ContainsFunc(pointsOf(dst[start:], d), func(p []float32) bool { return sameValues(p, cand) })
		if visit != nil {
			visit(imputed, dup)
		}
		if !dup {
			dst = append(dst, cand...)
			kept++
		}
	}
	return dst, nil
}

// pointsOf splits v into rows of d values.
func pointsOf(v []float32, d int) [][]float32 {
	out := make([][]float32, 0, len(v)/d)
	for i := 0; i+d <= len(v); i += d {
		out = append(out, v[i:i+d])
	}
	return out
}

// sameValues reports whether a and b are equal value for value, NaN never equal (as Python compares
// tuples of floats, so that a point with a NaN never duplicates another).
func sameValues(a, b []float32) bool {
	for j := range a {
		if a[j] != b[j] {
			return false
		}
	}
	return true
}
