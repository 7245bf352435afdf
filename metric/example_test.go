package metric_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/pmeter/pmeter/metric"
)

// An attack whose scores separate members well: the threshold is chosen on half of the records and the
// bound computed on the other half, so it holds at the stated 95 %.
func ExampleHoldoutEpsilon() {
	r := rand.New(rand.NewPCG(1, 2))
	scores := make([]float64, 4000)
	members := make([]bool, 4000)
	for i := range scores {
		members[i] = r.IntN(2) == 0
		scores[i] = r.NormFloat64()
		if members[i] {
			scores[i] += 2
		}
	}
	b, _ := metric.HoldoutEpsilon(scores, members, metric.EpsilonOptions{Seed: 1})
	fmt.Printf("ε ≥ %.2f at δ = %g with %.0f%% confidence (%s, DP bound: %v)\n", b.Value, b.Delta, 100*(1-b.Alpha), b.Method, b.DPBound)
	// Output:
	// ε ≥ 2.93 at δ = 1e-05 with 95% confidence (clopper-pearson-holdout, DP bound: true)
}
