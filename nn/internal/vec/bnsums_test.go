package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestBNSumsOrder checks ShiftedSums and BNGradSums against their documented order written out in
// Go, bitwise, with and without the ReLU's mask, on lengths around the 16-value blocks.
func TestBNSumsOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	yv := []float32{0, 1, 2.5, float32(math.Inf(1)), float32(math.NaN()), math.Float32frombits(0xffc00001), 1e-45}
	for _, n := range []int{0, 5, 16, 17, 31, 64, 1024, 1030} {
		x, dy, y := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64()*3 + 1)
			dy[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(7)-3)))
			y[i] = yv[r.IntN(len(yv))]
			if r.IntN(2) == 0 {
				y[i] = float32(r.Float64())
			}
		}
		m := n &^ 15
		var s, q [16]float64
		for i := 0; i < m; i++ {
			d := float64(x[i]) - 0.75
			s[i%16] += d
			q[i%16] += float64(d * d)
		}
		ws, wq := fold16(&s), fold16(&q)
		for _, v := range x[m:] {
			d := float64(v) - 0.75
			ws += d
			wq += float64(d * d)
		}
		if gs, gq := ShiftedSums(x, 0.75); math.Float64bits(gs) != math.Float64bits(ws) || math.Float64bits(gq) != math.Float64bits(wq) {
			t.Fatalf("n=%d: ShiftedSums = %v, %v, want %v, %v", n, gs, gq, ws, wq)
		}
		for _, relu := range []bool{false, true} {
			mu, is := float32(0.9), float32(1.7)
			var a, d [16]float64
			g := func(j int) float64 {
				if relu && !(y[j] > 0) {
					return 0
				}
				return float64(dy[j])
			}
			for i := 0; i < m; i++ {
				a[i%16] += g(i)
				d[i%16] += float64(g(i) * float64((x[i]-mu)*is))
			}
			wa, wd := fold16(&a), fold16(&d)
			for j := m; j < n; j++ {
				wa += g(j)
				wd += float64(g(j) * float64((x[j]-mu)*is))
			}
			ga, gd := BNGradSums(dy, x, y, mu, is, relu)
			if math.Float64bits(ga) != math.Float64bits(wa) || math.Float64bits(gd) != math.Float64bits(wd) {
				t.Fatalf("n=%d relu=%v: BNGradSums = %v, %v, want %v, %v", n, relu, ga, gd, wa, wd)
			}
		}
	}
}
