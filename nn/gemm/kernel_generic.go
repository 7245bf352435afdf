//go:build !amd64 || purego

package gemm

// defaultImpl is the implementation Sgemm uses: the portable one on this platform or build.
var defaultImpl = implGo

// impls lists the implementations this build and CPU can run, for tests and benchmarks.
func impls() []*impl { return []*impl{implGo} }
