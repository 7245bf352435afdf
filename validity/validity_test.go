package validity

import (
	"context"
	"flag"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/duci"
	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/ramia"
)

// TestNullHarness runs the reduced null harness (ReducedConfig): on a target that leaks nothing, every
// attack variant under every design must give a mean AUC of 0.5, a TPR at 0.1 % FPR equal to its value
// under permuted memberships, and positive ε bounds no more often than α allows.
func TestNullHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("the reduced null harness takes about a minute of CPU (go test ./validity runs it); skipped under -short")
	}
	cfg := ReducedConfig()
	cfg.Leak = false
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, len(cfg.Variants)*len(cfg.Designs))
	// The one-run bounds (Steinke, f-DP Gaussian, f-DP (ε, δ)) are checked on the bernoulli design only,
	// whose memberships are the one-run audit's.
	for _, c := range rep.Null {
		if want := map[bool]int{true: len(oneRunStats)}[c.Design == "bernoulli"]; len(c.OneRun) != want || want > 0 && c.OneRun[2].Method != metric.FDPApproxMethod {
			t.Errorf("%s | %s: one-run checks %+v, want %d", c.Design, c.Variant, c.OneRun, want)
		}
	}
}

// TestLeakHarness runs the reduced leak harness: on a target that leaks as the reference models do, every
// attack variant's mean AUC under each design must equal its mean AUC with independent memberships.
func TestLeakHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("the reduced leak harness takes about 40 s of CPU (go test ./validity runs it); skipped under -short")
	}
	cfg := ReducedConfig()
	cfg.Null = false
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, len(cfg.Variants)*len(cfg.Designs))
}

func checkReport(t *testing.T, rep *Report, cells int) {
	t.Helper()
	if got := len(rep.Null) + len(rep.Leak); got != cells {
		t.Fatalf("%d cells, want %d", got, cells)
	}
	if f := rep.Failures(); len(f) > 0 {
		var b strings.Builder
		rep.WriteTables(&b)
		t.Log("\n" + b.String())
		t.Errorf("%d of %d cells fail:\n%s", len(f), cells, strings.Join(f, "\n"))
	}
}

// oldRMIAOnline is online RMIA as pmeter computed it before issue 9 (γ = 1, one query): Pr(x) is the mean
// of Pr(x|θ) over every model but the target, the target's pair partner included, so that under the
// pairs design members are compared with one OUT model more than non-members.
func oldRMIAOnline(d *attack.Data, target int) ([]float64, error) {
	ratio := func(sig []float64, i int) float64 {
		p := func(m int) float64 { return 1 / (1 + math.Exp(-sig[i*d.M+m])) }
		sum := 0.0
		for m := range d.M {
			if m != target {
				sum += p(m)
			}
		}
		return p(target) / (sum / float64(d.M-1))
	}
	rz := make([]float64, d.Z)
	for z := range rz {
		rz[z] = ratio(d.Population, z)
	}
	slices.Sort(rz)
	out := make([]float64, d.N)
	for i := range out {
		out[i] = float64(sort.SearchFloat64s(rz, ratio(d.Signals, i))) / float64(d.Z) // #{z : LR(x, z) > 1}
	}
	return out, nil
}

// TestHarnessRejectsBiasedScorer checks the power of the null harness: the old online RMIA reference
// choice, biased under the pairs design, must fail there; under the bernoulli design, where every
// model but the target is independent of it, the same scorer is unbiased and must pass.
func TestHarnessRejectsBiasedScorer(t *testing.T) {
	cfg := ReducedConfig()
	cfg.Leak = false
	cfg.Variants = []Variant{{Name: "old rmia online", Queries: 1, Score: oldRMIAOnline}}
	cfg.Designs, _ = LookupDesigns([]string{"pairs", "bernoulli"})
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	rep.WriteTables(&b)
	t.Log("\n" + b.String())
	for _, c := range rep.Null {
		switch c.Design {
		case "pairs":
			if c.AUCPass || c.Pass || c.AUC.Mean <= 0.5 {
				t.Errorf("pairs: the biased scorer passes (mean AUC %.4f ± %.4f)", c.AUC.Mean, c.AUC.HalfWidth)
			}
		case "bernoulli":
			if !c.Pass {
				t.Errorf("bernoulli: the scorer, unbiased there, fails: %v", rep.Failures())
			}
		}
	}
}

