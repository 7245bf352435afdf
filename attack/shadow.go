package attack

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/pmeter/pmeter/signal"
)

// ShadowFeatures names the input of Shadow's attack classifier (ShadowConfig.Features).
type ShadowFeatures string

// The inputs of Shadow's attack classifier.
const (
	// ShadowSortedProbs uses the prediction vector sorted in decreasing order, its first TopK entries
	// (Shokri et al.; top-3 is Salem et al.'s ML-Leaks variant). It needs d.Probs.
	ShadowSortedProbs ShadowFeatures = "sorted_probs"
	// ShadowSignal uses the scalar signal converted to a loss (the raw signal when it does not convert),
	// averaged over queries, as Privacy Meter v1's ShadowMetric does.
	ShadowSignal ShadowFeatures = "signal"
)

// ShadowModel names Shadow's attack classifier (ShadowConfig.Model).
type ShadowModel string

// The attack classifiers of Shadow.
const (
	// ShadowLogistic is an L2-regularised logistic regression fitted to convergence by Newton's method.
	ShadowLogistic ShadowModel = "logistic"
	// ShadowMLP is a one-hidden-layer tanh network with a sigmoid output, trained with Adam.
	ShadowMLP ShadowModel = "mlp"
)

// ShadowConfig configures Shadow. The zero value is not usable: DefaultShadowConfig returns the defaults.
type ShadowConfig struct {
	// Features is ShadowSortedProbs or ShadowSignal.
	Features ShadowFeatures
	// TopK keeps the K largest probabilities with ShadowSortedProbs; 0 keeps all C of them.
	TopK int
	// PerClass trains one attack classifier per true class, as Shokri et al. do; it needs d.Labels.
	PerClass bool
	// Model is ShadowLogistic or ShadowMLP.
	Model ShadowModel
	// InvReg is the inverse L2 regularisation strength (scikit-learn's C): the logistic regression
	// minimises Σ_i w_i ℓ_i + ‖β‖²/(2·InvReg) over the coefficients β (the intercept is not penalised),
	// and the MLP uses the weight decay 1/(InvReg·n) on its mean loss. It must be positive.
	InvReg float64
	// Hidden, Epochs, LearningRate and BatchSize configure the MLP (ignored by the logistic model).
	Hidden       int
	Epochs       int
	LearningRate float64
	BatchSize    int
	// Seed seeds the MLP's initial weights and batch order.
	Seed uint64
	// NumRef limits the shadow models to the first 2·NumRef models of the target's reference pool
	// (SelectReferences: the target and the models whose memberships are determined by its are never
	// shadows); 0 uses all of them.
	NumRef int
	// Compat CompatPrivacyMeter reproduces Privacy Meter v1's ShadowMetric: a single (not per-class)
	// logistic regression on the 1-D loss signal, with scikit-learn's class_weight {0: n_member, 1:
	// n_nonmember} (so each class weighs n_member·n_nonmember in total) and C = InvReg. It overrides
	// Features, PerClass and Model.
	Compat Compat
}

// DefaultShadowConfig returns Shokri et al.'s setting: per-class logistic regressions on the full sorted
// prediction vector.
func DefaultShadowConfig() ShadowConfig {
	return ShadowConfig{
		Features:     ShadowSortedProbs,
		PerClass:     true,
		Model:        ShadowLogistic,
		InvReg:       1,
		Hidden:       32,
		Epochs:       30,
		LearningRate: 1e-3,
		BatchSize:    128,
		Seed:         1,
	}
}

