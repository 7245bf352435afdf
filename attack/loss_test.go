package attack

import (
	"math"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/internal/vectortest"
	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/signal"
)

// TestLOSSPrivacyMeterVectors checks compat mode against Privacy Meter v2 run_loss (score = −p) and its
// metrics, on every rmia_loss case.
func TestLOSSPrivacyMeterVectors(t *testing.T) {
	for _, name := range vectortest.Cases(t, "rmia_loss") {
		t.Run(name, func(t *testing.T) {
			c := vectortest.Load(t, name)
			p := c.F64(t, "target_signals")
			mem := c.Bools(t, "memberships")
			d := &Data{N: len(p), M: 1, Q: 1, Kind: signal.ProbTrue, Signals: p, Members: mem}
			got, err := LOSS(d, 0, LOSSConfig{Compat: CompatPrivacyMeter})
			if err != nil {
				t.Fatal(err)
			}
			c.Check(t, "scores", got, len(p))
			r, err := metric.Evaluate(got, mem)
			if err != nil {
				t.Fatal(err)
			}
			c.Check(t, "auc", []float64{r.AUC})
			for _, f := range []struct {
				file string
				fpr  float64
			}{{"one_fpr", 0.01}, {"one_tenth_fpr", 0.001}, {"zero_fpr", 0}} {
				tpr, ok := r.TPR(f.fpr)
				if !ok {
					t.Fatalf("no TPR at FPR %g in %+v", f.fpr, r)
				}
				c.Check(t, f.file, []float64{tpr})
			}
			// The default orientation ranks members first: its AUC is 1 − the compat AUC when there are no
			// ties among p (log is strictly increasing).
			def, err := LOSS(d, 0, LOSSConfig{})
			if err != nil {
				t.Fatal(err)
			}
			rd, err := metric.Evaluate(def, mem)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(rd.AUC-(1-r.AUC)) > 1e-12 {
				t.Errorf("default AUC %v, want 1 − compat AUC = %v", rd.AUC, 1-r.AUC)
			}
		})
	}
}

// TestLOSS checks score = −loss for each convertible kind, averaged over queries, against a direct
// computation.
func TestLOSS(t *testing.T) {
	// Two records × two models × two queries of p(true label).
	p := []float64{0.9, 0.7, 0.2, 0.4, 0.5, 0.95, 0.1, 0.3}
	mem := []bool{true, false, false, true}
	want := []float64{(math.Log(0.2) + math.Log(0.4)) / 2, (math.Log(0.1) + math.Log(0.3)) / 2} // target 1
	for _, kind := range []signal.Kind{signal.ProbTrue, signal.Loss, signal.RescaledLogit} {
		s := append([]float64(nil), p...)
		if err := signal.Convert(s, signal.ProbTrue, kind); err != nil {
			t.Fatal(err)
		}
		d := &Data{N: 2, M: 2, Q: 2, Kind: kind, Signals: s, Members: mem}
		got, err := LOSS(d, 1, LOSSConfig{})
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		for i := range want {
			if !vectortest.Close(got[i], want[i], 1e-12, 1e-15) {
				t.Errorf("%s: score[%d] = %v, want %v", kind, i, got[i], want[i])
			}
		}
	}
}

func TestLOSSErrors(t *testing.T) {
	d := &Data{N: 2, M: 1, Q: 2, Kind: signal.ProbTrue, Signals: []float64{0.5, 0.5, 0.5, 0.5}, Members: []bool{true, false}}
	for _, tc := range []struct {
		name string
		d    *Data
		t    int
		cfg  LOSSConfig
		want string
	}{
		{"target", d, 1, LOSSConfig{}, "target model 1"},
		{"compat queries", d, 0, LOSSConfig{Compat: CompatPrivacyMeter}, "one query"},
		{"kind", &Data{N: 2, M: 1, Q: 1, Kind: signal.Entropy, Signals: []float64{0.5, 0.5}, Members: []bool{true, false}}, 0, LOSSConfig{}, "cannot convert"},
		{"invalid", &Data{N: 2, M: 1, Q: 1, Kind: signal.ProbTrue, Signals: []float64{0.5, 2}, Members: []bool{true, false}}, 0, LOSSConfig{}, "probabilities lie in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LOSS(tc.d, tc.t, tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