func TestVariantsCoverRegistry(t *testing.T) {
	vs := Variants(true)
	for _, name := range attack.Names() {
		if !slices.ContainsFunc(vs, func(v Variant) bool { return v.Attack == name }) {
			t.Errorf("attack %s has no row in the variant table", name)
		}
	}
	seen := map[string]bool{}
	for _, v := range vs {
		if seen[v.Name] {
			t.Errorf("variant %s appears twice", v.Name)
		}
		seen[v.Name] = true
		if _, err := v.scorer(); err != nil {
			t.Errorf("variant %s: %v", v.Name, err)
		}
	}
	fast := Variants(false)
	if len(fast) >= len(vs) || slices.ContainsFunc(fast, func(v Variant) bool { return v.Slow }) {
		t.Errorf("Variants(false) has %d rows of %d, slow ones included", len(fast), len(vs))
	}
	// The majority vote is checked exactly when the registry's rmia offers it.
	spec, _ := attack.Lookup("rmia")
	has := slices.ContainsFunc(spec.Params, func(p attack.Param) bool { return p.Name == "aggregate" })
	if got := slices.ContainsFunc(vs, func(v Variant) bool { return v.Params["aggregate"] == "majority" }); got != has {
		t.Errorf("majority-vote variant included: %v; rmia has the aggregate parameter: %v", got, has)
	}
	if _, err := SelectVariants(vs, []string{"lira", "nope"}); err == nil {
		t.Error("SelectVariants accepts an unknown attack")
	}
	if sel, err := SelectVariants(vs, []string{"rmia online=true"}); err != nil || len(sel) != 1 {
		t.Errorf("SelectVariants by variant name: %d variants, %v", len(sel), err)
	}
}

func TestGenerate(t *testing.T) {
	g := Designs()[0]
	members, err := g.members(200, 7)
	if err != nil {
		t.Fatal(err)
	}
	draw := Draw{Members: members, N: 200, M: g.Models, Z: 50, Q: 2, Seed: 7, Design: g.Kind, Silent: []int{0}}
	d, err := Generate(DefaultSignal(), draw)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if d.Design != attack.DesignPairs || d.Q != 2 || d.Z != 50 || d.C != 10 {
		t.Errorf("data: design %s, Q %d, Z %d, C %d", d.Design, d.Q, d.Z, d.C)
	}
	again, _ := Generate(DefaultSignal(), draw)
	if !slices.Equal(d.Signals, again.Signals) || !slices.Equal(d.Probs, again.Probs) || !slices.Equal(d.PopProbs, again.PopProbs) {
		t.Error("the same draw gives different data")
	}
	// p_y is sigmoid(φ of query 0), and the vector sums to 1.
	for i := range d.N {
		for m := range d.M {
			p := d.Probs[(i*d.M+m)*d.C : (i*d.M+m+1)*d.C]
			py := p[d.Labels[i]]
			if phi := d.Signal(i, m, 0); math.Abs(math.Log(py/(1-py))-phi) > 1e-9*max(1, math.Abs(phi)) {
				t.Fatalf("record %d model %d: log(p_y/(1−p_y)) = %v, φ = %v", i, m, math.Log(py/(1-py)), phi)
			}
			sum := 0.0
			for _, v := range p {
				sum += v
			}
			if math.Abs(sum-1) > 1e-12 {
				t.Fatalf("record %d model %d: probabilities sum to %v", i, m, sum)
			}
		}
	}
	// The silent target's outputs do not depend on its memberships: flip them all, same seed.
	flipped := slices.Clone(members)
	for i := range 200 {
		flipped[i*g.Models] = !flipped[i*g.Models]
	}
	draw.Members = flipped
	f, _ := Generate(DefaultSignal(), draw)
	for i := range d.N {
		for q := range d.Q {
			if f.Signal(i, 0, q) != d.Signal(i, 0, q) {
				t.Fatalf("record %d: the silent target's signal changes with its membership", i)
			}
		}
	}
	// A leaking model shifts its members.
	draw.Members, draw.Silent = members, nil
	l, _ := Generate(DefaultSignal(), draw)
	in, out := 0.0, 0.0
	for i := range l.N {
		if l.Member(i, 0) {
			in += l.Signal(i, 0, 0) - d.Signal(i, 0, 0)
		} else {
			out += l.Signal(i, 0, 0) - d.Signal(i, 0, 0)
		}
	}
	if out != 0 || !(in > 0) {
		t.Errorf("leaking target: members shifted by %v in total, non-members by %v", in, out)
	}
	if _, err := Generate(DefaultSignal(), Draw{Members: members[:10], N: 200, M: g.Models, Q: 1}); err == nil {
		t.Error("Generate accepts memberships of the wrong length")
	}
}

