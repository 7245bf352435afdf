package nnbench

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"time"

	"github.com/pmeter/pmeter/nn"
	"github.com/pmeter/pmeter/nn/gemm"
	"github.com/pmeter/pmeter/nn/zoo"
)

// Targets of the convolution parts (the vision issue's acceptance figures, per core).
const (
	TargetCNNTorch    = 4.0  // cnn2 samples/s vs PyTorch
	TargetCNNGFLOPs   = 50.0 // cnn2 GFLOP/s (convolution and dense multiply-adds)
	TargetWRNGFLOPs   = 40.0 // wrn28-2 GFLOP/s
	TargetGemmShare   = 0.5  // model GFLOP/s over the gemm kernel's on the model's products
	TargetSysShare    = 0.1  // system time over user time while training
	TargetMemoryRatio = 1.5  // peak RSS over activations + weights + gradients + optimizer state
)

// ConvResult is a wrn or resnet part: the training throughput with its baseline, the model's cost,
// the gemm kernel's throughput on products of the same sizes as the model's convolutions, the
// split of CPU time and the peak memory.
type ConvResult struct {
	Compared
	Cost  nn.Cost
	Batch int
	// GemmGFLOPs is package gemm's throughput on one training step's convolution products as
	// plain matrix products (one goroutine, fastest of the repeats), per second of wall time and
	// per CPU-second (0 when unknown).
	GemmGFLOPs, GemmGFLOPsCPU float64
	// General is the same training with every convolution on the general im2col path
	// (nn.Sequential.SetGeneralConv): the baseline of the dedicated 1×1 and strided paths, timed in
	// the same run, alternating with the dedicated runs.
	General Throughput
	// UserSeconds and SysSeconds split the CPU time of the fastest run.
	UserSeconds, SysSeconds float64
	// PeakRSS is the process's peak resident memory over the fastest run (bytes; 0 when unknown),
	// Budget the activations of one batch plus weights, gradients and two optimizer moments.
	PeakRSS, Budget int64
}

// GFLOPsCPU returns the model's training FLOPs per CPU-second in GFLOP/s (per core: training runs
// on one goroutine), or its wall-clock GFLOP/s when CPU time is unknown. On a machine shared with
// other work, it is the figure that does not count the time other processes held the core.
func (c *ConvResult) GFLOPsCPU() float64 { return c.Go.GFLOPsCPU() }

// GemmShare returns the model's GFLOP/s over the gemm kernel's, both per CPU-second when known.
func (c *ConvResult) GemmShare() float64 {
	if c.GemmGFLOPsCPU > 0 && c.Go.CPUSeconds > 0 {
		return c.GFLOPsCPU() / c.GemmGFLOPsCPU
	}
	if c.GemmGFLOPs <= 0 {
		return 0
	}
	return c.Go.GFLOPs() / c.GemmGFLOPs
}

// resNet20 is the CIFAR ResNet-20 of He et al. ("Deep Residual Learning for Image Recognition",
// CVPR 2016, section 4.2): a 3×3 convolution to 16 channels, three groups of three post-activation
// basic blocks of widths 16, 32 and 64 (stride 2 at the first block of the second and third
// groups, with a 1×1 convolution and batch norm as shortcut there), global average pooling and a
// dense layer. Convolutions are bias-free.
func resNet20(c, classes int) []nn.LayerSpec {
	conv := func(in, out, k, stride int) nn.LayerSpec {
		return nn.LayerSpec{Kind: nn.KindConv2D, In: in, Out: out, Kernel: k, Stride: stride, Padding: k / 2, NoBias: true}
	}
	bn := func(ch int) nn.LayerSpec { return nn.LayerSpec{Kind: nn.KindBatchNorm, In: ch} }
	relu := nn.LayerSpec{Kind: nn.KindReLU}
	specs := []nn.LayerSpec{conv(c, 16, 3, 1), bn(16), relu}
	cur := 16
	for g, w := range []int{16, 32, 64} {
		for b := 0; b < 3; b++ {
			stride := 1
			if g > 0 && b == 0 {
				stride = 2
			}
			block := nn.LayerSpec{Kind: nn.KindResidual, Body: []nn.LayerSpec{conv(cur, w, 3, stride), bn(w), relu, conv(w, w, 3, 1), bn(w)}}
			if cur != w || stride != 1 {
				block.Shortcut = []nn.LayerSpec{conv(cur, w, 1, stride), bn(w)}
			}
			specs = append(specs, block, relu)
			cur = w
		}
	}
	return append(specs, nn.LayerSpec{Kind: nn.KindGlobalAvgPool}, nn.LayerSpec{Kind: nn.KindDense, In: cur, Out: classes})
}

