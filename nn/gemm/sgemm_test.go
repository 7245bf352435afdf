package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// problem is one product with its operands; the slices have exactly the minimal length for their
// shape and leading dimension, so that any read past the end panics.
type problem struct {
	tA, tB      bool
	m, n, k     int
	alpha, beta float32
	a, b, c     []float32
	lda, ldb    int
	ldc         int
}

// newProblem draws operands in [-1, 1) with leading dimensions padded by pad values; C is filled
// with NaN when beta = 0 (it must be ignored) and the padding of C with a sentinel.
func newProblem(rng *rand.Rand, tA, tB bool, m, n, k, pad int, alpha, beta float32) *problem {
	p := &problem{tA: tA, tB: tB, m: m, n: n, k: k, alpha: alpha, beta: beta}
	ra, ca := m, k
	if tA {
		ra, ca = k, m
	}
	rb, cb := k, n
	if tB {
		rb, cb = n, k
	}
	p.lda, p.ldb, p.ldc = max(1, ca)+pad, max(1, cb)+pad, max(1, n)+pad
	fill := func(rows, cols, ld int, v func() float32) []float32 {
		if rows == 0 || cols == 0 {
			return nil
		}
		s := make([]float32, (rows-1)*ld+cols)
		for i := range s {
			if i%ld < cols {
				s[i] = v()
			} else {
				s[i] = 12345
			}
		}
		return s
	}
	uni := func() float32 { return 2*rng.Float32() - 1 }
	p.a = fill(ra, ca, p.lda, uni)
	p.b = fill(rb, cb, p.ldb, uni)
	if beta == 0 {
		p.c = fill(m, n, p.ldc, func() float32 { return float32(math.NaN()) })
	} else {
		p.c = fill(m, n, p.ldc, uni)
	}
	return p
}

func (p *problem) at(i, l int) float64 {
	if p.tA {
		return float64(p.a[l*p.lda+i])
	}
	return float64(p.a[i*p.lda+l])
}

func (p *problem) bt(l, j int) float64 {
	if p.tB {
		return float64(p.b[j*p.ldb+l])
	}
	return float64(p.b[l*p.ldb+j])
}

// check compares got (the C of p after the product) with a float64 triple loop. The bound is the
// standard one for a float32 dot product of length k, |error| ≤ γ·(|alpha|·Σ|a||b| + |beta·c|)
// with γ = (k+2)·2⁻²⁴ (plus the rounding of alpha·sum and of the update), and the padding of C
// must be untouched.
func (p *problem) check(t *testing.T, got []float32) {
	t.Helper()
	gamma := float64(p.k+3) * math.Pow(2, -24)
	for i := 0; i < p.m; i++ {
		for j := 0; j < p.ldc; j++ {
			idx := i*p.ldc + j
			if idx >= len(got) {
				break
			}
			if j >= p.n {
				if got[idx] != 12345 {
					t.Fatalf("padding C[%d][%d] changed to %v", i, j, got[idx])
				}
				continue
			}
			var s, abs float64
			for l := 0; l < p.k; l++ {
				v := p.at(i, l) * p.bt(l, j)
				s += v
				abs += math.Abs(v)
			}
			want := float64(p.alpha) * s
			bound := math.Abs(float64(p.alpha)) * abs
			if p.beta != 0 {
				bc := float64(p.beta) * float64(p.c[idx])
				want += bc
				bound += math.Abs(bc)
			}
			if d := math.Abs(float64(got[idx]) - want); !(d <= gamma*bound+1e-30) {
				t.Fatalf("C[%d][%d] = %v, want %v (|error| %.3g > bound %.3g)", i, j, got[idx], want, d, gamma*bound)
			}
		}
	}
}

// run applies the product with implementation im and workers goroutines to a copy of C.
func (p *problem) run(im *impl, workers int) []float32 {
	c := slices.Clone(p.c)
	sgemm(im, workers, 1, p.tA, p.tB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, c, p.ldc)
	return c
}

var transposes = [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}}

