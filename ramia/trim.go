package ramia

import (
	"fmt"
	"math"
	"slices"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/internal/numpysum"
	"github.com/pmeter/pmeter/metric"
)

// Direction says which per-sample scores of a range the trimmed mean drops (Privacy Meter's
// trim_direction).
type Direction string

// The trim directions.
const (
	// TrimNone averages every sample's score.
	TrimNone Direction = "none"
	// TrimTop drops the highest scores: the range score is the mean of the Keep lowest.
	TrimTop Direction = "top"
	// TrimBottom drops the lowest scores: the range score is the mean of the Keep highest. Keep = 1 is the
	// maximum over the range, the natural aggregate for "does the range contain a member".
	TrimBottom Direction = "bottom"
)

// ParseDirection parses none, top or bottom.
func ParseDirection(s string) (Direction, error) {
	switch d := Direction(s); d {
	case TrimNone, TrimTop, TrimBottom:
		return d, nil
	}
	return "", fmt.Errorf("trim direction %q; want none, top or bottom", s)
}

// Trim is the trimmed mean that turns the S per-sample scores of a range into the range's score (Tao &
// Shokri, §4: the samples of a range that score lowest are mostly far from any training point, so an
// average of the highest is the better test).
type Trim struct {
	Direction Direction `json:"direction"`
	// Ratio is the fraction of the S scores trimmed, as Privacy Meter's trim_ratio (0 for TrimNone).
	Ratio float64 `json:"ratio"`
	// Keep is the number of scores averaged, in [1, S] by default (S for TrimNone). In compat mode it is
	// Privacy Meter's int((1 − Ratio)·S), which can be 0 (the range score is then NaN).
	Keep int `json:"keep"`
}

// FixedTrim returns the trim of ratio and direction for ranges of s samples: Keep = round((1 − ratio)·s)
// (s for TrimNone), which must lie in [1, s]. With compat CompatPrivacyMeter Keep is Privacy Meter's
// int((1 − ratio)·s), the float64 product truncated (s = 10, ratio = 0.8 keeps 1 value and ratio = 0.9
// none), and 0 is allowed.
func FixedTrim(ratio float64, dir Direction, s int, compat attack.Compat) (Trim, error) {
	if _, err := ParseDirection(string(dir)); err != nil {
		return Trim{}, err
	}
	if s < 1 {
		return Trim{}, fmt.Errorf("trim: %d samples per range; want at least 1", s)
	}
	if !(ratio >= 0 && ratio <= 1) {
		return Trim{}, fmt.Errorf("trim ratio %v; want a value in [0, 1]", ratio)
	}
	t := Trim{Direction: dir, Ratio: ratio, Keep: s}
	if dir == TrimNone {
		return t, nil
	}
	if compat == attack.CompatPrivacyMeter {
		t.Keep = int((1 - ratio) * float64(s))
		return t, nil
	}
	t.Keep = int(math.Round((1 - ratio) * float64(s)))
	if t.Keep < 1 {
		return Trim{}, fmt.Errorf("trim ratio %v with %d samples per range keeps round((1 − %v)·%d) = %d scores; want a ratio that keeps at least one (at most %v)",
			ratio, s, ratio, s, t.Keep, 1-0.5/float64(s))
	}
	return t, nil
}

// Aggregate returns the range scores of scores, n ranges × s samples row-major (range-major): each
// range's trimmed mean as t says. A range score is NaN when t keeps no value (compat mode only). The
// means add the kept values in sorted order, ascending for TrimTop and descending for TrimBottom, by
// NumPy's pairwise summation (Privacy Meter's get_bottomk / get_topk followed by mean).
func Aggregate(scores []float64, s int, t Trim) ([]float64, error) {
	if s < 1 || len(scores)%s != 0 {
		return nil, fmt.Errorf("aggregate: %d scores do not form ranges of %d samples", len(scores), s)
	}
	if _, err := ParseDirection(string(t.Direction)); err != nil {
		return nil, err
	}
	if t.Keep < 0 || t.Keep > s {
		return nil, fmt.Errorf("aggregate: keep %d of %d scores per range; want a count in [0, %d]", t.Keep, s, s)
	}
	n := len(scores) / s
	out := make([]float64, n)
	row := make([]float64, s)
	for r := range n {
		copy(row, scores[r*s:(r+1)*s])
		switch t.Direction {
		case TrimNone:
			out[r] = numpysum.Sum(row) / float64(s)
		case TrimTop:
			out[r] = lowestMean(row, t.Keep)
		case TrimBottom:
			out[r] = highestMean(row, t.Keep)
		}
	}
	return out, nil
}

