package nn

import (
	"fmt"
	"math/rand/v2"
)

// Dropout zeroes each element with probability P while training and scales the others by 1/(1 − P)
// (PyTorch nn.Dropout); in evaluation it is the identity. Its random stream is set by Reseed
// (Sequential.Init and Train do this from their seeds).
type Dropout struct {
	P    float64
	rng  *rand.Rand
	mask []float32
	y    *Tensor
	dx   *Tensor
	used bool // the last Forward applied a mask
}

// NewDropout returns a dropout layer; p must be in [0, 1).
func NewDropout(p float64) (*Dropout, error) {
	if !(p >= 0 && p < 1) {
		return nil, fmt.Errorf("nn: dropout: p=%v must be in [0, 1)", p)
	}
	return &Dropout{P: p, rng: newRand(0, streamDropout)}, nil
}

// Spec implements Layer.
func (d *Dropout) Spec() LayerSpec { return LayerSpec{Kind: KindDropout, P: d.P} }

// OutShape implements Layer.
func (d *Dropout) OutShape(in []int) ([]int, error) { return append([]int(nil), in...), nil }

// Params implements Layer; dropout has none.
func (d *Dropout) Params() []Param { return nil }

// Reseed implements Reseeder.
func (d *Dropout) Reseed(seed uint64) { d.rng = newRand(seed, streamDropout) }

// Forward implements Layer. In evaluation, or with P = 0, it returns x itself.
func (d *Dropout) Forward(x *Tensor, train bool) *Tensor {
	d.used = train && d.P > 0
	if !d.used {
		return x
	}
	if d.rng == nil {
		d.rng = newRand(0, streamDropout)
	}
	y := reuse(&d.y, x.Shape...)
	mask := reuseFloats(&d.mask, len(x.Data))
	scale := float32(1 / (1 - d.P))
	for i, v := range x.Data {
		if d.rng.Float64() < d.P {
			mask[i] = 0
		} else {
			mask[i] = scale
		}
		y.Data[i] = v * mask[i]
	}
	return y
}

// Backward implements Layer.
func (d *Dropout) Backward(dy *Tensor, needDX bool) *Tensor {
	if !needDX {
		return nil
	}
	if !d.used {
		return dy
	}
	dx := reuse(&d.dx, dy.Shape...)
	for i, g := range dy.Data {
		dx.Data[i] = g * d.mask[i]
	}
	return dx
}