// TestSgemm covers every transpose combination and kernel on shapes around the tile sizes (6, 16)
// and the cache blocks (k > kcMax, m > mcMax, n > ncMax), with minimal and padded leading
// dimensions.
func TestSgemm(t *testing.T) {
	sizes := []int{1, 5, 6, 7, 15, 16, 17, 63, 64, 65, 255, 600}
	var shapes [][3]int
	for i, s := range sizes {
		shapes = append(shapes, [3]int{s, s, s}, [3]int{s, sizes[(i+3)%len(sizes)], sizes[(i+7)%len(sizes)]},
			[3]int{sizes[(i+5)%len(sizes)], s, sizes[(i+9)%len(sizes)]})
	}
	shapes = append(shapes, [3]int{7, 2100, 5}, [3]int{600, 17, 700}, [3]int{13, 33, 1})
	rng := rand.New(rand.NewPCG(1, 2))
	for _, im := range impls() {
		for _, sh := range shapes {
			if sh[0]*sh[1]*sh[2] > 600*600*65 {
				continue // keep the float64 reference fast
			}
			for _, tr := range transposes {
				for _, pad := range []int{0, 3} {
					t.Run(fmt.Sprintf("%s/%dx%dx%d/%v/pad%d", im.name, sh[0], sh[1], sh[2], tr, pad), func(t *testing.T) {
						p := newProblem(rng, tr[0], tr[1], sh[0], sh[1], sh[2], pad, 0.5, 2)
						p.check(t, p.run(im, 1))
					})
				}
			}
		}
	}
}

// TestSgemmAlphaBeta covers the scalars, including beta = 0 over a C full of NaN, alpha = 0 (A and
// B not read), and k = 0.
func TestSgemmAlphaBeta(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, im := range impls() {
		for _, sc := range [][2]float32{{1, 0}, {1, 1}, {-1.5, 0.25}, {2, -1}, {0.5, float32(math.Copysign(0, -1))}} {
			for _, tr := range transposes {
				for _, sh := range [][3]int{{17, 33, 9}, {6, 16, 400}, {64, 65, 63}} {
					t.Run(fmt.Sprintf("%s/a%v_b%v/%v/%v", im.name, sc[0], sc[1], tr, sh), func(t *testing.T) {
						p := newProblem(rng, tr[0], tr[1], sh[0], sh[1], sh[2], 2, sc[0], sc[1])
						p.check(t, p.run(im, 1))
					})
				}
			}
		}
	}
	t.Run("alpha0", func(t *testing.T) {
		for _, beta := range []float32{0, 1, -2} {
			p := newProblem(rng, false, true, 9, 18, 7, 1, 0, beta)
			for i := range p.a {
				p.a[i] = float32(math.NaN())
			}
			got := p.run(defaultImpl, 1)
			for i := range p.m {
				for j := range p.n {
					want := beta * p.c[i*p.ldc+j]
					if beta == 0 {
						want = 0
					}
					if g := got[i*p.ldc+j]; g != want {
						t.Fatalf("beta %v: C[%d][%d] = %v, want %v", beta, i, j, g, want)
					}
				}
			}
		}
	})
	t.Run("k0", func(t *testing.T) {
		p := newProblem(rng, true, false, 5, 7, 0, 0, 1, 0)
		got := p.run(defaultImpl, 1)
		for i, g := range got {
			if g != 0 {
				t.Fatalf("C[%d] = %v, want 0", i, g)
			}
		}
	})
	t.Run("empty", func(t *testing.T) {
		Sgemm(false, false, 0, 5, 3, 1, nil, 3, make([]float32, 15), 5, 0, nil, 5)
		Sgemm(false, false, 4, 0, 3, 1, make([]float32, 12), 3, nil, 1, 0, nil, 1)
	})
}

// TestSgemmDeterministic checks that repeated calls, and any number of workers, give the same bits.
func TestSgemmDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, sh := range [][3]int{{256, 256, 600}, {600, 100, 256}, {40, 700, 333}} {
		for _, tr := range transposes {
			p := newProblem(rng, tr[0], tr[1], sh[0], sh[1], sh[2], 1, 1, 0.5)
			want := p.run(defaultImpl, 1)
			for _, workers := range []int{1, 2, 3, 4, 7} {
				if got := p.run(defaultImpl, workers); !slices.Equal(bits(got), bits(want)) {
					t.Errorf("%v %v: %d workers differ from one", sh, tr, workers)
				}
			}
			got := slices.Clone(p.c)
			SgemmParallel(4, p.tA, p.tB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, got, p.ldc)
			if !slices.Equal(bits(got), bits(want)) {
				t.Errorf("%v %v: SgemmParallel differs from sgemm", sh, tr)
			}
		}
	}
}

