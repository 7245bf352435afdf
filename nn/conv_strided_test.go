package nn

import (
	"fmt"
	"math"
	"testing"
)

// TestConvFastPathsMatchGeneral compares the pointwise and phased paths (conv_strided.go) with the
// general im2col path on the same weights and data: outputs (with bias and fused ReLU), input
// gradients and, for phased convolutions, weight and bias gradients bitwise; the pointwise weight
// and bias gradients, summed per image, to float32 rounding.
func TestConvFastPathsMatchGeneral(t *testing.T) {
	bitwise := bitwise
	if Backend() != "gonum" {
		// Another BLAS may round products of other shapes differently.
		t.Logf("comparing to float32 rounding: bitwise equality is checked for the pure-Go backend only, this is %s", Backend())
		bitwise = close32
	}
	for _, s := range []struct {
		in, out, k, stride, pad, h, w int
		bias, relu                    bool
		phased, pointwise             bool
	}{
		{4, 6, 1, 1, 0, 5, 7, true, false, false, true},
		{6, 3, 1, 1, 0, 8, 8, false, true, false, true},
		{3, 5, 1, 2, 0, 8, 6, true, true, true, true},
		{6, 4, 1, 2, 0, 7, 5, false, false, false, true}, // odd sizes: subsampled, not phased
		{2, 3, 1, 3, 0, 9, 9, true, false, true, true},
		{5, 4, 3, 2, 1, 8, 10, false, false, true, false},
		{3, 4, 3, 2, 1, 6, 6, true, true, true, false},
		{2, 3, 5, 2, 2, 8, 8, true, false, true, false},
		{3, 2, 3, 3, 1, 9, 6, false, false, true, false},
		{64, 8, 3, 2, 1, 48, 48, false, false, true, false}, // a patch matrix over the chunk budget: one image per product
		{3, 4, 3, 2, 1, 7, 7, true, false, false, false},    // odd size: general path
		{3, 4, 3, 2, 0, 8, 8, true, false, false, false},    // output not half the input: general path
	} {
		for _, n := range []int{1, 5} {
			name := fmt.Sprintf("%d-%d-k%d-s%d-p%d-%dx%d-n%d", s.in, s.out, s.k, s.stride, s.pad, s.h, s.w, n)
			fast, err := NewConv2D(s.in, s.out, s.k, s.stride, s.pad, s.bias)
			if err != nil {
				t.Fatal(err)
			}
			fast.Init(newRand(7, 1))
			gen, _ := NewConv2D(s.in, s.out, s.k, s.stride, s.pad, s.bias)
			copy(gen.W.Data, fast.W.Data)
			if s.bias {
				copy(gen.B.Data, fast.B.Data)
			}
			fast.fuseReLU, gen.fuseReLU, gen.general = s.relu, s.relu, true
			x := randTensor(newRand(8, 2), -1, 1, n, s.in, s.h, s.w)
			yf := fast.Forward(x, true)
			yg := gen.Forward(x, true)
			if fast.phased() != s.phased || fast.pointwise() != s.pointwise {
				t.Fatalf("%s: phased %v pointwise %v, want %v %v", name, fast.phased(), fast.pointwise(), s.phased, s.pointwise)
			}
			bitwise(t, name+" output", yf.Data, yg.Data)
			dy := randTensor(newRand(9, 3), -1, 1, yf.Shape...)
			// Run twice: the second pass checks that buffers left by the first do not leak in.
			for range 2 {
				dxf := fast.Backward(dy, true)
				dxg := gen.Backward(dy, true)
				bitwise(t, name+" input gradient", dxf.Data, dxg.Data)
				if s.pointwise {
					close32(t, name+" weight gradient", fast.DW.Data, gen.DW.Data)
					if s.bias {
						close32(t, name+" bias gradient", fast.DB.Data, gen.DB.Data)
					}
				} else {
					bitwise(t, name+" weight gradient", fast.DW.Data, gen.DW.Data)
					if s.bias {
						bitwise(t, name+" bias gradient", fast.DB.Data, gen.DB.Data)
					}
				}
			}
		}
	}
}

func bitwise(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !sameFloatBits(got[i], want[i]) {
			t.Fatalf("%s[%d] = %v, general path %v", what, i, got[i], want[i])
		}
	}
}

func close32(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("%s[%d] = %v, general path %v", what, i, got[i], want[i])
		}
	}
}
