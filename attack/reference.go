package attack

import (
	"fmt"
	"math"

	"github.com/pmeter/pmeter/signal"
)

// ReferenceConfig configures Attack-R.
type ReferenceConfig struct {
	// ThresholdFn is one of Privacy Meter v1's threshold functions (ParseThresholdFn; empty = LinearItp).
	ThresholdFn ThresholdFn
	// Alphas are the false positive rates of v1's α grid, used by ReferencePredictions (nil =
	// DefaultAlphas). The scores do not depend on them.
	Alphas []float64
	// NumRef caps the OUT reference models per record, the first in model order of those that
	// SelectReferences leaves it (0 = all).
	NumRef int
	// Dummies applies Ye et al.'s research code (plot_attack_via_reference_or_distill.py) instead of
	// Privacy Meter v1: the record's OUT losses are augmented with the dummy losses 0 and 1000 before the
	// linear interpolation, so that the level is np.interp(s, [0, L_1 … L_k, 1000], linspace(0, 1, k+2)).
	// A record whose loss lies below every OUT loss is then ranked by s/L_1 instead of tying at level 0.
	// LinearItp only; ReferencePredictions does not support it (v1 has no dummies).
	Dummies bool
}

// Reference returns the score of Attack-R, the reference-model attack of Ye et al., "Enhanced Membership
// Inference Attacks against Machine Learning Models" (ACM CCS 2022, attack R), as Privacy Meter v1
// runs it (ReferenceMetric): each record gets its own threshold, from the losses on that record of the
// reference models that did not train on it (its OUT models, as SelectReferences chooses them, at most
// NumRef). Higher = more likely a member.
//
// The score is −α*(s), s the target model's loss on the record and α* the false positive rate from which
// v1 calls the record a member with the chosen threshold function, computed from the record's OUT losses
// L_1 … L_k sorted:
//
//   - ThresholdFunc: c/(k−1) with c = #{L ≤ s} (the 'lower' quantile);
//   - LinearItp: the inverse of the linearly interpolated quantile function, the empirical CDF percentile
//     (j + (s − L_j)/(L_{j+1} − L_j))/(k−1) for L_j ≤ s < L_{j+1}, 0 below L_1 and 1 from L_k on;
//   - Gaussian: Φ((s − μ)/σ) with (μ, σ) the mean and ddof-0 std of the L;
//   - LogitRescale: Φ((μ' − y)/σ'), y = log(e^{−s}/(1 − e^{−s})) the rescaled logit and (μ', σ') the fit
//     of the L rescaled likewise (after v1's +1e-6), the one-sided test of offline LiRA on p-values;
//   - MinLinearLogit: the larger of the LinearItp and LogitRescale levels (v1 takes the smaller threshold).
//
// Because v1 predicts "member" at α exactly when α > α* (≥ for ThresholdFunc), the ROC of this score
// passes through every point of v1's α sweep, except the first and last points of LinearItp and
// MinLinearLogit, where v1 puts the global minimum − 1e-4 and maximum + 1e-4 of all reference losses
// instead of per-record quantiles; ReferencePredictions reproduces those. In v1's 2-D Gaussian the
// threshold sits at 1 − α, not α; the score orders records the same way, and ReferencePredictions
// reproduces the 1 − α grid.
//
// Signals are converted to the cross-entropy loss (signal.Convert); with several queries the losses are
// averaged over the queries. A record without OUT reference models (possible in the bernoulli design)
// is compared with the population records' losses under the reference models instead.
func Reference(d *Data, target int, cfg ReferenceConfig) ([]float64, error) {
	r, err := newReference(d, target, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Dummies && r.fn != LinearItp {
		return nil, fmt.Errorf("reference: dummies apply to the linear_itp threshold function, not %s", r.fn)
	}
	out := make([]float64, d.N)
	var buf []float64
	for i := range out {
		if buf, err = r.outLosses(buf[:0], i); err != nil {
			return nil, err
		}
		ref := newRefSample(r.fn, buf)
		if cfg.Dummies {
			out[i] = -dummyLevel(ref.sorted, r.loss[i])
			continue
		}
		out[i] = -ref.level(r.fn, r.loss[i])
	}
	return out, nil
}

// dummyLevel is numpy.interp(s, xp, fp) with xp = [0, x…, 1000] (x sorted) and fp = linspace(0, 1,
// len(xp)): the empirical CDF of Ye et al.'s research code, with dummy losses 0 and 1000.
func dummyLevel(x []float64, s float64) float64 {
	const lo, hi = 0.0, 1000.0
	n := len(x) + 2
	at := func(i int) float64 { // xp[i]
		switch i {
		case 0:
			return lo
		case n - 1:
			return hi
		}
		return x[i-1]
	}
	fp := func(i int) float64 { return float64(i) / float64(n-1) }
	if s < lo {
		return 0
	}
	if s >= at(n-1) {
		return 1
	}
	// j: the last index with xp[j] <= s (xp[0] = 0 <= s), then interpolate towards j+1.
	j := 0
	for j+1 < n && at(j+1) <= s {
		j++
	}
	if j == n-1 {
		return 1
	}
	return fp(j) + (s-at(j))*(fp(j+1)-fp(j))/(at(j+1)-at(j))
}

// ReferencePredictions returns Privacy Meter v1's ReferenceMetric decisions: for every α of cfg.Alphas
// (rows) and record (columns), whether the target's loss on the record lies strictly below the record's
// α threshold from RowThresholds over its OUT losses (the first and last LinearItp rows use the minimum
// and maximum of all records' reference losses, as v1). The result is len(Alphas) × N, α-major.
func ReferencePredictions(d *Data, target int, cfg ReferenceConfig) ([]bool, error) {
	if cfg.Dummies {
		return nil, fmt.Errorf("reference: Privacy Meter v1 has no dummy losses; its predictions exist only without dummies")
	}
	r, err := newReference(d, target, cfg)
	if err != nil {
		return nil, err
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	var buf []float64
	for i := 0; i < d.N; i++ {
		if buf, err = r.outLosses(buf[:0], i); err != nil {
			return nil, err
		}
		for _, v := range buf {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	na := len(r.alphas)
	out := make([]bool, na*d.N)
	t := make([]float64, na)
	for i := 0; i < d.N; i++ {
		if buf, err = r.outLosses(buf[:0], i); err != nil {
			return nil, err
		}
		ref := newRefSample(r.fn, buf)
		rowThresholds(r.fn, ref.sorted, r.alphas, true, lo, hi, t, 1)
		for j, tj := range t {
			out[j*d.N+i] = r.loss[i] < tj
		}
	}
	return out, nil
}

// reference holds Attack-R's inputs.
type reference struct {
	d       *Data
	fn      ThresholdFn
	alphas  []float64
	target  int
	refs    *References
	in      []int // scratch for refs.Record
	out     []int
	popLoss []float64 // fallback sample: population losses under the pool models
	sig     []float64 // d's signals as losses
	loss    []float64 // target's loss per record (mean over queries)
}

func newReference(d *Data, target int, cfg ReferenceConfig) (*reference, error) {
	fn, alphas, err := thresholdConfig(cfg.ThresholdFn, cfg.Alphas)
	if err != nil {
		return nil, fmt.Errorf("reference attack: %w", err)
	}
	if cfg.NumRef < 0 {
		return nil, fmt.Errorf("reference attack: negative number of reference models (%d)", cfg.NumRef)
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if err := d.CheckTarget(target); err != nil {
		return nil, err
	}
	refs, err := SelectReferences(d, target, RefConfig{NumRef: cfg.NumRef})
	if err != nil {
		return nil, fmt.Errorf("reference attack: %w", err)
	}
	if err := refs.need(false, true, 0, cfg.NumRef); err != nil {
		return nil, fmt.Errorf("reference attack: %w", err)
	}
	sig, err := signalsAs(d, signal.Loss)
	if err != nil {
		return nil, err
	}
	r := &reference{d: d, fn: fn, alphas: alphas, target: target, refs: refs, sig: sig}
	r.loss = queryMeans(sig, d.N, d.M, d.Q, target)
	return r, nil
}

// outLosses appends the losses (mean over queries) of record i under its OUT reference models
// (SelectReferences). A record without any, which the bernoulli design allows, takes the losses of the
// population records under the reference pool (records that no model trained on) instead.
func (r *reference) outLosses(buf []float64, i int) ([]float64, error) {
	d := r.d
	r.in, r.out = r.refs.Record(i, r.in, r.out)
	if len(r.out) == 0 {
		if d.Z == 0 {
			return nil, fmt.Errorf("reference attack: record %d has no OUT reference model, and there are no population records to fall back on", i)
		}
		if r.popLoss == nil {
			pop, err := popAs(d, signal.Loss)
			if err != nil {
				return nil, err
			}
			for _, m := range r.refs.Pool {
				r.popLoss = append(r.popLoss, queryMeans(pop, d.Z, d.M, d.Q, m)...)
			}
		}
		return append(buf, r.popLoss...), nil
	}
	for _, m := range r.out {
		s := 0.0
		for q := 0; q < d.Q; q++ {
			s += r.sig[(i*d.M+m)*d.Q+q]
		}
		buf = append(buf, s/float64(d.Q))
	}
	return buf, nil
}
