package nn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrDiverged is returned (wrapped) by Train when the loss of a batch is NaN or infinite.
var ErrDiverged = errors.New("training diverged")

// Data is a data set: X holds the records (records × per-record shape, images NCHW), and Labels the
// class of each record (classification) or Values the targets with the output's shape (regression).
type Data struct {
	X      *Tensor
	Labels []int
	Values *Tensor
}

// TrainConfig configures Train. Zero values take the defaults noted.
type TrainConfig struct {
	Epochs    int       // passes over the data (≥ 0)
	BatchSize int       // records per step (> 0; a batch larger than the data is clamped)
	LR        float64   // base learning rate (≥ 0)
	Optimizer Optimizer // default SGD{}
	Schedule  Schedule  // default Constant{}
	Loss      Loss      // default CrossEntropy{}
	Seed      uint64    // shuffling, dropout and augmentation streams
	Augment   *Augment  // nil: no augmentation
	DropLast  bool      // skip the last, incomplete batch of each epoch
	// Progress, when set, is called after every step with the 0-based epoch and batch indices and the
	// batch's mean loss.
	Progress func(epoch, batch int, loss float64)
	// DP, when set, trains with DP-SGD (see DPConfig).
	DP *DPConfig
	// Checkpoint, when set, is called after every completed epoch with its number (1-based) and the
	// model, whose weights are then those of that epoch: to save a checkpoint or to evaluate the model
	// there (the losses of a loss trajectory). It must not change the weights; an error stops training.
	Checkpoint func(epoch int, m *Sequential) error
}

// TrainResult summarises a training run.
type TrainResult struct {
	EpochLoss []float64 // mean training loss of each epoch (training mode, augmented batches)
	Steps     int       // optimisation steps taken
}

// StepsPerEpoch returns the number of batches of one epoch over n records.
func (c TrainConfig) StepsPerEpoch(n int) int {
	b := min(c.BatchSize, n)
	if b <= 0 {
		return 0
	}
	if c.DropLast {
		return n / b
	}
	return (n + b - 1) / b
}

// Train fits m to d by mini-batch gradient descent: each epoch visits the records in an order
// shuffled from cfg.Seed, in batches of cfg.BatchSize; each step runs a training-mode forward pass,
// the mean loss of the batch, a backward pass and an optimizer update at rate LR·Schedule.Factor.
// With the same model initialisation, data, configuration and seed, the resulting weights are bitwise
// identical under the pure-Go backend, whatever GOMAXPROCS.
//
// With cfg.DP set, Train runs DP-SGD instead (see DPConfig): each step's batch is Poisson-sampled (or
// shuffled), the per-example gradients are clipped, summed and noised, and the noisy sum, divided by
// the expected batch size, is what the optimizer applies. A model with a layer that mixes the examples
// of a batch (BatchNorm) is refused with an error naming the layer.
//
// Train validates its inputs and returns an error naming the model for mismatched shapes, labels out of
// range or non-finite inputs; when a batch's loss is NaN or infinite it stops with an error wrapping
// ErrDiverged that names the model, the epoch and the batch (both 1-based in the message). It stops
// with ctx's error when ctx is done. The model keeps the weights of the last completed step.
func Train(ctx context.Context, m *Sequential, d Data, cfg TrainConfig) (TrainResult, error) {
	var res TrainResult
	if m == nil {
		return res, errors.New("nn: Train: nil model")
	}
	n, err := checkData(m, d)
	if err != nil {
		return res, err
	}
	if cfg.Epochs < 0 || cfg.BatchSize <= 0 || !(cfg.LR >= 0) || math.IsInf(cfg.LR, 0) {
		return res, fmt.Errorf("nn: model %q: epochs=%d batch size=%d learning rate=%v: need epochs ≥ 0, batch size > 0, finite rate ≥ 0",
			m.Name, cfg.Epochs, cfg.BatchSize, cfg.LR)
	}
	if cfg.Augment != nil {
		if err := cfg.Augment.check(d.X.Shape[1:]); err != nil {
			return res, fmt.Errorf("nn: model %q: %w", m.Name, err)
		}
	}
	opt, sched, loss := cfg.Optimizer, cfg.Schedule, cfg.Loss
	if opt == nil {
		opt = SGD{}
	}
	if sched == nil {
		sched = Constant{}
	}
	if loss == nil {
		loss = CrossEntropy{}
	}
	upd, err := opt.Start(m.Params())
	if err != nil {
		return res, fmt.Errorf("nn: model %q: %w", m.Name, err)
	}
	if cfg.DP != nil {
		return trainDP(ctx, m, d, cfg, n, upd, sched, loss)
	}
	bs := min(cfg.BatchSize, n)
	perEpoch := cfg.StepsPerEpoch(n)
	total := perEpoch * cfg.Epochs
	shuffle := newRand(cfg.Seed, streamShuffle)
	augRand := newRand(cfg.Seed, streamAugment)
	m.Reseed(cfg.Seed)

	m.shareGrads(true)
	defer m.shareGrads(false)
	b := newBatcher(d)
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		shuffle.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		var sum float64
		var seen int
		for batch := 0; batch < perEpoch; batch++ {
			if err := ctx.Err(); err != nil {
				return res, fmt.Errorf("nn: model %q: epoch %d of %d, batch %d of %d: %w", m.Name, epoch+1, cfg.Epochs, batch+1, perEpoch, err)
			}
			lo, hi := batch*bs, min((batch+1)*bs, n)
			xb, tb := b.gather(perm[lo:hi])
			if cfg.Augment != nil {
				cfg.Augment.apply(xb, augRand, &b.scratch)
			}
			l, err := b.step(m, xb, tb, loss)
			if err == nil && (math.IsNaN(l) || math.IsInf(l, 0)) {
				err = fmt.Errorf("loss is %v: %w", l, ErrDiverged)
			}
			if err != nil {
				return res, fmt.Errorf("nn: model %q: epoch %d of %d, batch %d of %d: %w", m.Name, epoch+1, cfg.Epochs, batch+1, perEpoch, err)
			}
			upd.Update(cfg.LR * sched.Factor(res.Steps, perEpoch, total))
			res.Steps++
			sum += l * float64(hi-lo)
			seen += hi - lo
			if cfg.Progress != nil {
				cfg.Progress(epoch, batch, l)
			}
		}
		res.EpochLoss = append(res.EpochLoss, sum/float64(max(seen, 1)))
		if cfg.Checkpoint != nil {
			if err := cfg.Checkpoint(epoch+1, m); err != nil {
				return res, fmt.Errorf("nn: model %q: checkpoint after epoch %d: %w", m.Name, epoch+1, err)
			}
		}
	}
	return res, nil
}