// TestIndependentCounts checks the leak harness's counterparts: every record has the IN and OUT counts,
// among the models other than the target, that attack.SelectReferences leaves it under the design, and
// the counterpart's target memberships are not determined by any other model.
func TestIndependentCounts(t *testing.T) {
	const n = 400
	for _, g := range Designs() {
		for _, target := range []int{0, g.Models - 1} {
			members, err := g.members(n, 3)
			if err != nil {
				t.Fatal(err)
			}
			refs, err := attack.SelectReferences(&attack.Data{N: n, M: g.Models, Q: 1, Members: members, Design: g.Kind}, target, attack.RefConfig{})
			if err != nil {
				t.Fatal(err)
			}
			ind := g.Independent()
			it := 0 // the target of the counterpart: first or last, as in the design
			if target != 0 {
				it = ind.Models - 1
			}
			im, err := g.independentMembers(n, it, 4)
			if err != nil {
				t.Fatal(err)
			}
			var buf1, buf2 []int
			members0 := 0
			for i := range n {
				wantIn, wantOut := refs.NumIn, refs.NumOut
				if g.Kind == attack.DesignBernoulli {
					// Its own counterpart: counts vary per record, the target's column excluded.
					buf1, buf2 = refs.Record(i, buf1, buf2)
					wantIn, wantOut = -1, -1
					if len(buf1)+len(buf2) != g.Models-1 {
						t.Fatalf("%s target %d record %d: %d IN and %d OUT references, want all %d other models", g.Name, target, i, len(buf1), len(buf2), g.Models-1)
					}
				}
				in, out := 0, 0
				for k := range ind.Models {
					switch {
					case k == it:
						if im[i*ind.Models+k] {
							members0++
						}
					case im[i*ind.Models+k]:
						in++
					default:
						out++
					}
				}
				if wantIn >= 0 && (in != wantIn || out != wantOut) {
					t.Fatalf("%s target %d record %d: independent counterpart has %d IN / %d OUT, the selector leaves %d / %d", g.Name, target, i, in, out, wantIn, wantOut)
				}
			}
			if members0 < n/4 || members0 > 3*n/4 {
				t.Errorf("%s: the independent target has %d members of %d", g.Name, members0, n)
			}
			d := &attack.Data{N: n, M: ind.Models, Q: 1, Members: im, Design: ind.Kind}
			r, err := attack.SelectReferences(d, it, attack.RefConfig{})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Excluded) > 0 {
				t.Errorf("%s: models %v of the independent counterpart are determined by the target", g.Name, r.Excluded)
			}
		}
	}
}

func TestStats(t *testing.T) {
	// scipy.stats.t.ppf(1 - 0.001/132/2, 15) and t.ppf(1 - 0.0005, 49).
	for _, tc := range []struct{ df, level, want float64 }{{15, 0.001 / 132, 6.662581917428942}, {49, 0.001, 3.5004428913669883}} {
		if got := tQuantile(tc.df, tc.level); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("t quantile df %v level %v: %v, want %v", tc.df, tc.level, got, tc.want)
		}
	}
	// The rule: 50 seeds at α = 0.05 fail from 9 positive bounds on.
	if p8, p9 := binomialTail(8, 50, 0.05), binomialTail(9, 50, 0.05); !(p8 >= 0.001 && p9 < 0.001) {
		t.Errorf("P[Bin(50, .05) ≥ 8] = %v, ≥ 9 = %v; want the 0.001 cut between them", p8, p9)
	}
	// scipy.stats.binom.sf(4, 16, 0.05) = P[X ≥ 5].
	if got := binomialTail(5, 16, 0.05); math.Abs(got-0.0008573116590447976) > 1e-15 {
		t.Errorf("P[Bin(16, .05) ≥ 5] = %v", got)
	}
	if binomialTail(0, 10, 0.3) != 1 || binomialTail(11, 10, 0.3) != 0 {
		t.Error("binomial tail at the ends")
	}
	a := []float64{0.51, 0.49, 0.52, 0.50, 0.53}
	b := []float64{0.47, 0.50, 0.48, 0.46, 0.49, 0.45}
	iv := meanInterval(a, 0.05)
	// mean 0.51, sd 0.0158114, t.ppf(0.975, 4) = 2.7764451051977987.
	if math.Abs(iv.Mean-0.51) > 1e-12 || math.Abs(iv.HalfWidth-2.7764451051977987*0.015811388300841896/math.Sqrt(5)) > 1e-12 || !iv.Contains(0.5) || iv.Contains(0.53) {
		t.Errorf("mean interval %+v", iv)
	}
	// scipy.stats.ttest_ind(a, b, equal_var=False): t = 3.362691229906827, Welch df 8.98936170212766.
	w := welchInterval(a, b, 0.05)
	if math.Abs(w.Mean/w.SE-3.362691229906827) > 1e-9 || math.Abs(w.DF-8.98936170212766) > 1e-9 || w.Contains(0) {
		t.Errorf("Welch interval %+v", w)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"seeds", func(c *Config) { c.Seeds = 2 }, "seeds"},
		{"records", func(c *Config) { c.Records = 5 }, "records"},
		{"alpha", func(c *Config) { c.Alpha = 1.5 }, "alpha"},
		{"harness", func(c *Config) { c.Null, c.Leak = false, false }, "no harness"},
		{"variants", func(c *Config) { c.Variants = nil }, "variants"},
		{"queries", func(c *Config) { c.Variants = []Variant{{Name: "x", Attack: "loss"}} }, "queries"},
	} {
		cfg := ReducedConfig()
		tc.edit(&cfg)
		if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
	if _, err := LookupDesigns([]string{"lira-11"}); err == nil || !strings.Contains(err.Error(), "lira-9") {
		t.Errorf("unknown design: %v", err)
	}
}

