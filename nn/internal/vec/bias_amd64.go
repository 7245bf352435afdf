//go:build amd64 && !purego

package vec

import "golang.org/x/sys/cpu"

func biasReLU(dst, src []float32, b float32, relu uint32) int {
	if !cpu.X86.HasAVX || len(src) < 8 {
		return 0
	}
	n := len(src) &^ 7
	biasReLUAVX(dst[:n], src[:n], b, relu)
	return n
}

func sumBlocks(x []float32, s *float32) bool {
	if !cpu.X86.HasAVX {
		return false
	}
	*s = sumAVX(x)
	return true
}

//go:noescape
func biasReLUAVX(dst, src []float32, b float32, relu uint32)

//go:noescape
func sumAVX(x []float32) float32
