package duci_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/duci"
	"github.com/pmeter/pmeter/validity"
)

// ExampleEstimate estimates how much of 400 records two models used, one none and one all, calibrated by
// four reference models (two complementary pairs), on synthetic signals.
func ExampleEstimate() {
	const n, m = 400, 6
	members := make([]bool, n*m)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		members[i*m+1] = true // model 1 used every record; model 0 none
	}
	for pair := range 2 {
		for q, i := range r.Perm(n) {
			members[i*m+2+2*pair+q%2] = true
		}
	}
	d, err := validity.Generate(validity.DefaultSignal(), validity.Draw{Members: members, N: n, M: m, Design: attack.DesignOther, Z: 400, Q: 1, Seed: 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	refs := []int{2, 3, 4, 5}
	res, err := duci.Estimate(context.Background(), d, []duci.Target{{Model: 0, Refs: refs}, {Model: 1, Refs: refs}}, duci.Config{Resamples: 200})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range res {
		fmt.Printf("model %d: proportion %.1f, interval [%.1f, %.1f]\n", e.Target, e.Proportion, e.CI.Lo, e.CI.Hi)
	}
	// Output:
	// model 0: proportion 0.1, interval [0.0, 0.3]
	// model 1: proportion 1.0, interval [0.7, 1.0]
}
