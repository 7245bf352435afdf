package nn

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"testing"
)

// Cross-checks against PyTorch 1.13. testdata/torch_ref.py draws the inputs, runs torch and writes
// testdata/torch_ref.json (inputs and outputs); these tests feed the same inputs to the Go layers.
// Tolerance: float32 results computed in a different order agree to |got − want| ≤ 1e-5 + 1e-4·|want|.

type refTensor struct {
	Shape []int     `json:"shape"`
	Data  []float32 `json:"data"`
}

func (r refTensor) tensor() *Tensor {
	return &Tensor{Shape: append([]int(nil), r.Shape...), Data: append([]float32(nil), r.Data...)}
}

func loadTorchRef(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	b, err := os.ReadFile("testdata/torch_ref.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func closeTo(t *testing.T, name string, got []float32, want refTensor) {
	t.Helper()
	if len(got) != len(want.Data) || len(got) == 0 {
		t.Fatalf("%s: %d values, want %d (non-zero)", name, len(got), len(want.Data))
	}
	bad := 0
	for i, w := range want.Data {
		if d := math.Abs(float64(got[i]) - float64(w)); !(d <= 1e-5+1e-4*math.Abs(float64(w))) {
			if bad < 5 {
				t.Errorf("%s[%d] = %v, want %v", name, i, got[i], w)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values differ", name, bad, len(got))
	}
}

type layerRef struct {
	X, Y, R, DX refTensor
	Weight      refTensor `json:"weight"`
	DWeight     refTensor `json:"dweight"`
	Bias        refTensor `json:"bias"`
	DBias       refTensor `json:"dbias"`
	Stride      int       `json:"stride"`
	Padding     int       `json:"padding"`
	Kernel      int       `json:"kernel"`
}

func TestTorchLayers(t *testing.T) {
	ref := loadTorchRef(t)
	build := map[string]func(c layerRef) (Layer, error){
		"conv_k3s2p1":        nil,
		"conv_k5s1p0_nobias": nil,
		"conv_k1s1p0":        nil,
		"conv_k1s2p0_nobias": nil,
		"conv_k3s2p1_even":   nil,
		"linear": func(c layerRef) (Layer, error) {
			return NewDense(c.Weight.Shape[1], c.Weight.Shape[0], len(c.Bias.Data) > 0)
		},
		"maxpool_k3s2p1": func(c layerRef) (Layer, error) { return NewMaxPool2D(c.Kernel, c.Stride, c.Padding) },
		"maxpool_k2":     func(c layerRef) (Layer, error) { return NewMaxPool2D(c.Kernel, c.Stride, c.Padding) },
		"avgpool_k3s2p1": func(c layerRef) (Layer, error) { return NewAvgPool2D(c.Kernel, c.Stride, c.Padding) },
	}
	convBuild := func(c layerRef) (Layer, error) {
		s := c.Weight.Shape
		return NewConv2D(s[1], s[0], s[2], c.Stride, c.Padding, len(c.Bias.Data) > 0)
	}
	for name, f := range build {
		if f == nil {
			build[name] = convBuild
		}
	}
	for name, mk := range build {
		t.Run(name, func(t *testing.T) {
			var c layerRef
			if err := json.Unmarshal(ref[name], &c); err != nil {
				t.Fatal(err)
			}
			l, err := mk(c)
			if err != nil {
				t.Fatal(err)
			}
			ps := l.Params()
			for _, p := range ps {
				switch p.Name {
				case "weight":
					copy(p.Value.Data, c.Weight.Data)
				case "bias":
					copy(p.Value.Data, c.Bias.Data)
				}
			}
			x := c.X.tensor()
			out, err := l.OutShape(x.Shape[1:])
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(out, c.Y.Shape[1:]) {
				t.Fatalf("output shape %v, torch %v", out, c.Y.Shape[1:])
			}
			y := l.Forward(x, true)
			closeTo(t, "y", y.Data, c.Y)
			dx := l.Backward(c.R.tensor(), true)
			closeTo(t, "dx", dx.Data, c.DX)
			for _, p := range ps {
				switch p.Name {
				case "weight":
					closeTo(t, "dweight", p.Grad.Data, c.DWeight)
				case "bias":
					closeTo(t, "dbias", p.Grad.Data, c.DBias)
				}
			}
		})
	}
}

func TestTorchBatchNorm(t *testing.T) {
	ref := loadTorchRef(t)
	for _, name := range []string{"bn2d", "bn1d"} {
		t.Run(name, func(t *testing.T) {
			var c struct {
				Gamma, Beta, X1, X, Y, R, DX, DGamma, DBeta refTensor
				RunningMean                                 refTensor `json:"running_mean"`
				RunningVar                                  refTensor `json:"running_var"`
				XEval                                       refTensor `json:"x_eval"`
				YEval                                       refTensor `json:"y_eval"`
			}
			if err := json.Unmarshal(ref[name], &c); err != nil {
				t.Fatal(err)
			}
			b, err := NewBatchNorm(len(c.Gamma.Data), 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			copy(b.Gamma.Data, c.Gamma.Data)
			copy(b.Beta.Data, c.Beta.Data)
			b.Forward(c.X1.tensor(), true)
			y := b.Forward(c.X.tensor(), true)
			closeTo(t, "y", y.Data, c.Y)
			dx := b.Backward(c.R.tensor(), true)
			closeTo(t, "dx", dx.Data, c.DX)
			closeTo(t, "dgamma", b.DGamma.Data, c.DGamma)
			closeTo(t, "dbeta", b.DBeta.Data, c.DBeta)
			closeTo(t, "running_mean", b.RunningMean.Data, c.RunningMean)
			closeTo(t, "running_var", b.RunningVar.Data, c.RunningVar)
			if b.NumBatchesTracked != 2 {
				t.Errorf("num_batches_tracked = %d, want 2", b.NumBatchesTracked)
			}
			closeTo(t, "y_eval", b.Forward(c.XEval.tensor(), false).Data, c.YEval)
		})
	}
}

func TestTorchCrossEntropy(t *testing.T) {
	ref := loadTorchRef(t)
	var c struct {
		Logits refTensor
		Labels []int
		Loss   []float64
		Grad   refTensor
	}
	if err := json.Unmarshal(ref["cross_entropy"], &c); err != nil {
		t.Fatal(err)
	}
	z := c.Logits.tensor()
	loss := make([]float64, z.Rows())
	grad := make([]float32, z.Len())
	if err := (CrossEntropy{}).PerRecord(z, Target{Labels: c.Labels}, loss, grad); err != nil {
		t.Fatal(err)
	}
	for i, w := range c.Loss {
		if math.Abs(loss[i]-w) > 1e-5+1e-5*math.Abs(w) {
			t.Errorf("loss[%d] = %v, want %v", i, loss[i], w)
		}
	}
	closeTo(t, "grad", grad, c.Grad)
}

func TestTorchOptimizers(t *testing.T) {
	ref := loadTorchRef(t)
	var c struct {
		P0    refTensor
		Grads []refTensor
		LRs   []float64
		After map[string][]refTensor
	}
	if err := json.Unmarshal(ref["optim"], &c); err != nil {
		t.Fatal(err)
	}
	opts := map[string]Optimizer{
		"sgd":          SGD{WeightDecay: 0.01},
		"sgd_momentum": SGD{Momentum: 0.9, Dampening: 0.1, WeightDecay: 0.01},
		"sgd_nesterov": SGD{Momentum: 0.9, Nesterov: true, WeightDecay: 0.01},
		"adam":         Adam{WeightDecay: 0.01},
		"adam_betas":   Adam{Beta1: 0.8, Beta2: 0.99, Eps: 1e-6},
		"adamw":        AdamW{WeightDecay: 0.1},
	}
	if len(opts) != len(c.After) {
		t.Fatalf("%d optimizers here, %d in the reference", len(opts), len(c.After))
	}
	for name, o := range opts {
		t.Run(name, func(t *testing.T) {
			p := Param{Name: "p", Value: c.P0.tensor(), Grad: NewTensor(c.P0.Shape...)}
			u, err := o.Start([]Param{p})
			if err != nil {
				t.Fatal(err)
			}
			for step, g := range c.Grads {
				copy(p.Grad.Data, g.Data)
				u.Update(c.LRs[step])
				closeTo(t, name, p.Value.Data, c.After[name][step])
			}
		})
	}
}
