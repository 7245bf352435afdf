package metric

import (
	"fmt"
	"math"
	"slices"
)

// SliceComparison compares an attack's AUC on a slice of the records with its AUC on the complement.
type SliceComparison struct {
	AUC, ComplementAUC float64
	// Z is (AUC − ComplementAUC) / √(SE² + SE_C²), each SE DeLong's, floored at the Mann–Whitney null
	// SE (AUCLowerBound); P is its one-sided p-value 1 − Φ(Z), for the alternative that the slice's AUC
	// is higher.
	Z, P float64
}

// CompareSlice compares the AUC of scores on the records where in is true with that on the others, the
// two sets being disjoint and so independent: z = (AUC_S − AUC_C)/√(SE_S² + SE_C²) (DeLong, DeLong &
// Clarke-Pearson 1988 for each SE). It returns an error when either side has fewer than 2 members or 2
// non-members, and the errors of Evaluate for bad input.
func CompareSlice(scores []float64, members, in []bool) (SliceComparison, error) {
	if len(in) != len(scores) {
		return SliceComparison{}, fmt.Errorf("slice: %d flags for %d scores", len(in), len(scores))
	}
	if _, err := validate(scores, members); err != nil {
		return SliceComparison{}, fmt.Errorf("slice: %w", err)
	}
	var ps, ns, pc, nc []float64
	for i, s := range scores {
		switch {
		case in[i] && members[i]:
			ps = append(ps, s)
		case in[i]:
			ns = append(ns, s)
		case members[i]:
			pc = append(pc, s)
		default:
			nc = append(nc, s)
		}
	}
	if len(ps) < 2 || len(ns) < 2 || len(pc) < 2 || len(nc) < 2 {
		return SliceComparison{}, fmt.Errorf("slice: %d members and %d non-members in the slice, %d and %d outside; want 2 of each", len(ps), len(ns), len(pc), len(nc))
	}
	for _, v := range [][]float64{ps, ns, pc, nc} {
		slices.Sort(v)
	}
	a, se, se0 := deLong(ps, ns)
	b, sec, sec0 := deLong(pc, nc)
	z := (a - b) / math.Sqrt(max(se, se0)*max(se, se0)+max(sec, sec0)*max(sec, sec0))
	return SliceComparison{AUC: a, ComplementAUC: b, Z: z, P: 0.5 * math.Erfc(z/math.Sqrt2)}, nil
}

// Holm returns which of the hypotheses with p-values p Holm's step-down procedure rejects at family-wise
// level alpha (Holm 1979), and the Holm-adjusted p-values: sorted ascending, p_(k) is compared with
// alpha/(m − k), and rejection stops at the first that exceeds it. NaN p-values are never rejected and
// count in m.
func Holm(p []float64, alpha float64) (reject []bool, adjusted []float64) {
	m := len(p)
	idx := make([]int, m)
	for i := range idx {
		idx[i] = i
	}
	key := func(i int) float64 {
		if math.IsNaN(p[i]) {
			return math.Inf(1)
		}
		return p[i]
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch ka, kb := key(a), key(b); {
		case ka < kb:
			return -1
		case ka > kb:
			return 1
		}
		return 0
	})
	reject, adjusted = make([]bool, m), make([]float64, m)
	stop, run := false, 0.0
	for k, i := range idx {
		run = max(run, min(1, float64(m-k)*key(i)))
		adjusted[i] = run
		if math.IsNaN(p[i]) {
			adjusted[i] = math.NaN()
		}
		if !stop && key(i) <= alpha/float64(m-k) {
			reject[i] = true
		} else {
			stop = true
		}
	}
	return reject, adjusted
}
