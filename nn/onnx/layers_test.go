package onnx

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pmeter/pmeter/nn"
)

// TestLayerGradients checks Backward of this package's layers against central finite differences of
// L = Σ r·Forward(x) in float64 arithmetic on the float32 layers, and Forward against direct formulas.
func TestLayerGradients(t *testing.T) {
	c := ramp(12, 0.21)
	for i := range c {
		c[i] += 3 // away from zero, for the divisions
	}
	cases := []struct {
		name  string
		layer nn.Layer
		shape []int // per record
		f     func(x []float32, j int) float64
	}{
		{"leakyrelu", &LeakyReLU{Alpha: 0.1}, []int{12}, func(x []float32, j int) float64 {
			return math.Max(float64(x[j]), 0.1*float64(x[j]))
		}},
		{"softmax opset 13 (inner axis)", &Softmax{Shape: []int{2, 3, 2}, Outer: 2, Dim: 3, Inner: 2}, []int{2, 3, 2}, func(x []float32, j int) float64 {
			base := j/6*6 + j%2
			var s float64
			for k := 0; k < 3; k++ {
				s += math.Exp(float64(x[base+2*k]))
			}
			return math.Exp(float64(x[j])) / s
		}},
		{"logsoftmax opset 11 (coerced 2-D)", &Softmax{Log: true, Shape: []int{3, 4}, Outer: 1, Dim: 12, Inner: 1}, []int{3, 4}, func(x []float32, j int) float64 {
			var s float64
			for _, v := range x {
				s += math.Exp(float64(v))
			}
			return float64(x[j]) - math.Log(s)
		}},
		{"x + c", &ConstOp{Op: OpAdd, Shape: []int{3, 4}, C: c, CShape: []int{3, 4}}, []int{3, 4}, func(x []float32, j int) float64 { return float64(x[j] + c[j]) }},
		{"x - c", &ConstOp{Op: OpSub, Shape: []int{3, 4}, C: c, CShape: []int{3, 4}}, []int{3, 4}, func(x []float32, j int) float64 { return float64(x[j] - c[j]) }},
		{"c - x", &ConstOp{Op: OpRSub, Shape: []int{3, 4}, C: c, CShape: []int{3, 4}}, []int{3, 4}, func(x []float32, j int) float64 { return float64(c[j] - x[j]) }},
		{"x * c", &ConstOp{Op: OpMul, Shape: []int{3, 4}, C: c, CShape: []int{3, 4}}, []int{3, 4}, func(x []float32, j int) float64 { return float64(x[j] * c[j]) }},
		{"x * c broadcast", &ConstOp{Op: OpMul, Shape: []int{3, 4}, C: c[:3], CShape: []int{3, 1}}, []int{3, 4}, func(x []float32, j int) float64 {
			return float64(x[j] * c[j/4])
		}},
		{"x / c", &ConstOp{Op: OpDiv, Shape: []int{3, 4}, C: c, CShape: []int{3, 4}}, []int{3, 4}, func(x []float32, j int) float64 { return float64(x[j] / c[j]) }},
		{"c / x", &ConstOp{Op: OpRDiv, Shape: []int{12}, C: c, CShape: []int{12}}, []int{12}, func(x []float32, j int) float64 { return float64(c[j] / x[j]) }},
		{"view", &View{In: []int{3, 4}, Out: []int{2, 6}}, []int{3, 4}, func(x []float32, j int) float64 { return float64(x[j]) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.layer.OutShape(tc.shape); err != nil {
				t.Fatal(err)
			}
			const records = 2
			n := prod(tc.shape)
			x := nn.NewTensor(append([]int{records}, tc.shape...)...)
			copy(x.Data, ramp(records*n, 0.17))
			if tc.name == "c / x" {
				for i := range x.Data {
					x.Data[i] += 2 * float32(math.Copysign(1, float64(x.Data[i])))
				}
			}
			r := ramp(records*n, -0.05)
			y := tc.layer.Forward(x, true)
			for i, v := range y.Data {
				if want := tc.f(x.Data[i/n*n:(i/n+1)*n], i%n); math.Abs(float64(v)-want) > 1e-6*math.Max(1, math.Abs(want)) {
					t.Errorf("y[%d] = %v, want %v", i, v, want)
				}
			}
			dy := nn.NewTensor(y.Shape...)
			copy(dy.Data, r)
			dx := tc.layer.Backward(dy, true).Clone()
			loss := func() float64 {
				var s float64
				for i := range x.Data {
					s += float64(r[i]) * tc.f(x.Data[i/n*n:(i/n+1)*n], i%n)
				}
				return s
			}
			const h = 1e-3
			for i := range x.Data {
				v := x.Data[i]
				x.Data[i] = v + h
				up := loss()
				x.Data[i] = v - h
				down := loss()
				x.Data[i] = v
				num := (up - down) / float64((v+h)-(v-h)) // the float32 step actually taken
				if d := math.Abs(float64(dx.Data[i]) - num); d > 2e-3*math.Max(1, math.Abs(num)) {
					t.Errorf("dx[%d] = %v, finite difference %v", i, dx.Data[i], num)
				}
			}
			if tc.layer.Backward(dy, false) != nil {
				t.Error("Backward(needDX = false) returned a gradient")
			}
		})
	}
}

