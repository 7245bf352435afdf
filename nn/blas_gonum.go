//go:build !openblas

package nn

const backendName = "gonum"

// SetBLASThreads sets the number of threads OpenBLAS uses for each product (n ≥ 1). With the pure-Go
// backend it does nothing: gonum splits large products over up to GOMAXPROCS goroutines.
func SetBLASThreads(n int) {}