// TestSgemmSameAcrossKernels checks that the assembly implementations (AVX2, AVX-512) give the
// same bits: they perform the same operations per element in the same order.
func TestSgemmSameAcrossKernels(t *testing.T) {
	var asm []*impl
	for _, im := range impls() {
		if im != implGo {
			asm = append(asm, im)
		}
	}
	if len(asm) < 2 {
		t.Skipf("this CPU runs %d assembly implementation(s)", len(asm))
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, sh := range [][3]int{{256, 256, 600}, {17, 100, 65}, {6, 4704, 75}, {7, 50, 700}, {32, 300, 288}, {64, 100, 144}} {
		for _, tr := range transposes {
			p := newProblem(rng, tr[0], tr[1], sh[0], sh[1], sh[2], 1, 1.5, -0.5)
			want := p.run(asm[0], 1)
			for _, im := range asm[1:] {
				if got := p.run(im, 1); !slices.Equal(bits(got), bits(want)) {
					t.Errorf("%v %v: %s differs from %s", sh, tr, im.name, asm[0].name)
				}
			}
		}
	}
}

func TestKernel(t *testing.T) {
	if got, want := Kernel(), impls()[0].name; got != want {
		t.Errorf("Kernel() = %q, want the first (widest) implementation %q", got, want)
	}
	t.Logf("kernel %s", Kernel())
}

func bits(s []float32) []uint32 {
	u := make([]uint32, len(s))
	for i, v := range s {
		u[i] = math.Float32bits(v)
	}
	return u
}

// TestSgemmPanics checks that invalid arguments panic rather than read out of bounds.
func TestSgemmPanics(t *testing.T) {
	buf := make([]float32, 100)
	cases := []struct {
		name string
		f    func()
	}{
		{"negative m", func() { Sgemm(false, false, -1, 2, 2, 1, buf, 2, buf, 2, 0, buf, 2) }},
		{"lda", func() { Sgemm(false, false, 2, 2, 3, 1, buf, 2, buf, 2, 0, buf, 2) }},
		{"lda trans", func() { Sgemm(true, false, 4, 2, 3, 1, buf, 3, buf, 2, 0, buf, 2) }},
		{"ldb", func() { Sgemm(false, true, 2, 2, 3, 1, buf, 3, buf, 2, 0, buf, 2) }},
		{"ldc", func() { Sgemm(false, false, 2, 4, 2, 1, buf, 2, buf, 4, 0, buf, 3) }},
		{"short a", func() { Sgemm(false, false, 6, 2, 3, 1, buf[:17], 3, buf, 2, 0, buf, 2) }},
		{"short b", func() { Sgemm(false, true, 2, 6, 3, 1, buf, 3, buf[:17], 3, 0, buf, 6) }},
		{"short c", func() { Sgemm(false, false, 3, 4, 2, 1, buf, 2, buf, 4, 0, buf[:11], 4) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tc.f()
		})
	}
}

// FuzzSgemm checks random shapes, strides and scalars against the float64 reference with every
// kernel.
func FuzzSgemm(f *testing.F) {
	f.Add(uint8(7), uint8(17), uint8(5), uint8(0), uint8(3), int8(2), int8(0))
	f.Add(uint8(1), uint8(1), uint8(1), uint8(3), uint8(0), int8(-1), int8(1))
	f.Add(uint8(65), uint8(33), uint8(200), uint8(1), uint8(1), int8(1), int8(3))
	f.Fuzz(func(t *testing.T, m, n, k, tr, pad uint8, alpha, beta int8) {
		rng := rand.New(rand.NewPCG(uint64(m)<<16|uint64(n)<<8|uint64(k), uint64(tr)))
		p := newProblem(rng, tr&1 != 0, tr&2 != 0, int(m), int(n), int(k), int(pad%5), float32(alpha)/2, float32(beta)/2)
		for _, im := range impls() {
			p.check(t, p.run(im, 1))
		}
		if p.m*p.n*p.k > 0 {
			want := p.run(defaultImpl, 1)
			if got := p.run(defaultImpl, 3); !slices.Equal(bits(got), bits(want)) {
				t.Error("3 workers differ from one")
			}
		}
	})
}
