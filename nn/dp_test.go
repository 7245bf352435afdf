package nn

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/pmeter/pmeter/npy"
)

// dpTestModels covers every layer type DP-SGD trains: dense, conv (with and without bias, strided,
// padded), max, average and global average pooling, ReLU (fused and not), tanh, sigmoid, flatten,
// residual blocks (identity and convolutional shortcuts) and dropout.
func dpTestModels(t *testing.T) map[string]struct {
	specs []LayerSpec
	shape []int
} {
	t.Helper()
	type model = struct {
		specs []LayerSpec
		shape []int
	}
	return map[string]model{
		"mlp": {[]LayerSpec{{Kind: KindDense, In: 10, Out: 16}, {Kind: KindReLU}, {Kind: KindDense, In: 16, Out: 8},
			{Kind: KindTanh}, {Kind: KindDense, In: 8, Out: 3, NoBias: true}}, []int{10}},
		"cnn": {[]LayerSpec{{Kind: KindConv2D, In: 3, Out: 4, Kernel: 3, Padding: 1}, {Kind: KindReLU},
			{Kind: KindMaxPool2D, Kernel: 2}, {Kind: KindConv2D, In: 4, Out: 6, Kernel: 3, Stride: 2, Padding: 1, NoBias: true},
			{Kind: KindSigmoid}, {Kind: KindAvgPool2D, Kernel: 2}, {Kind: KindFlatten}, {Kind: KindDense, In: 6, Out: 3}}, []int{3, 8, 8}},
		"resnet": {[]LayerSpec{{Kind: KindConv2D, In: 3, Out: 4, Kernel: 3, Padding: 1}, {Kind: KindReLU},
			{Kind: KindResidual, Body: []LayerSpec{{Kind: KindConv2D, In: 4, Out: 4, Kernel: 3, Padding: 1}, {Kind: KindReLU},
				{Kind: KindConv2D, In: 4, Out: 4, Kernel: 3, Padding: 1}}},
			{Kind: KindResidual, Body: []LayerSpec{{Kind: KindConv2D, In: 4, Out: 6, Kernel: 3, Stride: 2, Padding: 1}},
				Shortcut: []LayerSpec{{Kind: KindConv2D, In: 4, Out: 6, Kernel: 1, Stride: 2, NoBias: true}}},
			{Kind: KindTanh}, {Kind: KindGlobalAvgPool}, {Kind: KindDense, In: 6, Out: 3}}, []int{3, 8, 8}},
		"dropout": {[]LayerSpec{{Kind: KindFlatten}, {Kind: KindDense, In: 12, Out: 16}, {Kind: KindReLU}, {Kind: KindDropout, P: 0.5},
			{Kind: KindDense, In: 16, Out: 3}}, []int{3, 2, 2}},
	}
}

func dpTestData(r *rand.Rand, n int, shape []int, classes int) Data {
	x := randTensor(r, -1, 1, append([]int{n}, shape...)...)
	y := make([]int, n)
	for i := range y {
		y[i] = r.IntN(classes)
	}
	return Data{X: x, Labels: y}
}

