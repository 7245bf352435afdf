//go:build !unix

package nn

func processCPU() float64 { return 0 }
