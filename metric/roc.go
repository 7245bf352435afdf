package metric

import (
	"math"
	"slices"
	"sync"
)

// Curve is a receiver operating characteristic (ROC) curve: at threshold Thresholds[k] a record is predicted a
// member iff its score >= Thresholds[k], which gives false positive rate FPR[k] and true positive rate TPR[k].
// Thresholds decrease and FPR and TPR are non-decreasing in k. The three slices have equal length.
type Curve struct{ FPR, TPR, Thresholds []float64 }

// Len returns the number of points of the curve.
func (c Curve) Len() int { return len(c.FPR) }

// ROC returns the ROC curve of scores against the true memberships (higher score = more likely a member).
//
// The result equals scikit-learn 1.2.1 roc_curve(members, scores, drop_intermediate=dropIntermediate)
// element for element: one point per distinct score, from the highest score down, with the number of
// members and non-members scoring at least that value; when dropIntermediate is true and there are more
// than two such points, a point is dropped when the steps in both counts from the previous point and to the
// next one are equal (zero second differences; the first and last points are always kept). The point (0, 0) is then prepended with threshold
// Thresholds[1] + 1 (scikit-learn 1.2; later versions use +Inf there). FPR is NaN throughout when there is
// no non-member and TPR is NaN throughout when there is no member, as in scikit-learn.
//
// Scores may be ±Inf (scikit-learn rejects them): +Inf sorts above every finite score, so a +Inf threshold
// counts only the +Inf scores and Thresholds[0] is then +Inf as well. -0 and +0 are the same score.
// Empty input gives an empty curve.
//
// ROC sorts a copy of the members' and of the non-members' scores, concurrently, and merges them: O(n log n)
// time and n float64 of scratch memory besides the result.
//
// Preconditions: len(scores) == len(members), or ROC panics, and no score is NaN (Evaluate checks both).
func ROC(scores []float64, members []bool, dropIntermediate bool) Curve {
	if len(scores) != len(members) {
		panic("metric: ROC: len(scores) != len(members)")
	}
	if len(scores) == 0 {
		return Curve{}
	}
	pos, neg := splitSorted(scores, members)
	return curveFromSorted(pos, neg, dropIntermediate, Curve{})
}

// curveFromSorted returns the ROC curve of the ascending member scores pos and non-member scores neg (not
// both empty), reusing the slices of dst when their capacity allows.
func curveFromSorted(pos, neg []float64, dropIntermediate bool, dst Curve) Curve {
	// First pass: count the points, to size the result exactly.
	n := 1
	walkPoints(pos, neg, dropIntermediate, func(float64, int, int) { n++ })

	// FPR and TPR hold the raw counts until the final division.
	c := Curve{FPR: resize(dst.FPR, n), TPR: resize(dst.TPR, n), Thresholds: resize(dst.Thresholds, n)}
	k := 1
	walkPoints(pos, neg, dropIntermediate, func(t float64, tp, fp int) {
		c.Thresholds[k], c.TPR[k], c.FPR[k] = t, float64(tp), float64(fp)
		k++
	})
	c.Thresholds[0] = c.Thresholds[1] + 1
	c.TPR[0], c.FPR[0] = 0, 0

	nfp, ntp := c.FPR[n-1], c.TPR[n-1]
	for k := range c.FPR {
		if nfp <= 0 {
			c.FPR[k] = math.NaN()
		} else {
			c.FPR[k] /= nfp
		}
		if ntp <= 0 {
			c.TPR[k] = math.NaN()
		} else {
			c.TPR[k] /= ntp
		}
	}
	return c
}

// resize returns s with length n, reallocated if its capacity is smaller.
func resize(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

// splitSorted returns the members' and the non-members' scores, each sorted in ascending order. The two
// share one backing array of len(scores).
func splitSorted(scores []float64, members []bool) (pos, neg []float64) {
	buf := make([]float64, len(scores))
	np := 0
	for _, m := range members {
		if m {
			np++
		}
	}
	pos, neg = buf[:0:np], buf[np:np]
	for i, s := range scores {
		if members[i] {
			pos = append(pos, s)
		} else {
			neg = append(neg, s)
		}
	}
	const parallelMin = 1 << 15
	if len(scores) < parallelMin {
		slices.Sort(pos)
		slices.Sort(neg)
		return pos, neg
	}
	var wg sync.WaitGroup
	wg.Go(func() { slices.Sort(pos) })
	slices.Sort(neg)
	wg.Wait()
	return pos, neg
}

// walkPoints calls emit for each point of the curve before normalisation and without the prepended (0, 0):
// every distinct score t, from the highest down, with the numbers tp and fp of pos and neg scores >= t.
// With drop set and more than two points, a point is left out when it is neither the first nor the last
// and both count sequences have a zero second difference there (scikit-learn's drop_intermediate).
func walkPoints(pos, neg []float64, drop bool, emit func(t float64, tp, fp int)) {
	if !drop {
		forEachThreshold(pos, neg, emit)
		return
	}
	// Points are held back until their successor is known.
	var (
		seen               int
		ct                 float64 // threshold of the held point
		ptp, pfp, ctp, cfp int     // counts of the previous and the held point
	)
	forEachThreshold(pos, neg, func(t float64, tp, fp int) {
		if seen == 0 {
			emit(t, tp, fp)
		} else if seen >= 2 && ((tp-ctp) != (ctp-ptp) || (fp-cfp) != (cfp-pfp)) {
			emit(ct, ctp, cfp)
		}
		seen++
		ptp, pfp = ctp, cfp
		ct, ctp, cfp = t, tp, fp
	})
	if seen >= 2 {
		emit(ct, ctp, cfp)
	}
}

// forEachThreshold walks the distinct scores of the ascending slices pos and neg from the highest down and
// calls f with each score t and the numbers of pos and neg scores >= t.
func forEachThreshold(pos, neg []float64, f func(t float64, tp, fp int)) {
	i, j := len(pos), len(neg)
	for i > 0 || j > 0 {
		var t float64
		switch {
		case i == 0:
			t = neg[j-1]
		case j == 0:
			t = pos[i-1]
		default:
			t = max(pos[i-1], neg[j-1])
		}
		for i > 0 && pos[i-1] == t {
			i--
		}
		for j > 0 && neg[j-1] == t {
			j--
		}
		f(t, len(pos)-i, len(neg)-j)
	}
}
