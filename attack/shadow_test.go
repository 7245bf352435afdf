package attack

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/signal"
)

// The datasets of testdata/shadow_sklearn.py, which derives the expected values with scikit-learn 1.2.1
// LogisticRegression (newton-cg, tol 1e-10; lbfgs agrees to 1e-5).
var (
	skX1 = []float64{0.05, 0.12, 0.31, 0.02, 0.44, 0.09, 0.87, 0.15, 0.26, 1.30, // members
		0.71, 1.90, 0.38, 2.45, 1.12, 0.95, 3.10, 0.52, 1.66, 0.08, 2.20, 0.64} // non-members
	skX2 = []float64{
		0.91, 0.05, 0.02, 0.85, 0.10, 0.03, 0.97, 0.02, 0.01, 0.60, 0.30, 0.05,
		0.88, 0.07, 0.03, 0.99, 0.01, 0.00, 0.75, 0.20, 0.03, 0.93, 0.04, 0.02,
		0.55, 0.25, 0.12, 0.70, 0.18, 0.07, 0.45, 0.35, 0.10, 0.80, 0.12, 0.05,
		0.62, 0.21, 0.09, 0.40, 0.33, 0.20, 0.95, 0.03, 0.01, 0.51, 0.29, 0.11,
	}
	skY2 = []bool{true, true, true, true, true, true, true, false, false, false, false, false, false, false, false, false}
	// Dataset 1: class_weight {0: 10, 1: 12}, C = 1. Expected coefficient then intercept, and
	// predict_proba[:, 1] at 0.1 and 1.0.
	skTheta1 = []float64{-2.103106248856304, 1.4940428342203276}
	skProb1  = []float64{0.7830844112781001, 0.3522728752940001}
	// Dataset 2: sample weights n/(2 n_class), C = 0.5.
	skTheta2 = []float64{0.35278241861519316, -0.16538294158885253, -0.11435379534499591, -0.23410922205341672}
)

func skY1() []bool {
	y := make([]bool, len(skX1))
	for i := 0; i < 10; i++ {
		y[i] = true
	}
	return y
}

func TestFitShadowLogisticSklearn(t *testing.T) {
	y1 := skY1()
	s1 := shadowSet{x: skX1, y: y1}
	m1, err := fitShadowLogistic(skX1, 1, y1, s1.weights(true), 1)
	if err != nil {
		t.Fatal(err)
	}
	shadowCheckClose(t, "dataset 1", append(append([]float64(nil), m1.coef...), m1.intercept), skTheta1, 1e-7)
	shadowCheckClose(t, "dataset 1 proba", []float64{m1.prob([]float64{0.1}), m1.prob([]float64{1.0})}, skProb1, 1e-7)

	s2 := shadowSet{x: skX2, y: skY2}
	m2, err := fitShadowLogistic(skX2, 3, skY2, s2.weights(false), 1/0.5)
	if err != nil {
		t.Fatal(err)
	}
	shadowCheckClose(t, "dataset 2", append(append([]float64(nil), m2.coef...), m2.intercept), skTheta2, 1e-6)
}

func shadowCheckClose(t *testing.T, what string, got, want []float64, rtol float64) {
	t.Helper()
	for i := range want {
		if math.Abs(got[i]-want[i]) > rtol*math.Abs(want[i]) {
			t.Errorf("%s[%d] = %.17g, want %.17g (rtol %g)", what, i, got[i], want[i], rtol)
		}
	}
}

// TestShadowPrivacyMeter runs the v1 ShadowMetric mode end to end: the shadow models' (record, model)
// losses form dataset 1, so the target scores are scikit-learn's predict_proba.
func TestShadowPrivacyMeter(t *testing.T) {
	// 22 records × 2 models: model 0 is the shadow model with dataset 1's losses; model 1 is the target,
	// whose losses 0.1 and 1.0 (records 0 and 1) were scored by scikit-learn.
	n := len(skX1)
	d := &Data{N: n, M: 2, Q: 1, Kind: signal.Loss, Signals: make([]float64, 2*n), Members: make([]bool, 2*n)}
	y := skY1()
	for i := 0; i < n; i++ {
		d.Signals[2*i] = skX1[i]
		d.Members[2*i] = y[i]
		d.Signals[2*i+1] = 0.5
		d.Members[2*i+1] = i%2 == 0
	}
	d.Signals[1], d.Signals[3] = 0.1, 1.0
	// A prob_true signal gives the same loss features.
	dp := *d
	dp.Kind = signal.ProbTrue
	dp.Signals = append([]float64(nil), d.Signals...)
	if err := signal.Convert(dp.Signals, signal.Loss, signal.ProbTrue); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultShadowConfig()
	cfg.Compat = CompatPrivacyMeter
	for _, dd := range []*Data{d, &dp} {
		got, err := Shadow(dd, 1, cfg)
		if err != nil {
			t.Fatal(err)
		}
		shadowCheckClose(t, string(dd.Kind)+" scores", got[:2], skProb1, 1e-7)
	}
}

