package nn

import (
	"fmt"
	"math"

	"github.com/pmeter/pmeter/nn/internal/vec"
)

// Optimizer is an optimisation algorithm's configuration (a plain value, safe to share between
// models). Start binds it to a model's parameters and returns the Updater that holds its state
// (momenta), one per training run.
type Optimizer interface {
	Start(params []Param) (Updater, error)
}

// Updater applies one optimisation step to the parameters it was started with, from their current
// gradients, at learning rate lr.
type Updater interface {
	Update(lr float64)
}

// SGD is stochastic gradient descent as in torch.optim.SGD: with g ← ∇ + WeightDecay·θ,
// b ← Momentum·b + (1 − Dampening)·g (b = g on the first step), the step is θ ← θ − lr·d with
// d = g + Momentum·b (Nesterov) or d = b (Momentum > 0) or d = g.
type SGD struct {
	Momentum, Dampening, WeightDecay float64
	Nesterov                         bool
}

// Start implements Optimizer.
func (o SGD) Start(params []Param) (Updater, error) {
	if o.Momentum < 0 || o.WeightDecay < 0 || math.IsNaN(o.Momentum+o.Dampening+o.WeightDecay) {
		return nil, fmt.Errorf("nn: sgd: momentum=%v weight decay=%v must be non-negative", o.Momentum, o.WeightDecay)
	}
	if o.Nesterov && (o.Momentum <= 0 || o.Dampening != 0) {
		return nil, fmt.Errorf("nn: sgd: Nesterov momentum needs momentum > 0 and dampening 0")
	}
	u := &sgdState{cfg: o, params: params}
	if o.Momentum != 0 {
		u.buf = make([][]float32, len(params))
		for i, p := range params {
			u.buf[i] = make([]float32, p.Value.Len())
		}
	}
	return u, nil
}

type sgdState struct {
	cfg    SGD
	params []Param
	buf    [][]float32
	steps  int
}

func (u *sgdState) Update(lr float64) {
	wd, mom, damp := float32(u.cfg.WeightDecay), float32(u.cfg.Momentum), float32(1-u.cfg.Dampening)
	l := float32(lr)
	for i, p := range u.params {
		w, g := p.Value.Data, p.Grad.Data[:len(p.Value.Data)]
		if mom == 0 {
			for j, gj := range g {
				w[j] -= l * (gj + wd*w[j])
			}
			continue
		}
		b := u.buf[i][:len(w)]
		first := u.steps == 0
		for j, gj := range g {
			gj += wd * w[j]
			if first {
				b[j] = gj
			} else {
				b[j] = mom*b[j] + damp*gj
			}
			if u.cfg.Nesterov {
				w[j] -= l * (gj + mom*b[j])
			} else {
				w[j] -= l * b[j]
			}
		}
	}
	u.steps++
}

// Adam is torch.optim.Adam: g ← ∇ + WeightDecay·θ (L2 penalty), m ← β1·m + (1 − β1)·g,
// v ← β2·v + (1 − β2)·g², θ ← θ − lr/(1 − β1ᵗ) · m / (√v/√(1 − β2ᵗ) + ε).
// Zero fields take PyTorch's defaults: β1 = 0.9, β2 = 0.999, ε = 1e-8.
type Adam struct {
	Beta1, Beta2, Eps, WeightDecay float64
}

// AdamW is torch.optim.AdamW: Adam with decoupled weight decay, θ ← θ·(1 − lr·WeightDecay) before the
// Adam step (no L2 term in g). Zero fields take PyTorch's defaults except WeightDecay, which is used as
// given (PyTorch's default is 0.01).
type AdamW Adam

// Start implements Optimizer.
func (o Adam) Start(params []Param) (Updater, error) { return startAdam(o, false, params) }

// Start implements Optimizer.
func (o AdamW) Start(params []Param) (Updater, error) { return startAdam(Adam(o), true, params) }

func startAdam(o Adam, decoupled bool, params []Param) (Updater, error) {
	if o.Beta1 == 0 {
		o.Beta1 = 0.9
	}
	if o.Beta2 == 0 {
		o.Beta2 = 0.999
	}
	if o.Eps == 0 {
		o.Eps = 1e-8
	}
	if !(o.Beta1 >= 0 && o.Beta1 < 1 && o.Beta2 >= 0 && o.Beta2 < 1 && o.Eps > 0 && o.WeightDecay >= 0) {
		return nil, fmt.Errorf("nn: adam: beta1=%v beta2=%v eps=%v weight decay=%v: need betas in [0, 1), eps > 0, weight decay ≥ 0",
			o.Beta1, o.Beta2, o.Eps, o.WeightDecay)
	}
	u := &adamState{cfg: o, decoupled: decoupled, params: params, m: make([][]float32, len(params)), v: make([][]float32, len(params))}
	for i, p := range params {
		u.m[i] = make([]float32, p.Value.Len())
		u.v[i] = make([]float32, p.Value.Len())
	}
	return u, nil
}

type adamState struct {
	cfg       Adam
	decoupled bool
	params    []Param
	m, v      [][]float32
	t         int
}

func (u *adamState) Update(lr float64) {
	u.t++
	bc1 := 1 - math.Pow(u.cfg.Beta1, float64(u.t))
	bc2 := 1 - math.Pow(u.cfg.Beta2, float64(u.t))
	b1, b2 := float32(u.cfg.Beta1), float32(u.cfg.Beta2)
	c := vec.Consts{B1: b1, C1: 1 - b1, B2: b2, C2: 1 - b2, Step: float32(lr / bc1),
		InvBC2: float32(1 / math.Sqrt(bc2)), Eps: float32(u.cfg.Eps)}
	for i, p := range u.params {
		w := p.Value.Data
		g := p.Grad.Data[:len(w)]
		m, v := u.m[i][:len(w)], u.v[i][:len(w)]
		switch {
		case u.decoupled:
			decay := float32(1 - lr*u.cfg.WeightDecay)
			for j := range w {
				w[j] *= decay
			}
		case u.cfg.WeightDecay != 0:
			// The L2 term changes the gradient, which belongs to the model: no vector path.
			l2 := float32(u.cfg.WeightDecay)
			for j, gj := range g {
				wj := w[j]
				gj += l2 * wj
				mj := float32(c.B1*m[j]) + float32(c.C1*gj)
				vj := float32(c.B2*v[j]) + float32(float32(c.C2*gj)*gj)
				m[j], v[j] = mj, vj
				w[j] = wj - float32(c.Step*mj)/(float32(sqrt32(vj)*c.InvBC2)+c.Eps)
			}
			continue
		}
		k := vec.Adam(w, g, m, v, &c)
		adamScalar(w[k:], g[k:], m[k:], v[k:], &c)
	}
}

// adamScalar applies the Adam step without weight decay (see vec.Adam, which does the same with
// vector instructions): m ← β1·m + (1 − β1)·g, v ← β2·v + (1 − β2)·g², w ← w − step·m / (√v·invBC2 + ε).
// The conversions keep the compiler from fusing multiplications and additions, so that every platform
// and the vector path round alike.
func adamScalar(w, g, m, v []float32, c *vec.Consts) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	for j, gj := range g {
		mj := float32(c.B1*m[j]) + float32(c.C1*gj)
		vj := float32(c.B2*v[j]) + float32(float32(c.C2*gj)*gj)
		m[j], v[j] = mj, vj
		w[j] -= float32(c.Step*mj) / (float32(sqrt32(vj)*c.InvBC2) + c.Eps)
	}
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }
