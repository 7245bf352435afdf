package nn

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
)

// DP-SGD's training loop. Per-example gradients are never materialised (book-keeping clipping: Bu et
// al., "Differentially Private Optimization on Large Model at Small Cost", ICML 2023). Each
// micro-batch runs one training-mode forward pass and one backward pass of the per-example loss
// gradients that computes only the input gradients, so that every layer with parameters holds its
// input a_i and output gradient δ_i per example; from them it gives the per-example gradient norms
// (RecordNormer: ‖g_i‖² = ‖a_i‖²·‖δ_i‖² + ‖δ_i‖² for a dense layer, one product per image for a
// convolution). Each layer's parameter gradient is then computed once, from its output gradient with
// example i's row scaled by the clipping factor min(1, C/‖g_i‖): back-propagation is linear in the
// output gradient, so this is Σ_i min(1, C/‖g_i‖)·g_i. The cost over non-private training is the
// norms and the noise; the memory is one micro-batch's activations.

// dpLeaf is a layer with parameters that DP-SGD trains (Dense, Conv2D): it gives per-example gradient
// norms, can skip its parameter gradients in a backward pass, and keeps the output gradient of its
// last Backward.
type dpLeaf interface {
	Layer
	RecordNormer
	setNoParamGrad(bool)
	lastDY() *Tensor
}

// dpRun is the state of one DP-SGD training run.
type dpRun struct {
	cfg     DPConfig
	q       float64 // Poisson sampling rate
	divisor float64 // of the noisy sum: q·N (Poisson) or 0 (shuffle: the batch's size)
	micro   int
	params  []Param
	leaves  []dpLeaf  // the layers with parameters, nested ones included
	scaled  *Tensor   // a leaf's output gradient scaled by the clipping factors
	factor  []float32 // the clipping factors of a micro-batch
	sum     []float32 // clipped (then noisy) gradient sum, flattened in Params order
	sq      []float64 // per-example squared gradient norms of a micro-batch
	idx     []int     // the step's batch
}

// checkDP validates cfg.DP for m on n records and returns the run's state.
func checkDP(m *Sequential, n int, cfg TrainConfig) (*dpRun, error) {
	dp := *cfg.DP
	switch {
	case !(dp.NoiseMultiplier >= 0) || math.IsInf(dp.NoiseMultiplier, 0):
		return nil, fmt.Errorf("nn: model %q: DP-SGD noise multiplier %v: need a finite σ ≥ 0", m.Name, dp.NoiseMultiplier)
	case !(dp.MaxGradNorm > 0) || math.IsInf(dp.MaxGradNorm, 0):
		return nil, fmt.Errorf("nn: model %q: DP-SGD clipping norm %v: need a finite C > 0", m.Name, dp.MaxGradNorm)
	case !(dp.SamplingRate >= 0 && dp.SamplingRate <= 1):
		return nil, fmt.Errorf("nn: model %q: DP-SGD sampling rate %v: need q in [0, 1] (0: batch size / records)", m.Name, dp.SamplingRate)
	case dp.MicroBatch < 0 || dp.StepsPerEpoch < 0 || !(dp.ExpectedBatch >= 0) || math.IsInf(dp.ExpectedBatch, 0):
		return nil, fmt.Errorf("nn: model %q: DP-SGD micro-batch %d, steps per epoch %d, expected batch %v: need non-negative values",
			m.Name, dp.MicroBatch, dp.StepsPerEpoch, dp.ExpectedBatch)
	}
	if dp.Sampling == "" {
		dp.Sampling = SamplingPoisson
	}
	if dp.Sampling != SamplingPoisson && dp.Sampling != SamplingShuffle {
		return nil, fmt.Errorf("nn: model %q: DP-SGD sampling %q: want %q or %q", m.Name, dp.Sampling, SamplingPoisson, SamplingShuffle)
	}
	leaves, err := dpLeaves(m.Layers, "", nil)
	if err != nil {
		return nil, fmt.Errorf("nn: model %q: DP-SGD: %w", m.Name, err)
	}
	bs := min(cfg.BatchSize, n)
	r := &dpRun{cfg: dp, q: dp.SamplingRate, micro: dp.MicroBatch, params: m.Params(), leaves: leaves}
	if r.q == 0 {
		r.q = float64(bs) / float64(n)
	}
	if dp.Sampling == SamplingPoisson {
		r.divisor = dp.ExpectedBatch
		if r.divisor == 0 {
			r.divisor = r.q * float64(n)
		}
		if !(r.divisor > 0) {
			return nil, fmt.Errorf("nn: model %q: DP-SGD expected batch size q·N = %v: need a positive size", m.Name, r.divisor)
		}
	}
	if r.micro == 0 {
		r.micro = 2 * bs
	}
	size := 0
	for _, p := range r.params {
		size += p.Value.Len()
	}
	r.sum = make([]float32, size)
	r.sq = make([]float64, r.micro)
	r.factor = make([]float32, r.micro)
	r.idx = make([]int, 0, max(bs, r.micro))
	return r, nil
}

