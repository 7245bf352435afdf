package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/npy"
)

// RMIAOptions configures the RMIA benchmark.
type RMIAOptions struct {
	N, Z, M  int     // records, population records, models (even, at least 4: target, its pair, one reference pair)
	R        int     // reference models (Privacy Meter's num_reference_models); 0 means all (M−2)/2 pairs
	OfflineA float64 // Privacy Meter's offline_a, in [0, 1]
	Repeats  int     // timed runs on each side; the best is compared
	Seed     uint64
	Baseline Baseline
}

// RMIAResult is the outcome of the RMIA benchmark.
type RMIAResult struct {
	Go         Measurement
	InputBytes uint64 // signals, memberships and population of the synthetic data
	PeakRSS    uint64 // peak resident set of this process (0 when unknown)

	Skipped      string        // why the baseline did not run ("" when it ran)
	PythonBest   time.Duration // best time of the numpy formulation
	PythonMedian time.Duration
	PythonPeak   uint64  // peak bytes numpy allocated during one run (tracemalloc)
	MaxDiff      float64 // max |pmeter − numpy| over the scores
}

// RMIA times attack.RMIA in Privacy Meter compat mode against target model 0 of synthetic data and, unless
// skipped, Privacy Meter v2's numpy formulation (scripts/bench/rmia_numpy.py) on the same inputs; it checks
// that the scores are identical and writes a table to w. A score mismatch is an error.
func RMIA(ctx context.Context, w io.Writer, o RMIAOptions) (*RMIAResult, error) {
	if o.N <= 0 || o.Z <= 0 {
		return nil, fmt.Errorf("bench rmia: %d records and %d population records; both must be positive", o.N, o.Z)
	}
	if o.M < 4 || o.M%2 != 0 {
		return nil, fmt.Errorf("bench rmia: %d models; want an even number, at least 4 (target, its pair, one reference pair)", o.M)
	}
	pairs := (o.M - 2) / 2
	if o.R == 0 {
		o.R = pairs
	}
	if o.R < 0 || o.R > pairs {
		return nil, fmt.Errorf("bench rmia: %d reference models; %d models give 1 to %d", o.R, o.M, pairs)
	}
	if !(o.OfflineA >= 0 && o.OfflineA <= 1) {
		return nil, fmt.Errorf("bench rmia: offline a = %v, want a value in [0, 1]", o.OfflineA)
	}
	o.Repeats = max(o.Repeats, 1)

	d := SyntheticRMIA(o.N, o.Z, o.M, o.Seed)
	res := &RMIAResult{InputBytes: uint64(len(d.Signals)*8 + len(d.Members) + len(d.Population)*8)}
	cfg := attack.RMIAConfig{NumRef: o.R, OfflineA: o.OfflineA, Compat: attack.CompatPrivacyMeter}
	var scores []float64
	m, err := measure(o.Repeats, func() error {
		s, err := attack.RMIA(d, 0, cfg)
		scores = s
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("bench rmia: %w", err)
	}
	res.Go = m
	res.PeakRSS = peakRSS()

	res.Skipped = rmiaBaseline(ctx, d, o, scores, res)
	if err := printRMIA(w, o, res); err != nil {
		return res, err
	}
	if res.Skipped == "" && res.MaxDiff != 0 {
		return res, fmt.Errorf("bench rmia: MISMATCH: pmeter and numpy scores differ by up to %g", res.MaxDiff)
	}
	return res, nil
}

// rmiaBaseline runs the numpy baseline and fills res; it returns why it was skipped, or "".
func rmiaBaseline(ctx context.Context, d *attack.Data, o RMIAOptions, scores []float64, res *RMIAResult) string {
	if o.Baseline.Skip {
		return "baseline not requested"
	}
	need := uint64(o.N) * uint64(o.Z) * 9 // the float64 ratio matrix and its bool comparison
	if avail := memAvailable(); avail > 0 && need > avail/10*8 {
		return fmt.Sprintf("numpy baseline skipped: its N × Z matrices need %s, more than 80 %% of the %s available", formatBytes(need), formatBytes(avail))
	}
	py, err := o.Baseline.python(ctx, "numpy")
	if err != nil {
		return fmt.Sprintf("python3-numpy not found: baseline skipped (%v)", err)
	}
	script, err := o.Baseline.script("rmia_numpy.py")
	if err != nil {
		return err.Error()
	}
	dir, err := tempDir()
	if err != nil {
		return err.Error()
	}
	defer os.RemoveAll(dir)
	path := func(name string) string { return filepath.Join(dir, name) }
	for _, f := range []struct {
		name string
		a    *npy.Array
	}{
		{"signals.npy", npy.NewFloat64(d.Signals, d.N, d.M)},
		{"members.npy", npy.NewBool(d.Members, d.N, d.M)},
		{"population.npy", npy.NewFloat64(d.Population, d.Z, d.M)},
	} {
		if err := npy.WriteFile(path(f.name), f.a); err != nil {
			return fmt.Sprintf("baseline skipped: writing its input: %v", err)
		}
	}
	r, err := runPython(ctx, py, script,
		"--signals", path("signals.npy"), "--population", path("population.npy"), "--members", path("members.npy"),
		"--target", "0", "--num-ref", strconv.Itoa(o.R), "--offline-a", strconv.FormatFloat(o.OfflineA, 'g', -1, 64),
		"--repeats", strconv.Itoa(o.Repeats), "--out", path("scores.npy"))
	if err != nil {
		return fmt.Sprintf("baseline failed: %v", err)
	}
	out, err := npy.ReadFile(path("scores.npy"))
	if err != nil {
		return fmt.Sprintf("baseline failed: reading its scores: %v", err)
	}
	res.PythonBest, res.PythonMedian, res.PythonPeak = r.best(), r.median(), r.PeakBytes
	res.MaxDiff = maxAbsDiff(scores, out.Float64s())
	return ""
}

// maxAbsDiff returns max |a[i] − b[i]|, +Inf when the lengths differ or only one of a pair is NaN.
func maxAbsDiff(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	diff := 0.0
	for i := range a {
		switch {
		case math.IsNaN(a[i]) && math.IsNaN(b[i]):
		case math.IsNaN(a[i]) || math.IsNaN(b[i]):
			return math.Inf(1)
		default:
			diff = max(diff, math.Abs(a[i]-b[i]))
		}
	}
	return diff
}

func printRMIA(w io.Writer, o RMIAOptions, r *RMIAResult) error {
	fmt.Fprintf(w, "RMIA, Privacy Meter v2 semantics: N = %d records, Z = %d population records, M = %d models, R = %d, a = %g, seed %d\n",
		o.N, o.Z, o.M, o.R, o.OfflineA, o.Seed)
	fmt.Fprintf(w, "input %s; Go runs with GOMAXPROCS = %d\n\n", formatBytes(r.InputBytes), runtime.GOMAXPROCS(0))
	t := newTable(w)
	t.row("implementation", fmt.Sprintf("best of %d", o.Repeats), "median", "peak memory")
	t.row("pmeter (Go, sort + binary search)", formatDuration(r.Go.Best), formatDuration(r.Go.Median), formatBytes(r.Go.PeakHeap)+" heap")
	if r.Skipped == "" {
		t.row("Privacy Meter (numpy, N × Z matrix)", formatDuration(r.PythonBest), formatDuration(r.PythonMedian), formatBytes(r.PythonPeak)+" (tracemalloc)")
		t.row("ratio", fmt.Sprintf("%.0f× faster", r.PythonBest.Seconds()/r.Go.Best.Seconds()), "",
			formatFraction(r.Go.PeakHeap, r.PythonPeak)+" of the memory")
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if r.PeakRSS > 0 {
		fmt.Fprintf(w, "pmeter process peak RSS (data generation and input included): %s\n", formatBytes(r.PeakRSS))
	}
	if pairs := uint64(o.N) * uint64(o.Z); pairs >= scalePairs {
		fmt.Fprintf(w, "scale goal (seconds, process peak RSS below 1 GiB): %s\n", met(r.Go.Best < 10*time.Second && r.PeakRSS > 0 && r.PeakRSS < 1<<30))
	}
	if r.Skipped != "" {
		_, err := fmt.Fprintln(w, r.Skipped)
		return err
	}
	if r.MaxDiff == 0 {
		fmt.Fprintln(w, "scores: identical to numpy (max |diff| = 0)")
	} else {
		fmt.Fprintf(w, "scores: MISMATCH (max |diff| = %g)\n", r.MaxDiff)
	}
	if uint64(o.N)*uint64(o.Z) < defaultPairs {
		return nil
	}
	speed := r.PythonBest.Seconds() / r.Go.Best.Seconds()
	frac := float64(r.Go.PeakHeap) / float64(r.PythonPeak)
	_, err := fmt.Fprintf(w, "goals (N·Z ≥ 5·10⁸): ≥ 300× faster: %s; ≤ 1/20 of the memory: %s\n", met(speed >= 300), met(frac <= 1.0/20))
	return err
}

// The sizes at which the goals apply: the default N = 50 000, Z = 10 000 and the scale mode
// N = 1 000 000, Z = 100 000.
const (
	defaultPairs = 50_000 * 10_000
	scalePairs   = 1_000_000 * 100_000
)

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}
