package report

import (
	"bytes"
	"context"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/metric"
)

var dpCheckSeeds = flag.Int("dp-check-seeds", 100, "seeds of TestDPCheckNull (the full check: 1000)")

// rrClaim is the exact guarantee of randomized response at eps (a canary's inclusion reported truthfully
// with probability p = e^ε/(1 + e^ε)): its privacy curve is δ(ε') = max(0, p − e^ε'·(1 − p)), and at δ its
// ε is ln((p − δ)/(1 − p)). The curve is sampled at 101 points from 0 to 2·eps.
func rrClaim(eps, delta float64) *DPClaim {
	p := 1 / (1 + math.Exp(-eps))
	c := &DPClaim{Epsilon: math.Log((p - delta) / (1 - p)), Delta: delta, Accountant: "exact", NoiseMultiplier: 1, MaxGradNorm: 1,
		SamplingRate: 0.01, Steps: 100, Sampling: "poisson"}
	for i := 0; i <= 100; i++ {
		e := 2 * eps * float64(i) / 100
		c.CurveEpsilon = append(c.CurveEpsilon, e)
		c.CurveDelta = append(c.CurveDelta, max(0, p-math.Exp(e)*(1-p)))
	}
	return c
}

// TestTradeOff: the trade-off curve of randomized response passes through its own operating point (TPR p
// at FPR 1 − p), lies on or above the diagonal, rises, and ends at (1, 1); EpsilonAt gives the claim's ε
// at its δ, and on the curve elsewhere.
func TestTradeOff(t *testing.T) {
	const eps = 1.0
	c := rrClaim(eps, 1e-5)
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	p := 1 / (1 + math.Exp(-eps))
	if got := c.TradeOff(1 - p); math.Abs(got-p) > 1e-12 {
		t.Errorf("TradeOff(1 − p) = %v, want p = %v (randomized response's own test)", got, p)
	}
	if got := c.TradeOff(0.1); math.Abs(got-math.E*0.1) > 1e-12 {
		t.Errorf("TradeOff(0.1) = %v, want e·0.1 (the constraint at ε = 1, δ = 0)", got)
	}
	if got := c.TradeOff(0); got > 1e-15 {
		t.Errorf("TradeOff(0) = %v, want 0: randomized response is (1, 0)-DP", got)
	}
	if got := c.TradeOff(1); got != 1 {
		t.Errorf("TradeOff(1) = %v, want 1", got)
	}
	last := 0.0
	for k := 0; k <= 1000; k++ {
		f := float64(k) / 1000
		v := c.TradeOff(f)
		if v < f-1e-15 || v < last-1e-15 || v > 1 {
			t.Fatalf("TradeOff(%v) = %v after %v: want in [FPR, 1] and non-decreasing", f, v, last)
		}
		last = v
	}
	if got := c.EpsilonAt(1e-5); got != c.Epsilon {
		t.Errorf("EpsilonAt(claim's δ) = %v, want %v", got, c.Epsilon)
	}
	if got := c.EpsilonAt(0); !(got >= eps-1e-12 && got <= eps+2*eps/100+1e-12) {
		t.Errorf("EpsilonAt(0) = %v, want the curve's first ε with δ = 0, about %v", got, eps)
	}
	if got := c.EpsilonAt(1); got != 0 {
		t.Errorf("EpsilonAt(1) = %v, want 0", got)
	}
	single := &DPClaim{Epsilon: 2, Delta: 1e-5, CurveEpsilon: []float64{0, 1}, CurveDelta: []float64{1, 0.5}}
	if got := single.EpsilonAt(1e-6); !math.IsInf(got, 1) {
		t.Errorf("EpsilonAt below every δ of the curve = %v, want +Inf", got)
	}
}

