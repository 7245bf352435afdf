package duci_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/duci"
	"github.com/pmeter/pmeter/validity"
)

// TestBootstrapMethods runs both interval constructions on synthetic signals: each interval contains the
// estimate, the default is the conditional one, and an unknown construction is refused.
func TestBootstrapMethods(t *testing.T) {
	const n, m = 400, 5
	members := make([]bool, n*m)
	r := rand.New(rand.NewPCG(4, 5))
	for _, i := range r.Perm(n)[:n/2] {
		members[i*m] = true // the target used half the records
	}
	for pair := range 2 {
		for q, i := range r.Perm(n) {
			members[i*m+1+2*pair+q%2] = true
		}
	}
	d, err := validity.Generate(validity.DefaultSignal(), validity.Draw{Members: members, N: n, M: m, Design: attack.DesignOther, Z: 400, Q: 1, Seed: 6})
	if err != nil {
		t.Fatal(err)
	}
	target := duci.Target{Model: 0, Refs: []int{1, 2, 3, 4}}
	var ivs []*duci.Interval
	for _, method := range []duci.IntervalMethod{"", duci.IntervalConditional, duci.IntervalConservative} {
		res, err := duci.Estimate(context.Background(), d, []duci.Target{target}, duci.Config{Resamples: 100, Seed: 7, Interval: method})
		if err != nil {
			t.Fatalf("%q: %v", method, err)
		}
		ci := res[0].CI
		if ci == nil || !(ci.Lo <= res[0].Proportion && res[0].Proportion <= ci.Hi) || ci.Hi-ci.Lo <= 0 {
			t.Errorf("%q: estimate %v, interval %+v", method, res[0].Proportion, ci)
		}
		ivs = append(ivs, ci)
	}
	if *ivs[0] != *ivs[1] {
		t.Errorf("default interval %+v, conditional %+v; want the same", *ivs[0], *ivs[1])
	}
	if *ivs[1] == *ivs[2] {
		t.Errorf("conditional and conservative intervals are the same, %+v", *ivs[1])
	}
	if _, err := duci.Estimate(context.Background(), d, []duci.Target{target}, duci.Config{Resamples: 10, Interval: "bca"}); err == nil || !strings.Contains(err.Error(), `bootstrap method "bca"`) {
		t.Errorf("unknown construction: %v", err)
	}
}
