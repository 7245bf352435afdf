package report

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/metric"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testOptions keeps the bootstrap cheap in tests.
var testOptions = Options{TopK: 8, Bootstrap: metric.BootstrapOptions{Resamples: 200, Seed: 42}}

// TestSummaryGolden checks summary.json against testdata/*.golden.json (regenerate with -update after a
// deliberate change, and review the diff). Numbers are compared to a relative 1e-9, so that the last
// bits of the Clopper–Pearson quantiles may differ between platforms.
func TestSummaryGolden(t *testing.T) {
	tests := []struct {
		name string
		in   func() *Input
	}{
		{"images", func() *Input { return fakeInput(7, 600, fakeImages) }},
		{"tabular_two_targets", func() *Input {
			in := fakeInput(8, 500, fakeTabular)
			in.Targets = 2
			for i := range in.Records {
				in.Records[i].Target = i % 2
				if i%25 == 0 {
					in.Records[i].Member = nil // some memberships unknown
				}
			}
			in.TrainAccuracy, in.TestAccuracy = nil, nil
			return in
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := Build(context.Background(), tt.in(), dir, testOptions); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(dir, SummaryFile))
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tt.name+".golden.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestSummaryGolden -update to create it)", err)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatal(err)
			}
			for _, d := range jsonDiff("", g, w, 1e-9) {
				t.Error(d)
			}
		})
	}
}

// jsonDiff lists the differences between two decoded JSON values, comparing numbers to relative
// tolerance tol.
func jsonDiff(path string, got, want any, tol float64) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %T, want an object", path, got)}
		}
		var out []string
		for k := range w {
			if _, ok := g[k]; !ok {
				out = append(out, fmt.Sprintf("%s.%s: missing", path, k))
				continue
			}
			out = append(out, jsonDiff(path+"."+k, g[k], w[k], tol)...)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				out = append(out, fmt.Sprintf("%s.%s: unexpected field", path, k))
			}
		}
		slices.Sort(out)
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: got %v, want %d elements", path, got, len(w))}
		}
		var out []string
		for i := range w {
			out = append(out, jsonDiff(fmt.Sprintf("%s[%d]", path, i), g[i], w[i], tol)...)
		}
		return out
	case float64:
		g, ok := got.(float64)
		if !ok || math.Abs(g-w) > tol*math.Max(1, math.Abs(w)) {
			return []string{fmt.Sprintf("%s: got %v, want %v", path, got, w)}
		}
		return nil
	default:
		if got != want {
			return []string{fmt.Sprintf("%s: got %#v, want %#v", path, got, want)}
		}
		return nil
	}
}

// crossCheckInput is a small deterministic input whose metrics were computed independently in Python
// (numpy 1.24.2, scipy 1.10.1, scikit-learn 1.2.1, Debian's /usr/bin/python3):
//
//	n = 300; member = [i % 3 != 0 for i in range(n)]
//	score = [((i * 17) % 23) / 4 + (3.0 if member[i] else 0.0) for i in range(n)]   # many ties
//	label = [i % 2 for i in range(n)]
//	fpr, tpr, _ = roc_curve(member, score)            # drop_intermediate=True
//	auc(fpr, tpr); max(1 - (fpr + 1 - tpr) / 2); tpr[np.where(fpr <= f)[0][-1]]
//	eps = max over distinct scores t (score >= t flagged) of log(p1 / p0) for (TP/P, FP/N) and (TN/N, FN/P),
//	      p1 = beta.ppf(0.025, k, n - k + 1) (0 if k == 0), p0 = beta.ppf(0.975, k + 1, n - k) (1 if k == n),
//	      ratio 0 when p1 <= 0 or p0 >= 1; clamped at 0 (epsilon_optimistic)
//	per class c: auc(roc_curve(member[label == c], score[label == c]))
func crossCheckInput() *Input {
	n := 300
	in := &Input{}
	s := make([]float64, n)
	for i := range n {
		m := i%3 != 0
		s[i] = float64((i*17)%23) / 4
		if m {
			s[i] += 3
		}
		in.Records = append(in.Records, Record{ID: i, Label: i % 2, Member: Bool(m)})
	}
	in.Attacks = []AttackResult{{Name: "x", Scores: s}}
	return in
}

