// Package signal turns model outputs (logits, probabilities) into per-record membership signals,
// computed in float64 and numerically stable: p(true label) with temperature, cross-entropy loss,
// LiRA's rescaled logit, confidence, entropy, Song & Mittal's modified entropy, correctness, and RMIA's
// soft-margin Taylor softmax.
//
// FromLogits and FromProbs compute any Kind from records × queries × classes outputs (row-major) and one
// class index per record; Softmax and Correct cover the rest. Convert maps values between the kinds that
// are monotone functions of p(true label). Where the reference implementations guard or clip (score.py's
// 1e-45, Song & Mittal's 1e-30), the functions say so and follow them, or, for LiRA's rescaled logit,
// offer both the reference form (Options.Compat) and the exact one.
package signal

import (
	"fmt"
	"math"
)

// Kind names what a scalar per-record signal measures. Attacks use it to convert a signal into the one
// they are defined on.
type Kind string

// The scalar signal kinds. Higher means "more likely a member" for ProbTrue, RescaledLogit, Confidence and
// SoftMarginTaylor; lower means "more likely a member" for Loss, Entropy and ModifiedEntropy.
const (
	ProbTrue         Kind = "prob_true"         // p(true label), in [0, 1]
	Loss             Kind = "loss"              // cross-entropy −log p(true label), ≥ 0
	RescaledLogit    Kind = "rescaled_logit"    // LiRA's φ = log p_y − log Σ_{j≠y} p_j
	Confidence       Kind = "confidence"        // max_c p_c
	Entropy          Kind = "entropy"           // −Σ p_c log p_c
	ModifiedEntropy  Kind = "modified_entropy"  // Song & Mittal's Mentr
	SoftMarginTaylor Kind = "sm_taylor_softmax" // RMIA's soft-margin Taylor softmax of the true label, in (0, 1]

	// Residual is a regression model's residual y − ŷ (signed, in the target's units). It converts into
	// no other kind; the regression attacks (LOSS on r² or |r|, LiRA and RMIA on r) read it directly.
	Residual Kind = "residual"
)

// ParseKind validates a signal kind name.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case ProbTrue, Loss, RescaledLogit, Confidence, Entropy, ModifiedEntropy, SoftMarginTaylor, Residual:
		return k, nil
	}
	return "", fmt.Errorf("unknown signal kind %q (want prob_true, loss, rescaled_logit, confidence, entropy, modified_entropy, sm_taylor_softmax or residual)", s)
}

// Convertible reports whether Convert can turn a signal of kind from into kind to. Only the three kinds
// that are monotone functions of p(true label) convert into each other.
func Convertible(from, to Kind) bool {
	if from == to {
		return true
	}
	ok := func(k Kind) bool { return k == ProbTrue || k == Loss || k == RescaledLogit }
	return ok(from) && ok(to)
}

// Convert maps values of kind from to kind to in place, using p = e^{−loss} and φ = log(p/(1−p)).
// It returns an error if the conversion is not defined (see Convertible) or if a value lies outside the
// domain of its kind (naming the index).
func Convert(values []float64, from, to Kind) error {
	if from == to {
		return nil
	}
	if !Convertible(from, to) {
		return fmt.Errorf("cannot convert a %s signal into %s", from, to)
	}
	for i, v := range values {
		var lp, l1p float64 // log p and log(1−p)
		switch from {
		case ProbTrue:
			if !(v >= 0 && v <= 1) {
				return fmt.Errorf("record %d: probability %v outside [0, 1]", i, v)
			}
			lp, l1p = math.Log(v), math.Log1p(-v)
		case Loss:
			if !(v >= 0) {
				return fmt.Errorf("record %d: loss %v is negative or NaN", i, v)
			}
			lp = -v
			l1p = log1mexp(v)
		case RescaledLogit:
			if math.IsNaN(v) {
				return fmt.Errorf("record %d: rescaled logit is NaN", i)
			}
			// log p = −log(1+e^{−φ}), log(1−p) = −log(1+e^{φ})
			lp, l1p = -softplus(-v), -softplus(v)
		}
		switch to {
		case ProbTrue:
			values[i] = math.Exp(lp)
		case Loss:
			values[i] = -lp
		case RescaledLogit:
			values[i] = lp - l1p
		}
	}
	return nil
}

// softplus returns log(1+e^x) without overflow.
func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

// log1mexp returns log(1 − e^{−a}) for a ≥ 0, accurately (Mächler 2012).
func log1mexp(a float64) float64 {
	if a <= math.Ln2 {
		return math.Log(-math.Expm1(-a))
	}
	return math.Log1p(-math.Exp(-a))
}
