//go:build amd64 && !purego

package vec

import "golang.org/x/sys/cpu"

func maxPool2x2ReLU(y []float32, arg []int32, r0, r1 []float32, base, w int32) int {
	n := len(y) &^ 7
	if !cpu.X86.HasAVX2 || n == 0 {
		return 0
	}
	_, _, _ = arg[n-1], r0[2*n-1], r1[2*n-1]
	return maxPool2x2ReLUAVX2(y[:n], arg, r0, r1, base, w)
}

func maxPool2x2Grad(d0, d1, g []float32, arg []int32, y []float32, base, w int32, relu bool) int {
	n := len(g) &^ 7
	if !cpu.X86.HasAVX2 || n == 0 {
		return 0
	}
	_, _, _ = arg[n-1], d0[2*n-1], d1[2*n-1]
	var r int32
	if relu {
		r = 1
		_ = y[n-1]
	} else {
		y = nil
	}
	maxPool2x2GradAVX2(d0, d1, g[:n], arg, y, base, w, r)
	return n
}

//go:noescape
func maxPool2x2ReLUAVX2(y []float32, arg []int32, r0, r1 []float32, base, w int32) int

//go:noescape
func maxPool2x2GradAVX2(d0, d1, g []float32, arg []int32, y []float32, base, w, relu int32)

// hasAVX and hasAVX2 tell whether the assembly runs.
func hasAVX() bool  { return cpu.X86.HasAVX }
func hasAVX2() bool { return cpu.X86.HasAVX2 }