// Shadow is the shadow-model attack of Shokri et al., "Membership Inference Attacks Against Machine
// Learning Models" (IEEE S&P 2017, §IV–V): an attack classifier learns to tell members from non-members
// from the outputs of shadow models whose training sets are known, and is then applied to the target
// model's outputs.
//
// The shadow models are the target's reference pool (see NumRef). Every record i and shadow
// model m give one training example: the features of record i under model m (ShadowConfig.Features),
// labelled member when d.Member(i, m). Members and non-members are weighted so that both classes weigh
// the same in total. With PerClass one classifier is trained per true class c on the examples of
// records labelled c; a class without both members and non-members among them uses a classifier trained
// on all classes. The score of record i is the classifier's P(member) on its features under the target
// model: one value in [0, 1] per record (length d.N), higher meaning more likely a member.
//
// With CompatPrivacyMeter the classifier is Privacy Meter v1's ShadowMetric (privacy_meter/metric.py): a 1-D
// logistic regression on the loss with class_weight {0: n_member, 1: n_nonmember}. Privacy Meter fits it
// with scikit-learn's lbfgs to a gradient tolerance of 1e-4; Shadow solves the same problem to
// convergence, so probabilities agree to that solver's precision.
func Shadow(d *Data, target int, cfg ShadowConfig) ([]float64, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if target < 0 || target >= d.M {
		return nil, fmt.Errorf("shadow: target model %d does not exist (there are %d models)", target, d.M)
	}
	if cfg.Compat == CompatPrivacyMeter {
		cfg.Features, cfg.PerClass, cfg.Model = ShadowSignal, false, ShadowLogistic
	}
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("shadow: %w", err)
	}
	feat, dim, err := shadowFeatures(d, cfg)
	if err != nil {
		return nil, fmt.Errorf("shadow: %w", err)
	}
	if cfg.PerClass && d.Labels == nil {
		return nil, errors.New("shadow: per-class attack models need class labels; set per_class=false to train one model")
	}
	refs, err := modelRefs(d, target, cfg.NumRef)
	if err != nil {
		return nil, fmt.Errorf("shadow: %w", err)
	}

	// Gather the training examples, grouped by class when PerClass.
	nc := 1
	class := func(int) int { return 0 }
	if cfg.PerClass {
		for _, y := range d.Labels {
			nc = max(nc, y+1)
		}
		class = func(i int) int { return d.Labels[i] }
	}
	sets := make([]shadowSet, nc)
	for i := 0; i < d.N; i++ {
		s := &sets[class(i)]
		for _, m := range refs {
			s.x = feat(s.x, i, m)
			s.y = append(s.y, d.Member(i, m))
		}
	}

	models := make([]shadowClassifier, nc)
	var global shadowClassifier
	for c := range sets {
		if sets[c].balanced() {
			if models[c], err = cfg.train(&sets[c], dim, uint64(c)); err != nil {
				return nil, fmt.Errorf("shadow: attack model of class %d: %w", c, err)
			}
			continue
		}
		if global == nil {
			var all shadowSet
			for k := range sets {
				all.x = append(all.x, sets[k].x...)
				all.y = append(all.y, sets[k].y...)
			}
			if !all.balanced() {
				in, out := all.counts()
				return nil, fmt.Errorf("shadow: the %d shadow models give %d member and %d non-member examples; training needs both", len(refs), in, out)
			}
			if global, err = cfg.train(&all, dim, uint64(nc)); err != nil {
				return nil, fmt.Errorf("shadow: attack model of all classes: %w", err)
			}
		}
		models[c] = global
	}

	scores := make([]float64, d.N)
	x := make([]float64, 0, dim)
	for i := range scores {
		x = feat(x[:0], i, target)
		scores[i] = models[class(i)].prob(x)
	}
	return scores, nil
}

