package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/pmeter/pmeter/nn/internal/vec"
)

// specialValues draws values with many ties, signed zeros, infinities and NaNs (both signs).
func specialValues(r *rand.Rand, n int) []float32 {
	pool := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 0.5, 2, float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), math.Float32frombits(0xffc00001), 1e-45, -1e-45}
	v := make([]float32, n)
	for i := range v {
		if r.IntN(3) == 0 {
			v[i] = float32(r.NormFloat64())
		} else {
			v[i] = pool[r.IntN(len(pool))]
		}
	}
	return v
}

func sameFloatBits(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }

// TestReLUSemantics checks ReLU against PyTorch's definitions, value by value: forward
// relu(x) = x > 0 ? x : 0 with NaN kept, backward dy·(y > 0).
func TestReLUSemantics(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x := &Tensor{Shape: []int{50, 40}, Data: specialValues(r, 2000)}
	dy := &Tensor{Shape: []int{50, 40}, Data: specialValues(r, 2000)}
	var l ReLU
	y := l.Forward(x, true)
	for i, v := range x.Data {
		want := float32(0)
		if v > 0 || v != v {
			want = v
		}
		if !sameFloatBits(y.Data[i], want) {
			t.Fatalf("relu(%v) = %v, want %v", v, y.Data[i], want)
		}
	}
	dx := l.Backward(dy, true)
	for i, g := range dy.Data {
		want := float32(0)
		if y.Data[i] > 0 {
			want = g
		}
		if !sameFloatBits(dx.Data[i], want) {
			t.Fatalf("relu backward at y=%v, dy=%v: %v, want %v", y.Data[i], g, dx.Data[i], want)
		}
	}
}

// TestMaxPool2x2FastPath compares the 2×2 stride-2 path with a direct transcription of PyTorch's
// max-pooling loop (first maximum in row-major order, val > max or isnan(val)), odd sizes included,
// forward and backward: on any input, and on ReLU outputs with the ReLU's mask fused (the assembly's
// blocks of 8 windows, NaN blocks and tails), where the input gradient is dy at the argmax where the
// input there is positive (PyTorch's y > 0), +0 elsewhere.
func TestMaxPool2x2FastPath(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	shapes := [][]int{{3, 2, 8, 8}, {2, 3, 7, 5}, {1, 1, 2, 2}, {4, 2, 9, 12}, {2, 2, 6, 32}, {1, 3, 5, 35}, {2, 1, 4, 64}}
	for _, tc := range []struct {
		shape []int
		relu  bool
	}{{shapes[0], false}, {shapes[1], false}, {shapes[2], false}, {shapes[3], false}, {shapes[4], false},
		{shapes[0], true}, {shapes[3], true}, {shapes[4], true}, {shapes[5], true}, {shapes[6], true}} {
		shape := tc.shape
		x := &Tensor{Shape: shape, Data: specialValues(r, numel(shape))}
		if tc.relu {
			for i, v := range x.Data {
				x.Data[i] = relu32(v)
			}
			if shape[3] == 64 { // mostly NaN-free blocks
				for i, v := range x.Data {
					if v != v && r.IntN(8) != 0 {
						x.Data[i] = float32(r.Float64())
					}
				}
			}
		}
		p, _ := NewMaxPool2D(2, 2, 0)
		p.reluMask = tc.relu
		out, err := p.OutShape(shape[1:])
		if err != nil {
			t.Fatal(err)
		}
		y := p.Forward(x, true)
		n, c, h, w := shape[0], shape[1], shape[2], shape[3]
		ho, wo := out[1], out[2]
		for img := 0; img < n*c; img++ {
			xp := x.Data[img*h*w : (img+1)*h*w]
			for oh := 0; oh < ho; oh++ {
				for ow := 0; ow < wo; ow++ {
					bi := 2*oh*w + 2*ow
					best := xp[bi]
				scan:
					for dr := 0; dr < 2; dr++ {
						for dc := 0; dc < 2; dc++ {
							i := (2*oh+dr)*w + 2*ow + dc
							if v := xp[i]; v > best || v != v {
								best, bi = v, i
								if v != v {
									break scan
								}
							}
						}
					}
					o := img*ho*wo + oh*wo + ow
					if !sameFloatBits(y.Data[o], best) || int(p.argmax[o]) != bi {
						t.Fatalf("shape %v relu %v image %d output (%d, %d): %v at %d, want %v at %d (window %v %v / %v %v)", shape, tc.relu, img, oh, ow,
							y.Data[o], p.argmax[o], best, bi, xp[2*oh*w+2*ow], xp[2*oh*w+2*ow+1], xp[(2*oh+1)*w+2*ow], xp[(2*oh+1)*w+2*ow+1])
					}
				}
			}
		}
		dy := &Tensor{Shape: y.Shape, Data: specialValues(r, len(y.Data))}
		want := make([]float32, len(x.Data))
		for img := 0; img < n*c; img++ {
			for j := 0; j < ho*wo; j++ {
				o := img*ho*wo + j
				i := img*h*w + int(p.argmax[o])
				g := dy.Data[o]
				if tc.relu && !(x.Data[i] > 0) {
					g = 0
				}
				want[i] += g
			}
		}
		p.Backward(&Tensor{Shape: y.Shape, Data: specialValues(r, len(y.Data))}, true) // stale values to overwrite
		dx := p.Backward(dy, true)
		for i := range want {
			if !sameFloatBits(dx.Data[i], want[i]) {
				t.Fatalf("shape %v relu %v: input gradient %d = %v, want %v", shape, tc.relu, i, dx.Data[i], want[i])
			}
		}
	}
}

