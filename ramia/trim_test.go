package ramia

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/metric"
)

func TestFixedTrim(t *testing.T) {
	for _, tc := range []struct {
		ratio  float64
		dir    Direction
		s      int
		compat attack.Compat
		keep   int
		err    string
	}{
		{0.5, TrimBottom, 4, "", 2, ""},
		{0.8, TrimBottom, 10, "", 2, ""},                           // PM keeps int(1.9999999999999996) = 1
		{0.8, TrimBottom, 10, attack.CompatPrivacyMeter, 1, ""},    // its truncation
		{0.9, TrimTop, 10, "", 1, ""},                              // PM: 0
		{0.9, TrimTop, 10, attack.CompatPrivacyMeter, 0, ""},       // NaN range scores
		{1, TrimTop, 4, attack.CompatPrivacyMeter, 0, ""},          //
		{0.3, TrimNone, 10, "", 10, ""},                            // none ignores the ratio
		{0.96, TrimBottom, 10, "", 0, "keeps round"},               // nothing left
		{1.5, TrimBottom, 10, "", 0, "want a value in [0, 1]"},     //
		{math.NaN(), TrimBottom, 10, "", 0, "in [0, 1]"},           //
		{0.5, Direction("middle"), 10, "", 0, "want none, top or"}, //
		{0.5, TrimTop, 0, "", 0, "at least 1"},                     //
	} {
		got, err := FixedTrim(tc.ratio, tc.dir, tc.s, tc.compat)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("FixedTrim(%v, %s, %d, %q) error %v, want one containing %q", tc.ratio, tc.dir, tc.s, tc.compat, err, tc.err)
			}
			continue
		}
		if err != nil || got.Keep != tc.keep {
			t.Errorf("FixedTrim(%v, %s, %d, %q) = %+v, %v; want keep %d", tc.ratio, tc.dir, tc.s, tc.compat, got, err, tc.keep)
		}
	}
}

func TestAggregate(t *testing.T) {
	scores := []float64{0.4, 0.1, 0.3, 0.2, 1, 1, 0, 0}
	for _, tc := range []struct {
		trim Trim
		want []float64
	}{
		{Trim{Direction: TrimNone, Keep: 4}, []float64{0.25, 0.5}},
		{Trim{Direction: TrimTop, Keep: 1}, []float64{0.1, 0}},
		{Trim{Direction: TrimTop, Keep: 3}, []float64{0.2, 1.0 / 3}},
		{Trim{Direction: TrimBottom, Keep: 1}, []float64{0.4, 1}},
		{Trim{Direction: TrimBottom, Keep: 2}, []float64{0.35, 1}},
		{Trim{Direction: TrimBottom, Keep: 0}, []float64{math.NaN(), math.NaN()}},
	} {
		got, err := Aggregate(scores, 4, tc.trim)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if !(math.Abs(got[i]-tc.want[i]) < 1e-15 || math.IsNaN(got[i]) && math.IsNaN(tc.want[i])) {
				t.Errorf("Aggregate(%+v) = %v, want %v", tc.trim, got, tc.want)
				break
			}
		}
	}
	for _, tc := range []struct {
		s    int
		trim Trim
		err  string
	}{
		{3, Trim{Direction: TrimNone, Keep: 3}, "do not form ranges"},
		{4, Trim{Direction: TrimTop, Keep: 5}, "keep 5 of 4"},
		{4, Trim{Direction: "up", Keep: 1}, "trim direction"},
	} {
		if _, err := Aggregate(scores, tc.s, tc.trim); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("Aggregate(s=%d, %+v) error %v, want %q", tc.s, tc.trim, err, tc.err)
		}
	}
}

// TestTuneTrimKeepsTunedCount checks the correction of Privacy Meter's R2–R4: the tuned trim averages
// exactly the k scores whose mean won the tuning, never none, so that the trim applied to the tuning
// model's scores gives the tuning's best AUC; in compat mode a tuned "top" does not.
func TestTuneTrimKeepsTunedCount(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	compatDiffers := false
	for s := 2; s <= 12; s++ {
		for rep := range 6 {
			n := 60
			members := make([]bool, n)
			scores := make([]float64, n*s)
			for i := range n {
				members[i] = i%2 == 0
				// Members have a few high samples (rep decides how many), non-members none.
				hot := 1 + (rep*s)/6
				for j := range s {
					v := r.Float64()
					if members[i] && j < hot {
						v += 0.5
					}
					if !members[i] && j >= s-1-rep/2 {
						v -= 0.3 // a low tail that a mean of the lowest would pick up
					}
					scores[i*s+j] = math.Round(v*50) / 50 // ties, as RMIA's counts over Z
				}
			}
			tun, err := TuneTrim(scores, s, members, attack.CompatNone)
			if err != nil {
				t.Fatal(err)
			}
			tr := tun.Trim
			if tr.Keep < 1 || tr.Keep > s || tr.Ratio != 1-float64(tr.Keep)/float64(s) {
				t.Fatalf("s=%d: tuned trim %+v keeps a count other than the tuned one", s, tr)
			}
			best := 0.0
			for k := range s {
				best = max(best, tun.LowestAUC[k], tun.HighestAUC[k])
			}
			agg, err := Aggregate(scores, s, tr)
			if err != nil {
				t.Fatal(err)
			}
			if got := metric.AUC(metric.ROC(agg, members, true)); got != best {
				t.Errorf("s=%d rep=%d: the tuned trim %+v gives AUC %v on the tuning scores, the tuning's best is %v", s, rep, tr, got, best)
			}
			pm, err := TuneTrim(scores, s, members, attack.CompatPrivacyMeter)
			if err != nil {
				t.Fatal(err)
			}
			if pm.Trim.Direction != tr.Direction {
				t.Errorf("s=%d: compat chose %s, default %s", s, pm.Trim.Direction, tr.Direction)
			}
			if pm.Trim.Keep != tr.Keep {
				compatDiffers = true
			}
		}
	}
	if !compatDiffers {
		t.Error("compat mode kept the tuned count everywhere; the cases do not exercise Privacy Meter's inversion")
	}
}

func TestTuneTrimErrors(t *testing.T) {
	for _, tc := range []struct {
		scores  []float64
		s       int
		members []bool
		err     string
	}{
		{[]float64{1, 2, 3}, 2, []bool{true}, "do not form ranges"},
		{[]float64{1, 2, 3, 4}, 2, []bool{true}, "do not form ranges"},
		{[]float64{1, math.NaN(), 3, 4}, 2, []bool{true, false}, "sample 1 of range 0 is NaN"},
		{[]float64{1, 2, 3, 4}, 2, []bool{true, true}, "no candidate has an AUC above 0"},
	} {
		if _, err := TuneTrim(tc.scores, tc.s, tc.members, ""); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("TuneTrim(%v, %d, %v) error %v, want %q", tc.scores, tc.s, tc.members, err, tc.err)
		}
	}
	one, err := TuneTrim([]float64{0.1, 0.9}, 1, []bool{false, true}, "")
	if err != nil || one.Trim != (Trim{Direction: TrimNone, Keep: 1}) {
		t.Errorf("one sample per range: %+v, %v; want no trim", one.Trim, err)
	}
}