// batcher gathers batches of records into reused buffers and runs training steps.
type batcher struct {
	d       Data
	x       *Tensor
	values  *Tensor
	labels  []int
	loss    []float64
	grad    *Tensor
	scratch []float32
	shape   []int
}

func newBatcher(d Data) *batcher {
	return &batcher{d: d}
}

// gather copies the records idx into the batch buffers.
func (b *batcher) gather(idx []int) (*Tensor, Target) {
	b.shape = append(append(b.shape[:0], len(idx)), b.d.X.Shape[1:]...)
	x := reuse(&b.x, b.shape...)
	r := b.d.X.RowLen()
	for i, k := range idx {
		copy(x.Data[i*r:(i+1)*r], b.d.X.Data[k*r:(k+1)*r])
	}
	var t Target
	if b.d.Labels != nil {
		if cap(b.labels) < len(idx) {
			b.labels = make([]int, len(idx))
		}
		b.labels = b.labels[:len(idx)]
		for i, k := range idx {
			b.labels[i] = b.d.Labels[k]
		}
		t.Labels = b.labels
	}
	if b.d.Values != nil {
		b.shape = append(append(b.shape[:0], len(idx)), b.d.Values.Shape[1:]...)
		v := reuse(&b.values, b.shape...)
		r := b.d.Values.RowLen()
		for i, k := range idx {
			copy(v.Data[i*r:(i+1)*r], b.d.Values.Data[k*r:(k+1)*r])
		}
		t.Values = v
	}
	return x, t
}

// step runs forward, loss and backward for one batch and returns the batch's mean loss.
func (b *batcher) step(m *Sequential, x *Tensor, t Target, loss Loss) (float64, error) {
	out, err := m.Forward(x, true)
	if err != nil {
		return 0, err
	}
	nb := x.Rows()
	if cap(b.loss) < nb {
		b.loss = make([]float64, nb)
	}
	b.loss = b.loss[:nb]
	g := reuse(&b.grad, out.Shape...)
	if _, ok := loss.(CrossEntropy); ok && len(out.Shape) == 2 && len(t.Labels) == nb {
		crossEntropyTrain(out, t.Labels, b.loss, g.Data) // labels were checked by checkData
	} else if err := loss.PerRecord(out, t, b.loss, g.Data); err != nil {
		return 0, err
	}
	var sum float64
	for _, v := range b.loss {
		sum += v
	}
	mean := sum / float64(nb)
	if math.IsNaN(mean) || math.IsInf(mean, 0) {
		return mean, nil
	}
	inv := 1 / float32(nb)
	for i := range g.Data {
		g.Data[i] *= inv
	}
	return mean, m.Backward(g)
}

// checkData validates a data set against a model and returns its number of records.
func checkData(m *Sequential, d Data) (int, error) {
	if d.X == nil || len(d.X.Shape) < 2 {
		return 0, fmt.Errorf("nn: model %q: data X must have a record dimension and a per-record shape", m.Name)
	}
	if numel(d.X.Shape) != len(d.X.Data) {
		return 0, fmt.Errorf("nn: model %q: data X shape %v does not match its %d values", m.Name, d.X.Shape, len(d.X.Data))
	}
	n := d.X.Shape[0]
	if n == 0 {
		return 0, fmt.Errorf("nn: model %q: data has no records", m.Name)
	}
	out, err := m.OutShape(d.X.Shape[1:])
	if err != nil {
		return 0, err
	}
	if err := d.X.CheckFinite(); err != nil {
		return 0, fmt.Errorf("nn: model %q: data X: %w", m.Name, err)
	}
	if d.Labels == nil && d.Values == nil {
		return 0, fmt.Errorf("nn: model %q: data has neither labels nor target values", m.Name)
	}
	if d.Labels != nil {
		if len(d.Labels) != n {
			return 0, fmt.Errorf("nn: model %q: %d labels for %d records", m.Name, len(d.Labels), n)
		}
		if len(out) != 1 {
			return 0, fmt.Errorf("nn: model %q: labels need a vector output per record, model gives %v", m.Name, out)
		}
		for i, y := range d.Labels {
			if y < 0 || y >= out[0] {
				return 0, fmt.Errorf("nn: model %q: label[%d] = %d out of range [0, %d) for the model's %d outputs", m.Name, i, y, out[0], out[0])
			}
		}
	}
	if d.Values != nil {
		want := append([]int{n}, out...)
		if !slices.Equal(d.Values.Shape, want) || len(d.Values.Data) != numel(want) {
			return 0, fmt.Errorf("nn: model %q: target values shape %v, want %v", m.Name, d.Values.Shape, want)
		}
		if err := d.Values.CheckFinite(); err != nil {
			return 0, fmt.Errorf("nn: model %q: target values: %w", m.Name, err)
		}
	}
	return n, nil
}
