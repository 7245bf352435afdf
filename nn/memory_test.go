package nn

import (
	"context"
	"runtime"
	"testing"
)

// TestTrainMemoryEstimate checks SpecSummary.TrainMemory against the heap a model holds after a
// training epoch with Adam (live bytes after a collection, the training data excluded), for a small
// model with every vision layer kind and a plain CNN: within [0.8, 1.5]× of it.
func TestTrainMemoryEstimate(t *testing.T) {
	if raceEnabled || Backend() != "gonum" {
		t.Skipf("the heap is measured for the pure-Go backend without the race detector (backend %s, race %v)", Backend(), raceEnabled)
	}
	cnn := []LayerSpec{
		{Kind: KindConv2D, In: 3, Out: 16, Kernel: 3, Padding: 1}, {Kind: KindReLU}, {Kind: KindMaxPool2D, Kernel: 2},
		{Kind: KindConv2D, In: 16, Out: 32, Kernel: 3, Padding: 1}, {Kind: KindReLU}, {Kind: KindMaxPool2D, Kernel: 2},
		{Kind: KindFlatten}, {Kind: KindDense, In: 32 * 4 * 4, Out: 64}, {Kind: KindReLU}, {Kind: KindDense, In: 64, Out: 10},
	}
	for _, tc := range []struct {
		name  string
		specs []LayerSpec
	}{{"vision", visionSpecs()}, {"cnn", cnn}} {
		const batch = 128
		in := []int{3, 16, 16}
		x, labels := synthImages(2, 2*batch, 3, 16, 16, 10)
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.HeapAlloc
		m, err := FromSpecs(tc.name, tc.specs)
		if err != nil {
			t.Fatal(err)
		}
		m.Init(1)
		if _, err := Train(context.Background(), m, Data{X: x, Labels: labels}, TrainConfig{Epochs: 1, BatchSize: batch, LR: 1e-3, Optimizer: Adam{}, Seed: 1}); err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		held := int64(ms.HeapAlloc) - int64(before)
		runtime.KeepAlive(m)
		s, err := Summarize(tc.specs, in)
		if err != nil {
			t.Fatal(err)
		}
		est := s.TrainMemory(batch, 2)
		if r := float64(est) / float64(held); r < 0.8 || r > 1.5 {
			t.Errorf("%s: estimate %d bytes, %.2f× the %d bytes held after training (want 0.8–1.5×)", tc.name, est, r, held)
		} else {
			t.Logf("%s: estimate %d bytes, %.2f× the %d bytes held after training", tc.name, est, r, held)
		}
	}
}
