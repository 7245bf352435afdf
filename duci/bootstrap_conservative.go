package duci

import (
	"math"
	"math/rand/v2"
)

// resampleConservative is one resample of IntervalConservative, pmeter's first construction: the
// references and the records drawn (w.recs), the target's predictions over the drawn records, and one
// reference's deviation from the mean of all K added to the rates, scaled by √(K/(K−1)).
//
// It is wide: drawing the target's records redraws how many of them are members, a variance of
// p(1 − p)/N that the estimate, whose memberships are fixed, does not have; and the added deviation
// carries that reference's own sampling noise on half the records, which the drawn records already
// count for the target. That padding is also what made it cover where the models really differ, except
// at p = 1, where the term vanishes and it missed 8.5–10 % at 95 % (README "DUCI interval coverage and
// width").
func resampleConservative(w *bootScratch, rng *rand.Rand, b int, target []float64, refScores [][]float64, refMembers [][]bool) float64 {
	n, k := len(target), len(refScores)
	refs := make([]int, k)
	for q := range refs {
		refs[q] = rng.IntN(k)
	}
	dev := rng.IntN(k) // the reference whose deviation is added
	sum := 0.0
	for sel := range 2 {
		thr := w.threshold(refs, refScores, refMembers, sel)
		var tp, np1, fp, nn int
		for _, j := range refs {
			tp1, p1, fp1, n1 := countsAt(refScores[j], refMembers[j], w.other, thr)
			tp, np1, fp, nn = tp+tp1, np1+p1, fp+fp1, nn+n1
		}
		if np1 == 0 || nn == 0 {
			return math.Inf(2*(b%2) - 1)
		}
		tpr, fpr := float64(tp)/float64(np1), float64(fp)/float64(nn)
		if k > 1 {
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
			return math.Inf(2*(b%2) - 1)
		}
		np := 0
		for _, i := range w.recs {
			if target[i] >= thr {
				np++
			}
		}
		sum += (float64(np)/float64(n) - fpr) / (tpr - fpr)
	}
	return sum / 2
}
