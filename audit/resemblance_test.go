package audit

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/report"
	"github.com/pmeter/pmeter/signal"
)

// grid returns the z signals k/z, (k+1)/z, …, (k+z−1)/z: evenly spaced in [k/z, k/z + 1). Two grids of
// z values with offsets k and 0 share their values where they overlap, so their KS distance is k/z.
func grid(z, k int) []float64 {
	v := make([]float64, z)
	for i := range v {
		v[i] = float64(i+k) / float64(z)
	}
	return v
}

// fakeModel is a model with the given accuracies, z population signals shifted by k/z, and n audited
// members and n non-members.
func fakeModel(train, test float64, z, k, n int) modelSignals {
	return modelSignals{info: ModelInfo{TrainAccuracy: train, TestAccuracy: test}, pop: grid(z, k), members: grid(n, n), other: grid(n, 0)}
}

func TestCompareFit(t *testing.T) {
	refs := func(r, z int, test float64) []modelSignals {
		out := make([]modelSignals, r)
		for i := range out {
			out[i] = fakeModel(0.9, test, z, 0, 1000)
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		target   modelSignals
		refs     []modelSignals
		external bool
		ks       float64
		thKS     float64  // the KS threshold
		warn     []string // what the warning must say; nil: no warning
	}{
		{name: "alike", target: fakeModel(0.9, 0.7, 2000, 0, 1000), refs: refs(4, 2000, 0.7), external: true, ks: 0, thKS: 0.1},
		{name: "test accuracy", target: fakeModel(0.9, 0.8, 2000, 0, 1000), refs: refs(4, 2000, 0.7), external: true, thKS: 0.1,
			warn: []string{"test accuracy 0.800 against the references' 0.700 on the population records (difference +0.100, threshold 0.050)", "train the references with the target's own recipe"}},
		{name: "exactly the margin", target: fakeModel(0.9, 0.75, 2000, 0, 1000), refs: refs(4, 2000, 0.7), external: true, thKS: 0.1},
		{name: "train accuracy", target: fakeModel(1, 0.7, 2000, 0, 1000), refs: refs(4, 2000, 0.7), external: true, thKS: 0.1,
			warn: []string{"train accuracy 1.000 against the references' 0.900 on their own training records (difference +0.100"}},
		{name: "shifted signals", target: fakeModel(0.9, 0.7, 2000, 300, 1000), refs: refs(4, 2000, 0.7), external: true, ks: 0.15, thKS: 0.1,
			warn: []string{"a Kolmogorov–Smirnov distance of 0.150 between their signal distributions on the population records (threshold 0.100; medians 0.65 and 0.50)"}},
		// 300 population records against 4 × 300 cannot resolve a distance of 0.11: the threshold rises
		// to 1.94947·√(1/300 + 1/1200) = 0.125838.
		{name: "small population", target: fakeModel(0.9, 0.7, 300, 33, 1000), refs: refs(4, 300, 0.7), external: true, ks: 0.11, thKS: 0.125838},
		{name: "small population, large shift", target: fakeModel(0.9, 0.7, 300, 60, 1000), refs: refs(4, 300, 0.7), external: true, ks: 0.2, thKS: 0.125838,
			warn: []string{"Kolmogorov–Smirnov distance of 0.200", "threshold 0.126"}},
		{name: "trained here", target: fakeModel(0.9, 0.8, 2000, 0, 1000), refs: refs(4, 2000, 0.7), external: false, thKS: 0.1,
			warn: []string{"test accuracy 0.800", "They share one recipe"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := compareFit(0, tc.target, tc.refs, tc.external, fitMargins)
			if c.KSDistance == nil || math.Abs(*c.KSDistance-tc.ks) > 1e-9 {
				t.Errorf("KS distance %v, want %v", fitVal(c.KSDistance), tc.ks)
			}
			if math.Abs(c.Thresholds.KSDistance-tc.thKS) > 1e-5 {
				t.Errorf("KS threshold %v, want %v", c.Thresholds.KSDistance, tc.thKS)
			}
			if c.ReferenceModels != len(tc.refs) || c.References.Model != -1 || c.References.Population.N != len(tc.refs)*len(tc.refs[0].pop) {
				t.Errorf("references: %d models, model %d, %d population values", c.ReferenceModels, c.References.Model, c.References.Population.N)
			}
			if len(c.Warnings) != min(len(tc.warn), 1) {
				t.Fatalf("warnings %q, want one saying %q", c.Warnings, tc.warn)
			}
			for _, w := range tc.warn {
				if !strings.Contains(c.Warnings[0], w) {
					t.Errorf("warning %q does not say %q", c.Warnings[0], w)
				}
			}
		})
	}

	// References read from files: the advice is to supply better ones.
	rs := refs(2, 2000, 0.6)
	for i := range rs {
		rs[i].info.External = true
	}
	c := compareFit(0, fakeModel(0.9, 0.8, 2000, 0, 1000), rs, true, fitMargins)
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "supply reference models trained like the target (target.references: same architecture") {
		t.Errorf("supplied references: warnings %q", c.Warnings)
	}
	// An unknown train accuracy (a model with no audited member) is no difference and no warning.
	target := fakeModel(math.NaN(), 0.7, 2000, 0, 0)
	c = compareFit(0, target, refs(4, 2000, 0.7), true, fitMargins)
	if c.TrainAccuracyDiff != nil || len(c.Warnings) != 0 || c.Thresholds.TrainAccuracy != fitMargins.TrainAccuracy {
		t.Errorf("unknown train accuracy: difference %v, threshold %v, warnings %q", fitVal(c.TrainAccuracyDiff), c.Thresholds.TrainAccuracy, c.Warnings)
	}
}

