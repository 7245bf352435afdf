package dataset

import (
	"slices"
	"testing"
)

func TestGeneratePurchaseLike(t *testing.T) {
	const n, d, k = 1500, 120, 8
	a, err := GeneratePurchaseLike(n, d, k, 11)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	if a.Len() != n || a.Dim() != d || a.Classes != k {
		t.Fatalf("%d × %d, %d classes", a.Len(), a.Dim(), a.Classes)
	}
	ones := 0
	for _, v := range a.X {
		switch v {
		case 1:
			ones++
		case 0:
		default:
			t.Fatalf("feature value %v is not binary", v)
		}
	}
	// About 10 % of the features are set (the profile probabilities have mean ≈ 0.1, less clamping).
	if f := float64(ones) / float64(n*d); f < 0.04 || f > 0.2 {
		t.Errorf("density %.3f, want about 0.1", f)
	}
	// The labels are a k-means fixed point: recomputing every cluster mean from the labels (dense,
	// by brute force), each record is nearest to its own cluster's mean.
	mean := make([]float64, k*d)
	count := make([]int, k)
	for i := range n {
		count[a.Y[i]]++
		for j, v := range a.Row(i) {
			mean[a.Y[i]*d+j] += float64(v)
		}
	}
	used := 0
	for c := range k {
		if count[c] > 0 {
			used++
			for j := range d {
				mean[c*d+j] /= float64(count[c])
			}
		}
	}
	if used < k/2 {
		t.Errorf("only %d of %d clusters used", used, k)
	}
	for i := range n {
		best, bd := -1, 0.0
		for c := range k {
			if count[c] == 0 {
				continue
			}
			s := 0.0
			for j, v := range a.Row(i) {
				e := float64(v) - mean[c*d+j]
				s += e * e
			}
			if best < 0 || s < bd-1e-9 {
				best, bd = c, s
			}
		}
		if best != a.Y[i] {
			t.Fatalf("record %d labelled %d but nearest to cluster %d", i, a.Y[i], best)
		}
	}

	b, _ := GeneratePurchaseLike(n, d, k, 11)
	c, _ := GeneratePurchaseLike(n, d, k, 12)
	if !slices.Equal(a.X, b.X) || !slices.Equal(a.Y, b.Y) {
		t.Error("same seed, different data")
	}
	if slices.Equal(a.X, c.X) {
		t.Error("seeds 11 and 12 give the same data")
	}
	for _, bad := range [][3]int{{0, 5, 2}, {10, 0, 2}, {10, 5, 0}, {3, 5, 4}} {
		if _, err := GeneratePurchaseLike(bad[0], bad[1], bad[2], 1); err == nil {
			t.Errorf("GeneratePurchaseLike(%v) succeeded", bad)
		}
	}
}

func BenchmarkGeneratePurchaseLike(b *testing.B) {
	for b.Loop() {
		if _, err := GeneratePurchaseLike(20000, 600, 100, 1); err != nil {
			b.Fatal(err)
		}
	}
}
