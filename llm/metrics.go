package llm

import (
	"math"
	"slices"

	"github.com/pmeter/pmeter/metric"
)

// MimirMetrics are the numbers MIMIR's run.py reports for one attack (compute_metrics_from_scores).
type MimirMetrics struct {
	AUC         float64
	TPRAtFPR1   float64 // tpr at the last point with fpr < 0.01 (strict)
	TPRAtFPR01  float64 // tpr at the last point with fpr < 0.001 (strict)
	PRAUC       float64 // area under the precision-recall curve with the NON-members as the positive class
	FPR, TPR    []float64
	Dropped     int // sequences with a NaN score, left out
	NMembers    int
	NNonMembers int
}

// ComputeMimirMetrics computes MIMIR's metrics of pmeter scores (higher = member; MIMIR's own scores
// negated): NaN scores are dropped, the ROC curve is scikit-learn's roc_curve with drop_intermediate (via
// metric.ROC), the TPR at FPR < X takes the last point strictly below X, and pr_auc is
// auc(recall, precision) of precision_recall_curve on MIMIR's raw scores with the non-members as the
// positive class.
func ComputeMimirMetrics(scores []float64, members []bool) MimirMetrics {
	var s []float64
	var m []bool
	out := MimirMetrics{}
	for i, v := range scores {
		if math.IsNaN(v) {
			out.Dropped++
			continue
		}
		s = append(s, v)
		m = append(m, members[i])
		if members[i] {
			out.NMembers++
		} else {
			out.NNonMembers++
		}
	}
	c := metric.ROC(s, m, true)
	out.FPR, out.TPR = c.FPR, c.TPR
	out.AUC = metric.AUC(c)
	out.TPRAtFPR1 = metric.TPRAtFPRStrict(c, 0.01)
	out.TPRAtFPR01 = metric.TPRAtFPRStrict(c, 0.001)
	raw := make([]float64, len(s))
	nonMember := make([]bool, len(s))
	for i := range s {
		raw[i] = -s[i]
		nonMember[i] = !m[i]
	}
	out.PRAUC = prAUC(raw, nonMember)
	return out
}

// prAUC is scikit-learn 1.2.1's auc(recall, precision) of precision_recall_curve(positive, scores): one
// point per distinct score from the highest down, precision = tp / (tp + fp), recall = tp / P, reversed,
// with (recall 0, precision 1) appended; auc integrates by the trapezoid rule over the decreasing recall
// and flips the sign.
func prAUC(scores []float64, positive []bool) float64 {
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
		rec[i] /= float64(tp)
	}
	slices.Reverse(prec)
	slices.Reverse(rec)
	prec = append(prec, 1)
	rec = append(rec, 0)
	// auc: x = recall is decreasing, so the area is -trapz(precision, recall).
	return -metric.AUC(metric.Curve{FPR: rec, TPR: prec})
}
