//go:build !amd64 || purego

package vec

func shiftedSumsAsm(x []float32, k float64, sum, sq *float64) bool { return false }

func bnGradSumsAsm(dy, x, y []float32, mu, is float32, relu uint32, sdy, sdyx *float64) bool {
	return false
}
