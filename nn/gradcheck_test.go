package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// Finite-difference gradient checks in float32.
//
// The objective is L = Σ_j r_j·y_j with fixed random r, accumulated in float64, so ∂L/∂y = r. Each
// numerical derivative is a central difference (L(v+h) − L(v−h)) / (v₊ − v₋) over the float32 values
// actually stored. Error budget for h = 1e-2 and values of order 1: truncation O(h²·|f”'|) ≈ 1e-4;
// rounding of the float32 outputs ≈ √(#outputs)·6e-8 / 2h ≤ 1e-4. The check
// |numeric − analytic| ≤ 2e-3 + 1e-2·|analytic| leaves a margin of ~10 over that budget, while the
// gradients checked are of order 0.1–3, so any wrong term fails it. Inputs are drawn away from the
// kinks of ReLU and max pooling (farther than h), where derivatives are not defined.
const (
	fdStep = 1e-2
	fdAtol = 2e-3
	fdRtol = 1e-2
	fdMax  = 250 // elements checked per tensor (a random sample beyond that)
)

type gradCase struct {
	name  string
	layer func() (Layer, error)
	input func(r *rand.Rand) *Tensor
	train bool
	setup func(l Layer, r *rand.Rand) // optional: non-default parameters or statistics
}

func TestLayerGradients(t *testing.T) {
	conv := func(in, out, k, s, p int, bias bool) func() (Layer, error) {
		return func() (Layer, error) { return NewConv2D(in, out, k, s, p, bias) }
	}
	dense := func(in, out int, bias bool) func() (Layer, error) {
		return func() (Layer, error) { return NewDense(in, out, bias) }
	}
	uni := func(shape ...int) func(r *rand.Rand) *Tensor {
		return func(r *rand.Rand) *Tensor { return randTensor(r, -1, 1, shape...) }
	}
	bnSetup := func(l Layer, r *rand.Rand) {
		b := l.(*BatchNorm)
		for c := 0; c < b.C; c++ {
			b.Gamma.Data[c] = float32(0.5 + r.Float64())
			b.Beta.Data[c] = float32(r.Float64() - 0.5)
			b.RunningMean.Data[c] = float32(r.Float64() - 0.5)
			b.RunningVar.Data[c] = float32(0.5 + r.Float64())
		}
	}
	bn := func(c int) func() (Layer, error) { return func() (Layer, error) { return NewBatchNorm(c, 0, 0) } }
	simple := func(l Layer) func() (Layer, error) { return func() (Layer, error) { return l, nil } }
	cases := []gradCase{
		{name: "dense", layer: dense(7, 5, true), input: uni(4, 7)},
		{name: "dense/no-bias", layer: dense(7, 5, false), input: uni(4, 7)},
		{name: "dense/batch1", layer: dense(3, 2, true), input: uni(1, 3)},
		{name: "conv/k3s1p1", layer: conv(3, 4, 3, 1, 1, true), input: uni(2, 3, 7, 6)},
		{name: "conv/k3s2p0", layer: conv(2, 3, 3, 2, 0, true), input: uni(2, 2, 7, 8)},
		{name: "conv/k2s2p2", layer: conv(2, 3, 2, 2, 2, true), input: uni(2, 2, 5, 5)},
		{name: "conv/k5s1p0-nobias", layer: conv(3, 2, 5, 1, 0, false), input: uni(2, 3, 6, 7)},
		{name: "conv/k3s3p1", layer: conv(1, 2, 3, 3, 1, true), input: uni(3, 1, 8, 7)},
		// The dedicated paths: pointwise, and phased (output of the input's size over the stride).
		{name: "conv/k1s1p0", layer: conv(3, 4, 1, 1, 0, true), input: uni(2, 3, 5, 4)},
		{name: "conv/k1s2p0-nobias", layer: conv(3, 2, 1, 2, 0, false), input: uni(2, 3, 6, 4)},
		{name: "conv/k3s2p1-even", layer: conv(2, 3, 3, 2, 1, true), input: uni(2, 2, 6, 8)},
		{name: "conv/k3s3p1-phased", layer: conv(2, 2, 3, 3, 1, false), input: uni(2, 2, 6, 9)},
		{name: "maxpool/k2s2", layer: func() (Layer, error) { return NewMaxPool2D(2, 0, 0) },
			input: func(r *rand.Rand) *Tensor { return distinctValues(r, 0.03, 2, 3, 6, 5) }},
		{name: "maxpool/k3s2p1", layer: func() (Layer, error) { return NewMaxPool2D(3, 2, 1) },
			input: func(r *rand.Rand) *Tensor { return distinctValues(r, 0.03, 2, 2, 7, 6) }},
		{name: "avgpool/k2s2", layer: func() (Layer, error) { return NewAvgPool2D(2, 0, 0) }, input: uni(2, 3, 6, 5)},
		{name: "avgpool/k3s2p1", layer: func() (Layer, error) { return NewAvgPool2D(3, 2, 1) }, input: uni(2, 2, 7, 6)},
		{name: "globalavgpool", layer: simple(&GlobalAvgPool{}), input: uni(3, 4, 3, 5)},
		{name: "batchnorm1d/train", layer: bn(4), input: uni(6, 4), train: true, setup: bnSetup},
		{name: "batchnorm1d/eval", layer: bn(4), input: uni(6, 4), setup: bnSetup},
		{name: "batchnorm1d/NCL/train", layer: bn(3), input: uni(4, 3, 5), train: true, setup: bnSetup},
		{name: "batchnorm2d/train", layer: bn(3), input: uni(4, 3, 4, 3), train: true, setup: bnSetup},
		{name: "batchnorm2d/eval", layer: bn(3), input: uni(4, 3, 4, 3), setup: bnSetup},
		{name: "relu", layer: simple(&ReLU{}), input: func(r *rand.Rand) *Tensor { return awayFromZero(r, 0.05, 5, 7) }},
		{name: "tanh", layer: simple(&Tanh{}), input: uni(5, 7)},
		{name: "sigmoid", layer: simple(&Sigmoid{}), input: func(r *rand.Rand) *Tensor { return randTensor(r, -3, 3, 5, 7) }},
		{name: "dropout/train", layer: func() (Layer, error) { return NewDropout(0.3) }, input: uni(6, 9), train: true},
		{name: "dropout/eval", layer: func() (Layer, error) { return NewDropout(0.3) }, input: uni(6, 9)},
		{name: "flatten", layer: simple(&Flatten{}), input: uni(2, 3, 2, 2)},
		{name: "residual/identity", layer: func() (Layer, error) {
			return LayerSpec{Kind: KindResidual, Body: []LayerSpec{
				{Kind: KindConv2D, In: 2, Out: 2, Kernel: 3, Padding: 1}, {Kind: KindTanh},
				{Kind: KindConv2D, In: 2, Out: 2, Kernel: 3, Padding: 1},
			}}.Build()
		}, input: uni(2, 2, 5, 5)},
		{name: "residual/projection", layer: func() (Layer, error) {
			return LayerSpec{Kind: KindResidual, Body: []LayerSpec{
				{Kind: KindConv2D, In: 2, Out: 3, Kernel: 3, Stride: 2, Padding: 1}, {Kind: KindBatchNorm, In: 3}, {Kind: KindTanh},
			}, Shortcut: []LayerSpec{{Kind: KindConv2D, In: 2, Out: 3, Kernel: 1, Stride: 2, NoBias: true}}}.Build()
		}, input: uni(3, 2, 6, 5), train: true},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRand(uint64(i), 7)
			l, err := c.layer()
			if err != nil {
				t.Fatal(err)
			}
			if in, ok := l.(Initializer); ok {
				in.Init(r)
			}
			if c.setup != nil {
				c.setup(l, r)
			}
			x := c.input(r)
			if _, err := l.OutShape(x.Shape[1:]); err != nil {
				t.Fatal(err)
			}
			checkLayerGrad(t, l, x, c.train, r)
		})
	}
}