// TestBackwardSkipsLeadingLayers checks that Sequential.Backward does not back-propagate below the
// first layer with parameters, and that the gradients are unchanged by it.
func TestBackwardSkipsLeadingLayers(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	m, _ := FromSpecs("m", []LayerSpec{{Kind: KindFlatten}, {Kind: KindDense, In: 12, Out: 5}, {Kind: KindReLU}, {Kind: KindDense, In: 5, Out: 3}})
	m.Init(1)
	x := randTensor(r, -1, 1, 4, 3, 2, 2)
	out, err := m.Forward(x, true)
	if err != nil {
		t.Fatal(err)
	}
	dy := randTensor(r, -1, 1, out.Shape...)
	if err := m.Backward(dy); err != nil {
		t.Fatal(err)
	}
	if d := m.Layers[1].(*Dense); d.dx != nil {
		t.Error("the first dense layer computed its input gradient")
	}
	// Reference gradient of the first layer's weight: dW1 = δ1ᵀ·x with δ1 = (dy·W2) ⊙ (h > 0).
	d1, d2 := m.Layers[1].(*Dense), m.Layers[3].(*Dense)
	h := m.Layers[2].(*ReLU).y
	for o := 0; o < 5; o++ {
		for in := 0; in < 12; in++ {
			var want float64
			for i := 0; i < 4; i++ {
				var delta float64
				for k := 0; k < 3; k++ {
					delta += float64(dy.Data[i*3+k]) * float64(d2.W.Data[k*5+o])
				}
				if h.Data[i*5+o] <= 0 {
					delta = 0
				}
				want += delta * float64(x.Data[i*12+in])
			}
			if got := float64(d1.DW.Data[o*12+in]); math.Abs(got-want) > 1e-5 {
				t.Fatalf("dW1[%d][%d] = %v, want %v", o, in, got, want)
			}
		}
	}
}

// TestAdamVectorMatchesScalar checks that the vector Adam step gives bitwise the scalar step's
// results, for lengths with and without a tail.
func TestAdamVectorMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{1, 7, 8, 9, 64, 1001} {
		w := randTensor(r, -1, 1, n).Data
		g := randTensor(r, -1e-3, 1e-3, n).Data
		m := randTensor(r, -1e-3, 1e-3, n).Data
		v := randTensor(r, 0, 1e-6, n).Data
		g[0], v[0] = 0, 0 // 0/(0 + ε)
		c := vec.Consts{B1: 0.9, C1: 1 - float32(0.9), B2: 0.999, C2: 1 - float32(0.999), Step: 1e-3 / 0.1, InvBC2: 3.1622777, Eps: 1e-8}
		w2, m2, v2 := append([]float32(nil), w...), append([]float32(nil), m...), append([]float32(nil), v...)
		k := vec.Adam(w, g, m, v, &c)
		adamScalar(w[k:], g[k:], m[k:], v[k:], &c)
		adamScalar(w2, g, m2, v2, &c)
		for j := range w {
			if !sameFloatBits(w[j], w2[j]) || !sameFloatBits(m[j], m2[j]) || !sameFloatBits(v[j], v2[j]) {
				t.Fatalf("n=%d element %d: vector (%v %v %v), scalar (%v %v %v)", n, j, w[j], m[j], v[j], w2[j], m2[j], v2[j])
			}
		}
	}
}

// TestExpNeg32 checks expNeg32 against math.Exp over its whole range, in units of float32's last place.
func TestExpNeg32(t *testing.T) {
	worst := 0.0
	for x := float32(0); x >= -87.3; x = math.Nextafter32(x, -100) - 1e-4*float32(r01(x)) {
		got, want := float64(expNeg32(x)), math.Exp(float64(x))
		ulp := float64(math.Nextafter32(float32(want), float32(math.Inf(1))) - float32(want))
		if d := math.Abs(got-want) / ulp; d > worst {
			worst = d
		}
	}
	t.Logf("worst error %.2f ulp", worst)
	if worst > 3 {
		t.Errorf("expNeg32 is off by %.2f units in the last place", worst)
	}
	for _, x := range []float32{-87.4, -1000, float32(math.Inf(-1)), float32(math.NaN())} {
		if got := expNeg32(x); got != 0 {
			t.Errorf("expNeg32(%v) = %v, want 0", x, got)
		}
	}
}

