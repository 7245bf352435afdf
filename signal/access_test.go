package signal

import (
	"math"
	"testing"
)

func TestParseAccess(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Access
		bad  bool
	}{
		{in: "logits", want: Access{Level: AccessLogits}},
		{in: "probabilities", want: Access{Level: AccessProbabilities}},
		{in: "label", want: Access{Level: AccessLabel}},
		{in: "top_k: 3", want: Access{Level: AccessTopK, K: 3}},
		{in: "top_k=1", want: Access{Level: AccessTopK, K: 1}},
		{in: "rounded: 2", want: Access{Level: AccessRounded, Digits: 2}},
		{in: "top_k: 0", bad: true},
		{in: "top_k", bad: true},
		{in: "rounded: -1", bad: true},
		{in: "rounded: x", bad: true},
		{in: "label: 2", bad: true},
		{in: "weights", bad: true},
	} {
		got, err := ParseAccess(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
			t.Errorf("ParseAccess(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.bad)
		}
		if !tc.bad {
			if back, _ := ParseAccess(got.String()); back != got {
				t.Errorf("%q: String %q does not parse back", tc.in, got.String())
			}
		}
	}
}

// TestObserve checks every level on hand-worked logits: ℓ = (log 6, log 3, log 1) has softmax
// (0.6, 0.3, 0.1); the second row ties classes 0 and 2.
func TestObserve(t *testing.T) {
	logits := []float64{math.Log(6), math.Log(3), 0, 1, 0, 1}
	f32 := func(x float64) float64 { return float64(float32(x)) }
	e := math.E
	p2 := []float64{e / (2*e + 1), 1 / (2*e + 1), e / (2*e + 1)}
	for _, tc := range []struct {
		a    Access
		want []float64
	}{
		{Access{Level: AccessProbabilities}, []float64{f32(0.6), f32(0.3), f32(0.1), f32(p2[0]), f32(p2[1]), f32(p2[2])}},
		{Access{Level: AccessTopK, K: 1}, []float64{f32(0.6), (1 - f32(0.6)) / 2, (1 - f32(0.6)) / 2, f32(p2[0]), (1 - f32(p2[0])) / 2, (1 - f32(p2[0])) / 2}},
		{Access{Level: AccessTopK, K: 2}, []float64{f32(0.6), f32(0.3), 1 - f32(0.6) - f32(0.3), f32(p2[0]), 1 - 2*f32(p2[0]), f32(p2[2])}},
		{Access{Level: AccessTopK, K: 3}, []float64{f32(0.6), f32(0.3), f32(0.1), f32(p2[0]), f32(p2[1]), f32(p2[2])}},
		{Access{Level: AccessRounded, Digits: 0}, []float64{1, 0, 0, 0, 0, 0}},
		{Access{Level: AccessRounded, Digits: 1}, []float64{0.6, 0.3, 0.1, 0.4, 0.2, 0.4}},
		{Access{Level: AccessLabel}, []float64{1, 0, 0, 1, 0, 0}},
	} {
		got, err := tc.a.Observe(logits, 3)
		if err != nil {
			t.Fatalf("%s: %v", tc.a, err)
		}
		for i := range got {
			if math.Abs(got[i]-tc.want[i]) > 1e-12 {
				t.Errorf("%s: got %v, want %v", tc.a, got, tc.want)
				break
			}
		}
	}
	if _, err := (Access{Level: AccessTopK, K: 4}).Observe(logits, 3); err == nil {
		t.Error("top_k: 4 of 3 classes accepted")
	}
	if _, err := (Access{}).Observe(logits, 3); err == nil {
		t.Error("Observe at logits level does not say the logits are the output")
	}
	if _, err := (Access{Level: AccessLabel}).Observe([]float64{0, math.NaN(), 0}, 3); err == nil {
		t.Error("NaN logit accepted")
	}
}
