package nn

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// EvalConfig configures Evaluate. Zero values take the defaults noted.
type EvalConfig struct {
	// BatchSize is the most records per forward pass; default 256. A pass takes fewer when its
	// layer outputs would not fit in Memory (EvalPass); the results do not depend on either.
	BatchSize int
	// Memory bounds the bytes of one forward pass's layer outputs (and, for gradient norms, of their
	// gradients too); default DefaultEvalMemory.
	Memory int64
	Loss   Loss // default CrossEntropy{}
	// GradNorms requests per-record gradient norms (one extra backward pass per batch).
	GradNorms bool
	// LayerGradNorms also requests them per layer with trainable parameters (implies GradNorms).
	LayerGradNorms bool
}

// RecordOutputs holds per-record outputs of a model on a data set of N records.
type RecordOutputs struct {
	// Logits is the model output, N × C (for a classifier: logits, before softmax).
	Logits *Tensor
	// PTrue is the softmax probability of the true label, softmax(logits_i)[y_i], computed in float64
	// from the float32 logits; nil when the data has no labels.
	PTrue []float64
	// Loss is ℓ_i, the loss of each record (natural-log units for cross-entropy).
	Loss []float64
	// GradNorm is ‖∇_θ ℓ_i‖₂, the Euclidean norm of the gradient of record i's own loss (not divided by
	// a batch size) over all trainable parameters θ; nil unless requested.
	GradNorm []float64
	// GradLayers lists the indices in the model's Layers of the layers with trainable parameters, and
	// LayerGradNorm[k][i] is ‖∇_θk ℓ_i‖₂ over layer GradLayers[k]'s parameters θk only; nil unless
	// EvalConfig.LayerGradNorms. The whole-model norm is the root of the sum of their squares.
	GradLayers    []int
	LayerGradNorm [][]float64
}

// Evaluate runs m in evaluation mode (running batch-norm statistics, no dropout) over d and returns
// per-record outputs, in the order of d's records.
//
// Gradient norms use the per-layer identities of RecordNormer in one backward pass per batch (for a
// Dense layer the ghost-norm identity ‖g_i‖² = ‖a_i‖²·‖δ_i‖² + ‖δ_i‖²); a model containing a layer with
// parameters that does not implement RecordNormer falls back to one backward pass per record. In
// evaluation mode records do not interact, so both are exact. Computing them overwrites the model's
// parameter gradients.
func Evaluate(ctx context.Context, m *Sequential, d Data, cfg EvalConfig) (*RecordOutputs, error) {
	if m == nil {
		return nil, errors.New("nn: Evaluate: nil model")
	}
	n, err := checkData(m, d)
	if err != nil {
		return nil, err
	}
	bs := cfg.BatchSize
	if bs == 0 {
		bs = 256
	}
	if bs < 0 {
		return nil, fmt.Errorf("nn: model %q: batch size %d is negative", m.Name, bs)
	}
	bs = min(bs, n)
	loss := cfg.Loss
	if loss == nil {
		loss = CrossEntropy{}
	}
	outShape, _ := m.OutShape(d.X.Shape[1:])
	res := &RecordOutputs{Logits: NewTensor(append([]int{n}, outShape...)...), Loss: make([]float64, n)}
	if d.Labels != nil {
		res.PTrue = make([]float64, n)
	}
	if cfg.LayerGradNorms {
		cfg.GradNorms = true
		for k, l := range m.Layers {
			if hasTrainable(l) {
				res.GradLayers = append(res.GradLayers, k)
				res.LayerGradNorm = append(res.LayerGradNorm, make([]float64, n))
			}
		}
	}
	if cfg.GradNorms {
		res.GradNorm = make([]float64, n)
	}
	if per, err := activations(m.Layers, d.X.Shape[1:]); err == nil {
		perRecord := 4 * int64(per)
		if cfg.GradNorms {
			perRecord *= 2 // the output gradients, one buffer per layer (not shared) for the norms
		}
		bs = EvalPass(bs, perRecord, cfg.Memory)
	}
	fast := true
	for _, l := range m.Layers {
		if !hasRecordNorms(l) {
			fast = false
		}
	}
	var grad *Tensor
	k := res.Logits.RowLen()
	for lo := 0; lo < n; lo += bs {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("nn: model %q: evaluating records %d–%d: %w", m.Name, lo, min(lo+bs, n), err)
		}
		hi := min(lo+bs, n)
		xb := d.X.Slice(lo, hi)
		var tb Target
		if d.Labels != nil {
			tb.Labels = d.Labels[lo:hi]
		}
		if d.Values != nil {
			tb.Values = d.Values.Slice(lo, hi)
		}
		out, err := m.Forward(xb, false)
		if err != nil {
			return nil, err
		}
		copy(res.Logits.Data[lo*k:hi*k], out.Data)
		g := reuse(&grad, out.Shape...)
		if err := loss.PerRecord(out, tb, res.Loss[lo:hi], g.Data); err != nil {
			return nil, fmt.Errorf("nn: model %q: records %d–%d: %w", m.Name, lo, hi, err)
		}
		if res.PTrue != nil {
			pTrue(out, tb.Labels, res.PTrue[lo:hi])
		}
		if !cfg.GradNorms {
			continue
		}
		sq := res.GradNorm[lo:hi]
		var layerSq [][]float64 // per layer of res.GradLayers, this batch; nil without LayerGradNorms
		for k := range res.LayerGradNorm {
			layerSq = append(layerSq, res.LayerGradNorm[k][lo:hi])
		}
		if fast {
			if err := m.Backward(g); err != nil {
				return nil, err
			}
			k := 0
			for li, l := range m.Layers {
				rn, ok := l.(RecordNormer)
				if !ok {
					continue
				}
				if layerSq != nil && k < len(res.GradLayers) && res.GradLayers[k] == li {
					rn.AddRecordSqNorms(layerSq[k])
					for i, v := range layerSq[k] {
						sq[i] += v
					}
					k++
					continue
				}
				rn.AddRecordSqNorms(sq)
			}
		} else if err := recordSqNormsSlow(m, xb, tb, loss, sq, res.GradLayers, layerSq); err != nil {
			return nil, err
		}
		for i, v := range sq {
			sq[i] = math.Sqrt(v)
		}
		for _, ls := range layerSq {
			for i, v := range ls {
				ls[i] = math.Sqrt(v)
			}
		}
	}
	return res, nil
}

