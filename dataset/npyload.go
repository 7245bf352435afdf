package dataset

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pmeter/pmeter/npy"
)

// LoadNPY reads features and labels from two .npy files. The features array has shape (N, …): record
// i is its i-th slice, flattened row-major, and Shape is the trailing dimensions (an (N,) array gives
// one feature). Any numeric or bool dtype is accepted and converted to float32; NaN, infinite values
// and values beyond float32's range are an error. Labels must have shape (N,) or (N, 1), hold integers (integral floats are accepted) and
// lie in [0, 65,536); Classes is the largest label plus one.
func LoadNPY(featuresPath, labelsPath string) (*Dataset, error) {
	x, err := npy.ReadFile(featuresPath)
	if err != nil {
		return nil, err
	}
	y, err := npy.ReadFile(labelsPath)
	if err != nil {
		return nil, err
	}
	return fromArrays(x, y, featuresPath, labelsPath, "npy:"+filepath.Base(featuresPath))
}

// Keys LoadNPZ tries, in order, when the caller names none.
var (
	npzFeatureKeys = []string{"x", "X", "features", "data", "inputs", "images"}
	npzLabelKeys   = []string{"y", "Y", "labels", "targets", "label", "target"}
)

// LoadNPZ reads features and labels from two arrays of a .npz archive (np.savez or
// np.savez_compressed), with the conventions of LoadNPY. featuresKey and labelsKey name the arrays; an
// empty key means the first present of "x", "X", "features", "data", "inputs", "images" (features) or
// "y", "Y", "labels", "targets", "label", "target" (labels).
func LoadNPZ(name, featuresKey, labelsKey string) (*Dataset, error) {
	arrays, err := npy.ReadNPZ(name)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(arrays))
	for k := range arrays {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	pick := func(key string, defaults []string, what string) (*npy.Array, string, error) {
		if key != "" {
			if a, ok := arrays[key]; ok {
				return a, key, nil
			}
			return nil, "", fmt.Errorf("%s: no array %q for the %s (arrays: %s)", name, key, what, strings.Join(keys, ", "))
		}
		for _, k := range defaults {
			if a, ok := arrays[k]; ok {
				return a, k, nil
			}
		}
		return nil, "", fmt.Errorf("%s: no %s array named %s; name it (arrays: %s)", name, what, strings.Join(defaults, ", "), strings.Join(keys, ", "))
	}
	x, xk, err := pick(featuresKey, npzFeatureKeys, "features")
	if err != nil {
		return nil, err
	}
	y, yk, err := pick(labelsKey, npzLabelKeys, "labels")
	if err != nil {
		return nil, err
	}
	return fromArrays(x, y, name+":"+xk, name+":"+yk, "npz:"+filepath.Base(name))
}

func fromArrays(x, y *npy.Array, xName, yName, name string) (*Dataset, error) {
	if len(x.Shape) == 0 {
		return nil, fmt.Errorf("%s: features are a scalar; want shape (N, …)", xName)
	}
	n := x.Shape[0]
	shape := append([]int(nil), x.Shape[1:]...)
	if len(shape) == 0 {
		shape = []int{1}
	}
	switch {
	case len(y.Shape) == 1 && y.Shape[0] == n:
	case len(y.Shape) == 2 && y.Shape[0] == n && y.Shape[1] == 1:
	default:
		return nil, fmt.Errorf("%s: labels have shape %s; want (%d,) or (%d, 1) to match features %s", yName, npy.ShapeString(y.Shape), n, n, npy.ShapeString(x.Shape))
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: no records (features of shape %s)", xName, npy.ShapeString(x.Shape))
	}
	d := &Dataset{Name: name, Shape: shape, Y: make([]int, n)}
	dim := d.Dim()
	if dim == 0 {
		return nil, fmt.Errorf("%s: features have shape %s, zero values per record", xName, npy.ShapeString(x.Shape))
	}
	if x.Kind == npy.Float32 {
		d.X = x.F32
		for k, v := range d.X {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("%s: record %d feature %d is %v", xName, k/dim, k%dim, v)
			}
		}
	} else {
		f := x.Float64s()
		d.X = make([]float32, len(f))
		for k, v := range f {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%s: record %d feature %d is %v", xName, k/dim, k%dim, v)
			}
			var err error
			if d.X[k], err = toFloat32(v, func() string { return fmt.Sprint(v) }); err != nil {
				return nil, fmt.Errorf("%s: record %d feature %d: %w", xName, k/dim, k%dim, err)
			}
		}
	}
	labels, err := y.Int64s()
	if err != nil {
		return nil, fmt.Errorf("%s: labels: %w", yName, err)
	}
	for i, v := range labels {
		if v < 0 || v >= labelCap {
			return nil, fmt.Errorf("%s: record %d: label %d is not a class index (want 0 to %d: Classes is the largest label plus one)", yName, i, v, labelCap-1)
		}
		d.Y[i] = int(v)
	}
	d.Classes = classesFromLabels(d.Y)
	return d, nil
}