func (cfg *ShadowConfig) check() error {
	switch {
	case cfg.Features != ShadowSortedProbs && cfg.Features != ShadowSignal:
		return fmt.Errorf("unknown features %q (want %s or %s)", cfg.Features, ShadowSortedProbs, ShadowSignal)
	case cfg.Model != ShadowLogistic && cfg.Model != ShadowMLP:
		return fmt.Errorf("unknown attack model %q (want %s or %s)", cfg.Model, ShadowLogistic, ShadowMLP)
	case !(cfg.InvReg > 0) || math.IsInf(cfg.InvReg, 0):
		return fmt.Errorf("inverse regularisation strength %v must be positive and finite", cfg.InvReg)
	case cfg.TopK < 0:
		return fmt.Errorf("top_k %d is negative", cfg.TopK)
	}
	if cfg.Model == ShadowMLP {
		switch {
		case cfg.Hidden <= 0:
			return fmt.Errorf("hidden units %d must be positive", cfg.Hidden)
		case cfg.Epochs <= 0:
			return fmt.Errorf("epochs %d must be positive", cfg.Epochs)
		case !(cfg.LearningRate > 0):
			return fmt.Errorf("learning rate %v must be positive", cfg.LearningRate)
		case cfg.BatchSize <= 0:
			return fmt.Errorf("batch size %d must be positive", cfg.BatchSize)
		}
	}
	return nil
}

// shadowFeatures returns a function appending the features of record i under model m to dst, and their
// number.
func shadowFeatures(d *Data, cfg ShadowConfig) (func(dst []float64, i, m int) []float64, int, error) {
	if cfg.Features == ShadowSignal {
		s := d.Signals
		if signal.Convertible(d.Kind, signal.Loss) {
			s = slices.Clone(d.Signals)
			if err := signal.Convert(s, d.Kind, signal.Loss); err != nil {
				return nil, 0, fmt.Errorf("signals: %w", err)
			}
		} else if cfg.Compat == CompatPrivacyMeter {
			return nil, 0, fmt.Errorf("Privacy Meter's ShadowMetric works on the loss; a %s signal does not convert to it", d.Kind)
		}
		mean := smMeanOverQueries(d, s, 1)
		return func(dst []float64, i, m int) []float64 { return append(dst, mean(i, m)) }, 1, nil
	}
	if d.Probs == nil {
		return nil, 0, errors.New("sorted_probs features need probability vectors (probs or logits); use features=signal for the scalar signal")
	}
	k := cfg.TopK
	if k == 0 || k > d.C {
		k = d.C
	}
	return func(dst []float64, i, m int) []float64 {
		n := len(dst)
		dst = append(dst, d.Probs[(i*d.M+m)*d.C:(i*d.M+m+1)*d.C]...)
		row := dst[n:]
		slices.Sort(row)
		slices.Reverse(row)
		return dst[:n+k]
	}, k, nil
}

// shadowSet holds training examples: x is n × dim row-major, y the membership labels.
type shadowSet struct {
	x []float64
	y []bool
}

func (s *shadowSet) counts() (in, out int) {
	for _, v := range s.y {
		if v {
			in++
		}
	}
	return in, len(s.y) - in
}

func (s *shadowSet) balanced() bool {
	in, out := s.counts()
	return in > 0 && out > 0
}

// weights returns the example weights: Privacy Meter's class_weight {0: n_in, 1: n_out}, or otherwise
// n/(2·n_in) for members and n/(2·n_out) for non-members (so they sum to n).
func (s *shadowSet) weights(privacyMeter bool) []float64 {
	in, out := s.counts()
	wIn, wOut := float64(out), float64(in)
	if !privacyMeter {
		n := float64(len(s.y))
		wIn, wOut = n/(2*float64(in)), n/(2*float64(out))
	}
	w := make([]float64, len(s.y))
	for i, v := range s.y {
		if v {
			w[i] = wIn
		} else {
			w[i] = wOut
		}
	}
	return w
}

// shadowClassifier is a trained attack model.
type shadowClassifier interface {
	prob(x []float64) float64 // P(member | x)
}

func (cfg *ShadowConfig) train(s *shadowSet, dim int, stream uint64) (shadowClassifier, error) {
	w := s.weights(cfg.Compat == CompatPrivacyMeter)
	if cfg.Model == ShadowMLP {
		rng := rand.New(rand.NewPCG(cfg.Seed, stream))
		return trainShadowMLP(s, w, dim, cfg, rng), nil
	}
	return fitShadowLogistic(s.x, dim, s.y, w, 1/cfg.InvReg)
}

