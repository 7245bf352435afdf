// Package dataset holds labelled records for membership-inference audits: features, labels, loaders
// for the standard file formats, standardisation, and the splits and membership matrices that decide
// which model trains on which record.
//
// A Dataset is N records of D float32 features in row-major order (N × D), with one integer class label
// per record. Images keep their per-record shape (C × H × W, channel-major like PyTorch's NCHW) in
// Shape; tabular data has Shape [D].
//
// Loaders read IDX (MNIST, Fashion-MNIST), the CIFAR-10/100 binary format, Purchase100, Texas100 and
// Location as privacytrustlab distributes them, UCI Adult, generic CSV, Parquet and NumPy .npy/.npz files. Every
// loader validates its input and reports the file, line (or record) and field of the first problem,
// as a *ParseError where the input is text. Records are numbered from 0, lines and fields from 1.
// Gzipped files are decompressed transparently.
//
// Splits (PairedMemberships, LiRAMemberships, SplitShadow, HoldOut, SplitByFraction, BalancedAudit)
// are deterministic functions of a seed. Their random numbers come from a PCG generator driven by this
// package's own sampling code, so a seed means the same split on every platform and Go release.
//
// The package knows nothing of models or attacks.
package dataset

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Dataset is N labelled records.
//
// X holds N × Dim() features, row-major: record i is X[i*D : (i+1)*D]. Y holds N labels in
// [0, Classes). Shape is the shape of one record (e.g. [1, 28, 28] or [3, 32, 32] for images, C × H ×
// W; [D] for tabular data); its product is D. FeatureNames (length D) and ClassNames (length Classes)
// are optional. Name says what the data is and where it came from.
type Dataset struct {
	Name         string
	X            []float32
	Y            []int
	Shape        []int
	Classes      int
	FeatureNames []string
	ClassNames   []string

	// Values holds one regression target per record (nil for a classification data set). A regression
	// data set has Classes 1 and every Y 0; Subset and Concat carry Values along.
	Values []float64
	// Groups holds one group identifier per record (a user id: TabularOptions.Group), nil without
	// one; Subset and Concat carry Groups along.
	Groups []string
}

// Len returns the number of records N.
func (d *Dataset) Len() int { return len(d.Y) }

// Dim returns the number of features per record D, the product of Shape.
func (d *Dataset) Dim() int {
	if len(d.Shape) == 0 {
		return 0
	}
	n := 1
	for _, s := range d.Shape {
		n *= s
	}
	return n
}

// Row returns the features of record i. The slice aliases d.X.
func (d *Dataset) Row(i int) []float32 {
	dim := d.Dim()
	return d.X[i*dim : (i+1)*dim : (i+1)*dim]
}

// Validate checks that the shapes agree (len(X) = N × D, optional names have the right lengths), that
// Classes is positive, that every label lies in [0, Classes) and that no feature is NaN or infinite.
// Errors name the record and feature.
func (d *Dataset) Validate() error {
	if len(d.Shape) == 0 {
		return errors.New("dataset: empty record shape")
	}
	for i, s := range d.Shape {
		if s <= 0 {
			return fmt.Errorf("dataset %s: record shape %v: dimension %d is %d, must be positive", d.Name, d.Shape, i, s)
		}
	}
	dim := d.Dim()
	if len(d.X) != len(d.Y)*dim {
		return fmt.Errorf("dataset %s: %d feature values, want %d (%d records × %d features)", d.Name, len(d.X), len(d.Y)*dim, len(d.Y), dim)
	}
	if d.Classes <= 0 {
		return fmt.Errorf("dataset %s: %d classes, must be positive", d.Name, d.Classes)
	}
	if d.FeatureNames != nil && len(d.FeatureNames) != dim {
		return fmt.Errorf("dataset %s: %d feature names for %d features", d.Name, len(d.FeatureNames), dim)
	}
	if d.ClassNames != nil && len(d.ClassNames) != d.Classes {
		return fmt.Errorf("dataset %s: %d class names for %d classes", d.Name, len(d.ClassNames), d.Classes)
	}
	for i, y := range d.Y {
		if y < 0 || y >= d.Classes {
			return fmt.Errorf("dataset %s: record %d: label %d outside [0, %d)", d.Name, i, y, d.Classes)
		}
	}
	for k, v := range d.X {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("dataset %s: record %d feature %d is %v", d.Name, k/dim, k%dim, v)
		}
	}
	if d.Values != nil {
		if len(d.Values) != len(d.Y) {
			return fmt.Errorf("dataset %s: %d regression targets for %d records", d.Name, len(d.Values), len(d.Y))
		}
		for i, v := range d.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("dataset %s: record %d: regression target %v", d.Name, i, v)
			}
		}
	}
	return nil
}

