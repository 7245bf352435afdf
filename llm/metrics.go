package llm

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/pmeter/pmeter/metric"
)

// MimirMetrics are the numbers MIMIR's run.py reports for one attack (compute_metrics_from_scores).
type MimirMetrics struct {
	AUC         float64   `json:"auc"`
	TPRAtFPR1   float64   `json:"tpr_at_fpr_below_1pct"`   // tpr at the last point with fpr < 0.01 (strict)
	TPRAtFPR01  float64   `json:"tpr_at_fpr_below_0_1pct"` // tpr at the last point with fpr < 0.001 (strict)
	PRAUC       float64   `json:"pr_auc"`                  // area under the precision-recall curve with the NON-members as the positive class
	FPR         []float64 `json:"fpr,omitempty"`
	TPR         []float64 `json:"tpr,omitempty"`
	Dropped     int       `json:"dropped"` // sequences with a NaN score, left out
	NMembers    int       `json:"members"`
	NNonMembers int       `json:"non_members"`
}

// WriteMimirTable writes MIMIR's metrics of the results that have them (compat=mimir), one row each,
// with a line on MIMIR's conventions; it writes nothing when none has them.
func WriteMimirTable(w io.Writer, results []Result) {
	var rows []Result
	for _, r := range results {
		if r.Mimir != nil {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	io.WriteString(tw, "MIMIR's metrics (compat)\tAUC\tTPR@FPR<1%\tTPR@FPR<0.1%\tPR-AUC\n")
	for _, r := range rows {
		m := r.Mimir
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\t%.4f\n", r.Attack, m.AUC, m.TPRAtFPR1, m.TPRAtFPR01, m.PRAUC)
	}
	tw.Flush()
	fmt.Fprintln(w, MimirConventions+".")
}

// MimirConventions says how MIMIR's metrics differ from pmeter's table.
const MimirConventions = "MIMIR's conventions (run.py): the TPR at the last ROC point with FPR strictly below 1 % and 0.1 %, and pr_auc with the non-members as the positive class (scikit-learn's auc of precision_recall_curve on MIMIR's scores, lower = member)"

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