// rrAudit simulates randomized response at eps on m canaries each included with probability ½, and
// returns its audits: the holdout bound of the responses and the one-run Steinke bound guessing the
// m/4 highest responses included and the m/4 lowest excluded (fixed in advance; ties at random).
func rrAudit(t *testing.T, r *rand.Rand, eps float64, m int, seed uint64) []namedBound {
	t.Helper()
	p := 1 / (1 + math.Exp(-eps))
	scores, in := make([]float64, m), make([]bool, m)
	for i := range m {
		in[i] = r.IntN(2) == 0
		if (r.Float64() < p) == in[i] {
			scores[i] = 1
		}
	}
	h, err := metric.HoldoutEpsilon(scores, in, metric.EpsilonOptions{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	s, err := metric.OneRunAudit(scores, in, metric.OneRunOptions{KPlus: m / 4, KMinus: m / 4, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return []namedBound{{"holdout", &h}, {"steinke", &s}}
}

// TestDPCheckNull: a mechanism that keeps its claim (randomized response at the claimed ε) raises the red
// flag in at most α of the audits (binomial tail below 0.001 fails), although its bounds come close to
// the claim; the same mechanism at ε = 2 claiming ε = 1 raises it nearly always. Run the full version
// with go test ./report -run TestDPCheckNull -dp-check-seeds 1000.
func TestDPCheckNull(t *testing.T) {
	const m, alpha = 20000, 0.05
	claim := rrClaim(1, 1e-5)
	r := rand.New(rand.NewPCG(11, 12))
	flagged, near := 0, 0
	for seed := range *dpCheckSeeds {
		chk, err := checkDP(claim, rrAudit(t, r, 1, m, uint64(seed)), alpha)
		if err != nil {
			t.Fatal(err)
		}
		if chk.Checks != 2 || len(chk.Audits) != 2 {
			t.Fatalf("%d checks of %d audits, want 2 of 2", chk.Checks, len(chk.Audits))
		}
		if chk.Violation {
			flagged++
		}
		if chk.Audits[0].Value > 0.8*claim.Epsilon {
			near++
		}
	}
	if p := binomTail(flagged, *dpCheckSeeds, alpha); p < 0.001 {
		t.Errorf("%d of %d audits of a mechanism that keeps its claim raise the red flag (binomial tail %.2g at α = %v)", flagged, *dpCheckSeeds, p, alpha)
	}
	if near < *dpCheckSeeds/2 {
		t.Errorf("the holdout bound came within 80%% of the claimed ε in %d of %d audits: the check is not put to the test", near, *dpCheckSeeds)
	}
	t.Logf("red flag on %d of %d audits of a correct mechanism", flagged, *dpCheckSeeds)

	flagged = 0
	for seed := range 20 {
		chk, err := checkDP(claim, rrAudit(t, r, 2, m, uint64(seed)), alpha)
		if err != nil {
			t.Fatal(err)
		}
		if chk.Violation {
			flagged++
			if len(chk.Offending) == 0 || !strings.Contains(chk.Message, "so this is evidence of a bug") {
				t.Fatalf("violation without offending audits or the message: %+v", chk)
			}
		}
	}
	if flagged < 19 {
		t.Errorf("a mechanism at ε = 2 claiming ε = 1 raised the red flag in %d of 20 audits, want at least 19", flagged)
	}
}

// TestDPCheckRules: which bounds enter the check, and how a violation is stated.
func TestDPCheckRules(t *testing.T) {
	claim := rrClaim(0.5, 1e-5)
	r := rand.New(rand.NewPCG(3, 4))
	strong := rrAudit(t, r, 3, 5000, 1) // far outside a claim of 0.5
	fdp, err := metric.OneRunBound(5000, 100, 100, metric.OneRunOptions{Stat: metric.StatFDP})
	if err != nil {
		t.Fatal(err)
	}
	notDP := *strong[0].b
	notDP.DPBound, notDP.Caveat = false, "the pairs design"
	noThreshold := metric.EpsilonBound{Alpha: 0.05, Delta: 1e-5, Method: metric.HoldoutMethod, DPBound: true}

	chk, err := checkDP(claim, []namedBound{{"f-DP", &fdp}, {"pairs", &notDP}, {"empty", &noThreshold}}, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	if chk.Checks != 0 || chk.Outside || chk.Violation || len(chk.Offending) != 0 {
		t.Errorf("unchecked bounds: %d checks, outside %v, violation %v", chk.Checks, chk.Outside, chk.Violation)
	}
	for i, want := range []string{"Gaussian-DP family", "not a DP bound: the pairs design", "no threshold"} {
		if a := chk.Audits[i]; a.Checked || !strings.Contains(a.Note, want) || a.CheckedValue != nil {
			t.Errorf("audit %s: checked %v, note %q; want unchecked, %q", a.Audit, a.Checked, a.Note, want)
		}
	}
	if !strings.Contains(chk.Message, "No audit of this report bounds") {
		t.Errorf("message %q", chk.Message)
	}

	chk, err = checkDP(claim, strong, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	h := chk.Audits[0]
	if !chk.Violation || !h.Offending || !h.ExceedsEpsilon || !h.OutsideCurve || h.Point == nil || !(h.Point.TPRLower > h.Point.CurveTPR) {
		t.Fatalf("holdout of ε = 3 against a claim of 0.5: %+v, point %+v", h, h.Point)
	}
	// Restated at α/2 from its counts: smaller than the bound at α, as the check's own box.
	if !(*h.CheckedValue < h.Value) {
		t.Errorf("checked value %v, stated %v", *h.CheckedValue, h.Value)
	}
	lo, hi := metric.ClopperPearson(strong[0].b.TP, strong[0].b.EvalMembers, 0.025)
	if h.Point.TPRLower != lo || h.Point.TPRUpper != hi {
		t.Errorf("TPR box [%v, %v], want Clopper–Pearson at 0.05/2 checks [%v, %v]", h.Point.TPRLower, h.Point.TPRUpper, lo, hi)
	}
	if s := chk.Audits[1]; !s.Checked || s.Point != nil || !s.Offending || !s.ExceedsEpsilon {
		t.Errorf("Steinke bound: %+v", s)
	}

	// The f-DP bound with the (ε, δ) trade-off holds for every mechanism: it is checked, restated with
	// its own statistic at the check's level, where the Gaussian one is not checked.
	approx, err := metric.OneRunBound(5000, 100, 100, metric.OneRunOptions{Stat: metric.StatFDPApprox})
	if err != nil {
		t.Fatal(err)
	}
	chk, err = checkDP(claim, []namedBound{{"f-DP", &fdp}, {"f-DP (ε, δ)", &approx}, {"Steinke", strong[1].b}}, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	want, err := metric.ApproxDPEpsilon(5000, 100, 100, approx.Delta, 0.05/2)
	if err != nil {
		t.Fatal(err)
	}
	if a := chk.Audits[1]; chk.Checks != 2 || chk.Audits[0].Checked || !a.Checked || a.CheckedValue == nil || math.Abs(*a.CheckedValue-want) > 1e-9*want ||
		!(*a.CheckedValue < a.Value) || !a.ExceedsEpsilon || !chk.Violation {
		t.Errorf("f-DP (ε, δ) in the check: %d checks, %+v; want checked at α/2 = %v", chk.Checks, a, want)
	}
	if len(chk.TradeOffCurve.FPR) != 62 || chk.TradeOffCurve.FPR[0] != 0 || chk.TradeOffCurve.FPR[61] != 1 {
		t.Errorf("trade-off curve sampled at %d FPRs from %v", len(chk.TradeOffCurve.FPR), chk.TradeOffCurve.FPR)
	}

	// Shuffled batches: the accountant does not apply, so the same evidence is no red flag.
	shuffled := *claim
	shuffled.Sampling, shuffled.Caveat = "shuffle", "the batches are shuffled"
	chk, err = checkDP(&shuffled, strong, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	if chk.Violation || !chk.Outside || chk.Applies || !strings.Contains(chk.Message, "not evidence of a bug") {
		t.Errorf("shuffled: violation %v, outside %v, applies %v, message %q", chk.Violation, chk.Outside, chk.Applies, chk.Message)
	}
}

// TestBuildDP: a report with a claim and DP audits writes the dp section of summary.json, the plots, the
// red flag on the page, and rebuilds identically from its saved input.
func TestBuildDP(t *testing.T) {
	in := fakeInput(31, 600, fakeImages)
	in.DP = rrClaim(0.1, 1e-5) // the fake lira attack is far stronger
	steinke, err := metric.OneRunBound(600, 60, 58, metric.OneRunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fdp, err := metric.OneRunBound(600, 60, 58, metric.OneRunOptions{Stat: metric.StatFDP})
	if err != nil {
		t.Fatal(err)
	}
	in.DPAudits = []DPAudit{{"one-run (Steinke et al.)", steinke}, {"one-run (f-DP, Gaussian)", fdp}}
	dir := t.TempDir()
	s, err := Build(context.Background(), in, dir, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	if s.DP == nil || !s.DP.Violation || s.DP.Checks != 5 || len(s.DP.Audits) != 6 || len(s.DPAudits) != 2 {
		t.Fatalf("summary dp: %+v", s.DP)
	}
	offending := map[string]bool{}
	for _, o := range s.DP.Offending {
		offending[o.Audit] = true
	}
	if !offending["lira"] || !offending["one-run (Steinke et al.)"] || offending["entropy"] || offending["one-run (f-DP, Gaussian)"] {
		t.Errorf("offending audits %v", offending)
	}
	back, err := ReadSummary(filepath.Join(dir, SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	if back.DP == nil || !back.DP.Violation || back.DP.Epsilon != in.DP.Epsilon || len(back.DP.CurveEpsilon) != 101 || len(back.DPAudits) != 2 {
		t.Errorf("summary.json dp section read back: %+v", back.DP)
	}
	for _, f := range []string{"dp_epsilon", "dp_tradeoff", "dp_tradeoff_log"} {
		for _, ext := range []string{".png", ".svg"} {
			if st, err := os.Stat(filepath.Join(dir, PlotsDir, f+ext)); err != nil || st.Size() < 1000 {
				t.Errorf("plot %s%s: %v", f, ext, err)
			}
		}
	}
	page, err := os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`class="dp-flag"`, "Red flag: evidence of a bug", `<section id="dp">`, `href="#dp"`,
		"DP audit games", "Steinke", `id="fig-dp-tradeoff"`, `class="offending"`} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("page lacks %q", want)
		}
	}

	// Saved and read back, the input rebuilds the same files.
	saved := t.TempDir()
	if err := WriteInput(saved, in); err != nil {
		t.Fatal(err)
	}
	again, err := ReadInput(saved)
	if err != nil {
		t.Fatal(err)
	}
	want, got := buildFiles(t, in, testOptions), buildFiles(t, again, testOptions)
	for f := range want {
		if !bytes.Equal(want[f], got[f]) {
			t.Errorf("%s differs after WriteInput/ReadInput", f)
		}
	}

	// Without a claim, the games' bounds still show, and no check.
	in.DP = nil
	s, err = Build(context.Background(), in, t.TempDir(), testOptions)
	if err != nil {
		t.Fatal(err)
	}
	if s.DP != nil || len(s.DPAudits) != 2 {
		t.Errorf("without a claim: dp %v, %d DP audits", s.DP, len(s.DPAudits))
	}
}

// TestDPInputErrors: a claim or a DP audit that the report cannot use is an error naming it.
func TestDPInputErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(in *Input)
		want string
	}{
		{"NaN epsilon", func(in *Input) { in.DP.Epsilon = math.NaN() }, "epsilon NaN"},
		{"delta 0", func(in *Input) { in.DP.Delta = 0 }, "delta 0"},
		{"short curve", func(in *Input) { in.DP.CurveDelta = in.DP.CurveDelta[:3] }, "privacy curve of 101 ε and 3 δ"},
		{"unsorted curve", func(in *Input) { in.DP.CurveEpsilon[5] = 0 }, "point 5"},
		{"delta above 1", func(in *Input) { in.DP.CurveDelta[7] = 1.5 }, "point 7: δ = 1.5"},
		{"unnamed audit", func(in *Input) { in.DPAudits = []DPAudit{{Bound: metric.EpsilonBound{Alpha: 0.05}}} }, "DP audit 0 has no name"},
		{"twice", func(in *Input) {
			in.DPAudits = []DPAudit{{"a", metric.EpsilonBound{Alpha: 0.05}}, {"a", metric.EpsilonBound{Alpha: 0.05}}}
		}, `name "a" is used twice`},
	} {
		in := fakeInput(5, 100, fakeNone)
		in.DP = rrClaim(1, 1e-5)
		tc.edit(in)
		if err := in.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}