// convSpecs returns the layers of a convolution part's model and its description.
func convSpecs(part string) ([]nn.LayerSpec, string, error) {
	if part == "resnet" {
		return resNet20(3, 10), "resnet20 (He et al. CIFAR ResNet-20, 16/32/64 channels)", nil
	}
	specs, err := zoo.Specs("wrn28-2", []int{3, 32, 32}, 10)
	return specs, "wrn28-2 (pre-activation WRN-28-2, 32/64/128 channels)", err
}

// runConv runs the wrn or resnet part: records synthetic 3×32×32 images, batch o.ConvBatch, Adam.
func runConv(ctx context.Context, part string, records, epochs int, o Options, base *baseline) (*ConvResult, error) {
	specs, desc, err := convSpecs(part)
	if err != nil {
		return nil, err
	}
	x, y := syntheticImages(records, o.Seed)
	m, err := nn.FromSpecs(part, specs)
	if err != nil {
		return nil, err
	}
	cost, err := m.Cost([]int{3, 32, 32})
	if err != nil {
		return nil, err
	}
	batch := min(o.ConvBatch, records)
	cfg := nn.TrainConfig{Epochs: epochs, BatchSize: batch, LR: 1e-3, Optimizer: nn.Adam{}, Seed: o.Seed, DropLast: true}
	r := &ConvResult{Cost: cost, Batch: batch}
	// Weights, gradients and Adam's two moments; activations of one batch.
	r.Budget = 4 * (int64(batch)*int64(cost.Activations) + 4*int64(cost.Params))
	model := fmt.Sprintf("%s, Adam, batch %d, %d synthetic 3×32×32 images × %d epochs", desc, batch, records, epochs)
	// dedicated and general each train a fresh model; the two alternate which runs first.
	dedicated := func(rep int) error {
		m, err := nn.FromSpecs(part, specs)
		if err != nil {
			return err
		}
		debug.FreeOSMemory() // the previous run's buffers: out of the peak
		resetPeakRSS()
		u0, s0 := cpuTimes()
		t, err := timedTrain(ctx, m, nn.Data{X: x, Labels: y}, cfg, model)
		if err != nil {
			return err
		}
		u1, s1 := cpuTimes()
		if rep == 0 || fasterCPU(t, r.Go) {
			r.Go = t
			r.UserSeconds, r.SysSeconds = (u1 - u0).Seconds(), (s1 - s0).Seconds()
			r.PeakRSS = peakRSS()
		}
		return nil
	}
	general := func(rep int) error {
		mg, err := nn.FromSpecs(part, specs)
		if err != nil {
			return err
		}
		mg.SetGeneralConv(true)
		debug.FreeOSMemory()
		g, err := timedTrain(ctx, mg, nn.Data{X: x, Labels: y}, cfg, model+", general convolution path")
		if err != nil {
			return err
		}
		if rep == 0 || fasterCPU(g, r.General) {
			r.General = g
		}
		return nil
	}
	for rep := 0; rep < o.Repeats; rep++ {
		runs := []func(int) error{dedicated, general}
		if rep%2 == 1 {
			runs[0], runs[1] = general, dedicated
		}
		for _, run := range runs {
			if err := run(rep); err != nil {
				return nil, err
			}
		}
	}
	r.Go.FLOPsPerSample, r.General.FLOPsPerSample = cost.TrainFLOPs, cost.TrainFLOPs
	r.GemmGFLOPs, r.GemmGFLOPsCPU = gemmReference(m, batch, o.Repeats)
	r.Torch, r.Skipped = base.run(ctx, part, x, y, 10, cfg, cost.Params, o.Repeats)
	return r, nil
}

