package signal

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/internal/vectortest"
)

func ints(v []int64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

// TestSignalsVectors checks every signals_* case: p(true) at each temperature (Privacy Meter v2
// get_softmax), cross-entropy, softmax, Song & Mittal entropy and modified entropy, and Privacy Meter v1's
// rescaled logit (Compat), from logits and, where the signal is defined on probabilities, from the stored
// softmax output.
func TestSignalsVectors(t *testing.T) {
	for _, name := range vectortest.Cases(t, "signals_") {
		t.Run(name, func(t *testing.T) {
			c := vectortest.Load(t, name)
			logits := c.F64(t, "logits")
			labels := ints(c.Ints(t, "labels"))
			n, classes := c.Int(t, "N"), c.Int(t, "C")
			if len(logits) != n*classes || len(labels) != n {
				t.Fatalf("inputs have %d logits and %d labels, want %d × %d", len(logits), len(labels), n, classes)
			}
			for _, temp := range c.Floats(t, "temperatures") {
				got, err := FromLogits(ProbTrue, logits, classes, labels, Options{Temperature: temp})
				if err != nil {
					t.Fatal(err)
				}
				c.Check(t, "prob_true_T"+strconv.FormatFloat(temp, 'f', -1, 64), got, n)
			}
			probs, err := Softmax(logits, classes, 1)
			if err != nil {
				t.Fatal(err)
			}
			c.Check(t, "probs", probs, n, classes)

			fromLogits := []struct {
				kind Kind
				file string
				opt  Options
			}{
				{Loss, "loss_ce", Options{}},
				{Entropy, "entropy", Options{}},
				{ModifiedEntropy, "modified_entropy", Options{}},
				{RescaledLogit, "rescaled_logit", Options{Compat: true}},
			}
			for _, tc := range fromLogits {
				got, err := FromLogits(tc.kind, logits, classes, labels, tc.opt)
				if err != nil {
					t.Fatal(err)
				}
				c.Check(t, tc.file, got, n)
			}
			// The same signals from the stored probabilities.
			sp := c.F64(t, "probs")
			fromProbs := []struct {
				kind Kind
				file string
			}{
				{ProbTrue, "prob_true_T1"},
				{Entropy, "entropy"},
				{ModifiedEntropy, "modified_entropy"},
				{RescaledLogit, "rescaled_logit"},
			}
			for _, tc := range fromProbs {
				got, err := FromProbs(tc.kind, sp, classes, labels, Options{})
				if err != nil {
					t.Fatal(err)
				}
				c.Check(t, tc.file, got, n)
			}
		})
	}
}

// TestLiRARescaleVectors checks score.py's logit scaling on every lira_rescale case: logits are
// N × 1 × A × C (inference.py's layout), the result N × A (augmentations are not averaged).
func TestLiRARescaleVectors(t *testing.T) {
	for _, name := range vectortest.Cases(t, "lira_rescale") {
		t.Run(name, func(t *testing.T) {
			c := vectortest.Load(t, name)
			a := c.Array(t, "logits")
			if len(a.Shape) != 4 || a.Shape[1] != 1 {
				t.Fatalf("logits shape %v, want N × 1 × A × C", a.Shape)
			}
			n, aug, classes := a.Shape[0], a.Shape[2], a.Shape[3]
			labels := ints(c.Ints(t, "labels"))
			got, err := FromLogits(RescaledLogit, a.Float64s(), classes, labels, Options{Queries: aug, Compat: true})
			if err != nil {
				t.Fatal(err)
			}
			c.Check(t, "scores", got, n, aug)

			// The exact form agrees wherever the guards do not bite (p_y and 1 − p_y above 1e-30).
			exact, err := FromLogits(RescaledLogit, a.Float64s(), classes, labels, Options{Queries: aug})
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if math.Abs(got[i]) < 60 && !vectortest.Close(exact[i], got[i], 1e-9, 1e-12) {
					t.Errorf("row %d: exact φ %v, score.py φ %v", i, exact[i], got[i])
				}
			}
		})
	}
}

