package metric

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// TestHoldoutEpsilonNull checks the false-positive rate of the bound, both ways and member-side only:
// scores independent of membership give a positive bound in at most an α fraction of trials (binomial
// tail below 0.001 fails).
func TestHoldoutEpsilonNull(t *testing.T) {
	const trials, n, alpha = 400, 400, 0.05
	for _, opt := range []EpsilonOptions{{Alpha: alpha}, {Alpha: alpha, MemberSide: true, NoDelta: true}} {
		r := rand.New(rand.NewPCG(1, 2))
		positive := 0
		for k := range trials {
			scores := make([]float64, n)
			members := make([]bool, n)
			for i := range scores {
				scores[i] = math.Round(r.NormFloat64()*4) / 4 // ties, as attacks produce them
				members[i] = r.IntN(2) == 0
			}
			opt.Seed = uint64(k)
			b, err := HoldoutEpsilon(scores, members, opt)
			if err != nil {
				t.Fatal(err)
			}
			if b.Value < 0 || math.IsNaN(b.Value) {
				t.Fatalf("member side %v, trial %d: value %v", opt.MemberSide, k, b.Value)
			}
			if b.Value > 0 {
				positive++
			}
		}
		if p := binomSF(positive-1, trials, alpha); p < 0.001 {
			t.Errorf("member side %v: %d of %d null trials give a positive bound at α = %v (binomial tail %.2g)", opt.MemberSide, positive, trials, alpha, p)
		}
	}
}

func TestHoldoutEpsilonSeparates(t *testing.T) {
	const n = 2000
	r := rand.New(rand.NewPCG(3, 4))
	scores := make([]float64, n)
	members := make([]bool, n)
	for i := range scores {
		members[i] = i%2 == 0
		scores[i] = r.NormFloat64()
		if members[i] {
			scores[i] += 3
		}
	}
	b, err := HoldoutEpsilon(scores, members, EpsilonOptions{Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	if !(b.Value > 1) || !b.DPBound || b.Method != HoldoutMethod || b.Alpha != 0.05 || b.Delta != DefaultEpsilonDelta {
		t.Errorf("bound %+v: want a DP bound above 1 at α 0.05, δ 1e-5", b)
	}
	if b.EvalMembers+b.EvalNonMembers+b.SelectionRecords != n || b.EvalMembers != n/4 {
		t.Errorf("split %d + %d + %d records", b.SelectionRecords, b.EvalMembers, b.EvalNonMembers)
	}
	// The value is the one of its own counts.
	lo, _ := ClopperPearson(b.TP, b.EvalMembers, 0.05)
	_, hi := ClopperPearson(b.FP, b.EvalNonMembers, 0.05)
	if want := max(0, dpBound(lo, hi, b.Delta)); b.Value != want || b.TPRLower != lo || b.FPRUpper != hi {
		t.Errorf("value %v from TP %d FP %d; want %v", b.Value, b.TP, b.FP, want)
	}
	nd, err := HoldoutEpsilon(scores, members, EpsilonOptions{Seed: 9, NotDP: "pairs design"})
	if err != nil {
		t.Fatal(err)
	}
	if nd.DPBound || nd.Caveat != "pairs design" || nd.Value != b.Value {
		t.Errorf("NotDP: %+v", nd)
	}
}

func TestHoldoutEpsilonErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		scores  []float64
		members []bool
		opt     EpsilonOptions
	}{
		{"lengths", []float64{1, 2}, []bool{true}, EpsilonOptions{}},
		{"nan", []float64{1, math.NaN(), 3, 4}, []bool{true, false, true, false}, EpsilonOptions{}},
		{"one member", []float64{1, 2, 3}, []bool{true, false, false}, EpsilonOptions{}},
		{"alpha", []float64{1, 2, 3, 4}, []bool{true, false, true, false}, EpsilonOptions{Alpha: 1.5}},
		{"delta", []float64{1, 2, 3, 4}, []bool{true, false, true, false}, EpsilonOptions{Delta: -1}},
	} {
		if _, err := HoldoutEpsilon(tc.scores, tc.members, tc.opt); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// TestHoldoutEpsilonMemberSide: the member-side bound uses only TPR/FPR. When half of the non-members
// score far below everyone else, clearing them (TNR/FNR) gives a large two-sided bound, while flagging
// members gives at most TPR/FPR = 1/0.5, ε ≤ ln 2.
func TestHoldoutEpsilonMemberSide(t *testing.T) {
	const n = 2000
	r := rand.New(rand.NewPCG(5, 6))
	scores := make([]float64, n)
	members := make([]bool, n)
	for i := range scores {
		members[i] = i%2 == 0
		scores[i] = r.NormFloat64()
		if !members[i] && i%4 == 1 {
			scores[i] -= 10 // half of the non-members are cleared for certain
		}
	}
	both, err := HoldoutEpsilon(scores, members, EpsilonOptions{Seed: 1, NoDelta: true})
	if err != nil {
		t.Fatal(err)
	}
	member, err := HoldoutEpsilon(scores, members, EpsilonOptions{Seed: 1, NoDelta: true, MemberSide: true})
	if err != nil {
		t.Fatal(err)
	}
	if !(both.Value > 3) {
		t.Errorf("two-sided bound %v, want > 3 from the cleared non-members", both.Value)
	}
	lo, _ := ClopperPearson(member.TP, member.EvalMembers, 0.05)
	_, hi := ClopperPearson(member.FP, member.EvalNonMembers, 0.05)
	if want := max(0, memberBound(lo, hi, 0)); member.Value != want {
		t.Errorf("member-side value %v, want %v from its counts TP %d FP %d", member.Value, want, member.TP, member.FP)
	}
	if !(member.Value > 0 && member.Value < math.Ln2) || member.Delta != 0 {
		t.Errorf("member-side bound %+v: want one in (0, ln 2) at δ = 0", member)
	}
}

func TestEpsilonGuarantee(t *testing.T) {
	for _, tc := range []struct {
		b    EpsilonBound
		want []string
	}{
		{EpsilonBound{Value: 1.25, Alpha: 0.05, Delta: 1e-5, DPBound: true},
			[]string{"With 95% confidence", "not (ε, δ=1e-5)-differentially private for any ε below 1.25"}},
		{EpsilonBound{Value: 0, Alpha: 0.01, Delta: 0, DPBound: true},
			[]string{"No evidence against (ε, δ=0)-differentially private training at 99% confidence", "not evidence of privacy"}},
		{EpsilonBound{Value: 0.5, Alpha: 0.05, Delta: 1e-6, Caveat: "pairs design"},
			[]string{"Not a DP bound: pairs design.", "below 0.5", "nothing about the training algorithm's ε"}},
		{EpsilonBound{Value: 0, Alpha: 0.05, Delta: 1e-5, Caveat: "pooled"},
			[]string{"Not a DP bound: pooled.", "measurably"}},
	} {
		got := epsilonGuarantee(tc.b)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("guarantee of %+v = %q; want it to contain %q", tc.b, got, w)
			}
		}
	}
	for x, want := range map[float64]string{1e-5: "1e-5", 0: "0", 0.001: "0.001", 1e-10: "1e-10", 2.5e-7: "2.5e-7"} {
		if got := FormatDelta(x); got != want {
			t.Errorf("FormatDelta(%v) = %q, want %q", x, got, want)
		}
	}
}

