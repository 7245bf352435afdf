package metric

import (
	"github.com/pmeter/pmeter/internal/numpysum"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/pmeter/pmeter/internal/vectortest"
)

// TestROCVectors checks ROC, AUC and the Privacy Meter TPR@FPR values against scikit-learn 1.2.1 and
// Privacy Meter v2 compute_attack_results on every roc_* case.
func TestROCVectors(t *testing.T) {
	for _, name := range vectortest.Cases(t, "roc_") {
		t.Run(name, func(t *testing.T) {
			c := vectortest.Load(t, name)
			scores := c.F64(t, "scores")
			labels := c.Bools(t, "labels")
			if len(scores) != c.Int(t, "n") {
				t.Fatalf("len(scores) = %d, params n = %d", len(scores), c.Int(t, "n"))
			}

			drop := ROC(scores, labels, true)
			c.Check(t, "fpr", drop.FPR, drop.Len())
			c.Check(t, "tpr", drop.TPR, drop.Len())
			c.Check(t, "thresholds", drop.Thresholds, drop.Len())
			c.Check(t, "auc", []float64{AUC(drop)})
			c.Check(t, "pm_one_fpr", []float64{TPRAtFPR(drop, 0.01)})
			c.Check(t, "pm_one_tenth_fpr", []float64{TPRAtFPR(drop, 0.001)})
			c.Check(t, "pm_zero_fpr", []float64{TPRAtFPR(drop, 0)})

			full := ROC(scores, labels, false)
			c.Check(t, "fpr_full", full.FPR, full.Len())
			c.Check(t, "tpr_full", full.TPR, full.Len())
			c.Check(t, "thresholds_full", full.Thresholds, full.Len())
			c.Check(t, "auc_full", []float64{AUC(full)})

			// Dropping collinear points changes neither the area nor the best balanced accuracy.
			if a, b := BalancedAccuracy(drop), BalancedAccuracy(full); math.Abs(a-b) > 1e-12 {
				t.Errorf("balanced accuracy %v on the dropped curve, %v on the full curve", a, b)
			}
			checkBruteForce(t, scores, labels, full)
		})
	}
}

// checkBruteForce compares a full curve with a direct count over all records at each distinct score.
func checkBruteForce(t *testing.T, scores []float64, members []bool, c Curve) {
	t.Helper()
	distinct := slices.Clone(scores)
	slices.Sort(distinct)
	distinct = slices.Compact(distinct)
	slices.Reverse(distinct)
	if c.Len() != len(distinct)+1 {
		t.Fatalf("%d points, want %d distinct scores + 1", c.Len(), len(distinct))
	}
	var np, nn float64
	for _, m := range members {
		if m {
			np++
		} else {
			nn++
		}
	}
	step := max(1, len(distinct)/200) // a sample of thresholds keeps this fast on large cases
	for k := 0; k < len(distinct); k += step {
		thr := distinct[k]
		var tp, fp float64
		for i, s := range scores {
			if s >= thr {
				if members[i] {
					tp++
				} else {
					fp++
				}
			}
		}
		if c.Thresholds[k+1] != thr || c.TPR[k+1] != tp/np || c.FPR[k+1] != fp/nn {
			t.Fatalf("point %d: (%v, %v, %v), want (%v, %v, %v)", k+1, c.Thresholds[k+1], c.FPR[k+1], c.TPR[k+1], thr, fp/nn, tp/np)
		}
	}
}

func TestROCEdgeCases(t *testing.T) {
	inf := math.Inf(1)
	nan := math.NaN()
	tests := []struct {
		name                string
		scores              []float64
		members             []bool
		drop                bool
		fpr, tpr, threshold []float64
	}{
		{"empty", nil, nil, true, nil, nil, nil},
		{"all ties", []float64{0.5, 0.5, 0.5, 0.5}, []bool{true, false, true, false}, true,
			[]float64{0, 1}, []float64{0, 1}, []float64{1.5, 0.5}},
		{"one member", []float64{0.1, 0.9, 0.4}, []bool{false, true, false}, false,
			[]float64{0, 0, 0.5, 1}, []float64{0, 1, 1, 1}, []float64{1.9, 0.9, 0.4, 0.1}},
		{"one member dropped", []float64{0.1, 0.9, 0.4}, []bool{false, true, false}, true,
			[]float64{0, 0, 1}, []float64{0, 1, 1}, []float64{1.9, 0.9, 0.1}},
		{"no non-member", []float64{1, 2}, []bool{true, true}, false,
			[]float64{nan, nan, nan}, []float64{0, 0.5, 1}, []float64{3, 2, 1}},
		{"no member", []float64{1, 2}, []bool{false, false}, false,
			[]float64{0, 0.5, 1}, []float64{nan, nan, nan}, []float64{3, 2, 1}},
		{"infinities", []float64{inf, -inf, 0, inf}, []bool{true, false, true, false}, false,
			[]float64{0, 0.5, 0.5, 1}, []float64{0, 0.5, 1, 1}, []float64{inf, inf, 0, -inf}},
		{"signed zeros", []float64{0, math.Copysign(0, -1), 1}, []bool{true, false, true}, false,
			[]float64{0, 0, 1}, []float64{0, 0.5, 1}, []float64{2, 1, 0}},
		{"two points kept", []float64{2, 1}, []bool{true, false}, true,
			[]float64{0, 0, 1}, []float64{0, 1, 1}, []float64{3, 2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ROC(tt.scores, tt.members, tt.drop)
			for _, f := range []struct {
				name      string
				got, want []float64
			}{{"FPR", c.FPR, tt.fpr}, {"TPR", c.TPR, tt.tpr}, {"Thresholds", c.Thresholds, tt.threshold}} {
				if !slices.EqualFunc(f.got, f.want, func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }) {
					t.Errorf("%s = %v, want %v", f.name, f.got, f.want)
				}
			}
		})
	}
}

