package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// BatchNorm is batch normalisation over the channel dimension (PyTorch nn.BatchNorm1d on N × C or
// N × C × L, nn.BatchNorm2d on N × C × H × W): each channel is normalised with the mean and biased
// variance of the batch (training) or the running statistics (evaluation), then scaled by γ
// ("weight") and shifted by β ("bias"). While training the running statistics move by
// running = (1 − Momentum)·running + Momentum·batch, with the unbiased batch variance (the biased one
// when a channel has a single value), as in PyTorch.
type BatchNorm struct {
	C                 int
	Eps, Momentum     float64
	Gamma, Beta       *Tensor
	DGamma, DBeta     *Tensor
	RunningMean       *Tensor
	RunningVar        *Tensor
	NumBatchesTracked int64
	y, dx, xhat       *Tensor
	dy                *Tensor
	invstd            []float64
	trained           bool // the last Forward used batch statistics
	spatial           int
}

// NewBatchNorm returns a batch-norm layer over c channels with γ = 1, β = 0, running mean 0 and
// running variance 1. eps 0 means 1e-5, momentum 0 means 0.1.
func NewBatchNorm(c int, eps, momentum float64) (*BatchNorm, error) {
	if eps == 0 {
		eps = 1e-5
	}
	if momentum == 0 {
		momentum = 0.1
	}
	if c <= 0 || eps < 0 || momentum < 0 || momentum > 1 || math.IsNaN(eps) || math.IsNaN(momentum) {
		return nil, fmt.Errorf("nn: batchnorm: channels=%d eps=%v momentum=%v: need channels > 0, eps ≥ 0, 0 ≤ momentum ≤ 1", c, eps, momentum)
	}
	b := &BatchNorm{C: c, Eps: eps, Momentum: momentum,
		Gamma: NewTensor(c), Beta: NewTensor(c), DGamma: NewTensor(c), DBeta: NewTensor(c),
		RunningMean: NewTensor(c), RunningVar: NewTensor(c)}
	b.Init(nil)
	return b, nil
}

// Spec implements Layer.
func (b *BatchNorm) Spec() LayerSpec {
	return LayerSpec{Kind: KindBatchNorm, In: b.C, Eps: b.Eps, Momentum: b.Momentum}
}

// OutShape implements Layer. The input's first per-record dimension must be C.
func (b *BatchNorm) OutShape(in []int) ([]int, error) {
	for _, t := range []*Tensor{b.Gamma, b.Beta, b.DGamma, b.DBeta, b.RunningMean, b.RunningVar} {
		if t == nil || t.Len() != b.C {
			return nil, fmt.Errorf("batchnorm: invalid layer (build it with NewBatchNorm)")
		}
	}
	if len(in) == 0 || in[0] != b.C || numel(in) == 0 {
		return nil, fmt.Errorf("batchnorm: input shape %v, want [%d ...]", in, b.C)
	}
	return append([]int(nil), in...), nil
}

// Init resets γ = 1, β = 0 and the running statistics (PyTorch's reset_parameters); r is unused.
func (b *BatchNorm) Init(r *rand.Rand) {
	for i := 0; i < b.C; i++ {
		b.Gamma.Data[i], b.Beta.Data[i] = 1, 0
		b.RunningMean.Data[i], b.RunningVar.Data[i] = 0, 1
	}
	b.NumBatchesTracked = 0
}

// Params implements Layer: "weight" (γ) and "bias" (β), each of length C.
func (b *BatchNorm) Params() []Param {
	return []Param{{Name: "weight", Value: b.Gamma, Grad: b.DGamma}, {Name: "bias", Value: b.Beta, Grad: b.DBeta}}
}

// Buffers implements Bufferer: "running_mean" and "running_var". (NumBatchesTracked, PyTorch's
// num_batches_tracked, is an integer field.)
func (b *BatchNorm) Buffers() []Param {
	return []Param{{Name: "running_mean", Value: b.RunningMean}, {Name: "running_var", Value: b.RunningVar}}
}