// clippedSumOnce runs one DP-SGD step on all of d (q = 1) without noise and returns the clipped sum
// the Canary hook sees.
func clippedSumOnce(t *testing.T, m *Sequential, d Data, c float64, micro int, seed uint64) []float32 {
	t.Helper()
	var got []float32
	n := d.X.Rows()
	cfg := TrainConfig{Epochs: 1, BatchSize: n, LR: 0, Seed: seed, DP: &DPConfig{MaxGradNorm: c, SamplingRate: 1, MicroBatch: micro,
		Canary: func(step int, sum []float32) { got = append([]float32(nil), sum...) }}}
	res, err := Train(context.Background(), m, d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 1 || got == nil {
		t.Fatalf("%d steps, canary called: %v", res.Steps, got != nil)
	}
	return got
}

// perExampleGrads is the definition: after one training-mode forward pass of the whole batch (the
// same dropout masks as the first micro-batches of Train, reseeded alike), record i's gradient is the
// backward pass of an output gradient that is zero but for row i. It returns each record's flattened
// gradient, in float64.
func perExampleGrads(t *testing.T, m *Sequential, d Data, seed uint64) [][]float64 {
	t.Helper()
	m.Reseed(seed)
	out, err := m.Forward(d.X, true)
	if err != nil {
		t.Fatal(err)
	}
	n, k := out.Rows(), out.RowLen()
	full := NewTensor(out.Shape...)
	if err := (CrossEntropy{}).PerRecord(out, Target{Labels: d.Labels}, make([]float64, n), full.Data); err != nil {
		t.Fatal(err)
	}
	g := NewTensor(out.Shape...)
	grads := make([][]float64, n)
	for i := 0; i < n; i++ {
		clear32(g.Data)
		copy(g.Data[i*k:(i+1)*k], full.Data[i*k:(i+1)*k])
		if err := m.Backward(g); err != nil {
			t.Fatal(err)
		}
		for _, p := range m.Params() {
			for _, v := range p.Grad.Data {
				grads[i] = append(grads[i], float64(v))
			}
		}
	}
	return grads
}

func clipSum(grads [][]float64, c float64) (sum, norms []float64) {
	sum = make([]float64, len(grads[0]))
	for _, g := range grads {
		var s float64
		for _, v := range g {
			s += v * v
		}
		norm := math.Sqrt(s)
		norms = append(norms, norm)
		f := min(1, c/norm)
		for j, v := range g {
			sum[j] += f * v
		}
	}
	return sum, norms
}

// closeSum compares a clipped sum with a reference: float32 sums in another order agree to
// 1e-4 of the largest reference value (plus 1e-4 relative).
func closeSum(t *testing.T, name string, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	scale := 0.0
	for _, w := range want {
		scale = max(scale, math.Abs(w))
	}
	if scale == 0 {
		t.Fatalf("%s: zero reference", name)
	}
	bad := 0
	for j, w := range want {
		if d := math.Abs(float64(got[j]) - w); !(d <= 1e-4*scale+1e-4*math.Abs(w)) {
			if bad < 5 {
				t.Errorf("%s[%d] = %v, want %v", name, j, got[j], w)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values differ", name, bad, len(got))
	}
}

// TestDPClippedSumIsPerExample checks the ghost-clipping sum against per-example gradients computed one
// by one, with a clipping norm that clips some examples and not others, in one micro-batch and in
// micro-batches of 3 (a batch split, not truncated).
func TestDPClippedSumIsPerExample(t *testing.T) {
	for name, tm := range dpTestModels(t) {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(5, 6))
			d := dpTestData(r, 11, tm.shape, 3)
			m, err := FromSpecs(name, tm.specs)
			if err != nil {
				t.Fatal(err)
			}
			m.Init(7)
			grads := perExampleGrads(t, m, d, 9)
			_, norms := clipSum(grads, 1)
			sorted := slices.Sorted(slices.Values(norms))
			c := sorted[len(sorted)/2] // half the examples are clipped
			want, _ := clipSum(grads, c)
			for _, micro := range []int{0, 3} {
				got := clippedSumOnce(t, m, d, c, micro, 9)
				closeSum(t, name, got, want)
			}
		})
	}
}

