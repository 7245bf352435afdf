package nn

import "testing"

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
