package attack

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/internal/vectortest"
	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/signal"
)

// liraData builds Data from the LiRA layout: keep M × N and scores M × N × Q (models × examples).
func liraData(t *testing.T, c *vectortest.Case, keepName, scoresName string) *Data {
	t.Helper()
	ka := c.Array(t, keepName)
	keep, err := ka.Bools()
	if err != nil {
		t.Fatal(err)
	}
	sa := c.Array(t, scoresName)
	scores := sa.Float64s()
	m, n := ka.Shape[0], ka.Shape[1]
	q := 1
	if len(sa.Shape) == 3 {
		q = sa.Shape[2]
	}
	if sa.Shape[0] != m || sa.Shape[1] != n {
		t.Fatalf("%s shape %v does not match %s shape %v", scoresName, sa.Shape, keepName, ka.Shape)
	}
	d := &Data{N: n, M: m, Q: q, Kind: signal.RescaledLogit, Signals: make([]float64, n*m*q), Members: make([]bool, n*m)}
	for mi := 0; mi < m; mi++ {
		for i := 0; i < n; i++ {
			d.Members[i*m+mi] = keep[mi*n+i]
			for k := 0; k < q; k++ {
				d.Signals[(i*m+mi)*q+k] = scores[(mi*n+i)*q+k]
			}
		}
	}
	return d
}

// checkSweep compares the LiRA reference code's sweep/do_plot metrics of score (higher = member) with the
// case's files prefix_{fpr,tpr,auc,acc,tpr_at_fpr_lt_0.001}, those present.
func checkSweep(t *testing.T, c *vectortest.Case, prefix string, score []float64, answers []bool) {
	t.Helper()
	curve := metric.ROC(score, answers, true)
	if c.Has(prefix + "_fpr") {
		c.Check(t, prefix+"_fpr", curve.FPR)
		c.Check(t, prefix+"_tpr", curve.TPR)
	}
	c.Check(t, prefix+"_auc", []float64{metric.AUC(curve)})
	c.Check(t, prefix+"_acc", []float64{metric.BalancedAccuracy(curve)})
	c.Check(t, prefix+"_tpr_at_fpr_lt_0.001", []float64{metric.TPRAtFPRStrict(curve, 0.001)})
}

func negated(x []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = -v
	}
	return out
}

// TestLiRAVectors runs the LiRA reference code's variants (plot.py generate_ours, generate_ours_offline,
// generate_global with do_plot's sweep) on every lira_* case that has them: predictions (lower = member)
// from LiRAPrediction and as the negated score, and the ROC, AUC, balanced accuracy and TPR at FPR < 0.1%
// of the score.
func TestLiRAVectors(t *testing.T) {
	variants := []struct {
		name string
		cfg  LiRAConfig
	}{
		{"online", LiRAConfig{Online: true, Compat: CompatLiRA}},
		{"online_fixed_variance", LiRAConfig{Online: true, FixVariance: new(true), Compat: CompatLiRA}},
		{"offline", LiRAConfig{Compat: CompatLiRA}},
		{"offline_fixed_variance", LiRAConfig{FixVariance: new(true), Compat: CompatLiRA}},
	}
	for _, name := range vectortest.Cases(t, "lira_") {
		c := vectortest.Load(t, name)
		if !c.Has("online_prediction") {
			continue // lira_rescale (package signal) and lira_pmv1_benchmark (below)
		}
		t.Run(name, func(t *testing.T) {
			d := liraData(t, c, "keep", "scores")
			target := c.Int(t, "target_model_idx")
			answers := d.TargetMembers(target)
			c.CheckBool(t, "answers", answers)

			// The reference code's truncation sizes.
			r := refSet{d: d, sig: d.Signals, target: target}
			for _, side := range []struct {
				member bool
				param  string
			}{{true, "in_size"}, {false, "out_size"}} {
				k, err := r.sizes(side.member, d.M)
				if err != nil {
					t.Fatal(err)
				}
				if want := c.Int(t, side.param); k[0] != want {
					t.Errorf("%s = %d, want %d", side.param, k[0], want)
				}
			}

			for _, v := range variants {
				pred, err := LiRAPrediction(d, target, v.cfg)
				if err != nil {
					t.Fatal(err)
				}
				c.Check(t, v.name+"_prediction", pred, d.N)
				score, err := LiRA(d, target, v.cfg)
				if err != nil {
					t.Fatal(err)
				}
				c.Check(t, v.name+"_prediction", negated(score), d.N)
				checkSweep(t, c, v.name, score, answers)
			}
			g, err := Global(d, target)
			if err != nil {
				t.Fatal(err)
			}
			c.Check(t, "global_prediction", negated(g), d.N)
			checkSweep(t, c, "global", g, answers)
		})
	}
}