// TestFitThresholds checks the raised thresholds against their formulas, worked by hand.
func TestFitThresholds(t *testing.T) {
	for _, tc := range []struct {
		name            string
		train, test     [2]float64
		nTrain, nPop    [2]int
		wantTr, wantTe  float64
		wantKS          float64
		unknownAccuracy bool
	}{
		// Many records: the margins stand.
		{name: "many records", train: [2]float64{0.99, 0.98}, test: [2]float64{0.8, 0.8}, nTrain: [2]int{5000, 40000}, nPop: [2]int{10000, 80000},
			wantTr: 0.05, wantTe: 0.05, wantKS: 0.1},
		// 300 population records, 4 references: test accuracy 0.8 gives 3.29053·√(0.16·(1/300 + 1/1200)) =
		// 0.084961, and the KS critical value 1.94947·√(1/300 + 1/1200) = 0.125838.
		{name: "few records", train: [2]float64{1, 1}, test: [2]float64{0.8, 0.8}, nTrain: [2]int{150, 600}, nPop: [2]int{300, 1200},
			wantTr: 0.05, wantTe: 0.084961, wantKS: 0.125838},
		{name: "no records", train: [2]float64{0.9, 0.9}, test: [2]float64{0.8, 0.8}, wantTr: 0.05, wantTe: 0.05, wantKS: 0.1},
		{name: "unknown accuracy", unknownAccuracy: true, nTrain: [2]int{10, 10}, nPop: [2]int{10, 10}, wantTr: 0.05, wantTe: 0.05, wantKS: 0.871830},
	} {
		train := [2]*float64{&tc.train[0], &tc.train[1]}
		test := [2]*float64{&tc.test[0], &tc.test[1]}
		if tc.unknownAccuracy {
			train, test = [2]*float64{}, [2]*float64{}
		}
		th := fitThresholds(fitMargins, train, tc.nTrain, test, tc.nPop)
		if math.Abs(th.TrainAccuracy-tc.wantTr) > 1e-5 || math.Abs(th.TestAccuracy-tc.wantTe) > 1e-5 || math.Abs(th.KSDistance-tc.wantKS) > 1e-5 {
			t.Errorf("%s: thresholds %+v, want train %v, test %v, KS %v", tc.name, th, tc.wantTr, tc.wantTe, tc.wantKS)
		}
	}
}

func TestSummarizeSignal(t *testing.T) {
	// numpy.quantile([3, -1, 7, 2, 10], [0.05, 0.25, 0.5, 0.75, 0.95]) = [-0.4, 2, 3, 7, 9.4]; mean 4.2.
	s := summarizeSignal([]float64{3, -1, 7, 2, 10})
	got := []float64{fitVal(s.Mean), fitVal(s.Q05), fitVal(s.Q25), fitVal(s.Median), fitVal(s.Q75), fitVal(s.Q95)}
	for i, want := range []float64{4.2, -0.4, 2, 3, 7, 9.4} {
		if math.Abs(got[i]-want) > 1e-12 {
			t.Errorf("summary %v, want mean and quantiles [4.2 -0.4 2 3 7 9.4]", got)
			break
		}
	}
	if s.N != 5 {
		t.Errorf("n = %d, want 5", s.N)
	}
	if e := summarizeSignal(nil); e.N != 0 || e.Mean != nil || e.Median != nil {
		t.Errorf("empty sample: %+v, want n 0 and null statistics", e)
	}
	if inf := summarizeSignal([]float64{3, 1, math.Inf(1), 2}); inf.Mean != nil || fitVal(inf.Q25) != 1.75 || inf.Q95 != nil {
		t.Errorf("sample with +Inf: mean %v, 25%% quantile %v, 95%% quantile %v; want null, 1.75, null", fitVal(inf.Mean), fitVal(inf.Q25), fitVal(inf.Q95))
	}
}

