package ramia

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/internal/vectortest"
	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/signal"
)

// TestVectors checks every ramia_* case of the reference vectors (Privacy Meter v2 run unmodified) at its
// stated tolerance: the audits in compat mode and, where the README gives the corrected computation,
// in default mode; the trim grid; the samplers with their recorded draws.
func TestVectors(t *testing.T) {
	for _, name := range vectortest.Cases(t, "ramia_") {
		c := vectortest.Load(t, name)
		switch {
		case strings.HasPrefix(name, "ramia_audit"):
			t.Run(name+"/compat", func(t *testing.T) { testAuditCompat(t, c) })
			t.Run(name+"/default", func(t *testing.T) { testAuditDefault(t, c) })
		case c.Params["trim_ratios"] != nil:
			t.Run(name, func(t *testing.T) { testTrimGrid(t, c) })
		case c.Params["shapes"] != nil:
			t.Run(name, func(t *testing.T) { testSamplerL2(t, c) })
		case c.Params["num_missing_feats"] != nil:
			t.Run(name, func(t *testing.T) { testSamplerMissing(t, c) })
		default:
			t.Errorf("%s: unrecognised RaMIA case", name)
		}
	}
}

// auditCase is the input of an audit case.
type auditCase struct {
	ranges  *Ranges
	targets []int
	r, s    int
	ratio   *float64
	dir     Direction
}

func loadAuditCase(t *testing.T, c *vectortest.Case) auditCase {
	t.Helper()
	mem := c.Array(t, "range_memberships")
	members, err := mem.Bools()
	if err != nil {
		t.Fatal(err)
	}
	m := mem.Shape[1]
	s := c.Int(t, "sample_size")
	r, err := FromSignals(c.F64(t, "all_signals"), c.F64(t, "population_signals"), members, s, m, signal.ProbTrue, attack.DesignAuto)
	if err != nil {
		t.Fatal(err)
	}
	ac := auditCase{ranges: r, r: c.Int(t, "num_reference_models"), s: s}
	for _, f := range c.Floats(t, "target_model_indices") {
		ac.targets = append(ac.targets, int(f))
	}
	if v, ok := c.Params["trim_ratio"].(float64); ok {
		ac.ratio = &v
		d, ok := c.Params["trim_direction"].(string)
		if !ok {
			t.Fatalf("%s: trim_ratio without trim_direction", c.Name)
		}
		if ac.dir, err = ParseDirection(d); err != nil {
			t.Fatal(err)
		}
	}
	return ac
}

// config returns the audit's configuration: PM's per-sample RMIA with R references and a tuned, the trim
// fixed or tuned, RaMIA's own compat as given.
func (ac auditCase) config(t *testing.T, compat attack.Compat) Config {
	t.Helper()
	cfg := Config{RMIA: attack.RMIAConfig{NumRef: ac.r, Compat: attack.CompatPrivacyMeter}, TuneOfflineA: true, Compat: compat}
	if ac.ratio != nil {
		tr, err := FixedTrim(*ac.ratio, ac.dir, ac.s, compat)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Trim = &tr
	}
	return cfg
}

var directionCodes = map[Direction]int64{TrimNone: 0, TrimTop: 1, TrimBottom: 2}

