package metric

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/pmeter/pmeter/internal/parallel"
)

// BootstrapOptions configures Bootstrap.
type BootstrapOptions struct {
	Resamples int     // number of bootstrap resamples B; 1000 if 0
	Level     float64 // confidence level of the intervals, in (0, 1); 0.95 if 0
	Seed      uint64  // seed of the resampling; the same seed gives the same intervals
}

// Interval is a confidence interval [Lo, Hi].
type Interval struct {
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
}

// TPRInterval is a confidence interval for the TPR at FPR <= FPR.
type TPRInterval struct {
	FPR float64 `json:"fpr"`
	Interval
}

// BootstrapResult holds percentile bootstrap confidence intervals for the statistics of a Result.
type BootstrapResult struct {
	Resamples        int           `json:"resamples"`
	Level            float64       `json:"level"`
	AUC              Interval      `json:"auc"`
	BalancedAccuracy Interval      `json:"balanced_accuracy"`
	TPRAtFPR         []TPRInterval `json:"tpr_at_fpr"` // at StandardFPRs, in that order
}

// Bootstrap returns percentile bootstrap confidence intervals for AUC, balanced accuracy and TPR at each of
// StandardFPRs, computed exactly as Evaluate computes them. Each resample draws, with replacement, as many
// members from the members and as many non-members from the non-members as there are (stratified by
// membership, so that every resample has both). The interval at level L runs from the (1-L)/2 to the
// (1+L)/2 quantile of the B resampled values, by linear interpolation between order statistics (numpy's
// default percentile).
//
// Resample b draws from its own generator, PCG seeded with (Seed, b), and the resamples run on all cores:
// the result depends only on the inputs and the options, not on GOMAXPROCS. Each resample costs O(n)
// (resampling from the sorted scores needs no sort). Bootstrap stops early with ctx's error when ctx is
// cancelled. It returns the errors of Evaluate for bad input, and an error for bad options.
func Bootstrap(ctx context.Context, scores []float64, members []bool, opt BootstrapOptions) (BootstrapResult, error) {
	if opt.Resamples == 0 {
		opt.Resamples = 1000
	}
	if opt.Level == 0 {
		opt.Level = 0.95
	}
	if opt.Resamples < 0 {
		return BootstrapResult{}, fmt.Errorf("bootstrap resamples %d is negative", opt.Resamples)
	}
	if !(opt.Level > 0 && opt.Level < 1) {
		return BootstrapResult{}, fmt.Errorf("bootstrap level %v is not in (0, 1)", opt.Level)
	}
	if _, err := validate(scores, members); err != nil {
		return BootstrapResult{}, err
	}
	pos, neg := splitSorted(scores, members)
	fprs := StandardFPRs()
	B := opt.Resamples
	// stats[s][b]: statistic s (AUC, balanced accuracy, then the TPRs) of resample b.
	stats := make([][]float64, 2+len(fprs))
	for s := range stats {
		stats[s] = make([]float64, B)
	}

	err := parallel.ForEach(ctx, B, 0, func() *resampler { return newResampler(len(pos), len(neg)) },
		func(_ context.Context, w *resampler, b int) error {
			c := w.curve(pos, neg, rand.New(rand.NewPCG(opt.Seed, uint64(b))))
			stats[0][b] = AUC(c)
			stats[1][b] = BalancedAccuracy(c)
			for i, f := range fprs {
				stats[2+i][b] = TPRAtFPR(c, f)
			}
			return nil
		})
	if err != nil {
		return BootstrapResult{}, fmt.Errorf("bootstrap: %w", err)
	}

	lo, hi := (1-opt.Level)/2, (1+opt.Level)/2
	interval := func(v []float64) Interval {
		slices.Sort(v)
		return Interval{Lo: percentile(v, lo), Hi: percentile(v, hi)}
	}
	res := BootstrapResult{
		Resamples:        B,
		Level:            opt.Level,
		AUC:              interval(stats[0]),
		BalancedAccuracy: interval(stats[1]),
		TPRAtFPR:         make([]TPRInterval, len(fprs)),
	}
	for i, f := range fprs {
		res.TPRAtFPR[i] = TPRInterval{FPR: f, Interval: interval(stats[2+i])}
	}
	return res, nil
}

// resampler holds one worker's buffers.
type resampler struct {
	posCount, negCount []int32
	pos, neg           []float64
	curveBuf           Curve
}

func newResampler(np, nn int) *resampler {
	n := np + nn + 1 // the most points a curve can have
	return &resampler{
		posCount: make([]int32, np), negCount: make([]int32, nn),
		pos: make([]float64, np), neg: make([]float64, nn),
		curveBuf: Curve{FPR: make([]float64, 0, n), TPR: make([]float64, 0, n), Thresholds: make([]float64, 0, n)},
	}
}

// curve draws one stratified resample of the ascending score slices pos and neg and returns its ROC curve
// with intermediate points dropped. The curve's slices are reused by the next call.
func (w *resampler) curve(pos, neg []float64, r *rand.Rand) Curve {
	draw := func(src, dst []float64, count []int32) {
		clear(count)
		for range src {
			count[r.IntN(len(src))]++
		}
		// Expanding the counts in index order keeps the resample sorted.
		k := 0
		for i, c := range count {
			for ; c > 0; c-- {
				dst[k] = src[i]
				k++
			}
		}
	}
	draw(pos, w.pos, w.posCount)
	draw(neg, w.neg, w.negCount)
	w.curveBuf = curveFromSorted(w.pos, w.neg, true, w.curveBuf)
	return w.curveBuf
}

// percentile returns the q quantile of the ascending slice v (len > 0) by linear interpolation between the
// order statistics at positions q*(len-1), as numpy.percentile's default method.
func percentile(v []float64, q float64) float64 {
	pos := q * float64(len(v)-1)
	i := int(math.Floor(pos))
	if i >= len(v)-1 {
		return v[len(v)-1]
	}
	a, b, t := v[i], v[i+1], pos-float64(i)
	if t >= 0.5 { // numpy's lerp, exact at t = 1
		return b - (b-a)*(1-t)
	}
	return a + (b-a)*t
}