// TestDPTorch compares the clipped sum with PyTorch 1.13's per-sample loop (testdata/dp_torch.py) on
// the models without dropout (whose masks differ between the two). It needs /usr/bin/python3 with torch
// (Debian python3-torch, which .ci/run installs): skipped without it, failed under CI=true.
func TestDPTorch(t *testing.T) {
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import torch, numpy").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s with torch and numpy is needed under CI (apt-get install python3-torch): %v", py, err)
		}
		t.Skipf("%s with torch and numpy not available (apt-get install python3-torch): %v", py, err)
	}
	type job struct {
		name string
		dir  string
		m    *Sequential
		d    Data
		c    float64
		n    []float64
	}
	var jobs []job
	var dirs []string
	for name, tm := range dpTestModels(t) {
		if name == "dropout" {
			continue
		}
		r := rand.New(rand.NewPCG(8, 9))
		d := dpTestData(r, 9, tm.shape, 3)
		m, err := FromSpecs(name, tm.specs)
		if err != nil {
			t.Fatal(err)
		}
		m.Init(4)
		dir := t.TempDir()
		if err := Save(filepath.Join(dir, "m.safetensors"), m, ModelInfo{InputShape: tm.shape}); err != nil {
			t.Fatal(err)
		}
		labels := make([]int64, len(d.Labels))
		for i, y := range d.Labels {
			labels[i] = int64(y)
		}
		if err := npy.WriteFile(filepath.Join(dir, "x.npy"), npy.NewFloat32(d.X.Data, d.X.Shape...)); err != nil {
			t.Fatal(err)
		}
		if err := npy.WriteFile(filepath.Join(dir, "y.npy"), npy.NewInt64(labels, len(labels))); err != nil {
			t.Fatal(err)
		}
		// The median norm by our own per-example gradients: half the examples are clipped.
		_, norms := clipSum(perExampleGrads(t, m, d, 1), 1)
		c := slices.Sorted(slices.Values(norms))[len(norms)/2]
		if err := os.WriteFile(filepath.Join(dir, "clip.txt"), []byte(strconv.FormatFloat(c, 'g', -1, 64)), 0o644); err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, job{name, dir, m, d, c, norms})
		dirs = append(dirs, dir)
	}
	out, err := exec.Command(py, append([]string{"testdata/dp_torch.py"}, dirs...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("torch: %v\n%s", err, out)
	}
	for _, j := range jobs {
		want := readNpyTensor(t, filepath.Join(j.dir, "sum.npy"))
		tn, err := npy.ReadFile(filepath.Join(j.dir, "norms.npy"))
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range tn.F64 {
			if math.Abs(n-j.n[i]) > 1e-4*n {
				t.Errorf("%s: example %d: gradient norm %v, torch %v", j.name, i, j.n[i], n)
			}
		}
		wantSum := make([]float64, len(want.Data))
		for k, v := range want.Data {
			wantSum[k] = float64(v)
		}
		closeSum(t, j.name+" vs torch", clippedSumOnce(t, j.m, j.d, j.c, 4, 1), wantSum)
	}
}

