package attack

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/internal/vectortest"
	"github.com/pmeter/pmeter/signal"
)

// TestSongMittalValueVectors checks the uncalibrated values against Song & Mittal's _entr_comp and
// _m_entr_comp (signals_* cases), computed on the cases' softmax probabilities.
func TestSongMittalValueVectors(t *testing.T) {
	for _, name := range vectortest.Cases(t, "signals_") {
		t.Run(name, func(t *testing.T) {
			c := vectortest.Load(t, name)
			pa := c.Array(t, "probs")
			probs := pa.Float64s()
			n, nc := pa.Shape[0], pa.Shape[1]
			lab := c.Ints(t, "labels")
			labels := make([]int, n)
			py := make([]float64, n)
			for i, y := range lab {
				labels[i] = int(y)
				py[i] = probs[i*nc+int(y)]
			}
			d := &Data{N: n, M: 1, Q: 1, Kind: signal.ProbTrue, Signals: py, Members: make([]bool, n),
				Labels: labels, C: nc, Probs: probs}
			for _, v := range []struct {
				value SongMittalValue
				file  string
			}{{SMEntropy, "entropy"}, {SMModifiedEntropy, "modified_entropy"}} {
				got, err := SongMittal(d, 0, SongMittalConfig{Value: v.value})
				if err != nil {
					t.Fatal(err)
				}
				for i := range got {
					got[i] = -got[i] // the score is the negated (modified) entropy
				}
				c.Check(t, v.file, got, n)
			}
			got, err := SongMittal(d, 0, SongMittalConfig{Value: SMConfidence})
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if got[i] != py[i] {
					t.Fatalf("confidence[%d] = %v, want p_y = %v", i, got[i], py[i])
				}
			}
		})
	}
}

// bruteThreshold is _thre_setting of Song & Mittal's code, transcribed literally (O(n²)).
func bruteThreshold(tr, te []float64) (float64, float64) {
	thre, maxAcc := 0.0, 0.0
	if len(tr) == 0 || len(te) == 0 {
		return 0, 0 // numpy: 0/0 is NaN and never beats max_acc
	}
	for _, v := range append(append([]float64(nil), tr...), te...) {
		a, b := 0, 0
		for _, x := range tr {
			if x >= v {
				a++
			}
		}
		for _, x := range te {
			if x < v {
				b++
			}
		}
		acc := 0.5 * (float64(a)/float64(len(tr)) + float64(b)/float64(len(te)))
		if acc > maxAcc {
			thre, maxAcc = v, acc
		}
	}
	return thre, maxAcc
}

func TestSongMittalThreshold(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := 0; trial < 200; trial++ {
		nin, nout := rng.IntN(30), rng.IntN(30)
		shift := rng.Float64()
		round := trial%2 == 0 // heavy ties
		draw := func(n int, mu float64) []float64 {
			v := make([]float64, n)
			for i := range v {
				v[i] = rng.NormFloat64() + mu
				if round {
					v[i] = math.Round(v[i]*2) / 2
				}
			}
			return v
		}
		in, out := draw(nin, shift), draw(nout, 0)
		tau, acc := SongMittalThreshold(in, out)
		wt, wa := bruteThreshold(in, out)
		if tau != wt || acc != wa {
			t.Fatalf("trial %d: SongMittalThreshold = (%v, %v), want (%v, %v)\nin=%v\nout=%v", trial, tau, acc, wt, wa, in, out)
		}
	}
}