// gemmReference times package gemm on the matrix products of one training step of m's
// convolutions, as plain products of the same sizes: for each convolution, Out × (B·Ho·Wo) ×
// In·K² three times (forward and the two gradients have the same multiply-adds). Columns are
// capped at 8 images' worth per product (the rate no longer depends on them), and the FLOPs
// counted are those of the products run. It returns the GFLOP/s of the fastest of repeats passes,
// per second of wall time and per CPU-second (0 when unknown).
func gemmReference(m *nn.Sequential, batch, repeats int) (wall, cpu float64) {
	// Rows of B and C at gemm.LeadingDim's stride, as nn lays out patch matrices.
	ldb := gemm.LeadingDim
	type prod struct{ m, n, k int }
	var prods []prod
	var walk func(layers []nn.Layer, in []int) []int
	walk = func(layers []nn.Layer, in []int) []int {
		s := in
		for _, l := range layers {
			out, err := l.OutShape(s)
			if err != nil {
				return s
			}
			switch l := l.(type) {
			case *nn.Conv2D:
				prods = append(prods, prod{l.Out, min(batch, 8) * out[1] * out[2], l.In * l.K * l.K})
			case *nn.Residual:
				walk(l.Body, s)
				walk(l.Shortcut, s)
			}
			s = out
		}
		return s
	}
	walk(m.Layers, []int{3, 32, 32})
	var flops float64
	size := 0
	for _, p := range prods {
		flops += 3 * 2 * float64(p.m) * float64(p.n) * float64(p.k)
		size = max(size, p.m*p.k, p.k*ldb(p.n), p.m*ldb(p.n))
	}
	a, b, c := make([]float32, size), make([]float32, size), make([]float32, size)
	for i := range a {
		a[i], b[i] = float32(i%7)*0.1, float32(i%5)*0.2
	}
	best, bestCPU := 0.0, 0.0
	for r := 0; r < max(repeats, 1); r++ {
		start, c0 := time.Now(), cpuTime()
		for _, p := range prods {
			for range 3 {
				gemm.Sgemm(false, false, p.m, p.n, p.k, 1, a, p.k, b, ldb(p.n), 0, c, ldb(p.n))
			}
		}
		if s := time.Since(start).Seconds(); r == 0 || s < best {
			best = s
		}
		if s := (cpuTime() - c0).Seconds(); s > 0 && (bestCPU == 0 || s < bestCPU) {
			bestCPU = s
		}
	}
	wall = flops / best / 1e9
	if bestCPU > 0 {
		cpu = flops / bestCPU / 1e9
	}
	return wall, cpu
}

func printConv(w io.Writer, part string, r *ConvResult) {
	printCompared(w, part, &r.Compared)
	g := r.Go
	fmt.Fprintf(w, "  %.2f GFLOP per training sample (%.2f forward), %s activations per sample\n",
		r.Cost.TrainFLOPs/1e9, r.Cost.ForwardFLOPs/1e9, fmtBytes(4*int64(r.Cost.Activations)))
	fmt.Fprintf(w, "  per CPU-second: model %.1f GFLOP/s, gemm kernel on the same products %.1f GFLOP/s (wall clock %.1f and %.1f)\n",
		r.GFLOPsCPU(), r.GemmGFLOPsCPU, g.GFLOPs(), r.GemmGFLOPs)
	fmt.Fprintf(w, "  model at %.0f %% of the gemm kernel", 100*r.GemmShare())
	if part == "wrn" { // the goal is for WRN-28-2's shapes
		fmt.Fprintf(w, " (target ≥ %.0f %%: %s)", 100*TargetGemmShare, met(r.GemmShare() >= TargetGemmShare))
	}
	fmt.Fprintln(w)
	if gen := r.General.GFLOPsCPU(); gen > 0 {
		fmt.Fprintf(w, "  dedicated 1×1 and strided convolution paths %.1f GFLOP/s per CPU-second, general im2col path %.1f: %.2f×\n",
			r.GFLOPsCPU(), gen, r.GFLOPsCPU()/gen)
	}
	if part == "wrn" {
		fmt.Fprintf(w, "  %.1f GFLOP/s per core (target ≥ %.0f: %s)\n", r.GFLOPsCPU(), TargetWRNGFLOPs, met(r.GFLOPsCPU() >= TargetWRNGFLOPs))
	}
	if r.UserSeconds > 0 {
		share := r.SysSeconds / r.UserSeconds
		fmt.Fprintf(w, "  CPU time: user %s, system %s (%.1f %% of user; target < %.0f %%: %s)\n",
			fmtSeconds(r.UserSeconds), fmtSeconds(r.SysSeconds), 100*share, 100*TargetSysShare, met(share < TargetSysShare))
	}
	if r.PeakRSS > 0 {
		ratio := float64(r.PeakRSS) / float64(r.Budget)
		fmt.Fprintf(w, "  peak RSS %s; activations of a batch of %d + weights, gradients and Adam moments %s: %.2f×",
			fmtBytes(r.PeakRSS), r.Batch, fmtBytes(r.Budget), ratio)
		if part == "wrn" { // the memory goal is WRN-28-2's; smaller models carry the process's fixed costs
			fmt.Fprintf(w, " (target ≤ %.1f×: %s)", TargetMemoryRatio, met(ratio <= TargetMemoryRatio))
		}
		fmt.Fprintln(w)
	}
}

func fmtBytes(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
	}
	return fmt.Sprintf("%.0f KiB", float64(b)/(1<<10))
}

// fasterCPU reports whether a took less CPU time per sample than b (wall time when CPU time is
// unknown).
func fasterCPU(a, b Throughput) bool {
	if a.CPUSeconds > 0 && b.CPUSeconds > 0 {
		return a.CPUSeconds/float64(a.Samples) < b.CPUSeconds/float64(b.Samples)
	}
	return a.Seconds/float64(a.Samples) < b.Seconds/float64(b.Samples)
}
