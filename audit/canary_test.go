package audit

import (
	"context"
	"encoding/json"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/nn"
	"github.com/pmeter/pmeter/npy"
	"github.com/pmeter/pmeter/report"
)

var gameNullSeeds = flag.Int("game-null-seeds", 200, "seeds of TestGameAuditsNull (the full check: 2000)")

// canaryConfig parses a small DP audit game on the embedded Fashion-MNIST data: 500 pool records, an MLP
// trained long enough to memorise its training set.
func canaryConfig(t *testing.T, dir, audit, extra string) *Config {
	t.Helper()
	return canaryRunsConfig(t, dir, 1, audit, extra)
}

// canaryRunsConfig is canaryConfig with runs training runs.
func canaryRunsConfig(t *testing.T, dir string, runs int, audit, extra string) *Config {
	t.Helper()
	c, err := ParseConfig([]byte(`
run:
  random_seed: 5
  num_experiments: ` + strconv.Itoa(runs) + `
audit:
  population_size: 200
` + audit + `
train:
  model_name: mlp
  optimizer: Adam
  learning_rate: 0.002
  epochs: 20
  batch_size: 32
  schedule: constant
` + extra + `
data:
  dataset: fashion-mnist
  train_size: 500
`))
	if err != nil {
		t.Fatal(err)
	}
	c.Run.LogDir = dir
	return c
}

// TestMakeCanaries: natural canaries are pool records that leave the fixed training set, mislabelled ones
// the same records with another label, ood ones noise within the data's range; all drawn from the seed.
func TestMakeCanaries(t *testing.T) {
	for _, kind := range []string{CanaryNatural, CanaryMislabelled, CanaryOOD} {
		c := canaryConfig(t, t.TempDir(), "  privacy_game: dp_one_run\n  canaries: {count: 50, kind: "+kind+"}", "")
		d, err := LoadData(c)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := makeCanaries(c, d, 9)
		if err != nil {
			t.Fatal(err)
		}
		again, err := makeCanaries(c, d, 9)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(cs.pool.X, again.pool.X) || !slices.Equal(cs.pool.Y, again.pool.Y) {
			t.Errorf("%s: two draws from one seed differ", kind)
		}
		n, dim := d.Pool.Len(), d.Pool.Dim()
		if err := cs.pool.Validate(); err != nil || cs.pool.Len() != cs.fixed+50 || len(cs.records) != 50 {
			t.Fatalf("%s: %d records, %d fixed, %d canaries (%v)", kind, cs.pool.Len(), cs.fixed, len(cs.records), err)
		}
		switch kind {
		case CanaryOOD:
			if cs.fixed != n || !slices.Equal(cs.pool.X[:n*dim], d.Pool.X) {
				t.Errorf("ood: the fixed training set is not the whole pool")
			}
			lo, hi := slices.Min(d.Pool.X), slices.Max(d.Pool.X)
			canaries := cs.pool.X[n*dim:]
			if slices.Min(canaries) < lo || slices.Max(canaries) > hi || slices.Max(canaries)-slices.Min(canaries) < 0.9*(hi-lo) {
				t.Errorf("ood pixels in [%v, %v], want uniform noise over the data's [%v, %v]", slices.Min(canaries), slices.Max(canaries), lo, hi)
			}
			if !slices.Equal(cs.records, slices.Repeat([]int{-1}, 50)) {
				t.Errorf("ood canaries name pool records %v", cs.records)
			}
		default:
			if cs.fixed != n-50 {
				t.Errorf("%s: %d fixed records, want %d", kind, cs.fixed, n-50)
			}
			for i, r := range cs.records {
				row := cs.pool.X[(cs.fixed+i)*dim : (cs.fixed+i+1)*dim]
				if !slices.Equal(row, d.Pool.Row(r)) {
					t.Fatalf("%s: canary %d is not pool record %d", kind, i, r)
				}
				if y := cs.pool.Y[cs.fixed+i]; (y == d.Pool.Y[r]) != (kind == CanaryNatural) {
					t.Fatalf("%s: canary %d has label %d, pool record %d has %d", kind, i, y, r, d.Pool.Y[r])
				}
			}
			for i := range cs.fixed { // no canary stays in the fixed set
				if slices.Equal(cs.pool.X[i*dim:(i+1)*dim], d.Pool.Row(cs.records[0])) {
					t.Fatalf("%s: canary record %d is also fixed record %d", kind, cs.records[0], i)
				}
			}
		}
	}
	c := canaryConfig(t, t.TempDir(), "  privacy_game: dp_one_run\n  canaries: {count: 500, kind: natural}", "")
	d, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := makeCanaries(c, d, 1); err == nil || !strings.Contains(err.Error(), "audit.canaries.count") {
		t.Errorf("as many canaries as pool records: error %v", err)
	}
}

