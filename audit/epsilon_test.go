package audit

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/metric"
)

// TestDPCaveat: a run's ε bounds are DP bounds only when its memberships were drawn independently per
// record and the audited records were not chosen by their membership.
func TestDPCaveat(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string // "" alone: a DP bound is allowed
	}{
		{"pairs", "audit:\n  split: pairs\n", []string{"pairs design"}},
		{"lira", "audit:\n  split: lira\n", []string{""}},
		{"lira, balanced sample", "audit:\n  split: lira\n  data_size: 200\n", []string{"balanced by membership in target model 0"}},
		{"pairs, balanced sample", "audit:\n  split: pairs\n  data_size: 200\n", []string{"pairs design", "; the audited records are a sample"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig([]byte("run:\n  random_seed: 3\n" + tc.yaml + "  num_ref_models: 2\ndata:\n  dataset: fashion-mnist\n  train_size: 400\n"))
			if err != nil {
				t.Fatal(err)
			}
			d, err := LoadData(c)
			if err != nil {
				t.Fatal(err)
			}
			p, err := MakePlan(c, d)
			if err != nil {
				t.Fatal(err)
			}
			ms, err := p.Memberships.Rows(p.Audit)
			if err != nil {
				t.Fatal(err)
			}
			got := dpCaveat(d, p, &attack.Data{N: ms.N, M: ms.M, Members: ms.Members}, 0)
			for _, w := range tc.want {
				if w == "" && got != "" || !strings.Contains(got, w) {
					t.Errorf("caveat %q, want one containing %q", got, w)
				}
			}
		})
	}
}

// TestWriteSummaryEpsilon: the printed table shows each target's ε bound, "n/a" where it is no DP bound
// (with the reason below the table), "–" where there is none, and "below res." for a TPR at an FPR the
// audit cannot resolve.
func TestWriteSummaryEpsilon(t *testing.T) {
	scores := []float64{0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0}
	members := []bool{true, true, false, true, false, true, false, false, true, false}
	m, err := metric.Evaluate(scores, members) // 5 non-members: every FPR below 20 % is below resolution
	if err != nil {
		t.Fatal(err)
	}
	dp := &metric.EpsilonBound{Value: 0.4321, DPBound: true}
	notDP := &metric.EpsilonBound{Value: 1.5, Caveat: "in the pairs design every model trains on exactly half of the records"}
	r := &Result{Attacks: []AttackResult{
		{Label: "a", Targets: []metric.Result{m, m}, Epsilon: []*metric.EpsilonBound{dp, nil}, Pooled: &m, PooledEpsilon: notDP},
	}}
	var b bytes.Buffer
	r.WriteSummary(&b)
	lines := strings.Split(b.String(), "\n")
	for _, tc := range []struct {
		line int
		want []string
	}{
		{0, []string{"TPR@0.1%FPR", "TPR@0%FPR", "ε≥ (δ=1e-5)"}},
		{1, []string{"a", "0", "0.4000", "below res.  below res.", "0.432"}},
		{2, []string{"1", "below res.", "–"}},
		{3, []string{"pooled", "n/a"}},
		{4, []string{"ε≥ n/a: not a DP bound: in the pairs design"}},
	} {
		for _, w := range tc.want {
			if tc.line >= len(lines) || !strings.Contains(lines[tc.line], w) {
				t.Errorf("line %d of\n%s\ndoes not contain %q", tc.line, b.String(), w)
			}
		}
	}
	if strings.Contains(lines[1], "1.5") || strings.Contains(lines[3], "1.500") {
		t.Errorf("a bound that is no DP bound is printed as a number:\n%s", b.String())
	}
}
