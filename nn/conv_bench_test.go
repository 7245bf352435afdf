package nn

import (
	"fmt"
	"testing"

	pgemm "github.com/pmeter/pmeter/nn/gemm"
)

// BenchmarkCNN2Train: the zoo's "cnn2" (conv 3×3 3→32 pad 1, ReLU, maxpool 2, conv 3×3 32→64 pad 1,
// ReLU, maxpool 2, dense 4096→128, ReLU, dense 128→10) on 3 × 32 × 32 images, batch 128, Adam; one
// epoch of 512 records per op.
func BenchmarkCNN2Train(b *testing.B) {
	SetBLASThreads(1)
	benchTrain(b, []LayerSpec{
		{Kind: KindConv2D, In: 3, Out: 32, Kernel: 3, Padding: 1}, {Kind: KindReLU}, {Kind: KindMaxPool2D, Kernel: 2},
		{Kind: KindConv2D, In: 32, Out: 64, Kernel: 3, Padding: 1}, {Kind: KindReLU}, {Kind: KindMaxPool2D, Kernel: 2},
		{Kind: KindFlatten}, {Kind: KindDense, In: 4096, Out: 128}, {Kind: KindReLU},
		{Kind: KindDense, In: 128, Out: 10},
	}, []int{3, 32, 32}, 10, 512, 128, Adam{})
}

// BenchmarkConvLayer times one convolution layer of WRN-28-2's and ResNet-20's shapes, batch 32, one
// goroutine: a forward and a backward pass (weight and input gradients) per op, with the GFLOP/s of
// the three products; with the general im2col path ("general") and the gemm kernel on products of
// the same sizes ("gemm") as baselines. go test ./nn -run - -bench ConvLayer -count 3
func BenchmarkConvLayer(b *testing.B) {
	SetBLASThreads(1)

	const batch = 32
	for _, s := range []struct{ in, out, k, stride, hw int }{
		{32, 32, 3, 1, 32}, {3, 32, 3, 1, 32}, {32, 64, 3, 1, 16}, {16, 32, 1, 1, 32}, {32, 64, 3, 2, 32}, {32, 64, 1, 2, 32}, {64, 128, 3, 2, 16}, {64, 128, 1, 2, 16}, {16, 32, 3, 2, 32},
	} {
		name := fmt.Sprintf("%dx%d-s%d-%d-%d-%d", s.k, s.k, s.stride, s.in, s.out, s.hw)
		c, err := NewConv2D(s.in, s.out, s.k, s.stride, s.k/2, false)
		if err != nil {
			b.Fatal(err)
		}
		c.Init(newRand(1, 2))
		x := randTensor(newRand(3, 4), -1, 1, batch, s.in, s.hw, s.hw)
		ho := convOut(s.hw, s.k, s.stride, s.k/2)
		dy := randTensor(newRand(5, 6), -1, 1, batch, s.out, ho, ho)
		flops := 3 * 2 * float64(batch*s.out*s.in*s.k*s.k*ho*ho)
		for _, general := range []bool{false, true} {
			sub := name
			if general {
				sub += "/general" // the im2col path, as the baseline of the dedicated ones
			}
			b.Run(sub, func(b *testing.B) {
				c.general = general
				c0 := processCPU()
				for b.Loop() {
					c.Forward(x, true)
					c.Backward(dy, true)
				}
				report(b, flops, c0)
			})
		}
		b.Run(name+"/gemm", func(b *testing.B) {
			m, n, k := s.out, batch*ho*ho, s.in*s.k*s.k
			n = min(n, 8*ho*ho)
			ld := pgemm.LeadingDim(n) // the layer's own row stride
			a, bb, cc := make([]float32, m*k), make([]float32, k*ld), make([]float32, m*ld)
			f := 3 * 2 * float64(m*n*k)
			c0 := processCPU()
			for b.Loop() {
				for range 3 {
					gemm(false, false, m, n, k, 1, a, k, bb, ld, 0, cc, ld)
				}
			}
			report(b, f, c0)
		})
	}
}

// report adds the GFLOP/s of b's ops of flops each, per second of wall time and per CPU-second since
// c0 (the figure that does not count the time other processes held the core).
func report(b *testing.B, flops, c0 float64) {
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu := processCPU() - c0; c0 > 0 && cpu > 0 {
		b.ReportMetric(flops*float64(b.N)/cpu/1e9, "GFLOP/s-cpu")
	}
}
