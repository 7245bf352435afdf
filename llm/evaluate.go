package llm

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/pmeter/pmeter/metric"
)

// EvalOptions configures Evaluate.
type EvalOptions struct {
	Alpha     float64 // significance of the ε lower bounds; 0.05 when 0
	Delta     float64 // δ of the ε lower bounds; metric.DefaultEpsilonDelta when 0
	Seed      uint64  // seed of the ε bound's split and of the bootstrap
	Bootstrap int     // bootstrap resamples for the intervals; 0 = none
	// NotDP, when not empty, says why the memberships do not allow a DP bound (see metric.EpsilonOptions).
	// LLM member and non-member sets are rarely drawn at random from one population, so the default
	// caveat is NotDPDefault.
	NotDP string
}

// NotDPDefault is the ε bound's caveat for an LLM bundle: its members and non-members were not drawn
// independently per record from one population (typically: texts before and after a cut-off date), so the
// bound measures separation of these texts, not the training algorithm's ε.
const NotDPDefault = "the member and non-member texts were not drawn independently per record from one population; a distribution shift between them (see the blind baseline) separates them without any leak"

// Result is one attack's scores and metrics.
type Result struct {
	Attack    string                  `json:"attack"`
	Paper     string                  `json:"paper,omitempty"`
	Compat    Compat                  `json:"compat,omitempty"`
	Metrics   metric.Result           `json:"metrics"`
	Epsilon   *metric.EpsilonBound    `json:"epsilon_lower_bound,omitempty"`
	Intervals *metric.BootstrapResult `json:"bootstrap,omitempty"`
	// Mimir holds MIMIR's own metrics (pr_auc, TPR at FPR < 1 % and 0.1 %) under Compat.
	Mimir   *MimirMetrics `json:"mimir,omitempty"`
	Dropped int           `json:"dropped"` // sequences with a NaN score, left out of the metrics
	Blind   bool          `json:"blind,omitempty"`
	Scores  []float64     `json:"-"`
	Curve   metric.Curve  `json:"-"`
}

// Evaluate runs the named attacks ("all": every attack the bundle has inputs for) and computes their
// metrics through the metric package: ROC, AUC, TPR at the standard FPRs, the holdout ε lower bound and,
// when asked, bootstrap intervals. Without labels only the scores are filled in.
func Evaluate(ctx context.Context, b *Bundle, names []string, p Params, opt EvalOptions) ([]Result, error) {
	if len(names) == 1 && names[0] == "all" {
		names = Available(b)
	}
	var out []Result
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s, err := Score(b, name, p)
		if err != nil {
			return nil, err
		}
		a, _ := Lookup(name)
		r := Result{Attack: name, Paper: a.Paper, Compat: p.Compat, Scores: s}
		if err := r.evaluate(ctx, b.Labels, opt); err != nil {
			return nil, fmt.Errorf("llm: %s: %w", name, err)
		}
		if p.Compat.mimir() && b.Labels != nil {
			m := ComputeMimirMetrics(s, b.Labels)
			m.FPR, m.TPR = nil, nil
			r.Mimir = &m
		}
		out = append(out, r)
	}
	return out, nil
}

// evaluate fills in the metrics of r.Scores against labels (nil: none).
func (r *Result) evaluate(ctx context.Context, labels []bool, opt EvalOptions) error {
	if labels == nil {
		return nil
	}
	var s []float64
	var m []bool
	for i, v := range r.Scores {
		if math.IsNaN(v) {
			r.Dropped++
			continue
		}
		s, m = append(s, v), append(m, labels[i])
	}
	res, err := metric.Evaluate(s, m)
	if err != nil {
		return err
	}
	r.Metrics = res
	r.Curve = metric.ROC(s, m, true)
	notDP := opt.NotDP
	if notDP == "" {
		notDP = NotDPDefault
	}
	eps, err := metric.HoldoutEpsilon(s, m, metric.EpsilonOptions{Alpha: opt.Alpha, Delta: opt.Delta, Seed: opt.Seed, NotDP: notDP})
	switch {
	case err == nil:
		r.Epsilon = &eps
	case res.Members < 4 || res.NonMembers < 4:
		// Too few records for a holdout split: no bound, not an error.
	default:
		return err
	}
	if opt.Bootstrap > 0 {
		bs, err := metric.Bootstrap(ctx, s, m, metric.BootstrapOptions{Resamples: opt.Bootstrap, Seed: opt.Seed})
		if err != nil {
			return err
		}
		r.Intervals = &bs
	}
	return nil
}

// ErrNoLabels is returned where metrics need labels.npy.
var ErrNoLabels = errors.New("llm: the bundle has no labels.npy: only scores can be computed")