// checkLayerGrad compares Backward with central differences of L = Σ r·Forward(x).
func checkLayerGrad(t *testing.T, l Layer, x *Tensor, train bool, r *rand.Rand) {
	t.Helper()
	forward := func() *Tensor {
		if rs, ok := l.(Reseeder); ok {
			rs.Reseed(42) // the same dropout mask at every evaluation
		}
		if b, ok := l.(Bufferer); ok && train {
			// Keep the running statistics fixed (they do not affect a training-mode output).
			for _, p := range b.Buffers() {
				defer copy(p.Value.Data, append([]float32(nil), p.Value.Data...))
			}
		}
		return l.Forward(x, train)
	}
	y := forward()
	w := randTensor(r, -1, 1, y.Shape...)
	objective := func() float64 {
		var s float64
		for j, v := range forward().Data {
			s += float64(w.Data[j]) * float64(v)
		}
		return s
	}
	forward()
	dx := l.Backward(w, true).Clone()
	tensors := []struct {
		name      string
		value     *Tensor
		analytic  *Tensor
		perturbed bool
	}{{name: "input", value: x, analytic: dx}}
	for _, p := range l.Params() {
		tensors = append(tensors, struct {
			name      string
			value     *Tensor
			analytic  *Tensor
			perturbed bool
		}{name: p.Name, value: p.Value, analytic: p.Grad.Clone()})
	}
	for _, tc := range tensors {
		compareNumeric(t, tc.name, tc.value, tc.analytic, objective, r, fdStep)
	}
}

