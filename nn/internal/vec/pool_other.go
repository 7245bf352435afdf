//go:build !amd64 || purego

package vec

func maxPool2x2ReLU(y []float32, arg []int32, x []float32, w, wo int) int { return 0 }

func maxPool2x2Grad(dx, g []float32, arg []int32, y []float32, w, wo int, relu bool) int { return 0 }

func hasAVX() bool  { return false }
func hasAVX2() bool { return false }
