//go:build !linux

package nn

// adviseHuge does nothing outside Linux.
func adviseHuge([]float32) {}