func TestFitHistogram(t *testing.T) {
	h := fitHistogram([]float64{0, 1, 2, 3}, []float64{0, 0, 4, 4})
	if len(h.Edges) != fitBins+1 || h.Edges[0] != 0 || h.Edges[fitBins] != 4 {
		t.Fatalf("edges %v, want %d bins over [0, 4]", h.Edges, fitBins)
	}
	sum := func(v []float64) (s float64) {
		for _, x := range v {
			s += x
		}
		return s
	}
	if math.Abs(sum(h.Target)-1) > 1e-12 || math.Abs(sum(h.References)-1) > 1e-12 {
		t.Errorf("fractions sum to %v and %v, want 1", sum(h.Target), sum(h.References))
	}
	// 0 in the first bin, 4 (the upper edge) in the last, 1 in bin 10, 2 in bin 20.
	if h.References[0] != 0.5 || h.References[fitBins-1] != 0.5 || h.Target[10] != 0.25 || h.Target[20] != 0.25 {
		t.Errorf("bins: target %v, references %v", h.Target, h.References)
	}
	// A few extreme values: the central 99 % is binned and the extremes count in the end bins.
	wide := append(grid(1000, 0), 1e6)
	h = fitHistogram(wide, grid(1000, 0))
	if h.Edges[fitBins] > 10 || h.Target[fitBins-1] < 0.001 {
		t.Errorf("an extreme value stretches the bins to %v or is lost (last bin %v)", h.Edges[fitBins], h.Target[fitBins-1])
	}
	// One value only: a unit-wide range around it.
	h = fitHistogram([]float64{2}, []float64{2, 2})
	if h.Edges[0] != 1.5 || h.Edges[fitBins] != 2.5 || h.Target[fitBins/2] != 1 {
		t.Errorf("constant values: edges [%v, %v], target %v", h.Edges[0], h.Edges[fitBins], h.Target)
	}
	if h := fitHistogram(nil, []float64{1}); h.Edges != nil {
		t.Errorf("an empty sample gives a histogram: %+v", h)
	}
}

// TestReferenceFitModels checks that every target is compared with every other model, and the models'
// roles and signals as signalsOf extracts them from the attacks' input.
func TestReferenceFitModels(t *testing.T) {
	// 3 records × 3 models × 2 queries, 2 population records; model m's signal is 10·m + record, and the
	// second query's is negative, so that only first-query values are summarised.
	d := &attack.Data{N: 3, M: 3, Q: 2, Z: 2, Kind: signal.RescaledLogit,
		Members: []bool{true, false, true, false, true, true, true, false, false}}
	for i := 0; i < 3; i++ {
		for m := 0; m < 3; m++ {
			d.Signals = append(d.Signals, float64(10*m+i), -1)
		}
	}
	for z := 0; z < 2; z++ {
		for m := 0; m < 3; m++ {
			d.Population = append(d.Population, float64(10*m+5+z), -1)
		}
	}
	infos := []ModelInfo{{Model: 0, TrainAccuracy: 1, TestAccuracy: 0.5, External: true}, {Model: 1, TrainAccuracy: 0.5, TestAccuracy: 0.5}, {Model: 2, TrainAccuracy: math.NaN(), TestAccuracy: 1}}
	ms := signalsOf(d, infos)
	if got := ms[1].pop; len(got) != 2 || got[0] != 15 || got[1] != 16 {
		t.Errorf("model 1 population signals %v, want [15 16]", got)
	}
	if got := ms[0].members; len(got) != 2 || got[0] != 0 || got[1] != 2 {
		t.Errorf("model 0 member signals %v, want [0 2]", got)
	}
	if got := ms[2].other; len(got) != 1 || got[0] != 22 {
		t.Errorf("model 2 non-member signals %v, want [22]", got)
	}
	f := referenceFit(ms, 2, false, fitMargins)
	if f == nil || len(f.Models) != 3 || len(f.Targets) != 2 || f.PopulationRecords != 2 {
		t.Fatalf("fit %+v, want 3 models and 2 comparisons on 2 population records", f)
	}
	if f.Models[0].Role != "target" || f.Models[1].Role != "target" || f.Models[2].Role != "reference" || !f.Models[0].External {
		t.Errorf("roles %q %q %q, external %v", f.Models[0].Role, f.Models[1].Role, f.Models[2].Role, f.Models[0].External)
	}
	if f.Models[2].TrainAccuracy != nil {
		t.Errorf("model 2's undefined train accuracy is %v, want null", *f.Models[2].TrainAccuracy)
	}
	// Target 1's references are models 0 and 2: test accuracy (0.5 + 1)/2, train accuracy that of model 0
	// alone (model 2's is undefined), population signals {5, 6, 25, 26}.
	c := f.Targets[1]
	if c.Target != 1 || c.ReferenceModels != 2 || fitVal(c.References.TestAccuracy) != 0.75 || fitVal(c.References.TrainAccuracy) != 1 ||
		fitVal(c.References.Population.Median) != 15.5 || fitVal(c.TestAccuracyDiff) != -0.25 {
		t.Errorf("target 1 against models 0 and 2: %+v", c)
	}
	if referenceFit(ms[:1], 1, false, fitMargins) != nil {
		t.Error("a run with no model besides the target has a comparison")
	}
}