// TestOneRunGame: the one-run game on a non-private model that memorises mislabelled canaries proves an
// ε lower bound clearly above 0 (both statistics), writes it into run.json and summary.json, and a rerun
// reuses the model.
func TestOneRunGame(t *testing.T) {
	dir := t.TempDir()
	c := canaryConfig(t, dir, "  privacy_game: dp_one_run\n  canaries: {count: 200, kind: mislabelled, k_plus: 20, k_minus: 20}", "")
	res, err := Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Trained != 1 || len(res.Models) != 1 || len(res.DPAudits) != 3 || res.DP != nil {
		t.Fatalf("trained %d of %d models, %d DP audits, recipe %v", res.Trained, len(res.Models), len(res.DPAudits), res.DP)
	}
	steinke, fdp := res.DPAudits[0].Bound, res.DPAudits[1].Bound
	if steinke.Method != metric.OneRunMethod || !steinke.DPBound || !(steinke.Value > 1) || steinke.Guesses.Guesses != 40 || steinke.Guesses.Canaries != 200 {
		t.Errorf("Steinke bound %+v: want a DP bound above 1 from 40 guesses on 200 canaries", steinke)
	}
	if fdp.Method != metric.FDPMethod || !(fdp.Value > steinke.Value) || !strings.Contains(fdp.Caveat, "Gaussian-DP family") {
		t.Errorf("f-DP bound %+v", fdp)
	}
	// The f-DP audit with the (ε, δ) trade-off: a bound for every mechanism, near Steinke's on the same guesses.
	if a := res.DPAudits[2].Bound; a.Method != metric.FDPApproxMethod || !a.DPBound || a.Caveat != "" || !(a.Value > 0.9*steinke.Value) || *a.Guesses != *steinke.Guesses {
		t.Errorf("f-DP (ε, δ) bound %+v; Steinke %v", a, steinke.Value)
	}
	k := res.Canaries
	if k == nil || k.Count != 200 || k.FixedRecords != 300 || len(k.Included) != 1 || k.Included[0] < 70 || k.Included[0] > 130 || k.KPlus != 20 {
		t.Fatalf("canaries %+v", k)
	}
	if e := res.Attacks[0].Epsilon[0]; e == nil || !e.DPBound || !(e.Value > 0) {
		t.Errorf("LOSS holdout bound on the canaries %+v: want a positive DP bound", e)
	}
	var run struct {
		Canaries *CanaryResult    `json:"canaries"`
		DPAudits []report.DPAudit `json:"dp_audits"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &run); err != nil || run.Canaries == nil || len(run.DPAudits) != 3 || run.DPAudits[0].Bound.Value != steinke.Value {
		t.Errorf("run.json: %+v (%v)", run, err)
	}
	s, err := report.ReadSummary(filepath.Join(dir, "report", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.DPAudits) != 3 || s.DPAudits[0].Bound.Value != steinke.Value || s.DP != nil || s.Records.Total != 200 || s.Game != GameDPOneRun {
		t.Errorf("summary.json: %d DP audits, dp %v, %d records, game %q", len(s.DPAudits), s.DP, s.Records.Total, s.Game)
	}
	ms, err := npy.ReadFile(filepath.Join(dir, "memberships.npy"))
	if err != nil || !slices.Equal(ms.Shape, []int{200, 1}) {
		t.Errorf("memberships.npy: %v, %v; want the canaries' inclusions (200, 1)", ms, err)
	}
	again, err := Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Trained != 0 || again.Reused != 1 || again.DPAudits[0].Bound.Value != steinke.Value {
		t.Errorf("rerun: trained %d, reused %d, bound %v", again.Trained, again.Reused, again.DPAudits[0].Bound.Value)
	}
}

// passThroughDP trains without DP-SGD whatever the recipe: a broken DP-SGD that neither clips nor adds
// noise (tests only).
func passThroughDP(cfg nn.TrainConfig, _ *DPRecipe) (nn.TrainConfig, error) { return cfg, nil }

// TestOneRunRedFlag: a recipe that claims ε = 0.5 but trains without noise (passThroughDP) is caught by
// the one-run game: the report raises the red flag, in summary.json, run.json and the page; the same
// training claiming a huge ε raises none.
func TestOneRunRedFlag(t *testing.T) {
	game := "  privacy_game: dp_one_run\n  canaries: {count: 200, kind: mislabelled, k_plus: 20, k_minus: 20}"
	for _, tc := range []struct {
		dp   string
		flag bool
	}{
		{"  dp: {target_epsilon: 0.5, max_grad_norm: 1}", true},
		{"  dp: {noise_multiplier: 0.5, max_grad_norm: 1}", false}, // ε ≈ 54
	} {
		dir := t.TempDir()
		res, err := Run(context.Background(), canaryConfig(t, dir, game, tc.dp), Options{dpTrain: passThroughDP})
		if err != nil {
			t.Fatal(err)
		}
		chk := res.DPCheck
		if res.DP == nil || chk == nil || chk.Violation != tc.flag || chk.Outside != tc.flag {
			t.Fatalf("%s: recipe %v, check %+v", tc.dp, res.DP, chk)
		}
		// The recipe: q and T from the 300 fixed records plus half of the 200 canaries.
		if r := res.DP; r.TrainRecords != 400 || r.SamplingRate != 32.0/400 || r.Steps != 20*13 {
			t.Errorf("recipe for N = 400, B = 32, 20 epochs: %+v", r)
		}
		s, err := report.ReadSummary(filepath.Join(dir, "report", "summary.json"))
		if err != nil {
			t.Fatal(err)
		}
		if s.DP == nil || s.DP.Violation != tc.flag || s.DP.Epsilon != res.DP.Epsilon || s.DP.NoiseMultiplier != res.DP.NoiseMultiplier || s.Settings.EpsilonDelta != res.DP.Delta {
			t.Errorf("%s: summary.json dp %+v", tc.dp, s.DP)
		}
		page, err := os.ReadFile(filepath.Join(dir, "report", "index.html"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(page), "Red flag: evidence of a bug") != tc.flag {
			t.Errorf("%s: the page's red flag is %v, want %v", tc.dp, !tc.flag, tc.flag)
		}
		if tc.flag {
			names := []string{}
			for _, o := range chk.Offending {
				names = append(names, o.Audit)
			}
			if !slices.Contains(names, "one-run (Steinke et al.)") || slices.Contains(names, "one-run (f-DP, Gaussian)") {
				t.Errorf("offending audits %v: want the Steinke bound, never the f-DP one", names)
			}
		}
		var run struct {
			DP      *DPRecipe       `json:"dp"`
			DPCheck *report.DPCheck `json:"dp_check"`
		}
		b, err := os.ReadFile(filepath.Join(dir, "run.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &run); err != nil || run.DP == nil || run.DP.NoiseMultiplier != res.DP.NoiseMultiplier || run.DPCheck == nil || run.DPCheck.Violation != tc.flag {
			t.Errorf("run.json: recipe %+v, check %v (%v)", run.DP, run.DPCheck, err)
		}
	}
}

// TestMultiRunGame: the multi-run game trains each canary into half of the runs and bounds ε per canary
// over the held-out runs, at α/m each.
func TestMultiRunGame(t *testing.T) {
	dir := t.TempDir()
	c := canaryRunsConfig(t, dir, 8, "  privacy_game: dp_multi_run\n  canaries: {count: 2, kind: ood}", "")
	c.Train.Epochs = 10
	res, err := Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Trained != 8 || len(res.DPAudits) != 2 || res.Canaries.FixedRecords != 500 {
		t.Fatalf("trained %d, %d DP audits, canaries %+v", res.Trained, len(res.DPAudits), res.Canaries)
	}
	for k, a := range res.DPAudits {
		b := a.Bound
		if b.Method != metric.MultiRunMethod || b.Alpha != 0.025 || b.SelectionRecords+b.EvalMembers+b.EvalNonMembers != 8 || !strings.Contains(a.Name, "canary") {
			t.Errorf("canary %d: %s %+v", k, a.Name, b)
		}
	}
	for k := range 2 {
		in := 0
		for t := range 8 {
			if res.Members[t][k] {
				in++
			}
		}
		if in != 4 {
			t.Errorf("canary %d is in %d of 8 runs, want 4", k, in)
		}
	}
	if a := res.Attacks[0]; a.Pooled == nil || len(a.Targets) != 0 || !(a.Pooled.AUC > 0.9) {
		t.Errorf("LOSS on the pooled runs: %+v", a.Pooled)
	}
}

// TestGameAuditsNull is the null calibration of the DP audit games' statistics: when the canaries'
// scores say nothing about their inclusion, the one-run game's Steinke and f-DP bounds (Gaussian and
// (ε, δ) trade-off) are positive in at most α of the audits, and so is the multi-run game's largest
// per-canary bound; on randomized response, whose ε is known, the bounds that hold for every mechanism
// (Steinke, f-DP with the (ε, δ) trade-off, multi-run) come close to ε and exceed it in at most α of the
// audits (binomial tail below 0.001 fails). Run the full version with go test ./audit -run TestGameAuditsNull -game-null-seeds 2000.
func TestGameAuditsNull(t *testing.T) {
	const m, runs, multiCanaries = 400, 200, 3
	seeds := *gameNullSeeds
	r := rand.New(rand.NewPCG(21, 22))
	var steinke, fdp, approx, multi int
	for seed := range seeds {
		scores, in := make([]float64, m), make([]bool, m)
		for i := range m {
			scores[i] = math.Round(r.NormFloat64()*3) / 3 // ties, as a loss in float32 has
			in[i] = r.IntN(2) == 0
		}
		audits, err := oneRunAudits("one-run", scores, in, m/10, m/10, 0, uint64(seed))
		if err != nil {
			t.Fatal(err)
		}
		if audits[0].Bound.Value > 0 {
			steinke++
		}
		if audits[1].Bound.Value > 0 {
			fdp++
		}
		if a := audits[2]; a.Bound.Method != metric.FDPApproxMethod {
			t.Fatalf("third one-run bound %s %s, want %s", a.Name, a.Bound.Method, metric.FDPApproxMethod)
		} else if a.Bound.Value > 0 {
			approx++
		}
		ms, mi := make([][]float64, runs), make([][]bool, runs)
		for t := range runs {
			ms[t], mi[t] = make([]float64, multiCanaries), make([]bool, multiCanaries)
			for k := range multiCanaries {
				ms[t][k], mi[t][k] = r.NormFloat64(), t%2 == k%2
			}
		}
		bounds, err := multiRunAudits("multi-run", ms, mi, []int{-1, -1, -1}, 0, uint64(seed))
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(bounds, func(a report.DPAudit) bool { return a.Bound.Value > 0 }) {
			multi++
		}
	}
	// The same statistics on a mechanism whose ε is known exactly, randomized response at ε = 1 (each
	// score the inclusion bit, reported truthfully with probability e/(1 + e)): Steinke's bound and the
	// largest of 5 canaries' multi-run bounds (over 2,000 runs) come close to ε, and exceed it in at most
	// α of the audits. (Without the division of α among the canaries, the largest would exceed it more
	// often.)
	const eps, rrCanaries, rrRuns = 1.0, 5, 2000
	p := 1 / (1 + math.Exp(-eps))
	exact := math.Log(math.Exp(eps) - metric.DefaultEpsilonDelta*(1+math.Exp(eps)))
	rr := func(in bool) float64 {
		if (r.Float64() < p) == in {
			return 1
		}
		return 0
	}
	var steinkeOver, approxOver, multiOver int
	var steinkeSum, approxSum, multiSum float64
	for seed := range seeds / 2 {
		scores, in := make([]float64, 4000), make([]bool, 4000)
		for i := range scores {
			in[i] = r.IntN(2) == 0
			scores[i] = rr(in[i])
		}
		audits, err := oneRunAudits("one-run", scores, in, 1000, 1000, 0, uint64(seed))
		if err != nil {
			t.Fatal(err)
		}
		steinkeSum += audits[0].Bound.Value
		if audits[0].Bound.Value > exact {
			steinkeOver++
		}
		approxSum += audits[2].Bound.Value
		if audits[2].Bound.Value > exact {
			approxOver++
		}
		ms, mi := make([][]float64, rrRuns), make([][]bool, rrRuns)
		for t := range rrRuns {
			ms[t], mi[t] = make([]float64, rrCanaries), make([]bool, rrCanaries)
			for k := range rrCanaries {
				mi[t][k] = (t+k)%2 == 0
				ms[t][k] = rr(mi[t][k])
			}
		}
		bounds, err := multiRunAudits("multi-run", ms, mi, nil, 0, uint64(seed))
		if err != nil {
			t.Fatal(err)
		}
		best := 0.0
		for _, b := range bounds {
			best = max(best, b.Bound.Value)
		}
		multiSum += best
		if best > exact {
			multiOver++
		}
	}
	if m := steinkeSum / float64(seeds/2); !(m > 0.6*exact) {
		t.Errorf("one-run Steinke on randomized response at ε = %v: mean bound %.3f, want close to ε", eps, m)
	}
	if m := approxSum / float64(seeds/2); !(m > 0.6*exact) {
		t.Errorf("one-run f-DP (ε, δ) on randomized response at ε = %v: mean bound %.3f, want close to ε", eps, m)
	}
	if m := multiSum / float64(seeds/2); !(m > 0.6*exact) {
		t.Errorf("multi-run on randomized response at ε = %v: mean largest bound %.3f, want close to ε", eps, m)
	}
	for _, c := range []struct {
		name     string
		positive int
	}{{"one-run Steinke", steinke}, {"one-run f-DP", fdp}, {"one-run f-DP (ε, δ)", approx}, {"multi-run (largest of 3 canaries)", multi}} {
		if p := binomialTail(c.positive, seeds, gameAlpha); p < 0.001 {
			t.Errorf("%s: %d of %d null audits give a positive bound at α = %v (binomial tail %.2g)", c.name, c.positive, seeds, gameAlpha, p)
		} else {
			t.Logf("%s: %d of %d null audits positive (at most %.0f expected)", c.name, c.positive, seeds, gameAlpha*float64(seeds))
		}
	}
	for _, c := range []struct {
		name string
		over int
	}{{"one-run Steinke", steinkeOver}, {"one-run f-DP (ε, δ)", approxOver}, {"multi-run (largest of 5 canaries)", multiOver}} {
		if p := binomialTail(c.over, seeds/2, gameAlpha); p < 0.001 {
			t.Errorf("%s on randomized response: %d of %d audits exceed the exact ε %.4f (binomial tail %.2g)", c.name, c.over, seeds/2, exact, p)
		} else {
			t.Logf("%s on randomized response at ε = %v: %d of %d audits above the exact ε", c.name, eps, c.over, seeds/2)
		}
	}
	t.Logf("mean bounds on randomized response at ε = %.4f: one-run Steinke %.3f, f-DP (ε, δ) %.3f, multi-run %.3f", exact, steinkeSum/float64(seeds/2),
		approxSum/float64(seeds/2), multiSum/float64(seeds/2))
}

// binomialTail returns P(X ≥ k) for X ~ Binomial(n, p).
func binomialTail(k, n int, p float64) float64 {
	s := 0.0
	for j := max(k, 0); j <= n; j++ {
		lg, _ := math.Lgamma(float64(n + 1))
		a, _ := math.Lgamma(float64(j + 1))
		b, _ := math.Lgamma(float64(n - j + 1))
		s += math.Exp(lg - a - b + float64(j)*math.Log(p) + float64(n-j)*math.Log1p(-p))
	}
	return s
}

// TestDPExampleConfig: the README's example of the one-run game parses, with its canaries and guesses,
// and its commented train.dp line parses too once uncommented.
func TestDPExampleConfig(t *testing.T) {
	c, err := LoadConfig("../examples/dp/one_run.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if k := c.Audit.Canaries; c.Audit.PrivacyGame != GameDPOneRun || k.Count != 1000 || k.Kind != CanaryMislabelled || *k.KPlus != 100 || *k.KMinus != 100 || c.Train.DP != nil {
		t.Errorf("example: game %s, canaries %+v, dp %v", c.Audit.PrivacyGame, k, c.Train.DP)
	}
	b, err := os.ReadFile("../examples/dp/one_run.yaml")
	if err != nil {
		t.Fatal(err)
	}
	withDP := strings.Replace(string(b), "  # dp: {", "  dp: {", 1)
	if withDP == string(b) {
		t.Fatal("the example has no commented train.dp line")
	}
	c, err = ParseConfig([]byte(withDP))
	if err != nil {
		t.Fatal(err)
	}
	if c.Train.DP == nil || *c.Train.DP.TargetEpsilon != 8 {
		t.Errorf("example with DP: %+v", c.Train.DP)
	}
	// examples/dp/compare.sh's three runs: the same game, without DP and at ε = 1 and 8.
	for name, eps := range map[string]float64{"nodp": 0, "eps1": 1, "eps8": 8} {
		c, err := LoadConfig("../examples/dp/" + name + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		if c.Audit.PrivacyGame != GameDPOneRun || c.Audit.Canaries.Count != 1000 || c.Train.ModelName != "mlp" || c.Data.Dataset != "fashion-mnist" ||
			(eps == 0) != (c.Train.DP == nil) || eps != 0 && (*c.Train.DP.TargetEpsilon != eps || c.Train.DP.Sampling != SamplingPoisson) {
			t.Errorf("%s: game %s, model %s, dp %+v", name, c.Audit.PrivacyGame, c.Train.ModelName, c.Train.DP)
		}
	}
}

// TestOneRunGameAllIncluded: with so few canaries that all are included, the game still ends with its
// bounds (the LOSS attack has no ROC then) and a report.
func TestOneRunGameAllIncluded(t *testing.T) {
	for seed := int64(1); seed < 40; seed++ {
		dir := t.TempDir()
		c := canaryConfig(t, dir, "  privacy_game: dp_one_run\n  canaries: {count: 2, kind: ood, k_plus: 1, k_minus: 1}", "")
		c.Run.RandomSeed, c.Train.Epochs = seed, 1
		res, err := Run(context.Background(), c, Options{})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if in := res.Canaries.Included[0]; in != 1 {
			if len(res.DPAudits) != 3 || len(res.Attacks[0].Targets) != 0 {
				t.Errorf("seed %d, %d of 2 canaries included: %d DP audits, %d attack results", seed, in, len(res.DPAudits), len(res.Attacks[0].Targets))
			}
			if _, err := os.Stat(filepath.Join(dir, "report", "index.html")); err != nil {
				t.Error(err)
			}
			return
		}
	}
	t.Fatal("no seed in 1..39 includes both canaries or neither")
}
