package audit

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/dataset"
	"github.com/pmeter/pmeter/signal"
)

func TestParseAccessConfig(t *testing.T) {
	base := "data: {dataset: fashion-mnist}\naudit:\n  access: "
	for _, tc := range []struct {
		yaml string
		want []signal.Access
		err  string
	}{
		{yaml: "probabilities", want: []signal.Access{{Level: signal.AccessProbabilities}}},
		{yaml: "{top_k: 3}", want: []signal.Access{{Level: signal.AccessTopK, K: 3}}},
		{yaml: "[logits, label, {rounded: 2}]", want: []signal.Access{{Level: signal.AccessLogits}, {Level: signal.AccessLabel}, {Level: signal.AccessRounded, Digits: 2}}},
		{yaml: "null"},
		{yaml: "[]", err: "line 3: audit.access: is an empty list"},
		{yaml: "[logits, logits]", err: "audit.access[1]: level logits is listed twice"},
		{yaml: "[logits, {top_k: 0}]", err: "line 3: audit.access[1]: top_k: K = 0"},
		{yaml: "weights", err: "audit.access: unknown access level"},
		{yaml: "{top_k: 1, rounded: 2}", err: "audit.access: want a level"},
	} {
		c, err := ParseConfig([]byte(base + tc.yaml + "\n"))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want one containing %q", tc.yaml, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.yaml, err)
			continue
		}
		if !slices.Equal(c.access, tc.want) {
			t.Errorf("%s: levels %v, want %v", tc.yaml, c.access, tc.want)
		}
	}
	_, err := ParseConfig([]byte("data: {dataset: fashion-mnist}\naudit:\n  privacy_game: privacy_loss_sample\n  access: label\n"))
	if err == nil || !strings.Contains(err.Error(), "audit.access: applies to privacy_game") {
		t.Errorf("access in the sample game: %v", err)
	}
}

// TestRunAccessLevels audits one small model at every level: each attack runs at each level it can
// (only correctness at label), the rest are skipped with a reason, and correctness, which depends on the
// predicted label only, scores identically at every level that keeps the label.
func TestRunAccessLevels(t *testing.T) {
	c, err := ParseConfig([]byte(`
run: {random_seed: 3}
audit:
  num_ref_models: 1
  population_size: 100
  access: [logits, probabilities, {top_k: 1}, {rounded: 1}, label]
  attacks: [{name: loss}, {name: correctness}]
train: {model_name: mlp, optimizer: Adam, learning_rate: 0.002, epochs: 2, batch_size: 32, schedule: constant}
data: {dataset: fashion-mnist, train_size: 200}
`))
	if err != nil {
		t.Fatal(err)
	}
	c.Run.LogDir = t.TempDir()
	var log strings.Builder
	res, err := Run(context.Background(), c, Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Attacks) != 9 || len(res.Skipped) != 1 {
		t.Fatalf("%d results and %d skipped; want 4 levels × 2 attacks + correctness at label = 9, and 1 skipped", len(res.Attacks), len(res.Skipped))
	}
	for _, s := range res.Skipped {
		if s.Access != "label" || !strings.Contains(s.Reason, "needs scores") {
			t.Errorf("skipped %+v", s)
		}
	}
	if !strings.Contains(log.String(), "skipped: attack loss needs scores, but access level label returns the predicted label only") {
		t.Errorf("the log does not say loss is skipped at label:\n%s", log.String())
	}
	var correct [][]float64
	for _, a := range res.Attacks {
		if !strings.HasSuffix(a.Label, " @ "+a.Access) {
			t.Errorf("label %q does not name access %q", a.Label, a.Access)
		}
		if a.Access == "rounded: 1" {
			continue // rounding can tie the top two classes, and the label of a tie is the lower class
		}
		if a.Name == "correctness" {
			correct = append(correct, a.Scores[0])
		}
	}
	if len(correct) != 4 {
		t.Fatalf("correctness ran at %d levels (rounded aside), want 4", len(correct))
	}
	for k := 1; k < len(correct); k++ {
		if !slices.Equal(correct[k], correct[0]) {
			t.Errorf("correctness at level %d differs from the logits level", k)
		}
	}
}

// TestAttackDataAtLabel checks that at label access the attacks' data hold one-hot predicted labels only.
func TestAttackDataAtLabel(t *testing.T) {
	pool := &dataset.Dataset{X: make([]float32, 2), Y: []int{0, 2}, Shape: []int{1}, Classes: 3}
	d := &Data{Pool: pool, Population: pool}
	ms := dataset.NewMemberships(2, 1)
	ms.Members[0] = true
	p := &Plan{Audit: []int{0, 1}, PopulationIdx: []int{0}, Models: 1, Memberships: ms}
	outs := []*modelOutputs{{Audit: []float32{2, 1, 0, 0, 0, 5}, Pop: []float32{1, 3, 2}, AuditRows: 2, PopRows: 1}}
	ad, err := attackDataAt(d, p, outs, 1, signal.Access{Level: signal.AccessLabel})
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{1, 0, 0, 0, 0, 1}; !slices.Equal(ad.Probs, want) {
		t.Errorf("probabilities %v, want %v", ad.Probs, want)
	}
	if want := []float64{0, 1, 0}; !slices.Equal(ad.PopProbs, want) {
		t.Errorf("population probabilities %v, want %v", ad.PopProbs, want)
	}
	// Rounded to one digit: every probability the attacks see is a multiple of 0.1.
	ad, err = attackDataAt(d, p, outs, 1, signal.Access{Level: signal.AccessRounded, Digits: 1})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range append(ad.Probs, ad.PopProbs...) {
		if r := math.Round(v * 10); math.Abs(v*10-r) > 1e-9 {
			t.Errorf("probability %d = %v is not rounded to one digit", k, v)
		}
	}
	if _, err := attackDataAt(d, p, outs, 1, signal.Access{Level: signal.AccessTopK, K: 4}); err == nil || !strings.Contains(err.Error(), "audit.access: top_k: K = 4, but the model has 3 classes") {
		t.Errorf("top_k beyond the classes: %v", err)
	}
}
