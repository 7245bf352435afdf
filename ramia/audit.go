package ramia

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/signal"
)

// Config configures Audit.
type Config struct {
	// RMIA is the per-sample attack: each sampled point is scored by RMIA as a record (its reference models
	// chosen by attack.SelectReferences, or Privacy Meter's paired-model rule under its own Compat).
	RMIA attack.RMIAConfig
	// TuneOfflineA chooses RMIA's offline a for each target on the tuning model (attack.TuneOfflineA) over
	// Grid (nil: attack.OfflineAGrid(0.1)); otherwise RMIA.OfflineA is used.
	TuneOfflineA bool
	Grid         []float64
	// Trim is the trimmed mean of every range (FixedTrim); nil tunes it on the tuning model (TuneTrim).
	Trim *Trim
	// Compat CompatPrivacyMeter reproduces Privacy Meter v2's audit_models_range: its record of a tuned
	// trim (TuneTrim), its truncated kept count (FixedTrim), and the per-sample result it reports (see
	// Result.Reported). The per-sample attack follows RMIA.Compat.
	Compat attack.Compat
}

// TargetResult is RaMIA's outcome against one target model.
type TargetResult struct {
	Target int `json:"target"`
	// TuningModel is the model the offline a and the trim were tuned on (attack.TuningModel: a reference
	// model, or Privacy Meter's paired model in compat mode); −1 when nothing was tuned.
	TuningModel int     `json:"tuning_model"`
	OfflineA    float64 `json:"offline_a"`
	// OfflineAAUC is the tuning model's AUC for every a of the grid, when a was tuned.
	OfflineAAUC []float64 `json:"offline_a_auc,omitempty"`
	// TrimTuning holds the tuning table, when the trim was tuned.
	TrimTuning *TrimTuning `json:"trim_tuning,omitempty"`
	Trim       Trim        `json:"trim"`
	// Range is the result over ranges: the range scores against the range memberships. nil when a range
	// score is NaN (compat mode: a trim that keeps no score); RangeError then says why.
	Range      *metric.Result `json:"range"`
	RangeError string         `json:"range_error,omitempty"`
	// Sample is the result over the sampled points, each labelled with its range's membership: what
	// Privacy Meter v2 reports as RaMIA's result.
	Sample metric.Result `json:"sample"`

	// TuneScores are the tuning model's per-sample scores at the chosen a (range-major), when the trim was
	// tuned or a tuned; SampleScores the target's; RangeScores the trimmed means, one per range; Members
	// the target's range memberships.
	TuneScores   []float64 `json:"-"`
	SampleScores []float64 `json:"-"`
	RangeScores  []float64 `json:"-"`
	Members      []bool    `json:"-"`
}

// Result is RaMIA's outcome against every target.
type Result struct {
	Ranges  int            `json:"ranges"`
	Size    int            `json:"samples_per_range"`
	Compat  attack.Compat  `json:"compat,omitempty"`
	Targets []TargetResult `json:"targets"`
	// Pooled is the result on the range scores of every target pooled (Privacy Meter's average result),
	// when there are several targets; PooledError says why it is missing when a range score is NaN.
	Pooled      *metric.Result `json:"pooled,omitempty"`
	PooledError string         `json:"pooled_error,omitempty"`
	// PooledCurve is the ROC curve of the pooled range scores (drop_intermediate), when Pooled is set.
	PooledCurve metric.Curve `json:"-"`
}

// Reported returns the result that answers the audit for target k: the range-level result by default,
// and in compat mode the per-sample result, which is what Privacy Meter v2 logs and saves as RaMIA's
// result for each target (its bug R1: get_audit_results receives the un-aggregated scores).
func (r *Result) Reported(k int) *metric.Result {
	t := &r.Targets[k]
	if r.Compat == attack.CompatPrivacyMeter {
		return &t.Sample
	}
	return t.Range
}