// dpLeaves appends the layers with parameters of layers (descending into residual blocks) to leaves
// and returns them. It refuses the layers DP-SGD cannot train: those that mix the examples of a batch
// (BatchNorm's batch statistics) and those with parameters that cannot give per-example gradients.
// prefix locates nested layers in errors.
func dpLeaves(layers []Layer, prefix string, leaves []dpLeaf) ([]dpLeaf, error) {
	for i, l := range layers {
		where := fmt.Sprintf("%s%d", prefix, i)
		var err error
		switch l := l.(type) {
		case *BatchNorm:
			return nil, fmt.Errorf("layer %s (%s) normalises with the statistics of the whole batch, so one example's gradient depends on the others "+
				"and cannot be clipped on its own; DP-SGD needs a model without batch normalisation (or with a per-example normalisation)", where, KindBatchNorm)
		case *Residual:
			if leaves, err = dpLeaves(l.Body, where+".body.", leaves); err != nil {
				return nil, err
			}
			if leaves, err = dpLeaves(l.Shortcut, where+".shortcut.", leaves); err != nil {
				return nil, err
			}
		case dpLeaf:
			leaves = append(leaves, l)
		default:
			if len(l.Params()) > 0 {
				return nil, fmt.Errorf("layer %s (%s) has parameters but no per-example gradients, which DP-SGD needs to clip them", where, l.Spec().Kind)
			}
		}
	}
	return leaves, nil
}

// trainDP is Train's loop under DP-SGD, after Train's checks; see DPConfig.
func trainDP(ctx context.Context, m *Sequential, d Data, cfg TrainConfig, n int, upd Updater, sched Schedule, loss Loss) (TrainResult, error) {
	var res TrainResult
	r, err := checkDP(m, n, cfg)
	if err != nil {
		return res, err
	}
	bs := min(cfg.BatchSize, n)
	perEpoch := cfg.StepsPerEpoch(n)
	if r.cfg.StepsPerEpoch > 0 {
		perEpoch = r.cfg.StepsPerEpoch
	}
	total := perEpoch * cfg.Epochs
	poisson := r.cfg.Sampling == SamplingPoisson
	sample := newRand(cfg.Seed, streamDPSample)
	noise := newGaussian(cfg.Seed, streamDPNoise)
	shuffle := newRand(cfg.Seed, streamShuffle)
	augRand := newRand(cfg.Seed, streamAugment)
	m.Reseed(cfg.Seed)
	std := r.cfg.NoiseMultiplier * r.cfg.MaxGradNorm

	b := newBatcher(d)
	var perm []int
	if !poisson {
		perm = make([]int, n)
		for i := range perm {
			perm[i] = i
		}
	}
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		if !poisson {
			shuffle.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		}
		var lossSum float64
		var seen int
		for batch := 0; batch < perEpoch; batch++ {
			where := func(err error) error {
				return fmt.Errorf("nn: model %q: epoch %d of %d, batch %d of %d: %w", m.Name, epoch+1, cfg.Epochs, batch+1, perEpoch, err)
			}
			if err := ctx.Err(); err != nil {
				return res, where(err)
			}
			idx := r.idx[:0]
			if poisson {
				idx = poissonSample(sample, n, r.q, idx)
			} else {
				// Each epoch visits the shuffled records once; with StepsPerEpoch beyond what they fill,
				// the extra batches are empty (noise-only) steps.
				lo, hi := min(batch*bs, n), min((batch+1)*bs, n)
				idx = append(idx, perm[lo:hi]...)
			}
			r.idx = idx
			clear32(r.sum)
			var l float64
			for lo := 0; lo < len(idx); lo += r.micro {
				chunk := idx[lo:min(lo+r.micro, len(idx))]
				xb, tb := b.gather(chunk)
				if cfg.Augment != nil {
					cfg.Augment.apply(xb, augRand, &b.scratch)
				}
				s, err := r.clippedSum(b, m, xb, tb, loss)
				if err == nil && (math.IsNaN(s) || math.IsInf(s, 0)) {
					err = fmt.Errorf("loss is %v: %w", s, ErrDiverged)
				}
				if err != nil {
					return res, where(err)
				}
				l += s
			}
			if r.cfg.Canary != nil {
				r.cfg.Canary(res.Steps, r.sum)
			}
			if std > 0 {
				noise.addNoise(r.sum, std)
			}
			if r.cfg.Observe != nil {
				r.cfg.Observe(res.Steps, r.sum)
			}
			div := r.divisor
			if !poisson {
				div = float64(max(len(idx), 1))
			}
			r.scatter(float32(1 / div))
			upd.Update(cfg.LR * sched.Factor(res.Steps, perEpoch, total))
			res.Steps++
			lossSum += l
			seen += len(idx)
			if cfg.Progress != nil {
				mean := 0.0
				if len(idx) > 0 {
					mean = l / float64(len(idx))
				}
				cfg.Progress(epoch, batch, mean)
			}
		}
		res.EpochLoss = append(res.EpochLoss, lossSum/float64(max(seen, 1)))
		if cfg.Checkpoint != nil {
			if err := cfg.Checkpoint(epoch+1, m); err != nil {
				return res, fmt.Errorf("nn: model %q: checkpoint after epoch %d: %w", m.Name, epoch+1, err)
			}
		}
	}
	return res, nil
}

