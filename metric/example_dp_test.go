package metric_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/pmeter/pmeter/metric"
)

// A one-run audit of the Gaussian mechanism with σ = 1 (ε ≈ 4.38 at δ = 1e-5): 10,000 canaries, each
// included with probability ½, and the guesses fixed in advance: the 100 highest outputs are guessed
// included and the 100 lowest excluded.
func ExampleOneRunAudit() {
	r := rand.New(rand.NewPCG(1, 2))
	scores := make([]float64, 10000)
	included := make([]bool, 10000)
	for i := range scores {
		included[i] = r.IntN(2) == 0
		scores[i] = r.NormFloat64()
		if included[i] {
			scores[i]++
		}
	}
	for _, stat := range []metric.OneRunStat{metric.StatSteinke, metric.StatFDP} {
		b, _ := metric.OneRunAudit(scores, included, metric.OneRunOptions{Stat: stat, KPlus: 100, KMinus: 100})
		fmt.Printf("%s: %d of %d right, ε ≥ %.2f at δ = %g (DP bound: %v)\n", b.Method, b.Guesses.Correct, b.Guesses.Guesses, b.Value, b.Delta, b.DPBound)
	}
	fmt.Printf("exact ε of the mechanism: %.2f\n", metric.GaussianDPEpsilon(1, 1e-5))
	// Output:
	// one-run-steinke: 190 of 200 right, ε ≥ 2.35 at δ = 1e-05 (DP bound: true)
	// one-run-fdp-gaussian: 190 of 200 right, ε ≥ 3.04 at δ = 1e-05 (DP bound: true)
	// exact ε of the mechanism: 4.38
}

// The bound from the counts alone. Privacy Meter's search over guess counts on the same canaries voids
// its p-value; the guess counts must be fixed before the guesses are made.
func ExampleOneRunBound() {
	b, _ := metric.OneRunBound(1000, 100, 90, metric.OneRunOptions{})
	fmt.Printf("ε ≥ %.3f\n", b.Value)
	fdp, _ := metric.OneRunBound(1000, 100, 90, metric.OneRunOptions{Stat: metric.StatFDP})
	fmt.Printf("ε ≥ %.3f within the Gaussian-DP family (μ > %.3f)\n", fdp.Value, fdp.Guesses.GDPMu)
	// Output:
	// ε ≥ 1.626
	// ε ≥ 2.456 within the Gaussian-DP family (μ > 0.603)
}

// The training-algorithm game: 400 training runs, the canary in every other one; the threshold is
// chosen on half of the runs.
func ExampleMultiRunEpsilon() {
	r := rand.New(rand.NewPCG(3, 4))
	scores := make([]float64, 400)
	in := make([]bool, 400)
	for t := range scores {
		in[t] = t%2 == 0
		scores[t] = r.NormFloat64()
		if in[t] {
			scores[t] += 3
		}
	}
	b, _ := metric.MultiRunEpsilon(scores, in, metric.EpsilonOptions{Seed: 1})
	fmt.Printf("ε ≥ %.2f (%s)\n", b.Value, b.Method)
	// Output:
	// ε ≥ 2.84 (clopper-pearson-multi-run)
}
