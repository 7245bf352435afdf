package ramia

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/internal/vectortest"
)

// replay returns Privacy Meter's recorded draws in order; it fails the test when they run out.
type replay struct {
	t       *testing.T
	normal  []float64
	uniform []float64
	ints    []int64
	// low gives the low end of the column of the k-th integer draw (randint returns low + index).
	low func(k int) int
	nk  int
}

func (r *replay) Normal() float64 {
	if len(r.normal) == 0 {
		r.t.Fatal("the recorded normal draws ran out")
	}
	v := r.normal[0]
	r.normal = r.normal[1:]
	return v
}

func (r *replay) Uniform() float64 {
	if len(r.uniform) == 0 {
		r.t.Fatal("the recorded uniform draws ran out")
	}
	v := r.uniform[0]
	r.uniform = r.uniform[1:]
	return v
}

func (r *replay) IntN(n int) int {
	if len(r.ints) == 0 {
		r.t.Fatal("the recorded integer draws ran out")
	}
	v := int(r.ints[0]) - r.low(r.nk)
	r.ints = r.ints[1:]
	r.nk++
	if v < 0 || v >= n {
		r.t.Fatalf("recorded integer draw %d outside [0, %d)", v, n)
	}
	return v
}

func f32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// shapeKey is the file-name key of a shape: "20", "3x4x4".
func shapeKey(shape []any) string {
	var parts []string
	for _, d := range shape {
		parts = append(parts, strconv.Itoa(int(d.(float64))))
	}
	return strings.Join(parts, "x")
}

func testSamplerL2(t *testing.T, c *vectortest.Case) {
	s := c.Int(t, "sample_size")
	for _, sh := range c.Params["shapes"].([]any) {
		key := shapeKey(sh.([]any))
		centres := c.Array(t, "centers_"+key)
		b := centres.Shape[0]
		d := len(centres.Float64s()) / b
		radius := c.F64(t, "radius_"+key)[0]
		l2, err := NewL2(radius, s, attack.CompatPrivacyMeter)
		if err != nil {
			t.Fatal(err)
		}
		rng := &replay{t: t, normal: c.F64(t, "normal_draws_"+key)}
		var samples, norms []float64
		var accepted []bool
		var counts []int64
		all := f32(centres.Float64s())
		for i := range b {
			n := 0
			pts, err := l2.sample(nil, all[i*d:(i+1)*d], rng, func(norm float64, ok bool) {
				norms, accepted = append(norms, norm), append(accepted, ok)
				n++
			})
			if err != nil {
				t.Fatal(err)
			}
			samples = append(samples, f64(pts)...)
			counts = append(counts, int64(n))
		}
		shape := append([]int{b, s}, centres.Shape[1:]...)
		if len(shape) > 3 && shape[2] == 1 {
			// Privacy Meter squeezes a centre whose first dimension is 1 (a 1 × H × W image gives H × W
			// samples); the values are the same.
			shape = append(shape[:2], shape[3:]...)
		}
		c.Check(t, "samples_"+key, samples, shape...)
		c.CheckBool(t, "accepted_"+key, accepted)
		c.Check(t, "candidate_norms_"+key, norms, len(norms))
		c.CheckInt(t, "n_candidates_"+key, counts)
		if len(rng.normal) != 0 {
			t.Errorf("%s: %d recorded draws left unused", key, len(rng.normal))
		}
	}
}

func testSamplerMissing(t *testing.T, c *vectortest.Case) {
	s := c.Int(t, "sample_size")
	k := c.Int(t, "num_missing_feats")
	cat := c.Params["is_categorical"].(bool)
	centres := c.Array(t, "centers")
	b, d := centres.Shape[0], centres.Shape[1]
	if k == 0 {
		k = d // Privacy Meter's x[-0:] is the whole vector
	}
	ranges := c.F64(t, "col_ranges")
	// Privacy Meter's columns: the last k features, each its own column.
	var cols []MissingColumn
	for j := range k {
		col := MissingColumn{Name: fmt.Sprintf("feature %d", d-k+j), Features: []int{d - k + j}, Low: ranges[2*j], High: ranges[2*j+1]}
		if cat {
			for v := int(ranges[2*j]); v <= int(ranges[2*j+1]); v++ {
				col.Values = append(col.Values, []float32{float32(v)})
			}
		}
		cols = append(cols, col)
	}
	m, err := NewMissing(cols, s, d)
	if err != nil {
		t.Fatal(err)
	}
	rng := &replay{t: t, low: func(n int) int { return int(ranges[2*(n%k)]) }}
	if cat {
		rng.ints = c.Ints(t, "randint_draws")
	} else {
		rng.uniform = c.F64(t, "uniform_draws")
	}
	var samples, imputed []float64
	var dups []bool
	var counts []int64
	all := f32(centres.Float64s())
	for i := range b {
		n := 0
		pts, err := m.sample(nil, all[i*d:(i+1)*d], rng, func(v []float64, dup bool) {
			imputed, dups = append(imputed, v...), append(dups, dup)
			n++
		})
		if err != nil {
			t.Fatal(err)
		}
		samples = append(samples, f64(pts)...)
		counts = append(counts, int64(n))
	}
	c.Check(t, "samples", samples, b, s, d)
	c.CheckBool(t, "duplicate", dups)
	c.CheckInt(t, "n_candidates", counts)
	if c.Has("imputed_values") {
		c.Check(t, "imputed_values", imputed, len(dups), k)
	}
}
