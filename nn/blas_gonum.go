//go:build !openblas

package nn

import (
	"runtime"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/gonum"

	pgemm "github.com/pmeter/pmeter/nn/gemm"
)

const backendName = "gonum"

// init routes blas32 to gonum's pure-Go BLAS with Sgemm replaced by package gemm's packed kernel
// (AVX2 + FMA or AVX-512 assembly where the CPU has it, see gemm.Kernel).
func init() {
	blas32.Use(goBLAS{})
}

// goBLAS is gonum's pure-Go BLAS with Sgemm computed by package gemm.
type goBLAS struct {
	gonum.Implementation
}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C like gonum's Sgemm (row-major; it panics on
// invalid arguments too) with gemm.SgemmParallel, imported as pgemm because package nn has its own
// func gemm. Its results do not depend on the number of goroutines.
func (goBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	workers := int(blasThreads.Load())
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	pgemm.SgemmParallel(workers, isTrans(tA), isTrans(tB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func isTrans(t blas.Transpose) bool {
	switch t {
	case blas.NoTrans:
		return false
	case blas.Trans, blas.ConjTrans:
		return true
	}
	panic("blas: illegal transpose")
}

// blasThreads is the number of goroutines one product may use, set by SetBLASThreads; 0 means
// GOMAXPROCS.
var blasThreads atomic.Int64

// SetBLASThreads sets the number of goroutines each large product may use (n ≥ 1; by default
// GOMAXPROCS). Set it to 1 when several models train at once, one per core. The results do not
// depend on it.
func SetBLASThreads(n int) {
	if n >= 1 {
		blasThreads.Store(int64(n))
	}
}
