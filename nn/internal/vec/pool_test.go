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

// TestMaxPool2x2ReLU checks the vector windows against PyTorch's loop bitwise, that the windows
// past the blocks are left alone, and that a row with a NaN in its blocks stops them.
func TestMaxPool2x2ReLU(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		wo, ho int
		nans   bool
	}{{7, 3, false}, {8, 1, false}, {8, 5, false}, {16, 4, false}, {17, 3, false}, {40, 2, false}, {8, 6, true}, {16, 8, true}} {
		for trial := 0; trial < 40; trial++ {
			w := 2*tc.wo + trial%2 // odd widths and heights leave a last column and row out
			h := 2*tc.ho + trial%3%2
			x := reluValues(r, w*h, false)
			if tc.nans && trial%2 == 0 {
				for i := range x {
					if r.IntN(200) == 0 {
						x[i] = [3]float32{float32(math.NaN()), math.Float32frombits(0xffc00001), math.Float32frombits(0x7f800001)}[r.IntN(3)]
					}
				}
			}
			n := tc.wo * tc.ho
			y, arg := make([]float32, n), make([]int32, n)
			for i := range y {
				y[i], arg[i] = 42, -1
			}
			rows := MaxPool2x2ReLU(y, arg, x, w, tc.wo)
			blocks := tc.wo &^ 7
			want := tc.ho // the first row with a NaN in its blocks
		find:
			for row := 0; row < tc.ho; row++ {
				for j := 0; j < 2*blocks; j++ {
					if v0, v1 := x[2*row*w+j], x[(2*row+1)*w+j]; v0 != v0 || v1 != v1 {
						want = row
						break find
					}
				}
			}
			if !hasAVX2() || blocks == 0 {
				want = 0
			}
			if rows != want {
				t.Fatalf("wo=%d ho=%d: did %d rows, want %d", tc.wo, tc.ho, rows, want)
			}
			for row := 0; row < rows; row++ {
				r0, r1 := x[2*row*w:], x[(2*row+1)*w:]
				for j := 0; j < tc.wo; j++ {
					o := row*tc.wo + j
					if j >= blocks {
						if y[o] != 42 || arg[o] != -1 {
							t.Fatalf("wo=%d: wrote window %d of row %d past the blocks", tc.wo, j, row)
						}
						continue
					}
					v, off := pool2x2Ref(r0, r1, j, w)
					if math.Float32bits(y[o]) != math.Float32bits(v) || arg[o] != int32(2*row*w+2*j+off) {
						t.Fatalf("wo=%d row %d window %d: %v at %d, want %v at %d", tc.wo, row, j, y[o], arg[o], v, 2*row*w+2*j+off)
					}
				}
			}
		}
	}
}

// TestMaxPool2x2Grad checks the vector input gradient against the scalar loop (each position
// zeroed, then 0 + g at the argmax, g masked by the ReLU of the pooled value), bitwise, and that
// the positions of the windows past the blocks are left alone.
func TestMaxPool2x2Grad(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e-45}
	for _, tc := range []struct{ wo, ho int }{{7, 2}, {8, 1}, {8, 4}, {16, 3}, {17, 2}, {40, 2}} {
		for _, relu := range []bool{false, true} {
			for trial := 0; trial < 20; trial++ {
				w := 2*tc.wo + trial%2
				h := 2*tc.ho + trial%3%2
				n := tc.wo * tc.ho
				y := reluValues(r, n, true) // the pooled values: ReLU outputs
				g := make([]float32, n)
				arg := make([]int32, n)
				for o := range g {
					if r.IntN(4) == 0 {
						g[o] = special[r.IntN(len(special))]
					} else {
						g[o] = float32(r.NormFloat64())
					}
					row, j := o/tc.wo, o%tc.wo
					arg[o] = int32(2*row*w + 2*j + [4]int{0, 1, w, w + 1}[r.IntN(4)])
				}
				dx := make([]float32, w*h)
				for i := range dx {
					dx[i] = 42
				}
				k := MaxPool2x2Grad(dx, g, arg, y, w, tc.wo, relu)
				blocks := tc.wo &^ 7
				if !hasAVX2() {
					blocks = 0
				}
				if k != blocks {
					t.Fatalf("wo=%d: did %d windows per row, want %d", tc.wo, k, blocks)
				}
				want := make([]float32, len(dx))
				for i := range want {
					want[i] = 42
				}
				for o := range g {
					row, j := o/tc.wo, o%tc.wo
					if j >= k {
						continue
					}
					for _, p := range []int{0, 1, w, w + 1} {
						want[2*row*w+2*j+p] = 0
					}
					gj := g[o]
					if relu && !(y[o] > 0) {
						gj = 0
					}
					want[arg[o]] += gj
				}
				for i := range want {
					if math.Float32bits(dx[i]) != math.Float32bits(want[i]) {
						t.Fatalf("wo=%d ho=%d relu=%v: dx[%d] = %v, want %v", tc.wo, tc.ho, relu, i, dx[i], want[i])
					}
				}
			}
		}
	}
}
