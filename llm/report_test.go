package llm

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/metric"
)

// TestReportInputExposedBy: the sequences listed are the run's first attack's, whatever the AUCs (the
// attack of highest AUC would be a pick by chance on a target that leaks nothing), or the first attack
// that scores any sequence when the first scores none; the page input states the rule.
func TestReportInputExposedBy(t *testing.T) {
	nan := math.NaN()
	b := &Bundle{LogProbs: NewRagged([][]float64{{-1}, {-2}, {-3}}), Labels: []bool{true, false, true}}
	res := func(name string, auc float64, scores ...float64) Result {
		return Result{Attack: name, Metrics: metric.Result{AUC: auc}, Scores: scores}
	}
	for _, c := range []struct {
		name     string
		attacks  []Result
		want     string
		wantRule string
		top      []int // the listed sequences, highest score first
	}{
		{"first attack, not the highest AUC", []Result{res("loss", 0.52, 1, 3, 2), res("zlib", 0.9, 3, 2, 1)}, "loss", "the run's first attack, chosen before any result is seen", []int{1, 2}},
		{"first attack scores none", []Result{res("recall", nan, nan, nan, nan), res("min-k", 0.4, 2, nan, 5), res("zlib", 0.9, 3, 2, 1)}, "min-k",
			"the run's first attack that scores any sequence (recall, the first, scores none)", []int{2, 0}},
		{"no attack scores any", []Result{res("recall", nan, nan, nan, nan)}, "", "", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := ReportInput(b, c.attacks, nil, DefaultParams(), 2)
			if in.ExposedBy != c.want || !strings.HasPrefix(in.ExposedRule, c.wantRule) || (c.wantRule == "") != (in.ExposedRule == "") {
				t.Errorf("exposed by %q (%q), want %q (%q)", in.ExposedBy, in.ExposedRule, c.want, c.wantRule)
			}
			var top []int
			for _, s := range in.Exposed {
				top = append(top, s.Index)
			}
			if !slices.Equal(top, c.top) {
				t.Errorf("listed sequences %v, want %v", top, c.top)
			}
		})
	}
}
