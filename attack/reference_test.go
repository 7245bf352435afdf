package attack

import (
	"math"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/signal"
)

// synthLoss returns n records × m models × q queries of losses (members lower) with complementary model
// pairs, and z population records (non-members of every model).
func synthLoss(n, m, q, z int, seed uint64) *Data {
	rnd := func() float64 {
		seed ^= seed << 13
		seed ^= seed >> 7
		seed ^= seed << 17
		return (float64(seed>>11) + 0.5) / (1 << 53)
	}
	d := &Data{N: n, M: m, Q: q, Z: z, Kind: signal.Loss,
		Signals: make([]float64, n*m*q), Members: make([]bool, n*m), Population: make([]float64, z*m*q)}
	for i := 0; i < n; i++ {
		base := 0.05 + 3*rnd()
		for p := 0; p < m/2; p++ {
			in := rnd() < 0.5
			d.Members[i*m+2*p], d.Members[i*m+2*p+1] = in, !in
		}
		for j := 0; j < m; j++ {
			for k := 0; k < q; k++ {
				v := base * math.Exp(0.4*(rnd()-0.5))
				if d.Members[i*m+j] {
					v *= 0.6
				}
				d.Signals[(i*m+j)*q+k] = v
			}
		}
	}
	for i := 0; i < z; i++ {
		base := 0.05 + 3*rnd()
		for j := 0; j < m; j++ {
			for k := 0; k < q; k++ {
				d.Population[(i*m+j)*q+k] = base * math.Exp(0.4*(rnd()-0.5))
			}
		}
	}
	return d
}

// TestLevelInvertsThresholds checks, for every threshold function, that the per-record level α*(s) is where
// v1's decision flips: on a fine α grid, s < threshold(α) exactly when α > α*(s) (α ≥ α* for
// ThresholdFunc), thresholds from the vector-tested Thresholds (1-D, Population) and RowThresholds
// (2-D, Reference, where Gaussian sits at 1 − α). Grid points within 1e-9 of α* are skipped (rounding).
func TestLevelInvertsThresholds(t *testing.T) {
	d := synthLoss(1, 2, 1, 25, 99)
	sample := append([]float64(nil), d.Population[:25]...)
	sample = append(sample, sample[3], sample[7]) // ties
	var alphas []float64
	for j := 0; j <= 400; j++ {
		alphas = append(alphas, float64(j)/400)
	}
	probes := append([]float64{0, 1e-9, 0.01}, sample...)
	for _, v := range sample[:10] {
		probes = append(probes, v*0.999, v*1.001)
	}
	probes = append(probes, 10, 100)
	for _, fn := range thresholdFns {
		ref := newRefSample(fn, append([]float64(nil), sample...))
		oneD, err := Thresholds(fn, sample, alphas)
		if err != nil {
			t.Fatal(err)
		}
		twoD, err := RowThresholds(fn, sample, len(sample), alphas)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range probes {
			lv := ref.level(fn, s)
			for j, a := range alphas {
				if j == 0 || j == len(alphas)-1 || math.Abs(a-lv) < 1e-9 {
					continue // end points replaced by LinearItp; ties at the level
				}
				want := a > lv
				if fn == ThresholdFunc {
					want = a >= lv
				}
				if got := s < oneD[j]; got != want {
					t.Errorf("%s 1-D, loss %v, α %v: v1 member %v, level %v", fn, s, a, got, lv)
				}
				if fn == Gaussian {
					// The 2-D Gaussian threshold is at 1 − α: member iff 1 − α > level.
					want = 1-a > lv
				}
				if got := s < twoD[j]; got != want {
					t.Errorf("%s 2-D, loss %v, α %v: v1 member %v, level %v", fn, s, a, got, lv)
				}
			}
		}
	}
}

// alphaGridPoints returns the ROC point (FPR, TPR) of each α row of v1's predictions.
func alphaGridPoints(pred []bool, members []bool) (fpr, tpr []float64) {
	n := len(members)
	pos := 0
	for _, m := range members {
		if m {
			pos++
		}
	}
	for j := 0; j < len(pred)/n; j++ {
		tp, fp := 0, 0
		for i, m := range members {
			if pred[j*n+i] {
				if m {
					tp++
				} else {
					fp++
				}
			}
		}
		fpr = append(fpr, float64(fp)/float64(n-pos))
		tpr = append(tpr, float64(tp)/float64(pos))
	}
	return fpr, tpr
}

