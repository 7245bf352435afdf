//go:build !openblas

package nn

// blasDetail describes the pure-Go products.
func blasDetail() string { return "pure Go" }
