package metric

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestOneRunAuditErrors(t *testing.T) {
	s, in := []float64{3, 2, 1, 0}, []bool{true, true, false, false}
	for _, tt := range []struct {
		name    string
		scores  []float64
		in      []bool
		opt     OneRunOptions
		wantErr string
	}{
		{"lengths", s, in[:3], OneRunOptions{KPlus: 1}, "4 scores but 3 inclusions"},
		{"empty", nil, nil, OneRunOptions{KPlus: 1}, "no canaries"},
		{"NaN", []float64{1, math.NaN(), 0, 0}, in, OneRunOptions{KPlus: 1}, "score 1 is NaN"},
		{"negative k", s, in, OneRunOptions{KPlus: -1, KMinus: 2}, "want counts ≥ 0"},
		{"too many guesses", s, in, OneRunOptions{KPlus: 3, KMinus: 2}, "exceed the 4 canaries"},
		{"no guesses", s, in, OneRunOptions{}, "no guesses"},
		{"both", s, in, OneRunOptions{KPlus: 1, SelectFraction: 0.5}, "not both"},
		{"fraction 1", s, in, OneRunOptions{SelectFraction: 1}, "not in (0, 1)"},
		{"fraction empties a part", s, in, OneRunOptions{SelectFraction: 0.1}, "0 of 4 canaries for selection"},
		{"alpha", s, in, OneRunOptions{KPlus: 1, Alpha: 1.5}, "alpha 1.5"},
		{"delta", s, in, OneRunOptions{KPlus: 1, Delta: 1}, "delta 1"},
		{"fdp at delta 0", s, in, OneRunOptions{KPlus: 1, Stat: StatFDP, NoDelta: true}, "δ = 0"},
		{"statistic", s, in, OneRunOptions{KPlus: 1, Stat: "lira"}, `statistic "lira"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := OneRunAudit(tt.scores, tt.in, tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	for _, tt := range []struct {
		m, g, c int
		want    string
	}{{0, 0, 0, "0 canaries"}, {10, 11, 0, "11 guesses on 10"}, {10, 5, 6, "6 correct guesses of 5"}, {10, 5, -1, "-1 correct"}} {
		if _, err := OneRunBound(tt.m, tt.g, tt.c, OneRunOptions{}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("OneRunBound(%d, %d, %d): %v, want an error containing %q", tt.m, tt.g, tt.c, err, tt.want)
		}
	}
}

// TestOneRunAuditCounts checks the guesses on a small example against counts done by hand, for both
// statistics: the bound is that of OneRunBound on the same counts.
func TestOneRunAuditCounts(t *testing.T) {
	scores := []float64{0.9, 0.1, 0.8, 0.3, 0.5, 0.2, 0.95, 0.4}
	in := []bool{true, false, false, true, true, false, true, false}
	// Ascending: 0.1(out) 0.2(out) 0.3(in) 0.4(out) 0.5(in) 0.8(out) 0.9(in) 0.95(in).
	for _, stat := range []OneRunStat{StatSteinke, StatFDP} {
		for _, tt := range []struct {
			kPlus, kMinus, tp, correct int
		}{
			{3, 2, 2, 4}, // top 0.95 0.9 0.8: 2 in; bottom 0.1 0.2: 2 out
			{2, 0, 2, 2},
			{0, 3, 0, 2},
			{4, 4, 3, 6},
		} {
			opt := OneRunOptions{Stat: stat, KPlus: tt.kPlus, KMinus: tt.kMinus}
			b, err := OneRunAudit(scores, in, opt)
			if err != nil {
				t.Fatal(err)
			}
			g := b.Guesses
			if b.TP != tt.tp || b.FP != tt.kPlus-tt.tp || g.Correct != tt.correct || g.Guesses != tt.kPlus+tt.kMinus ||
				g.Canaries != 8 || g.KPlus != tt.kPlus || g.KMinus != tt.kMinus || b.EvalMembers != 4 || b.EvalNonMembers != 4 {
				t.Errorf("%s k+ %d k− %d: %+v %+v", stat, tt.kPlus, tt.kMinus, b, *g)
			}
			want, err := OneRunBound(8, g.Guesses, g.Correct, OneRunOptions{Stat: stat})
			if err != nil {
				t.Fatal(err)
			}
			if b.Value != want.Value || b.Method != want.Method || b.Guarantee == "" {
				t.Errorf("%s: value %v method %s, OneRunBound %v %s", stat, b.Value, b.Method, want.Value, want.Method)
			}
		}
	}
}

// TestOneRunAuditTies checks that ties are broken at random, not in input order: with every score
// equal and the members listed first, guessing the top half must not find them all.
func TestOneRunAuditTies(t *testing.T) {
	n := 200
	scores := make([]float64, n)
	in := make([]bool, n)
	for i := range n / 2 {
		in[i] = true
	}
	total := 0
	for seed := range uint64(20) {
		b, err := OneRunAudit(scores, in, OneRunOptions{KPlus: n / 2, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		total += b.Guesses.Correct
		if b.Value != 0 {
			t.Errorf("seed %d: ε %v from tied scores (%d of %d right)", seed, b.Value, b.Guesses.Correct, n/2)
		}
	}
	// 20 hypergeometric draws of mean 50 and standard deviation about 3.5: their sum is within 1000 ± 80.
	if total < 920 || total > 1080 {
		t.Errorf("%d right in 20 seeds, want about 1000", total)
	}
}

// TestOneRunAuditSelect checks the selection split: the parts partition the canaries, the bound counts
// only the evaluation part, the guess counts follow the fractions chosen, and a seed gives one result.
func TestOneRunAuditSelect(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	n := 3000
	scores := make([]float64, n)
	in := make([]bool, n)
	for i := range scores {
		in[i] = r.IntN(2) == 0
		scores[i] = r.NormFloat64()
		if in[i] {
			scores[i] += 2
		}
	}
	for _, stat := range []OneRunStat{StatSteinke, StatFDP} {
		opt := OneRunOptions{Stat: stat, SelectFraction: 0.3, Seed: 7}
		b, err := OneRunAudit(scores, in, opt)
		if err != nil {
			t.Fatal(err)
		}
		g := b.Guesses
		if b.SelectionRecords != 900 || g.Canaries != 2100 || b.EvalMembers+b.EvalNonMembers != 2100 {
			t.Errorf("%s: parts %d + %d (%d + %d)", stat, b.SelectionRecords, g.Canaries, b.EvalMembers, b.EvalNonMembers)
		}
		if g.Guesses != g.KPlus+g.KMinus || g.Guesses == 0 || !(b.Value > 0.5) {
			t.Errorf("%s: %+v, value %v", stat, *g, b.Value)
		}
		fracs := map[int]bool{}
		for _, f := range selectionFractions {
			fracs[int(math.Round(f*2100))] = true
		}
		if !fracs[g.KPlus] || !fracs[g.KMinus] {
			t.Errorf("%s: k+ %d k− %d are not grid fractions of 2100", stat, g.KPlus, g.KMinus)
		}
		want, _ := OneRunBound(g.Canaries, g.Guesses, g.Correct, OneRunOptions{Stat: stat})
		if b.Value != want.Value || !strings.Contains(b.Guarantee, "chosen on 900 other canaries") {
			t.Errorf("%s: value %v, counts give %v; guarantee %q", stat, b.Value, want.Value, b.Guarantee)
		}
		again, _ := OneRunAudit(scores, in, opt)
		if again.Value != b.Value || *again.Guesses != *g {
			t.Errorf("%s: seed 7 gave %v then %v", stat, b.Value, again.Value)
		}
	}
}

// TestOneRunLabels checks the labels of each kind of one-run result: a DP bound only where the design
// allows it, the f-DP bound tied to the Gaussian-DP family, Privacy Meter's and PrivacyGuard's maxima
// marked as no bound; and that the JSON has the schema's fields.
func TestOneRunLabels(t *testing.T) {
	steinke, err := OneRunBound(1000, 100, 90, OneRunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fdp, err := OneRunBound(1000, 100, 90, OneRunOptions{Stat: StatFDP})
	if err != nil {
		t.Fatal(err)
	}
	approx, err := OneRunBound(1000, 100, 90, OneRunOptions{Stat: StatFDPApprox})
	if err != nil {
		t.Fatal(err)
	}
	notDP, err := OneRunBound(1000, 100, 90, OneRunOptions{NotDP: "pairs design"})
	if err != nil {
		t.Fatal(err)
	}
	none, err := OneRunBound(1000, 100, 40, OneRunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	abstain, err := AbstainAudit([]float64{4, 3, 2, 1}, []bool{true, true, false, false}, 0, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := PrivacyGuardFDPDefaults().Bound(1000, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		b      EpsilonBound
		method string
		dp     bool
		caveat string
		text   string
	}{
		{"steinke", steinke, OneRunMethod, true, "", "not (ε, δ=1e-5)-differentially private for any ε below"},
		{"fdp", fdp, FDPMethod, true, "Gaussian-DP family only", "Within the Gaussian-DP family"},
		{"fdp-approx", approx, FDPApproxMethod, true, "", "whatever the shape of the mechanism's privacy curve"},
		{"not dp", notDP, OneRunMethod, false, "pairs design", "Not a DP bound: pairs design"},
		{"no evidence", none, OneRunMethod, true, "", "No evidence against"},
		{"privacy meter", abstain.Bound(), AbstainMaxMethod, false, "voids the p-value", "Not a DP bound"},
		{"privacyguard", pg, PrivacyGuardFDPMethod, false, "instead of 0", "Not a DP bound"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.b
			if b.Method != tt.method || b.DPBound != tt.dp || !strings.Contains(b.Caveat, tt.caveat) || !strings.Contains(b.Guarantee, tt.text) {
				t.Errorf("%+v", b)
			}
			if tt.caveat == "" && b.Caveat != "" {
				t.Errorf("caveat %q, want none", b.Caveat)
			}
			if b.Alpha != 0.05 || b.Guesses == nil || b.Value < 0 {
				t.Errorf("%+v", b)
			}
			data, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"value", "alpha", "delta", "method", "dp_bound", "guarantee", "guesses"} {
				if _, ok := m[k]; !ok {
					t.Errorf("JSON %s lacks %q", data, k)
				}
			}
			var back EpsilonBound
			if err := json.Unmarshal(data, &back); err != nil || back.Value != b.Value || *back.Guesses != *b.Guesses {
				t.Errorf("round trip: %v, %+v", err, back)
			}
		})
	}
	if steinke.Value != OneRunEpsilon(1000, 100, 90, DefaultEpsilonDelta, 0.05) || none.Value != 0 || !(fdp.Value > steinke.Value) {
		t.Errorf("values: steinke %v, none %v, fdp %v", steinke.Value, none.Value, fdp.Value)
	}
	if want, _ := ApproxDPEpsilon(1000, 100, 90, DefaultEpsilonDelta, 0.05); approx.Value != want || !(want > 0) {
		t.Errorf("fdp-approx %v, want ApproxDPEpsilon's %v", approx.Value, want)
	}
	for _, m := range []string{OneRunMethod, FDPMethod, FDPApproxMethod} {
		st, ok := StatOf(m)
		if c, _ := (OneRunOptions{Stat: st}).resolve(); !ok || c.method() != m {
			t.Errorf("StatOf(%q) = %q, %v", m, st, ok)
		}
	}
	if _, ok := StatOf(HoldoutMethod); ok {
		t.Error("StatOf(holdout): a one-run statistic")
	}
}

func TestMultiRunEpsilon(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	runs := 400
	scores := make([]float64, runs)
	in := make([]bool, runs)
	for i := range scores {
		in[i] = i%2 == 0
		scores[i] = r.NormFloat64()
		if in[i] {
			scores[i] += 3
		}
	}
	b, err := MultiRunEpsilon(scores, in, EpsilonOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := HoldoutEpsilon(scores, in, EpsilonOptions{Seed: 3})
	if b.Method != MultiRunMethod || !b.DPBound || b.Value != h.Value || !(b.Value > 1) || !strings.Contains(b.Guarantee, "of 400 training runs") {
		t.Errorf("%+v", b)
	}
	for _, tt := range []struct {
		scores []float64
		in     []bool
		opt    EpsilonOptions
		want   string
	}{
		{[]float64{1, 2}, []bool{true}, EpsilonOptions{}, "2 scores but 1 runs"},
		{[]float64{1, 2, 3, 4}, []bool{true, false, false, false}, EpsilonOptions{}, "1 runs with the canary and 3 without"},
		{[]float64{1, 2, 3, math.NaN()}, []bool{true, true, false, false}, EpsilonOptions{}, "score 3 is NaN"},
		{[]float64{1, 2, 3, 4}, []bool{true, true, false, false}, EpsilonOptions{Alpha: 2}, "alpha 2"},
	} {
		if _, err := MultiRunEpsilon(tt.scores, tt.in, tt.opt); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("error %v, want one containing %q", err, tt.want)
		}
	}
}
