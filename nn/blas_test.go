package nn

import (
	"fmt"
	"math"
	"testing"
)

// TestGemm checks the BLAS backend in use (pure Go, or OpenBLAS with -tags openblas) against a
// float64 triple loop for every transpose combination, including sizes that gonum splits across
// goroutines, and the empty inner dimension.
func TestGemm(t *testing.T) {
	r := newRand(1, 1)
	for _, sz := range [][3]int{{3, 4, 5}, {1, 1, 1}, {130, 200, 70}, {7, 300, 1}, {5, 6, 0}} {
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			m, n, k := sz[0], sz[1], sz[2]
			t.Run(fmt.Sprintf("%dx%dx%d/%v", m, n, k, tr), func(t *testing.T) {
				a := randTensor(r, -1, 1, m*k)
				b := randTensor(r, -1, 1, k*n)
				c := randTensor(r, -1, 1, m*n)
				lda, ldb := k, n
				if tr[0] {
					lda = m
				}
				if tr[1] {
					ldb = k
				}
				at := func(i, l int) float64 {
					if tr[0] {
						return float64(a.Data[l*lda+i])
					}
					return float64(a.Data[i*lda+l])
				}
				bt := func(l, j int) float64 {
					if tr[1] {
						return float64(b.Data[j*ldb+l])
					}
					return float64(b.Data[l*ldb+j])
				}
				want := make([]float64, m*n)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						var s float64
						for l := 0; l < k; l++ {
							s += at(i, l) * bt(l, j)
						}
						want[i*n+j] = 0.5*s + 2*float64(c.Data[i*n+j])
					}
				}
				gemm(tr[0], tr[1], m, n, k, 0.5, a.Data, lda, b.Data, ldb, 2, c.Data, n)
				for i, w := range want {
					if math.Abs(float64(c.Data[i])-w) > 1e-5*float64(k+1) {
						t.Fatalf("C[%d] = %v, want %v", i, c.Data[i], w)
					}
				}
			})
		}
	}
}
