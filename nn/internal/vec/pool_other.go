//go:build !amd64 || purego

package vec

func maxPool2x2ReLU(y []float32, arg []int32, r0, r1 []float32, base, w int32) int { return 0 }

func maxPool2x2Grad(d0, d1, g []float32, arg []int32, y []float32, base, w int32, relu bool) int {
	return 0
}

func hasAVX() bool  { return false }
func hasAVX2() bool { return false }