// TestRangeHarness runs the reduced null and leak harnesses on RaMIA's variants (ReducedRangeConfig): on
// a target that leaks nothing every range-level AUC is 0.5 under every design, and on one that leaks as
// the references do it equals the AUC with independent memberships.
func TestRangeHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("the reduced RaMIA harnesses take a few seconds of CPU (go test ./validity runs them); skipped under -short")
	}
	cfg := ReducedRangeConfig()
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, 2*len(cfg.Variants)*len(cfg.Designs))
}

// TestRangeHarnessRejectsBiasedScorer checks the power of the RaMIA harness: ranges scored with the old
// online RMIA reference choice (oldRMIAOnline, biased under the pairs design) must fail there and pass
// under the bernoulli design, as the record-level harness finds.
func TestRangeHarnessRejectsBiasedScorer(t *testing.T) {
	if testing.Short() {
		t.Skip("a second RaMIA harness run; skipped under -short")
	}
	biased := func(d *attack.Data, target int) ([]float64, error) {
		r, err := ramia.FromQueries(d)
		if err != nil {
			return nil, err
		}
		scores, err := oldRMIAOnline(r.Samples, target)
		if err != nil {
			return nil, err
		}
		return ramia.Aggregate(scores, r.Size, ramia.Trim{Direction: ramia.TrimNone, Keep: r.Size})
	}
	cfg := ReducedRangeConfig()
	cfg.Leak = false
	cfg.Variants = []Variant{{Name: "ramia with old rmia online", Attack: "ramia", Queries: RangeSamples, Score: biased}}
	cfg.Designs, _ = LookupDesigns([]string{"pairs", "bernoulli"})
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	rep.WriteTables(&b)
	t.Log("\n" + b.String())
	for _, c := range rep.Null {
		switch c.Design {
		case "pairs":
			if c.AUCPass || c.Pass || c.AUC.Mean <= 0.5 {
				t.Errorf("pairs: the biased scorer passes (mean AUC %.4f ± %.4f)", c.AUC.Mean, c.AUC.HalfWidth)
			}
		case "bernoulli":
			if !c.Pass {
				t.Errorf("bernoulli: the scorer, unbiased there, fails: %v", rep.Failures())
			}
		}
	}
}

var usageFull = flag.Bool("usage-full", false, "run the full dataset usage harness (FullUsageConfig)")

// TestUsageHarness runs the DUCI harness (reduced; -usage-full: FullUsageConfig): on synthetic signals
// whose targets used 0, 20, 50 and 100 % of the records, every variant's interval covers the truth at its
// stated rate and its unclipped estimate is unbiased.
func TestUsageHarness(t *testing.T) {
	cfg := ReducedUsageConfig()
	if *usageFull {
		cfg = FullUsageConfig()
	}
	rep, err := RunUsage(context.Background(), cfg, UsageVariants())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	rep.WriteTable(&b)
	t.Log("\n" + b.String())
	for _, f := range rep.Failures() {
		t.Error(f)
	}
	checkPooledCoverage(t, rep, len(UsageVariants()))
}

