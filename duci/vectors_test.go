package duci

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/internal/vectortest"
	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/signal"
)

// TestVectors checks every duci_* case of the reference vectors (Privacy Meter v2 run unmodified) at its
// stated tolerance: DUCI's RMIA variant on its grid, and pred_proportions in compat mode with every
// intermediate, plus the corrected values the README gives (the estimate with ≥, the tuning with the
// paired model's population).
func TestVectors(t *testing.T) {
	for _, name := range vectortest.Cases(t, "duci_") {
		c := vectortest.Load(t, name)
		switch {
		case c.Params["offline_a_list"] != nil:
			t.Run(name, func(t *testing.T) { testRMIAGrid(t, c) })
		case c.Params["target_model_indices"] != nil:
			t.Run(name+"/compat", func(t *testing.T) { testPredProportions(t, c) })
		default:
			t.Errorf("%s: unrecognised DUCI case", name)
		}
	}
}

func testRMIAGrid(t *testing.T, c *vectortest.Case) {
	n, z, k := c.Int(t, "N"), c.Int(t, "Z"), c.Int(t, "n_ref")
	in := &rmiaInput{n: n, z: z, nref: k, ts: c.F64(t, "target_signals"), rs: c.F64(t, "ref_signals"),
		rm: c.Bools(t, "ref_memberships"), zt: c.F64(t, "z_target_signals"), zr: c.F64(t, "z_ref_signals")}
	as, ks := c.Floats(t, "offline_a_list"), c.Floats(t, "num_reference_models_list")
	var scores []float64
	for _, kk := range ks {
		for _, a := range as {
			scores = append(scores, rmiaScores(in, a, int(kk), true)...)
		}
	}
	c.Check(t, "scores", scores, len(ks), len(as), n)
	rows := func(v []float64, m []bool, rows, kk int, a float64) []float64 {
		var out []float64
		for i := range rows {
			out = append(out, outSignalsCompat(nil, v[i*k:(i+1)*k], m[i*k:(i+1)*k], kk, a)...)
		}
		return out
	}
	none := make([]bool, z*k)
	for kk := 2; kk <= k; kk++ {
		if c.Has(fmt.Sprintf("out_x_top%d", kk)) {
			c.Check(t, fmt.Sprintf("out_x_top%d", kk), rows(in.rs, in.rm, n, kk, 0.5), n, kk)
			c.Check(t, fmt.Sprintf("out_z_top%d", kk), rows(in.zr, none, z, kk, 0.5), z, kk)
		}
	}
	for j, a := range as {
		c.Check(t, fmt.Sprintf("out_x_conv_a%d", j), rows(in.rs, in.rm, n, 1, a), n, k)
	}
	c.Check(t, "out_z_conv", rows(in.zr, none, z, 1, 0.3), z, k)
}

// loadData reads the N × M signals, Z × M population signals and memberships of a pred_proportions case.
func loadData(t *testing.T, c *vectortest.Case) *attack.Data {
	t.Helper()
	sig := c.Array(t, "all_signals")
	pop := c.Array(t, "population_signals")
	return &attack.Data{N: sig.Shape[0], M: sig.Shape[1], Q: 1, Kind: signal.ProbTrue, Signals: sig.Float64s(),
		Members: c.Bools(t, "all_memberships"), Z: pop.Shape[0], Population: pop.Float64s()}
}

func loadTargets(t *testing.T, c *vectortest.Case) []Target {
	t.Helper()
	refsAll, ok := c.Params["reference_model_indices_all"].([]any)
	if !ok {
		t.Fatalf("%s: no reference_model_indices_all", c.Name)
	}
	var out []Target
	for k, f := range c.Floats(t, "target_model_indices") {
		var refs []int
		for _, r := range refsAll[k].([]any) {
			refs = append(refs, int(r.(float64)))
		}
		out = append(out, Target{Model: int(f), Refs: refs})
	}
	return out
}