// checkShared checks what both modes compute alike: a, the tuning tables and scores, the per-sample
// scores and result, the range labels.
func checkShared(t *testing.T, c *vectortest.Case, ac auditCase, res *Result) {
	t.Helper()
	T, n, s := len(ac.targets), ac.ranges.N(), ac.s
	var a, tuneAUC, tuneScores, lowest, highest, sample, sAUC, s1, s01, s0 []float64
	var labels []bool
	for k, tr := range res.Targets {
		if tr.Target != ac.targets[k] {
			t.Fatalf("result %d is for target %d, want %d", k, tr.Target, ac.targets[k])
		}
		a = append(a, tr.OfflineA)
		tuneAUC = append(tuneAUC, tr.OfflineAAUC...)
		tuneScores = append(tuneScores, tr.TuneScores...)
		tt := tr.TrimTuning
		if tt == nil {
			// A fixed trim: the case still holds the tuning table, which PM does not compute then.
			mem := ac.ranges.Members(tr.TuningModel)
			v, err := TuneTrim(tr.TuneScores, s, mem, attack.CompatPrivacyMeter)
			if err != nil {
				t.Fatal(err)
			}
			tt = &v
		}
		lowest = append(lowest, tt.LowestAUC...)
		highest = append(highest, tt.HighestAUC...)
		sample = append(sample, tr.SampleScores...)
		labels = append(labels, tr.Members...)
		sAUC = append(sAUC, tr.Sample.AUC)
		for _, p := range []struct {
			dst *[]float64
			fpr float64
		}{{&s1, 0.01}, {&s01, 0.001}, {&s0, 0}} {
			v, ok := tr.Sample.TPR(p.fpr)
			if !ok {
				t.Fatalf("no TPR at %v FPR", p.fpr)
			}
			*p.dst = append(*p.dst, v)
		}
		if want := pairedModel(tr.Target); tr.TuningModel != want {
			t.Errorf("target %d tuned on model %d, want its paired model %d", tr.Target, tr.TuningModel, want)
		}
	}
	c.Check(t, "offline_a", a, T)
	c.Check(t, "tune_auc_per_a", tuneAUC, T, len(attack.OfflineAGrid(0.1)))
	c.Check(t, "tune_scores", tuneScores, T, n*s)
	c.Check(t, "trim_auc_bottomk", lowest, T, s)
	c.Check(t, "trim_auc_topk", highest, T, s)
	c.Check(t, "sample_scores", sample, T, n*s)
	c.CheckBool(t, "range_labels", labels)
	c.Check(t, "sample_auc", sAUC, T)
	c.Check(t, "sample_one_fpr", s1, T)
	c.Check(t, "sample_one_tenth_fpr", s01, T)
	c.Check(t, "sample_zero_fpr", s0, T)
}

func pairedModel(t int) int {
	if t%2 == 0 {
		return t + 1
	}
	return t - 1
}

// rangeMetrics returns AUC and TPR at 1 %, 0.1 % and 0 % FPR of scores, computed as Privacy Meter's
// compute_attack_results does, and whether sklearn would raise (a NaN score).
func rangeMetrics(scores []float64, members []bool) (m [4]float64, raises bool) {
	if slices.ContainsFunc(scores, math.IsNaN) {
		return [4]float64{math.NaN(), math.NaN(), math.NaN(), math.NaN()}, true
	}
	curve := metric.ROC(scores, members, true)
	return [4]float64{metric.AUC(curve), metric.TPRAtFPR(curve, 0.01), metric.TPRAtFPR(curve, 0.001), metric.TPRAtFPR(curve, 0)}, false
}

func testAuditCompat(t *testing.T, c *vectortest.Case) {
	ac := loadAuditCase(t, c)
	res, err := Audit(context.Background(), ac.ranges, ac.targets, ac.config(t, attack.CompatPrivacyMeter))
	if err != nil {
		t.Fatal(err)
	}
	checkShared(t, c, ac, res)
	T := len(ac.targets)
	var ratio, rangeScores, auc, one, tenth, zero []float64
	var dir, keep []int64
	var raises []bool
	for k, tr := range res.Targets {
		ratio = append(ratio, tr.Trim.Ratio)
		dir = append(dir, directionCodes[tr.Trim.Direction])
		keep = append(keep, int64(tr.Trim.Keep))
		rangeScores = append(rangeScores, tr.RangeScores...)
		m, r := rangeMetrics(tr.RangeScores, tr.Members)
		auc, one, tenth, zero = append(auc, m[0]), append(one, m[1]), append(tenth, m[2]), append(zero, m[3])
		raises = append(raises, r)
		if r != (tr.Range == nil) || r != (tr.RangeError != "") {
			t.Errorf("target %d: NaN range scores %v, but range result %v and error %q", tr.Target, r, tr.Range, tr.RangeError)
		}
		if tr.Range != nil && tr.Range.AUC != m[0] {
			t.Errorf("target %d: range result AUC %v, want %v", tr.Target, tr.Range.AUC, m[0])
		}
		// What PM reports for the target is the per-sample result (R1).
		if rep := res.Reported(k); rep.AUC != tr.Sample.AUC {
			t.Errorf("target %d: compat reports AUC %v, want the per-sample AUC %v", tr.Target, rep.AUC, tr.Sample.AUC)
		}
	}
	c.Check(t, "trim_ratio", ratio, T)
	c.CheckInt(t, "trim_direction_code", dir)
	c.CheckInt(t, "trim_keep", keep)
	c.Check(t, "range_scores", rangeScores, T, ac.ranges.N())
	c.Check(t, "range_auc", auc, T)
	c.Check(t, "range_one_fpr", one, T)
	c.Check(t, "range_one_tenth_fpr", tenth, T)
	c.Check(t, "range_zero_fpr", zero, T)
	c.CheckBool(t, "range_roc_raises", raises)

	if !c.Has("average_raises") {
		if T > 1 {
			t.Errorf("%d targets but the case has no average result", T)
		}
		return
	}
	raise := c.Bools(t, "average_raises")[0]
	if got := res.Pooled == nil; got != raise {
		t.Errorf("pooled result missing %v (%q), want raises %v", got, res.PooledError, raise)
	}
	if raise || res.Pooled == nil {
		return
	}
	c.Check(t, "average_fpr", res.PooledCurve.FPR, len(res.PooledCurve.FPR))
	c.Check(t, "average_tpr", res.PooledCurve.TPR, len(res.PooledCurve.TPR))
	c.Check(t, "average_auc", []float64{res.Pooled.AUC}, 1)
	for _, p := range []struct {
		name string
		fpr  float64
	}{{"average_one_fpr", 0.01}, {"average_one_tenth_fpr", 0.001}, {"average_zero_fpr", 0}} {
		v, _ := res.Pooled.TPR(p.fpr)
		c.Check(t, p.name, []float64{v}, 1)
	}
}