// checkPooledCoverage checks that each variant's intervals, pooled over its cells, miss the truth no
// more often than their level allows: one-sided, P[X ≥ misses] ≥ 0.01 for X ~ Binomial(intervals,
// 1 − level).
func checkPooledCoverage(t *testing.T, rep *UsageReport, variants int) {
	t.Helper()
	cov := rep.Coverage()
	if len(cov) != variants {
		t.Fatalf("coverage of %d variants, want %d", len(cov), variants)
	}
	for _, v := range cov {
		if v.MissTail < 0.01 {
			t.Errorf("%s: %d misses in %d intervals at %g %%: P[X ≥ %d] = %.2g < 0.01", v.Variant, v.Misses, v.Intervals, 100*rep.Config.Level, v.Misses, v.MissTail)
		}
	}
}

// TestUsageHarnessRejectsPrivacyMeter checks the power of the DUCI harness: Privacy Meter's estimate
// (compat), whose reference models are attacked with one reference fewer than the target (its D4), is
// biased on the harness's data, and the harness says so.
func TestUsageHarnessRejectsPrivacyMeter(t *testing.T) {
	cfg := ReducedUsageConfig()
	cfg.Seeds = 8
	a := 0.3
	rep, err := RunUsage(context.Background(), cfg, []UsageVariant{{Name: "privacy-meter", Scorer: &duci.RMIA{OfflineA: a}, Compat: attack.CompatPrivacyMeter}})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	rep.WriteTable(&b)
	t.Log("\n" + b.String())
	if len(rep.Failures()) == 0 {
		t.Error("the harness passes Privacy Meter's biased estimate")
	}
}

// TestUserNullHarness runs the reduced user-level harness (ReducedUserConfig): on a target that leaks
// nothing, with memberships drawn per user, every variant's scores aggregated per user (max, mean,
// logsumexp) give a user-level mean AUC of 0.5, and the most exposed users (size-calibrated p-values)
// have the sizes of the users at large (chi-square at the harness's level, Bonferroni over cells); the
// users with the highest raw mean are skewed toward one record (the check has power), and on a leaking
// target LOSS's mean aggregate has power.
func TestUserNullHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("the reduced user-level harness takes about 10 s of CPU; skipped under -short")
	}
	cfg := ReducedUserConfig()
	rep, err := RunUsers(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(cfg.Variants) * len(cfg.Designs) * 3; len(rep.Cells) != want {
		t.Fatalf("%d cells, want %d", len(rep.Cells), want)
	}
	for _, f := range rep.Failures() {
		t.Error(f)
	}
	cells := float64(len(rep.Cells))
	for _, c := range rep.Cells {
		if c.Aggregate != "mean" || c.Variant != "loss" {
			continue
		}
		// LOSS's raw mean's top users: single-record users beyond their share of the users. (Variants
		// whose scores saturate, such as online LiRA's probabilities, tie so often that the raw order is
		// the tie order, and show less skew.)
		if c.RawTopSizeP >= rep.Level/cells || float64(c.RawTopSizes[0])/float64(sum(c.RawTopSizes)) <= float64(c.Sizes[0])/float64(sum(c.Sizes)) {
			t.Errorf("%s / %s / mean: the highest raw means have sizes %v against the users' %v (p %.3g); expected a skew to one record",
				c.Variant, c.Design, c.RawTopSizes, c.Sizes, c.RawTopSizeP)
		}
	}
	if testing.Verbose() {
		var b strings.Builder
		rep.WriteTable(&b)
		t.Log(b.String())
	}
	lc := ReducedUserConfig()
	lc.Null, lc.Leak, lc.Seeds = false, true, 3
	lc.Variants, _ = SelectVariants(Variants(false), []string{"loss"})
	lc.Designs = lc.Designs[:1]
	leak, err := RunUsers(context.Background(), lc)
	if err != nil {
		t.Fatal(err)
	}
	if len(leak.Cells) != len(lc.Variants)*3 {
		t.Fatalf("%d leak cells, want %d", len(leak.Cells), len(lc.Variants)*3)
	}
	for _, c := range leak.Cells {
		if c.Aggregate == "mean" && !(c.AUC.Mean > 0.6) {
			t.Errorf("leak %s / %s / mean: AUC %.4f; a leaking target's users should be exposed", c.Variant, c.Design, c.AUC.Mean)
		}
	}
}

func sum(x []int) int {
	s := 0
	for _, v := range x {
		s += v
	}
	return s
}
