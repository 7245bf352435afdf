//go:build amd64 && !purego

package vec

import "golang.org/x/sys/cpu"

func shiftedSumsAsm(x []float32, k float64, sum, sq *float64) bool {
	if !cpu.X86.HasAVX {
		return false
	}
	*sum, *sq = shiftedSumsAVX(x, k)
	return true
}

func bnGradSumsAsm(dy, x, y []float32, mu, is float32, relu uint32, sdy, sdyx *float64) bool {
	if !cpu.X86.HasAVX2 {
		return false
	}
	*sdy, *sdyx = bnGradSumsAVX2(dy, x, y, mu, is, relu)
	return true
}

// shiftedSumsAVX and bnGradSumsAVX2 take whole blocks of 16 values (len(x), len(dy) multiples of
// 16; x and y at least as long as dy).
//
//go:noescape
func shiftedSumsAVX(x []float32, k float64) (sum, sq float64)

//go:noescape
func bnGradSumsAVX2(dy, x, y []float32, mu, is float32, relu uint32) (sdy, sdyx float64)