// DefaultEvalMemory is the default bound on the memory of one evaluation forward pass (EvalPass): 256
// MiB, a pass of about 50 CIFAR-10 records through WRN-28-2 (5.3 MB of layer outputs per record),
// or of the whole batch for small models. Chunks of this size are as fast as larger ones: every
// layer's product still has thousands of columns.
const DefaultEvalMemory = 256 << 20

// EvalPass returns the records one evaluation forward pass takes: batch, or fewer so that their layer
// outputs, bytesPerRecord each, fit in memory bytes (DefaultEvalMemory when memory ≤ 0); at least one.
// In evaluation mode records do not interact and every output element is computed by the same
// sequence of operations whatever the number of records in the pass, so a batch split into passes
// gives bitwise the results of one pass (see TestEvaluateSplitsLargeBatches).
func EvalPass(batch int, bytesPerRecord, memory int64) int {
	if memory <= 0 {
		memory = DefaultEvalMemory
	}
	if bytesPerRecord <= 0 {
		return max(batch, 1)
	}
	return int(max(1, min(int64(batch), memory/bytesPerRecord)))
}

// EvalPass returns the records per forward pass for evaluating m (in evaluation mode, without
// gradients) on records of per-record shape in, at most batch: see the function EvalPass. A shape m
// cannot take gives batch.
func (m *Sequential) EvalPass(in []int, batch int, memory int64) int {
	per, err := activations(m.Layers, in)
	if err != nil {
		return max(batch, 1)
	}
	return EvalPass(batch, 4*int64(per), memory)
}

// pTrue writes softmax(out_i)[labels_i] for each row, in float64.
func pTrue(out *Tensor, labels []int, p []float64) {
	c := out.RowLen()
	for i := range p {
		z := out.Data[i*c : (i+1)*c]
		mx := float64(z[0])
		for _, v := range z[1:] {
			mx = math.Max(mx, float64(v))
		}
		var s float64
		for _, v := range z {
			s += math.Exp(float64(v) - mx)
		}
		p[i] = math.Exp(float64(z[labels[i]])-mx) / s
	}
}

// hasTrainable reports whether l has a parameter with a gradient.
func hasTrainable(l Layer) bool {
	for _, p := range l.Params() {
		if p.Grad != nil {
			return true
		}
	}
	return false
}

// recordSqNormsSlow computes squared per-record gradient norms with one backward pass per record, and
// when layerSq is not nil those of each layer of layers (indices into m.Layers) into layerSq.
func recordSqNormsSlow(m *Sequential, x *Tensor, t Target, loss Loss, sq []float64, layers []int, layerSq [][]float64) error {
	var lossBuf [1]float64
	var grad *Tensor
	for i := range sq {
		xi := x.Slice(i, i+1)
		var ti Target
		if t.Labels != nil {
			ti.Labels = t.Labels[i : i+1]
		}
		if t.Values != nil {
			ti.Values = t.Values.Slice(i, i+1)
		}
		out, err := m.Forward(xi, false)
		if err != nil {
			return err
		}
		g := reuse(&grad, out.Shape...)
		if err := loss.PerRecord(out, ti, lossBuf[:], g.Data); err != nil {
			return err
		}
		if err := m.Backward(g); err != nil {
			return err
		}
		var s float64
		for _, p := range m.Params() {
			s += sumSq(p.Grad.Data)
		}
		sq[i] = s
		for k, li := range layers {
			if layerSq == nil {
				break
			}
			var ls float64
			for _, p := range m.Layers[li].Params() {
				if p.Grad != nil {
					ls += sumSq(p.Grad.Data)
				}
			}
			layerSq[k][i] = ls
		}
	}
	return nil
}
