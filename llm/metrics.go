package llm

import (
	"math"

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
// metric.PRAUC on MIMIR's raw scores with the non-members as the positive class.
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
	out.PRAUC = metric.PRAUC(raw, nonMember)
	return out
}
