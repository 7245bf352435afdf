package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// adamRef is the Adam step written out in Go, each operation rounded to float32.
func adamRef(w, g, m, v []float32, c *Consts) {
	for j := range w {
		mj := float32(c.B1*m[j]) + float32(c.C1*g[j])
		vj := float32(c.B2*v[j]) + float32(float32(c.C2*g[j])*g[j])
		m[j], v[j] = mj, vj
		w[j] -= float32(c.Step*mj) / (float32(float32(math.Sqrt(float64(vj)))*c.InvBC2) + c.Eps)
	}
}

func TestAdamBitwise(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	c := &Consts{B1: 0.9, C1: 0.1, B2: 0.999, C2: 1 - float32(0.999), Step: 0.01, InvBC2: 31.6, Eps: 1e-8}
	for _, n := range []int{0, 5, 8, 13, 256, 1003} {
		mk := func(scale float64) []float32 {
			s := make([]float32, n)
			for i := range s {
				s[i] = float32(scale * r.NormFloat64())
			}
			return s
		}
		w, g, m, v := mk(1), mk(1e-3), mk(1e-3), mk(1e-6)
		for i := range v {
			v[i] = float32(math.Abs(float64(v[i])))
		}
		w2, m2, v2 := append([]float32(nil), w...), append([]float32(nil), m...), append([]float32(nil), v...)
		k := Adam(w, g, m, v, c)
		if k%8 != 0 || k > n {
			t.Fatalf("n=%d: did %d elements", n, k)
		}
		adamRef(w2[:k], g[:k], m2[:k], v2[:k], c)
		for j := 0; j < k; j++ {
			if math.Float32bits(w[j]) != math.Float32bits(w2[j]) || math.Float32bits(m[j]) != math.Float32bits(m2[j]) ||
				math.Float32bits(v[j]) != math.Float32bits(v2[j]) {
				t.Fatalf("n=%d element %d: (%v %v %v), want (%v %v %v)", n, j, w[j], m[j], v[j], w2[j], m2[j], v2[j])
			}
		}
		for j := k; j < n; j++ {
			if w[j] != w2[j] || m[j] != m2[j] || v[j] != v2[j] {
				t.Fatalf("n=%d: element %d beyond the returned prefix was changed", n, j)
			}
		}
	}
}