// shadowTestData draws N records × M models of C-class probability vectors. Members of a model get a
// true-class share multiplied by gap (1 = same distribution). Models 2k, 2k+1 are complementary.
func shadowTestData(seed uint64, n, m, nc int, gap float64) *Data {
	rng := rand.New(rand.NewPCG(seed, 2))
	d := &Data{N: n, M: m, Q: 1, Kind: signal.ProbTrue, C: nc, Labels: make([]int, n),
		Members: make([]bool, n*m), Signals: make([]float64, n*m), Probs: make([]float64, n*m*nc)}
	for i := 0; i < n; i++ {
		d.Labels[i] = rng.IntN(nc)
		for k := 0; k+1 < m; k += 2 {
			in := rng.IntN(2) == 0
			d.Members[i*m+k], d.Members[i*m+k+1] = in, !in
		}
		for k := 0; k < m; k++ {
			p := d.Probs[(i*m+k)*nc : (i*m+k+1)*nc]
			sum := 0.0
			for c := range p {
				p[c] = rng.ExpFloat64()
				if c == d.Labels[i] {
					p[c] *= 2
					if d.Members[i*m+k] {
						p[c] *= gap
					}
				}
				sum += p[c]
			}
			for c := range p {
				p[c] /= sum
			}
			d.Signals[i*m+k] = p[d.Labels[i]]
		}
	}
	return d
}

// shadowRankAUC is the Mann–Whitney AUC with ties counted ½, by brute force.
func shadowRankAUC(scores []float64, members []bool) float64 {
	var s, pairs float64
	for i, a := range scores {
		if !members[i] {
			continue
		}
		for j, b := range scores {
			if members[j] {
				continue
			}
			pairs++
			switch {
			case a > b:
				s++
			case a == b:
				s += 0.5
			}
		}
	}
	return s / pairs
}

// TestShadowSeparation: on well separated members the attack reaches AUC ≈ 1; on identically
// distributed members and non-members ≈ 0.5. Fixed seeds make the bounds deterministic.
func TestShadowSeparation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		gap    float64
		mutate func(*ShadowConfig)
		lo, hi float64
	}{
		{"logistic separable", 1e4, func(*ShadowConfig) {}, 0.99, 1},
		{"logistic same", 1, func(*ShadowConfig) {}, 0.42, 0.58},
		{"logistic top1 global", 1e4, func(c *ShadowConfig) { c.TopK, c.PerClass = 1, false }, 0.99, 1},
		{"mlp separable", 1e4, func(c *ShadowConfig) { c.Model = ShadowMLP }, 0.99, 1},
		{"mlp same", 1, func(c *ShadowConfig) { c.Model = ShadowMLP }, 0.42, 0.58},
		{"signal features", 1e4, func(c *ShadowConfig) { c.Features, c.PerClass = ShadowSignal, false }, 0.99, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := shadowTestData(11, 300, 8, 3, tc.gap)
			cfg := DefaultShadowConfig()
			tc.mutate(&cfg)
			got, err := Shadow(d, 0, cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range got {
				if !(v >= 0 && v <= 1) {
					t.Fatalf("score[%d] = %v is not a probability", i, v)
				}
			}
			if auc := shadowRankAUC(got, d.TargetMembers(0)); auc < tc.lo || auc > tc.hi {
				t.Errorf("AUC %v, want within [%v, %v]", auc, tc.lo, tc.hi)
			}
			again, err := Shadow(d, 0, cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if got[i] != again[i] {
					t.Fatalf("run 2 score[%d] = %v, run 1 %v: not deterministic", i, again[i], got[i])
				}
			}
		})
	}
}