func testPredProportions(t *testing.T, c *vectortest.Case) {
	d := loadData(t, c)
	targets := loadTargets(t, c)
	pm := &PrivacyMeter{Population: strings.Contains(c.Name, "population")}
	args := c.Params["args"].(map[string]any)
	if a, ok := args["offline_a"].(float64); ok {
		pm.OfflineA = &a
	}
	res, err := pm.PredProportions(d, targets)
	if err != nil {
		t.Fatal(err)
	}
	T, n, nref := len(targets), d.N, len(targets[0].Refs)
	var aUsed, ts, rs, thr, tpr, fpr, ptpr, pfpr, deb, pred, truth, errs, direct, ttpr, tfpr, ge []float64
	var refIdx, best []int64
	var preds []bool
	for k, r := range res {
		aUsed = append(aUsed, r.OfflineA)
		ts = append(ts, r.TargetScores...)
		for j := range r.RefScores {
			rs = append(rs, r.RefScores[j]...)
			for _, x := range r.RefAttackRefs[j] {
				refIdx = append(refIdx, int64(x))
			}
		}
		sfx := fmt.Sprintf("_t%d", k)
		c.Check(t, "ref_roc_fpr"+sfx, r.Curve.FPR)
		c.Check(t, "ref_roc_tpr"+sfx, r.Curve.TPR)
		c.Check(t, "ref_roc_thresholds"+sfx, r.Curve.Thresholds)
		best = append(best, int64(r.Best))
		thr, tpr, fpr = append(thr, r.Threshold), append(tpr, r.TPR), append(fpr, r.FPR)
		ptpr, pfpr = append(ptpr, r.PerRefTPR...), append(pfpr, r.PerRefFPR...)
		preds = append(preds, r.Preds...)
		deb = append(deb, r.Debiased.Debiased...)
		pred = append(pred, r.Proportion)
		members := d.TargetMembers(r.Target)
		var in, tp, fp int
		for i, m := range members {
			if m {
				in++
				if r.Preds[i] {
					tp++
				}
			} else if r.Preds[i] {
				fp++
			}
		}
		p := float64(in) / float64(n)
		truth, errs = append(truth, p), append(errs, math.Abs(r.Proportion-p))
		direct = append(direct, r.Direct)
		ttpr, tfpr = append(ttpr, float64(tp)/float64(in)), append(tfpr, float64(fp)/float64(n-in))
		ge = append(ge, r.ProportionGE)
	}
	c.Check(t, "offline_a_used", aUsed, T)
	c.Check(t, "target_scores", ts, T, n)
	c.Check(t, "ref_scores", rs, T, nref, n)
	c.CheckInt(t, "ref_attack_reference_indices", refIdx)
	c.CheckInt(t, "best_idx", best)
	c.Check(t, "best_threshold", thr)
	c.Check(t, "ref_tpr", tpr)
	c.Check(t, "ref_fpr", fpr)
	c.Check(t, "per_ref_tpr", ptpr, T, nref)
	c.Check(t, "per_ref_fpr", pfpr, T, nref)
	c.CheckBool(t, "preds", preds)
	c.Check(t, "debiased_preds", deb, T, n)
	c.Check(t, "prediction", pred, T)
	c.Check(t, "true_proportion", truth, T)
	c.Check(t, "error", errs, T)
	c.Check(t, "direct_aggregation", direct, T)
	c.Check(t, "true_tpr", ttpr, T)
	c.Check(t, "true_fpr", tfpr, T)
	// The corrected estimate (D1 fixed: the prediction ≥ θ that the rates describe).
	c.Check(t, "corrected_prediction_ge", ge, T)
	if c.Has("tune_auc_per_a") {
		c.Check(t, "tune_a_grid", attack.OfflineAGrid(0.1))
		c.Check(t, "tune_auc_per_a", pm.TuneAUC)
		c.Check(t, "tune_offline_a", []float64{*pm.OfflineA})
		c.Check(t, "tune_scores", pm.TuneScores)
		// D2 corrected: the same tuning with the paired model's own population signals.
		first := targets[0]
		paired := first.Model ^ 1
		in, err := columns(d, paired, first.Refs)
		if err != nil {
			t.Fatal(err)
		}
		var aucs []float64
		for _, a := range attack.OfflineAGrid(0.1) {
			aucs = append(aucs, metric.AUC(metric.ROC(rmiaScores(in, a, 1, true), d.TargetMembers(paired), true)))
		}
		c.Check(t, "tune_auc_per_a_paired_population", aucs)
	}
}