// Forward implements Layer.
func (b *BatchNorm) Forward(x *Tensor, train bool) *Tensor {
	n := x.Rows()
	s := x.RowLen() / b.C
	b.spatial, b.trained = s, train
	y := reuse(&b.y, x.Shape...)
	xh := reuse(&b.xhat, x.Shape...)
	if cap(b.invstd) < b.C {
		b.invstd = make([]float64, b.C)
	}
	b.invstd = b.invstd[:b.C]
	m := n * s
	if train && m > 0 {
		b.NumBatchesTracked++
	}
	for c := 0; c < b.C; c++ {
		var mean, invstd float64
		if train {
			if m == 0 {
				continue
			}
			var sum float64
			for i := 0; i < n; i++ {
				for _, v := range x.Data[(i*b.C+c)*s : (i*b.C+c+1)*s] {
					sum += float64(v)
				}
			}
			mean = sum / float64(m)
			var ss float64
			for i := 0; i < n; i++ {
				for _, v := range x.Data[(i*b.C+c)*s : (i*b.C+c+1)*s] {
					d := float64(v) - mean
					ss += d * d
				}
			}
			variance := ss / float64(m)
			invstd = 1 / math.Sqrt(variance+b.Eps)
			unbiased := variance
			if m > 1 {
				unbiased = ss / float64(m-1)
			}
			mom := b.Momentum
			b.RunningMean.Data[c] = float32((1-mom)*float64(b.RunningMean.Data[c]) + mom*mean)
			b.RunningVar.Data[c] = float32((1-mom)*float64(b.RunningVar.Data[c]) + mom*unbiased)
		} else {
			mean = float64(b.RunningMean.Data[c])
			invstd = 1 / math.Sqrt(float64(b.RunningVar.Data[c])+b.Eps)
		}
		b.invstd[c] = invstd
		g, be := b.Gamma.Data[c], b.Beta.Data[c]
		mu, is := float32(mean), float32(invstd)
		for i := 0; i < n; i++ {
			off := (i*b.C + c) * s
			for j, v := range x.Data[off : off+s] {
				h := (v - mu) * is
				xh.Data[off+j] = h
				y.Data[off+j] = g*h + be
			}
		}
	}
	return y
}

// Backward implements Layer. After a training-mode Forward the gradient flows through the batch
// statistics; after an evaluation-mode Forward the layer is a fixed affine map.
func (b *BatchNorm) Backward(dy *Tensor, needDX bool) *Tensor {
	n, s := dy.Rows(), b.spatial
	b.dy = dy
	m := n * s
	var dx *Tensor
	if needDX {
		dx = reuse(&b.dx, dy.Shape...)
	}
	for c := 0; c < b.C; c++ {
		var sdy, sdyx float64
		for i := 0; i < n; i++ {
			off := (i*b.C + c) * s
			xh := b.xhat.Data[off : off+s]
			for j, g := range dy.Data[off : off+s] {
				sdy += float64(g)
				sdyx += float64(g) * float64(xh[j])
			}
		}
		b.DGamma.Data[c], b.DBeta.Data[c] = float32(sdyx), float32(sdy)
		if !needDX {
			continue
		}
		k := float32(float64(b.Gamma.Data[c]) * b.invstd[c])
		if b.trained {
			mdy, mdyx := float32(sdy/float64(m)), float32(sdyx/float64(m))
			for i := 0; i < n; i++ {
				off := (i*b.C + c) * s
				xh := b.xhat.Data[off : off+s]
				for j, g := range dy.Data[off : off+s] {
					dx.Data[off+j] = k * (g - mdy - xh[j]*mdyx)
				}
			}
		} else {
			for i := 0; i < n; i++ {
				off := (i*b.C + c) * s
				for j, g := range dy.Data[off : off+s] {
					dx.Data[off+j] = k * g
				}
			}
		}
	}
	return dx
}

// AddRecordSqNorms implements RecordNormer. It is exact after an evaluation-mode Forward, where
// records do not interact: record i's γ gradient is Σ dy·x̂ and its β gradient Σ dy over its positions.
func (b *BatchNorm) AddRecordSqNorms(sq []float64) {
	s := b.spatial
	for i := range sq {
		for c := 0; c < b.C; c++ {
			off := (i*b.C + c) * s
			xh := b.xhat.Data[off : off+s]
			var sdy, sdyx float64
			for j, g := range b.dy.Data[off : off+s] {
				sdy += float64(g)
				sdyx += float64(g) * float64(xh[j])
			}
			sq[i] += sdy*sdy + sdyx*sdyx
		}
	}
}