// shadowLogistic is P(member | x) = σ(β·x + b).
type shadowLogistic struct {
	coef      []float64
	intercept float64
}

func (m *shadowLogistic) prob(x []float64) float64 {
	z := m.intercept
	for j, v := range x {
		z += m.coef[j] * v
	}
	return shadowSigmoid(z)
}

// fitShadowLogistic minimises f(β, b) = Σ_i w_i [log(1 + e^{z_i}) − y_i z_i] + (λ/2)‖β‖², with
// z_i = β·x_i + b, by Newton's method with a backtracking line search, until the gradient vanishes to
// working precision. x is n × dim row-major and λ > 0. This is scikit-learn's LogisticRegression
// objective (C = 1/λ, class or sample weights w), solved exactly rather than to lbfgs's tolerance.
func fitShadowLogistic(x []float64, dim int, y []bool, w []float64, lambda float64) (*shadowLogistic, error) {
	n, p := len(y), dim+1 // parameters: β_0..β_{dim−1}, then b
	theta := make([]float64, p)
	row := func(i int) []float64 { return x[i*dim : (i+1)*dim] }
	z := func(th []float64, i int) float64 {
		s := th[dim]
		for j, v := range row(i) {
			s += th[j] * v
		}
		return s
	}
	obj := func(th []float64) float64 {
		f := 0.0
		for i := 0; i < n; i++ {
			zi := z(th, i)
			f += w[i] * shadowSoftplus(zi)
			if y[i] {
				f -= w[i] * zi
			}
		}
		for j := 0; j < dim; j++ {
			f += 0.5 * lambda * th[j] * th[j]
		}
		return f
	}
	wsum := 0.0
	for _, v := range w {
		wsum += v
	}
	g := make([]float64, p)
	h := make([]float64, p*p)
	step := make([]float64, p)
	next := make([]float64, p)
	f := obj(theta)
	for iter := 0; iter < 200; iter++ {
		clear(g)
		clear(h)
		for i := 0; i < n; i++ {
			pi := shadowSigmoid(z(theta, i))
			r := pi
			if y[i] {
				r = pi - 1
			}
			r *= w[i]
			c := w[i] * pi * (1 - pi)
			xi := row(i)
			for a := 0; a < p; a++ {
				xa := 1.0
				if a < dim {
					xa = xi[a]
				}
				g[a] += r * xa
				for b := 0; b <= a; b++ {
					xb := 1.0
					if b < dim {
						xb = xi[b]
					}
					h[a*p+b] += c * xa * xb
				}
			}
		}
		gmax := 0.0
		for a := 0; a < p; a++ {
			if a < dim {
				g[a] += lambda * theta[a]
				h[a*p+a] += lambda
			}
			for b := 0; b < a; b++ {
				h[b*p+a] = h[a*p+b]
			}
			gmax = max(gmax, math.Abs(g[a]))
		}
		if gmax <= 1e-13*max(1, wsum) {
			break
		}
		if err := shadowSolve(h, g, step, p); err != nil {
			return nil, fmt.Errorf("logistic regression: %w", err)
		}
		// Backtracking line search on f along −step; near the optimum f is flat to rounding, so a
		// full Newton step that does not raise f beyond that is taken.
		t, fn := 1.0, f
		for k := 0; k < 60; k++ {
			for a := range next {
				next[a] = theta[a] - t*step[a]
			}
			if fn = obj(next); fn <= f+1e-13*math.Abs(f) {
				break
			}
			t /= 2
		}
		if fn > f+1e-13*math.Abs(f) {
			break // no decrease at working precision
		}
		smax, tmax := 0.0, 0.0
		for a := range theta {
			smax = max(smax, math.Abs(theta[a]-next[a]))
			tmax = max(tmax, math.Abs(next[a]))
		}
		copy(theta, next)
		f = fn
		if smax <= 1e-15*(1+tmax) {
			break
		}
	}
	for _, v := range theta {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errors.New("logistic regression diverged")
		}
	}
	return &shadowLogistic{coef: theta[:dim], intercept: theta[dim]}, nil
}

