package metric

import (
	"fmt"
	"math"
	"slices"
)

// AUCLowerBound returns a one-sided lower confidence bound on the AUC of scores against members at
// confidence 1 − alpha:
//
//	AUC − z(1 − alpha) · max(SE_DeLong, SE_0),
//
// where AUC counts ties as one half (the Mann–Whitney statistic, equal to the trapezoidal AUC),
// SE_DeLong is the standard error of DeLong, DeLong & Clarke-Pearson (Biometrics 44, 1988), from the
// records' placement values, and SE_0 = √((P + N + 1)/(12·P·N)) that of the Mann–Whitney statistic for P
// members and N non-members when scores do not depend on membership. The floor SE_0 keeps the bound
// from claiming more than the Mann–Whitney test of "AUC > 0.5" where DeLong's estimate is too small
// (small audits, perfect separation). The bound is a normal approximation: its coverage approaches
// 1 − alpha as P and N grow.
//
// It returns NaN with fewer than 2 members or 2 non-members, and the errors of Evaluate for bad input.
func AUCLowerBound(scores []float64, members []bool, alpha float64) (float64, error) {
	if !(alpha > 0 && alpha < 1) {
		return 0, fmt.Errorf("AUC lower bound: alpha %v is not in (0, 1)", alpha)
	}
	if _, err := validate(scores, members); err != nil {
		return 0, fmt.Errorf("AUC lower bound: %w", err)
	}
	pos, neg := splitSorted(scores, members)
	if len(pos) < 2 || len(neg) < 2 {
		return math.NaN(), nil
	}
	auc, se, se0 := deLong(pos, neg)
	z := math.Sqrt2 * math.Erfinv(1-2*alpha)
	return auc - z*max(se, se0), nil
}

// deLong returns the AUC of sorted member scores pos against sorted non-member scores neg, DeLong's
// standard error and the Mann–Whitney null one (see AUCLowerBound). Both need 2 or more of each.
func deLong(pos, neg []float64) (auc, se, se0 float64) {
	P, N := len(pos), len(neg)
	// placement returns, for each score of a, the fraction of b below it plus half the fraction equal.
	placement := func(a, b []float64) []float64 {
		v := make([]float64, len(a))
		for i, x := range a {
			lo, _ := slices.BinarySearch(b, x)
			hi := lo
			for hi < len(b) && b[hi] == x {
				hi++
			}
			v[i] = (float64(lo) + float64(hi-lo)/2) / float64(len(b))
		}
		return v
	}
	v10 := placement(pos, neg) // per member: P(non-member scores lower)
	v01 := placement(neg, pos) // per non-member: P(member scores higher) = 1 − its placement among members
	for i := range v01 {
		v01[i] = 1 - v01[i]
	}
	mean := func(v []float64) float64 {
		s := 0.0
		for _, x := range v {
			s += x
		}
		return s / float64(len(v))
	}
	variance := func(v []float64, m float64) float64 {
		s := 0.0
		for _, x := range v {
			s += (x - m) * (x - m)
		}
		return s / float64(len(v)-1)
	}
	auc = mean(v10)
	se = math.Sqrt(variance(v10, auc)/float64(P) + variance(v01, mean(v01))/float64(N))
	se0 = math.Sqrt(float64(P+N+1) / (12 * float64(P) * float64(N)))
	return auc, se, se0
}
