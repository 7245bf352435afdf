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
		want := method
		if want == "" {
			want = duci.IntervalConditional
		}
		if ci != nil && ci.Method != want {
			t.Errorf("%q: the interval says it is %q, want %q", method, ci.Method, want)
		}
		ivs = append(ivs, ci)
	}
	if *ivs[0] != *ivs[1] {
		t.Errorf("default interval %+v, conditional %+v; want the same", *ivs[0], *ivs[1])
	}
	if ivs[1].Lo == ivs[2].Lo && ivs[1].Hi == ivs[2].Hi {
		t.Errorf("conditional and conservative intervals are the same, %+v", *ivs[1])
	}
	if _, err := duci.Estimate(context.Background(), d, []duci.Target{target}, duci.Config{Resamples: 10, Interval: "bca"}); err == nil || !strings.Contains(err.Error(), `interval "bca": want conditional (the default) or conservative`) {
		t.Errorf("unknown construction: %v", err)
	}
}

// TestParseInterval: the names of the constructions, the default for none, and an error that lists them.
func TestParseInterval(t *testing.T) {
	for _, c := range []struct {
		in   string
		want duci.IntervalMethod
		err  string
	}{
		{"", duci.IntervalConditional, ""},
		{"conditional", duci.IntervalConditional, ""},
		{"conservative", duci.IntervalConservative, ""},
		{"Conservative", "", `interval "Conservative": want conditional (the default) or conservative`},
		{"bca", "", `interval "bca": want conditional (the default) or conservative`},
	} {
		got, err := duci.ParseInterval(c.in)
		if got != c.want || (err == nil) != (c.err == "") || err != nil && err.Error() != c.err {
			t.Errorf("ParseInterval(%q) = %q, %v; want %q, %q", c.in, got, err, c.want, c.err)
		}
	}
}
