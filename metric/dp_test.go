package metric

import (
	"math"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/internal/vectortest"
)

// TestOneRunVectors checks OneRunPValue and OneRunEpsilon against Steinke et al.'s p_value_DP_audit and
// get_eps_audit (as copied into Privacy Meter v2) on every dp_eps_grid* case.
func TestOneRunVectors(t *testing.T) {
	for _, name := range vectortest.Cases(t, "dp_eps_grid") {
		t.Run(name, func(t *testing.T) {
			c := vectortest.Load(t, name)
			m, r, v := c.Ints(t, "m"), c.Ints(t, "r"), c.Ints(t, "v")
			deltas, probes := c.F64(t, "delta"), c.F64(t, "eps_probe")
			p := c.Float(t, "p")
			var eps, pv []float64
			for _, delta := range deltas {
				for k := range m {
					eps = append(eps, OneRunEpsilon(int(m[k]), int(r[k]), int(v[k]), delta, p))
					for _, e := range probes {
						pv = append(pv, OneRunPValue(int(m[k]), int(r[k]), int(v[k]), e, delta))
					}
				}
			}
			c.Check(t, "eps", eps, len(deltas), len(m))
			c.Check(t, "p_value", pv, len(deltas), len(m), len(probes))
		})
	}
}

// TestAbstainVectors checks AbstainAudit against Privacy Meter v2 compute_abstain_attack_results on every
// dp_abstain* case.
func TestAbstainVectors(t *testing.T) {
	for _, name := range vectortest.Cases(t, "dp_abstain") {
		t.Run(name, func(t *testing.T) {
			c := vectortest.Load(t, name)
			res, err := AbstainAudit(c.F64(t, "scores"), c.Bools(t, "memberships"), c.Float(t, "delta"), c.Float(t, "p_value"))
			if err != nil {
				t.Fatal(err)
			}
			var kNeg, kPos, correct []int64
			var eps []float64
			for _, g := range res.Guesses {
				kNeg = append(kNeg, int64(g.KNeg))
				kPos = append(kPos, int64(g.KPos))
				correct = append(correct, int64(g.Correct))
				eps = append(eps, g.Epsilon)
			}
			c.CheckInt(t, "k_neg", kNeg)
			c.CheckInt(t, "k_pos", kPos)
			c.CheckInt(t, "correct_num", correct)
			c.Check(t, "eps", eps, len(eps))
			c.Check(t, "eps_opt", []float64{res.Best.Epsilon})
			c.CheckInt(t, "k_neg_opt", []int64{int64(res.Best.KNeg)})
			c.CheckInt(t, "k_pos_opt", []int64{int64(res.Best.KPos)})
			c.CheckInt(t, "correct_num_opt", []int64{int64(res.Best.Correct)})
			c.CheckInt(t, "total_num", []int64{int64(res.Total)})
			// compat=privacy-meter: the same number, labelled as no bound.
			b := res.Bound()
			c.Check(t, "eps_opt", []float64{b.Value})
			if b.DPBound || b.Method != AbstainMaxMethod || !strings.Contains(b.Caveat, "voids the p-value") {
				t.Errorf("bound %+v: want Privacy Meter's maximum labelled as no DP bound", b)
			}
		})
	}
}

// TestCountsVectors checks EpsilonFromCounts (Jagielski et al.), RatioBound and EpsilonLowerBound (TF
// Privacy) on every dp_clopper_pearson* case.
func TestCountsVectors(t *testing.T) {
	for _, name := range vectortest.Cases(t, "dp_clopper_pearson") {
		t.Run(name, func(t *testing.T) {
			c := vectortest.Load(t, name)
			alpha := c.Float(t, "alpha")
			counts := c.Ints(t, "counts")
			k := len(counts) / 4
			eps := make([]float64, k)
			acc := make([]float64, k)
			tnrFnr := make([]float64, k)
			one := make([]float64, k)
			two := make([]float64, k)
			ratio := map[BoundMethod][]float64{}
			for i := range k {
				tp, fp, tn, fn := int(counts[4*i]), int(counts[4*i+1]), int(counts[4*i+2]), int(counts[4*i+3])
				e, a := EpsilonFromCounts(tp, fp, tn, fn, alpha)
				eps[i], acc[i] = e/float64(c.Int(t, "pois_ct")), a
				for _, m := range BoundMethods() {
					ratio[m] = append(ratio[m], RatioBound(tp, fp, tp+fn, fp+tn, alpha, m))
				}
				tnrFnr[i] = RatioBound(tn, fn, fp+tn, tp+fn, alpha, ClopperPearsonBound)
				pos := make([]float64, tp+fn)
				neg := make([]float64, fp+tn)
				for j := range tp {
					pos[j] = 1
				}
				for j := range fp {
					neg[j] = 1
				}
				for _, s := range []struct {
					two bool
					out *float64
				}{{false, &one[i]}, {true, &two[i]}} {
					b, err := EpsilonLowerBound(pos, neg, alpha, s.two, []float64{0.5}, ClopperPearsonBound)
					if err != nil {
						t.Fatal(err)
					}
					*s.out = math.NaN()
					if len(b) > 0 {
						*s.out = b[0]
					}
				}
			}
			c.Check(t, "jagielski_eps", eps, k)
			c.Check(t, "jagielski_acc", acc, k)
			c.Check(t, "tfp_ratio_tnr_fnr_clopper_pearson", tnrFnr, k)
			c.Check(t, "tfp_eps_lb_clopper_pearson_one_sided", one, k)
			c.Check(t, "tfp_eps_lb_clopper_pearson_two_sided", two, k)
			for _, m := range BoundMethods() {
				c.Check(t, "tfp_ratio_tpr_fpr_"+strings.ReplaceAll(m.String(), "-", "_"), ratio[m], k)
			}
		})
	}
}

// TestSweepVectors checks EpsilonSweep against Jagielski et al.'s compute_results on every dp_cp_sweep*
// case.
func TestSweepVectors(t *testing.T) {
	for _, name := range vectortest.Cases(t, "dp_cp_sweep") {
		t.Run(name, func(t *testing.T) {
			c := vectortest.Load(t, name)
			s, err := EpsilonSweep(c.F64(t, "poison_scores"), c.F64(t, "unpois_scores"), c.Float(t, "alpha"))
			if err != nil {
				t.Fatal(err)
			}
			k := float64(c.Int(t, "pois_ct"))
			c.Check(t, "best_threshold", []float64{s.Threshold})
			c.Check(t, "best_epsilon", []float64{s.Epsilon / k})
			c.Check(t, "best_acc", []float64{s.Accuracy})
		})
	}
}
