package onnx

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/nn"
)

// TestDPSGD trains the imported fixtures with DP-SGD: those with batch normalisation are refused with an
// error naming the layer; on the others one noiseless step's clipped gradient sum (the Canary hook)
// equals the sum of the per-record gradients, each computed alone and clipped, with a clipping norm
// (PyTorch's median per-record gradient norm) that clips half of them.
func TestDPSGD(t *testing.T) {
	for _, fx := range fixtures {
		if fx.name == "cnn_folded" {
			continue // no labels
		}
		t.Run(fx.name, func(t *testing.T) {
			m, err := Load(filepath.Join("testdata", fx.name+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			x := tensorOf(t, readNPY(t, filepath.Join("testdata", fx.name+"_x.npy")))
			labels64, err := readNPY(t, filepath.Join("testdata", fx.name+"_labels.npy")).Int64s()
			if err != nil {
				t.Fatal(err)
			}
			labels := make([]int, len(labels64))
			for i, v := range labels64 {
				labels[i] = int(v)
			}
			d := nn.Data{X: x, Labels: labels}
			norms := readNPY(t, filepath.Join("testdata", fx.name+"_gradnorm.npy")).Float64s()
			c := slices.Sorted(slices.Values(norms))[len(norms)/2]
			var got []float32
			cfg := nn.TrainConfig{Epochs: 1, BatchSize: x.Rows(), Seed: 1, DP: &nn.DPConfig{MaxGradNorm: c, SamplingRate: 1,
				Canary: func(_ int, sum []float32) { got = append([]float32(nil), sum...) }}}
			_, err = nn.Train(context.Background(), m.Net, d, cfg)
			if slices.Contains(fx.layers, "batchnorm") {
				if err == nil || !strings.Contains(err.Error(), "(batchnorm)") {
					t.Fatalf("error %v, want a refusal naming the batchnorm layer", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := make([]float64, len(got))
			for i := range labels {
				out, err := m.Net.Forward(x.Slice(i, i+1), true)
				if err != nil {
					t.Fatal(err)
				}
				g := nn.NewTensor(out.Shape...)
				if err := (nn.CrossEntropy{}).PerRecord(out, nn.Target{Labels: labels[i : i+1]}, make([]float64, 1), g.Data); err != nil {
					t.Fatal(err)
				}
				if err := m.Net.Backward(g); err != nil {
					t.Fatal(err)
				}
				var flat []float64
				for _, p := range m.Net.Params() {
					for _, v := range p.Grad.Data {
						flat = append(flat, float64(v))
					}
				}
				var ss float64
				for _, v := range flat {
					ss += v * v
				}
				if n := math.Sqrt(ss); math.Abs(n-norms[i]) > 1e-4*norms[i] {
					t.Errorf("record %d: gradient norm %v, PyTorch %v", i, n, norms[i])
				}
				f := min(1, c/math.Sqrt(ss))
				for j, v := range flat {
					want[j] += f * v
				}
			}
			scale := 0.0
			for _, w := range want {
				scale = max(scale, math.Abs(w))
			}
			for j, w := range want {
				if math.Abs(float64(got[j])-w) > 1e-4*scale {
					t.Fatalf("clipped sum[%d] = %v, per-record loop %v", j, got[j], w)
				}
			}
		})
	}
}
