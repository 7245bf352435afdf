package signal

import (
	"fmt"
	"math"
)

// TaylorConfig sets RMIA's soft-margin Taylor softmax (Zarifzadeh et al., "Low-Cost High-Power Membership
// Inference Attacks", ICML 2024; research code signals.py, convert_signals "taylor-soft-margin", the
// default signal sm_taylor_softmax_relative). With z = ℓ/T and the truncated exponential
// t_n(u) = Σ_{i=0}^{n−1} u^i/i!, the signal of a record with label y is
//
//	t_n(z_y − m) / (t_n(z_y − m) + Σ_{j≠y} t_n(z_j)).
//
// The temperature T is Options.Temperature (RMIA uses T = 2 on CIFAR-10). As in the research code's
// get_taylor, n = 4 gives the terms up to u³/3!. An odd number of terms gives a polynomial that is negative
// below about u = −1.6, so for very negative logits the signal can leave [0, 1]; this is the reference
// behaviour and is not corrected.
type TaylorConfig struct {
	Margin float64 // soft margin m subtracted from the true-label logit (RMIA taylor_m, default 0.6)
	Order  int     // number of Taylor terms n (RMIA taylor_n, default 4); 0 selects both defaults
}

// DefaultTaylor returns RMIA's defaults: margin 0.6, order 4.
func DefaultTaylor() TaylorConfig { return TaylorConfig{Margin: 0.6, Order: 4} }

// resolve applies the defaults and validates the configuration.
func (t TaylorConfig) resolve() (TaylorConfig, error) {
	if t.Order == 0 && t.Margin == 0 {
		return DefaultTaylor(), nil
	}
	if t.Order < 1 {
		return t, fmt.Errorf("Taylor order %d; want at least 1 term", t.Order)
	}
	if math.IsNaN(t.Margin) || math.IsInf(t.Margin, 0) {
		return t, fmt.Errorf("Taylor margin %v; want a finite number", t.Margin)
	}
	return t, nil
}

// taylor returns t_n(u) = 1 + u + Σ_{i=2}^{n−1} u^i/i!, in get_taylor's order of operations (for n = 1
// get_taylor still returns 1 + u).
func (t TaylorConfig) taylor(u float64) float64 {
	pow, sum, fact := u, u+1, 1.0
	for i := 2; i < t.Order; i++ {
		fact *= float64(i)
		pow *= u
		sum += pow / fact
	}
	return sum
}

// signal returns the soft-margin Taylor softmax of label y for the scaled logits z.
func (t TaylorConfig) signal(z []float64, y int) float64 {
	sum := 0.0
	for j, v := range z {
		if j != y {
			sum += t.taylor(v)
		}
	}
	num := t.taylor(z[y] - t.Margin)
	return num / (sum + num)
}
