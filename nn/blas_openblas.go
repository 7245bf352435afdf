//go:build openblas

package nn

// #cgo LDFLAGS: -lopenblas
// void openblas_set_num_threads(int);
// char *gotoblas_corename(void) __attribute__((weak)); // DYNAMIC_ARCH builds only
// static const char *pmeter_core(void) { return gotoblas_corename ? gotoblas_corename() : "OpenBLAS"; }
import "C"

import (
	"os"

	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/netlib/blas/netlib"
)

const backendName = "openblas"

// init routes blas32 to OpenBLAS. Unless OPENBLAS_NUM_THREADS or OMP_NUM_THREADS is set, OpenBLAS
// runs single-threaded: pmeter trains one model per core, and OpenBLAS threads only oversubscribe the
// cores then (and slow down the many small products of convolutions even for a single model).
func init() {
	blas32.Use(netlib.Implementation{})
	if os.Getenv("OPENBLAS_NUM_THREADS") == "" && os.Getenv("OMP_NUM_THREADS") == "" {
		C.openblas_set_num_threads(1)
	}
}

// blasDetail names the OpenBLAS kernels in use (such as "Haswell" or "SkylakeX"; OPENBLAS_CORETYPE
// overrides OpenBLAS's choice).
func blasDetail() string { return C.GoString(C.pmeter_core()) }

// SetBLASThreads sets the number of threads OpenBLAS uses for each product (n ≥ 1). (The pure-Go
// backend's version sets the goroutines of its own products.) Set it to 1 when several models train at
// once, one per core.
func SetBLASThreads(n int) {
	if n >= 1 {
		C.openblas_set_num_threads(C.int(n))
	}
}
