package bench

import (
	"bytes"
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestSyntheticRMIA(t *testing.T) {
	d := SyntheticRMIA(500, 200, 6, 7)
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	for i := range d.N {
		for k := 0; k < d.M; k += 2 {
			if d.Member(i, k) == d.Member(i, k+1) {
				t.Fatalf("record %d: models %d and %d are not complementary", i, k, k+1)
			}
		}
	}
	again := SyntheticRMIA(500, 200, 6, 7)
	if !slices.Equal(d.Signals, again.Signals) || !slices.Equal(d.Members, again.Members) || !slices.Equal(d.Population, again.Population) {
		t.Error("same seed, different data")
	}
	if other := SyntheticRMIA(500, 200, 6, 8); slices.Equal(d.Signals, other.Signals) {
		t.Error("different seeds, same data")
	}
}

func TestSyntheticScores(t *testing.T) {
	s, m := SyntheticScores(1000, 3)
	s2, m2 := SyntheticScores(1000, 3)
	if !slices.Equal(s, s2) || !slices.Equal(m, m2) {
		t.Error("same seed, different scores")
	}
	n := 0
	for _, b := range m {
		if b {
			n++
		}
	}
	if n < 400 || n > 600 {
		t.Errorf("%d members of 1000, want about half", n)
	}
}

// TestRMIABench runs the benchmark small. With /usr/bin/python3 and numpy it is a cross-check of compat
// mode against Privacy Meter's numpy formulation on fresh random data: the scores must be identical.
func TestRMIABench(t *testing.T) {
	var out bytes.Buffer
	r, err := RMIA(context.Background(), &out, RMIAOptions{N: 3000, Z: 1500, M: 6, OfflineA: 0.3, Repeats: 1, Seed: 5})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if r.Go.Best <= 0 || r.Go.PeakHeap == 0 || r.Go.Allocated == 0 {
		t.Errorf("Go measurement %+v", r.Go)
	}
	if !strings.Contains(out.String(), "pmeter (Go, sort + binary search)") {
		t.Errorf("no table:\n%s", out.String())
	}
	if r.Skipped != "" {
		t.Logf("baseline skipped: %s", r.Skipped)
		return
	}
	if r.MaxDiff != 0 || !strings.Contains(out.String(), "identical") {
		t.Errorf("scores differ from numpy by %g:\n%s", r.MaxDiff, out.String())
	}
	if r.PythonPeak < 3000*1500*9 {
		t.Errorf("numpy peak %d bytes, below its N × Z matrices", r.PythonPeak)
	}
}

func TestROCBench(t *testing.T) {
	var out bytes.Buffer
	r, err := ROC(context.Background(), &out, ROCOptions{N: 20000, Repeats: 1, Seed: 9})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !(r.AUC > 0.55 && r.AUC < 0.7) || r.Points < 2 {
		t.Errorf("AUC %v with %d points on scores shifted by 0.3σ", r.AUC, r.Points)
	}
	if r.Skipped != "" {
		t.Logf("baseline skipped: %s", r.Skipped)
		return
	}
	if math.Float64bits(r.AUC) != math.Float64bits(r.PythonAUC) || r.Points != r.PythonPoints {
		t.Errorf("AUC %v (%d points), scikit-learn %v (%d):\n%s", r.AUC, r.Points, r.PythonAUC, r.PythonPoints, out.String())
	}
}

func TestBaselineMissing(t *testing.T) {
	var out bytes.Buffer
	b := Baseline{Python: "/nonexistent/python3"}
	r, err := RMIA(context.Background(), &out, RMIAOptions{N: 100, Z: 50, M: 4, Repeats: 1, Baseline: b})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.Skipped, "python3-numpy not found: baseline skipped") || !strings.Contains(out.String(), r.Skipped) {
		t.Errorf("skip message %q, output:\n%s", r.Skipped, out.String())
	}
	rr, err := ROC(context.Background(), &out, ROCOptions{N: 100, Repeats: 1, Baseline: b})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rr.Skipped, "python3-sklearn not found: baseline skipped") {
		t.Errorf("skip message %q", rr.Skipped)
	}
	if _, err := (Baseline{Scripts: t.TempDir()}).script("rmia_numpy.py"); err == nil {
		t.Error("script found in an empty directory")
	}
}

func TestOptionErrors(t *testing.T) {
	var out bytes.Buffer
	for _, o := range []RMIAOptions{
		{N: 0, Z: 10, M: 4}, {N: 10, Z: 0, M: 4}, {N: 10, Z: 10, M: 3}, {N: 10, Z: 10, M: 2},
		{N: 10, Z: 10, M: 6, R: 3}, {N: 10, Z: 10, M: 6, R: -1}, {N: 10, Z: 10, M: 6, OfflineA: 2},
	} {
		if _, err := RMIA(context.Background(), &out, o); err == nil {
			t.Errorf("RMIA options %+v: no error", o)
		}
	}
	if _, err := ROC(context.Background(), &out, ROCOptions{N: 1}); err == nil {
		t.Error("ROC with 1 score: no error")
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{formatBytes(512), "512 B"},
		{formatBytes(3 << 20), "3 MiB"},
		{formatBytes(4502000000), "4.19 GiB"},
		{formatFraction(1, 20), "1/20"},
		{formatFraction(30, 10), "3×"},
		{formatFraction(0, 10), "n/a"},
		{maxDiffString(maxAbsDiff([]float64{1, math.NaN()}, []float64{1, math.NaN()})), "0"},
		{maxDiffString(maxAbsDiff([]float64{1, 2}, []float64{1, 2.5})), "0.5"},
		{maxDiffString(maxAbsDiff([]float64{1, 2}, []float64{1, math.NaN()})), "+Inf"},
		{maxDiffString(maxAbsDiff([]float64{1}, []float64{1, 2})), "+Inf"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func maxDiffString(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