// TestLiRAPMv1Benchmark runs Privacy Meter v1's benchmark attacks (benchmark/main.py) on every
// lira_pmv1_benchmark case, as LiRA options: float32 reference statistics, in_size/out_size capped by
// num_in_models/num_out_models, target = model 0. Predictions at the case's tolerance, and where
// possible at 1e-13 (see below); metrics of the score.
func TestLiRAPMv1Benchmark(t *testing.T) {
	for _, name := range vectortest.Cases(t, "lira_pmv1_benchmark") {
		t.Run(name, func(t *testing.T) {
			c := vectortest.Load(t, name)
			d := liraData(t, c, "keep_matrix", "signals")
			pa := c.Array(t, "population_signals")
			z := pa.Shape[1]
			ps := pa.Float64s()
			d.Z = z
			d.Population = make([]float64, z*d.M)
			for m := 0; m < d.M; m++ {
				for i := 0; i < z; i++ {
					d.Population[i*d.M+m] = ps[m*z+i]
				}
			}
			target := c.Int(t, "target_model_idx")
			answers := d.TargetMembers(target)
			c.CheckBool(t, "answers", answers)
			nin, nout := c.Int(t, "num_in_models"), c.Int(t, "num_out_models")
			pm := func(cfg LiRAConfig) LiRAConfig {
				cfg.Compat, cfg.NumIn, cfg.NumOut = CompatPrivacyMeter, nin, nout
				return cfg
			}
			algs := map[string]LiRAConfig{
				"reference_in_out_logit_pdf_fixed":      pm(LiRAConfig{Online: true, FixVariance: new(true)}),
				"reference_in_out_logit_pdf":            pm(LiRAConfig{Online: true}),
				"reference_out_logits_percentile_fixed": pm(LiRAConfig{FixVariance: new(true), OfflineTest: OneSided}),
				"reference_out_logits_percentile":       pm(LiRAConfig{OfflineTest: OneSided}),
				"reference_out_logits_pdf_fixed":        pm(LiRAConfig{FixVariance: new(true), OfflineTest: TwoSided}),
				"reference_out_logits_pdf":              pm(LiRAConfig{OfflineTest: TwoSided}),
				"population":                            {PopulationOut: true, OfflineTest: OneSided},
			}
			l, ok := c.Params["algorithms"].([]any)
			if !ok || len(l) == 0 {
				t.Fatalf("params.algorithms = %v", c.Params["algorithms"])
			}
			for _, a := range l {
				alg := a.(string)
				cfg, ok := algs[alg]
				if !ok {
					t.Errorf("unknown algorithm %q", alg)
					continue
				}
				pred, err := LiRAPrediction(d, target, cfg)
				if err != nil {
					t.Fatal(err)
				}
				c.Check(t, alg+"_prediction", pred, d.N)
				// The float32 medians and stds are emulated bit for bit, so the attacks whose σ reaches scipy
				// as a float64 agree to the last bits of erfc. With per-record float32 σ, scipy's logpdf
				// takes log σ in float32 through numpy's SIMD logf, which is not correctly rounded (a few
				// float32 ulps); those two stay at the case's tolerance.
				if cfg.Compat == CompatPrivacyMeter && cfg.FixVariance == nil && cfg.OfflineTest != OneSided {
					continue
				}
				exact := *c
				exact.Tolerance = []vectortest.Tolerance{{Pattern: "*", Rtol: 1e-13}}
				exact.Check(t, alg+"_prediction", pred, d.N)

				score, err := LiRA(d, target, cfg)
				if err != nil {
					t.Fatal(err)
				}
				checkSweep(t, c, alg, score, answers)
			}
		})
	}
}

