//go:build !amd64 || purego

package vec

func add(dst, src []float32) int { return 0 }

func addReLU(dst, a, b []float32, relu uint32) int { return 0 }