func TestTPRAtFPR(t *testing.T) {
	c := Curve{FPR: []float64{0, 0, 0.001, 0.01, 0.5, 1}, TPR: []float64{0, 0.1, 0.2, 0.3, 0.8, 1}, Thresholds: make([]float64, 6)}
	tests := []struct {
		maxFPR, le, lt float64
	}{
		{0, 0.1, 0},
		{0.001, 0.2, 0.1},
		{0.005, 0.2, 0.2},
		{0.01, 0.3, 0.2},
		{1, 1, 0.8},
		{2, 1, 1},
	}
	for _, tt := range tests {
		if got := TPRAtFPR(c, tt.maxFPR); got != tt.le {
			t.Errorf("TPRAtFPR(%v) = %v, want %v", tt.maxFPR, got, tt.le)
		}
		if got := TPRAtFPRStrict(c, tt.maxFPR); got != tt.lt {
			t.Errorf("TPRAtFPRStrict(%v) = %v, want %v", tt.maxFPR, got, tt.lt)
		}
	}
	if got := TPRAtFPR(Curve{}, 0.1); !math.IsNaN(got) {
		t.Errorf("TPRAtFPR(empty) = %v, want NaN", got)
	}
	if got := BalancedAccuracy(c); got != 1-(0.5+(1-0.8))/2 {
		t.Errorf("BalancedAccuracy = %v, want %v", got, 1-(0.5+(1-0.8))/2)
	}
}

// TestPairwiseSum checks the summation order against numpy 1.24.2. The expected values were computed with
// (Debian /usr/bin/python3)
//
//	x = np.array([(((i*7919) % 1000) - 500) / 7.0 * float(10**(i % 17)) / 1e8 for i in range(n)])
//	float(np.add.reduce(x)).hex()
//
// For n >= 100 they differ from a naive left-to-right sum in the last bits, and n covers the < 8, <= 128,
// recursive and > 8192 (chunked) branches.
func TestPairwiseSum(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{5, "0x1.80b1c7506d5bep-9"},
		{100, "0x1.782b6da227d07p+31"},
		{1000, "-0x1.0ac4e127a8dc4p+32"},
		{8192, "-0x1.712ee3d7824a3p+34"},
		{8193, "-0x1.724a447c14935p+34"},
		{30000, "-0x1.3a50eaa101d14p+34"},
	}
	for _, tt := range tests {
		x := make([]float64, tt.n)
		for i := range x {
			x[i] = float64((i*7919)%1000-500) / 7.0 * math.Pow10(i%17) / 1e8
		}
		want, err := strconv.ParseFloat(tt.want, 64)
		if err != nil {
			t.Fatal(err)
		}
		if got := numpysum.Sum(x); got != want {
			t.Errorf("n=%d: numpysum.Sum = %x, numpy %x", tt.n, got, want)
		}
	}
}

// TestAUCExact checks AUC against closed forms: a perfect separation has area 1, the reversed one 0, and
// ties give the diagonal's 0.5.
func TestAUCExact(t *testing.T) {
	if got := AUC(ROC([]float64{3, 4, 1, 2}, []bool{true, true, false, false}, true)); got != 1 {
		t.Errorf("perfect AUC = %v", got)
	}
	if got := AUC(ROC([]float64{1, 2, 3, 4}, []bool{true, true, false, false}, false)); got != 0 {
		t.Errorf("reversed AUC = %v", got)
	}
	if got := AUC(ROC([]float64{1, 1, 1}, []bool{true, false, false}, false)); got != 0.5 {
		t.Errorf("tied AUC = %v", got)
	}
	// AUC equals the Mann–Whitney probability P(member > non-member) + P(tie)/2.
	r := rand.New(rand.NewPCG(1, 2))
	n := 3000
	scores := make([]float64, n)
	members := make([]bool, n)
	for i := range scores {
		members[i] = r.IntN(3) == 0
		scores[i] = math.Round(r.NormFloat64()*20) / 20
		if members[i] {
			scores[i] += 0.3
		}
	}
	var wins, pairs float64
	for i := range scores {
		for j := range scores {
			if members[i] && !members[j] {
				pairs++
				switch {
				case scores[i] > scores[j]:
					wins++
				case scores[i] == scores[j]:
					wins += 0.5
				}
			}
		}
	}
	if got, want := AUC(ROC(scores, members, true)), wins/pairs; math.Abs(got-want) > 1e-12 {
		t.Errorf("AUC = %v, Mann–Whitney %v", got, want)
	}
}
