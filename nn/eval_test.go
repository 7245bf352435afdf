package nn

import (
	"context"
	"math"
	"testing"
)

// bruteRecord runs record i alone (batch of 1) in evaluation mode and returns its loss and the
// Euclidean norm of the gradient of that loss over all parameters, accumulated in float64.
func bruteRecord(t *testing.T, m *Sequential, x *Tensor, label int) (loss, norm float64) {
	t.Helper()
	out, err := m.Forward(x, false)
	if err != nil {
		t.Fatal(err)
	}
	g := NewTensor(out.Shape...)
	l := make([]float64, 1)
	if err := (CrossEntropy{}).PerRecord(out, Target{Labels: []int{label}}, l, g.Data); err != nil {
		t.Fatal(err)
	}
	if err := m.Backward(g); err != nil {
		t.Fatal(err)
	}
	var s float64
	for _, p := range m.Params() {
		s += sumSq(p.Grad.Data)
	}
	return l[0], math.Sqrt(s)
}

// hidden wraps a layer and hides its RecordNormer implementation, forcing Evaluate's per-record
// fallback.
type hidden struct{ Layer }

// TestEvaluateRecords checks logits, p(true), loss and gradient norms from batched evaluation against
// brute force, one record at a time, for an MLP (ghost norms) and a CNN with every layer kind.
func TestEvaluateRecords(t *testing.T) {
	imgs, imgLabels := synthImages(9, 13, 2, 8, 8, 3)
	vecs, vecLabels := synthImages(10, 13, 1, 1, 20, 5)
	vecs.Shape = []int{13, 20}
	mlp, err := FromSpecs("mlp", []LayerSpec{
		{Kind: KindDense, In: 20, Out: 16}, {Kind: KindTanh}, {Kind: KindDropout, P: 0.5},
		{Kind: KindDense, In: 16, Out: 16, NoBias: true}, {Kind: KindReLU}, {Kind: KindDense, In: 16, Out: 5},
	})
	if err != nil {
		t.Fatal(err)
	}
	cnn := testCNN(t, "cnn", KindMaxPool2D)
	// Train briefly so that batch-norm running statistics are not trivial.
	cnn.Init(3)
	if _, err := Train(context.Background(), cnn, Data{X: imgs, Labels: imgLabels}, TrainConfig{Epochs: 2, BatchSize: 5, LR: 0.1}); err != nil {
		t.Fatal(err)
	}
	mlp.Init(4)
	resnet, err := FromSpecs("resnet", []LayerSpec{
		{Kind: KindConv2D, In: 2, Out: 4, Kernel: 3, Padding: 1, NoBias: true},
		{Kind: KindResidual, Body: []LayerSpec{
			{Kind: KindBatchNorm, In: 4}, {Kind: KindReLU}, {Kind: KindConv2D, In: 4, Out: 4, Kernel: 3, Padding: 1},
		}},
		{Kind: KindBatchNorm, In: 4}, {Kind: KindReLU},
		{Kind: KindResidual, Body: []LayerSpec{
			{Kind: KindConv2D, In: 4, Out: 6, Kernel: 3, Stride: 2, Padding: 1}, {Kind: KindBatchNorm, In: 6}, {Kind: KindReLU},
		}, Shortcut: []LayerSpec{{Kind: KindConv2D, In: 4, Out: 6, Kernel: 1, Stride: 2, NoBias: true}}},
		{Kind: KindGlobalAvgPool}, {Kind: KindDense, In: 6, Out: 3},
	})
	if err != nil {
		t.Fatal(err)
	}
	resnet.Init(5)
	if _, err := Train(context.Background(), resnet, Data{X: imgs, Labels: imgLabels}, TrainConfig{Epochs: 2, BatchSize: 5, LR: 0.1}); err != nil {
		t.Fatal(err)
	}
	hiddenCNN := NewSequential("cnn-fallback", append([]Layer(nil), cnn.Layers...)...)
	hiddenCNN.Layers[0] = hidden{cnn.Layers[0]}
	for _, c := range []struct {
		m *Sequential
		d Data
	}{
		{mlp, Data{X: vecs, Labels: vecLabels}},
		{cnn, Data{X: imgs, Labels: imgLabels}},
		{hiddenCNN, Data{X: imgs, Labels: imgLabels}},
		{resnet, Data{X: imgs, Labels: imgLabels}},
	} {
		t.Run(c.m.Name, func(t *testing.T) {
			res, err := Evaluate(context.Background(), c.m, c.d, EvalConfig{BatchSize: 4, GradNorms: true})
			if err != nil {
				t.Fatal(err)
			}
			n := c.d.X.Rows()
			k := res.Logits.RowLen()
			if res.Logits.Rows() != n || len(res.PTrue) != n || len(res.Loss) != n || len(res.GradNorm) != n {
				t.Fatalf("output sizes %v %d %d %d, want %d records", res.Logits.Shape, len(res.PTrue), len(res.Loss), len(res.GradNorm), n)
			}
			for i := 0; i < n; i++ {
				xi := c.d.X.Slice(i, i+1)
				out, err := c.m.Forward(xi, false)
				if err != nil {
					t.Fatal(err)
				}
				for j := 0; j < k; j++ {
					if d := math.Abs(float64(out.Data[j] - res.Logits.Data[i*k+j])); d > 1e-5 {
						t.Errorf("record %d: logit %d = %v, batch-of-1 %v", i, j, res.Logits.Data[i*k+j], out.Data[j])
					}
				}
				// p(true) from the definition, in float64.
				var s float64
				for j := 0; j < k; j++ {
					s += math.Exp(float64(res.Logits.Data[i*k+j]))
				}
				if p := math.Exp(float64(res.Logits.Data[i*k+c.d.Labels[i]])) / s; math.Abs(p-res.PTrue[i]) > 1e-12 {
					t.Errorf("record %d: p(true) = %v, want %v", i, res.PTrue[i], p)
				}
				if d := math.Abs(math.Exp(-res.Loss[i]) - res.PTrue[i]); d > 1e-6 {
					t.Errorf("record %d: exp(−loss) = %v, p(true) = %v", i, math.Exp(-res.Loss[i]), res.PTrue[i])
				}
				loss, norm := bruteRecord(t, c.m, xi, c.d.Labels[i])
				if math.Abs(loss-res.Loss[i]) > 1e-5 {
					t.Errorf("record %d: loss %v, batch-of-1 %v", i, res.Loss[i], loss)
				}
				if math.Abs(norm-res.GradNorm[i]) > 1e-4*norm+1e-7 {
					t.Errorf("record %d: gradient norm %v, batch-of-1 %v", i, res.GradNorm[i], norm)
				}
				if !(norm > 0) {
					t.Errorf("record %d: gradient norm %v is not positive", i, norm)
				}
			}
		})
	}
}