// TestRescaledLogitExact checks the exact φ = ℓ_y − LSE_{j≠y} ℓ_j against closed forms: with ℓ_y = a and
// every other of the C logits equal to b, φ = (a − b) − log(C − 1), for gaps far beyond the 1e-45 guards.
func TestRescaledLogitExact(t *testing.T) {
	tests := []struct {
		a, b float64
		c    int
		temp float64
	}{
		{0, 0, 10, 1},
		{1000, -1000, 10, 1},
		{-1000, 1000, 10, 1},
		{50, 50, 2, 1},
		{3.5, -2.25, 100, 2},
		{-300, 400, 5, 0.5},
	}
	for _, tc := range tests {
		logits := make([]float64, tc.c)
		for j := range logits {
			logits[j] = tc.b
		}
		logits[1] = tc.a
		got, err := FromLogits(RescaledLogit, logits, tc.c, []int{1}, Options{Temperature: tc.temp})
		if err != nil {
			t.Fatal(err)
		}
		want := (tc.a-tc.b)/tc.temp - math.Log(float64(tc.c-1))
		if !vectortest.Close(got[0], want, 1e-14, 1e-13) {
			t.Errorf("a=%v b=%v C=%d T=%v: φ = %v, want %v", tc.a, tc.b, tc.c, tc.temp, got[0], want)
		}
		// The guarded form saturates at ±103.616… where the exact one does not.
		compat, err := FromLogits(RescaledLogit, logits, tc.c, []int{1}, Options{Temperature: tc.temp, Compat: true})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(want) < 30 && !vectortest.Close(compat[0], want, 1e-12, 1e-12) {
			t.Errorf("a=%v b=%v: compat φ = %v, want %v", tc.a, tc.b, compat[0], want)
		}
		if cap := math.Log(1+1e-45) - math.Log(1e-45); math.Abs(want) > 200 && math.Abs(math.Abs(compat[0])-cap) > 1e-9 {
			t.Errorf("a=%v b=%v: compat φ = %v, want ±%v", tc.a, tc.b, compat[0], cap)
		}
	}
}