// TestDPNoiseScale checks that the noise added to the clipped sum is N(0, σ²C²) per coordinate: the
// canary hook zeroes the clipped sum, so the noisy sum the observer sees is the noise alone. Over k
// coordinates, Σz²/(σC)² is χ²(k); it must lie in the central interval of probability 1 − 1e-6. The
// mean must lie within 5 standard errors (two-sided p ≈ 6e-7), and so must the fourth moment (3σ⁴C⁴).
func TestDPNoiseScale(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	d := dpTestData(r, 20, []int{10}, 3)
	m, err := FromSpecs("noise", dpTestModels(t)["mlp"].specs)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	const sigma, c = 1.7, 0.3
	var ss, s, s4 float64
	k := 0
	cfg := TrainConfig{Epochs: 5, BatchSize: 4, LR: 0.01, Seed: 3, DP: &DPConfig{NoiseMultiplier: sigma, MaxGradNorm: c,
		Canary: func(step int, sum []float32) { clear32(sum) },
		Observe: func(step int, z []float32) {
			for _, v := range z {
				x := float64(v) / (sigma * c)
				s += x
				ss += x * x
				s4 += x * x * x * x
				k++
			}
		}}}
	res, err := Train(context.Background(), m, d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 25 || k != 25*m.NumParams() {
		t.Fatalf("%d steps, %d noise values, want 25 and %d", res.Steps, k, 25*m.NumParams())
	}
	const alpha = 1e-6
	chi := distuv.ChiSquared{K: float64(k)}
	lo, hi := chi.Quantile(alpha/2), chi.Quantile(1-alpha/2)
	if !(ss >= lo && ss <= hi) {
		t.Errorf("Σz²/(σC)² = %v over %d coordinates, outside the χ² interval [%v, %v] (α = %g)", ss, k, lo, hi, alpha)
	}
	if mean := s / float64(k); math.Abs(mean) > 5/math.Sqrt(float64(k)) {
		t.Errorf("noise mean %v·σC, want 0 within %v", mean, 5/math.Sqrt(float64(k)))
	}
	// E z⁴ = 3, Var z⁴ = 105 − 9 = 96.
	if m4 := s4 / float64(k); math.Abs(m4-3) > 5*math.Sqrt(96/float64(k)) {
		t.Errorf("noise fourth moment %v·(σC)⁴, want 3 within %v", m4, 5*math.Sqrt(96/float64(k)))
	}
}

// TestDPStepDivisor checks the update: SGD moves θ by −lr·(noisy sum)/(q·N) under Poisson sampling
// (the expected batch size, not the realised one, also for an empty batch) and by the batch's size
// under shuffling; the observer sees the sum after the canary and the noise.
func TestDPStepDivisor(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	d := dpTestData(r, 30, []int{10}, 3)
	for _, tc := range []struct {
		name     string
		dp       DPConfig
		batch    int
		wantDiv  float64
		emptyAll bool
	}{
		{"poisson q·N", DPConfig{NoiseMultiplier: 0.5, MaxGradNorm: 1}, 6, 6, false},
		{"poisson expected batch given", DPConfig{NoiseMultiplier: 0.5, MaxGradNorm: 1, SamplingRate: 0.1, ExpectedBatch: 4}, 6, 4, false},
		{"poisson empty batches", DPConfig{NoiseMultiplier: 0.5, MaxGradNorm: 1, SamplingRate: 1e-12}, 6, 30e-12, true},
		{"shuffle", DPConfig{NoiseMultiplier: 0.5, MaxGradNorm: 1, Sampling: SamplingShuffle}, 6, 6, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := FromSpecs("div", dpTestModels(t)["mlp"].specs)
			if err != nil {
				t.Fatal(err)
			}
			m.Init(2)
			var before []float32
			for _, p := range m.Params() {
				before = append(before, p.Value.Data...)
			}
			var noisy []float32
			canaries := 0
			dp := tc.dp
			dp.Canary = func(step int, sum []float32) {
				canaries++
				if tc.emptyAll && slices.ContainsFunc(sum, func(v float32) bool { return v != 0 }) {
					t.Errorf("step %d: an empty batch's clipped sum is not zero", step)
				}
				sum[0] += 1000 // a canary gradient the observer must see
			}
			dp.Observe = func(step int, z []float32) { noisy = append(noisy[:0], z...) }
			const lr = 0.1
			cfg := TrainConfig{Epochs: 1, BatchSize: tc.batch, LR: lr, Seed: 4, DP: &dp}
			cfg.Epochs = 1
			// One step: StepsPerEpoch 1.
			dp.StepsPerEpoch = 1
			res, err := Train(context.Background(), m, d, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Steps != 1 || canaries != 1 || noisy == nil {
				t.Fatalf("%d steps, %d canary calls", res.Steps, canaries)
			}
			if noisy[0] < 500 {
				t.Errorf("observed sum[0] = %v: the canary's 1000 is missing", noisy[0])
			}
			var after []float32
			for _, p := range m.Params() {
				after = append(after, p.Value.Data...)
			}
			for j := range after {
				want := float64(before[j]) - lr*float64(noisy[j])/tc.wantDiv
				if d := math.Abs(float64(after[j]) - want); d > 1e-5*max(1, math.Abs(want)) {
					t.Fatalf("θ[%d] = %v after the step, want %v (θ − lr·sum/%v)", j, after[j], want, tc.wantDiv)
				}
			}
		})
	}
}

// TestDPStepsPerEpoch checks that an epoch takes TrainConfig.StepsPerEpoch(N) steps (or the fixed
// DPConfig.StepsPerEpoch), each calling the hooks once, whatever the batches drawn.
func TestDPStepsPerEpoch(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	d := dpTestData(r, 25, []int{10}, 3)
	for _, tc := range []struct {
		sampling string
		fixed    int
		want     int
	}{{SamplingPoisson, 0, 3 * 4}, {SamplingShuffle, 0, 3 * 4}, {SamplingPoisson, 7, 3 * 7}, {SamplingShuffle, 7, 3 * 7}} {
		m, _ := FromSpecs("steps", dpTestModels(t)["mlp"].specs)
		m.Init(1)
		var calls []int
		cfg := TrainConfig{Epochs: 3, BatchSize: 7, LR: 0.05, Seed: 1, DP: &DPConfig{NoiseMultiplier: 1, MaxGradNorm: 1,
			Sampling: tc.sampling, StepsPerEpoch: tc.fixed, Observe: func(step int, _ []float32) { calls = append(calls, step) }}}
		res, err := Train(context.Background(), m, d, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if res.Steps != tc.want || len(calls) != tc.want || calls[len(calls)-1] != tc.want-1 || len(res.EpochLoss) != 3 {
			t.Errorf("%s fixed %d: %d steps, observer called at %v, want %d", tc.sampling, tc.fixed, res.Steps, calls, tc.want)
		}
	}
}

// TestPoissonSample checks the sampler: batch sizes are Binomial(N, q) (mean and variance within 5
// standard errors over many draws), and each record's inclusion frequency is q.
func TestPoissonSample(t *testing.T) {
	const n, q, draws = 50, 0.2, 20000
	r := newRand(1, streamDPSample)
	var sum, ss float64
	counts := make([]int, n)
	var idx []int
	for range draws {
		idx = poissonSample(r, n, q, idx[:0])
		for _, i := range idx {
			counts[i]++
		}
		b := float64(len(idx))
		sum += b
		ss += b * b
	}
	mean := sum / draws
	variance := ss/draws - mean*mean
	wantVar := n * q * (1 - q)
	if math.Abs(mean-n*q) > 5*math.Sqrt(wantVar/draws) {
		t.Errorf("mean batch %v, want %v", mean, n*q)
	}
	// Var of the sample variance ≈ (μ4 − σ⁴)/draws; μ4 ≤ 3σ⁴ + σ² for a binomial.
	if math.Abs(variance-wantVar) > 5*math.Sqrt((2*wantVar*wantVar+wantVar)/draws) {
		t.Errorf("batch variance %v, want %v", variance, wantVar)
	}
	for i, c := range counts {
		if p := float64(c) / draws; math.Abs(p-q) > 5*math.Sqrt(q*(1-q)/draws) {
			t.Errorf("record %d included in %v of the batches, want %v", i, p, q)
		}
	}
}

// TestDPDeterministic trains twice with the same seed (and other GOMAXPROCS) and expects bitwise equal
// weights, and different weights with another seed.
func TestDPDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	tm := dpTestModels(t)["resnet"]
	d := dpTestData(r, 24, tm.shape, 3)
	train := func(seed uint64, procs int) []float32 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		m, _ := FromSpecs("det", tm.specs)
		m.Init(1)
		cfg := TrainConfig{Epochs: 2, BatchSize: 6, LR: 0.1, Optimizer: Adam{}, Seed: seed, Augment: &Augment{Pad: 1, Flip: true},
			DP: &DPConfig{NoiseMultiplier: 1.1, MaxGradNorm: 0.5, MicroBatch: 4}}
		if _, err := Train(context.Background(), m, d, cfg); err != nil {
			t.Fatal(err)
		}
		var w []float32
		for _, p := range m.Params() {
			w = append(w, p.Value.Data...)
		}
		return w
	}
	a, b, c := train(1, 1), train(1, 4), train(2, 2)
	if !slices.Equal(a, b) {
		t.Error("same seed, different weights (GOMAXPROCS 1 and 4)")
	}
	if slices.Equal(a, c) {
		t.Error("different seeds, same weights")
	}
}