func TestEvaluateErrors(t *testing.T) {
	m, _ := FromSpecs("eval", []LayerSpec{{Kind: KindDense, In: 4, Out: 2}})
	m.Init(1)
	x := NewTensor(3, 4)
	if _, err := Evaluate(context.Background(), m, Data{X: x, Labels: []int{0, 1, 2}}, EvalConfig{}); err == nil {
		t.Error("label out of range: no error")
	}
	if _, err := Evaluate(context.Background(), m, Data{X: NewTensor(3, 5), Labels: []int{0, 1, 1}}, EvalConfig{}); err == nil {
		t.Error("shape mismatch: no error")
	}
	if _, err := Evaluate(context.Background(), m, Data{X: x, Labels: []int{0, 1, 1}}, EvalConfig{BatchSize: -1}); err == nil {
		t.Error("negative batch size: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Evaluate(ctx, m, Data{X: x, Labels: []int{0, 1, 1}}, EvalConfig{}); err == nil {
		t.Error("cancelled context: no error")
	}
	if _, err := Evaluate(context.Background(), nil, Data{X: x, Labels: []int{0, 1, 1}}, EvalConfig{}); err == nil {
		t.Error("nil model: no error")
	}
	// Regression targets: loss only, no p(true).
	res, err := Evaluate(context.Background(), m, Data{X: x, Values: NewTensor(3, 2)}, EvalConfig{Loss: MSE{}, GradNorms: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.PTrue != nil || len(res.Loss) != 3 || len(res.GradNorm) != 3 {
		t.Errorf("regression outputs: p(true) %v, %d losses, %d norms", res.PTrue, len(res.Loss), len(res.GradNorm))
	}
}

// TestEvaluateLayerGradNorms checks per-layer gradient norms against brute force, one record at a time,
// on the ghost-norm path and on the per-record fallback.
func TestEvaluateLayerGradNorms(t *testing.T) {
	vecs, labels := synthImages(10, 9, 1, 1, 12, 4)
	vecs.Shape = []int{9, 12}
	mlp, err := FromSpecs("mlp", []LayerSpec{
		{Kind: KindDense, In: 12, Out: 8}, {Kind: KindTanh}, {Kind: KindDense, In: 8, Out: 4},
	})
	if err != nil {
		t.Fatal(err)
	}
	mlp.Init(2)
	slow := NewSequential("mlp-fallback", append([]Layer(nil), mlp.Layers...)...)
	slow.Layers[0] = hidden{mlp.Layers[0]}
	for _, m := range []*Sequential{mlp, slow} {
		res, err := Evaluate(context.Background(), m, Data{X: vecs, Labels: labels}, EvalConfig{BatchSize: 4, LayerGradNorms: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.GradLayers) != 2 || res.GradLayers[0] != 0 || res.GradLayers[1] != 2 || len(res.GradNorm) != 9 {
			t.Fatalf("%s: layers %v, %d whole-model norms", m.Name, res.GradLayers, len(res.GradNorm))
		}
		for i := 0; i < 9; i++ {
			bruteRecord(t, m, vecs.Slice(i, i+1), labels[i])
			total := 0.0
			for k, li := range res.GradLayers {
				var s float64
				for _, p := range m.Layers[li].Params() {
					s += sumSq(p.Grad.Data)
				}
				want := math.Sqrt(s)
				if got := res.LayerGradNorm[k][i]; math.Abs(got-want) > 1e-4*want+1e-7 {
					t.Errorf("%s record %d layer %d: norm %v, batch-of-1 %v", m.Name, i, li, got, want)
				}
				total += res.LayerGradNorm[k][i] * res.LayerGradNorm[k][i]
			}
			if math.Abs(math.Sqrt(total)-res.GradNorm[i]) > 1e-9*res.GradNorm[i] {
				t.Errorf("%s record %d: layers' norms combine to %v, whole model %v", m.Name, i, math.Sqrt(total), res.GradNorm[i])
			}
		}
	}
}

// TestEvaluateSplitsLargeBatches checks that a batch evaluated in several passes, because its layer
// outputs exceed EvalConfig.Memory, gives bitwise the outputs and gradient norms of one pass, on a
// trained model with every vision layer kind, and that EvalPass bounds the records per pass.
func TestEvaluateSplitsLargeBatches(t *testing.T) {
	if Backend() != "gonum" {
		t.Skipf("bitwise equality of split passes is checked for the pure-Go backend only, this is %s", Backend())
	}
	m, err := FromSpecs("split", visionSpecs())
	if err != nil {
		t.Fatal(err)
	}
	m.Init(3)
	x, labels := synthImages(5, 37, 3, 16, 16, 10)
	d := Data{X: x, Labels: labels}
	if _, err := Train(context.Background(), m, d, TrainConfig{Epochs: 1, BatchSize: 8, LR: 0.05, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	per, err := activations(m.Layers, []int{3, 16, 16})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		memory int64
		pass   int // records per pass with gradient norms
	}{{1 << 40, 37}, {2 * 4 * int64(per) * 5, 5}, {2, 1}} {
		if got := m.EvalPass([]int{3, 16, 16}, 37, tc.memory/2); got != tc.pass {
			t.Errorf("EvalPass(memory %d) = %d records, want %d", tc.memory/2, got, tc.pass)
		}
	}
	if got := EvalPass(5000, 5<<20, 0); got != DefaultEvalMemory/(5<<20) {
		t.Errorf("EvalPass(5000 records of 5 MiB) = %d, want %d", got, DefaultEvalMemory/(5<<20))
	}
	eval := func(memory int64) *RecordOutputs {
		out, err := Evaluate(context.Background(), m, d, EvalConfig{BatchSize: 37, Memory: memory, LayerGradNorms: true})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	whole := eval(1 << 40)
	for _, memory := range []int64{2 * 4 * int64(per) * 5, 2} {
		split := eval(memory)
		for i, v := range whole.Logits.Data {
			if !sameFloatBits(v, split.Logits.Data[i]) {
				t.Fatalf("memory %d: logit %d = %v, %v in one pass", memory, i, split.Logits.Data[i], v)
			}
		}
		same := func(what string, a, b []float64) {
			for i := range a {
				if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
					t.Fatalf("memory %d: %s of record %d = %v, %v in one pass", memory, what, i, b[i], a[i])
				}
			}
		}
		same("loss", whole.Loss, split.Loss)
		same("p(true)", whole.PTrue, split.PTrue)
		same("gradient norm", whole.GradNorm, split.GradNorm)
		for k := range whole.LayerGradNorm {
			same("layer gradient norm", whole.LayerGradNorm[k], split.LayerGradNorm[k])
		}
	}
}
