package ramia_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/ramia"
	"github.com/pmeter/pmeter/signal"
)

// Three ranges of four sampled points: the trimmed mean of the two highest scores of each.
func ExampleAggregate() {
	scores := []float64{
		0.1, 0.9, 0.4, 0.2,
		0.5, 0.5, 0.5, 0.5,
		0.0, 0.3, 0.6, 0.9,
	}
	trim, _ := ramia.FixedTrim(0.5, ramia.TrimBottom, 4, attack.CompatNone)
	ranges, _ := ramia.Aggregate(scores, 4, trim)
	fmt.Printf("keep %d of 4: %.2f\n", trim.Keep, ranges)
	// Output: keep 2 of 4: [0.65 0.50 0.75]
}

// An audit of 400 ranges of 5 points under 6 models in complementary pairs (models 2k and 2k+1 train on
// complementary halves), from p(true label) signals computed elsewhere: members' points score higher
// under the models that trained on their range.
func ExampleAudit() {
	const n, s, m, z = 400, 5, 6, 300
	r := rand.New(rand.NewPCG(1, 2))
	members := make([]bool, n*m)
	for i := range n {
		for k := 0; k < m; k += 2 {
			in := r.IntN(2) == 1
			members[i*m+k], members[i*m+k+1] = in, !in
		}
	}
	signals := make([]float64, n*s*m)
	for i := range n {
		base := 0.4 + 0.2*r.Float64()
		for j := range s {
			for k := range m {
				p := base + 0.05*r.NormFloat64()
				if members[i*m+k] {
					p += 0.03
				}
				signals[(i*s+j)*m+k] = min(max(p, 0.01), 0.99)
			}
		}
	}
	population := make([]float64, z*m)
	for i := range population {
		population[i] = min(max(0.5+0.1*r.NormFloat64(), 0.01), 0.99)
	}
	ranges, err := ramia.FromSignals(signals, population, members, s, m, signal.ProbTrue, attack.DesignAuto)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := ramia.Audit(context.Background(), ranges, []int{0}, ramia.Config{TuneOfflineA: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	t := res.Targets[0]
	fmt.Printf("trim %s, mean of %d of %d (tuned on model %d)\n", t.Trim.Direction, t.Trim.Keep, s, t.TuningModel)
	fmt.Printf("range AUC %.2f, per-sample AUC %.2f\n", res.Reported(0).AUC, t.Sample.AUC)
	// Output:
	// trim top, mean of 5 of 5 (tuned on model 2)
	// range AUC 0.75, per-sample AUC 0.64
}