// testAuditDefault runs the case with RaMIA's corrections and Privacy Meter's per-sample RMIA, so that
// what PM computes right is compared with the vectors and what it computes wrong with the corrected
// computation of the README: a tuned trim keeps exactly the k scores whose mean was tuned (R2), a fixed
// ratio keeps round((1 − ratio)·S) (R3), no range score is NaN (R4), and the range result is the result
// (R1).
func testAuditDefault(t *testing.T, c *vectortest.Case) {
	ac := loadAuditCase(t, c)
	res, err := Audit(context.Background(), ac.ranges, ac.targets, ac.config(t, attack.CompatNone))
	if err != nil {
		t.Fatal(err)
	}
	checkShared(t, c, ac, res)
	s := ac.s
	pmKeep := c.Ints(t, "trim_keep")
	pmScores := c.F64(t, "range_scores")
	lowest, highest := c.F64(t, "trim_auc_bottomk"), c.F64(t, "trim_auc_topk")
	for k, tr := range res.Targets {
		var want Trim
		if ac.ratio != nil {
			want = Trim{Direction: ac.dir, Ratio: *ac.ratio, Keep: int(math.Round((1 - *ac.ratio) * float64(s)))}
			if ac.dir == TrimNone {
				want.Keep = s
			}
		} else {
			// The first strict maximum of the case's tables, bottom-k before top-k for each k.
			best, bk, bd := 0.0, 0, TrimNone
			for j := 1; j <= s; j++ {
				if v := lowest[k*s+j-1]; v > best {
					best, bk, bd = v, j, TrimTop
				}
				if v := highest[k*s+j-1]; v > best {
					best, bk, bd = v, j, TrimBottom
				}
			}
			want = Trim{Direction: bd, Ratio: 1 - float64(bk)/float64(s), Keep: bk}
		}
		if tr.Trim != want {
			t.Errorf("target %d: trim %+v, want %+v", tr.Target, tr.Trim, want)
		}
		// The trimmed means, summed here in index order of the sorted rows.
		expect := make([]float64, ac.ranges.N())
		for r := range expect {
			row := slices.Clone(tr.SampleScores[r*s : (r+1)*s])
			slices.Sort(row)
			if want.Direction == TrimBottom {
				slices.Reverse(row)
			}
			sum := 0.0
			for _, v := range row[:want.Keep] {
				sum += v
			}
			expect[r] = sum / float64(want.Keep)
		}
		for r, v := range tr.RangeScores {
			if math.IsNaN(v) || !vectortest.Close(v, expect[r], 0, 1e-12) {
				t.Fatalf("target %d, range %d: score %v, want %v", tr.Target, r, v, expect[r])
			}
		}
		if int64(want.Keep) == pmKeep[k] && want.Direction == Direction([]string{"none", "top", "bottom"}[c.Ints(t, "trim_direction_code")[k]]) {
			// PM's aggregation is right here: the scores and the range result (computed by the case,
			// though PM does not report it) are the corrected values.
			n := ac.ranges.N()
			for r, v := range tr.RangeScores {
				if !vectortest.Close(v, pmScores[k*n+r], 0, 1e-12) {
					t.Fatalf("target %d, range %d: score %v, want PM's %v", tr.Target, r, v, pmScores[k*n+r])
				}
			}
			if w := c.F64(t, "range_auc")[k]; tr.Range == nil || !vectortest.Close(tr.Range.AUC, w, 1e-9, 1e-12) {
				t.Errorf("target %d: range AUC %v, want %v", tr.Target, tr.Range, w)
			}
		}
		if tr.Range == nil || tr.RangeError != "" {
			t.Fatalf("target %d: no range result (%s)", tr.Target, tr.RangeError)
		}
		m, _ := rangeMetrics(tr.RangeScores, tr.Members)
		if tr.Range.AUC != m[0] {
			t.Errorf("target %d: range AUC %v, want %v", tr.Target, tr.Range.AUC, m[0])
		}
		if rep := res.Reported(k); rep != tr.Range {
			t.Errorf("target %d: the default reports %+v, not the range result", tr.Target, rep)
		}
	}
	if len(ac.targets) > 1 && res.Pooled == nil {
		t.Errorf("no pooled result: %s", res.PooledError)
	}
}