// TestSignalIdentities checks the signals against each other: loss = −log p_y, φ = log(p/(1−p)) via
// Convert (where p does not round near 1), confidence = max p, entropy of a uniform row = log C, modified entropy of a one-hot correct
// row = 0, and the query layout.
func TestSignalIdentities(t *testing.T) {
	logits := []float64{
		1, 2, 3, 0.5,
		-4, 8, 0, 0,
		0, 0, 0, 0,
		30, -30, 2, 1,
	}
	labels := []int{2, 0, 3, 0}
	const classes = 4
	get := func(k Kind, opt Options) []float64 {
		t.Helper()
		v, err := FromLogits(k, logits, classes, labels, opt)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	p := get(ProbTrue, Options{})
	loss := get(Loss, Options{})
	phi := get(RescaledLogit, Options{})
	conf := get(Confidence, Options{})
	ent := get(Entropy, Options{})
	sm, _ := Softmax(logits, classes, 0)
	for i := range p {
		if !vectortest.Close(loss[i], -math.Log(p[i]), 1e-12, 1e-15) {
			t.Errorf("row %d: loss %v, −log p %v", i, loss[i], -math.Log(p[i]))
		}
		q := []float64{p[i]}
		if err := Convert(q, ProbTrue, RescaledLogit); err != nil {
			t.Fatal(err)
		}
		// p rounds near 1 in row 3, where logit(p) has lost what φ keeps.
		if math.Abs(phi[i]) < 20 && !vectortest.Close(phi[i], q[0], 1e-9, 1e-9) {
			t.Errorf("row %d: φ %v, logit(p) %v", i, phi[i], q[0])
		}
		mx := 0.0
		for _, v := range sm[i*classes : (i+1)*classes] {
			mx = max(mx, v)
		}
		if !vectortest.Close(conf[i], mx, 1e-15, 0) {
			t.Errorf("row %d: confidence %v, max p %v", i, conf[i], mx)
		}
	}
	if !vectortest.Close(ent[2], math.Log(4), 1e-15, 0) {
		t.Errorf("entropy of a uniform row = %v, want log 4", ent[2])
	}
	me, err := FromProbs(ModifiedEntropy, []float64{0, 1, 0}, 3, []int{1}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if me[0] != 0 {
		t.Errorf("modified entropy of a correct one-hot row = %v, want 0", me[0])
	}
	// The wrong one-hot row: (1−0)·(−log 1e-30) + 1·(−log max(0, 1e-30)) = 2·log 1e30.
	me, _ = FromProbs(ModifiedEntropy, []float64{0, 1, 0}, 3, []int{0}, Options{})
	if want := 2 * math.Log(1e30); !vectortest.Close(me[0], want, 1e-15, 0) {
		t.Errorf("modified entropy of a wrong one-hot row = %v, want %v", me[0], want)
	}

	// Queries: two records × two queries equals four records with repeated labels.
	q2, err := FromLogits(Loss, logits, classes, []int{2, 0}, Options{Queries: 2})
	if err != nil {
		t.Fatal(err)
	}
	flat, _ := FromLogits(Loss, logits, classes, []int{2, 2, 0, 0}, Options{})
	for i := range flat {
		if q2[i] != flat[i] {
			t.Errorf("query layout: value %d = %v, want %v", i, q2[i], flat[i])
		}
	}

	ok, err := Correct(logits, classes, labels, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Row 2 ties everywhere: the arg max is class 0 (numpy), not the label 3.
	if want := []bool{true, false, false, true}; !equalBools(ok, want) {
		t.Errorf("Correct = %v, want %v", ok, want)
	}
}

func equalBools(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSoftMarginTaylor checks RMIA's soft-margin Taylor softmax against values computed with the research
// code's convert_signals(..., "taylor-soft-margin") and get_taylor, transcribed to numpy (float64) and run
// with python3 on these logits (see the table). Row 3 shows the negative values of the odd-degree
// polynomial that the reference code produces.
func TestSoftMarginTaylor(t *testing.T) {
	logits := []float64{
		1, 2, -0.5, 3,
		0, 0, 0, 0,
		5, -1, 2.5, 0.3,
		-4, 1, 0.5, 2,
	}
	labels := []int{3, 0, 0, 0}
	tests := []struct {
		temp float64
		cfg  TaylorConfig
		want []float64
	}{
		{2, TaylorConfig{}, []float64{0.32277391803174205, 0.15349887133182846, 0.5330608958534306, -0.2584501796614776}},
		{1, DefaultTaylor(), []float64{0.471955208972867, 0.15349887133182846, 0.7284851701944132, -6.587005582610748}},
		{1, TaylorConfig{Margin: 0, Order: 6}, []float64{0.6347050421753307, 0.25, 0.8722651093587314, -0.43628412489147567}},
		{3, TaylorConfig{Margin: 1.5, Order: 2}, []float64{0.11538461538461536, -0.2, 0.24475524475524474, -0.7857142857142854}},
	}
	for _, tc := range tests {
		got, err := FromLogits(SoftMarginTaylor, logits, 4, labels, Options{Temperature: tc.temp, Taylor: tc.cfg})
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if !vectortest.Close(got[i], tc.want[i], 1e-13, 1e-15) {
				t.Errorf("T=%v %+v row %d: %v, want %v", tc.temp, tc.cfg, i, got[i], tc.want[i])
			}
		}
	}
}

// TestBadInput checks that user input errors name what is wrong.
func TestBadInput(t *testing.T) {
	good := []float64{1, 2, 3, 4, 5, 6}
	tests := []struct {
		name   string
		run    func() error
		expect string
	}{
		{"label out of range", func() error {
			_, err := FromLogits(ProbTrue, good, 3, []int{0, 3}, Options{})
			return err
		}, "label of record 1 is 3"},
		{"negative label", func() error {
			_, err := FromLogits(Loss, good, 3, []int{-1, 0}, Options{})
			return err
		}, "label of record 0 is -1"},
		{"NaN logit", func() error {
			_, err := FromLogits(Loss, []float64{1, 2, 3, 4, math.NaN(), 6}, 3, []int{0, 0}, Options{})
			return err
		}, "record 1, class 1: logit is NaN"},
		{"Inf logit with queries", func() error {
			_, err := FromLogits(Loss, []float64{1, 2, 3, math.Inf(-1), 5, 6}, 3, []int{0}, Options{Queries: 2})
			return err
		}, "record 0 query 1, class 0: logit is -Inf"},
		{"length", func() error {
			_, err := FromLogits(Loss, good, 4, []int{0}, Options{})
			return err
		}, "6 values, want 1 records × 1 queries × 4 classes = 4"},
		{"temperature", func() error {
			_, err := FromLogits(ProbTrue, good, 3, []int{0, 0}, Options{Temperature: -1})
			return err
		}, "temperature -1"},
		{"one class rescaled", func() error {
			_, err := FromLogits(RescaledLogit, good, 1, []int{0, 0, 0, 0, 0, 0}, Options{})
			return err
		}, "at least 2 classes"},
		{"unknown kind", func() error {
			_, err := FromLogits(Kind("grad_norm"), good, 3, []int{0, 0}, Options{})
			return err
		}, "unknown signal kind"},
		{"probability above 1", func() error {
			_, err := FromProbs(ProbTrue, []float64{0.5, 1.5}, 2, []int{0}, Options{})
			return err
		}, "record 0, class 1: probability 1.5 outside [0, 1]"},
		{"temperature with probabilities", func() error {
			_, err := FromProbs(ProbTrue, []float64{0.5, 0.5}, 2, []int{0}, Options{Temperature: 2})
			return err
		}, "needs logits"},
		{"Taylor from probabilities", func() error {
			_, err := FromProbs(SoftMarginTaylor, []float64{0.5, 0.5}, 2, []int{0}, Options{})
			return err
		}, "defined on logits"},
		{"Taylor order", func() error {
			_, err := FromLogits(SoftMarginTaylor, good, 3, []int{0, 0}, Options{Taylor: TaylorConfig{Margin: 1}})
			return err
		}, "Taylor order 0"},
		{"softmax length", func() error {
			_, err := Softmax(good, 4, 1)
			return err
		}, "not a multiple"},
		{"correct label", func() error {
			_, err := Correct(good, 3, []int{0, 7}, Options{})
			return err
		}, "label of record 1 is 7"},
	}
	for _, tc := range tests {
		err := tc.run()
		if err == nil || !strings.Contains(err.Error(), tc.expect) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.expect)
		}
	}
}