// shadowSolve solves the symmetric positive-definite system h·x = b (h is p × p row-major) by a
// Cholesky factorisation, adding a small ridge when h is numerically singular. h is overwritten.
func shadowSolve(h, b, x []float64, p int) error {
	orig := slices.Clone(h)
	for jitter := 0.0; ; {
		copy(h, orig)
		for a := 0; a < p; a++ {
			h[a*p+a] += jitter
		}
		if shadowCholesky(h, p) {
			break
		}
		scale := 0.0
		for a := 0; a < p; a++ {
			scale = max(scale, math.Abs(orig[a*p+a]))
		}
		if jitter == 0 {
			jitter = 1e-12 * max(scale, 1)
		} else {
			jitter *= 100
		}
		if jitter > max(scale, 1) {
			return errors.New("Hessian is not positive definite")
		}
	}
	// Forward then backward substitution with the lower factor L (h = L·Lᵀ).
	for a := 0; a < p; a++ {
		s := b[a]
		for k := 0; k < a; k++ {
			s -= h[a*p+k] * x[k]
		}
		x[a] = s / h[a*p+a]
	}
	for a := p - 1; a >= 0; a-- {
		s := x[a]
		for k := a + 1; k < p; k++ {
			s -= h[k*p+a] * x[k]
		}
		x[a] = s / h[a*p+a]
	}
	return nil
}

// shadowCholesky factors h = L·Lᵀ in place (L in the lower triangle) and reports success.
func shadowCholesky(h []float64, p int) bool {
	for a := 0; a < p; a++ {
		for b := 0; b <= a; b++ {
			s := h[a*p+b]
			for k := 0; k < b; k++ {
				s -= h[a*p+k] * h[b*p+k]
			}
			if a == b {
				if !(s > 0) {
					return false
				}
				h[a*p+a] = math.Sqrt(s)
			} else {
				h[a*p+b] = s / h[b*p+b]
			}
		}
	}
	return true
}

// shadowMLP is P(member | x) = σ(v·tanh(W·x̂ + c) + e), with x̂ the standardised features.
type shadowMLP struct {
	dim, hidden int
	mean, scale []float64 // standardisation of the inputs
	w, c, v     []float64 // W is hidden × dim row-major
	e           float64
}

func (m *shadowMLP) prob(x []float64) float64 {
	z := m.e
	for k := 0; k < m.hidden; k++ {
		a := m.c[k]
		for j := 0; j < m.dim; j++ {
			a += m.w[k*m.dim+j] * (x[j] - m.mean[j]) / m.scale[j]
		}
		z += m.v[k] * math.Tanh(a)
	}
	return shadowSigmoid(z)
}

