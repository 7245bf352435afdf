package audit

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"

	"github.com/pmeter/pmeter/accountant"
	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/report"
)

// curvePoints is the number of intervals of the ε grid on which claim samples the privacy curve.
const curvePoints = 200

// claim returns the recipe's guarantee as the report sets audits against it (nil without a recipe): the
// accountant's ε at δ and its privacy curve (privacyCurve), each δ an upper bound on the mechanism's δ
// from the same accountant. The curve is the one resolveDP sampled with the accountant it built for ε,
// when it did (PLD), else the accountant is built here.
func (r *DPRecipe) claim(ctx context.Context) (*report.DPClaim, error) {
	if r == nil {
		return nil, nil
	}
	pc := r.curve
	if pc == nil {
		var err error
		if pc, err = r.accountantCurve(ctx); err != nil {
			return nil, err
		}
	}
	return &report.DPClaim{Epsilon: r.Epsilon, Delta: r.Delta, Accountant: r.Accountant, RDPOrder: r.RDPOrder,
		NoiseMultiplier: r.NoiseMultiplier, TargetEpsilon: r.TargetEpsilon, MaxGradNorm: r.MaxGradNorm,
		SamplingRate: r.SamplingRate, Steps: r.Steps, Sampling: r.Sampling, Caveat: r.Caveat,
		CurveEpsilon: slices.Clone(pc.eps), CurveDelta: slices.Clone(pc.delta)}, nil
}

// privacyCurve is the accountant's privacy curve δ(ε) as the report's claim samples it: at curvePoints+1
// values of ε evenly spaced from 0 to the ε at δ = 1e-12 (at least twice the claimed ε, at most 100), and
// at the claimed ε; each δ clipped to [0, 1].
type privacyCurve struct {
	eps, delta []float64
}

// accountantCurve builds the recipe's accountant and samples its privacy curve.
func (r *DPRecipe) accountantCurve(ctx context.Context) (*privacyCurve, error) {
	ph := accountant.Phase{SamplingRate: r.SamplingRate, NoiseMultiplier: r.NoiseMultiplier, Steps: r.Steps}
	if accountant.Kind(r.Accountant) == accountant.KindPLD {
		a, err := accountant.NewPLD(ctx, 0, ph)
		if err != nil {
			return nil, err
		}
		return r.sampleCurve(ctx, a.Epsilon, a.Curve)
	}
	a, err := accountant.NewRDP(nil, ph)
	if err != nil {
		return nil, err
	}
	epsAt := func(d float64) (float64, error) { e, _, err := a.Epsilon(d); return e, err }
	return r.sampleCurve(ctx, epsAt, func(eps []float64) ([]float64, error) {
		out := make([]float64, len(eps))
		for i, e := range eps {
			d, _, err := a.Delta(e)
			if err != nil {
				return nil, fmt.Errorf("δ at ε = %v: %w", e, err)
			}
			out[i] = d
		}
		return out, nil
	})
}

// sampleCurve samples the privacy curve of an accountant given by its ε at a δ and its δ at each of
// several ε (PLD.Curve: one pass over the PLD's grid for the whole curve, where δ point by point would
// scan the grid above each ε, and the grid grows as 1/σ²). r.Epsilon must be set.
func (r *DPRecipe) sampleCurve(ctx context.Context, epsAt func(float64) (float64, error), deltas func([]float64) ([]float64, error)) (*privacyCurve, error) {
	hi, err := epsAt(1e-12)
	if err != nil || math.IsInf(hi, 0) || math.IsNaN(hi) {
		hi = 0
	}
	hi = min(max(hi, 2*r.Epsilon, 1), 100)
	eps := make([]float64, 0, curvePoints+2)
	for i := 0; i <= curvePoints; i++ {
		eps = append(eps, hi*float64(i)/curvePoints)
	}
	if i, found := slices.BinarySearch(eps, r.Epsilon); !found {
		eps = slices.Insert(eps, i, r.Epsilon)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	delta, err := deltas(eps)
	if err != nil {
		return nil, err
	}
	for i, d := range delta {
		delta[i] = min(max(d, 0), 1)
	}
	return &privacyCurve{eps: eps, delta: delta}, nil
}

// writeDP prints the run's DP recipe, the DP audit games' bounds and the check of the audits against the
// recipe's claim, when the run has them.
func (r *Result) writeDP(w io.Writer) {
	if r.DP != nil {
		fmt.Fprintf(w, "\ntraining: %s\n", r.DP)
	}
	if k := r.Canaries; k != nil && k.Kind == CanaryGradient {
		fmt.Fprintf(w, "\ncanaries: %d gradient canaries (%s directions in %d parameters, %s score", k.Count, k.Direction, k.Parameters, k.Score)
		if k.Isolate != nil && *k.Isolate {
			fmt.Fprint(w, ", isolated from the data's gradients")
		}
		fmt.Fprint(w, "), inserted at the clipping norm into the DP-SGD steps that sample them, ")
		if k.Game == GameDPOneRun {
			planned := "fixed in the config"
			if k.PlannedGuesses {
				planned = "planned from the claim before training"
			}
			fmt.Fprintf(w, "each with probability 1/2 (%d included, each in %.1f steps on average); guesses %s: k+ %d, k− %d\n",
				k.Included[0], k.MeanInsertions[0], planned, k.KPlus, k.KMinus)
		} else {
			fmt.Fprintf(w, "each in a random half of the %d runs\n", len(k.Included))
		}
	} else if k != nil {
		fmt.Fprintf(w, "\ncanaries: %d %s, each in a training set of %d fixed records ", k.Count, k.Kind, k.FixedRecords)
		if k.Game == GameDPOneRun {
			fmt.Fprintf(w, "with probability 1/2 (%d included); guesses fixed in advance: k+ %d, k− %d\n", k.Included[0], k.KPlus, k.KMinus)
		} else {
			fmt.Fprintf(w, "in a random half of the %d runs\n", len(k.Included))
		}
	}
	if len(r.DPAudits) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "DP audit\tε≥\tδ\tconfidence\tevidence")
		for _, a := range r.DPAudits {
			b := a.Bound
			ev := ""
			switch {
			case b.Guesses != nil:
				ev = fmt.Sprintf("%d of %d guesses right on %d canaries", b.Guesses.Correct, b.Guesses.Guesses, b.Guesses.Canaries)
			default:
				ev = fmt.Sprintf("TP %d of %d, FP %d of %d held-out runs", b.TP, b.EvalMembers, b.FP, b.EvalNonMembers)
			}
			if b.Method == metric.FDPMethod {
				ev += " (Gaussian-DP family only)"
			}
			fmt.Fprintf(tw, "%s\t%.4g\t%s\t%s\t%s\n", a.Name, b.Value, metric.FormatDelta(b.Delta), formatConfidence(b.Alpha), ev)
		}
		tw.Flush()
	}
	if chk := r.DPCheck; chk != nil {
		flag := "consistent"
		switch {
		case chk.Violation:
			flag = "RED FLAG"
		case chk.Outside:
			flag = "outside the claim"
		}
		fmt.Fprintf(w, "DP check (%s): %s\n", flag, chk.Message)
	}
}

// formatConfidence writes 1 − alpha as a percentage: 0.05 → "95%".
func formatConfidence(alpha float64) string {
	return fmt.Sprintf("%.4g%%", 100*(1-alpha))
}
