package metric

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mathext"
)

// BoundMethod selects how RatioBound bounds a ratio of two binomial proportions from below.
type BoundMethod int

// The methods of TF Privacy's RatioBound (privacy_tests/epsilon_lower_bound.py). The interval methods other
// than Clopper–Pearson follow Fagerland, Lydersen and Laake, "Recommended confidence intervals for two
// independent binomial proportions" (2015), as implemented in the R package asbio.
const (
	ClopperPearsonBound BoundMethod = iota // lower CP bound of tp/pos over upper CP bound of fp/neg (Jagielski et al. 2020)
	KatzLog                                // Katz log interval
	AdjustedLog                            // Walter's adjusted log interval
	Bailey                                 // Bailey's interval
	InvSinh                                // inverse hyperbolic sine interval
)

// BoundMethods lists every BoundMethod.
func BoundMethods() []BoundMethod {
	return []BoundMethod{ClopperPearsonBound, KatzLog, AdjustedLog, Bailey, InvSinh}
}

// String returns the method's name in TF Privacy ("clopper-pearson", "katz-log", ...).
func (m BoundMethod) String() string {
	switch m {
	case ClopperPearsonBound:
		return "clopper-pearson"
	case KatzLog:
		return "katz-log"
	case AdjustedLog:
		return "adjusted-log"
	case Bailey:
		return "bailey"
	case InvSinh:
		return "inv-sinh"
	}
	return fmt.Sprintf("BoundMethod(%d)", int(m))
}

// RatioBound returns a lower confidence bound, at level 1-alpha, on the ratio of the rates tp/pos and
// fp/neg (for example TPR/FPR of a membership test), as TF Privacy RatioBound(tp, fp, pos, neg,
// alpha).compute_bound(method) computes it, including its adjustments: with z = Φ⁻¹(alpha),
//   - when tp == pos and fp == neg, both counts are reduced by 0.5 (all but Clopper–Pearson);
//   - a zero fp becomes 0.5 (Katz, Bailey) or z² (inverse sinh);
//   - the bound is 0 when tp == 0 (Katz, Bailey, inverse sinh), when tp == fp == 0 (adjusted log), and when
//     the Clopper–Pearson bounds give a lower numerator bound <= 0 or an upper denominator bound >= 1.
//
// The Clopper–Pearson bound spends alpha/2 on each proportion. Preconditions: 0 <= tp <= pos,
// 0 <= fp <= neg, pos, neg > 0 and 0 < alpha < 0.5; otherwise the result is NaN (the others, like the
// original, may also give NaN where a square root's argument is negative).
func RatioBound(tp, fp, pos, neg int, alpha float64, method BoundMethod) float64 {
	if tp < 0 || tp > pos || fp < 0 || fp > neg || pos <= 0 || neg <= 0 || !(alpha > 0 && alpha < 0.5) {
		return math.NaN()
	}
	z := mathext.NormalQuantile(alpha)
	P, N := float64(pos), float64(neg)
	tpO, fpO := float64(tp), float64(fp)
	tpA, fpA := tpO, fpO // adjusted for the all-positive corner
	if tp == pos && fp == neg {
		tpA, fpA = P-0.5, N-0.5
	}
	tp0, fp0 := tpA == 0, fpA == 0
	rates := func(tp, fp float64) (tpr, fpr, fnr, tnr float64) {
		tpr, fpr = tp/P, fp/N
		return tpr, fpr, 1 - tpr, 1 - fpr
	}

	switch method {
	case ClopperPearsonBound:
		p1, _ := ClopperPearson(tp, pos, alpha)
		_, p0 := ClopperPearson(fp, neg, alpha)
		if p1 <= 0 || p0 >= 1 {
			return 0
		}
		return p1 / p0

	case KatzLog:
		if tp0 {
			return 0
		}
		tp, fp := tpA, fpA
		if fp0 {
			fp = 0.5
		}
		tpr, fpr, fnr, tnr := rates(tp, fp)
		return tpr / fpr * math.Exp(z*math.Sqrt(fnr/tp+tnr/fp))

	case AdjustedLog:
		if tp0 && fp0 {
			return 0
		}
		logRatio := math.Log((tpA+0.5)/(P+0.5)) - math.Log((fpA+0.5)/(N+0.5))
		s := math.Sqrt(1/(tpA+0.5) - 1/(P+0.5) + 1/(fpA+0.5) - 1/(N+0.5))
		return math.Exp(logRatio) * math.Exp(z*s)

	case Bailey:
		if tp0 {
			return 0
		}
		tp, fp := tpO, fpO
		if tp == P {
			tp = P - 0.5
		}
		if fp == N {
			fp = N - 0.5
		}
		if fp0 {
			fp = 0.5
		}
		tpr, fpr, fnr, tnr := rates(tp, fp)
		num := 1 + z/3*math.Sqrt(fnr/tp+tnr/fp-(z*z*fnr*tnr)/(9*tp*fp))
		den := 1 - (z*z*tnr)/(9*fp)
		return tpr / fpr * math.Pow(num/den, 3)

	case InvSinh:
		if tp0 {
			return 0
		}
		tp, fp := tpA, fpA
		if fp0 {
			fp = z * z
		}
		ratio := (tp / fp) / (P / N)
		s := z / 2 * math.Sqrt(1/tp-1/P+1/fp-1/N)
		return ratio * math.Exp(2*math.Asinh(s))
	}
	return math.NaN()
}

