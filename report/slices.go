package report

// Slice is one attack on one subgroup of the audited records (audit.slices): the records whose column
// has a value (or, for a numeric column, lies in a quartile of the training pool), compared with the
// other records. It is copied into summary.json as it is.
type Slice struct {
	Attack string `json:"attack"`
	Column string `json:"column"`
	Value  string `json:"value"`
	// Records, Members and NonMembers count the slice's records, pooled over targets.
	Records    int `json:"records"`
	Members    int `json:"members"`
	NonMembers int `json:"non_members"`
	// AUC and TPR1 (TPR at 1 % FPR) on the slice, with percentile bootstrap intervals at Level; null
	// when the slice is smaller than the minimum (Note says so).
	AUC   *Estimate `json:"auc"`
	TPR1  *Estimate `json:"tpr_at_1pct_fpr"`
	Level float64   `json:"level"`
	// ComplementAUC is the AUC on the other records; P the one-sided p-value of the slice's AUC being
	// higher (DeLong standard errors, metric.CompareSlice), PHolm its Holm adjustment over every slice
	// of the attack, and AtRisk whether the slice's AUC is significantly above its complement's at
	// family-wise level Alpha.
	ComplementAUC *float64 `json:"complement_auc"`
	P             *float64 `json:"p"`
	PHolm         *float64 `json:"p_holm"`
	Alpha         float64  `json:"alpha"`
	AtRisk        bool     `json:"at_risk"`
	Note          string   `json:"note,omitempty"`
}

// slicesView is the page's section on subgroups.
type slicesView struct {
	Rows                []sliceRow
	Alpha, Level, MinIn string
}

type sliceRow struct {
	Attack, Slice, Records, AUC, TPR1, Complement, PHolm, Note string
	AtRisk                                                     bool
}

func (a *analysis) slicesView() *slicesView {
	if len(a.in.Slices) == 0 {
		return nil
	}
	v := &slicesView{}
	est := func(e *Estimate, f func(float64) string) string {
		if e == nil || e.Value == nil {
			return "–"
		}
		s := f(*e.Value)
		if e.Lo != nil && e.Hi != nil {
			s += " [" + f(*e.Lo) + ", " + f(*e.Hi) + "]"
		}
		return s
	}
	opt := func(p *float64, f func(float64) string) string {
		if p == nil {
			return "–"
		}
		return f(*p)
	}
	for _, s := range a.in.Slices {
		v.Alpha, v.Level = pct(s.Alpha), pct(s.Level)
		v.Rows = append(v.Rows, sliceRow{Attack: s.Attack, Slice: s.Column + " = " + s.Value,
			Records: thousands(s.Records) + " (" + thousands(s.Members) + " / " + thousands(s.NonMembers) + ")",
			AUC:     est(s.AUC, f3), TPR1: est(s.TPR1, pct), Complement: opt(s.ComplementAUC, f3), PHolm: opt(s.PHolm, f3),
			Note: s.Note, AtRisk: s.AtRisk})
	}
	return v
}