// smTestData draws N records × M models of C-class probability vectors: a member's true class gets a
// larger share of the mass. Models 2k and 2k+1 have complementary memberships.
func smTestData(seed uint64, n, m, nc int) *Data {
	rng := rand.New(rand.NewPCG(seed, 1))
	d := &Data{N: n, M: m, Q: 1, Kind: signal.ProbTrue, C: nc, Labels: make([]int, n),
		Members: make([]bool, n*m), Signals: make([]float64, n*m), Probs: make([]float64, n*m*nc)}
	for i := 0; i < n; i++ {
		d.Labels[i] = rng.IntN(nc)
		for k := 0; k < m; k += 2 {
			in := rng.IntN(2) == 0
			d.Members[i*m+k] = in
			if k+1 < m {
				d.Members[i*m+k+1] = !in
			}
		}
		for k := 0; k < m; k++ {
			p := d.Probs[(i*m+k)*nc : (i*m+k+1)*nc]
			sum := 0.0
			for c := range p {
				p[c] = rng.ExpFloat64()
				if c == d.Labels[i] {
					p[c] *= 2 + 0.5*float64(c) // class-dependent confidence
					if d.Members[i*m+k] {
						p[c] *= 3
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

// TestSongMittalClassThresholds checks the calibrated score v − τ_y against thresholds found by the
// literal _thre_setting on the reference values of each class.
func TestSongMittalClassThresholds(t *testing.T) {
	d := smTestData(3, 240, 6, 4)
	const target = 2
	for _, tc := range []struct {
		value  SongMittalValue
		numRef int
	}{{SMConfidence, 0}, {SMEntropy, 0}, {SMModifiedEntropy, 0}, {SMModifiedEntropy, 1}} {
		t.Run(string(tc.value), func(t *testing.T) {
			val, err := songMittalValues(d, tc.value)
			if err != nil {
				t.Fatal(err)
			}
			// The first 2R models other than the target and its pair (model 3).
			var refs []int
			for m := 0; m < d.M && (tc.numRef == 0 || len(refs) < 2*tc.numRef); m++ {
				if m != target && m != 3 {
					refs = append(refs, m)
				}
			}
			tau := make([]float64, d.C)
			for c := range tau {
				var in, out []float64
				for i := 0; i < d.N; i++ {
					if d.Labels[i] != c {
						continue
					}
					for _, m := range refs {
						if d.Member(i, m) {
							in = append(in, val(i, m))
						} else {
							out = append(out, val(i, m))
						}
					}
				}
				tau[c], _ = bruteThreshold(in, out)
			}
			got, err := SongMittal(d, target, SongMittalConfig{Value: tc.value, ClassThresholds: true, NumRef: tc.numRef})
			if err != nil {
				t.Fatal(err)
			}
			hits := 0
			for i := range got {
				want := val(i, target) - tau[d.Labels[i]]
				if got[i] != want {
					t.Fatalf("score[%d] = %v, want %v", i, got[i], want)
				}
				// The paper's decision v ≥ τ_y is score ≥ 0.
				if (got[i] >= 0) == d.Member(i, target) {
					hits++
				}
			}
			if acc := float64(hits) / float64(d.N); acc < 0.6 {
				t.Errorf("accuracy of the thresholded decision %v; the synthetic members are well separated", acc)
			}
		})
	}
}

// TestSongMittalFallback: a class whose reference values are all members uses the pooled threshold.
func TestSongMittalFallback(t *testing.T) {
	d := smTestData(5, 60, 4, 3)
	const target = 0
	for i := 0; i < d.N; i++ {
		if d.Labels[i] == 1 {
			for m := 1; m < d.M; m++ {
				d.Members[i*d.M+m] = true
			}
		}
	}
	val, _ := songMittalValues(d, SMConfidence)
	var in, out []float64
	for i := 0; i < d.N; i++ {
		for m := 1; m < d.M; m++ {
			if d.Member(i, m) {
				in = append(in, val(i, m))
			} else {
				out = append(out, val(i, m))
			}
		}
	}
	pooled, _ := bruteThreshold(in, out)
	got, err := SongMittal(d, target, SongMittalConfig{Value: SMConfidence, ClassThresholds: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if d.Labels[i] == 1 && got[i] != val(i, target)-pooled {
			t.Fatalf("score[%d] = %v, want v − pooled τ = %v", i, got[i], val(i, target)-pooled)
		}
	}
}

func TestSongMittalCorrectness(t *testing.T) {
	d := &Data{N: 3, M: 1, Q: 1, Kind: signal.ProbTrue, Signals: []float64{0.5, 0.5, 0.2}, Members: []bool{true, false, true},
		C: 3, Labels: []int{0, 1, 2}, Probs: []float64{0.5, 0.5, 0, 0.5, 0.5, 0, 0.2, 0.7, 0.1}}
	got, err := SongMittal(d, 0, SongMittalConfig{Value: SMCorrectness, ClassThresholds: true})
	if err != nil {
		t.Fatal(err)
	}
	// np.argmax takes the first maximum: record 1 (tie between classes 0 and 1) is incorrect.
	want := []float64{1, 0, 0}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("correctness[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

// TestSongMittalFromSignals: without probability vectors, entropy-kind signals and prob_true signals
// serve directly.
func TestSongMittalFromSignals(t *testing.T) {
	d := &Data{N: 2, M: 1, Q: 2, Kind: signal.Entropy, Signals: []float64{0.2, 0.4, 1, 2}, Members: []bool{true, false}}
	got, err := SongMittal(d, 0, SongMittalConfig{Value: SMEntropy})
	if err != nil {
		t.Fatal(err)
	}
	if !vectortest.Close(got[0], -0.3, 1e-15, 0) || got[1] != -1.5 {
		t.Errorf("scores %v, want [-0.3 -1.5]", got)
	}
	d = &Data{N: 2, M: 1, Q: 1, Kind: signal.Loss, Signals: []float64{0, math.Ln2}, Members: []bool{true, false}}
	got, err = SongMittal(d, 0, SongMittalConfig{Value: SMConfidence})
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != 1 || !vectortest.Close(got[1], 0.5, 1e-15, 0) {
		t.Errorf("scores %v, want [1 0.5]", got)
	}
}

func TestSongMittalErrors(t *testing.T) {
	full := smTestData(9, 20, 4, 3)
	noLabels := *full
	noLabels.Labels = nil
	noProbs := *full
	noProbs.Probs, noProbs.C = nil, 0
	one := &Data{N: 2, M: 1, Q: 1, Kind: signal.ProbTrue, Signals: []float64{0.2, 0.4}, Members: []bool{true, false}, Labels: []int{0, 1}}
	for _, tc := range []struct {
		name string
		d    *Data
		cfg  SongMittalConfig
		want string
	}{
		{"unknown", full, SongMittalConfig{Value: "gini"}, "unknown Song & Mittal value"},
		{"labels", &noLabels, SongMittalConfig{Value: SMModifiedEntropy}, "needs class labels"},
		{"class labels", &noLabels, SongMittalConfig{Value: SMEntropy, ClassThresholds: true}, "class_thresholds=false"},
		{"probs", &noProbs, SongMittalConfig{Value: SMEntropy}, "needs probability vectors"},
		{"correctness", &noProbs, SongMittalConfig{Value: SMCorrectness}, "needs probability vectors"},
		{"one model", one, SongMittalConfig{Value: SMConfidence, ClassThresholds: true}, "no reference model"},
		{"too many refs", full, SongMittalConfig{Value: SMConfidence, ClassThresholds: true, NumRef: 2}, "num_ref_models = 2 asks for 4 reference models, but only 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := SongMittal(tc.d, 0, tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
