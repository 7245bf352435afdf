package nn

import (
	"math/rand/v2"
	"testing"
)

// TestIm2colSame compares the stride-1 same-width patch matrices with the general loops, value by
// value (col2im from a dcols buffer that the fast path zeroes in part), for odd kernels and planes
// down to one pixel.
func TestIm2colSame(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, tc := range []struct{ in, k, h, w int }{
		{1, 1, 1, 1}, {2, 3, 1, 1}, {2, 3, 1, 5}, {3, 3, 4, 1}, {3, 3, 5, 7}, {2, 5, 2, 3}, {2, 5, 6, 6}, {1, 7, 3, 9},
	} {
		c, err := NewConv2D(tc.in, 2, tc.k, 1, (tc.k-1)/2, false)
		if err != nil {
			t.Fatal(err)
		}
		c.h, c.w = tc.h, tc.w
		c.ho, c.wo = convOut(tc.h, c.K, 1, c.Padding), convOut(tc.w, c.K, 1, c.Padding)
		if c.wo != c.w {
			t.Fatalf("%+v: output width %d", tc, c.wo)
		}
		hw, kd := c.ho*c.wo, tc.in*tc.k*tc.k
		x := specialValues(r, tc.in*tc.h*tc.w)
		ld := hw + 3 // rows apart, as in a chunk of images
		got, want := specialValues(r, kd*ld), make([]float32, kd*ld)
		copy(want, got)
		c.im2colSame(x, got, ld)
		c.im2colGeneral(x, want, ld)
		for i := range got {
			if !sameFloatBits(got[i], want[i]) {
				t.Fatalf("%+v: im2col[%d] = %v, want %v", tc, i, got[i], want[i])
			}
		}
		// col2im: dx starts at +0 as in Backward; gradients without NaN so that sums are comparable.
		dcols := randTensor(r, -1, 1, kd*ld).Data
		dcols2 := append([]float32(nil), dcols...)
		dxGot, dxWant := make([]float32, len(x)), make([]float32, len(x))
		c.col2imSame(dcols, ld, dxGot)
		c.col2imGeneral(dcols2, ld, dxWant)
		for i := range dxGot {
			if !sameFloatBits(dxGot[i], dxWant[i]) {
				t.Fatalf("%+v: col2im[%d] = %v, want %v", tc, i, dxGot[i], dxWant[i])
			}
		}
	}
}

// TestFusedReLUMatchesLayers runs models through Sequential, which fuses conv → ReLU → max-pool and
// batch norm → ReLU (also inside residual blocks), and layer by layer without fusion, and requires
// bitwise the same outputs and parameter gradients, in training and evaluation mode, with inputs
// holding ties, signed zeros, infinities and NaNs.
func TestFusedReLUMatchesLayers(t *testing.T) {
	convPool := []LayerSpec{
		{Kind: KindConv2D, In: 2, Out: 3, Kernel: 3, Padding: 1}, {Kind: KindReLU}, {Kind: KindMaxPool2D, Kernel: 2},
		{Kind: KindConv2D, In: 3, Out: 4, Kernel: 3, Padding: 1, NoBias: true}, {Kind: KindReLU},
		{Kind: KindConv2D, In: 4, Out: 2, Kernel: 1}, {Kind: KindReLU}, {Kind: KindMaxPool2D, Kernel: 2},
		{Kind: KindFlatten}, {Kind: KindDense, In: 2 * 2 * 2, Out: 3},
	}
	bn := func(c int) LayerSpec { return LayerSpec{Kind: KindBatchNorm, In: c} }
	relu := LayerSpec{Kind: KindReLU}
	resnet := []LayerSpec{
		{Kind: KindConv2D, In: 2, Out: 3, Kernel: 3, Padding: 1, NoBias: true},
		{Kind: KindResidual, Body: []LayerSpec{bn(3), relu, {Kind: KindConv2D, In: 3, Out: 3, Kernel: 3, Padding: 1}, bn(3), relu,
			{Kind: KindConv2D, In: 3, Out: 3, Kernel: 3, Padding: 1, NoBias: true}}},
		relu, // fused into the residual block's sum
		bn(3), relu,
		{Kind: KindResidual, Body: []LayerSpec{{Kind: KindConv2D, In: 3, Out: 4, Kernel: 3, Stride: 2, Padding: 1}, bn(4), relu, {Kind: KindMaxPool2D, Kernel: 1}},
			Shortcut: []LayerSpec{{Kind: KindConv2D, In: 3, Out: 4, Kernel: 1, Stride: 2}}},
		bn(4), relu, {Kind: KindMaxPool2D, Kernel: 2}, {Kind: KindGlobalAvgPool}, {Kind: KindDense, In: 4, Out: 3},
	}
	for trial := 0; trial < 40; trial++ {
		specs, train := convPool, trial%4 != 3
		if trial >= 20 {
			specs = resnet
		}
		r := rand.New(rand.NewPCG(13, uint64(trial)))
		fused, err := FromSpecs("fused", specs)
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := FromSpecs("plain", specs)
		fused.Init(uint64(trial))
		plain.Init(uint64(trial))
		n := 1 + trial%3
		x := &Tensor{Shape: []int{n, 2, 9, 9}, Data: specialValues(r, n*2*9*9)}
		if trial%2 == 0 { // also without special values, so that gradients are not all NaN
			x = randTensor(r, -1, 1, n, 2, 9, 9)
		}
		yf, err := fused.Forward(x, train)
		if err != nil {
			t.Fatal(err)
		}
		h := x
		for _, l := range plain.Layers {
			h = l.Forward(h, train)
		}
		for i := range h.Data {
			if !sameFloatBits(yf.Data[i], h.Data[i]) {
				t.Fatalf("trial %d: output[%d] = %v, want %v", trial, i, yf.Data[i], h.Data[i])
			}
		}
		dy := &Tensor{Shape: yf.Shape, Data: specialValues(r, len(yf.Data))}
		if err := fused.Backward(dy); err != nil {
			t.Fatal(err)
		}
		g := dy
		for i := len(plain.Layers) - 1; i >= 0; i-- {
			g = plain.Layers[i].Backward(g, i > 0)
		}
		pf, pp := fused.Params(), plain.Params()
		for k := range pf {
			for i := range pf[k].Grad.Data {
				if a, b := pf[k].Grad.Data[i], pp[k].Grad.Data[i]; !sameFloatBits(a, b) {
					t.Fatalf("trial %d: %s grad[%d] = %v, want %v", trial, pf[k].Name, i, a, b)
				}
			}
		}
	}
}