// r01 spreads the test points of TestExpNeg32 pseudo-randomly.
func r01(x float32) float64 { return float64(math.Float32bits(x)%1000) / 1000 }

// TestCrossEntropyTrain compares the training loss and gradient with CrossEntropy.PerRecord.
func TestCrossEntropyTrain(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	out := randTensor(r, -30, 30, 64, 10)
	out.Data[5] = float32(math.NaN())
	out.Data[17] = float32(math.Inf(1))
	labels := make([]int, 64)
	for i := range labels {
		labels[i] = r.IntN(10)
	}
	l1, l2 := make([]float64, 64), make([]float64, 64)
	g1, g2 := make([]float32, 640), make([]float32, 640)
	if err := (CrossEntropy{}).PerRecord(out, Target{Labels: labels}, l1, g1); err != nil {
		t.Fatal(err)
	}
	crossEntropyTrain(out, labels, l2, g2)
	for i := range l1 {
		if math.IsNaN(l1[i]) != math.IsNaN(l2[i]) || !(math.Abs(l1[i]-l2[i]) <= 1e-5*(1+math.Abs(l1[i]))) && !math.IsNaN(l1[i]) {
			t.Errorf("record %d: loss %v, want %v", i, l2[i], l1[i])
		}
		for j := i * 10; j < i*10+10; j++ {
			if d := math.Abs(float64(g1[j] - g2[j])); !(d <= 1e-6) && !(g1[j] != g1[j] && g2[j] != g2[j]) {
				t.Errorf("record %d: gradient[%d] = %v, want %v", i, j-i*10, g2[j], g1[j])
			}
		}
	}
}

// TestConvOneImageChunks checks a convolution whose patch matrix exceeds colsBudget, so that each
// image is its own chunk (the path that writes the product in place), against a direct computation.
func TestConvOneImageChunks(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	const n, in, out, k, s, p, h, w = 3, 16, 4, 3, 1, 1, 24, 25
	c, _ := NewConv2D(in, out, k, s, p, true)
	c.Init(r)
	x := randTensor(r, -1, 1, n, in, h, w)
	if _, err := c.OutShape([]int{in, h, w}); err != nil {
		t.Fatal(err)
	}
	y := c.Forward(x, true)
	if c.chunk(n) != 1 {
		t.Fatalf("chunk %d, want 1", c.chunk(n))
	}
	ho, wo := y.Shape[2], y.Shape[3]
	dy := randTensor(r, -1, 1, y.Shape...)
	dx := c.Backward(dy, true)
	at := func(img, ch, i, j int) float64 {
		if i < 0 || i >= h || j < 0 || j >= w {
			return 0
		}
		return float64(x.Data[((img*in+ch)*h+i)*w+j])
	}
	wantDW := make([]float64, len(c.W.Data))
	wantDX := make([]float64, len(x.Data))
	wantDB := make([]float64, out)
	for img := 0; img < n; img++ {
		for o := 0; o < out; o++ {
			for oi := 0; oi < ho; oi++ {
				for oj := 0; oj < wo; oj++ {
					sum := float64(c.B.Data[o])
					g := float64(dy.Data[((img*out+o)*ho+oi)*wo+oj])
					wantDB[o] += g
					for ch := 0; ch < in; ch++ {
						for ki := 0; ki < k; ki++ {
							for kj := 0; kj < k; kj++ {
								wi := ((o*in+ch)*k+ki)*k + kj
								ii, jj := oi*s-p+ki, oj*s-p+kj
								sum += float64(c.W.Data[wi]) * at(img, ch, ii, jj)
								wantDW[wi] += g * at(img, ch, ii, jj)
								if ii >= 0 && ii < h && jj >= 0 && jj < w {
									wantDX[((img*in+ch)*h+ii)*w+jj] += g * float64(c.W.Data[wi])
								}
							}
						}
					}
					if got := float64(y.Data[((img*out+o)*ho+oi)*wo+oj]); math.Abs(got-sum) > 1e-4 {
						t.Fatalf("y[%d %d %d %d] = %v, want %v", img, o, oi, oj, got, sum)
					}
				}
			}
		}
	}
	for name, pair := range map[string][2][]float64{"dW": {toF64(c.DW.Data), wantDW}, "dB": {toF64(c.DB.Data), wantDB}, "dX": {toF64(dx.Data), wantDX}} {
		for i := range pair[1] {
			if math.Abs(pair[0][i]-pair[1][i]) > 1e-3*(1+math.Abs(pair[1][i])) {
				t.Fatalf("%s[%d] = %v, want %v", name, i, pair[0][i], pair[1][i])
			}
		}
	}
}

func toF64(s []float32) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}