// compareNumeric checks analytic ≈ ∂objective/∂value element-wise, on up to fdMax elements.
func compareNumeric(t *testing.T, name string, value, analytic *Tensor, objective func() float64, r *rand.Rand, h float32) {
	t.Helper()
	if !slices.Equal(value.Shape, analytic.Shape) {
		t.Fatalf("%s: gradient shape %v, value shape %v", name, analytic.Shape, value.Shape)
	}
	idx := r.Perm(value.Len())
	if len(idx) > fdMax {
		idx = idx[:fdMax]
	}
	bad := 0
	for _, i := range idx {
		v := value.Data[i]
		vp, vm := v+h, v-h
		value.Data[i] = vp
		lp := objective()
		value.Data[i] = vm
		lm := objective()
		value.Data[i] = v
		num := (lp - lm) / (float64(vp) - float64(vm))
		ana := float64(analytic.Data[i])
		if math.Abs(num-ana) > fdAtol+fdRtol*math.Abs(ana) {
			if bad < 5 {
				t.Errorf("%s[%d]: analytic %.6g, numeric %.6g", name, i, ana, num)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d elements differ", name, bad, len(idx))
	}
}

func TestLossGradients(t *testing.T) {
	r := newRand(3, 3)
	out := randTensor(r, -2, 2, 5, 4)
	labels := []int{0, 3, 1, 1, 2}
	cases := []struct {
		name   string
		loss   Loss
		target Target
	}{
		{"cross_entropy", CrossEntropy{}, Target{Labels: labels}},
		{"mse/values", MSE{}, Target{Values: randTensor(r, -1, 1, 5, 4)}},
		{"mse/onehot", MSE{}, Target{Labels: labels}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := out.Rows()
			loss := make([]float64, n)
			grad := NewTensor(out.Shape...)
			if err := c.loss.PerRecord(out, c.target, loss, grad.Data); err != nil {
				t.Fatal(err)
			}
			// The per-record gradient of Σ_i ℓ_i is the concatenation of ∂ℓ_i/∂out_i.
			objective := func() float64 {
				l := make([]float64, n)
				g := make([]float32, len(out.Data))
				if err := c.loss.PerRecord(out, c.target, l, g); err != nil {
					t.Fatal(err)
				}
				var s float64
				for _, v := range l {
					s += v
				}
				return s
			}
			compareNumeric(t, "output", out, grad, objective, r, fdStep)
		})
	}
}

// TestLossValues checks the losses against direct formulas in float64.
func TestLossValues(t *testing.T) {
	out := &Tensor{Shape: []int{2, 3}, Data: []float32{1, 2, 3, -1, 0, 40}}
	labels := []int{2, 0}
	loss := make([]float64, 2)
	grad := make([]float32, 6)
	if err := (CrossEntropy{}).PerRecord(out, Target{Labels: labels}, loss, grad); err != nil {
		t.Fatal(err)
	}
	want := []float64{
		math.Log(math.Exp(1)+math.Exp(2)+math.Exp(3)) - 3,
		40 + math.Log(math.Exp(-41)+math.Exp(-40)+1) - (-1),
	}
	for i := range want {
		if math.Abs(loss[i]-want[i]) > 1e-6*math.Max(1, want[i]) {
			t.Errorf("cross-entropy[%d] = %v, want %v", i, loss[i], want[i])
		}
	}
	if err := (MSE{}).PerRecord(out, Target{Labels: labels}, loss, grad); err != nil {
		t.Fatal(err)
	}
	want = []float64{(1 + 4 + 4) / 3.0, (4 + 0 + 1600) / 3.0}
	for i := range want {
		if math.Abs(loss[i]-want[i]) > 1e-9*want[i] {
			t.Errorf("mse[%d] = %v, want %v", i, loss[i], want[i])
		}
	}
}

// TestModelGradients checks a whole model (every layer kind in one network) plus cross-entropy
// against central differences of the batch-mean loss, parameter by parameter. The step is 1e-3
// here: a weight moves many pre-activations at once, and a smaller step keeps max pooling away from
// switching its argmax; the loss is a float64 sum, so rounding stays ≈ 1e-7/2e-3 = 5e-5.
func TestModelGradients(t *testing.T) {
	for _, train := range []bool{true, false} {
		t.Run(fmt.Sprintf("train=%v", train), func(t *testing.T) {
			// In training mode a first-layer weight moves the batch-norm statistics and so every
			// value of its channel: some max-pool window then nearly always switches its argmax within
			// the step, where the loss has a kink. Max pooling is checked in evaluation mode here, and
			// on its own in TestLayerGradients.
			pool := KindMaxPool2D
			if train {
				pool = KindAvgPool2D
			}
			m := testCNN(t, "gradcheck", pool)
			m.Init(11)
			r := newRand(5, 5)
			x := randTensor(r, -1, 1, 3, 2, 8, 8)
			labels := []int{0, 2, 1}
			batchLoss := func() float64 {
				m.Reseed(9)
				bn := m.Buffers()
				saved := make([][]float32, len(bn))
				for i, b := range bn {
					saved[i] = append([]float32(nil), b.Value.Data...)
				}
				defer func() {
					for i, b := range bn {
						copy(b.Value.Data, saved[i])
					}
				}()
				out, err := m.Forward(x, train)
				if err != nil {
					t.Fatal(err)
				}
				l := make([]float64, 3)
				g := make([]float32, len(out.Data))
				if err := (CrossEntropy{}).PerRecord(out, Target{Labels: labels}, l, g); err != nil {
					t.Fatal(err)
				}
				return (l[0] + l[1] + l[2]) / 3
			}
			m.Reseed(9)
			out, err := m.Forward(x, train)
			if err != nil {
				t.Fatal(err)
			}
			g := NewTensor(out.Shape...)
			if err := (CrossEntropy{}).PerRecord(out, Target{Labels: labels}, make([]float64, 3), g.Data); err != nil {
				t.Fatal(err)
			}
			for i := range g.Data {
				g.Data[i] /= 3
			}
			if err := m.Backward(g); err != nil {
				t.Fatal(err)
			}
			for _, p := range m.Params() {
				compareNumeric(t, p.Name, p.Value, p.Grad.Clone(), batchLoss, r, 1e-3)
			}
		})
	}
}

// testCNN is a small network with every layer kind (pool: KindMaxPool2D or KindAvgPool2D for the
// first pooling layer): 2 × 8 × 8 images, 3 classes.
func testCNN(t testing.TB, name, pool string) *Sequential {
	t.Helper()
	specs := []LayerSpec{
		{Kind: KindConv2D, In: 2, Out: 4, Kernel: 3, Padding: 1},
		{Kind: KindBatchNorm, In: 4},
		{Kind: KindTanh},
		{Kind: pool, Kernel: 2},
		{Kind: KindConv2D, In: 4, Out: 4, Kernel: 3, Stride: 2, Padding: 1, NoBias: true},
		{Kind: KindSigmoid},
		{Kind: KindAvgPool2D, Kernel: 1},
		{Kind: KindFlatten},
		{Kind: KindDropout, P: 0.25},
		{Kind: KindDense, In: 16, Out: 6},
		{Kind: KindBatchNorm, In: 6},
		{Kind: KindTanh},
		{Kind: KindDense, In: 6, Out: 3},
	}
	m, err := FromSpecs(name, specs)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
