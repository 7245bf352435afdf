package nn

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

// randTensor returns a tensor with values uniform in [lo, hi).
func randTensor(r *rand.Rand, lo, hi float64, shape ...int) *Tensor {
	t := NewTensor(shape...)
	for i := range t.Data {
		t.Data[i] = float32(lo + (hi-lo)*r.Float64())
	}
	return t
}

// awayFromZero returns a tensor with |values| in [gap, 1), random sign, so that ReLU has no kink
// within a finite-difference step smaller than gap.
func awayFromZero(r *rand.Rand, gap float64, shape ...int) *Tensor {
	t := NewTensor(shape...)
	for i := range t.Data {
		v := gap + (1-gap)*r.Float64()
		if r.IntN(2) == 0 {
			v = -v
		}
		t.Data[i] = float32(v)
	}
	return t
}

// distinctValues returns a tensor whose values are a random permutation of evenly spaced values
// gap apart, centred on 0, so that max pooling has no near-ties.
func distinctValues(r *rand.Rand, gap float64, shape ...int) *Tensor {
	t := NewTensor(shape...)
	p := r.Perm(len(t.Data))
	for i, k := range p {
		t.Data[i] = float32(gap * float64(k-len(p)/2))
	}
	return t
}

const digitsPath = "../../shared/data/sklearn/digits.csv.gz"

// loadDigits reads sklearn's digits (1797 × 64 pixel values 0–16, last column the label) and returns
// features scaled to [0, 1]. It skips the test when the file is absent, and fails under CI=true.
func loadDigits(t *testing.T) (*Tensor, []int) {
	t.Helper()
	f, err := os.Open(digitsPath)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("digits data set missing under CI: %v", err)
		}
		t.Skipf("digits data set not available: %v", err)
	}
	defer f.Close()
	z, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(z).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	n, d := len(rows), len(rows[0])-1
	x := NewTensor(n, d)
	y := make([]int, n)
	for i, row := range rows {
		if len(row) != d+1 {
			t.Fatalf("digits row %d has %d columns, want %d", i, len(row), d+1)
		}
		for j := 0; j < d; j++ {
			v, err := strconv.ParseFloat(row[j], 64)
			if err != nil {
				t.Fatalf("digits row %d column %d: %v", i, j, err)
			}
			x.Data[i*d+j] = float32(v / 16)
		}
		if y[i], err = strconv.Atoi(row[d]); err != nil {
			t.Fatalf("digits row %d label: %v", i, err)
		}
	}
	return x, y
}
