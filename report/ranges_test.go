package report

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/metric"
)

// fakeRanges returns a range audit of one target: its range result, and the per-sample one.
func fakeRanges() *Ranges {
	res := func(auc float64, members int) metric.Result {
		return metric.Result{AUC: auc, Members: members, NonMembers: members, TPRAtFPR: []metric.TPRAt{{FPR: 0.1, TPR: 0.4}, {FPR: 0.01, TPR: 0.12}, {FPR: 0.001, TPR: 0.05, BelowResolution: true}, {FPR: 0}}}
	}
	r := res(0.812, 150)
	return &Ranges{Sampler: "l2 (radius 2)", SamplesPerRange: 10, Ranges: 300, Dropped: 2, Reported: "range",
		Targets: []RangeTarget{{Target: 0, TuningModel: 2, OfflineA: 0.3, TrimDirection: "bottom", TrimRatio: 0.8, TrimKeep: 2, Range: &r, Sample: res(0.655, 1500)}}}
}

// TestRangesReport: the range audit reaches summary.json as it is, the page shows its section, and a
// saved input rebuilds it.
func TestRangesReport(t *testing.T) {
	in := fakeInput(43, 300, fakeTabular)
	in.Ranges = fakeRanges()
	files := buildFiles(t, in, testOptions)
	var back struct {
		Ranges *Ranges `json:"ranges"`
	}
	if err := json.Unmarshal(files[SummaryFile], &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Ranges, in.Ranges) {
		t.Errorf("summary.json ranges %+v, want the input's %+v", back.Ranges, in.Ranges)
	}
	page := string(files[HTMLFile])
	for _, want := range []string{`id="ranges"`, "Range membership", "l2 (radius 2)", "0.812", "0.655", "bottom, mean of 2 of 10 (tuned on model 2)",
		"below resolution", "2 were left out", "The result is the range-level one"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	saved := t.TempDir()
	if err := WriteInput(saved, in); err != nil {
		t.Fatal(err)
	}
	rin, err := ReadInput(saved)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rin.Ranges, in.Ranges) {
		t.Fatalf("read back ranges %+v, want %+v", rin.Ranges, in.Ranges)
	}
	again := buildFiles(t, rin, testOptions)
	if !bytes.Equal(files[HTMLFile], again[HTMLFile]) {
		t.Error("the page differs after WriteInput/ReadInput")
	}

	// Compat mode says what Privacy Meter reports; a NaN range score gives its reason instead of a row.
	in.Ranges.Compat, in.Ranges.Reported = "privacy-meter", "sample"
	in.Ranges.Targets[0].Range, in.Ranges.Targets[0].RangeError = nil, "the range score of range 0 is NaN: the trim (bottom, ratio 0.9) keeps 0 of 10 scores"
	s, err := Build(context.Background(), in, t.TempDir(), testOptions)
	if err != nil {
		t.Fatal(err)
	}
	if s.Ranges.Targets[0].Range != nil {
		t.Error("summary has a range result for NaN range scores")
	}
	page = string(buildFiles(t, in, testOptions)[HTMLFile])
	for _, want := range []string{"Compatibility mode (privacy-meter)", "keeps 0 of 10 scores"} {
		if !strings.Contains(page, want) {
			t.Errorf("compat page lacks %q", want)
		}
	}
}

func TestRangesValidate(t *testing.T) {
	for _, tc := range []struct {
		change func(r *Ranges)
		want   string
	}{
		{func(r *Ranges) { r.Reported = "both" }, "reported result"},
		{func(r *Ranges) { r.SamplesPerRange = 0 }, "want at least one"},
		{func(r *Ranges) { r.Targets[0].Range = nil }, "neither a range result"},
		{func(r *Ranges) { r.Targets = append(r.Targets, r.Targets[0]) }, "2 target results for 1 targets"},
	} {
		in := fakeInput(44, 50, fakeNone)
		in.Ranges = fakeRanges()
		tc.change(in.Ranges)
		if err := in.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}
