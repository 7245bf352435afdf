package duci

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/pmeter/pmeter/internal/parallel"
	"github.com/pmeter/pmeter/metric"
)

// BootstrapOptions configures Bootstrap.
type BootstrapOptions struct {
	Resamples int     // B; 1000 if 0
	Level     float64 // in (0, 1); 0.95 if 0
	Seed      uint64
}

// Bootstrap returns a percentile bootstrap confidence interval for the debiased proportion estimate
// (DebiasCrossFit) of target's scores given the reference models' scores and memberships. Each resample
// draws the reference models with replacement and the records with replacement, within the even and
// within the odd records (the same records for the target and for every reference, so that a record's
// difficulty is shared as in the data), and cross-fits as DebiasCrossFit does: the threshold of maximal
// TPR − FPR on the resampled references' even records with their rates on the odd ones, and the other
// way round, each debiasing the resampled target's predictions; the resample's estimate is the mean. The interval runs from the (1 − Level)/2 to the (1 + Level)/2
// quantile of the B estimates (numpy's linear interpolation), clipped to [0, 1].
//
// The target is a single model, whose TPR and FPR differ from the references' mean by one model's
// deviation; with K ≥ 2 references each resample adds to its rates the deviation of a reference drawn
// at random from the mean of all K, scaled by √(K/(K−1)) (the sample variance's correction), so that the
// rates vary as a model's would around an estimate from K models (variance σ²(1 + 1/K)). With one
// reference that deviation cannot be measured and is left out.
//
// What it guarantees: it accounts for which records were drawn into the dataset, for which reference
// models were trained and for the target being one more model, so it covers the target's proportion at
// about Level when the target's attack behaves like a reference model's (the target trained like the
// references, on a subset of the dataset).
// The validity harness measures that coverage. A resample whose references do not separate members from
// non-members (TPR ≤ FPR) has no estimate; it counts as consistent with every proportion (alternately
// −∞ and +∞), which widens the interval toward [0, 1].
//
// Resample b draws from PCG seeded with (Seed, b), on all cores; the result depends only on the inputs.
func Bootstrap(ctx context.Context, target []float64, refScores [][]float64, refMembers [][]bool, opt BootstrapOptions) (Interval, error) {
	if opt.Resamples == 0 {
		opt.Resamples = 1000
	}
	if opt.Level == 0 {
		opt.Level = 0.95
	}
	if opt.Resamples < 2 || !(opt.Level > 0 && opt.Level < 1) {
		return Interval{}, fmt.Errorf("duci: bootstrap of %d resamples at level %v; want at least 2 resamples and a level in (0, 1)", opt.Resamples, opt.Level)
	}
	n, k := len(target), len(refScores)
	for j := range refScores {
		if len(refScores[j]) != n || len(refMembers[j]) != n {
			return Interval{}, fmt.Errorf("duci: bootstrap: reference %d has %d scores and %d memberships for %d records", j, len(refScores[j]), len(refMembers[j]), n)
		}
	}
	est := make([]float64, opt.Resamples)
	type scratch struct {
		recs, other []int
		ps          []float64
		pm          []bool
	}
	evens, odds := (n+1)/2, n/2
	if odds == 0 {
		return Interval{}, fmt.Errorf("duci: bootstrap of %d record(s); want at least 2", n)
	}
	err := parallel.ForEach(ctx, opt.Resamples, 0, func() *scratch {
		return &scratch{recs: make([]int, n), other: make([]int, 0, n), ps: make([]float64, 0, n*k), pm: make([]bool, 0, n*k)}
	}, func(_ context.Context, w *scratch, b int) error {
		rng := rand.New(rand.NewPCG(opt.Seed, uint64(b)))
		// Records are drawn within the even and within the odd ones, which DebiasCrossFit uses in
		// turn to choose the threshold and to measure the rates; the target's predictions are over all
		// the drawn records.
		for i := range w.recs {
			if i%2 == 0 {
				w.recs[i] = 2 * rng.IntN(evens)
			} else {
				w.recs[i] = 2*rng.IntN(odds) + 1
			}
		}
		refs := make([]int, k)
		for q := range refs {
			refs[q] = rng.IntN(k)
		}
		dev := rng.IntN(k) // the reference whose deviation is added
		sum := 0.0
		for sel := range 2 {
			w.ps, w.pm, w.other = w.ps[:0], w.pm[:0], w.other[:0]
			for q, i := range w.recs {
				if q%2 != sel {
					w.other = append(w.other, i)
				}
			}
			for _, j := range refs {
				for q := sel; q < n; q += 2 {
					i := w.recs[q]
					w.ps = append(w.ps, refScores[j][i])
					w.pm = append(w.pm, refMembers[j][i])
				}
			}
			c := metric.ROC(w.ps, w.pm, true)
			best, bk := math.Inf(-1), 0
			for q := range c.TPR {
				if g := c.TPR[q] - c.FPR[q]; g > best {
					best, bk = g, q
				}
			}
			thr := c.Thresholds[bk]
			var tp, np1, fp, nn int
			for _, j := range refs {
				tp1, p1, fp1, n1 := countsAt(refScores[j], refMembers[j], w.other, thr)
				tp, np1, fp, nn = tp+tp1, np1+p1, fp+fp1, nn+n1
			}
			if np1 == 0 || nn == 0 {
				est[b] = math.Inf(2*(b%2) - 1)
				return nil
			}
			tpr, fpr := float64(tp)/float64(np1), float64(fp)/float64(nn)
			if k > 1 {
				// The target is one model: its rates differ from the references' mean by a model's
				// deviation, which the mean of K resampled references does not show. Add one
				// reference's deviation from the mean of all K, scaled to the variance of a model.
				var dt, df float64
				for q := range k {
					t, f := ratesAt(refScores[q], refMembers[q], w.other, thr)
					if q == dev {
						dt, df = dt+t, df+f
					}
					dt, df = dt-t/float64(k), df-f/float64(k)
				}
				s := math.Sqrt(float64(k) / float64(k-1))
				tpr, fpr = tpr+s*dt, fpr+s*df
			}
			if !(tpr > fpr) {
				est[b] = math.Inf(2*(b%2) - 1)
				return nil
			}
			np := 0
			for _, i := range w.recs {
				if target[i] >= thr {
					np++
				}
			}
			sum += (float64(np)/float64(n) - fpr) / (tpr - fpr)
		}
		est[b] = sum / 2
		return nil
	})
	if err != nil {
		return Interval{}, err
	}
	iv := Interval{Level: opt.Level, Resamples: opt.Resamples}
	for _, e := range est {
		if math.IsInf(e, 0) {
			iv.Undefined++
		}
	}
	slices.Sort(est)
	iv.Lo = min(1, max(0, quantile(est, (1-opt.Level)/2)))
	iv.Hi = min(1, max(0, quantile(est, (1+opt.Level)/2)))
	return iv, nil
}

