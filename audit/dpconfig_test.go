package audit

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/accountant"
	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/nn"
)

// TestDPConfigErrors: train.dp and audit.canaries are checked where they are parsed, with the line and
// the field.
func TestDPConfigErrors(t *testing.T) {
	const base = "data:\n  dataset: fashion-mnist\ntrain:\n  epochs: 2\n" // what follows starts on line 5
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"neither", base + "  dp:\n    max_grad_norm: 1\n", []string{"line 6", "train.dp", "one of noise_multiplier"}},
		{"both", base + "  dp:\n    noise_multiplier: 1\n    target_epsilon: 2\n    max_grad_norm: 1\n", []string{"line 7", "train.dp.target_epsilon", "not both"}},
		{"zero noise", base + "  dp: {noise_multiplier: 0, max_grad_norm: 1}\n", []string{"line 5", "train.dp.noise_multiplier", "> 0, got 0"}},
		{"negative ε", base + "  dp:\n    target_epsilon: -1\n    max_grad_norm: 1\n", []string{"line 6", "train.dp.target_epsilon", "got -1"}},
		{"no clipping", base + "  dp:\n    noise_multiplier: 1\n", []string{"line 6", "train.dp", "needs max_grad_norm"}},
		{"zero clipping", base + "  dp:\n    noise_multiplier: 1\n    max_grad_norm: 0\n", []string{"line 7", "train.dp.max_grad_norm", "got 0"}},
		{"delta 0", base + "  dp:\n    noise_multiplier: 1\n    max_grad_norm: 1\n    delta: 0\n", []string{"line 8", "train.dp.delta", "(0, 1)"}},
		{"delta 1", base + "  dp:\n    noise_multiplier: 1\n    max_grad_norm: 1\n    delta: 1\n", []string{"line 8", "train.dp.delta"}},
		{"NaN noise", base + "  dp:\n    noise_multiplier: .nan\n    max_grad_norm: 1\n", []string{"line 6", "train.dp.noise_multiplier", "finite"}},
		{"accountant", base + "  dp:\n    noise_multiplier: 1\n    max_grad_norm: 1\n    accountant: gdp\n", []string{"line 8", "train.dp.accountant", `"gdp"`, "rdp or pld"}},
		{"sampling", base + "  dp:\n    noise_multiplier: 1\n    max_grad_norm: 1\n    sampling: fixed\n", []string{"line 8", "train.dp.sampling", "poisson"}},
		{"micro batch", base + "  dp:\n    noise_multiplier: 1\n    max_grad_norm: 1\n    micro_batch: -2\n", []string{"line 8", "train.dp.micro_batch"}},
		{"fractional micro batch", base + "  dp:\n    noise_multiplier: 1\n    max_grad_norm: 1\n    micro_batch: 2.5\n", []string{"line 8", "train.dp.micro_batch", "whole number"}},
		{"unknown key", base + "  dp:\n    noise_multipler: 1\n", []string{"line 6", "noise_multipler", "section train.dp"}},
		{"external target", base + "  dp: {noise_multiplier: 1, max_grad_norm: 1}\ntarget:\n  model: m.onnx\n  train_indices: i.npy\n", []string{"line 5", "train.dp", "external target"}},
		{"canaries without a game", base + "audit:\n  canaries: {count: 10}\n", []string{"line 6", "audit.canaries", "dp_one_run or dp_multi_run only"}},
		{"unknown game", base + "audit:\n  privacy_game: dp_one_runs\n", []string{"line 6", "audit.privacy_game", "dp_one_run, dp_multi_run, range_membership or dataset_usage"}},
		{"one run, several targets", base + "run:\n  num_experiments: 2\naudit:\n  privacy_game: dp_one_run\n", []string{"line 6", "run.num_experiments", "one target"}},
		{"multi run, few runs", base + "run:\n  num_experiments: 3\naudit:\n  privacy_game: dp_multi_run\n", []string{"line 6", "run.num_experiments", "at least 4"}},
		{"one canary, one run", base + "audit:\n  privacy_game: dp_one_run\n  canaries:\n    count: 1\n", []string{"line 8", "audit.canaries.count", "[2, "}},
		{"kind", base + "audit:\n  privacy_game: dp_one_run\n  canaries:\n    kind: poisoned\n", []string{"line 8", "audit.canaries.kind", `"poisoned"`}},
		{"no guesses", base + "audit:\n  privacy_game: dp_one_run\n  canaries: {count: 10, k_plus: 0, k_minus: 0}\n", []string{"line 7", "audit.canaries.k_plus", "at least one guess"}},
		{"too many guesses", base + "audit:\n  privacy_game: dp_one_run\n  canaries:\n    count: 10\n    k_plus: 6\n    k_minus: 5\n", []string{"line 9", "audit.canaries.k_plus", "exceed the 10 canaries"}},
		{"negative guesses", base + "audit:\n  privacy_game: dp_one_run\n  canaries:\n    k_minus: -1\n", []string{"line 8", "audit.canaries.k_minus"}},
		{"guesses in the multi-run game", base + "run:\n  num_experiments: 8\naudit:\n  privacy_game: dp_multi_run\n  canaries:\n    k_plus: 3\n", []string{"line 10", "audit.canaries.k_plus", "dp_one_run only"}},
		{"game with an external target", base + "audit:\n  privacy_game: dp_one_run\ntarget:\n  model: m.onnx\n  train_indices: i.npy\n", []string{"line 6", "audit.privacy_game", "external target"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml))
			if err == nil {
				t.Fatalf("no error; want one containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestDPConfigDefaults: the fields left out take their defaults, those written are kept.
func TestDPConfigDefaults(t *testing.T) {
	c, err := ParseConfig([]byte("data:\n  dataset: adult\ntrain:\n  dp: {target_epsilon: 3, max_grad_norm: 0.5}\naudit:\n  privacy_game: dp_one_run\n"))
	if err != nil {
		t.Fatal(err)
	}
	dp, k := c.Train.DP, c.Audit.Canaries
	if *dp.Delta != metric.DefaultEpsilonDelta || dp.Accountant != "rdp" || dp.Sampling != SamplingPoisson || dp.NoiseMultiplier != nil || *dp.TargetEpsilon != 3 || *dp.MaxGradNorm != 0.5 {
		t.Errorf("train.dp defaults: %+v", dp)
	}
	if k == nil || k.Count != 1000 || k.Kind != CanaryMislabelled || *k.KPlus != 100 || *k.KMinus != 100 {
		t.Errorf("audit.canaries defaults: %+v", k)
	}
	c, err = ParseConfig([]byte("data:\n  dataset: adult\nrun:\n  num_experiments: 16\naudit:\n  privacy_game: dp_multi_run\n  canaries: {kind: ood}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if k := c.Audit.Canaries; k.Count != 1 || k.Kind != CanaryOOD || k.KPlus != nil || k.KMinus != nil {
		t.Errorf("multi-run canaries: %+v", k)
	}
	c, err = ParseConfig([]byte("data:\n  dataset: adult\naudit:\n  privacy_game: dp_one_run\n  canaries: {count: 50, k_minus: 0}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if k := c.Audit.Canaries; k.Count != 50 || *k.KPlus != 5 || *k.KMinus != 0 {
		t.Errorf("written values: %+v", k)
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("warnings %q", w)
	}
	c, err = ParseConfig([]byte("data:\n  dataset: adult\naudit:\n  privacy_game: dp_one_run\n  num_ref_models: 2\n  split: bernoulli\n"))
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], "audit.num_ref_models, audit.split is ignored") {
		t.Errorf("warnings %q, want one naming the ignored fields", w)
	}
}

// TestResolveDP: the recipe's q and T come from the nominal training-set size, its ε is the accountant's,
// a target ε calibrates σ, and an impossible batch size is an error naming the field.
func TestResolveDP(t *testing.T) {
	ctx := context.Background()
	parse := func(game, dp string) *Config {
		t.Helper()
		c, err := ParseConfig([]byte("data:\n  dataset: adult\ntrain:\n  epochs: 3\n  batch_size: 100\n  dp: " + dp + "\naudit:\n  privacy_game: " + game + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := parse("privacy_loss_model", "{noise_multiplier: 1.1, max_grad_norm: 2}")
	if n := c.dpTrainRecords(1001); n != 500 {
		t.Errorf("nominal training set of a 1001-record pool: %d, want 500", n)
	}
	r, err := c.resolveDP(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	want, err := accountant.Options{}.Epsilon(ctx, 1e-5, accountant.Phase{SamplingRate: 0.1, NoiseMultiplier: 1.1, Steps: 30})
	if err != nil {
		t.Fatal(err)
	}
	if r.SamplingRate != 0.1 || r.Steps != 30 || r.StepsPerEpoch != 10 || r.TrainRecords != 1000 || r.NoiseMultiplier != 1.1 || r.MaxGradNorm != 2 ||
		r.Epsilon != want.Epsilon || r.RDPOrder != want.Order || !r.MatchesAccountant || r.Caveat != "" || r.curve != nil {
		t.Errorf("recipe %+v; want q 0.1, 30 steps, ε %v (order %v)", r, want.Epsilon, want.Order)
	}
	if tr := r.Training(); tr.NoiseMultiplier != 1.1 || tr.MaxGradNorm != 2 || tr.SamplingRate != 0.1 || tr.Sampling != SamplingPoisson || tr.Steps != 30 || tr.StepsPerEpoch != 10 {
		t.Errorf("nn values %+v", tr)
	}
	if r, err = c.resolveDP(ctx, 1050); err != nil || r.StepsPerEpoch != 11 || r.Steps != 33 {
		t.Errorf("N = 1050: %+v, %v; want ⌈1050/100⌉ = 11 steps per epoch", r, err)
	}

	c = parse("privacy_loss_model", "{target_epsilon: 2, max_grad_norm: 1, accountant: pld, sampling: shuffle, delta: 1e-6}")
	r, err = c.resolveDP(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if r.TargetEpsilon == nil || !(r.Epsilon <= 2 && r.Epsilon > 1.99) || r.Delta != 1e-6 || r.Accountant != "pld" || r.MatchesAccountant || !strings.Contains(r.Caveat, "shuffled") {
		t.Errorf("calibrated recipe %+v", r)
	}
	g, err := accountant.Options{Kind: accountant.KindPLD}.Epsilon(ctx, 1e-6, accountant.Phase{SamplingRate: 0.1, NoiseMultiplier: r.NoiseMultiplier, Steps: 30})
	if err != nil || g.Epsilon != r.Epsilon {
		t.Errorf("ε of the calibrated σ %v: %v (%v), recipe says %v", r.NoiseMultiplier, g.Epsilon, err, r.Epsilon)
	}
	// The PLD built for ε gave the report's privacy curve too: the one the claim would build afresh.
	fresh, err := r.accountantCurve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.curve == nil || !slices.Equal(r.curve.eps, fresh.eps) || !slices.Equal(r.curve.delta, fresh.delta) {
		t.Errorf("privacy curve sampled by resolveDP %+v, want the accountant's %+v", r.curve, fresh)
	}
	if cl, err := r.claim(ctx); err != nil || !slices.Equal(cl.CurveDelta, fresh.delta) || &cl.CurveDelta[0] == &r.curve.delta[0] {
		t.Errorf("claim's curve %v (%v): want a copy of the sampled one", cl, err)
	}
	if !strings.Contains(r.String(), "calibrated for ε = 2") || !strings.Contains(r.String(), "not the accountant's mechanism") {
		t.Errorf("description %q", r.String())
	}

	if _, err := c.resolveDP(ctx, 50); err == nil || !strings.Contains(err.Error(), "train.batch_size") || !strings.Contains(err.Error(), "50 records") {
		t.Errorf("batch larger than the training set: error %v", err)
	}

	// The DP games' nominal training set: the fixed records and half of the canaries.
	c = parse("dp_one_run", "{noise_multiplier: 1, max_grad_norm: 1}")
	c.Audit.Canaries.Count = 200
	if n := c.dpTrainRecords(1000); n != 900 {
		t.Errorf("one-run game with 200 natural canaries of 1000: N = %d, want 900", n)
	}
	c.Audit.Canaries.Kind = CanaryOOD
	if n := c.dpTrainRecords(1000); n != 1100 {
		t.Errorf("one-run game with 200 ood canaries: N = %d, want 1100", n)
	}
	if (*DPRecipe)(nil).keyPart() != "" {
		t.Error("no recipe changes the model key")
	}
}

// TestDPRecipeInModelKey: a DP recipe is part of every model's key, and another σ another model.
func TestDPRecipeInModelKey(t *testing.T) {
	keys := func(dp string) []string {
		t.Helper()
		c, err := ParseConfig([]byte("data:\n  dataset: fashion-mnist\n  train_size: 400\naudit:\n  num_ref_models: 1\n  algorithm: LOSS\ntrain:\n  batch_size: 20\n" + dp))
		if err != nil {
			t.Fatal(err)
		}
		d, err := LoadData(c)
		if err != nil {
			t.Fatal(err)
		}
		p, err := MakePlan(c, d)
		if err != nil {
			t.Fatal(err)
		}
		if (dp == "") != (p.DP == nil) {
			t.Fatalf("train.dp %q gives recipe %v", dp, p.DP)
		}
		var k []string
		for _, j := range p.Jobs {
			k = append(k, j.ModelKey)
		}
		return k
	}
	plain := keys("")
	a := keys("  dp: {noise_multiplier: 1, max_grad_norm: 1}\n")
	b := keys("  dp: {noise_multiplier: 2, max_grad_norm: 1}\n")
	same := keys("  dp: {noise_multiplier: 1, max_grad_norm: 1, delta: 1e-6, accountant: pld}\n") // another statement of the same training
	for i := range plain {
		if plain[i] == a[i] || a[i] == b[i] {
			t.Errorf("model %d: keys %s (no DP), %s (σ 1), %s (σ 2); want all different", i, plain[i], a[i], b[i])
		}
		if a[i] != same[i] {
			t.Errorf("model %d: δ and the accountant change the key (%s, %s), though not the training", i, a[i], same[i])
		}
	}
}

// TestDPTraining: a run with train.dp trains its models with nn's DP-SGD, with the recipe's σ, C, q, steps
// per epoch and divisor q·N recorded in each model's sidecar; shuffled batches are labelled, in run.json
// and the report, as not the mechanism the accountant analyses.
func TestDPTraining(t *testing.T) {
	for _, sampling := range []string{SamplingPoisson, SamplingShuffle} {
		dir := t.TempDir()
		c := canaryConfig(t, dir, "  privacy_game: dp_one_run\n  canaries: {count: 40, kind: mislabelled, k_plus: 5, k_minus: 5}",
			"  dp: {noise_multiplier: 1.3, max_grad_norm: 2, sampling: "+sampling+"}\n")
		c.Train.Epochs = 1
		res, err := Run(context.Background(), c, Options{})
		if err != nil {
			t.Fatalf("%s: %v", sampling, err)
		}
		r := res.DP
		if r == nil || r.MatchesAccountant != (sampling == SamplingPoisson) || (r.Caveat == "") != (sampling == SamplingPoisson) {
			t.Fatalf("%s: recipe %+v", sampling, r)
		}
		weights, err := filepath.Glob(filepath.Join(dir, "models", "*.safetensors"))
		if err != nil || len(weights) != 1 {
			t.Fatalf("%s: models %v (%v)", sampling, weights, err)
		}
		info, err := nn.ReadModelInfo(nn.SidecarPath(weights[0]))
		if err != nil {
			t.Fatal(err)
		}
		want := nn.DPSpec{NoiseMultiplier: 1.3, MaxGradNorm: 2, Sampling: sampling, SamplingRate: r.SamplingRate,
			StepsPerEpoch: r.StepsPerEpoch, ExpectedBatch: float64(r.BatchSize)}
		if info.Train == nil || info.Train.DP == nil || *info.Train.DP != want {
			t.Errorf("%s: the sidecar's training %+v, want DP %+v", sampling, info.Train, want)
		}
		b, err := os.ReadFile(filepath.Join(dir, "run.json"))
		if err != nil {
			t.Fatal(err)
		}
		page, err := os.ReadFile(filepath.Join(dir, "report", "index.html"))
		if err != nil {
			t.Fatal(err)
		}
		if sampling == SamplingShuffle {
			if !strings.Contains(string(b), `"matches_accountant": false`) || !strings.Contains(string(b), "shuffled fixed-size batches") {
				t.Errorf("run.json does not label shuffled batches:\n%s", b)
			}
			if !strings.Contains(string(page), "shuffled fixed-size batches") {
				t.Error("the report does not label shuffled batches")
			}
		} else if !strings.Contains(string(b), `"matches_accountant": true`) {
			t.Errorf("run.json: %s", b)
		}
	}
}

// TestClaimCurve: the privacy curve handed to the report is the accountant's δ(ε), non-increasing, and
// consistent with the claimed (ε, δ).
func TestClaimCurve(t *testing.T) {
	ctx := context.Background()
	for _, acct := range []accountant.Kind{accountant.KindRDP, accountant.KindPLD} {
		r := &DPRecipe{NoiseMultiplier: 1, MaxGradNorm: 1, Delta: 1e-5, Accountant: string(acct), Sampling: SamplingPoisson,
			SamplingRate: 0.02, Steps: 500, MatchesAccountant: true}
		g, err := accountant.Options{Kind: acct}.Epsilon(ctx, r.Delta, accountant.Phase{SamplingRate: 0.02, NoiseMultiplier: 1, Steps: 500})
		if err != nil {
			t.Fatal(err)
		}
		r.Epsilon = g.Epsilon
		c, err := r.claim(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.CurveEpsilon) != curvePoints+2 || c.CurveEpsilon[0] != 0 || c.Epsilon != r.Epsilon || c.Steps != 500 {
			t.Fatalf("%s: claim with %d curve points from %v", acct, len(c.CurveEpsilon), c.CurveEpsilon[0])
		}
		for i := range c.CurveEpsilon {
			if i > 0 && (c.CurveEpsilon[i] <= c.CurveEpsilon[i-1] || c.CurveDelta[i] > c.CurveDelta[i-1]+1e-15) {
				t.Fatalf("%s: curve point %d (%v, %v) after (%v, %v)", acct, i, c.CurveEpsilon[i], c.CurveDelta[i], c.CurveEpsilon[i-1], c.CurveDelta[i-1])
			}
		}
		k := 0
		for c.CurveEpsilon[k] != r.Epsilon {
			k++
		}
		// At the claimed ε the curve's δ is the claim's, to the accountant's conversion (RDP's δ(ε) and ε(δ)
		// are different bounds, each valid).
		if d := c.CurveDelta[k]; !(d <= 1.5e-5 && d > 1e-7) {
			t.Errorf("%s: δ(ε = %v) = %v, want about 1e-5", acct, r.Epsilon, d)
		}
		if e := c.EpsilonAt(1e-8); !(e > r.Epsilon) || math.IsInf(e, 0) {
			t.Errorf("%s: ε at δ = 1e-8 from the curve: %v, want finite and above %v", acct, e, r.Epsilon)
		}
	}
}
