package attack

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/pmeter/pmeter/dataset"
	"github.com/pmeter/pmeter/signal"
)

// designData returns records × models memberships of a design, as attack data without signals.
func designData(t *testing.T, design Design, n, m int, seed uint64) *Data {
	t.Helper()
	var ms *dataset.Memberships
	var err error
	switch design {
	case DesignPairs:
		ms, err = dataset.PairedMemberships(n, m/2, seed)
	case DesignLiRA:
		ms, err = dataset.LiRAMemberships(n, m, 0.5, seed)
	case DesignBernoulli:
		ms, err = dataset.BernoulliMemberships(n, m, seed)
	default:
		t.Fatalf("no generator for design %s", design)
	}
	if err != nil {
		t.Fatal(err)
	}
	return &Data{N: n, M: m, Q: 1, Members: ms.Members, Design: design}
}

// TestSelectReferencesRule asserts the rule of SelectReferences directly: a record's IN and OUT
// reference counts do not depend on its membership in the target (fixed-count designs: they are the
// same for every record; bernoulli: their distribution is the same for members and non-members), the
// target and its determined models are never references, and each side is capped.
func TestSelectReferencesRule(t *testing.T) {
	for _, tc := range []struct {
		design          Design
		m, numRef       int
		wantIn, wantOut int // -1: varies per record
		excluded        int // models excluded as determined by the target
	}{
		{DesignPairs, 10, 0, 4, 4, 1},
		{DesignPairs, 10, 2, 2, 2, 1},
		{DesignLiRA, 10, 0, 4, 4, 0},
		{DesignLiRA, 9, 0, 3, 4, 0},
		{DesignLiRA, 9, 2, 2, 2, 0},
		{DesignLiRA, 16, 0, 7, 7, 0},
		{DesignBernoulli, 12, 0, -1, -1, 0},
		{DesignBernoulli, 12, 3, -1, -1, 0},
	} {
		t.Run(fmt.Sprintf("%s/M=%d/R=%d", tc.design, tc.m, tc.numRef), func(t *testing.T) {
			const n = 4000
			d := designData(t, tc.design, n, tc.m, 7)
			for _, target := range []int{0, tc.m - 1} {
				r, err := SelectReferences(d, target, RefConfig{NumRef: tc.numRef})
				if err != nil {
					t.Fatal(err)
				}
				if len(r.Excluded) != tc.excluded {
					t.Errorf("target %d: excluded %v, want %d models", target, r.Excluded, tc.excluded)
				}
				if slices.Contains(r.Pool, target) {
					t.Errorf("target %d is in the pool %v", target, r.Pool)
				}
				if r.NumIn != tc.wantIn || r.NumOut != tc.wantOut {
					t.Errorf("target %d: NumIn, NumOut = %d, %d; want %d, %d", target, r.NumIn, r.NumOut, tc.wantIn, tc.wantOut)
				}
				var sum [2][2]float64 // [member][side] total counts
				var cnt [2]float64
				var in, out []int
				for i := range n {
					in, out = r.Record(i, in, out)
					mem := 0
					if d.Member(i, target) {
						mem = 1
					}
					for _, c := range in {
						if !d.Member(i, c) || c == target || slices.Contains(r.Excluded, c) {
							t.Fatalf("record %d: IN reference %d is not a valid IN model", i, c)
						}
					}
					for _, c := range out {
						if d.Member(i, c) || c == target || slices.Contains(r.Excluded, c) {
							t.Fatalf("record %d: OUT reference %d is not a valid OUT model", i, c)
						}
					}
					if tc.numRef > 0 && (len(in) > tc.numRef || len(out) > tc.numRef) {
						t.Fatalf("record %d: %d IN, %d OUT exceed the cap %d", i, len(in), len(out), tc.numRef)
					}
					if tc.wantIn >= 0 && (len(in) != tc.wantIn || len(out) != tc.wantOut) {
						t.Fatalf("record %d (member %v): %d IN, %d OUT; want %d, %d", i, mem == 1, len(in), len(out), tc.wantIn, tc.wantOut)
					}
					sum[mem][0] += float64(len(in))
					sum[mem][1] += float64(len(out))
					cnt[mem]++
				}
				if tc.wantIn < 0 {
					// Independent design: mean counts agree between members and non-members within noise
					// (binomial counts: sd ≤ √(M/4) per record).
					for side := range 2 {
						a, b := sum[0][side]/cnt[0], sum[1][side]/cnt[1]
						se := 0.5 * float64(tc.m) / 2 * (1/cnt[0] + 1/cnt[1])
						if d := a - b; d*d > 25*se {
							t.Errorf("side %d: mean count %.3f for non-members, %.3f for members", side, a, b)
						}
					}
				}
			}
		})
	}
}