// lowestMean returns the mean of the k lowest values of row (sorted in place), NaN for k = 0.
func lowestMean(row []float64, k int) float64 {
	slices.Sort(row)
	if k == 0 {
		return math.NaN()
	}
	return numpysum.Sum(row[:k]) / float64(k)
}

// highestMean returns the mean of the k highest values of row (sorted in place, descending), NaN for k = 0.
func highestMean(row []float64, k int) float64 {
	slices.Sort(row)
	slices.Reverse(row)
	if k == 0 {
		return math.NaN()
	}
	return numpysum.Sum(row[:k]) / float64(k)
}

// TrimTuning is the result of TuneTrim: the chosen trim and the AUC of every candidate.
type TrimTuning struct {
	Trim Trim `json:"trim"`
	// LowestAUC[k−1] is the AUC of the mean of the k lowest scores of each range (direction TrimTop),
	// HighestAUC[k−1] that of the k highest (TrimBottom).
	LowestAUC  []float64 `json:"lowest_auc"`
	HighestAUC []float64 `json:"highest_auc"`
}

// TuneTrim chooses the trim of ranges of s samples that separates members from non-members best on a
// model whose memberships are known: scores are that model's per-sample scores (range-major) and
// members its range memberships. For k = 1 … s in order, the mean of the k lowest scores (direction
// TrimTop) and then the mean of the k highest (TrimBottom) are candidates; a candidate replaces the
// choice only when its AUC exceeds the best so far, which starts at 0 (Privacy Meter audit.py). The
// chosen trim keeps exactly the k scores whose mean was tuned: Ratio = 1 − k/s in both directions. One
// sample per range gives TrimNone.
//
// With compat CompatPrivacyMeter the choice is recorded as Privacy Meter records it: Ratio = k/s for
// TrimTop (inverted: the trim then keeps about s − k scores) and 1 − k/s for TrimBottom, with Keep =
// int((1 − Ratio)·s) truncated, which can be 0.
func TuneTrim(scores []float64, s int, members []bool, compat attack.Compat) (TrimTuning, error) {
	if s < 1 || len(scores)%s != 0 || len(scores)/s != len(members) {
		return TrimTuning{}, fmt.Errorf("tuning the trim: %d scores and %d ranges do not form ranges of %d samples", len(scores), len(members), s)
	}
	if i := slices.IndexFunc(scores, math.IsNaN); i >= 0 {
		return TrimTuning{}, fmt.Errorf("tuning the trim: the score of sample %d of range %d is NaN", i%s, i/s)
	}
	if s == 1 {
		return TrimTuning{Trim: Trim{Direction: TrimNone, Keep: 1}}, nil
	}
	n := len(members)
	sorted := slices.Clone(scores)
	for r := range n {
		slices.Sort(sorted[r*s : (r+1)*s])
	}
	tun := TrimTuning{LowestAUC: make([]float64, s), HighestAUC: make([]float64, s)}
	agg := make([]float64, n)
	buf := make([]float64, s)
	best, bestK := 0.0, 0
	var bestDir Direction
	for k := 1; k <= s; k++ {
		for _, dir := range []Direction{TrimTop, TrimBottom} {
			for r := range n {
				row := sorted[r*s : (r+1)*s]
				if dir == TrimTop {
					agg[r] = numpysum.Sum(row[:k]) / float64(k)
					continue
				}
				for j := range k {
					buf[j] = row[s-1-j]
				}
				agg[r] = numpysum.Sum(buf[:k]) / float64(k)
			}
			auc := metric.AUC(metric.ROC(agg, members, true))
			if dir == TrimTop {
				tun.LowestAUC[k-1] = auc
			} else {
				tun.HighestAUC[k-1] = auc
			}
			if auc > best {
				best, bestK, bestDir = auc, k, dir
			}
		}
	}
	if bestK == 0 {
		return tun, fmt.Errorf("tuning the trim: no candidate has an AUC above 0 (the tuning model's ranges need members and non-members)")
	}
	tun.Trim = tunedTrim(bestK, s, bestDir, compat)
	return tun, nil
}

// tunedTrim is the trim recorded for the candidate that averages the k lowest (TrimTop) or highest
// (TrimBottom) of s scores.
func tunedTrim(k, s int, dir Direction, compat attack.Compat) Trim {
	if compat == attack.CompatPrivacyMeter {
		return compatTunedTrim(k, s, dir)
	}
	return Trim{Direction: dir, Ratio: 1 - float64(k)/float64(s), Keep: k}
}