// TestDPRefusesBatchNorm: layers that mix the examples of a batch are refused, naming the layer, also
// inside a residual block.
func TestDPRefusesBatchNorm(t *testing.T) {
	for _, tc := range []struct {
		specs []LayerSpec
		where string
	}{
		{[]LayerSpec{{Kind: KindConv2D, In: 3, Out: 4, Kernel: 3}, {Kind: KindBatchNorm, In: 4}, {Kind: KindFlatten}, {Kind: KindDense, In: 144, Out: 2}}, "layer 1 (batchnorm)"},
		{[]LayerSpec{{Kind: KindResidual, Body: []LayerSpec{{Kind: KindConv2D, In: 3, Out: 3, Kernel: 3, Padding: 1}, {Kind: KindBatchNorm, In: 3}}},
			{Kind: KindFlatten}, {Kind: KindDense, In: 192, Out: 2}}, "layer 0.body.1 (batchnorm)"},
	} {
		m, err := FromSpecs("bn", tc.specs)
		if err != nil {
			t.Fatal(err)
		}
		m.Init(1)
		d := dpTestData(rand.New(rand.NewPCG(1, 1)), 4, []int{3, 8, 8}, 2)
		_, err = Train(context.Background(), m, d, TrainConfig{Epochs: 1, BatchSize: 2, LR: 0.1, DP: &DPConfig{NoiseMultiplier: 1, MaxGradNorm: 1}})
		if err == nil || !strings.Contains(err.Error(), tc.where) || !strings.Contains(err.Error(), `model "bn"`) {
			t.Errorf("error %v, want one naming the model and %s", err, tc.where)
		}
	}
}

