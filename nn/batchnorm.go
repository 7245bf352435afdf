package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/pmeter/pmeter/nn/internal/vec"
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
	x, y, dx          *Tensor
	dy                *Tensor
	mean              []float32 // μ of the last Forward (batch or running), as applied
	invstd            []float64
	fuseReLU          bool // set by Sequential: apply the next layer's ReLU to the output
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

// Forward implements Layer. It reads each channel of x once for its statistics (sums shifted by
// the channel's first value, in float64) and once to write y, through the ReLU when Sequential fused
// the next layer's (see fuse). The normalised values x̂ are not stored: Backward recomputes them with
// the same float32 operations.
func (b *BatchNorm) Forward(x *Tensor, train bool) *Tensor {
	n := x.Rows()
	s := x.RowLen() / b.C
	b.spatial, b.trained, b.x = s, train, x
	y := reuse(&b.y, x.Shape...)
	b.mean = reuseFloats(&b.mean, b.C)
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
			// Shifted data: Σ(v − k) and Σ(v − k)² with k a value of the channel keep the
			// one-pass variance accurate when the mean is large against the spread.
			k := float64(x.Data[c*s])
			var sum, sq float64
			for i := 0; i < n; i++ {
				s1, s2 := vec.ShiftedSums(x.Data[(i*b.C+c)*s:(i*b.C+c+1)*s], k) // a fixed order on every CPU
				sum += s1
				sq += s2
			}
			d := sum / float64(m)
			mean = k + d
			ss := max(sq-sum*d, 0) // Σ(v − mean)²
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
		b.mean[c] = float32(mean)
		g, be := b.Gamma.Data[c], b.Beta.Data[c]
		mu, is := float32(mean), float32(invstd)
		for i := 0; i < n; i++ {
			off := (i*b.C + c) * s
			bnAffine(y.Data[off:off+s], x.Data[off:off+s], mu, is, g, be, b.fuseReLU)
		}
	}
	return y
}

// bnAffine writes y = γ·x̂ + β with x̂ = (x − μ)·σ⁻¹, through the ReLU when relu is set (vec.BNAffine
// does a prefix with vector instructions, bitwise alike; the conversions keep the compiler from fusing
// a multiplication and an addition, as in adamScalar).
func bnAffine(y, x []float32, mu, is, g, be float32, relu bool) {
	c := vec.BN{Mu: mu, Is: is, G: g, Be: be}
	if relu {
		c.ReLU = 1
	}
	k := vec.BNAffine(y, x, &c)
	y, x = y[k:len(x)], x[k:]
	if relu {
		for j, v := range x {
			y[j] = relu32(float32(g*((v-mu)*is)) + be)
		}
		return
	}
	for j, v := range x {
		y[j] = float32(g*((v-mu)*is)) + be
	}
}

// Backward implements Layer. After a training-mode Forward the gradient flows through the batch
// statistics; after an evaluation-mode Forward the layer is a fixed affine map. When the ReLU after
// the layer is fused, dy is the gradient of the ReLU's output and its mask is applied here.
func (b *BatchNorm) Backward(dy *Tensor, needDX bool) *Tensor {
	n, s := dy.Rows(), b.spatial
	b.dy = dy
	m := n * s
	var dx *Tensor
	if needDX {
		dx = reuse(&b.dx, dy.Shape...)
	}
	for c := 0; c < b.C; c++ {
		mu, is := b.mean[c], float32(b.invstd[c])
		var sdy, sdyx float64
		for i := 0; i < n; i++ {
			off := (i*b.C + c) * s
			a, d := vec.BNGradSums(dy.Data[off:off+s], b.x.Data[off:off+s], b.y.Data[off:off+s], mu, is, b.fuseReLU)
			sdy += a
			sdyx += d
		}
		b.DGamma.Data[c], b.DBeta.Data[c] = float32(sdyx), float32(sdy)
		if !needDX {
			continue
		}
		k := float32(float64(b.Gamma.Data[c]) * b.invstd[c])
		var mdy, mdyx float32
		if b.trained {
			mdy, mdyx = float32(sdy/float64(m)), float32(sdyx/float64(m))
		}
		for i := 0; i < n; i++ {
			off := (i*b.C + c) * s
			b.inputGrad(dx.Data[off:off+s], dy.Data[off:off+s], b.x.Data[off:off+s], b.y.Data[off:off+s], mu, is, k, mdy, mdyx)
		}
	}
	return dx
}

// inputGrad writes one plane of dx = k·(g − mean(g) − x̂·mean(g·x̂)) (training; vec.BNGrad does a
// prefix with vector instructions, bitwise alike) or k·g (evaluation).
func (b *BatchNorm) inputGrad(dx, dy, x, y []float32, mu, is, k, mdy, mdyx float32) {
	if b.trained {
		c := vec.BN{Mu: mu, Is: is, K: k, Mdy: mdy, Mdyx: mdyx}
		if b.fuseReLU {
			c.ReLU = 1
		}
		n := vec.BNGrad(dx, dy, x, y, &c)
		dx, dy, x, y = dx[n:], dy[n:], x[n:], y[n:]
	}
	dx, x, y = dx[:len(dy)], x[:len(dy)], y[:len(dy)]
	switch {
	case !b.trained && !b.fuseReLU:
		for j, g := range dy {
			dx[j] = k * g
		}
	case !b.trained:
		for j, g := range dy {
			dx[j] = k * reluGrad32(g, y[j])
		}
	case b.fuseReLU:
		for j, g := range dy {
			dx[j] = k * (reluGrad32(g, y[j]) - mdy - float32((x[j]-mu)*is*mdyx))
		}
	default:
		for j, g := range dy {
			dx[j] = k * (g - mdy - float32((x[j]-mu)*is*mdyx))
		}
	}
}

// AddRecordSqNorms implements RecordNormer. It is exact after an evaluation-mode Forward, where
// records do not interact: record i's γ gradient is Σ dy·x̂ and its β gradient Σ dy over its positions.
func (b *BatchNorm) AddRecordSqNorms(sq []float64) {
	s := b.spatial
	for i := range sq {
		for c := 0; c < b.C; c++ {
			off := (i*b.C + c) * s
			sdy, sdyx := vec.BNGradSums(b.dy.Data[off:off+s], b.x.Data[off:off+s], b.y.Data[off:off+s], b.mean[c], float32(b.invstd[c]), b.fuseReLU)
			sq[i] += sdy*sdy + sdyx*sdyx
		}
	}
}
