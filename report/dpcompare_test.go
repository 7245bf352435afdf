package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/metric"
)

func TestCompareDP(t *testing.T) {
	acc := 0.75
	bound := func(v float64, method string, dp bool) metric.EpsilonBound {
		return metric.EpsilonBound{Value: v, Alpha: 0.05, Delta: 1e-5, Method: method, DPBound: dp}
	}
	plain := &Summary{Settings: Settings{EpsilonDelta: 1e-5}, TargetModel: TargetModel{TestAccuracy: &acc},
		DPAudits: []DPAudit{{Name: "steinke", Bound: bound(3.2, "one-run-steinke", true)}, {Name: "fdp", Bound: bound(5.4, "one-run-fdp-gaussian", true)}},
		Attacks:  []AttackSummary{{Name: "loss", EpsilonLowerBound: &metric.EpsilonBound{Value: 9, Method: "holdout", DPBound: false}}}}
	private := &Summary{Settings: Settings{EpsilonDelta: 1e-5},
		DP:       &DPCheck{DPClaim: DPClaim{Epsilon: 1, Delta: 1e-5, NoiseMultiplier: 5.9, Sampling: "poisson"}, Violation: true},
		DPAudits: []DPAudit{{Name: "steinke", Bound: bound(1.5, "one-run-steinke", true)}, {Name: "fdp (ε, δ)", Bound: bound(1.7, metric.FDPApproxMethod, true)}}}
	rows, err := CompareDP([]DPRun{{"nodp", plain}, {"eps1", private}})
	if err != nil {
		t.Fatal(err)
	}
	// The f-DP bound is listed but is not the best (Gaussian family only); the attack's bound that is not
	// a DP bound is left out.
	if r := rows[0]; r.Claimed != nil || r.Best != 3.2 || r.BestName != "steinke" || len(r.Bounds) != 2 || !r.Bounds[1].Gaussian || *r.TestAccuracy != 0.75 {
		t.Errorf("non-private row %+v", r)
	}
	// The f-DP bound with the (ε, δ) trade-off holds for every mechanism: it can be the best.
	if r := rows[1]; r.Claimed == nil || *r.Claimed != 1 || r.Best != 1.7 || r.BestName != "fdp (ε, δ)" || r.Bounds[1].Gaussian || !r.Violation || r.NoiseMultiplier != 5.9 {
		t.Errorf("private row %+v", r)
	}
	var text, page bytes.Buffer
	if err := WriteDPCompareText(&text, rows); err != nil {
		t.Fatal(err)
	}
	if err := WriteDPCompareHTML(&page, rows); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"∞ (no DP)", "3.200", "RED FLAG in eps1", "Gaussian-DP only"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("text lacks %q:\n%s", s, text.String())
		}
	}
	for _, s := range []string{"<svg", "nodp", "eps1", "RED FLAG: above the claim", "claimed 1.00", "≥ 3.20"} {
		if !strings.Contains(page.String(), s) {
			t.Errorf("page lacks %q", s)
		}
	}
	if _, err := CompareDP([]DPRun{{"x", nil}}); err == nil {
		t.Error("a run without a summary was accepted")
	}
}