// trainShadowMLP trains the network with Adam on the weighted mean cross-entropy plus the weight decay
// (1/(InvReg·n))·‖(W, v)‖²/2, in mini-batches in an order drawn from rng.
func trainShadowMLP(s *shadowSet, w []float64, dim int, cfg *ShadowConfig, rng *rand.Rand) *shadowMLP {
	n, hid := len(s.y), cfg.Hidden
	m := &shadowMLP{dim: dim, hidden: hid, mean: make([]float64, dim), scale: make([]float64, dim),
		w: make([]float64, hid*dim), c: make([]float64, hid), v: make([]float64, hid)}
	for i := 0; i < n; i++ {
		for j := 0; j < dim; j++ {
			m.mean[j] += s.x[i*dim+j]
		}
	}
	for j := range m.mean {
		m.mean[j] /= float64(n)
	}
	for i := 0; i < n; i++ {
		for j := 0; j < dim; j++ {
			dv := s.x[i*dim+j] - m.mean[j]
			m.scale[j] += dv * dv
		}
	}
	for j := range m.scale {
		m.scale[j] = math.Sqrt(m.scale[j] / float64(n))
		if !(m.scale[j] > 1e-12) {
			m.scale[j] = 1
		}
	}
	// Xavier-uniform initial weights.
	lim1 := math.Sqrt(6 / float64(dim+hid))
	for k := range m.w {
		m.w[k] = (2*rng.Float64() - 1) * lim1
	}
	lim2 := math.Sqrt(6 / float64(hid+1))
	for k := range m.v {
		m.v[k] = (2*rng.Float64() - 1) * lim2
	}

	// Parameters in one vector for Adam: W, c, v, e.
	np := hid*dim + 2*hid + 1
	params := func(grad []float64) (gw, gc, gv []float64, ge *float64) {
		return grad[:hid*dim], grad[hid*dim : hid*dim+hid], grad[hid*dim+hid : hid*dim+2*hid], &grad[np-1]
	}
	grad := make([]float64, np)
	mom := make([]float64, np)
	vel := make([]float64, np)
	theta := make([]float64, np)
	tw, tc, tv, te := params(theta)
	copy(tw, m.w)
	copy(tv, m.v)
	decay := 1 / (cfg.InvReg * float64(n))
	const b1, b2, eps = 0.9, 0.999, 1e-8
	xs := make([]float64, dim)
	act := make([]float64, hid)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	step := 0
	for ep := 0; ep < cfg.Epochs; ep++ {
		rng.Shuffle(n, func(a, b int) { order[a], order[b] = order[b], order[a] })
		for lo := 0; lo < n; lo += cfg.BatchSize {
			hi := min(lo+cfg.BatchSize, n)
			clear(grad)
			gw, gc, gv, ge := params(grad)
			wb := 0.0
			for _, i := range order[lo:hi] {
				wb += w[i]
			}
			for _, i := range order[lo:hi] {
				for j := 0; j < dim; j++ {
					xs[j] = (s.x[i*dim+j] - m.mean[j]) / m.scale[j]
				}
				z := *te
				for k := 0; k < hid; k++ {
					a := tc[k]
					for j, xv := range xs {
						a += tw[k*dim+j] * xv
					}
					act[k] = math.Tanh(a)
					z += tv[k] * act[k]
				}
				r := shadowSigmoid(z)
				if s.y[i] {
					r--
				}
				r *= w[i] / wb // d(loss)/dz of the weighted mean
				*ge += r
				for k := 0; k < hid; k++ {
					gv[k] += r * act[k]
					da := r * tv[k] * (1 - act[k]*act[k])
					gc[k] += da
					for j, xv := range xs {
						gw[k*dim+j] += da * xv
					}
				}
			}
			for k := range gw {
				gw[k] += decay * tw[k]
			}
			for k := range gv {
				gv[k] += decay * tv[k]
			}
			step++
			c1 := 1 - math.Pow(b1, float64(step))
			c2 := 1 - math.Pow(b2, float64(step))
			for k := range theta {
				mom[k] = b1*mom[k] + (1-b1)*grad[k]
				vel[k] = b2*vel[k] + (1-b2)*grad[k]*grad[k]
				theta[k] -= cfg.LearningRate * (mom[k] / c1) / (math.Sqrt(vel[k]/c2) + eps)
			}
		}
	}
	copy(m.w, tw)
	copy(m.c, tc)
	copy(m.v, tv)
	m.e = *te
	return m
}

// shadowSigmoid is 1/(1+e^{−z}), without overflow.
func shadowSigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// shadowSoftplus is log(1+e^z), without overflow.
func shadowSoftplus(z float64) float64 {
	if z > 0 {
		return z + math.Log1p(math.Exp(-z))
	}
	return math.Log1p(math.Exp(z))
}