// TestEpsilonBoundJSON: a bound round-trips through JSON, with an infinite threshold as a string.
func TestEpsilonBoundJSON(t *testing.T) {
	for _, th := range []*float64{nil, new(1.5), new(math.Inf(1)), new(math.Inf(-1))} {
		b := EpsilonBound{Value: 0.5, Alpha: 0.05, Delta: 1e-5, Method: HoldoutMethod, DPBound: true, Guarantee: "g", Threshold: th, TP: 3}
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("threshold %v: %v", th, err)
		}
		var got EpsilonBound
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		if !reflect.DeepEqual(got, b) {
			t.Errorf("round trip of %s = %+v, want %+v", data, got, b)
		}
		if th != nil && math.IsInf(*th, 0) && !strings.Contains(string(data), `"threshold":"`) {
			t.Errorf("%s: infinite threshold not written as a string", data)
		}
	}
	var b EpsilonBound
	if err := json.Unmarshal([]byte(`{"value": 1, "threshold": "high"}`), &b); err == nil {
		t.Error("threshold \"high\" accepted")
	}
}

// TestRatesBound: RatesBound is the value of a holdout bound from its own Clopper–Pearson bounds, and
// restates it at another significance from the counts alone (smaller α, smaller bound).
func TestRatesBound(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	scores, members := make([]float64, 3000), make([]bool, 3000)
	for i := range scores {
		members[i] = r.IntN(2) == 0
		scores[i] = r.NormFloat64()
		if members[i] {
			scores[i] += 1.5
		}
	}
	b, err := HoldoutEpsilon(scores, members, EpsilonOptions{Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := RatesBound(b.TPRLower, b.FPRUpper, b.Delta); got != b.Value || !(got > 0) {
		t.Errorf("RatesBound of the bound's own rates = %v, want its value %v > 0", got, b.Value)
	}
	lo, _ := ClopperPearson(b.TP, b.EvalMembers, 0.005)
	_, hi := ClopperPearson(b.FP, b.EvalNonMembers, 0.005)
	if got := RatesBound(lo, hi, b.Delta); !(got > 0 && got < b.Value) {
		t.Errorf("restated at α = 0.005: %v, want in (0, %v)", got, b.Value)
	}
	for _, tc := range []struct{ tpr, fpr, delta, want float64 }{
		{0.5, 0.5, 0, 0},                           // chance: no evidence
		{0.2, 0.9, 0, 0},                           // worse than chance: clipped at 0
		{0.5, 0.1, 0, math.Log(5)},                 // member side
		{0.9, 0.5, 0, math.Log(0.5 / 0.1)},         // non-member side
		{0.5, 0.1, 0.1, math.Log(4)},               // δ subtracted
		{1e-6, 1e-3, 1e-5, math.Log(0.999 - 1e-5)}, // δ above the TPR: only the non-member side, negative: 0
	} {
		if got := RatesBound(tc.tpr, tc.fpr, tc.delta); math.Abs(got-max(tc.want, 0)) > 1e-12 {
			t.Errorf("RatesBound(%v, %v, %v) = %v, want %v", tc.tpr, tc.fpr, tc.delta, got, max(tc.want, 0))
		}
	}
}
