package report

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fakeFit returns the comparison of an external target with 4 references trained too briefly, with a
// warning, for an input with one target.
func fakeFit() *ReferenceFit {
	sig := func(n int, mean float64) SignalSummary {
		return SignalSummary{N: n, Mean: Float(mean), Q05: Float(mean - 3), Q25: Float(mean - 1), Median: Float(mean), Q75: Float(mean + 1), Q95: Float(mean + 3)}
	}
	model := func(m int, role string, train, test, mean float64) ModelFit {
		return ModelFit{Model: m, Role: role, External: m == 0, TrainAccuracy: Float(train), TestAccuracy: Float(test),
			Population: sig(500, mean), Members: sig(250, mean+2), NonMembers: sig(250, mean)}
	}
	f := &ReferenceFit{Signal: "rescaled_logit", External: true, PopulationRecords: 500,
		Margins: FitMargins{TrainAccuracy: 0.05, TestAccuracy: 0.05, KSDistance: 0.1}}
	f.Models = append(f.Models, model(0, "target", 0.99, 0.8, 2.1))
	for m := 1; m <= 4; m++ {
		f.Models = append(f.Models, model(m, "reference", 0.7, 0.66, -0.3))
	}
	h := FitHistogram{Edges: []float64{-4, -2, 0, 2, 4, 6}, Target: []float64{0.1, 0.1, 0.2, 0.3, 0.3}, References: []float64{0.2, 0.4, 0.3, 0.1, 0}}
	f.Targets = []FitComparison{{Target: 0, References: model(-1, "reference", 0.7, 0.66, -0.3), ReferenceModels: 4,
		TrainAccuracyDiff: Float(0.29), TestAccuracyDiff: Float(0.14), KSDistance: Float(0.5), Thresholds: f.Margins,
		Warnings:  []string{"target 0 and its 4 reference models differ: test accuracy <0.800> against 0.660."},
		Histogram: h}}
	return f
}

// TestReferenceFitReport: the comparison reaches summary.json as it is, the page shows its table, its
// warning (escaped) and its overlay plot, and a saved input rebuilds the same report.
func TestReferenceFitReport(t *testing.T) {
	in := fakeInput(41, 300, fakeImages)
	in.ReferenceFit = fakeFit()
	dir := t.TempDir()
	s, err := Build(context.Background(), in, dir, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.ReferenceFit, in.ReferenceFit) {
		t.Errorf("summary's reference fit %+v, want the input's", s.ReferenceFit)
	}
	b, err := os.ReadFile(filepath.Join(dir, SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		ReferenceFit *ReferenceFit `json:"reference_fit"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.ReferenceFit, in.ReferenceFit) {
		t.Errorf("summary.json reference_fit %+v, want the input's", back.ReferenceFit)
	}
	for _, key := range []string{`"reference_fit"`, `"ks_distance": 0.5`, `"thresholds"`, `"q05"`, `"histogram"`, `"non_members"`} {
		if !bytes.Contains(b, []byte(key)) {
			t.Errorf("summary.json lacks %s", key)
		}
	}

	page, c := checkPage(t, dir)
	if want := 2 + len(in.Attacks) + 1 + 1; c.svgs != want { // roc ×2, histograms, per class, reference fit
		t.Errorf("%d inline SVGs, want %d", c.svgs, want)
	}
	if !c.ids["reference-fit"] || !c.ids["fig-reference_fit"] {
		t.Errorf("page lacks the reference-model section or its figure")
	}
	text := c.text.String()
	for _, want := range []string{"Reference models", "may not resemble the target", "target 0 (from file)",
		"references (4 models, pooled)", "+29.0 pts", "0.500", "test accuracy <0.800> against 0.660", "Every model", "reference 3", "Median, members", "4.10", "1.70"} {
		if !strings.Contains(text, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if bytes.Contains(page, []byte("<0.800>")) {
		t.Error("a warning's text reaches the page unescaped")
	}
	for _, ext := range []string{".png", ".svg"} {
		if _, err := os.Stat(filepath.Join(dir, PlotsDir, "reference_fit"+ext)); err != nil {
			t.Error(err)
		}
	}

	// Without a warning, the page says the models agree and shows no warning box.
	in.ReferenceFit.Targets[0].Warnings = nil
	files := buildFiles(t, in, testOptions)
	if p := string(files[HTMLFile]); strings.Contains(p, "may not resemble") || !strings.Contains(p, "agree within the margins") {
		t.Error("a comparison without warnings is shown with one, or without saying the models agree")
	}

	// A saved input rebuilds the report byte for byte, reference fit included.
	saved := t.TempDir()
	if err := WriteInput(saved, in); err != nil {
		t.Fatal(err)
	}
	rin, err := ReadInput(saved)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rin.ReferenceFit, in.ReferenceFit) {
		t.Fatalf("read back reference fit %+v, want %+v", rin.ReferenceFit, in.ReferenceFit)
	}
	again := buildFiles(t, rin, testOptions)
	for f := range files {
		if !bytes.Equal(files[f], again[f]) {
			t.Errorf("%s differs after WriteInput/ReadInput", f)
		}
	}
}

// TestReferenceFitValidate: an inconsistent comparison is an error naming the field at fault.
func TestReferenceFitValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(f *ReferenceFit)
		want   string
	}{
		{"accuracy above 1", func(f *ReferenceFit) { f.Models[2].TestAccuracy = Float(1.2) }, "models[2].test_accuracy"},
		{"reference accuracy below 0", func(f *ReferenceFit) { f.Targets[0].References.TrainAccuracy = Float(-0.1) }, "targets[0].references.train_accuracy"},
		{"KS distance above 1", func(f *ReferenceFit) { f.Targets[0].KSDistance = Float(1.5) }, "targets[0].ks_distance"},
		{"target out of range", func(f *ReferenceFit) { f.Targets[0].Target = 1 }, "targets[0].target = 1"},
		{"histogram bins", func(f *ReferenceFit) { f.Targets[0].Histogram.Target = f.Targets[0].Histogram.Target[1:] }, "targets[0].histogram"},
		{"histogram edges", func(f *ReferenceFit) { f.Targets[0].Histogram.Edges[1] = 9 }, "ascending"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := fakeInput(42, 50, fakeNone)
			in.ReferenceFit = fakeFit()
			tc.change(in.ReferenceFit)
			err := in.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
	in := fakeInput(42, 50, fakeNone)
	in.ReferenceFit = fakeFit()
	in.ReferenceFit.Targets[0].Histogram = FitHistogram{}
	if err := in.Validate(); err != nil {
		t.Errorf("a comparison without a histogram: %v", err)
	}
	if _, err := Build(context.Background(), in, t.TempDir(), testOptions); err != nil {
		t.Errorf("a comparison without a histogram: %v", err)
	}
}
