package dpaudit

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/pmeter/pmeter/metric"
)

// guessFractions are the fractions of the canaries that PlanGuesses tries as k+ and as k−.
var guessFractions = []float64{0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5}

// planCanaries bounds the canaries PlanGuesses simulates.
const planCanaries = 4000

// PlanGuesses returns the numbers of guesses of a one-run audit of spec's canaries over steps DP-SGD
// steps, chosen before training: it simulates the claimed mechanism (Simulate with spec's σ and C, the
// canaries at norm C, no data gradient on their coordinates; up to 4,000 canaries with their
// inclusions drawn from seed), and returns the k+ (highest scores guessed included) and k− (lowest
// guessed excluded), each a fraction of 0 to 50 % of spec.Count, whose counts there give the largest
// bound of the statistic stat at alpha and delta. It depends on the claim and the seed only, never on
// the training that is audited, so the guesses are fixed in advance as the one-run theorems require.
func PlanGuesses(spec Spec, steps int, stat metric.OneRunStat, alpha, delta float64, seed uint64) (kPlus, kMinus int, err error) {
	if steps < 1 {
		return 0, 0, fmt.Errorf("dpaudit: %d steps; want at least 1", steps)
	}
	if spec.NoiseMultiplier == 0 {
		return 0, 0, fmt.Errorf("dpaudit: planning the guesses needs the claimed noise multiplier > 0")
	}
	n := min(spec.Count, planCanaries)
	sim := spec
	sim.Count, sim.Direction, sim.Norm = n, DirectionDirac, 1
	in := Inclusions(n, seed^0x706c616e) // "plan"
	r, err := NewRun(sim, n, in, seed)
	if err != nil {
		return 0, 0, err
	}
	if err := r.Simulate(Mechanism{NoiseMultiplier: spec.NoiseMultiplier, ClipNorm: spec.ClipNorm, Steps: steps}, seed); err != nil {
		return 0, 0, err
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sc := r.scores
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case sc[a] < sc[b]:
			return -1
		case sc[a] > sc[b]:
			return 1
		}
		return 0
	})
	// Precision of the top and bottom fractions on the simulated canaries.
	rightTop := func(k int) int { // included among the k highest
		c := 0
		for _, i := range order[n-k:] {
			if in[i] {
				c++
			}
		}
		return c
	}
	rightBottom := func(k int) int {
		c := 0
		for _, i := range order[:k] {
			if !in[i] {
				c++
			}
		}
		return c
	}
	m := spec.Count
	best := -1.0
	opt := metric.OneRunOptions{Stat: stat, Alpha: alpha, Delta: delta, NoDelta: delta == 0}
	for _, fp := range guessFractions {
		for _, fm := range guessFractions {
			kp, km := int(math.Round(fp*float64(m))), int(math.Round(fm*float64(m)))
			sp, sm := int(math.Round(fp*float64(n))), int(math.Round(fm*float64(n)))
			if kp+km == 0 || kp+km > m || sp+sm == 0 || sp+sm > n || (kp == 0) != (sp == 0) || (km == 0) != (sm == 0) {
				continue
			}
			// The expected right guesses at m canaries: the simulated precision on each side.
			right := 0.0
			if sp > 0 {
				right += float64(kp) * float64(rightTop(sp)) / float64(sp)
			}
			if sm > 0 {
				right += float64(km) * float64(rightBottom(sm)) / float64(sm)
			}
			b, err := metric.OneRunBound(m, kp+km, min(kp+km, int(math.Round(right))), opt)
			if err != nil {
				return 0, 0, err
			}
			if b.Value > best {
				best, kPlus, kMinus = b.Value, kp, km
			}
		}
	}
	if best < 0 { // one canary
		return 1, 0, nil
	}
	return kPlus, kMinus, nil
}

// Inclusions draws m canaries' inclusions, each independently with probability ½, from seed.
func Inclusions(m int, seed uint64) []bool {
	pcg := rand.NewPCG(seed, 0x696e636c756465) // "include"
	in := make([]bool, m)
	for i := range in {
		in[i] = pcg.Uint64()>>63 == 1
	}
	return in
}
