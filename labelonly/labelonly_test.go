package labelonly

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// linear is the oracle of a linear two-class model: label 1 where w·x + b > 0. The distance of x to its
// boundary is |w·x + b| / ‖w‖.
func linear(w []float64, b float64) Oracle {
	return func(_ context.Context, x []float32, rows int) ([]int, error) {
		d := len(w)
		out := make([]int, rows)
		for i := range out {
			s := b
			for j, wj := range w {
				s += wj * float64(x[i*d+j])
			}
			if s > 0 {
				out[i] = 1
			}
		}
		return out, nil
	}
}

// TestDistanceLinear checks the search on linear models, where the distance is known: it never
// underestimates it, and within 1,000 queries it finds it to 1 % in 2 dimensions, 5 % in 20 and 15 % in
// 100 (the first binary search alone, from a far start, is off by a factor that depends on the angle).
func TestDistanceLinear(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		d   int
		tol float64
	}{{2, 0.01}, {20, 0.05}, {100, 0.15}} {
		d, tol := c.d, c.tol
		w := make([]float64, d)
		nw := 0.0
		for j := range w {
			w[j] = r.NormFloat64()
			nw += w[j] * w[j]
		}
		nw = math.Sqrt(nw)
		oracle := linear(w, 0.3)
		for trial := 0; trial < 5; trial++ {
			x := make([]float32, d)
			s := 0.3
			for j := range x {
				x[j] = float32(r.NormFloat64())
				s += w[j] * float64(x[j])
			}
			y := 0
			if s > 0 {
				y = 1
			}
			want := math.Abs(s) / nw
			got, used, err := Distance(context.Background(), oracle, x, y, nil, BoundaryConfig{Queries: 1000, Seed: uint64(trial)})
			if err != nil {
				t.Fatal(err)
			}
			if used > 1000 {
				t.Errorf("d = %d: %d queries, budget 1000", d, used)
			}
			if got < want*(1-1e-3) || got > want*(1+tol) {
				t.Errorf("d = %d, trial %d: distance %v, want %v (the search may only overestimate)", d, trial, got, want)
			}
			// A misclassified record is at distance 0.
			if z, _, _ := Distance(context.Background(), oracle, x, 1-y, nil, BoundaryConfig{}); z != 0 {
				t.Errorf("misclassified record: distance %v", z)
			}
		}
	}
}

// TestAugmentations checks flips and shifts on a 1 × 2 × 3 image by hand, the noise's determinism, and
// Correct against a hand-made oracle.
func TestAugmentations(t *testing.T) {
	shape := []int{1, 2, 3}
	augs := Augmentations(shape, AugmentConfig{})
	if len(augs) != 18 || augs[0] != (Augmentation{}) {
		t.Fatalf("%d augmentations, first %+v; want 18, the identity first", len(augs), augs[0])
	}
	x := []float32{1, 2, 3, 4, 5, 6}
	dst := make([]float32, 6)
	for _, tc := range []struct {
		a    Augmentation
		want []float32
	}{
		{Augmentation{}, []float32{1, 2, 3, 4, 5, 6}},
		{Augmentation{Flip: true}, []float32{3, 2, 1, 6, 5, 4}},
		{Augmentation{DX: 1}, []float32{0, 1, 2, 0, 4, 5}},
		{Augmentation{DY: -1}, []float32{4, 5, 6, 0, 0, 0}},
		{Augmentation{Flip: true, DX: -1}, []float32{2, 1, 0, 5, 4, 0}},
	} {
		tc.a.Apply(dst, x, shape, 0, 0)
		if !slices.Equal(dst, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.a, dst, tc.want)
		}
	}
	tab := Augmentations([]int{4}, AugmentConfig{NoiseDraws: 3, Noise: 0.1})
	if len(tab) != 4 {
		t.Fatalf("%d tabular augmentations, want 4", len(tab))
	}
	a1, a2 := make([]float32, 4), make([]float32, 4)
	tab[1].Apply(a1, []float32{0, 0, 0, 0}, []int{4}, 7, 9)
	tab[1].Apply(a2, []float32{0, 0, 0, 0}, []int{4}, 7, 9)
	if !slices.Equal(a1, a2) || a1[0] == 0 {
		t.Errorf("noise %v then %v; want the same non-zero noise for the same record, draw and seed", a1, a2)
	}
	tab[1].Apply(a2, []float32{0, 0, 0, 0}, []int{4}, 8, 9)
	if slices.Equal(a1, a2) {
		t.Error("two records get the same noise")
	}
	// The oracle predicts 1 when the first pixel is non-zero: the shifts that move it away fail.
	oracle := func(_ context.Context, x []float32, rows int) ([]int, error) {
		out := make([]int, rows)
		for i := range out {
			if x[i*6] != 0 {
				out[i] = 1
			}
		}
		return out, nil
	}
	ok, err := Correct(context.Background(), oracle, x, shape, []int{1}, augs, 0, 0, 4)
	if err != nil {
		t.Fatal(err)
	}
	for k, a := range augs {
		dst := make([]float32, 6)
		a.Apply(dst, x, shape, 0, 0)
		if ok[k] != (dst[0] != 0) {
			t.Errorf("augmentation %+v: correct %v", a, ok[k])
		}
	}
}

// TestAugmentConfig: the shift and the flips of images and the noise of tables are set by AugmentConfig.
func TestAugmentConfig(t *testing.T) {
	for _, tc := range []struct {
		shape []int
		cfg   AugmentConfig
		want  int
	}{
		{[]int{1, 5, 5}, AugmentConfig{}, 18},
		{[]int{1, 5, 5}, AugmentConfig{Shift: 2}, 50},
		{[]int{1, 5, 5}, AugmentConfig{Shift: 2, NoFlips: true}, 25},
		{[]int{4}, AugmentConfig{NoiseDraws: 7}, 8},
	} {
		if got := len(Augmentations(tc.shape, tc.cfg)); got != tc.want {
			t.Errorf("%v %+v: %d augmentations, want %d", tc.shape, tc.cfg, got, tc.want)
		}
	}
	if s := (AugmentConfig{Noise: 0.2}).String(); s != "shift=1 flips=true noise=0.2 noise_draws=16 seed=0" {
		t.Errorf("String: %q", s)
	}
}
