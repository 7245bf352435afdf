package dataset

import (
	"archive/zip"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/pmeter/pmeter/npy"
)

func writeNPY(t *testing.T, dir, name string, a *npy.Array) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := npy.WriteFile(p, a); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeNPZ(t *testing.T, dir, name string, arrays map[string]*npy.Array) string {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for k, a := range arrays {
		w, err := zw.Create(k + ".npy")
		if err != nil {
			t.Fatal(err)
		}
		if err := npy.Encode(w, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadNPY(t *testing.T) {
	dir := t.TempDir()
	x := []float64{0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5}
	want := make([]float32, len(x))
	for i, v := range x {
		want[i] = float32(v)
	}
	// Features (3, 2, 2) in float64; labels (3, 1) int64.
	xp := writeNPY(t, dir, "x.npy", npy.NewFloat64(x, 3, 2, 2))
	yp := writeNPY(t, dir, "y.npy", npy.NewInt64([]int64{2, 0, 4}, 3, 1))
	d, err := LoadNPY(xp, yp)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	sameFloats(t, "features", d.X, want)
	sameInts(t, "labels", d.Y, []int{2, 0, 4})
	sameInts(t, "shape", d.Shape, []int{2, 2})
	if d.Classes != 5 {
		t.Errorf("classes %d", d.Classes)
	}

	// Float32 features and float labels holding integers, from an npz with default and explicit keys.
	f32 := npy.NewFloat32(want, 3, 4)
	ylab := npy.NewFloat64([]float64{1, 1, 0}, 3)
	for _, keys := range [][2]string{{"x", "y"}, {"features", "labels"}} {
		p := writeNPZ(t, dir, "d.npz", map[string]*npy.Array{keys[0]: f32, keys[1]: ylab, "other": ylab})
		d, err := LoadNPZ(p, "", "")
		if err != nil {
			t.Fatal(err)
		}
		sameFloats(t, "npz features", d.X, want)
		sameInts(t, "npz labels", d.Y, []int{1, 1, 0})
		sameInts(t, "npz shape", d.Shape, []int{4})
		d, err = LoadNPZ(p, keys[0], "other")
		if err != nil || d.Len() != 3 {
			t.Errorf("explicit keys: %v", err)
		}
	}
}

func TestLoadNPYErrors(t *testing.T) {
	dir := t.TempDir()
	x := writeNPY(t, dir, "x.npy", npy.NewFloat64(make([]float64, 6), 3, 2))
	nan := writeNPY(t, dir, "nan.npy", npy.NewFloat64([]float64{0, 1, 2, math.NaN(), 4, 5}, 3, 2))
	big := writeNPY(t, dir, "big.npy", npy.NewFloat64([]float64{0, 1, 1e300, 0, 0, 0}, 3, 2))
	y := writeNPY(t, dir, "y.npy", npy.NewInt64([]int64{0, 1, 2}, 3))
	tests := []struct {
		name string
		x, y string
		want []string
	}{
		{"label count", x, writeNPY(t, dir, "y2.npy", npy.NewInt64([]int64{0, 1}, 2)), []string{"y2.npy", "labels have shape (2,); want (3,) or (3, 1)"}},
		{"label matrix", x, writeNPY(t, dir, "y3.npy", npy.NewInt64(make([]int64, 6), 3, 2)), []string{"labels have shape (3, 2)"}},
		{"negative label", x, writeNPY(t, dir, "yn.npy", npy.NewInt64([]int64{0, -1, 2}, 3)), []string{"yn.npy", "record 1: label -1"}},
		{"huge label", x, writeNPY(t, dir, "yh.npy", npy.NewInt64([]int64{0, 1 << 24, 2}, 3)), []string{"yh.npy", "record 1: label 16777216 is not a class index (want 0 to 65535"}},
		{"fractional label", x, writeNPY(t, dir, "yf.npy", npy.NewFloat64([]float64{0, 1.5, 2}, 3)), []string{"yf.npy", "element 1 is 1.5"}},
		{"NaN feature", nan, y, []string{"nan.npy", "record 1 feature 1 is NaN"}},
		{"float32 overflow", big, y, []string{"big.npy", "record 1 feature 0: 1e+300 is beyond the range of a float32 feature"}},
		{"no records", writeNPY(t, dir, "x0.npy", npy.NewFloat64(nil, 0, 2)), writeNPY(t, dir, "y0.npy", npy.NewInt64(nil, 0)), []string{"x0.npy: no records (features of shape (0, 2))"}},
		{"scalar", writeNPY(t, dir, "s.npy", npy.NewFloat64([]float64{1})), y, []string{"s.npy", "scalar"}},
		{"not npy", write(t, dir, "bad.npy", []byte("hello")), y, []string{"bad.npy"}},
	}
	for _, tt := range tests {
		_, err := LoadNPY(tt.x, tt.y)
		wantErr(t, tt.name, err, tt.want...)
	}
	p := writeNPZ(t, dir, "k.npz", map[string]*npy.Array{"a": npy.NewFloat64(make([]float64, 3), 3), "b": npy.NewInt64(make([]int64, 3), 3)})
	_, err := LoadNPZ(p, "", "")
	wantErr(t, "no default keys", err, "k.npz", "no features array", "arrays: a, b")
	_, err = LoadNPZ(p, "a", "c")
	wantErr(t, "missing key", err, `no array "c" for the labels`)
}

func writeNPYBools(path string, b []bool, shape ...int) error {
	if len(shape) == 0 {
		shape = []int{len(b)}
	}
	return npy.WriteFile(path, npy.NewBool(b, shape...))
}
