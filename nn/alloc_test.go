package nn

import (
	"context"
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestTrainStepAllocatesNothing checks that a training step (forward, loss, backward and optimizer
// update) allocates nothing once the first step has sized every buffer, for a model with every
// layer kind of the vision models (convolutions of several geometries, batch norm, ReLU, pooling,
// residual blocks) and for each optimizer. Products run on one goroutine each, as when models train
// through nn/sched (products split over goroutines allocate the goroutines' closures).
func TestTrainStepAllocatesNothing(t *testing.T) {
	SetBLASThreads(1)
	t.Cleanup(func() { SetBLASThreads(runtime.GOMAXPROCS(0)) })
	specs := visionSpecs()
	r := rand.New(rand.NewPCG(3, 4))
	x := randTensor(r, -1, 1, 16, 3, 16, 16)
	labels := make([]int, 16)
	for i := range labels {
		labels[i] = r.IntN(10)
	}
	for _, opt := range []Optimizer{SGD{Momentum: 0.9, WeightDecay: 5e-4, Nesterov: true}, Adam{}, AdamW{WeightDecay: 0.01}} {
		m, err := FromSpecs("allocs", specs)
		if err != nil {
			t.Fatal(err)
		}
		m.Init(1)
		m.shareGrads(true)
		upd, err := opt.Start(m.Params())
		if err != nil {
			t.Fatal(err)
		}
		b := newBatcher(Data{X: x, Labels: labels})
		idx := make([]int, 8)
		step := func() {
			for i := range idx {
				idx[i] = r.IntN(16)
			}
			xb, tb := b.gather(idx)
			if _, err := b.step(m, xb, tb, CrossEntropy{}); err != nil {
				t.Fatal(err)
			}
			upd.Update(0.01)
		}
		step() // sizes the buffers
		if a := testing.AllocsPerRun(5, step); a != 0 {
			t.Errorf("%T: %v allocations per training step after the first, want 0", opt, a)
		}
	}
}

// TestSharedGradsMatch trains two copies of a model on the same batches, one with the shared
// gradient buffers that Train uses and one with a buffer per layer, and requires bitwise the same
// weights and running statistics; then a model that trained with sharing, back to its own buffers,
// must give the same per-record gradient norms as the copy.
func TestSharedGradsMatch(t *testing.T) {
	specs := visionSpecs()
	r := rand.New(rand.NewPCG(5, 6))
	x := randTensor(r, -1, 1, 16, 3, 16, 16)
	labels := make([]int, 16)
	for i := range labels {
		labels[i] = r.IntN(10)
	}
	var models [2]*Sequential
	var upds [2]Updater
	var bs [2]*batcher
	for k := range models {
		m, err := FromSpecs("shared", specs)
		if err != nil {
			t.Fatal(err)
		}
		m.Init(7)
		m.shareGrads(k == 0)
		models[k] = m
		if upds[k], err = (SGD{Momentum: 0.9}).Start(m.Params()); err != nil {
			t.Fatal(err)
		}
		bs[k] = newBatcher(Data{X: x, Labels: labels})
	}
	idx := make([]int, 8)
	for step := 0; step < 4; step++ {
		for i := range idx {
			idx[i] = r.IntN(16)
		}
		for k, m := range models {
			xb, tb := bs[k].gather(idx)
			if _, err := bs[k].step(m, xb, tb, CrossEntropy{}); err != nil {
				t.Fatal(err)
			}
			upds[k].Update(0.05)
		}
	}
	models[0].shareGrads(false)
	state := func(m *Sequential) []Param { return append(m.Params(), m.Buffers()...) }
	a, b := state(models[0]), state(models[1])
	for k := range a {
		for i, v := range a[k].Value.Data {
			if !sameFloatBits(v, b[k].Value.Data[i]) {
				t.Fatalf("%s[%d] = %v with shared gradients, %v without", a[k].Name, i, v, b[k].Value.Data[i])
			}
		}
	}
	var sq [2][]float64
	for k, m := range models {
		out, err := Evaluate(context.Background(), m, Data{X: x, Labels: labels}, EvalConfig{GradNorms: true})
		if err != nil {
			t.Fatal(err)
		}
		sq[k] = out.GradNorm
	}
	for i := range sq[0] {
		if sq[0][i] != sq[1][i] {
			t.Fatalf("record %d: gradient norm² %v after shared training, %v", i, sq[0][i], sq[1][i])
		}
	}
}

// visionSpecs is a small model with every layer kind of the vision models.
func visionSpecs() []LayerSpec {
	bn := func(c int) LayerSpec { return LayerSpec{Kind: KindBatchNorm, In: c} }
	relu := LayerSpec{Kind: KindReLU}
	return []LayerSpec{
		{Kind: KindConv2D, In: 3, Out: 8, Kernel: 3, Padding: 1}, relu, {Kind: KindMaxPool2D, Kernel: 2},
		{Kind: KindResidual, Body: []LayerSpec{bn(8), relu, {Kind: KindConv2D, In: 8, Out: 8, Kernel: 3, Padding: 1, NoBias: true}, bn(8), relu,
			{Kind: KindConv2D, In: 8, Out: 8, Kernel: 3, Padding: 1, NoBias: true}}},
		bn(8), relu,
		{Kind: KindResidual, Body: []LayerSpec{{Kind: KindConv2D, In: 8, Out: 16, Kernel: 3, Stride: 2, Padding: 1, NoBias: true}, bn(16), relu,
			{Kind: KindConv2D, In: 16, Out: 16, Kernel: 3, Padding: 1, NoBias: true}},
			Shortcut: []LayerSpec{{Kind: KindConv2D, In: 8, Out: 16, Kernel: 1, Stride: 2, NoBias: true}}},
		{Kind: KindConv2D, In: 16, Out: 16, Kernel: 1}, bn(16), relu, {Kind: KindAvgPool2D, Kernel: 2},
		{Kind: KindGlobalAvgPool}, {Kind: KindDropout, P: 0.25}, {Kind: KindDense, In: 16, Out: 12}, {Kind: KindTanh},
		{Kind: KindFlatten}, {Kind: KindDense, In: 12, Out: 10},
	}
}

// TestCost checks Sequential.Cost against hand counts: a conv → ReLU → pool → flatten → dense model,
// and a residual block with a 1×1 shortcut.
func TestCost(t *testing.T) {
	m, err := FromSpecs("cost", []LayerSpec{
		{Kind: KindConv2D, In: 3, Out: 4, Kernel: 3, Padding: 1}, {Kind: KindReLU}, {Kind: KindMaxPool2D, Kernel: 2},
		{Kind: KindResidual, Body: []LayerSpec{{Kind: KindBatchNorm, In: 4}, {Kind: KindReLU}, {Kind: KindConv2D, In: 4, Out: 6, Kernel: 3, Stride: 2, Padding: 1}},
			Shortcut: []LayerSpec{{Kind: KindConv2D, In: 4, Out: 6, Kernel: 1, Stride: 2}}},
		{Kind: KindFlatten}, {Kind: KindDense, In: 6 * 2 * 2, Out: 5},
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.Cost([]int{3, 8, 8})
	if err != nil {
		t.Fatal(err)
	}
	conv1 := 4.0 * 27 * 64 // 8×8 outputs
	conv2 := 6.0 * 36 * 4  // 2×2 outputs of a 4×4 input
	short := 6.0 * 4 * 4   // 1×1, 2×2 outputs
	dense := 24.0 * 5      // 24 → 5
	fwd := 2 * (conv1 + conv2 + short + dense)
	train := fwd + 2*(conv1+conv2+short+dense) + 2*(conv2+short+dense) // no input gradient for conv1
	// conv 4·64, pool 4·16, bn 4·16, conv 6·4, shortcut 6·4, residual 6·4, dense 5 (the ReLUs and
	// the flatten share storage).
	act := 256 + 64 + 64 + 24 + 24 + 24 + 5
	if c.ForwardFLOPs != fwd || c.TrainFLOPs != train || c.Activations != act || c.Params != m.NumParams() {
		t.Errorf("Cost = %+v, want forward %v, train %v, activations %d, params %d", c, fwd, train, act, m.NumParams())
	}
	if _, err := m.Cost([]int{3, 9}); err == nil {
		t.Error("Cost of a wrong input shape: no error")
	}
}
