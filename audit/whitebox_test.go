package audit

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/nn"
	"github.com/pmeter/pmeter/report"
)

// gradientGame is the config of a white-box one-run game with m gradient canaries at claimed ε.
func gradientGame(t *testing.T, dir, canaries, eps string) *Config {
	t.Helper()
	return canaryConfig(t, dir, "  privacy_game: dp_one_run\n  canaries: {"+canaries+"}", "  dp: {target_epsilon: "+eps+", max_grad_norm: 1}")
}

// TestWhiteBoxGame: the one-run game with gradient canaries trains a DP-SGD model with its canaries
// inserted, plans k± from the claim, bounds ε clearly above 0 and below the claim (ε = 8), writes the
// canaries and bounds into run.json and summary.json, and a rerun reuses the saved scores.
func TestWhiteBoxGame(t *testing.T) {
	dir := t.TempDir()
	c := gradientGame(t, dir, "count: 1000, kind: gradient", "8")
	res, err := Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Trained != 1 || len(res.DPAudits) != 3 || res.DP == nil || res.DPCheck == nil {
		t.Fatalf("trained %d, %d DP audits, recipe %v, check %v", res.Trained, len(res.DPAudits), res.DP, res.DPCheck)
	}
	steinke, fdp := res.DPAudits[0], res.DPAudits[1]
	if steinke.Name != "white-box one-run (Steinke et al.)" || steinke.Bound.Method != metric.OneRunMethod || !steinke.Bound.DPBound ||
		!(steinke.Bound.Value > 1.5) || steinke.Bound.Value > res.DP.Epsilon {
		t.Errorf("Steinke bound %s %+v: want a DP bound above 1.5 and below the claimed ε %.3g", steinke.Name, steinke.Bound, res.DP.Epsilon)
	}
	if fdp.Bound.Method != metric.FDPMethod || !(fdp.Bound.Value >= steinke.Bound.Value) {
		t.Errorf("f-DP bound %+v", fdp.Bound)
	}
	if a := res.DPAudits[2]; a.Name != "white-box one-run (f-DP, (ε, δ))" || a.Bound.Method != metric.FDPApproxMethod || !a.Bound.DPBound ||
		!(a.Bound.Value > 1.5) || a.Bound.Value > res.DP.Epsilon {
		t.Errorf("f-DP (ε, δ) bound %s %+v: want a DP bound above 1.5 and below the claimed ε %.3g", a.Name, a.Bound, res.DP.Epsilon)
	}
	if res.DPCheck.Violation {
		t.Errorf("a sound DP-SGD raised the red flag: %s", res.DPCheck.Message)
	}
	k := res.Canaries
	if k == nil || k.Kind != CanaryGradient || k.Parameters != 101770 || !k.PlannedGuesses || k.KPlus+k.KMinus == 0 ||
		len(k.Coordinates) != 1000 || k.Included[0] < 400 || k.Included[0] > 600 || k.FixedRecords != 500 {
		t.Fatalf("canaries %+v", k)
	}
	// An included canary is sampled like a record: about q·T steps.
	if want := res.DP.SamplingRate * float64(res.DP.Steps); k.MeanInsertions[0] < 0.9*want || k.MeanInsertions[0] > 1.1*want {
		t.Errorf("an included canary was inserted in %.1f steps on average, want about q·T = %.1f", k.MeanInsertions[0], want)
	}
	if a := res.Attacks[0]; a.Name != gradientAttack || len(a.Epsilon) != 1 || a.Epsilon[0] == nil || !a.Epsilon[0].DPBound || !(a.Targets[0].AUC > 0.6) {
		t.Errorf("the canaries' ROC and holdout bound: %+v", a)
	}
	var run struct {
		Canaries *CanaryResult    `json:"canaries"`
		DPAudits []report.DPAudit `json:"dp_audits"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &run); err != nil || run.Canaries == nil || run.Canaries.Direction != "dirac" || run.Canaries.Score != "likelihood" ||
		len(run.DPAudits) != 3 || run.DPAudits[0].Bound.Value != steinke.Bound.Value {
		t.Errorf("run.json: %+v (%v)", run.Canaries, err)
	}
	s, err := report.ReadSummary(filepath.Join(dir, "report", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if s.DP == nil || len(s.DPAudits) != 3 || s.Records.Total != 1000 || len(s.DP.Audits) == 0 {
		t.Errorf("summary.json: dp %v, %d DP audits, %d records", s.DP, len(s.DPAudits), s.Records.Total)
	}
	// The point of the canaries' holdout bound on the trade-off curve.
	if !slices.ContainsFunc(s.DP.Audits, func(a report.DPComparison) bool { return a.Audit == gradientAttackLabel && a.Point != nil }) {
		t.Errorf("no operating point of the white-box audit in the report's check: %+v", s.DP.Audits)
	}
	again, err := Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Trained != 0 || again.Reused != 1 || again.DPAudits[0].Bound.Value != steinke.Bound.Value {
		t.Errorf("rerun: trained %d, reused %d, bound %v", again.Trained, again.Reused, again.DPAudits[0].Bound.Value)
	}
	// A damaged score file is not trusted: the model is retrained, to the same scores.
	files, _ := filepath.Glob(filepath.Join(dir, "signals", "*-whitebox.json"))
	if len(files) != 1 {
		t.Fatalf("saved scores: %v", files)
	}
	raw, _ := os.ReadFile(files[0])
	if err := os.WriteFile(files[0], []byte(strings.Replace(string(raw), `"scores": [`, `"scores": [1e9, `, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	third, err := Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if third.Trained != 1 || third.DPAudits[0].Bound.Value != steinke.Bound.Value {
		t.Errorf("after damage: trained %d, bound %v (want retrained, %v)", third.Trained, third.DPAudits[0].Bound.Value, steinke.Bound.Value)
	}
}

// halveNoise is a broken DP-SGD (tests only): it trains with half the noise multiplier the recipe claims.
func halveNoise(cfg nn.TrainConfig, dp *DPRecipe) (nn.TrainConfig, error) {
	cfg, err := withDP(cfg, dp)
	if cfg.DP != nil {
		cfg.DP.NoiseMultiplier /= 2
	}
	return cfg, err
}

// TestWhiteBoxRedFlag: at a claimed ε = 1 the white-box audit of a sound DP-SGD raises no red flag, and
// flags a DP-SGD that skips clipping (canaries through at 4·C: the one-run bound above the claim) and
// one that adds half the noise it claims (10,000 canaries: the canaries' operating point above the
// claimed trade-off curve), in summary.json and on the page. Training is deterministic for the seed, so
// each case is one fixed outcome; how often each breakage is caught over seeds is the soundness
// harness's (pmeter dp soundness; σ halved at ε = 1 is caught on most seeds only with many canaries).
func TestWhiteBoxRedFlag(t *testing.T) {
	for _, tc := range []struct {
		name, canaries string
		opt            Options
		flag           bool
		offending      string
	}{
		{"sound", "count: 10000, kind: gradient", Options{}, false, ""},
		{"clipping skipped", "count: 1000, kind: gradient", Options{canaryNorm: 4}, true, "white-box one-run (Steinke et al.)"},
		{"σ halved", "count: 10000, kind: gradient", Options{dpTrain: halveNoise}, true, gradientAttackLabel},
	} {
		dir := t.TempDir()
		res, err := Run(context.Background(), gradientGame(t, dir, tc.canaries, "1"), tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		chk := res.DPCheck
		if chk == nil || chk.Violation != tc.flag {
			t.Errorf("%s: check %+v, want the red flag %v", tc.name, chk, tc.flag)
			continue
		}
		var names []string
		for _, o := range chk.Offending {
			names = append(names, o.Audit)
		}
		if tc.flag && !slices.Contains(names, tc.offending) {
			t.Errorf("%s: offending audits %v, want %q among them", tc.name, names, tc.offending)
		}
		s, err := report.ReadSummary(filepath.Join(dir, "report", "summary.json"))
		if err != nil {
			t.Fatal(err)
		}
		page, err := os.ReadFile(filepath.Join(dir, "report", "index.html"))
		if err != nil {
			t.Fatal(err)
		}
		if s.DP.Violation != tc.flag || strings.Contains(string(page), "Red flag: evidence of a bug") != tc.flag {
			t.Errorf("%s: summary.json violation %v, page flag %v; want %v", tc.name, s.DP.Violation, !tc.flag, tc.flag)
		}
		t.Logf("%s: bounds %.3f (Steinke), %.3f (f-DP), %.3f (f-DP (ε, δ)); %s", tc.name, res.DPAudits[0].Bound.Value, res.DPAudits[1].Bound.Value,
			res.DPAudits[2].Bound.Value, chk.Message)
	}
}

// TestWhiteBoxMultiRun: the multi-run game with gradient canaries: each canary in half of the runs,
// the same coordinate in every run, a bound per canary over the held-out runs.
func TestWhiteBoxMultiRun(t *testing.T) {
	dir := t.TempDir()
	c := canaryRunsConfig(t, dir, 8, "  privacy_game: dp_multi_run\n  canaries: {count: 2, kind: gradient}", "  dp: {noise_multiplier: 1, max_grad_norm: 1}")
	c.Train.Epochs = 3
	res, err := Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Trained != 8 || len(res.DPAudits) != 2 || res.Canaries.Included == nil || len(res.Canaries.Included) != 8 {
		t.Fatalf("trained %d, %d DP audits, canaries %+v", res.Trained, len(res.DPAudits), res.Canaries)
	}
	for k, a := range res.DPAudits {
		b := a.Bound
		if b.Method != metric.MultiRunMethod || b.Alpha != 0.025 || b.SelectionRecords+b.EvalMembers+b.EvalNonMembers != 8 || !strings.HasPrefix(a.Name, "white-box multi-run, canary") {
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
}

// TestWhiteBoxConfig: the gradient canaries' settings are checked where the config is parsed, errors
// naming the field.
func TestWhiteBoxConfig(t *testing.T) {
	base := "data:\n  dataset: fashion-mnist\n  train_size: 300\ntrain:\n  batch_size: 10\n"
	dp := "  dp: {noise_multiplier: 1, max_grad_norm: 1}\n"
	for _, tc := range []struct{ yaml, want string }{
		{base + "audit:\n  privacy_game: dp_one_run\n  canaries: {kind: gradient}\n", "set train.dp"},
		{base + dp + "audit:\n  privacy_game: dp_one_run\n  canaries: {kind: gradient, direction: diagonal}\n", "audit.canaries.direction"},
		{base + dp + "audit:\n  privacy_game: dp_one_run\n  canaries: {kind: gradient, score: max}\n", "audit.canaries.score"},
		{base + dp + "audit:\n  privacy_game: dp_one_run\n  canaries: {kind: gradient, k_plus: 3}\n", "give both k_plus and k_minus"},
		{base + dp + "audit:\n  privacy_game: dp_one_run\n  canaries: {kind: mislabelled, isolate: false}\n", "audit.canaries.isolate"},
	} {
		_, err := ParseConfig([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one naming %q", tc.yaml, err, tc.want)
		}
	}
	c, err := ParseConfig([]byte(base + dp + "audit:\n  privacy_game: dp_one_run\n  canaries: {kind: gradient}\n"))
	if err != nil {
		t.Fatal(err)
	}
	k := c.Audit.Canaries
	if k.Count != 1000 || k.Direction != "dirac" || k.Score != "likelihood" || k.Isolate == nil || !*k.Isolate || k.KPlus != nil {
		t.Errorf("defaults: %+v", k)
	}
	if n := c.dpTrainRecords(300); n != 300 {
		t.Errorf("N = %d, want the whole pool of 300: gradient canaries are no records", n)
	}
}

// TestCanaryGamesDPSGD: the black-box games train their targets with nn's DP-SGD when train.dp is set:
// the one-run game (mislabelled canaries) and the multi-run game (ood canaries) bound ε below the
// claim and raise no red flag, and the recipe's steps are the models' steps.
func TestCanaryGamesDPSGD(t *testing.T) {
	dir := t.TempDir()
	c := canaryConfig(t, dir, "  privacy_game: dp_one_run\n  canaries: {count: 200, kind: mislabelled, k_plus: 20, k_minus: 20}", "  dp: {target_epsilon: 2, max_grad_norm: 1}")
	c.Train.Epochs = 5
	res, err := Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.DP == nil || res.Trained != 1 || res.DPCheck == nil || res.DPCheck.Violation || len(res.DPAudits) != 3 || res.DPAudits[0].Bound.Value > res.DP.Epsilon {
		t.Fatalf("one-run with DP-SGD: recipe %v, trained %d, check %+v, audits %+v", res.DP, res.Trained, res.DPCheck, res.DPAudits)
	}
	dir = t.TempDir()
	c = canaryRunsConfig(t, dir, 4, "  privacy_game: dp_multi_run\n  canaries: {count: 1, kind: ood}", "  dp: {noise_multiplier: 1, max_grad_norm: 1}")
	c.Train.Epochs = 2
	res, err = Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.DP == nil || res.Trained != 4 || res.DPCheck == nil || res.DPCheck.Violation || len(res.DPAudits) != 1 {
		t.Fatalf("multi-run with DP-SGD: recipe %v, trained %d, check %+v", res.DP, res.Trained, res.DPCheck)
	}
}

// TestWhiteBoxExampleConfig: the README's example of the white-box audit parses as documented.
func TestWhiteBoxExampleConfig(t *testing.T) {
	c, err := LoadConfig("../examples/dp/white_box.yaml")
	if err != nil {
		t.Fatal(err)
	}
	k := c.Audit.Canaries
	if c.Audit.PrivacyGame != GameDPOneRun || k.Count != 10000 || k.Kind != CanaryGradient || k.Direction != "dirac" || k.Score != "likelihood" ||
		!*k.Isolate || k.KPlus != nil || c.Train.DP == nil || *c.Train.DP.TargetEpsilon != 8 {
		t.Errorf("example: game %s, canaries %+v, dp %+v", c.Audit.PrivacyGame, k, c.Train.DP)
	}
}

// TestWhiteBoxEstimate: the plan counts no query tensors or logits for gradient canaries (they are no
// records), and m·d float32 for random directions.
func TestWhiteBoxEstimate(t *testing.T) {
	est := func(direction string) *Estimate {
		c := gradientGame(t, t.TempDir(), "count: 100, kind: gradient, direction: "+direction, "8")
		d, err := LoadData(c)
		if err != nil {
			t.Fatal(err)
		}
		e, err := EstimateRun(c, d)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	dirac, random := est("dirac"), est("random")
	if dirac.SignalMemory != random.SignalMemory || dirac.SignalMemory > 4*200*10*4 {
		t.Errorf("signal memory %d and %d: want the population's logits only", dirac.SignalMemory, random.SignalMemory)
	}
	if got, want := random.TrainMemory-dirac.TrainMemory, int64(100*101770*4); got != want {
		t.Errorf("random directions add %d bytes of training memory, want m·d·4 = %d", got, want)
	}
}
