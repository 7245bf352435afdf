package nn

import (
	"math"
	"testing"
)

// TestConvChunksOfUnequalSize runs batches whose last chunk of images is shorter than the others
// (the patch matrices of every chunk share one row stride, past a multiple of 256 columns where the
// full chunk has one) and checks each image's output and input gradient against the image convolved
// alone, bitwise with pmeter's gemm (each element's sum has the same order whatever the product's
// width; OpenBLAS's kernels depend on it, so there to rounding), and the weight gradient against the
// sum of the images' to rounding.
func TestConvChunksOfUnequalSize(t *testing.T) {
	same := func(a, b float32) bool {
		if Backend() == "openblas" {
			return math.Abs(float64(a)-float64(b)) <= 1e-5*(1+math.Abs(float64(b)))
		}
		return math.Float32bits(a) == math.Float32bits(b)
	}
	for _, tc := range []struct{ in, out, hw, n int }{
		{28, 4, 2, 129}, // chunks of 65 images: the last one's 64·4 = 256 columns
		{3, 8, 16, 12},  // chunks of 9 images of 256 columns, the last one of 3
		{16, 8, 8, 30},
	} {
		c, err := NewConv2D(tc.in, tc.out, 3, 1, 1, false)
		if err != nil {
			t.Fatal(err)
		}
		c.Init(newRand(1, 2))
		x := randTensor(newRand(3, 4), -1, 1, tc.n, tc.in, tc.hw, tc.hw)
		dy := randTensor(newRand(5, 6), -1, 1, tc.n, tc.out, tc.hw, tc.hw)
		y := append([]float32(nil), c.Forward(x, true).Data...)
		if ch := c.chunk(tc.n); ch >= tc.n || tc.n%ch == 0 {
			t.Fatalf("%+v: chunks of %d images, want a shorter last one", tc, ch)
		}
		dx := append([]float32(nil), c.Backward(dy, true).Data...)
		dw := append([]float32(nil), c.DW.Data...)
		sum := make([]float64, len(dw))
		inLen, outLen := tc.in*tc.hw*tc.hw, tc.out*tc.hw*tc.hw
		for i := 0; i < tc.n; i++ {
			xi := &Tensor{Shape: []int{1, tc.in, tc.hw, tc.hw}, Data: x.Data[i*inLen : (i+1)*inLen]}
			dyi := &Tensor{Shape: []int{1, tc.out, tc.hw, tc.hw}, Data: dy.Data[i*outLen : (i+1)*outLen]}
			for j, v := range c.Forward(xi, true).Data {
				if !same(v, y[i*outLen+j]) {
					t.Fatalf("%+v: image %d output %d = %v in the batch, %v alone", tc, i, j, y[i*outLen+j], v)
				}
			}
			for j, v := range c.Backward(dyi, true).Data {
				if !same(v, dx[i*inLen+j]) {
					t.Fatalf("%+v: image %d input gradient %d = %v in the batch, %v alone", tc, i, j, dx[i*inLen+j], v)
				}
			}
			for j, v := range c.DW.Data {
				sum[j] += float64(v)
			}
		}
		for j, v := range dw {
			if d := math.Abs(float64(v) - sum[j]); d > 1e-4*(1+math.Abs(sum[j])) {
				t.Fatalf("%+v: weight gradient %d = %v, the images' sum %v", tc, j, v, sum[j])
			}
		}
	}
}