// TestScoresContainV1Sweep checks that the ROC curve of the Population and Reference scores passes through
// every point of Privacy Meter v1's α sweep (from PopulationPredictions and ReferencePredictions), for
// every threshold function; for LinearItp and MinLinearLogit the two end points, which v1 sets from the
// sample's extremes, are excluded.
func TestScoresContainV1Sweep(t *testing.T) {
	d := synthLoss(300, 16, 1, 200, 7)
	const target = 1
	members := d.TargetMembers(target)
	alphas := DefaultAlphas()
	for _, fn := range thresholdFns {
		for _, attack := range []string{"population", "reference"} {
			var score []float64
			var pred []bool
			var err error
			if attack == "population" {
				cfg := PopulationConfig{ThresholdFn: fn, Alphas: alphas}
				if score, err = Population(d, target, cfg); err == nil {
					pred, err = PopulationPredictions(d, target, cfg)
				}
			} else {
				cfg := ReferenceConfig{ThresholdFn: fn, Alphas: alphas}
				if score, err = Reference(d, target, cfg); err == nil {
					pred, err = ReferencePredictions(d, target, cfg)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(pred) != len(alphas)*d.N {
				t.Fatalf("%s %s: %d predictions, want %d", attack, fn, len(pred), len(alphas)*d.N)
			}
			c := metric.ROC(score, members, false)
			on := map[[2]float64]bool{}
			for k := range c.FPR {
				on[[2]float64{c.FPR[k], c.TPR[k]}] = true
			}
			fpr, tpr := alphaGridPoints(pred, members)
			distinct := map[[2]float64]bool{}
			for j := range fpr {
				if (fn == LinearItp || fn == MinLinearLogit) && (j == 0 || j == len(fpr)-1) {
					continue
				}
				p := [2]float64{fpr[j], tpr[j]}
				distinct[p] = true
				if !on[p] {
					t.Errorf("%s %s: v1's point α=%v (FPR %v, TPR %v) is not on the score's ROC", attack, fn, alphas[j], fpr[j], tpr[j])
				}
			}
			if len(distinct) < 5 {
				t.Errorf("%s %s: only %d distinct v1 points; the test is too weak", attack, fn, len(distinct))
			}
		}
	}
}

// TestReferenceSemantics checks on a hand-made example which reference values Attack-R uses: the OUT
// models other than the target, the first NumRef of them, losses averaged over queries, converted from
// p(true label); and that ReferencePredictions uses the global extremes for LinearItp's end points.
func TestReferenceSemantics(t *testing.T) {
	// 2 records × 5 models × 2 queries, p(true label) = e^{−loss}.
	loss := [][]float64{ // record → model → (q0, q1)
		{0.10, 0.30, 0.50, 0.70, 0.20, 0.40, 0.90, 1.10, 2.00, 2.00},
		{0.50, 0.50, 0.05, 0.15, 1.00, 3.00, 0.60, 0.80, 0.25, 0.35},
	}
	members := []bool{
		true, true, false, false, true, // record 0: OUT models 2, 3 (target 0)
		false, false, true, false, false, // record 1: OUT models 1, 3, 4
	}
	d := &Data{N: 2, M: 5, Q: 2, Kind: signal.ProbTrue, Members: members, Design: DesignBernoulli}
	for i := range loss {
		for _, v := range loss[i] {
			d.Signals = append(d.Signals, math.Exp(-v))
		}
	}
	const target = 0
	// Per record: target loss (query mean) and OUT losses (query means) in model order.
	want := []struct {
		s   float64
		out []float64
	}{
		{0.2, []float64{0.3, 1.0}},
		{0.5, []float64{0.1, 0.7, 0.3}},
	}
	for _, numRef := range []int{0, 2, 1} {
		got, err := Reference(d, target, ReferenceConfig{ThresholdFn: Gaussian, NumRef: numRef})
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range want {
			out := w.out
			if numRef > 0 && numRef < len(out) {
				out = out[:numRef]
			}
			mu, sd := 0.0, 0.0
			for _, v := range out {
				mu += v
			}
			mu /= float64(len(out))
			for _, v := range out {
				sd += (v - mu) * (v - mu)
			}
			sd = math.Sqrt(sd / float64(len(out)))
			var lv float64
			switch {
			case sd > 0:
				lv = 0.5 * math.Erfc(-(w.s-mu)/sd/math.Sqrt2)
			case w.s < mu:
				lv = 0
			default:
				lv = 1
			}
			if math.Abs(got[i]+lv) > 1e-9 {
				t.Errorf("NumRef %d record %d: score %v, want %v", numRef, i, got[i], -lv)
			}
		}
	}
	// LinearItp end points: α = 0 → global min 0.1 − 1e-4, α = 1 → global max 1.0 + 1e-4.
	pred, err := ReferencePredictions(d, target, ReferenceConfig{ThresholdFn: LinearItp, Alphas: []float64{0, 0.5, 1}})
	if err != nil {
		t.Fatal(err)
	}
	// Row α=0.5: record 0 median of {0.3, 1.0} = 0.65 > 0.2 → member; record 1 median of
	// {0.1, 0.3, 0.7} = 0.3 < 0.5 → not.
	if wantPred := []bool{false, false, true, false, true, true}; !sameBools(pred, wantPred) {
		t.Errorf("ReferencePredictions = %v, want %v", pred, wantPred)
	}
	// Query averaging: the same data with the query means as one query scores identically.
	d1 := &Data{N: 2, M: 5, Q: 1, Kind: signal.Loss, Members: members, Design: DesignBernoulli}
	for i := range loss {
		for m := 0; m < 5; m++ {
			d1.Signals = append(d1.Signals, (loss[i][2*m]+loss[i][2*m+1])/2)
		}
	}
	for _, fn := range thresholdFns {
		a, err := Reference(d, target, ReferenceConfig{ThresholdFn: fn})
		if err != nil {
			t.Fatal(err)
		}
		b, err := Reference(d1, target, ReferenceConfig{ThresholdFn: fn})
		if err != nil {
			t.Fatal(err)
		}
		for i := range a {
			if math.Abs(a[i]-b[i]) > 1e-12 {
				t.Errorf("%s record %d: %v with 2 queries, %v with their mean", fn, i, a[i], b[i])
			}
		}
	}
}

func sameBools(a, b []bool) bool {
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

// TestPopulationSemantics checks that Attack-P uses the target model's population column: its linear_itp
// score is minus the interpolated empirical CDF of the target's population losses.
func TestPopulationSemantics(t *testing.T) {
	d := synthLoss(5, 4, 1, 5, 3)
	const target = 2
	// Target's population losses set by hand: sorted 1, 2, 3, 4, 5.
	for z, v := range []float64{3, 1, 5, 2, 4} {
		d.Population[z*d.M+target] = v
	}
	for i, v := range []float64{0.5, 1.5, 3, 4.75, 6} {
		d.Signals[i*d.M+target] = v
	}
	got, err := Population(d, target, PopulationConfig{})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0, -0.125, -0.5, -0.9375, -1}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-15 {
			t.Errorf("record %d: %v, want %v", i, got[i], want[i])
		}
	}
}

// TestPopulationReferenceBadInput checks the errors of Attack-P and Attack-R.
func TestPopulationReferenceBadInput(t *testing.T) {
	d := synthLoss(10, 4, 1, 5, 1)
	noPop := synthLoss(10, 4, 1, 0, 1)
	noOut := synthLoss(10, 4, 1, 0, 1) // no population to fall back on
	noOut.Design = DesignBernoulli
	for m := 0; m < 4; m++ {
		noOut.Members[2*4+m] = m != 0 // record 2 is IN for every reference model
	}
	ent := synthLoss(10, 4, 1, 5, 1)
	ent.Kind = signal.ModifiedEntropy
	tests := []struct {
		name   string
		run    func() error
		expect string
	}{
		{"population fn", func() error {
			_, err := Population(d, 0, PopulationConfig{ThresholdFn: "median"})
			return err
		}, "unknown threshold function"},
		{"population alphas", func() error {
			_, err := PopulationPredictions(d, 0, PopulationConfig{Alphas: []float64{0, 1.5}})
			return err
		}, "alpha[1] = 1.5"},
		{"no population", func() error { _, err := Population(noPop, 0, PopulationConfig{}); return err }, "no population signals"},
		{"target", func() error { _, err := Population(d, 9, PopulationConfig{}); return err }, "target model 9 does not exist"},
		{"no OUT", func() error { _, err := Reference(noOut, 0, ReferenceConfig{}); return err }, "record 2 has no OUT reference model, and there are no population records"},
		{"NumRef", func() error { _, err := Reference(d, 0, ReferenceConfig{NumRef: -2}); return err }, "negative number"},
		{"kind", func() error { _, err := Reference(ent, 0, ReferenceConfig{}); return err }, "cannot convert a modified_entropy signal"},
		{"negative loss", func() error {
			bad := synthLoss(10, 4, 1, 5, 1)
			bad.Signals[5] = -1
			_, err := Reference(bad, 0, ReferenceConfig{})
			return err
		}, "never negative"},
	}
	for _, tc := range tests {
		err := tc.run()
		if err == nil || !strings.Contains(err.Error(), tc.expect) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.expect)
		}
	}
}

