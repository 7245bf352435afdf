package report

import (
	"context"
	"flag"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/pmeter/pmeter/metric"
)

var nullSeeds = flag.Int("null-seeds", 200, "seeds of TestRiskLevelNull (the full check: 2000)")

// TestRiskLevelNull checks the risk level's false-positive rate: on scores independent of membership
// (a target that leaks nothing) the report's level is "not-detected" in at least 1 − α of the audits, with
// one attack and with several (the level is the highest over the attacks). The check fails when the
// binomial tail probability of the count of audits rated above not-detected is below 0.001. Run the full
// version with go test ./report -run TestRiskLevelNull -null-seeds 2000.
func TestRiskLevelNull(t *testing.T) {
	const n, alpha = 300, 0.05
	for _, attacks := range []int{1, 4} {
		flagged := 0
		for seed := range *nullSeeds {
			r := rand.New(rand.NewPCG(uint64(seed), uint64(attacks)))
			in := &Input{}
			for i := range n {
				in.Records = append(in.Records, Record{ID: i, Label: -1, Member: Bool(r.IntN(2) == 0)})
			}
			for k := range attacks {
				s := make([]float64, n)
				for i := range s {
					s[i] = r.NormFloat64()
					if k%2 == 1 {
						s[i] = math.Round(s[i] * 3) // ties, as RMIA's scores have
					}
				}
				in.Attacks = append(in.Attacks, AttackResult{Name: string(rune('a' + k)), Scores: s})
			}
			a, err := analyze(context.Background(), in, Options{Alpha: alpha, TopK: -1, EpsilonSeed: uint64(seed),
				Bootstrap: metric.BootstrapOptions{Resamples: 20, Seed: uint64(seed)}}) // the level does not use the bootstrap
			if err != nil {
				t.Fatal(err)
			}
			if a.summary.Verdict.Level != levelNone {
				flagged++
			}
		}
		if p := binomTail(flagged, *nullSeeds, alpha); p < 0.001 {
			t.Errorf("%d attacks: %d of %d null audits rated above not-detected at α = %v (binomial tail %.2g)", attacks, flagged, *nullSeeds, alpha, p)
		} else {
			t.Logf("%d attacks: %d of %d null audits rated above not-detected (expected at most %.1f)", attacks, flagged, *nullSeeds, alpha*float64(*nullSeeds))
		}
	}
}

// binomTail returns P(X ≥ k) for X ~ Binomial(n, p).
func binomTail(k, n int, p float64) float64 {
	s := 0.0
	for j := k; j <= n; j++ {
		lg, _ := math.Lgamma(float64(n + 1))
		a, _ := math.Lgamma(float64(j + 1))
		b, _ := math.Lgamma(float64(n - j + 1))
		s += math.Exp(lg - a - b + float64(j)*math.Log(p) + float64(n-j)*math.Log1p(-p))
	}
	return s
}