func TestSummaryCrossCheck(t *testing.T) {
	dir := t.TempDir()
	s, err := Build(context.Background(), crossCheckInput(), dir, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	a := s.Attacks[0]
	const tol = 1e-12
	check := func(name string, got *float64, want float64) {
		t.Helper()
		if got == nil || math.Abs(*got-want) > tol {
			t.Errorf("%s = %v, want %v", name, deref(got), want)
		}
	}
	if a.Members != 200 || a.NonMembers != 100 {
		t.Errorf("members, non-members = %d, %d; want 200, 100", a.Members, a.NonMembers)
	}
	check("AUC", a.AUC.Value, 0.88927500000000004)
	check("balanced accuracy", a.BalancedAccuracy.Value, 0.76749999999999996)
	// With 100 non-members, FPRs below 1 % are below resolution: no TPR, no interval (roc_curve gives
	// 0.525 there, the TPR at 0 % FPR).
	wantTPR := map[float64]float64{0.1: 0.61, 0.01: 0.525, 0: 0.525}
	if len(a.TPRAtFPR) != 6 {
		t.Fatalf("%d TPR entries, want 6", len(a.TPRAtFPR))
	}
	for _, e := range a.TPRAtFPR {
		want, measured := wantTPR[e.FPR]
		if !measured {
			if !e.BelowResolution || e.TPR != nil || e.Lo != nil || e.Hi != nil {
				t.Errorf("TPR at FPR %g = %+v, want below resolution with no values", e.FPR, e)
			}
			continue
		}
		check(fmt.Sprintf("TPR at FPR %g", e.FPR), e.TPR, want)
		if e.BelowResolution || e.Lo == nil || e.Hi == nil || *e.Lo > *e.Hi {
			t.Errorf("TPR at FPR %g: below resolution %v, interval [%v, %v]", e.FPR, e.BelowResolution, deref(e.Lo), deref(e.Hi))
		}
	}
	// TF Privacy's maximum over thresholds on the same records, kept as epsilon_optimistic.
	check("optimistic epsilon", a.EpsilonOptimistic, 3.1525922485968838)
	wantClass := []float64{0.89270000000000005, 0.88580000000000003}
	if len(s.Classes) != 2 {
		t.Fatalf("%d classes, want 2", len(s.Classes))
	}
	for c, want := range wantClass {
		check(fmt.Sprintf("class %d AUC", c), s.Classes[c].AUC["x"], want)
		if s.Classes[c].Members != 100 || s.Classes[c].NonMembers != 50 {
			t.Errorf("class %d: %d members, %d non-members; want 100, 50", c, s.Classes[c].Members, s.Classes[c].NonMembers)
		}
	}
	// The intervals are metric.Bootstrap's with the options given.
	scores, members := crossCheckInput().Attacks[0].Scores, make([]bool, 300)
	for i := range members {
		members[i] = i%3 != 0
	}
	boot, err := metric.Bootstrap(context.Background(), scores, members, testOptions.Bootstrap)
	if err != nil {
		t.Fatal(err)
	}
	check("AUC lo", a.AUC.Lo, boot.AUC.Lo)
	check("AUC hi", a.AUC.Hi, boot.AUC.Hi)
	// The ε bound is metric.HoldoutEpsilon's with the report's α, δ and seed, a DP bound for one target.
	want, err := metric.HoldoutEpsilon(scores, members, metric.EpsilonOptions{Alpha: 0.05, Delta: metric.DefaultEpsilonDelta})
	if err != nil {
		t.Fatal(err)
	}
	if e := a.EpsilonLowerBound; e == nil || !reflect.DeepEqual(*e, want) || !e.DPBound || !(e.Value > 1) {
		t.Errorf("epsilon lower bound %+v, want %+v, a DP bound above 1", e, want)
	}
	// The risk evidence: the member-side bound at δ = 0 and the AUC's lower bound, at α/2 each (one attack).
	member, err := metric.HoldoutEpsilon(scores, members, metric.EpsilonOptions{Alpha: 0.025, NoDelta: true, MemberSide: true})
	if err != nil {
		t.Fatal(err)
	}
	aucLo, err := metric.AUCLowerBound(scores, members, 0.025)
	if err != nil {
		t.Fatal(err)
	}
	if a.Risk.Alpha != 0.05 || a.Risk.Level != "high" {
		t.Errorf("risk %+v, want level high at α 0.05", a.Risk)
	}
	check("risk member epsilon", a.Risk.MemberEpsilon, member.Value)
	check("risk AUC lower bound", a.Risk.AUCLower, aucLo)
	if v := s.Verdict; v.Epsilon == nil || *v.Epsilon != want.Value || v.EpsilonAttack != "x" || !v.EpsilonDPBound ||
		!strings.Contains(v.EpsilonGuarantee, "not (ε, δ=1e-5)-differentially private for any ε below "+sig3(want.Value)) ||
		!strings.Contains(v.Text, v.EpsilonGuarantee) {
		t.Errorf("verdict %+v: want the bound %v of attack x with its guarantee in the text", v, want.Value)
	}
	if s.Settings.BootstrapResamples != 200 || s.Settings.ConfidenceLevel != 0.95 || s.Settings.BootstrapSeed != 42 {
		t.Errorf("settings = %+v", s.Settings)
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestTopRecords checks the ranking against a brute-force count: rank = 1 + the number of rows scoring
// strictly higher, FPR = the fraction of non-members scoring at least as high, and the top records are
// the highest-ranked members.
func TestTopRecords(t *testing.T) {
	in := fakeInput(3, 300, fakeNone)
	in.Attacks[1].Scores[5] = math.Inf(1) // infinities rank too
	in.Attacks[1].Scores[6] = in.Attacks[1].Scores[7]
	s, err := Build(context.Background(), in, t.TempDir(), Options{TopK: 15, RankBy: "lira", Bootstrap: testOptions.Bootstrap})
	if err != nil {
		t.Fatal(err)
	}
	scores := in.Attacks[1].Scores
	rank := func(i int) int {
		r := 1
		for _, x := range scores {
			if x > scores[i] {
				r++
			}
		}
		return r
	}
	if len(s.TopRecords) != 15 || s.Settings.RankedBy != "lira" {
		t.Fatalf("%d top records ranked by %q, want 15 by lira", len(s.TopRecords), s.Settings.RankedBy)
	}
	for q, tr := range s.TopRecords {
		i := tr.Row
		if tr.Rank != rank(i) {
			t.Errorf("top %d (row %d): rank %d, want %d", q, i, tr.Rank, rank(i))
		}
		if tr.Member == nil || !*tr.Member {
			t.Errorf("top %d (row %d) is not a member", q, i)
		}
		non, above := 0, 0
		for j, r := range in.Records {
			if !*r.Member {
				non++
				if scores[j] >= scores[i] {
					above++
				}
			}
		}
		if tr.FPR == nil || *tr.FPR != float64(above)/float64(non) {
			t.Errorf("top %d: FPR %v, want %v", q, deref(tr.FPR), float64(above)/float64(non))
		}
		if q > 0 && s.TopRecords[q-1].Score < tr.Score {
			t.Errorf("top records not in descending score order at %d", q)
		}
	}
	// No member scores above the last top record without being listed.
	last := float64(s.TopRecords[len(s.TopRecords)-1].Score)
	listed := map[int]bool{}
	for _, tr := range s.TopRecords {
		listed[tr.Row] = true
	}
	for i, r := range in.Records {
		if *r.Member && scores[i] > last && !listed[i] {
			t.Errorf("member row %d (score %v) is missing from the top records", i, scores[i])
		}
	}
}

// TestUnknownMembership: without memberships nothing is measured, but the report is still written.
func TestUnknownMembership(t *testing.T) {
	in := fakeInput(4, 120, fakeImages)
	for i := range in.Records {
		in.Records[i].Member = nil
	}
	dir := t.TempDir()
	s, err := Build(context.Background(), in, dir, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	if s.Verdict.Level != "unknown" || s.Verdict.StrongestAttack != "" {
		t.Errorf("verdict = %+v, want level unknown", s.Verdict)
	}
	for _, a := range s.Attacks {
		if a.AUC.Value != nil || a.EpsilonLowerBound != nil || a.TPRAtFPR[0].TPR != nil {
			t.Errorf("attack %s has metrics without memberships: %+v", a.Name, a)
		}
	}
	if len(s.TopRecords) != testOptions.TopK || s.TopRecords[0].Rank != 1 || s.TopRecords[0].FPR != nil {
		t.Errorf("top records = %+v", s.TopRecords)
	}
	for _, f := range []string{"roc.png", "roc_log.svg", "hist_lira.png"} {
		if _, err := os.Stat(filepath.Join(dir, PlotsDir, f)); err == nil {
			t.Errorf("%s written without memberships", f)
		}
	}
	for _, f := range []string{HTMLFile, SummaryFile, RecordsFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

// TestPerTarget checks the per-target results against metric.EvaluateTargets.
func TestPerTarget(t *testing.T) {
	in := fakeInput(5, 400, fakeNone)
	in.Targets = 3
	for i := range in.Records {
		in.Records[i].Target = i % 3
	}
	s, err := Build(context.Background(), in, t.TempDir(), testOptions)
	if err != nil {
		t.Fatal(err)
	}
	for k, at := range in.Attacks {
		scores, members := make([][]float64, 3), make([][]bool, 3)
		for i, r := range in.Records {
			scores[r.Target] = append(scores[r.Target], at.Scores[i])
			members[r.Target] = append(members[r.Target], *r.Member)
		}
		want, err := metric.EvaluateTargets(scores, members)
		if err != nil {
			t.Fatal(err)
		}
		got := s.Attacks[k].PerTarget
		if len(got) != 3 {
			t.Fatalf("attack %s: %d targets, want 3", at.Name, len(got))
		}
		for tg := range 3 {
			w1, _ := want.Targets[tg].Entry(0.01)
			tprOK := got[tg].TPRAt1BelowResolution == w1.BelowResolution && (w1.BelowResolution && got[tg].TPRAt1 == nil ||
				!w1.BelowResolution && got[tg].TPRAt1 != nil && *got[tg].TPRAt1 == w1.TPR)
			if *got[tg].AUC != want.Targets[tg].AUC || !tprOK || got[tg].Members != want.Targets[tg].Members {
				t.Errorf("attack %s target %d: %+v, want AUC %v TPR@1%% %+v", at.Name, tg, got[tg], want.Targets[tg].AUC, w1)
			}
			// Each target's ε bound is its own records' holdout bound, a DP bound (the input has no caveat).
			b, err := metric.HoldoutEpsilon(scores[tg], members[tg], metric.EpsilonOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if e := got[tg].EpsilonLowerBound; e == nil || !reflect.DeepEqual(*e, b) || !e.DPBound {
				t.Errorf("attack %s target %d: ε bound %+v, want %+v", at.Name, tg, e, b)
			}
		}
		// The pooled bound is never a DP bound.
		if e := s.Attacks[k].EpsilonLowerBound; e == nil || e.DPBound || !strings.Contains(e.Caveat, "3 target models are pooled") {
			t.Errorf("attack %s: pooled ε bound %+v, want one marked as no DP bound", at.Name, e)
		}
		if *s.Attacks[k].AUC.Value != want.Pooled.AUC {
			t.Errorf("attack %s: pooled AUC %v, want %v", at.Name, *s.Attacks[k].AUC.Value, want.Pooled.AUC)
		}
	}
}

func TestVerdictLevels(t *testing.T) {
	// A perfect attack is high risk; pure noise is not detected.
	in := crossCheckInput()
	n := len(in.Records)
	perfect, noise := make([]float64, n), make([]float64, n)
	for i, r := range in.Records {
		if *r.Member {
			perfect[i] = 1 + float64(i)
		}
		noise[i] = float64((i * 7919) % 301) // unrelated to membership
	}
	for _, tt := range []struct {
		scores []float64
		want   string
	}{{perfect, "high"}, {noise, "not-detected"}} {
		in.Attacks = []AttackResult{{Name: "a", Scores: tt.scores}}
		s, err := Build(context.Background(), in, t.TempDir(), testOptions)
		if err != nil {
			t.Fatal(err)
		}
		if s.Verdict.Level != tt.want {
			t.Errorf("level %q, want %q (AUC %v)", s.Verdict.Level, tt.want, deref(s.Attacks[0].AUC.Value))
		}
	}
}

func TestBuildCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Build(ctx, fakeInput(1, 200, fakeNone), t.TempDir(), testOptions); err == nil {
		t.Error("Build with a cancelled context succeeded")
	}
}

func TestNumberJSON(t *testing.T) {
	for _, x := range []float64{1.5, math.Inf(1), math.Inf(-1), -0.25} {
		b, err := json.Marshal(Number(x))
		if err != nil {
			t.Fatal(err)
		}
		var y Number
		if err := json.Unmarshal(b, &y); err != nil || float64(y) != x {
			t.Errorf("%v → %s → %v, %v", x, b, y, err)
		}
	}
}
