package ramia

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/attack"
)

func TestL2(t *testing.T) {
	centre := []float32{1, -2, 0.5, 3, 0, 0, 7, -1}
	l2, err := NewL2(0.7, 25, "")
	if err != nil {
		t.Fatal(err)
	}
	pts, err := l2.Sample(nil, centre, NewDraws(3))
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 25*len(centre) {
		t.Fatalf("%d values, want %d", len(pts), 25*len(centre))
	}
	for k, p := range pointsOf(pts, len(centre)) {
		if !l2.Contains(centre, p) {
			t.Errorf("point %d lies outside the ball", k)
		}
		if slices.Equal(p, centre) {
			t.Errorf("point %d is the centre", k)
		}
	}
	again, _ := l2.Sample(nil, centre, NewDraws(3))
	if !slices.Equal(pts, again) {
		t.Error("the same seed drew different points")
	}
	one, _ := NewL2(0.7, 1, "")
	if p, _ := one.Sample(nil, centre, NewDraws(3)); !slices.Equal(p, centre) {
		t.Errorf("S = 1 sampled %v, want the centre", p)
	}
	far := slices.Clone(centre)
	far[3] += 0.71
	if l2.Contains(centre, far) || !l2.Contains(centre, centre) {
		t.Error("Contains disagrees with the radius")
	}
	for _, tc := range []struct {
		r float64
		s int
	}{{0, 3}, {math.Inf(1), 3}, {math.NaN(), 3}, {1, 0}} {
		if _, err := NewL2(tc.r, tc.s, ""); err == nil {
			t.Errorf("NewL2(%v, %d) accepted", tc.r, tc.s)
		}
	}
	if err := l2.Check([]float32{1, float32(math.NaN())}); err == nil || !strings.Contains(err.Error(), "feature 1") {
		t.Errorf("Check of a NaN centre: %v", err)
	}
}

func TestMissing(t *testing.T) {
	// Feature 0 continuous in [-1, 1]; features 2..4 a one-hot column of three values.
	hot := [][]float32{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}
	cols := []MissingColumn{
		{Name: "age", Features: []int{0}, Low: -1, High: 1},
		{Name: "colour", Features: []int{2, 3, 4}, Values: hot},
	}
	m, err := NewMissing(cols, 6, 5)
	if err != nil {
		t.Fatal(err)
	}
	centre := []float32{0.25, 9, 0, 1, 0}
	if err := m.Check(centre); err != nil {
		t.Fatal(err)
	}
	pts, err := m.Sample(nil, centre, NewDraws(5))
	if err != nil {
		t.Fatal(err)
	}
	seen := pointsOf(pts, 5)
	for k, p := range seen {
		if !m.Contains(centre, p) || p[1] != 9 {
			t.Errorf("point %d = %v is not in the range", k, p)
		}
		for j := range k {
			if slices.Equal(seen[j], p) {
				t.Errorf("points %d and %d are equal", j, k)
			}
		}
	}
	for _, tc := range []struct {
		x    []float32
		want bool
	}{
		{[]float32{-1, 9, 0, 0, 1}, true},
		{[]float32{1.5, 9, 0, 0, 1}, false}, // outside the continuous range
		{[]float32{0, 8, 0, 0, 1}, false},   // a kept feature differs
		{[]float32{0, 9, 1, 1, 0}, false},   // not a value of the one-hot column
	} {
		if got := m.Contains(centre, tc.x); got != tc.want {
			t.Errorf("Contains(%v) = %v, want %v", tc.x, got, tc.want)
		}
	}
	if err := m.Check([]float32{2, 9, 0, 1, 0}); err == nil || !strings.Contains(err.Error(), "age has value 2, outside its range [-1, 1]") {
		t.Errorf("Check of a centre outside the range: %v", err)
	}
	if err := m.Check([]float32{0, 9, 1, 1, 0}); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Errorf("Check of a centre with an unknown category: %v", err)
	}
	for _, tc := range []struct {
		cols []MissingColumn
		s    int
		err  string
	}{
		{nil, 3, "no missing column"},
		{[]MissingColumn{{Name: "x", Features: []int{7}, Low: 0, High: 1}}, 3, "feature 7 does not exist"},
		{[]MissingColumn{{Name: "x", Features: []int{0}, Low: 2, High: 1}}, 3, "low ≤ high"},
		{[]MissingColumn{{Name: "x", Features: []int{0, 1}}}, 3, "a continuous column has one feature"},
		{[]MissingColumn{{Name: "x", Features: []int{0}, Values: [][]float32{{0}, {1}}}, {Name: "y", Features: []int{1}, Values: [][]float32{{0}, {1}}}}, 5, "only 4 distinct values"},
		{[]MissingColumn{{Name: "x", Features: []int{0}, Low: 0, High: 1}, {Name: "y", Features: []int{0}, Low: 0, High: 1}}, 3, "belongs to another missing column"},
		{[]MissingColumn{{Name: "x", Features: []int{0, 1}, Values: [][]float32{{0}}}}, 1, "value 0 has 1 numbers, want 2"},
	} {
		if _, err := NewMissing(tc.cols, tc.s, 5); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("NewMissing(%+v, %d): error %v, want %q", tc.cols, tc.s, err, tc.err)
		}
	}
}

