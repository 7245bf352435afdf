//go:build amd64 && !purego

package vec

import "golang.org/x/sys/cpu"

// poolPlanes checks the planes of MaxPool2x2ReLU and MaxPool2x2Grad and returns the number of rows
// and of windows per row for the assembly (0 when it has nothing to do).
func poolPlanes(y, x []float32, arg []int32, w, wo int) (ho, blocks int) {
	if !cpu.X86.HasAVX2 || wo < 8 || 2*wo > w || len(y)%wo != 0 || len(arg) < len(y) {
		return 0, 0
	}
	ho = len(y) / wo
	if len(x) < 2*ho*w || int64(2*ho*w) > 1<<31-1 {
		return 0, 0
	}
	return ho, wo &^ 7
}

func maxPool2x2ReLU(y []float32, arg []int32, x []float32, w, wo int) int {
	ho, blocks := poolPlanes(y, x, arg, w, wo)
	if ho == 0 {
		return 0
	}
	return maxPool2x2ReLUAVX2(y, arg, x, w, wo, ho, blocks)
}

func maxPool2x2Grad(dx, g []float32, arg []int32, y []float32, w, wo int, relu bool) int {
	ho, blocks := poolPlanes(g, dx, arg, w, wo)
	if ho == 0 {
		return 0
	}
	if relu && len(y) < len(g) {
		return 0
	}
	if !relu {
		y = nil
	}
	maxPool2x2GradAVX2(dx, g, arg, y, w, wo, ho, blocks)
	return blocks
}

// hasAVX and hasAVX2 tell whether the assembly runs.
func hasAVX() bool  { return cpu.X86.HasAVX }
func hasAVX2() bool { return cpu.X86.HasAVX2 }

//go:noescape
func maxPool2x2ReLUAVX2(y []float32, arg []int32, x []float32, w, wo, ho, blocks int) int

//go:noescape
func maxPool2x2GradAVX2(dx, g []float32, arg []int32, y []float32, w, wo, ho, blocks int)