// poissonSample appends to idx every record of [0, n) drawn independently with probability q, in
// order, and returns it.
func poissonSample(r *rand.Rand, n int, q float64, idx []int) []int {
	for i := 0; i < n; i++ {
		if r.Float64() < q {
			idx = append(idx, i)
		}
	}
	return idx
}

// clippedSum adds the clipped gradients of the micro-batch (x, t) to r.sum and returns the sum of its
// losses.
func (r *dpRun) clippedSum(b *batcher, m *Sequential, x *Tensor, t Target, loss Loss) (float64, error) {
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
		crossEntropyTrain(out, t.Labels, b.loss, g.Data)
	} else if err := loss.PerRecord(out, t, b.loss, g.Data); err != nil {
		return 0, err
	}
	var sum float64
	for _, v := range b.loss {
		sum += v
	}
	if math.IsNaN(sum) || math.IsInf(sum, 0) {
		return sum, nil
	}
	// First pass: the output gradient of every layer, and from them the per-example gradient norms.
	for _, l := range r.leaves {
		l.setNoParamGrad(true)
	}
	err = m.Backward(g)
	for _, l := range r.leaves {
		l.setNoParamGrad(false)
	}
	if err != nil {
		return 0, err
	}
	sq := r.sq[:nb]
	clear(sq)
	for _, l := range r.leaves {
		l.AddRecordSqNorms(sq)
	}
	f := r.factor[:nb]
	c := r.cfg.MaxGradNorm
	for i, s := range sq {
		norm := math.Sqrt(s)
		if math.IsNaN(norm) || math.IsInf(norm, 0) {
			return math.NaN(), nil
		}
		f[i] = 1
		if norm > c {
			f[i] = float32(c / norm)
		}
	}
	// Second pass: each layer's parameter gradients from its output gradient with every example's row
	// scaled by its clipping factor (back-propagation is linear in the output gradient, so the rows are
	// those of the clipped examples' own backward passes): Σ_i f_i·g_i.
	for _, l := range r.leaves {
		dy := l.lastDY()
		s := reuse(&r.scaled, dy.Shape...)
		k := dy.RowLen()
		for i, fi := range f {
			src, dst := dy.Data[i*k:(i+1)*k], s.Data[i*k:(i+1)*k]
			for j, v := range src {
				dst[j] = v * fi
			}
		}
		l.Backward(s, false)
	}
	off := 0
	for _, p := range r.params {
		dst := r.sum[off : off+p.Value.Len()]
		for j, v := range p.Grad.Data[:len(dst)] {
			dst[j] += v
		}
		off += len(dst)
	}
	return sum, nil
}

// scatter writes r.sum·scale into the parameters' gradients.
func (r *dpRun) scatter(scale float32) {
	off := 0
	for _, p := range r.params {
		src := r.sum[off : off+p.Value.Len()]
		dst := p.Grad.Data[:len(src)]
		for j, v := range src {
			dst[j] = v * scale
		}
		off += len(src)
	}
}
