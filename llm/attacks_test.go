package llm

import (
	"math"
	"testing"

	"github.com/pmeter/pmeter/metric"
)

func oneSeq(lp []float64) *Bundle {
	return &Bundle{LogProbs: NewRagged([][]float64{lp})}
}

func TestMinKCount(t *testing.T) {
	lp := make([]float64, 50)
	for i := range lp {
		lp[i] = -float64(i+1) / 10 // distinct, the smallest are the last
	}
	b := oneSeq(lp)
	p := DefaultParams()
	p.K = 0.58
	lowest := func(m int) float64 { return mean(sortedCopy(lp)[:m]) }
	if got, want := MinK(b, p)[0], lowest(29); got != want {
		t.Errorf("default k=0.58 of 50: %v, want the mean of 29 values %v", got, want)
	}
	p.Compat = Mimir
	if got, want := MinK(b, p)[0], lowest(28); got != want {
		t.Errorf("mimir k=0.58 of 50: %v, want the mean of int(28.999999999999996) = 28 values %v", got, want)
	}
	// An empty selection: MIMIR's NaN, pmeter's one lowest value.
	short := oneSeq([]float64{-1, -2, -3})
	p = DefaultParams()
	p.K = 0.05
	if got := MinK(short, p)[0]; got != -3 {
		t.Errorf("default k=0.05 of 3: %v, want the lowest value -3", got)
	}
	p.Compat = Mimir
	if got := MinK(short, p)[0]; !math.IsNaN(got) {
		t.Errorf("mimir k=0.05 of 3: %v, want NaN", got)
	}
	// A window longer than the text: one window of all tokens (MIMIR: none).
	p = DefaultParams()
	p.Window = 8
	if got := MinK(short, p)[0]; got != -2 {
		t.Errorf("default window 8 over 3 tokens: %v, want their mean -2", got)
	}
}

func sortedCopy(x []float64) []float64 {
	y := append([]float64(nil), x...)
	for i := range y {
		for j := i + 1; j < len(y); j++ {
			if y[j] < y[i] {
				y[i], y[j] = y[j], y[i]
			}
		}
	}
	return y
}

func TestNeighborhoodMean(t *testing.T) {
	b := oneSeq([]float64{-1, -3}) // loss 2
	b.Neighbors = NewRagged([][]float64{{2.5, 3, 6.5}})
	if got, _ := Neighborhood(b, DefaultParams()); got[0] != 4-2 {
		t.Errorf("default: %v, want mean neighbour loss 4 - loss 2", got[0])
	}
	p := DefaultParams()
	p.Compat = Mimir
	if got, _ := Neighborhood(b, p); got[0] != 6.5-2 {
		t.Errorf("mimir: %v, want max neighbour loss 6.5 - loss 2", got[0])
	}
	p.Neighbors = 2
	if got, _ := Neighborhood(b, p); got[0] != 3-2 {
		t.Errorf("mimir n=2: %v, want 3 - 2", got[0])
	}
}

func TestReCaLLDefault(t *testing.T) {
	b := &Bundle{LogProbs: NewRagged([][]float64{{-1, -1, -1, -1}, {-2, -2, -2, -2}}),
		Cond: NewRagged([][]float64{{-2, -2, math.NaN(), -2, -2}, {-3, -3, -3, -3, -3}}),
		Meta: Meta{Recall: &RecallMeta{PrefixLen: 3, MaxLength: 4, PrefixSequences: []int{1}}}}
	got, err := ReCaLL(b, DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != 2 || !math.IsNaN(got[1]) {
		t.Errorf("default = %v, want [2 (cond NLL 2 over the 4 scored tokens / NLL 1), NaN (a prefix text)]", got)
	}
	p := DefaultParams()
	p.Compat = Mimir
	got, _ = ReCaLL(b, p)
	// Windows of 4 over prefix 3 + text 5: [0,4) has text position 3 only, its first-of-window? no:
	// unmasked {3}, scored {3} → loss 2, n 1; [4,8) unmasked {4..7}, scored {5,6,7} → loss 2, n 4.
	// ll = -(2·1 + 2·4)/5 = -2; score = -(ll / loss) = 2; the prefix text is scored too.
	if got[0] != 2 || math.IsNaN(got[1]) {
		t.Errorf("mimir = %v, want [2, a number]", got)
	}
}

func TestCountTokens(t *testing.T) {
	corpus := NewRagged([][]int64{{1, 1, 1, 2}, {2}})
	if got := CountTokens(corpus, 4, Default); got[1] != 3 || got[2] != 2 || len(got) != 4 {
		t.Errorf("occurrences = %v, want [0 3 2 0]", got)
	}
	if got := CountTokens(corpus, 4, Mimir); got[1] != 1 || got[2] != 2 {
		t.Errorf("documents = %v, want [0 1 2 0]", got)
	}
}

// TestDefaultSign checks pmeter's sign on the reference cases, whose members have higher
// log-probabilities: every attack's default AUC is above 0.5 and close to MIMIR's.
func TestDefaultSign(t *testing.T) {
	for _, c := range []struct{ dir, attack string }{
		{"llm_loss", "loss"}, {"llm_zlib", "zlib"}, {"llm_min_k", "min-k"}, {"llm_reference", "reference"},
		{"llm_recall", "recall"}, {"llm_neighborhood", "neighborhood"},
	} {
		vc, b := readCase(t, c.dir)
		if c.attack == "recall" {
			b.Meta.Recall = &RecallMeta{PrefixLen: vc.Int(t, "prefix_len"), MaxLength: vc.Int(t, "max_length")}
		}
		d := score(t, b, c.attack, DefaultParams())
		m := score(t, b, c.attack, mimirParams())
		ad, am := ComputeMimirMetrics(d, b.Labels).AUC, ComputeMimirMetrics(m, b.Labels).AUC
		if !(ad > 0.55) || math.Abs(ad-am) > 0.1 {
			t.Errorf("%s: default AUC %.3f, mimir %.3f: want > 0.55 and close", c.attack, ad, am)
		}
		res, err := metric.Evaluate(d, b.Labels)
		if err != nil || math.Abs(res.AUC-ad) > 1e-12 {
			t.Errorf("%s: metric.Evaluate AUC %v (%v), want %v", c.attack, res.AUC, err, ad)
		}
	}
}
