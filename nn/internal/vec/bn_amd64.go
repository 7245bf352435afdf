//go:build amd64 && !purego

package vec

import "golang.org/x/sys/cpu"

func bnAffine(y, x []float32, c *BN) int {
	if !cpu.X86.HasAVX || len(x) < 8 {
		return 0
	}
	n := len(x) &^ 7
	bnAffineAVX(y[:n], x[:n], c)
	return n
}

func bnGrad(dx, dy, x, y []float32, c *BN) int {
	if !cpu.X86.HasAVX || len(dy) < 8 {
		return 0
	}
	n := len(dy) &^ 7
	bnGradAVX(dx[:n], dy[:n], x[:n], y[:n], c)
	return n
}

//go:noescape
func bnAffineAVX(y, x []float32, c *BN)

//go:noescape
func bnGradAVX(dx, dy, x, y []float32, c *BN)
