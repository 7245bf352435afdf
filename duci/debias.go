package duci

import (
	"errors"
	"fmt"
	"math"

	"github.com/pmeter/pmeter/internal/numpysum"
	"github.com/pmeter/pmeter/metric"
)

// Debiased is DUCI's estimate from one target's scores and its reference models' scores.
type Debiased struct {
	// Curve is the ROC curve of the reference models' scores pooled (metric.ROC, intermediate points
	// dropped), Best the index of its first point of maximal TPR − FPR.
	Curve metric.Curve
	Best  int
	// Threshold, TPR and FPR are that point's: the rates of the classifier score ≥ Threshold on the
	// references.
	Threshold, TPR, FPR float64
	// Preds are the target's membership predictions, Debiased the debiased ones (Preds − FPR)/(TPR − FPR).
	Preds    []bool
	Debiased []float64
	// Proportion is the mean of Debiased, unclipped; Direct the mean of Preds (the naive estimate).
	Proportion, Direct float64
}

// ErrNoSeparation is returned (wrapped) when the reference models' scores do not separate members from
// non-members at any threshold (TPR ≤ FPR everywhere): the debiasing divides by TPR − FPR.
var ErrNoSeparation = errors.New("the reference models' scores do not separate members from non-members")

// Debias estimates the proportion of members among the target's records from its scores: the threshold
// of maximal TPR − FPR on the reference models' pooled scores refScores (each one score per record,
// labelled by refMembers), and the mean of the debiased predictions (Tong et al., §3). The prediction
// is score ≥ threshold, the classifier whose rates the ROC curve gives; strict uses score > threshold
// instead, as Privacy Meter predicts (its D1), with the rates of ≥.
//
// Errors: shapes that disagree, reference scores without both members and non-members, NaN scores, and
// ErrNoSeparation (unless strict, which divides anyway as Privacy Meter does).
func Debias(target []float64, refScores [][]float64, refMembers [][]bool, strict bool) (*Debiased, error) {
	return debias(target, refScores, refMembers, strict, false)
}

// DebiasCrossFit is Debias with the rates measured on other records than those that chose the
// threshold: rates measured where the threshold of maximal TPR − FPR was chosen overstate TPR − FPR (the
// maximum of noisy differences is biased upward), which pulls the estimate toward the middle (by about
// −0.026 at proportion 1 and +0.012 at 0 on the validity harness's data). The threshold is chosen on the
// references' even-indexed records and the rates measured on the odd ones, then the other way round, and
// each record's debiased prediction is the mean of the two (cross-fitting). Threshold, TPR, FPR and
// Preds remain those of the whole references (Debias's), for description. Estimate uses it; Debias is
// the rule of Tong et al. and Privacy Meter.
func DebiasCrossFit(target []float64, refScores [][]float64, refMembers [][]bool) (*Debiased, error) {
	return debias(target, refScores, refMembers, false, true)
}

func debias(target []float64, refScores [][]float64, refMembers [][]bool, strict, crossFit bool) (*Debiased, error) {
	if len(refScores) == 0 || len(refScores) != len(refMembers) {
		return nil, fmt.Errorf("duci: %d reference score vectors and %d membership vectors; want the same number, at least one", len(refScores), len(refMembers))
	}
	var ps []float64
	var pm []bool
	for j := range refScores {
		if len(refScores[j]) != len(refMembers[j]) {
			return nil, fmt.Errorf("duci: reference %d has %d scores and %d memberships", j, len(refScores[j]), len(refMembers[j]))
		}
		ps = append(ps, refScores[j]...)
		pm = append(pm, refMembers[j]...)
	}
	for _, v := range [][]float64{target, ps} {
		for i, x := range v {
			if math.IsNaN(x) {
				return nil, fmt.Errorf("duci: score %d is NaN", i)
			}
		}
	}
	d := &Debiased{Curve: metric.ROC(ps, pm, true)}
	c := d.Curve
	if c.Len() == 0 || math.IsNaN(c.TPR[0]) || math.IsNaN(c.FPR[0]) {
		return nil, errors.New("duci: the reference models' records need both members and non-members")
	}
	best := math.Inf(-1)
	for k := range c.TPR {
		if g := c.TPR[k] - c.FPR[k]; g > best {
			best, d.Best = g, k
		}
	}
	d.Threshold, d.TPR, d.FPR = c.Thresholds[d.Best], c.TPR[d.Best], c.FPR[d.Best]
	if !strict && !(d.TPR > d.FPR) {
		return nil, fmt.Errorf("duci: %w", ErrNoSeparation)
	}
	d.Preds = make([]bool, len(target))
	d.Debiased = make([]float64, len(target))
	np := 0
	for i, s := range target {
		p := s >= d.Threshold
		if strict {
			p = s > d.Threshold
		}
		f := 0.0
		if p {
			f, np = 1, np+1
		}
		d.Preds[i] = p
		d.Debiased[i] = (f - d.FPR) / (d.TPR - d.FPR)
	}
	if crossFit {
		for sel := range 2 {
			thr, tpr, fpr, err := halfRates(refScores, refMembers, sel)
			if err != nil {
				return nil, err
			}
			for i, s := range target {
				f := 0.0
				if s >= thr {
					f = 1
				}
				v := (f - fpr) / (tpr - fpr) / 2
				if sel == 0 {
					d.Debiased[i] = v
				} else {
					d.Debiased[i] += v
				}
			}
		}
	}
	d.Proportion = numpysum.Sum(d.Debiased) / float64(len(target))
	d.Direct = float64(np) / float64(len(target))
	return d, nil
}

// rates returns the fraction of members and of non-members of one reference model scoring ≥ t.
func rates(scores []float64, members []bool, t float64) (tpr, fpr float64) {
	var tp, p, fp, n int
	for i, s := range scores {
		if members[i] {
			p++
			if s >= t {
				tp++
			}
		} else {
			n++
			if s >= t {
				fp++
			}
		}
	}
	return float64(tp) / float64(p), float64(fp) / float64(n)
}

// halfRates chooses the threshold of maximal TPR − FPR on the references' records of index parity sel
// and returns it with the references' pooled rates on the records of the other parity.
func halfRates(refScores [][]float64, refMembers [][]bool, sel int) (thr, tpr, fpr float64, err error) {
	var ps []float64
	var pm []bool
	for j := range refScores {
		for i := sel; i < len(refScores[j]); i += 2 {
			ps, pm = append(ps, refScores[j][i]), append(pm, refMembers[j][i])
		}
	}
	c := metric.ROC(ps, pm, true)
	if c.Len() == 0 || math.IsNaN(c.TPR[0]) || math.IsNaN(c.FPR[0]) {
		return 0, 0, 0, errors.New("duci: the references' even- and odd-indexed records each need members and non-members")
	}
	best, bk := math.Inf(-1), 0
	for k := range c.TPR {
		if g := c.TPR[k] - c.FPR[k]; g > best {
			best, bk = g, k
		}
	}
	thr = c.Thresholds[bk]
	var tp, p, fp, n int
	for j := range refScores {
		for i := 1 - sel; i < len(refScores[j]); i += 2 {
			hit := refScores[j][i] >= thr
			if refMembers[j][i] {
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
	}
	if p == 0 || n == 0 {
		return 0, 0, 0, errors.New("duci: the references' even- and odd-indexed records each need members and non-members")
	}
	tpr, fpr = float64(tp)/float64(p), float64(fp)/float64(n)
	if !(tpr > fpr) {
		return 0, 0, 0, fmt.Errorf("duci: %w (on half of the records)", ErrNoSeparation)
	}
	return thr, tpr, fpr, nil
}