// TestShadowSignalMonotone: a 1-D logistic regression is monotone, so on signal features the attack
// ranks records as the loss does (or exactly reversed).
func TestShadowSignalMonotone(t *testing.T) {
	d := shadowTestData(19, 200, 4, 3, 3)
	cfg := DefaultShadowConfig()
	cfg.Features, cfg.PerClass = ShadowSignal, false
	got, err := Shadow(d, 1, cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := d.Column(1, 0, signal.ProbTrue)
	if err != nil {
		t.Fatal(err)
	}
	mem := d.TargetMembers(1)
	if a, b := shadowRankAUC(got, mem), shadowRankAUC(p, mem); math.Abs(a-b) > 1e-12 {
		t.Errorf("AUC %v, want the AUC of p(true label), %v", a, b)
	}
}

// TestShadowClassFallback: a class with only members among the shadow examples uses the global model.
func TestShadowClassFallback(t *testing.T) {
	d := shadowTestData(13, 120, 4, 3, 50)
	for i := 0; i < d.N; i++ {
		if d.Labels[i] == 2 {
			for m := 1; m < d.M; m++ {
				d.Members[i*d.M+m] = true
			}
		}
	}
	got, err := Shadow(d, 0, DefaultShadowConfig())
	if err != nil {
		t.Fatal(err)
	}
	global := DefaultShadowConfig()
	global.PerClass = false
	want, err := Shadow(d, 0, global)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		// The fallback sees the same examples grouped by class, so sums differ in the last bits.
		if d.Labels[i] == 2 && math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("score[%d] = %v, want the global model's %v", i, got[i], want[i])
		}
	}
}

func TestShadowErrors(t *testing.T) {
	full := shadowTestData(17, 20, 4, 3, 2)
	noLabels := *full
	noLabels.Labels = nil
	noProbs := *full
	noProbs.Probs, noProbs.C = nil, 0
	entropy := &Data{N: 2, M: 2, Q: 1, Kind: signal.Entropy, Signals: []float64{1, 2, 3, 4}, Members: []bool{true, false, false, true}, Design: DesignBernoulli}
	allIn := *full
	allIn.Design = DesignBernoulli // all models equal the target's: no model would be left otherwise
	allIn.Members = make([]bool, len(full.Members))
	for i := range allIn.Members {
		allIn.Members[i] = true
	}
	def := DefaultShadowConfig()
	with := func(f func(*ShadowConfig)) ShadowConfig { c := def; f(&c); return c }
	pm := with(func(c *ShadowConfig) { c.Compat = CompatPrivacyMeter })
	for _, tc := range []struct {
		name string
		d    *Data
		cfg  ShadowConfig
		want string
	}{
		{"target", full, def, "target model 5"},
		{"labels", &noLabels, def, "per_class=false"},
		{"probs", &noProbs, def, "features=signal"},
		{"pm kind", entropy, pm, "does not convert"},
		{"features", full, with(func(c *ShadowConfig) { c.Features = "raw" }), `unknown features "raw"`},
		{"model", full, with(func(c *ShadowConfig) { c.Model = "forest" }), `unknown attack model "forest"`},
		{"c", full, with(func(c *ShadowConfig) { c.InvReg = 0 }), "inverse regularisation"},
		{"hidden", full, with(func(c *ShadowConfig) { c.Model, c.Hidden = ShadowMLP, 0 }), "hidden units"},
		{"one class", &allIn, def, "0 non-member examples"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := 0
			if tc.name == "target" {
				target = 5
			}
			_, err := Shadow(tc.d, target, tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// BenchmarkShadow: per-class logistic attack models on 10 000 records × 8 models × 10 classes (70 000
// shadow examples of 10 features).
func BenchmarkShadow(b *testing.B) {
	d := shadowTestData(31, 10000, 8, 10, 3)
	cfg := DefaultShadowConfig()
	for b.Loop() {
		if _, err := Shadow(d, 0, cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSongMittal: class-calibrated modified entropy on the same data.
func BenchmarkSongMittal(b *testing.B) {
	d := shadowTestData(31, 10000, 8, 10, 3)
	for b.Loop() {
		if _, err := SongMittal(d, 0, SongMittalConfig{Value: SMModifiedEntropy, ClassThresholds: true}); err != nil {
			b.Fatal(err)
		}
	}
}