// synthLiRA returns a small data set: n records, m models in complementary pairs, q queries, with members
// scoring higher, and the target.
func synthLiRA(n, m, q int) *Data {
	d := &Data{N: n, M: m, Q: q, Kind: signal.RescaledLogit, Signals: make([]float64, n*m*q), Members: make([]bool, n*m)}
	seed := uint64(12345)
	rnd := func() float64 { // xorshift, uniform in (0, 1)
		seed ^= seed << 13
		seed ^= seed >> 7
		seed ^= seed << 17
		return (float64(seed>>11) + 0.5) / (1 << 53)
	}
	for i := 0; i < n; i++ {
		base := 4 * (rnd() - 0.5)
		for p := 0; p < m/2; p++ {
			in := rnd() < 0.5
			d.Members[i*m+2*p] = in
			d.Members[i*m+2*p+1] = !in
		}
		for j := 0; j < m; j++ {
			for k := 0; k < q; k++ {
				v := base + 0.8*(rnd()-0.5)
				if d.Members[i*m+j] {
					v += 1
				}
				d.Signals[(i*m+j)*q+k] = v
			}
		}
	}
	return d
}

// TestLiRADefaults checks the non-compat defaults against a direct computation: every record uses all of
// its own reference models but the target and its pair (no truncation: the counts vary with model 8 in
// this design), fixed variance is the pooled std of residuals around each record's median per side, the
// offline test is one-sided log Φ, and scores are the negated predictions where the reference code's form
// is kept.
func TestLiRADefaults(t *testing.T) {
	d := synthLiRA(60, 9, 2) // 9 models: the last one unpaired, so IN/OUT counts differ across records
	for i := 0; i < d.N; i++ {
		d.Members[i*d.M+8] = i%3 == 0
	}
	const target = 0
	type stats struct{ muIn, sdIn, muOut, sdOut []float64 }
	direct := func(fix bool) stats {
		var s stats
		var resIn, resOut []float64
		for i := 0; i < d.N; i++ {
			for q := 0; q < d.Q; q++ {
				var in, out []float64
				for m := 0; m < d.M; m++ {
					if m == target || m == 1 { // the target and its pair, model 1
						continue
					}
					v := d.Signal(i, m, q)
					if d.Member(i, m) {
						in = append(in, v)
					} else {
						out = append(out, v)
					}
				}
				mi, mo := naiveMedian(in), naiveMedian(out)
				s.muIn = append(s.muIn, mi)
				s.muOut = append(s.muOut, mo)
				s.sdIn = append(s.sdIn, naiveStd(in))
				s.sdOut = append(s.sdOut, naiveStd(out))
				for _, v := range in {
					resIn = append(resIn, v-mi)
				}
				for _, v := range out {
					resOut = append(resOut, v-mo)
				}
			}
		}
		if fix {
			a, b := naiveStd(resIn), naiveStd(resOut)
			for k := range s.sdIn {
				s.sdIn[k], s.sdOut[k] = a, b
			}
		}
		return s
	}
	logN := func(x, mu, sd float64) float64 {
		sd += 1e-30
		return -0.5*((x-mu)/sd)*((x-mu)/sd) - math.Log(sd) - 0.5*math.Log(2*math.Pi)
	}
	for _, fix := range []bool{false, true} {
		s := direct(fix)
		for _, tc := range []struct {
			cfg LiRAConfig
			f   func(x float64, k int) float64
		}{
			{LiRAConfig{Online: true, FixVariance: new(fix)}, func(x float64, k int) float64 {
				return logN(x, s.muIn[k], s.sdIn[k]) - logN(x, s.muOut[k], s.sdOut[k])
			}},
			{LiRAConfig{FixVariance: new(fix)}, func(x float64, k int) float64 {
				return math.Log(0.5 * math.Erfc(-(x-s.muOut[k])/(s.sdOut[k]+1e-30)/math.Sqrt2))
			}},
			{LiRAConfig{FixVariance: new(fix), OfflineTest: TwoSided}, func(x float64, k int) float64 {
				return -logN(x, s.muOut[k], s.sdOut[k])
			}},
		} {
			got, err := LiRA(d, target, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < d.N; i++ {
				want := 0.0
				for q := 0; q < d.Q; q++ {
					want += tc.f(d.Signal(i, target, q), i*d.Q+q)
				}
				want /= float64(d.Q)
				if !vectortest.Close(got[i], want, 1e-10, 1e-12) {
					t.Errorf("%+v record %d: %v, want %v", tc.cfg, i, got[i], want)
					break
				}
			}
		}
	}

	// NumRef takes the first models of each side: with NumRef = 1 the medians are the first IN and OUT
	// values, and σ, which one value cannot give, is the side's global one: the spread of those values.
	f, err := fitLiRA(d, target, LiRAConfig{Online: true, NumRef: 1, FixVariance: new(false)})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < d.N; i++ {
		var firstIn, firstOut float64
		gotIn, gotOut := false, false
		for m := 2; m < d.M; m++ {
			if d.Member(i, m) && !gotIn {
				firstIn, gotIn = d.Signal(i, m, 0), true
			}
			if !d.Member(i, m) && !gotOut {
				firstOut, gotOut = d.Signal(i, m, 0), true
			}
		}
		if f.muIn[i*d.Q] != firstIn || f.muOut[i*d.Q] != firstOut || f.sdIn[i*d.Q] != f.sdIn[0] {
			t.Fatalf("NumRef 1, record %d: μ_in %v μ_out %v σ_in %v; want %v %v %v", i, f.muIn[i*d.Q], f.muOut[i*d.Q], f.sdIn[i*d.Q], firstIn, firstOut, f.sdIn[0])
		}
	}
	if !(f.sdIn[0] > 0.5) {
		t.Errorf("NumRef 1: global σ_in %v, want the spread of the IN values across records", f.sdIn[0])
	}

	// Compat with an uneven design truncates to the smallest count; the default does not.
	a, _ := LiRA(d, target, LiRAConfig{Online: true})
	b, _ := LiRA(d, target, LiRAConfig{Online: true, Compat: CompatLiRA})
	same := true
	for i := range a {
		same = same && a[i] == b[i]
	}
	if same {
		t.Error("Compat truncation changed nothing on a design with uneven IN counts")
	}

	// With one query the one-sided score is log Φ, and LiRAPrediction −Φ.
	d1 := synthLiRA(60, 9, 1)
	pred, _ := LiRAPrediction(d1, target, LiRAConfig{})
	score, _ := LiRA(d1, target, LiRAConfig{})
	for i := range score {
		if p := -pred[i]; p < 0.99 && !vectortest.Close(math.Exp(score[i]), p, 1e-12, 0) {
			t.Errorf("record %d: exp(score) %v, Φ %v", i, math.Exp(score[i]), p)
		}
	}
}

func naiveMedian(x []float64) float64 {
	s := append([]float64(nil), x...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func naiveStd(x []float64) float64 {
	m := 0.0
	for _, v := range x {
		m += v
	}
	m /= float64(len(x))
	s := 0.0
	for _, v := range x {
		s += (v - m) * (v - m)
	}
	return math.Sqrt(s / float64(len(x)))
}

// TestNormLogCDF checks log Φ against scipy.special.log_ndtr (scipy 1.10), values computed with
// python3 -c "from scipy.special import log_ndtr; print(repr(log_ndtr(z)))".
func TestNormLogCDF(t *testing.T) {
	tests := []struct{ z, want float64 }{
		{-100, -5005.524208694205},
		{-40, -804.6084420137539},
		{-37.5, -707.6689893175072},
		{-20, -203.9171553710973},
		{-5, -15.064998393988727},
		{-1, -1.841021645009264},
		{0, -0.6931471805599453},
		{3, -0.001350809964748193},
		{10, -7.619853024160473e-24},
		{30, -4.906713927147908e-198},
	}
	for _, tc := range tests {
		// Go's math.Erfc and scipy's Faddeeva erfc differ by about 2e-13 relative far in the tail (z = 30).
		if got := normLogCDF(tc.z); !vectortest.Close(got, tc.want, 1e-12, 0) {
			t.Errorf("log Φ(%v) = %v, want %v", tc.z, got, tc.want)
		}
	}
}

// TestLiRABadInput checks the errors of LiRA's input validation.
func TestLiRABadInput(t *testing.T) {
	d := synthLiRA(20, 6, 1)
	noRefs := synthLiRA(20, 2, 1) // one pair: the target's pair is no reference
	lossData := synthLiRA(20, 6, 1)
	lossData.Kind = signal.Entropy
	tests := []struct {
		name   string
		d      *Data
		target int
		cfg    LiRAConfig
		expect string
	}{
		{"target range", d, 6, LiRAConfig{}, "target model 6 does not exist"},
		{"offline test", d, 0, LiRAConfig{OfflineTest: "both"}, `offline test "both"`},
		{"negative refs", d, 0, LiRAConfig{NumIn: -1}, "negative number"},
		{"no reference model", noRefs, 0, LiRAConfig{Online: true}, "no reference model"},
		{"population online", d, 0, LiRAConfig{Online: true, PopulationOut: true}, "cannot be combined with Online"},
		{"no population", d, 0, LiRAConfig{PopulationOut: true}, "needs population signals"},
		{"kind", lossData, 0, LiRAConfig{}, "cannot convert a entropy signal"},
	}
	for _, tc := range tests {
		_, err := LiRA(tc.d, tc.target, tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.expect) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.expect)
		}
	}
	bad := synthLiRA(20, 6, 1)
	bad.Signals[7] = math.NaN()
	if _, err := Global(bad, 0); err == nil {
		t.Error("Global accepted a NaN signal")
	}
}

// BenchmarkLiRA measures the online attack on 50 000 records × 64 models × 2 queries.
func BenchmarkLiRA(b *testing.B) {
	d := synthLiRA(50000, 64, 2)
	for b.Loop() {
		if _, err := LiRA(d, 0, LiRAConfig{Online: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLiRASaturatedProbabilities: probabilities of exactly 1 and 0, as float32 softmax gives them for
// confident models, keep LiRA finite, and a saturated target signal still ranks above the others.
func TestLiRASaturatedProbabilities(t *testing.T) {
	d := synthLiRA(200, 8, 1)
	d.Kind = signal.ProbTrue
	for k, v := range d.Signals {
		d.Signals[k] = 1 / (1 + math.Exp(-v))
	}
	for i := 0; i < d.N; i += 7 {
		for m := 0; m < d.M; m++ {
			if d.Member(i, m) {
				d.Signals[i*d.M+m] = 1 // saturated member outputs, the target's included
			} else if i%2 == 0 {
				d.Signals[i*d.M+m] = 0
			}
		}
	}
	for _, cfg := range []LiRAConfig{{Online: true}, {}, {OfflineTest: TwoSided}, {Online: true, FixVariance: new(false)}} {
		s, err := LiRA(d, 0, cfg)
		if err != nil {
			t.Fatalf("%+v: %v", cfg, err)
		}
		for i, v := range s {
			if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) >= 1e30 {
				t.Fatalf("%+v: record %d scores %v", cfg, i, v)
			}
		}
		if auc := metric.AUC(metric.ROC(s, d.TargetMembers(0), true)); auc < 0.6 {
			t.Errorf("%+v: AUC %v", cfg, auc)
		}
	}
	// Through the registry too: no degenerate-score error.
	spec, _ := Lookup("lira")
	if _, err := spec.Run(d, 0, map[string]string{"fix_variance": "false"}); err != nil {
		t.Error(err)
	}
}

// TestDegenerateScoresRefused: outside compat modes, scores that are mostly of magnitude 1e30 or more (σ
// of 0 in a likelihood) are an error, not a result.
func TestDegenerateScoresRefused(t *testing.T) {
	a := Attack{Name: "x", run: func(*Data, int) ([]float64, error) { return []float64{1e60, -1e60, 2}, nil }}
	if _, err := a.Run(&Data{}, 0); !errors.Is(err, ErrDegenerateScores) {
		t.Errorf("error %v, want ErrDegenerateScores", err)
	}
	a.Compat = CompatLiRA // the reference code's σ + 1e-30 is reproduced there
	if _, err := a.Run(&Data{}, 0); err != nil {
		t.Error(err)
	}
}