func TestGeometric(t *testing.T) {
	// A 1 × 3 × 4 image with distinct pixels.
	img := []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	g := &Geometric{Shape: []int{1, 3, 4}}
	for _, tc := range []struct {
		t    string
		want []float32
	}{
		{"horizontal_flip", []float32{3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8}},
		{"vertical_flip", []float32{8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3}},
		{"shift:1,0", []float32{0, 0, 1, 2, 4, 4, 5, 6, 8, 8, 9, 10}},
		{"shift:0,-1", []float32{4, 5, 6, 7, 8, 9, 10, 11, 8, 9, 10, 11}},
		{"rotate:180", []float32{11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}},
		{"rotate:0", img},
		{"rotate:360", img},
	} {
		tr, err := ParseTransform(tc.t)
		if err != nil {
			t.Fatal(err)
		}
		if got := g.Apply(tr, img); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.t, got, tc.want)
		}
		if tr.String() != tc.t {
			t.Errorf("%s prints as %s", tc.t, tr)
		}
	}
	// Four quarter turns of a square image are the identity; one is a transpose and a flip.
	sq := &Geometric{Shape: []int{2, 3, 3}}
	x := make([]float32, 18)
	for i := range x {
		x[i] = float32(i)
	}
	quarter, _ := ParseTransform("rotate:90")
	y := x
	for range 4 {
		y = sq.Apply(quarter, y)
	}
	if !slices.Equal(y, x) {
		t.Errorf("four quarter turns: %v", y)
	}
	if q := sq.Apply(quarter, x); q[0] != 2 || q[2] != 8 || q[9] != 11 {
		t.Errorf("a quarter turn (counter-clockwise): %v", q)
	}
	ts := []Transform{{Kind: HorizontalFlip}, {Kind: Rotate, Angle: 15}}
	geo, err := NewGeometric([]int{1, 3, 4}, ts, 3)
	if err != nil || !geo.IncludeCentre || geo.Size() != 3 {
		t.Fatalf("NewGeometric with S = transforms + 1: %+v, %v", geo, err)
	}
	pts, err := geo.Sample(nil, img, nil)
	if err != nil || !slices.Equal(pts[:12], img) || !slices.Equal(pts[12:24], geo.Apply(ts[0], img)) {
		t.Errorf("Sample: %v, %v", pts, err)
	}
	if !geo.Contains(img, pts[24:]) || geo.Contains(img, g.Apply(Transform{Kind: VerticalFlip}, img)) {
		t.Error("Contains disagrees with the transforms")
	}
	if geo2, _ := NewGeometric([]int{1, 3, 4}, ts, 2); geo2.IncludeCentre {
		t.Error("S = transforms includes the centre")
	}
	for _, tc := range []struct {
		shape []int
		s     int
		err   string
	}{{[]int{12}, 3, "want images"}, {[]int{1, 3, 4}, 5, "want 3 (the image and its transforms) or 2"}} {
		if _, err := NewGeometric(tc.shape, ts, tc.s); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("NewGeometric(%v, %d): %v, want %q", tc.shape, tc.s, err, tc.err)
		}
	}
	for _, bad := range []string{"rotate", "rotate:x", "shift:1", "flip", "horizontal_flip:2"} {
		if _, err := ParseTransform(bad); err == nil {
			t.Errorf("ParseTransform(%q) accepted", bad)
		}
	}
}

func TestCheckNonMembers(t *testing.T) {
	l2, _ := NewL2(1, 3, "")
	centres := []float32{0, 0, 5, 5, 10, 10}
	members := []bool{true, false, false}
	training := []float32{0, 0, 10.5, 10.5, 20, 20}
	err := CheckNonMembers(context.Background(), l2, centres, members, training, 2)
	if err == nil || !strings.Contains(err.Error(), "the range around record 2, a non-member, contains training record 1") {
		t.Errorf("CheckNonMembers: %v", err)
	}
	if err := CheckNonMembers(context.Background(), l2, centres[:4], members[:2], training, 2); err != nil {
		t.Errorf("CheckNonMembers of clean ranges: %v", err)
	}
	in, err := Contained(context.Background(), l2, centres, training, 2, []int{0, -1, -1})
	if err != nil || len(in[0]) != 0 || len(in[1]) != 0 || !slices.Equal(in[2], []int{1}) {
		t.Errorf("Contained: %v, %v", in, err)
	}
	texts := TextRanges{Texts: [][]string{{"a b c", "a x c"}, {"d e f", "d e g"}}}
	if s, err := texts.Size(); s != 2 || err != nil {
		t.Errorf("Size: %d, %v", s, err)
	}
	train := map[string]bool{"a b c": true, "d e g": true}
	if err := texts.Check([]bool{true, false}, func(s string) bool { return train[s] }); err == nil || !strings.Contains(err.Error(), `range 1, a non-member, contains training text "d e g"`) {
		t.Errorf("TextRanges.Check: %v", err)
	}
	if _, err := (TextRanges{Texts: [][]string{{"a"}, {"b", "c"}}}).Size(); err == nil {
		t.Error("ranges of different sizes accepted")
	}
}

func TestRangesErrors(t *testing.T) {
	d := &attack.Data{N: 4, M: 2, Q: 1, Signals: make([]float64, 8), Members: []bool{true, false, true, false, false, true, true, false}}
	if _, err := NewRanges(d, 2); err == nil || !strings.Contains(err.Error(), "sample 1 of range 1 is IN model 0 but sample 0 is not") {
		t.Errorf("NewRanges with mixed memberships: %v", err)
	}
	if _, err := NewRanges(d, 3); err == nil || !strings.Contains(err.Error(), "do not form ranges of 3") {
		t.Errorf("NewRanges with a partial range: %v", err)
	}
	if _, err := FromSignals(make([]float64, 7), nil, []bool{true, false}, 2, 2, "", attack.DesignAuto); err == nil || !strings.Contains(err.Error(), "7 signals, want 4") {
		t.Errorf("FromSignals with a wrong count: %v", err)
	}
	if _, err := Audit(context.Background(), nil, []int{0}, Config{}); err == nil {
		t.Error("Audit of no ranges accepted")
	}
}
