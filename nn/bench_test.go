package nn

import (
	"context"
	"testing"
)

// Training-speed benchmarks; each reports samples/s. Run briefly with
//
//	go test -run '^$' -bench Train -benchtime 3x ./nn/
//
// and with -tags openblas for the OpenBLAS backend.

func benchTrain(b *testing.B, specs []LayerSpec, shape []int, classes, n, batch int, opt Optimizer) {
	x, y := synthImages(1, n, 1, 1, numel(shape), classes)
	x.Shape = append([]int{n}, shape...)
	m, err := FromSpecs("bench", specs)
	if err != nil {
		b.Fatal(err)
	}
	m.Init(1)
	cfg := TrainConfig{Epochs: 1, BatchSize: batch, LR: 1e-3, Optimizer: opt}
	d := Data{X: x, Labels: y}
	// One warm-up epoch allocates the buffers.
	if _, err := Train(context.Background(), m, d, cfg); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Train(context.Background(), m, d, cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkMLPTrain: 600 → 256 → 100 ReLU MLP (Purchase100-like), batch 256, Adam; one epoch of 2,560
// records per op.
func BenchmarkMLPTrain(b *testing.B) {
	benchTrain(b, []LayerSpec{
		{Kind: KindDense, In: 600, Out: 256}, {Kind: KindReLU}, {Kind: KindDense, In: 256, Out: 100},
	}, []int{600}, 100, 2560, 256, Adam{})
}

// BenchmarkCNNTrain: Privacy Meter's CIFAR CNN (LeNet-like, 62k parameters) on 3 × 32 × 32 images,
// batch 128, SGD with momentum; one epoch of 512 records per op.
func BenchmarkCNNTrain(b *testing.B) {
	benchTrain(b, []LayerSpec{
		{Kind: KindConv2D, In: 3, Out: 6, Kernel: 5}, {Kind: KindReLU}, {Kind: KindMaxPool2D, Kernel: 2},
		{Kind: KindConv2D, In: 6, Out: 16, Kernel: 5}, {Kind: KindReLU}, {Kind: KindMaxPool2D, Kernel: 2},
		{Kind: KindFlatten}, {Kind: KindDense, In: 400, Out: 120}, {Kind: KindReLU},
		{Kind: KindDense, In: 120, Out: 84}, {Kind: KindReLU}, {Kind: KindDense, In: 84, Out: 10},
	}, []int{3, 32, 32}, 10, 512, 128, SGD{Momentum: 0.9})
}

// BenchmarkMLPGradNorms: per-record outputs with gradient norms for the MLP, 2,560 records per op.
func BenchmarkMLPGradNorms(b *testing.B) {
	x, y := synthImages(1, 2560, 1, 1, 600, 100)
	x.Shape = []int{2560, 600}
	m, _ := FromSpecs("bench", []LayerSpec{
		{Kind: KindDense, In: 600, Out: 256}, {Kind: KindReLU}, {Kind: KindDense, In: 256, Out: 100},
	})
	m.Init(1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Evaluate(context.Background(), m, Data{X: x, Labels: y}, EvalConfig{GradNorms: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(2560*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}
