package dataset

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func tiny() *Dataset {
	return &Dataset{
		Name:    "tiny",
		X:       []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
		Y:       []int{0, 1, 2, 1},
		Shape:   []int{3},
		Classes: 3,
	}
}

func TestSubset(t *testing.T) {
	d := tiny()
	s, err := d.Subset([]int{3, 0, 3})
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{9, 10, 11, 0, 1, 2, 9, 10, 11}
	for i := range want {
		if s.X[i] != want[i] {
			t.Fatalf("X = %v, want %v", s.X, want)
		}
	}
	if s.Y[0] != 1 || s.Y[1] != 0 || s.Y[2] != 1 || s.Len() != 3 || s.Dim() != 3 {
		t.Fatalf("subset labels %v len %d dim %d", s.Y, s.Len(), s.Dim())
	}
	s.X[0] = 100
	if d.X[9] != 9 {
		t.Fatal("subset aliases the original")
	}
	for _, bad := range [][]int{{4}, {-1}} {
		if _, err := d.Subset(bad); err == nil || !strings.Contains(err.Error(), "outside [0, 4)") {
			t.Errorf("Subset(%v) error = %v", bad, err)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Dataset)
		want string // substring of the error; "" for none
	}{
		{"ok", func(*Dataset) {}, ""},
		{"label too big", func(d *Dataset) { d.Y[2] = 3 }, "record 2: label 3 outside [0, 3)"},
		{"negative label", func(d *Dataset) { d.Y[0] = -1 }, "record 0: label -1"},
		{"short X", func(d *Dataset) { d.X = d.X[:11] }, "11 feature values, want 12"},
		{"NaN", func(d *Dataset) { d.X[7] = float32(math.NaN()) }, "record 2 feature 1 is NaN"},
		{"Inf", func(d *Dataset) { d.X[0] = float32(math.Inf(1)) }, "record 0 feature 0 is +Inf"},
		{"no classes", func(d *Dataset) { d.Classes = 0 }, "0 classes"},
		{"names", func(d *Dataset) { d.FeatureNames = []string{"a"} }, "1 feature names for 3 features"},
		{"class names", func(d *Dataset) { d.ClassNames = []string{"a"} }, "1 class names for 3 classes"},
		{"shape", func(d *Dataset) { d.Shape = []int{0} }, "must be positive"},
	}
	for _, tt := range tests {
		d := tiny()
		tt.edit(d)
		err := d.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: error %v, want it to contain %q", tt.name, err, tt.want)
		}
	}
}

func TestConcatAndCounts(t *testing.T) {
	a, b := tiny(), tiny()
	b.Classes = 5
	b.Y[0] = 4
	c, err := Concat(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != 8 || c.Classes != 5 || c.Y[4] != 4 || c.X[12] != 0 || c.X[23] != 11 {
		t.Fatalf("concat: len %d classes %d Y %v", c.Len(), c.Classes, c.Y)
	}
	if got := c.ClassCounts(); got[0] != 1 || got[1] != 4 || got[2] != 2 || got[4] != 1 {
		t.Fatalf("class counts %v", got)
	}
	b.Shape = []int{1, 3}
	if _, err := Concat(a, b); err == nil {
		t.Fatal("concat of different shapes succeeded")
	}
}

func TestNormalizeChannels(t *testing.T) {
	// Two records of 2 channels × 2 pixels.
	d := &Dataset{X: []float32{0, 1, 0.5, 0.25, 1, 1, 0, 0}, Y: []int{0, 0}, Shape: []int{2, 1, 2}, Classes: 1}
	if err := d.NormalizeChannels([]float32{0.5, 0}, []float32{0.5, 0.25}); err != nil {
		t.Fatal(err)
	}
	want := []float32{-1, 1, 2, 1, 1, 1, 0, 0}
	for i := range want {
		if d.X[i] != want[i] {
			t.Fatalf("X = %v, want %v", d.X, want)
		}
	}
	if err := d.NormalizeChannels([]float32{0}, []float32{1}); err == nil {
		t.Error("wrong channel count accepted")
	}
	if err := d.NormalizeChannels([]float32{0, 0}, []float32{1, 0}); err == nil {
		t.Error("zero std accepted")
	}
}

func TestValuesTravel(t *testing.T) {
	d := &Dataset{Name: "r", X: []float32{1, 2, 3}, Y: []int{0, 0, 0}, Shape: []int{1}, Classes: 1, Values: []float64{0.5, -1, 2}}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := d.Subset([]int{2, 0})
	if err != nil || !slices.Equal(s.Values, []float64{2, 0.5}) {
		t.Fatalf("Subset values %v, %v", s.Values, err)
	}
	c, err := Concat(d, s)
	if err != nil || !slices.Equal(c.Values, []float64{0.5, -1, 2, 2, 0.5}) {
		t.Fatalf("Concat values %v, %v", c.Values, err)
	}
	if _, err := Concat(d, &Dataset{Name: "c", X: []float32{1}, Y: []int{0}, Shape: []int{1}, Classes: 1}); err == nil {
		t.Error("Concat of a regression and a classification data set accepted")
	}
	d.Values[1] = math.NaN()
	if err := d.Validate(); err == nil {
		t.Error("NaN target accepted")
	}
}

func TestUserMemberships(t *testing.T) {
	users, names := UserIndex([]string{"b", "a", "b", "c"})
	if !slices.Equal(users, []int{0, 1, 0, 2}) || !slices.Equal(names, []string{"b", "a", "c"}) {
		t.Fatalf("UserIndex: %v %v", users, names)
	}
	byUser := &Memberships{N: 3, M: 2, Members: []bool{true, false, false, true, true, true}}
	ms, err := UserMemberships(users, byUser)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, false, false, true, true, false, true, true}; !slices.Equal(ms.Members, want) {
		t.Errorf("record memberships %v, want %v", ms.Members, want)
	}
	if _, err := UserMemberships([]int{3}, byUser); err == nil {
		t.Error("user out of range accepted")
	}
}
