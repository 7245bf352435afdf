package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestBiasReLUMatchesScalar checks BiasReLU against v + b and the ReLU (kept where v > 0 or NaN),
// bitwise, signed zeros, infinities and NaNs included (a NaN bias too: v's NaN payload wins over b's).
func TestBiasReLUMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
		math.Float32frombits(0xffc00001), 1e-45, -1e-45}
	for _, n := range []int{0, 7, 8, 31, 32, 33, 77, 1024} {
		for _, relu := range []bool{false, true} {
			for _, b := range []float32{0, float32(math.Copysign(0, -1)), 0.25, -3, float32(math.Inf(-1)), math.Float32frombits(0x7fc00123)} {
				src := make([]float32, n)
				for i := range src {
					if r.IntN(4) == 0 {
						src[i] = special[r.IntN(len(special))]
					} else {
						src[i] = float32(r.NormFloat64())
					}
				}
				dst := make([]float32, n)
				k := BiasReLU(dst, src, b, relu)
				if k%8 != 0 || k > n || (hasAVX() && k != n&^7) {
					t.Fatalf("n=%d: did %d elements", n, k)
				}
				for i := 0; i < k; i++ {
					want := src[i] + b
					if relu && !(want > 0 || want != want) {
						want = 0
					}
					if math.Float32bits(dst[i]) != math.Float32bits(want) {
						t.Fatalf("n=%d relu=%v b=%v: element %d = %v, want %v", n, relu, b, i, dst[i], want)
					}
				}
			}
		}
	}
}

// TestSumOrder checks Sum against its documented order, written out in Go, bitwise, on lengths
// around the 32-value blocks and on values whose sum depends on the order.
func TestSumOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{0, 1, 31, 32, 33, 64, 100, 4096, 4099} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(9)-4)))
		}
		var p [32]float32
		m := n &^ 31
		for i := 0; i < m; i++ {
			p[i%32] += x[i]
		}
		for h := 16; h >= 1; h /= 2 {
			for j := 0; j < h; j++ {
				p[j] += p[j+h]
			}
		}
		want := p[0]
		for _, v := range x[m:] {
			want += v
		}
		if got := Sum(x); math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("n=%d: Sum = %v, want %v", n, got, want)
		}
		if got := sumBlocksGo(x[:m]); m > 0 && math.Float32bits(got) != math.Float32bits(p[0]) && n == m {
			t.Fatalf("n=%d: the Go order gives %v, want %v", n, got, p[0])
		}
		var f64 float64
		for _, v := range x {
			f64 += float64(v)
		}
		if d := math.Abs(float64(Sum(x)) - f64); d > 1e-4*(1+math.Abs(f64))*float64(max(n, 1)) {
			t.Fatalf("n=%d: Sum = %v, float64 sum %v", n, Sum(x), f64)
		}
	}
	// NaN and infinities propagate.
	x := make([]float32, 64)
	x[40] = float32(math.Inf(1))
	if s := Sum(x); !math.IsInf(float64(s), 1) {
		t.Fatalf("Sum with +Inf = %v", s)
	}
	x[3] = float32(math.NaN())
	if s := Sum(x); s == s {
		t.Fatalf("Sum with NaN = %v", s)
	}
}

// TestAddReLUMatchesScalar checks AddReLU against a + b and the ReLU bitwise, NaN payloads of both
// operands included (the first operand's NaN wins, as in the scalar a + b).
func TestAddReLUMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
		math.Float32frombits(0xffc00001), math.Float32frombits(0x7fc00abc), 1e-45, -1e-45}
	for _, n := range []int{0, 7, 8, 31, 32, 33, 77, 1024} {
		for _, relu := range []bool{false, true} {
			mk := func() []float32 {
				s := make([]float32, n)
				for i := range s {
					if r.IntN(3) == 0 {
						s[i] = special[r.IntN(len(special))]
					} else {
						s[i] = float32(r.NormFloat64())
					}
				}
				return s
			}
			a, b, dst := mk(), mk(), make([]float32, n)
			k := AddReLU(dst, a, b, relu)
			if k%8 != 0 || k > n || (hasAVX() && k != n&^7) {
				t.Fatalf("n=%d: did %d elements", n, k)
			}
			for i := 0; i < k; i++ {
				want := a[i] + b[i]
				if relu && !(want > 0 || want != want) {
					want = 0
				}
				if math.Float32bits(dst[i]) != math.Float32bits(want) {
					t.Fatalf("n=%d relu=%v: %v + %v = %v, want %v", n, relu, a[i], b[i], dst[i], want)
				}
			}
		}
	}
}