// Audit runs range membership inference (Tao & Shokri, "Range Membership Inference Attacks", SaTML 2025)
// against every model in targets: each sampled point of every range is scored by RMIA as a record
// (Config.RMIA), and each range's score is the trimmed mean of its points' scores (Aggregate), with the
// trim fixed (Config.Trim) or tuned on a model whose memberships are known (TuneTrim). The result over
// ranges is the result: a range is a member when it contains at least one training record.
//
// The offline a (when Config.TuneOfflineA) and the trim are tuned on the model that attack.TuningModel
// names for the target, with its references: a reference model attacked with the other references by
// default, the target's paired model with one reference pair under RMIA's compat mode (Privacy Meter
// tunes both there: the paired model's memberships are the complement of the target's, its R5). By
// default the target's memberships take no part in either choice.
//
// Errors: ranges or configuration that attack.RMIA or TuneTrim rejects, a target out of range or whose
// ranges are all members or all non-members, a tuning model without both.
func Audit(ctx context.Context, r *Ranges, targets []int, cfg Config) (*Result, error) {
	if r == nil || r.Samples == nil {
		return nil, errors.New("ramia: no ranges")
	}
	if len(targets) == 0 {
		return nil, errors.New("ramia: no target model")
	}
	res := &Result{Ranges: r.N(), Size: r.Size, Compat: cfg.Compat}
	if r.Samples.Kind != signal.ProbTrue {
		// RMIA reads p(true label); convert once rather than in each of its runs (the same conversion,
		// value for value).
		d, err := r.Samples.MeanQueries(signal.ProbTrue)
		if err != nil {
			return nil, fmt.Errorf("ramia: %w", err)
		}
		r = &Ranges{Size: r.Size, Samples: d}
	}
	for _, t := range targets {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		tr, err := auditTarget(r, t, cfg)
		if err != nil {
			return nil, fmt.Errorf("ramia: target model %d: %w", t, err)
		}
		res.Targets = append(res.Targets, *tr)
	}
	if len(targets) > 1 {
		scores := make([][]float64, len(targets))
		members := make([][]bool, len(targets))
		for k, t := range res.Targets {
			scores[k], members[k] = t.RangeScores, t.Members
		}
		ps, pm, err := metric.Pool(scores, members)
		if err != nil {
			return nil, fmt.Errorf("ramia: %w", err)
		}
		if i := slices.IndexFunc(ps, math.IsNaN); i >= 0 {
			res.PooledError = fmt.Sprintf("the range score of range %d of target %d is NaN", i%res.Ranges, res.Targets[i/res.Ranges].Target)
		} else {
			pooled, err := metric.Evaluate(ps, pm)
			if err != nil {
				return nil, fmt.Errorf("ramia: pooled targets: %w", err)
			}
			res.Pooled = &pooled
			res.PooledCurve = metric.ROC(ps, pm, true)
		}
	}
	return res, nil
}

// auditTarget runs RaMIA against target t.
func auditTarget(r *Ranges, t int, cfg Config) (*TargetResult, error) {
	d, s := r.Samples, r.Size
	if t < 0 || t >= d.M {
		return nil, fmt.Errorf("target model %d does not exist (there are %d models)", t, d.M)
	}
	tr := &TargetResult{Target: t, TuningModel: -1, OfflineA: cfg.RMIA.OfflineA, Members: r.Members(t)}
	if err := d.CheckTarget(t); err != nil {
		return nil, err
	}
	rc := cfg.RMIA
	tuneTrim := cfg.Trim == nil && s > 1
	var tune attack.RMIAConfig
	if cfg.TuneOfflineA || tuneTrim {
		model, tc, err := attack.TuningModel(d, t, rc)
		if err != nil {
			return nil, err
		}
		tr.TuningModel, tune = model, tc
	}
	if cfg.TuneOfflineA {
		a, aucs, err := attack.TuneOfflineA(d, t, cfg.Grid, rc)
		if err != nil {
			return nil, err
		}
		tr.OfflineA, tr.OfflineAAUC = a, aucs
		rc.OfflineA = a
	}
	if tr.TuningModel >= 0 {
		tune.OfflineA = rc.OfflineA
		var err error
		if tr.TuneScores, err = attack.RMIA(d, tr.TuningModel, tune); err != nil {
			return nil, fmt.Errorf("scores of the tuning model %d: %w", tr.TuningModel, err)
		}
	}
	switch {
	case cfg.Trim != nil:
		if cfg.Trim.Keep > s {
			return nil, fmt.Errorf("trim keeps %d scores of ranges of %d samples", cfg.Trim.Keep, s)
		}
		tr.Trim = *cfg.Trim
	case s == 1:
		tr.Trim = Trim{Direction: TrimNone, Keep: 1}
	default:
		tt, err := TuneTrim(tr.TuneScores, s, r.Members(tr.TuningModel), cfg.Compat)
		if err != nil {
			return nil, fmt.Errorf("on model %d: %w", tr.TuningModel, err)
		}
		tr.TrimTuning, tr.Trim = &tt, tt.Trim
	}
	var err error
	if tr.SampleScores, err = attack.RMIA(d, t, rc); err != nil {
		return nil, err
	}
	if tr.RangeScores, err = Aggregate(tr.SampleScores, s, tr.Trim); err != nil {
		return nil, err
	}
	if tr.Sample, err = metric.Evaluate(tr.SampleScores, d.TargetMembers(t)); err != nil {
		return nil, fmt.Errorf("per-sample result: %w", err)
	}
	if i := slices.IndexFunc(tr.RangeScores, math.IsNaN); i >= 0 {
		tr.RangeError = fmt.Sprintf("the range score of range %d is NaN: the trim (%s, ratio %v) keeps %d of %d scores", i, tr.Trim.Direction, tr.Trim.Ratio, tr.Trim.Keep, s)
		return tr, nil
	}
	rr, err := metric.Evaluate(tr.RangeScores, tr.Members)
	if err != nil {
		return nil, fmt.Errorf("range result: %w", err)
	}
	tr.Range = &rr
	return tr, nil
}
