//go:build amd64 && !purego

package vec

import "golang.org/x/sys/cpu"

func add(dst, src []float32) int {
	if !cpu.X86.HasAVX || len(src) < 8 {
		return 0
	}
	n := len(src) &^ 7
	addReLUAVX(dst[:n], dst[:n], src[:n], 0) // dst + src, dst the first operand as in dst += src
	return n
}

func addReLU(dst, a, b []float32, relu uint32) int {
	if !cpu.X86.HasAVX || len(a) < 8 {
		return 0
	}
	n := len(a) &^ 7
	addReLUAVX(dst[:n], a[:n], b[:n], relu)
	return n
}

//go:noescape
func addReLUAVX(dst, a, b []float32, relu uint32)