// TestFresh rebuilds imported architectures with fresh weights and trains them for an epoch.
func TestFresh(t *testing.T) {
	for _, name := range []string{"cnn", "resnet", "ops"} {
		t.Run(name, func(t *testing.T) {
			m, err := Load(filepath.Join("testdata", name+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			f1, err := m.Fresh("ref", 3)
			if err != nil {
				t.Fatal(err)
			}
			f2, err := m.Fresh("ref", 3)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := kinds(f1.Layers), kinds(m.Net.Layers); !sameStrings(got, want) {
				t.Fatalf("layers %v, want %v", got, want)
			}
			p0, p1, p2 := m.Net.Params(), f1.Params(), f2.Params()
			if len(p0) != len(p1) || m.Net.NumParams() != f1.NumParams() {
				t.Fatalf("%d parameters (%d scalars), want %d (%d)", len(p1), f1.NumParams(), len(p0), m.Net.NumParams())
			}
			differ := false
			for i := range p0 {
				if p0[i].Name != p1[i].Name || !slices.Equal(p0[i].Value.Shape, p1[i].Value.Shape) {
					t.Fatalf("parameter %d: %s %v, want %s %v", i, p1[i].Name, p1[i].Value.Shape, p0[i].Name, p0[i].Value.Shape)
				}
				for j, v := range p1[i].Value.Data {
					differ = differ || v != p0[i].Value.Data[j]
					if v != p2[i].Value.Data[j] {
						t.Fatalf("parameter %s differs between two Fresh with the same seed", p1[i].Name)
					}
				}
			}
			if !differ {
				t.Error("fresh parameters equal the imported ones")
			}
			// Models made only of nn layers also rebuild from their specs.
			if name != "ops" {
				if _, err := nn.FromSpecs("spec", m.Net.Specs()); err != nil {
					t.Errorf("FromSpecs(Specs()): %v", err)
				}
			}
			x := nn.NewTensor(append([]int{8}, m.InputShape...)...)
			copy(x.Data, ramp(len(x.Data), 0.01))
			labels := []int{0, 1, 2, 3, 4, 5, 0, 1}
			res, err := nn.Train(context.Background(), f1, nn.Data{X: x, Labels: labels}, nn.TrainConfig{Epochs: 2, BatchSize: 4, LR: 0.05, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.EpochLoss) != 2 || math.IsNaN(res.EpochLoss[1]) {
				t.Errorf("training losses %v", res.EpochLoss)
			}
		})
	}
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