// TestSelectReferencesModelUse checks that equalisation drops models evenly: in the LiRA design every
// pool model serves as an IN reference of members and of non-members equally often, within noise, so
// which models remain does not depend on the membership in the target.
func TestSelectReferencesModelUse(t *testing.T) {
	const n, m = 20000, 8
	d := designData(t, DesignLiRA, n, m, 3)
	r, err := SelectReferences(d, 0, RefConfig{})
	if err != nil {
		t.Fatal(err)
	}
	use := make([][2]float64, m)
	var cnt [2]float64
	var in, out []int
	for i := range n {
		mem := 0
		if d.Member(i, 0) {
			mem = 1
		}
		cnt[mem]++
		in, out = r.Record(i, in, out)
		for _, c := range in {
			use[c][mem]++
		}
	}
	for _, c := range r.Pool {
		a, b := use[c][0]/cnt[0], use[c][1]/cnt[1]
		if d := a - b; d > 0.03 || d < -0.03 {
			t.Errorf("model %d is an IN reference of %.3f of non-members and %.3f of members", c, a, b)
		}
	}
}

func TestInferDesign(t *testing.T) {
	for _, design := range []Design{DesignPairs, DesignLiRA} {
		d := designData(t, design, 500, 8, 1)
		if got := InferDesign(d.Members, d.N, d.M); got != design {
			t.Errorf("InferDesign of %s memberships = %s", design, got)
		}
	}
	d := designData(t, DesignBernoulli, 500, 8, 1)
	if got := InferDesign(d.Members, d.N, d.M); got != DesignOther {
		t.Errorf("InferDesign of bernoulli memberships = %s, want other (independence cannot be inferred)", got)
	}
}

func TestCheckDPDesign(t *testing.T) {
	for _, tc := range []struct {
		design Design
		ok     bool
	}{{DesignBernoulli, true}, {DesignLiRA, true}, {DesignPairs, false}, {DesignOther, false}} {
		gen := tc.design
		if gen == DesignOther {
			gen = DesignBernoulli
		}
		d := designData(t, gen, 100, 8, 1)
		d.Design = tc.design
		if err := CheckDPDesign(d, 0); (err == nil) != tc.ok {
			t.Errorf("%s: CheckDPDesign = %v, want ok %v", tc.design, err, tc.ok)
		}
	}
}

// TestMissingSideFallbacks: in the bernoulli design some records have no IN or no OUT reference model
// (with 3 models, a quarter of them on each side); the attacks take their documented fallbacks instead of
// failing, and the scores stay finite.
func TestMissingSideFallbacks(t *testing.T) {
	const n, m, z = 400, 3, 100
	d := designData(t, DesignBernoulli, n, m, 5)
	rng := rand.New(rand.NewPCG(1, 1))
	d.Kind = signal.ProbTrue
	d.Signals = make([]float64, n*m)
	for k := range d.Signals {
		d.Signals[k] = 1 / (1 + math.Exp(-rng.NormFloat64()-1))
	}
	d.Z, d.Population = z, make([]float64, z*m)
	for k := range d.Population {
		d.Population[k] = 1 / (1 + math.Exp(-rng.NormFloat64()-1))
	}
	r, _ := SelectReferences(d, 0, RefConfig{})
	noIn, noOut := 0, 0
	for i := range n {
		in, out := r.Record(i, nil, nil)
		if len(in) == 0 {
			noIn++
		}
		if len(out) == 0 {
			noOut++
		}
	}
	if noIn == 0 || noOut == 0 {
		t.Fatalf("%d records without IN and %d without OUT references; the test needs both", noIn, noOut)
	}
	for _, tc := range []struct {
		name   string
		params map[string]string
	}{
		{"lira", nil}, {"lira", map[string]string{"online": "false"}}, {"lira", map[string]string{"fix_variance": "false"}},
		{"rmia", nil}, {"rmia", map[string]string{"online": "true"}},
		{"reference", nil}, {"reference", map[string]string{"dummies": "true"}},
	} {
		spec, _ := Lookup(tc.name)
		s, err := spec.Run(d, 0, tc.params)
		if err != nil {
			t.Fatalf("%s %v: %v", tc.name, tc.params, err)
		}
		for i, v := range s {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%s %v: record %d scores %v", tc.name, tc.params, i, v)
			}
		}
	}
}