// EpsilonLowerBound returns the epsilon lower bounds that TF Privacy EpsilonLowerBound(pos, neg, alpha,
// twoSided, thresholds).compute_epsilon_lower_bound(method) gives, largest first: for each threshold, the
// counts of pos and neg scores classified positive give the ratio bounds of TPR/FPR and TNR/FNR (and, when
// twoSided, of FPR/TPR and FNR/TNR) by RatioBound, and every positive bound b contributes log(b). The
// largest is the audit's epsilon lower bound; the result is empty when no bound is positive.
//
// With thresholds nil, every distinct score t is a threshold and scores >= t are positive (scikit-learn's
// binary curve, as the original). Otherwise scores strictly above each given threshold are positive.
//
// EpsilonLowerBoundMax returns the first element alone, much faster.
//
// It returns an error when pos or neg is empty, a score or threshold is NaN, or alpha is not in (0, 0.5).
func EpsilonLowerBound(pos, neg []float64, alpha float64, twoSided bool, thresholds []float64, method BoundMethod) ([]float64, error) {
	tps, fps, P, N, err := thresholdCounts(pos, neg, alpha, thresholds)
	if err != nil {
		return nil, err
	}
	var eps []float64
	add := func(b float64) {
		if b > 0 {
			eps = append(eps, math.Log(b))
		}
	}
	bound := func(a, b, A, B int) float64 { return RatioBound(a, b, A, B, alpha, method) }
	if method == ClopperPearsonBound {
		// The same bounds, each Clopper–Pearson limit computed once per count (see cpCache).
		c := newCPCache(alpha)
		bound = c.ratio
	}
	for k := range tps {
		forEachRatio(tps[k], fps[k], P, N, twoSided, func(a, b, A, B int) { add(bound(a, b, A, B)) })
	}
	slices.SortFunc(eps, func(a, b float64) int { return cmp.Compare(b, a) })
	return eps, nil
}

// forEachRatio calls f with the arguments (a, b, A, B) of RatioBound for each ratio that EpsilonLowerBound
// bounds at a threshold with tp of the P positive and fp of the N negative scores classified positive:
// TPR/FPR and TNR/FNR, and when twoSided also FPR/TPR and FNR/TNR.
func forEachRatio(tp, fp, P, N int, twoSided bool, f func(a, b, A, B int)) {
	fn, tn := P-tp, N-fp
	f(tp, fp, P, N)
	f(tn, fn, N, P)
	if twoSided {
		f(fp, tp, N, P)
		f(fn, tn, P, N)
	}
}

// thresholdCounts validates the arguments of EpsilonLowerBound and returns, for each of its thresholds,
// the numbers tps and fps of the P positive and N negative scores classified positive.
func thresholdCounts(pos, neg []float64, alpha float64, thresholds []float64) (tps, fps []int, P, N int, err error) {
	if len(pos) == 0 || len(neg) == 0 {
		return nil, nil, 0, 0, fmt.Errorf("epsilon lower bound needs positive and negative scores: %d positive, %d negative", len(pos), len(neg))
	}
	if !(alpha > 0 && alpha < 0.5) {
		return nil, nil, 0, 0, fmt.Errorf("alpha %v is not in (0, 0.5)", alpha)
	}
	for _, a := range []struct {
		name string
		v    []float64
	}{{"positive score", pos}, {"negative score", neg}, {"threshold", thresholds}} {
		if i := slices.IndexFunc(a.v, math.IsNaN); i >= 0 {
			return nil, nil, 0, 0, fmt.Errorf("%s %d is NaN", a.name, i)
		}
	}
	p, n := slices.Clone(pos), slices.Clone(neg)
	slices.Sort(p)
	slices.Sort(n)
	if thresholds == nil {
		tps, fps = make([]int, 0, len(p)+len(n)), make([]int, 0, len(p)+len(n))
		forEachThreshold(p, n, func(_ float64, tp, fp int) {
			tps = append(tps, tp)
			fps = append(fps, fp)
		})
	} else {
		tps, fps = make([]int, len(thresholds)), make([]int, len(thresholds))
		for k, t := range thresholds {
			tps[k], fps[k] = countAbove(p, t), countAbove(n, t)
		}
	}
	return tps, fps, len(p), len(n), nil
}

// countAbove returns the number of values of the ascending slice s that are > t.
func countAbove(s []float64, t float64) int {
	i, _ := slices.BinarySearchFunc(s, t, func(v, t float64) int {
		if v <= t {
			return -1
		}
		return 1
	})
	return len(s) - i
}
