package report

import (
	"fmt"

	"github.com/pmeter/pmeter/metric"
)

// Ranges is the outcome of a range membership audit (privacy game range_membership; Tao & Shokri's
// RaMIA): a range — the points around an audited record that a sampler describes — is a member of a
// model when it contains at least one of its training records. Every sampled point is scored by RMIA,
// and a range's score is the trimmed mean of its points' scores. It is copied into summary.json as it is.
type Ranges struct {
	// Sampler describes the ranges, e.g. "l2 (radius 2)".
	Sampler         string `json:"sampler"`
	SamplesPerRange int    `json:"samples_per_range"`
	// Ranges counts the audited ranges; Dropped those left out because they contained a pool record
	// other than their centre, so that their membership would not be their centre's.
	Ranges  int `json:"ranges"`
	Dropped int `json:"dropped"`
	// Compat is "privacy-meter" when the audit reproduces Privacy Meter v2; its result is then the
	// per-sample one (Reported "sample"), as Privacy Meter reports it. Reported is "range" otherwise.
	Compat   string        `json:"compat,omitempty"`
	Reported string        `json:"reported"`
	Targets  []RangeTarget `json:"targets"`
	// Pooled is the range result on every target's ranges pooled, with several targets; PooledError says
	// why it is missing (a NaN range score, compat mode only).
	Pooled      *metric.Result `json:"pooled,omitempty"`
	PooledError string         `json:"pooled_error,omitempty"`
}

// RangeTarget is the range audit of one target model.
type RangeTarget struct {
	Target int `json:"target"`
	// TuningModel is the model the offline a and the trim were tuned on (−1: none was tuned).
	TuningModel   int     `json:"tuning_model"`
	OfflineA      float64 `json:"offline_a"`
	TrimDirection string  `json:"trim_direction"`
	TrimRatio     float64 `json:"trim_ratio"`
	TrimKeep      int     `json:"trim_keep"`
	// Range is the result over ranges (nil when a range score is NaN: RangeError says why); Sample the
	// result over the sampled points, each labelled with its range's membership.
	Range      *metric.Result `json:"range"`
	RangeError string         `json:"range_error,omitempty"`
	Sample     metric.Result  `json:"sample"`
}

// validate checks r against the input's number of targets.
func (r *Ranges) validate(targets int) error {
	if r == nil {
		return nil
	}
	if r.SamplesPerRange < 1 || r.Ranges < 1 {
		return fmt.Errorf("report: ranges: %d ranges of %d samples; want at least one of each", r.Ranges, r.SamplesPerRange)
	}
	if r.Reported != "range" && r.Reported != "sample" {
		return fmt.Errorf("report: ranges: reported result %q; want range or sample", r.Reported)
	}
	if len(r.Targets) == 0 || len(r.Targets) > max(targets, 1) {
		return fmt.Errorf("report: ranges: %d target results for %d targets", len(r.Targets), max(targets, 1))
	}
	for k, t := range r.Targets {
		if t.Range == nil && t.RangeError == "" {
			return fmt.Errorf("report: ranges: target %d has neither a range result nor the reason it has none", k)
		}
	}
	return nil
}

// rangesView is the page's range section.
type rangesView struct {
	Sampler, Reported, Compat string
	Samples, Ranges, Dropped  string
	Rows                      []rangeRow
	Pooled                    *rangeRow
	PooledError               string
}

type rangeRow struct {
	Name, Members, NonMembers, AUC, TPR1, TPR01, SampleAUC, Trim, OfflineA, Error string
}

// rangesView builds the page's range section; nil without a range audit.
func (a *analysis) rangesView() *rangesView {
	r := a.in.Ranges
	if r == nil {
		return nil
	}
	v := &rangesView{Sampler: r.Sampler, Reported: r.Reported, Compat: r.Compat, Samples: thousands(r.SamplesPerRange),
		Ranges: thousands(r.Ranges), Dropped: thousands(r.Dropped), PooledError: r.PooledError}
	tpr := func(m *metric.Result, fpr float64) string {
		e, ok := m.Entry(fpr)
		switch {
		case !ok:
			return "–"
		case e.BelowResolution:
			return "below resolution"
		}
		return pct(e.TPR)
	}
	row := func(name string, m *metric.Result) rangeRow {
		if m == nil {
			return rangeRow{Name: name, Members: "–", NonMembers: "–", AUC: "–", TPR1: "–", TPR01: "–"}
		}
		return rangeRow{Name: name, Members: thousands(m.Members), NonMembers: thousands(m.NonMembers), AUC: f3(m.AUC),
			TPR1: tpr(m, 0.01), TPR01: tpr(m, 0.001)}
	}
	for _, t := range r.Targets {
		rr := row(fmt.Sprintf("target %d", t.Target), t.Range)
		rr.SampleAUC = f3(t.Sample.AUC)
		rr.Trim = fmt.Sprintf("%s, mean of %d of %d", t.TrimDirection, t.TrimKeep, r.SamplesPerRange)
		if t.TrimDirection == "none" {
			rr.Trim = fmt.Sprintf("none, mean of all %d", r.SamplesPerRange)
		}
		if t.TuningModel >= 0 {
			rr.Trim += fmt.Sprintf(" (tuned on model %d)", t.TuningModel)
		}
		rr.OfflineA = f2(t.OfflineA)
		rr.Error = t.RangeError
		v.Rows = append(v.Rows, rr)
	}
	if r.Pooled != nil {
		p := row(fmt.Sprintf("%d targets pooled", len(r.Targets)), r.Pooled)
		v.Pooled = &p
	}
	return v
}
