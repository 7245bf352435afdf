package nn

import (
	"fmt"
	"math"
	"slices"
)

// Target is what a loss compares a batch of model outputs with: class labels (classification) or
// target values with the output's shape (regression). A loss uses the field it needs.
type Target struct {
	Labels []int
	Values *Tensor
}

// Loss is a per-record loss function.
type Loss interface {
	// Name is a short identifier ("cross_entropy", "mse").
	Name() string
	// PerRecord writes ℓ_i, the loss of record i, into loss[i] and ∂ℓ_i/∂out_i into the rows of grad
	// (same layout as out.Data; not divided by the batch size). It returns an error when the targets
	// do not match out. Precondition: len(loss) = out.Rows(), len(grad) = len(out.Data).
	PerRecord(out *Tensor, t Target, loss []float64, grad []float32) error
}

// CrossEntropy is softmax cross-entropy on logits (PyTorch nn.CrossEntropyLoss):
// ℓ_i = log Σ_j exp(z_ij) − z_i,y_i, with gradient softmax(z_i) − onehot(y_i).
type CrossEntropy struct{}

// Name implements Loss.
func (CrossEntropy) Name() string { return "cross_entropy" }

// PerRecord implements Loss. Out must be N × C and every label in [0, C).
func (CrossEntropy) PerRecord(out *Tensor, t Target, loss []float64, grad []float32) error {
	if len(out.Shape) != 2 {
		return fmt.Errorf("cross-entropy: output shape %v, want [N classes]", out.Shape)
	}
	n, c := out.Shape[0], out.Shape[1]
	if len(t.Labels) != n {
		return fmt.Errorf("cross-entropy: %d labels for %d records", len(t.Labels), n)
	}
	for i, y := range t.Labels {
		if y < 0 || y >= c {
			return fmt.Errorf("cross-entropy: label[%d] = %d out of range [0, %d)", i, y, c)
		}
	}
	for i := 0; i < n; i++ {
		z := out.Data[i*c : (i+1)*c]
		g := grad[i*c : (i+1)*c]
		lse := softmaxInto(z, g)
		y := t.Labels[i]
		loss[i] = lse - float64(z[y])
		g[y]--
	}
	return nil
}

// softmaxInto writes softmax(z) into p (float32) and returns log Σ exp(z) in float64.
func softmaxInto(z, p []float32) float64 {
	m := z[0]
	for _, v := range z[1:] {
		if v > m || v != v {
			m = v
		}
	}
	var s float64
	for j, v := range z {
		e := math.Exp(float64(v - m))
		p[j] = float32(e)
		s += e
	}
	inv := float32(1 / s)
	for j := range p {
		p[j] *= inv
	}
	return float64(m) + math.Log(s)
}

// MSE is the mean squared error over each record's outputs (PyTorch nn.MSELoss, whose batch mean it
// reproduces): ℓ_i = (1/K) Σ_j (out_ij − target_ij)², K outputs per record. Without Values, the targets
// are one-hot encodings of Labels.
type MSE struct{}

// Name implements Loss.
func (MSE) Name() string { return "mse" }

// PerRecord implements Loss.
func (MSE) PerRecord(out *Tensor, t Target, loss []float64, grad []float32) error {
	n, k := out.Rows(), out.RowLen()
	if t.Values != nil {
		if !slices.Equal(t.Values.Shape, out.Shape) || len(t.Values.Data) != len(out.Data) {
			return fmt.Errorf("mse: target shape %v, output shape %v", t.Values.Shape, out.Shape)
		}
	} else {
		if len(t.Labels) != n {
			return fmt.Errorf("mse: %d labels for %d records", len(t.Labels), n)
		}
		for i, y := range t.Labels {
			if y < 0 || y >= k {
				return fmt.Errorf("mse: label[%d] = %d out of range [0, %d)", i, y, k)
			}
		}
	}
	scale := 2 / float32(k)
	for i := 0; i < n; i++ {
		var s float64
		for j := 0; j < k; j++ {
			var target float32
			if t.Values != nil {
				target = t.Values.Data[i*k+j]
			} else if t.Labels[i] == j {
				target = 1
			}
			d := out.Data[i*k+j] - target
			s += float64(d) * float64(d)
			grad[i*k+j] = scale * d
		}
		loss[i] = s / float64(k)
	}
	return nil
}