func testTrimGrid(t *testing.T, c *vectortest.Case) {
	ratios := c.F64(t, "trim_ratios")
	dirs := []Direction{TrimNone, TrimTop, TrimBottom}
	for _, sf := range c.Floats(t, "S_list") {
		s := int(sf)
		scores := c.F64(t, fmt.Sprintf("scores_S%d", s))
		n := len(scores) / s
		var trimmed []float64
		var keep []int64
		for _, d := range dirs {
			for _, r := range ratios {
				tr, err := FixedTrim(r, d, s, attack.CompatPrivacyMeter)
				if err != nil {
					t.Fatal(err)
				}
				keep = append(keep, int64(tr.Keep))
				agg, err := Aggregate(scores, s, tr)
				if err != nil {
					t.Fatal(err)
				}
				trimmed = append(trimmed, agg...)
			}
		}
		c.Check(t, fmt.Sprintf("trimmed_S%d", s), trimmed, len(dirs), len(ratios), n)
		c.CheckInt(t, fmt.Sprintf("keep_S%d", s), keep)

		var top, bottom, topMean, bottomMean []float64
		for r := range n {
			row := slices.Clone(scores[r*s : (r+1)*s])
			slices.Sort(row)
			bottom = append(bottom, row...)
			slices.Reverse(row)
			top = append(top, row...)
		}
		for k := 1; k <= s; k++ {
			hi, err := Aggregate(scores, s, Trim{Direction: TrimBottom, Keep: k})
			if err != nil {
				t.Fatal(err)
			}
			lo, err := Aggregate(scores, s, Trim{Direction: TrimTop, Keep: k})
			if err != nil {
				t.Fatal(err)
			}
			topMean, bottomMean = append(topMean, hi...), append(bottomMean, lo...)
		}
		c.Check(t, fmt.Sprintf("topk_values_S%d", s), top, n, s)
		c.Check(t, fmt.Sprintf("bottomk_values_S%d", s), bottom, n, s)
		c.Check(t, fmt.Sprintf("topk_mean_S%d", s), topMean, s, n)
		c.Check(t, fmt.Sprintf("bottomk_mean_S%d", s), bottomMean, s, n)
	}
	smax := c.Int(t, "S_max_table")
	var top, bottom []int64
	for s := 1; s <= smax; s++ {
		for k := 1; k <= smax; k++ {
			if k > s {
				top, bottom = append(top, -1), append(bottom, -1)
				continue
			}
			top = append(top, int64(compatTunedTrim(k, s, TrimTop).Keep))
			bottom = append(bottom, int64(compatTunedTrim(k, s, TrimBottom).Keep))
		}
	}
	c.CheckInt(t, "tuned_keep_top", top)
	c.CheckInt(t, "tuned_keep_bottom", bottom)
}
