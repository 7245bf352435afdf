package metric

import (
	"math"
	"slices"
)

// PRAUC returns the area under the precision-recall curve of scores (higher: more likely positive)
// as scikit-learn 1.2's auc(recall, precision) of precision_recall_curve(positive, scores) computes it,
// which is the pr_auc MIMIR reports (Duan et al., COLM 2024; MIMIR takes its non-members as the positive
// class): one point per distinct score from the highest down, precision tp/(tp+fp) and recall tp/P,
// then the point (recall 0, precision 1), integrated by the trapezoid rule (AUC) over the decreasing
// recall. Recall is 1 everywhere when there is no positive, as scikit-learn sets it; NaN scores must be
// left out by the caller. It is NaN for no scores.
func PRAUC(scores []float64, positive []bool) float64 {
	if len(scores) == 0 {
		return math.NaN()
	}
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case scores[a] > scores[b]:
			return -1
		case scores[a] < scores[b]:
			return 1
		}
		return 0
	})
	var prec, rec []float64
	tp, fp := 0, 0
	for k, i := range idx {
		if positive[i] {
			tp++
		} else {
			fp++
		}
		if k+1 < len(idx) && scores[idx[k+1]] == scores[i] {
			continue
		}
		prec = append(prec, float64(tp)/float64(tp+fp))
		rec = append(rec, float64(tp))
	}
	for i := range rec {
		if tp == 0 {
			rec[i] = 1
		} else {
			rec[i] /= float64(tp)
		}
	}
	slices.Reverse(prec)
	slices.Reverse(rec)
	prec = append(prec, 1)
	rec = append(rec, 0)
	// scikit-learn's auc of a decreasing x is −trapz(precision, recall).
	return -AUC(Curve{FPR: rec, TPR: prec})
}
