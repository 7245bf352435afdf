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

// TestBNMatchesScalar compares BNAffine and BNGrad with the scalar formulas of package nn, bit by
// bit, on values with signed zeros, infinities and NaNs, with and without the fused ReLU.
func TestBNMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
		math.Float32frombits(0xffc00001), 1e-40, -1e-40, 3e38, -3e38}
	val := func() float32 {
		if r.IntN(8) == 0 {
			return special[r.IntN(len(special))]
		}
		return float32(r.NormFloat64() * 3)
	}
	relu32 := func(v float32) float32 {
		b := math.Float32bits(v)
		if b-0x80000000 <= 0x7f800000 {
			b = 0
		}
		return math.Float32frombits(b)
	}
	mask := func(g, y float32) float32 {
		if math.Float32bits(y)-1 >= 0x7f800000 {
			return 0
		}
		return g
	}
	same := func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b) }
	for trial := 0; trial < 200; trial++ {
		n := r.IntN(40)
		x, y, dy, dx := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range x {
			x[i], dy[i] = val(), val()
		}
		c := BN{Mu: val(), Is: float32(r.Float64() * 2), G: val(), Be: val(), K: val(), Mdy: val(), Mdyx: val(), ReLU: uint32(trial % 2)}
		k := BNAffine(y, x, &c)
		for i := k; i < n; i++ {
			y[i] = float32(c.G*((x[i]-c.Mu)*c.Is)) + c.Be
			if c.ReLU == 1 {
				y[i] = relu32(y[i])
			}
		}
		for i, v := range x {
			want := float32(c.G*((v-c.Mu)*c.Is)) + c.Be
			if c.ReLU == 1 {
				want = relu32(want)
			}
			if !same(y[i], want) || (want == want && math.Float32bits(y[i]) != math.Float32bits(want)) {
				t.Fatalf("trial %d: BNAffine[%d] = %v (%#x), want %v (%#x)", trial, i, y[i], math.Float32bits(y[i]), want, math.Float32bits(want))
			}
		}
		k = BNGrad(dx, dy, x, y, &c)
		for i := k; i < n; i++ {
			dx[i] = 0
		}
		for i := 0; i < k; i++ {
			g := dy[i]
			if c.ReLU == 1 {
				g = mask(g, y[i])
			}
			want := c.K * (g - c.Mdy - float32((x[i]-c.Mu)*c.Is*c.Mdyx))
			if !same(dx[i], want) || (want == want && math.Float32bits(dx[i]) != math.Float32bits(want)) {
				t.Fatalf("trial %d: BNGrad[%d] = %v, want %v", trial, i, dx[i], want)
			}
		}
	}
}

// TestAddMatchesScalar checks Add against dst[i] += src[i] bitwise, signed zeros, infinities and
// NaNs included, on lengths around the unrolled and 8-value steps.
func TestAddMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e-45}
	for _, n := range []int{0, 7, 8, 31, 32, 33, 77, 1024} {
		mk := func() []float32 {
			s := make([]float32, n)
			for i := range s {
				if r.IntN(4) == 0 {
					s[i] = special[r.IntN(len(special))]
				} else {
					s[i] = float32(r.NormFloat64())
				}
			}
			return s
		}
		dst, src := mk(), mk()
		want := append([]float32(nil), dst...)
		k := Add(dst, src)
		if k%8 != 0 || k > n {
			t.Fatalf("n=%d: did %d elements", n, k)
		}
		for i := 0; i < k; i++ {
			want[i] += src[i]
		}
		for i := range dst {
			if math.Float32bits(dst[i]) != math.Float32bits(want[i]) {
				t.Fatalf("n=%d: element %d = %v, want %v", n, i, dst[i], want[i])
			}
		}
	}
}