// TestExternalReferenceFit audits the external test target (a PyTorch MLP trained 30 epochs with Adam,
// lr 0.002, batch 32; examples/onnx/train_and_export.py) with references trained here by its own recipe
// and by one with a tenth of the epochs: only the second warns, on the log, in run.json, in the
// report's summary.json and page, and in the printed summary.
func TestExternalReferenceFit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		epochs int
		warn   bool
	}{{"matched recipe", 30, false}, {"far fewer epochs", 3, true}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			c := externalConfig(t, dir)
			c.Train.Epochs = tc.epochs
			c.Audit.PopulationSize = 1000
			c.Audit.Attacks = []AttackConfig{{Name: "lira", Params: map[string]string{"online": "false"}}, {Name: "loss"}}
			var log strings.Builder
			res, err := Run(context.Background(), c, Options{Log: &log})
			if err != nil {
				t.Fatal(err)
			}
			f := res.ReferenceFit
			if f == nil || !f.External || len(f.Targets) != 1 || len(f.Models) != 5 || f.PopulationRecords != 1000 {
				t.Fatalf("reference fit %+v, want one comparison of the external target with 4 references on 1,000 population records", f)
			}
			cmp := f.Targets[0]
			if cmp.ReferenceModels != 4 || cmp.KSDistance == nil || cmp.TestAccuracyDiff == nil || cmp.TrainAccuracyDiff == nil {
				t.Fatalf("comparison %+v lacks figures", cmp)
			}
			// The target's own figures are those of the run's models.
			if m := f.Models[0]; fitVal(m.TrainAccuracy) != res.Models[0].TrainAccuracy || fitVal(m.TestAccuracy) != res.Models[0].TestAccuracy || !m.External {
				t.Errorf("target figures %+v, want the run's model 0 %+v", m, res.Models[0])
			}
			t.Logf("Δ train %+.4f, Δ test %+.4f, KS %.3f, thresholds %+v", *cmp.TrainAccuracyDiff, *cmp.TestAccuracyDiff, *cmp.KSDistance, cmp.Thresholds)
			if got := len(cmp.Warnings) > 0; got != tc.warn {
				t.Fatalf("warnings %q; want a warning: %v", cmp.Warnings, tc.warn)
			}
			if tc.warn && *cmp.KSDistance < 0.3 {
				t.Errorf("KS distance %.3f for references trained 3 epochs instead of 30, want a plain mismatch (≥ 0.3)", *cmp.KSDistance)
			}
			if !tc.warn && *cmp.KSDistance > 0.08 {
				t.Errorf("KS distance %.3f for references trained like the target, want ≤ 0.08", *cmp.KSDistance)
			}
			if got := strings.Contains(log.String(), "warning: target 0 and its 4 reference models differ"); got != tc.warn {
				t.Errorf("run log warns: %v, want %v:\n%s", got, tc.warn, log.String())
			}

			var runJSON struct {
				ReferenceFit *report.ReferenceFit `json:"reference_fit"`
			}
			readJSON(t, filepath.Join(dir, "run.json"), &runJSON)
			var summary report.Summary
			readJSON(t, filepath.Join(dir, "report", "summary.json"), &summary)
			for name, got := range map[string]*report.ReferenceFit{"run.json": runJSON.ReferenceFit, "summary.json": summary.ReferenceFit} {
				if got == nil || len(got.Targets) != 1 || (len(got.Targets[0].Warnings) > 0) != tc.warn || fitVal(got.Targets[0].KSDistance) != *cmp.KSDistance {
					t.Errorf("%s: reference_fit %+v, want the run's", name, got)
				}
			}
			page, err := os.ReadFile(filepath.Join(dir, "report", "index.html"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(page), `id="reference-fit"`) || strings.Contains(string(page), "may not resemble the target") != tc.warn {
				t.Errorf("report page: reference-model section %v, warning %v; want the section and a warning: %v",
					strings.Contains(string(page), `id="reference-fit"`), strings.Contains(string(page), "may not resemble the target"), tc.warn)
			}
			var out strings.Builder
			res.WriteSummary(&out)
			for _, want := range []string{"target 0 (from file)", "references (4, pooled)", "difference", "KS distance"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("printed summary lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

// TestInternalReferenceFit: a run that trains its targets compares them with the references too, and
// prints one line per target.
func TestInternalReferenceFit(t *testing.T) {
	c := tinyConfig(t, t.TempDir(), 0)
	c.Run.NumExperiments = 1
	c.Train.Epochs = 20
	c.Audit.PopulationSize = 1000
	c.Audit.Attacks = []AttackConfig{{Name: "loss"}}
	var log strings.Builder
	res, err := Run(context.Background(), c, Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	f := res.ReferenceFit
	if f == nil || f.External || len(f.Targets) != 1 || f.Targets[0].ReferenceModels != len(res.Models)-1 {
		t.Fatalf("reference fit %+v, want target 0 compared with the %d other models", f, len(res.Models)-1)
	}
	cmp := f.Targets[0]
	t.Logf("Δ train %+.4f, Δ test %+.4f, KS %.3f", fitVal(cmp.TrainAccuracyDiff), fitVal(cmp.TestAccuracyDiff), fitVal(cmp.KSDistance))
	if len(cmp.Warnings) > 0 || strings.Contains(log.String(), "warning: target 0") {
		t.Errorf("models trained with one recipe differ beyond the margins: %q", cmp.Warnings)
	}
	var out strings.Builder
	res.WriteSummary(&out)
	if !strings.Contains(out.String(), "reference models (3, pooled): train accuracy") || !strings.Contains(out.String(), "(within the margins)") {
		t.Errorf("printed summary lacks the reference-model line:\n%s", out.String())
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestWriteFit: a table for an external target (with the raised thresholds when they differ from the
// margins), one line per target trained here, nothing without a comparison.
func TestWriteFit(t *testing.T) {
	refs := []modelSignals{fakeModel(0.9, 0.7, 300, 0, 100), fakeModel(0.9, 0.7, 300, 0, 100)}
	external := referenceFit(append([]modelSignals{fakeModel(1, 0.7, 300, 60, 100)}, refs...), 1, true, fitMargins)
	external.Models[0].External = true
	internal := referenceFit(append([]modelSignals{fakeModel(0.9, 0.7, 300, 0, 100)}, refs...), 1, false, fitMargins)
	for _, tc := range []struct {
		name string
		f    *report.ReferenceFit
		want []string
	}{
		{"external", external, []string{"target 0 (from file)", "references (2, pooled)", "+0.1000", "KS distance 0.200 (beyond the margins, see the warning)",
			"margins: train accuracy ±0.05, test accuracy ±0.05, KS distance 0.10; raised for target 0"}},
		{"trained here", internal, []string{"reference models (2, pooled): train accuracy 0.9000, test accuracy 0.7000; population-signal KS distance to target 0: 0.000 (within the margins)\n"}},
		{"none", nil, []string{""}},
	} {
		var b strings.Builder
		writeFit(&b, tc.f)
		for _, want := range tc.want {
			if !strings.Contains(b.String(), want) {
				t.Errorf("%s: output lacks %q:\n%s", tc.name, want, b.String())
			}
		}
		if tc.f == nil && b.Len() > 0 {
			t.Errorf("no comparison, but output %q", b.String())
		}
	}
}