// TestDPConfigErrors: invalid DP settings are refused before training.
func TestDPConfigErrors(t *testing.T) {
	d := dpTestData(rand.New(rand.NewPCG(1, 1)), 8, []int{10}, 3)
	for _, dp := range []DPConfig{
		{NoiseMultiplier: -1, MaxGradNorm: 1}, {NoiseMultiplier: 1, MaxGradNorm: 0}, {NoiseMultiplier: math.NaN(), MaxGradNorm: 1},
		{NoiseMultiplier: 1, MaxGradNorm: 1, SamplingRate: 1.5}, {NoiseMultiplier: 1, MaxGradNorm: 1, Sampling: "fixed"},
		{NoiseMultiplier: 1, MaxGradNorm: 1, MicroBatch: -1},
	} {
		m, _ := FromSpecs("cfg", dpTestModels(t)["mlp"].specs)
		if _, err := Train(context.Background(), m, d, TrainConfig{Epochs: 1, BatchSize: 2, LR: 0.1, DP: &dp}); err == nil || !strings.Contains(err.Error(), "DP-SGD") {
			t.Errorf("%+v: error %v", dp, err)
		}
	}
}

// TestDPAllocs: in steady state a DP-SGD step allocates nothing (buffers grow to the largest Poisson
// batch seen, then are reused): the allocations of 13 epochs exceed those of 3 by less than one per
// 10 steps.
func TestDPAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	r := rand.New(rand.NewPCG(1, 1))
	tm := dpTestModels(t)["resnet"]
	d := dpTestData(r, 40, tm.shape, 3)
	run := func(epochs int) float64 {
		return testing.AllocsPerRun(2, func() {
			m, _ := FromSpecs("a", tm.specs)
			m.Init(1)
			cfg := TrainConfig{Epochs: epochs, BatchSize: 8, LR: 0.01, DP: &DPConfig{NoiseMultiplier: 1, MaxGradNorm: 1, MicroBatch: 6}}
			if _, err := Train(context.Background(), m, d, cfg); err != nil {
				t.Fatal(err)
			}
		})
	}
	if perStep := (run(13) - run(3)) / (10 * 5); perStep > 0.1 {
		t.Errorf("%.2f allocations per DP-SGD step in steady state, want 0", perStep)
	}
}
