package nn

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// gemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices, where op(A) is m × k and op(B)
// is k × n, through the blas32 implementation in use (pure Go, or OpenBLAS with the openblas tag).
func gemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	ta, tb := blas.NoTrans, blas.NoTrans
	if tA {
		ta = blas.Trans
	}
	if tB {
		tb = blas.Trans
	}
	if k == 0 {
		// BLAS still scales C by beta; do it here so that empty products are well defined.
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				if beta == 0 {
					row[j] = 0
				} else {
					row[j] *= beta
				}
			}
		}
		return
	}
	blas32.Implementation().Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Backend names the BLAS implementation in use: "gonum" (pure Go) or "openblas".
func Backend() string { return backendName }

// BackendDetail describes the BLAS implementation in use for people: "pure Go", or for OpenBLAS the
// kernels it selected for the CPU (such as "SkylakeX" or "Haswell").
func BackendDetail() string { return blasDetail() }