// BenchmarkReference measures Attack-R (LinearItp) on 50 000 records × 64 models.
func BenchmarkReference(b *testing.B) {
	d := synthLoss(50000, 64, 1, 1000, 5)
	for b.Loop() {
		if _, err := Reference(d, 0, ReferenceConfig{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDummyLevel compares the research-code percentile with numpy.interp. Expected values from
// /usr/bin/python3 (numpy 1.24.2):
//
//	L = [0.5, 0.2, 0.9, 0.2]; xp = sort([0, 1000] + L); fp = linspace(0, 1, len(xp)); np.interp(s, xp, fp)
func TestDummyLevel(t *testing.T) {
	x := []float64{0.2, 0.2, 0.5, 0.9}
	for _, tc := range []struct{ s, want float64 }{
		{0.0, 0.0}, {0.1, 0.1}, {0.2, 0.4}, {0.3, 0.4666666666666667}, {0.5, 0.6000000000000001},
		{0.7, 0.7000000000000001}, {0.9, 0.8}, {5.0, 0.8008207386647984}, {999.0, 0.999799819837854},
		{1000.0, 1.0}, {2000.0, 1.0},
	} {
		if got := dummyLevel(x, tc.s); math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("dummyLevel(%v) = %.17g, numpy %.17g", tc.s, got, tc.want)
		}
	}
}

// TestReferenceDummies checks that dummies break the tie of records below every OUT loss, ranking them
// by their loss, and that they are refused where they do not apply.
func TestReferenceDummies(t *testing.T) {
	// One OUT model (1) per record; target 0. Records 0 and 1 have losses below their OUT loss.
	d := &Data{N: 3, M: 2, Q: 1, Kind: signal.Loss,
		Signals: []float64{0.1, 1.0, 0.3, 1.0, 2.0, 1.0},
		Members: []bool{true, false, false, false, true, false}}
	plain, err := Reference(d, 0, ReferenceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if plain[0] != plain[1] {
		t.Fatalf("without dummies records 0 and 1 should tie (both below every OUT loss): %v", plain)
	}
	got, err := Reference(d, 0, ReferenceConfig{Dummies: true})
	if err != nil {
		t.Fatal(err)
	}
	// np.interp(s, [0, 1, 1000], [0, 0.5, 1]): 0.05, 0.15, 0.5+0.5·1/999.
	want := []float64{-0.05, -0.15, -(0.5 + 0.5*1.0/999)}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-15 {
			t.Errorf("record %d: score %v, want %v", i, got[i], want[i])
		}
	}
	if _, err := Reference(d, 0, ReferenceConfig{Dummies: true, ThresholdFn: Gaussian}); err == nil {
		t.Error("dummies with the gaussian threshold function accepted")
	}
	if _, err := ReferencePredictions(d, 0, ReferenceConfig{Dummies: true}); err == nil {
		t.Error("ReferencePredictions with dummies accepted")
	}
}