// Subset returns a new dataset holding copies of the given records, in the given order. Indices may
// repeat (sampling with replacement). An index outside [0, N) is an error. The feature and class
// names are shared with d, not copied.
func (d *Dataset) Subset(indices []int) (*Dataset, error) {
	n, dim := d.Len(), d.Dim()
	out := &Dataset{
		Name:         d.Name,
		X:            make([]float32, len(indices)*dim),
		Y:            make([]int, len(indices)),
		Shape:        append([]int(nil), d.Shape...),
		Classes:      d.Classes,
		FeatureNames: d.FeatureNames,
		ClassNames:   d.ClassNames,
	}
	for k, i := range indices {
		if i < 0 || i >= n {
			return nil, fmt.Errorf("dataset %s: subset index %d (position %d) outside [0, %d)", d.Name, i, k, n)
		}
		copy(out.X[k*dim:(k+1)*dim], d.X[i*dim:(i+1)*dim])
		out.Y[k] = d.Y[i]
		if d.Values != nil {
			out.Values = append(out.Values, d.Values[i])
		}
		if d.Groups != nil {
			out.Groups = append(out.Groups, d.Groups[i])
		}
	}
	return out, nil
}

// Concat returns the records of a followed by those of b. The two must have the same record shape;
// the result has max(a.Classes, b.Classes) classes and a's names.
func Concat(a, b *Dataset) (*Dataset, error) {
	if !slices.Equal(a.Shape, b.Shape) {
		return nil, fmt.Errorf("dataset: cannot concatenate %s (records %v) and %s (records %v)", a.Name, a.Shape, b.Name, b.Shape)
	}
	out := &Dataset{
		Name:         a.Name,
		X:            make([]float32, 0, len(a.X)+len(b.X)),
		Y:            make([]int, 0, len(a.Y)+len(b.Y)),
		Shape:        append([]int(nil), a.Shape...),
		Classes:      max(a.Classes, b.Classes),
		FeatureNames: a.FeatureNames,
		ClassNames:   a.ClassNames,
	}
	if b.Classes > a.Classes {
		out.ClassNames = b.ClassNames
	}
	out.X = append(append(out.X, a.X...), b.X...)
	out.Y = append(append(out.Y, a.Y...), b.Y...)
	if (a.Values == nil) != (b.Values == nil) {
		return nil, fmt.Errorf("dataset: cannot concatenate %s and %s: one has regression targets, the other not", a.Name, b.Name)
	}
	if a.Values != nil {
		out.Values = append(append([]float64(nil), a.Values...), b.Values...)
	}
	if (a.Groups == nil) != (b.Groups == nil) {
		return nil, fmt.Errorf("dataset: cannot concatenate %s and %s: one has groups, the other not", a.Name, b.Name)
	}
	if a.Groups != nil {
		out.Groups = append(append([]string(nil), a.Groups...), b.Groups...)
	}
	return out, nil
}

// NormalizeChannels maps every feature of channel c to (x − mean[c]) / std[c], in place, as
// torchvision's Normalize does. The channel is the first dimension of Shape (C × H × W), so mean and
// std need one entry per channel; Privacy Meter uses mean = std = 0.5 for CIFAR, mapping [0, 1] to
// [−1, 1]. Every std must be positive.
func (d *Dataset) NormalizeChannels(mean, std []float32) error {
	if len(d.Shape) == 0 {
		return fmt.Errorf("dataset %s: empty record shape", d.Name)
	}
	c := d.Shape[0]
	if len(mean) != c || len(std) != c {
		return fmt.Errorf("dataset %s: %d channels but %d means and %d standard deviations", d.Name, c, len(mean), len(std))
	}
	for k, s := range std {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return fmt.Errorf("dataset %s: channel %d: standard deviation %v must be positive and finite", d.Name, k, s)
		}
	}
	dim := d.Dim()
	plane := dim / c
	for i := range d.Len() {
		row := d.X[i*dim : (i+1)*dim]
		for k := range c {
			m, s := mean[k], std[k]
			p := row[k*plane : (k+1)*plane]
			for j := range p {
				p[j] = (p[j] - m) / s
			}
		}
	}
	return nil
}

// ClassCounts returns the number of records of each class (length Classes).
func (d *Dataset) ClassCounts() []int {
	counts := make([]int, d.Classes)
	for _, y := range d.Y {
		if y >= 0 && y < d.Classes {
			counts[y]++
		}
	}
	return counts
}

// classesFromLabels returns max(labels)+1, or 1 when there are no labels.
func classesFromLabels(y []int) int {
	m := 0
	for _, v := range y {
		m = max(m, v+1)
	}
	return max(m, 1)
}