// quantile is numpy.percentile's linear interpolation on the ascending v, an infinite neighbour winning.
func quantile(v []float64, q float64) float64 {
	pos := q * float64(len(v)-1)
	i := int(math.Floor(pos))
	if i >= len(v)-1 {
		return v[len(v)-1]
	}
	a, b, t := v[i], v[i+1], pos-float64(i)
	switch {
	case t == 0:
		return a
	case math.IsInf(a, 0):
		return a
	case math.IsInf(b, 0):
		return b
	}
	return a + (b-a)*t
}

// ratesAt returns the fraction of members and of non-members among the records recs (with their
// multiplicity) scoring ≥ t; 0 for a class with no record.
func ratesAt(scores []float64, members []bool, recs []int, t float64) (tpr, fpr float64) {
	tp, p, fp, n := countsAt(scores, members, recs, t)
	if p > 0 {
		tpr = float64(tp) / float64(p)
	}
	if n > 0 {
		fpr = float64(fp) / float64(n)
	}
	return tpr, fpr
}

// countsAt returns the members scoring ≥ t, the members, the non-members scoring ≥ t and the
// non-members among the records recs (with their multiplicity).
func countsAt(scores []float64, members []bool, recs []int, t float64) (tp, p, fp, n int) {
	for _, i := range recs {
		hit := scores[i] >= t
		if members[i] {
			p++
			if hit {
				tp++
			}
		} else {
			n++
			if hit {
				fp++
			}
		}
	}
	return tp, p, fp, n
}
