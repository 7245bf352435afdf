package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// reluValues draws ReLU outputs with many ties: +0, small and large positives, +Inf, and NaNs of
// both signs with different payloads.
func reluValues(r *rand.Rand, n int, nans bool) []float32 {
	pool := []float32{0, 0, 1, 0.5, 2, 1e-45, float32(math.Inf(1))}
	if nans {
		pool = append(pool, float32(math.NaN()), math.Float32frombits(0xffc00001), math.Float32frombits(0x7f800001))
	}
	v := make([]float32, n)
	for i := range v {
		if r.IntN(3) == 0 {
			v[i] = float32(math.Abs(r.NormFloat64()))
		} else {
			v[i] = pool[r.IntN(len(pool))]
		}
	}
	return v
}

// pool2x2Ref is PyTorch's loop for one window: the first maximum in row-major order (val > max or
// isnan(val)), the first NaN when there is one.
func pool2x2Ref(r0, r1 []float32, j, w int) (float32, int) {
	v := [4]float32{r0[2*j], r0[2*j+1], r1[2*j], r1[2*j+1]}
	off := [4]int{0, 1, w, w + 1}
	best, bi := v[0], 0
	if best != best {
		return best, 0
	}
	for k := 1; k < 4; k++ {
		if v[k] > best || v[k] != v[k] {
			best, bi = v[k], k
			if v[k] != v[k] {
				break
			}
		}
	}
	return best, off[bi]
}

// TestMaxPool2x2ReLU checks the vector windows against PyTorch's loop bitwise, and that a block
// holding a NaN stops them.
func TestMaxPool2x2ReLU(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		wo   int
		nans bool
	}{{0, false}, {7, false}, {8, false}, {16, false}, {17, false}, {40, false}, {16, true}, {64, true}} {
		for trial := 0; trial < 50; trial++ {
			w := 2*tc.wo + trial%2 // odd widths leave a last column out
			r0, r1 := reluValues(r, w, tc.nans), reluValues(r, w, tc.nans)
			y, arg := make([]float32, tc.wo), make([]int32, tc.wo)
			base := int32(r.IntN(1000))
			k := MaxPool2x2ReLU(y, arg, r0, r1, base, int32(w))
			if k%8 != 0 || k > tc.wo {
				t.Fatalf("wo=%d: did %d windows", tc.wo, k)
			}
			stop := tc.wo &^ 7 // where the vector windows must stop: the first block with a NaN
			for j := 0; j < tc.wo&^7; j++ {
				if v := [4]float32{r0[2*j], r0[2*j+1], r1[2*j], r1[2*j+1]}; v[0] != v[0] || v[1] != v[1] || v[2] != v[2] || v[3] != v[3] {
					stop = j &^ 7
					break
				}
			}
			if k != stop && hasAVX2() {
				t.Fatalf("wo=%d: did %d windows, want %d", tc.wo, k, stop)
			}
			for j := 0; j < k; j++ {
				want, off := pool2x2Ref(r0, r1, j, w)
				if math.Float32bits(y[j]) != math.Float32bits(want) || arg[j] != base+int32(2*j+off) {
					t.Fatalf("wo=%d window %d: %v at %d, want %v at %d", tc.wo, j, y[j], arg[j], want, base+int32(2*j+off))
				}
			}
		}
	}
}

// TestMaxPool2x2Grad checks the vector input gradient against the scalar loop (each position
// zeroed, then 0 + g at the argmax, g masked by the ReLU of the pooled value), bitwise.
func TestMaxPool2x2Grad(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e-45}
	for _, wo := range []int{0, 7, 8, 16, 17, 40} {
		for _, relu := range []bool{false, true} {
			for trial := 0; trial < 30; trial++ {
				w := 2*wo + trial%2
				y := reluValues(r, wo, true) // the pooled values: ReLU outputs
				g := make([]float32, wo)
				arg := make([]int32, wo)
				base := int32(2 * w * r.IntN(5))
				for j := range g {
					if r.IntN(4) == 0 {
						g[j] = special[r.IntN(len(special))]
					} else {
						g[j] = float32(r.NormFloat64())
					}
					arg[j] = base + int32(2*j+[4]int{0, 1, w, w + 1}[r.IntN(4)])
				}
				d0, d1 := make([]float32, w), make([]float32, w)
				for i := range d0 {
					d0[i], d1[i] = 42, 42
				}
				k := MaxPool2x2Grad(d0, d1, g, arg, y, base, int32(w), relu)
				if k%8 != 0 || k > wo || (hasAVX2() && k != wo&^7) {
					t.Fatalf("wo=%d: did %d windows", wo, k)
				}
				for j := 0; j < k; j++ {
					gj := g[j]
					if relu && !(y[j] > 0) {
						gj = 0
					}
					var want [4]float32
					switch arg[j] - base - int32(2*j) {
					case 0:
						want[0] += gj
					case 1:
						want[1] += gj
					case int32(w):
						want[2] += gj
					default:
						want[3] += gj
					}
					got := [4]float32{d0[2*j], d0[2*j+1], d1[2*j], d1[2*j+1]}
					for q := range got {
						if math.Float32bits(got[q]) != math.Float32bits(want[q]) {
							t.Fatalf("wo=%d relu=%v window %d: %v, want %v", wo, relu, j, got, want)
						}
					}
				}
				for i := 2 * k; i < w; i++ {
					if d0[i] != 42 || d1[i] != 42 {
						t.Fatalf("wo=%d: wrote position %d past the %d windows done", wo, i, k)
					}
				}
			}
		}
	}
}
