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

	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/npy"
)

// ROCOptions configures the ROC benchmark.
type ROCOptions struct {
	N        int // scores
	Repeats  int // timed runs on each side; the best is compared
	Seed     uint64
	Baseline Baseline
}

// ROCResult is the outcome of the ROC benchmark.
type ROCResult struct {
	Go     Measurement
	AUC    float64
	Points int // points of the drop_intermediate curve

	Skipped      string // why the baseline did not run ("" when it ran)
	PythonBest   time.Duration
	PythonMedian time.Duration
	PythonPeak   uint64
	PythonAUC    float64
	PythonPoints int
}

// ROC times metric.ROC (with dropped intermediate points) and metric.AUC on synthetic scores and, unless
// skipped, scikit-learn roc_curve and auc (scripts/bench/roc_sklearn.py) on the same data; it checks that
// the AUCs are equal to the bit and the curves have as many points, and writes a table to w. A mismatch is
// an error.
func ROC(ctx context.Context, w io.Writer, o ROCOptions) (*ROCResult, error) {
	if o.N < 2 {
		return nil, fmt.Errorf("bench roc: %d scores; want at least 2", o.N)
	}
	o.Repeats = max(o.Repeats, 1)
	scores, members := SyntheticScores(o.N, o.Seed)
	res := &ROCResult{}
	m, err := measure(o.Repeats, func() error {
		c := metric.ROC(scores, members, true)
		res.AUC, res.Points = metric.AUC(c), c.Len()
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.Go = m
	res.Skipped = rocBaseline(ctx, scores, members, o, res)
	if err := printROC(w, o, res); err != nil {
		return res, err
	}
	if res.Skipped == "" && !rocAgree(res) {
		return res, fmt.Errorf("bench roc: MISMATCH: AUC %v with %d points, scikit-learn %v with %d", res.AUC, res.Points, res.PythonAUC, res.PythonPoints)
	}
	return res, nil
}

func rocAgree(r *ROCResult) bool {
	return math.Float64bits(r.AUC) == math.Float64bits(r.PythonAUC) && r.Points == r.PythonPoints
}

func rocBaseline(ctx context.Context, scores []float64, members []bool, o ROCOptions, res *ROCResult) string {
	if o.Baseline.Skip {
		return "baseline not requested"
	}
	py, err := o.Baseline.python(ctx, "numpy", "sklearn")
	if err != nil {
		return fmt.Sprintf("python3-sklearn not found: baseline skipped (%v)", err)
	}
	script, err := o.Baseline.script("roc_sklearn.py")
	if err != nil {
		return err.Error()
	}
	dir, err := tempDir()
	if err != nil {
		return err.Error()
	}
	defer os.RemoveAll(dir)
	sp, lp := filepath.Join(dir, "scores.npy"), filepath.Join(dir, "labels.npy")
	if err := npy.WriteFile(sp, npy.NewFloat64(scores, len(scores))); err != nil {
		return fmt.Sprintf("baseline skipped: writing its input: %v", err)
	}
	if err := npy.WriteFile(lp, npy.NewBool(members, len(members))); err != nil {
		return fmt.Sprintf("baseline skipped: writing its input: %v", err)
	}
	r, err := runPython(ctx, py, script, "--scores", sp, "--labels", lp, "--repeats", strconv.Itoa(o.Repeats))
	if err != nil {
		return fmt.Sprintf("baseline failed: %v", err)
	}
	res.PythonBest, res.PythonMedian, res.PythonPeak = r.best(), r.median(), r.PeakBytes
	res.PythonAUC, res.PythonPoints = r.AUC, r.Points
	return ""
}

func printROC(w io.Writer, o ROCOptions, r *ROCResult) error {
	fmt.Fprintf(w, "ROC curve (drop_intermediate) and AUC: n = %d scores, seed %d; Go runs with GOMAXPROCS = %d\n\n",
		o.N, o.Seed, runtime.GOMAXPROCS(0))
	t := newTable(w)
	t.row("implementation", fmt.Sprintf("best of %d", o.Repeats), "median", "peak memory", "AUC", "points")
	t.row("pmeter (Go, metric.ROC + AUC)", formatDuration(r.Go.Best), formatDuration(r.Go.Median), formatBytes(r.Go.PeakHeap)+" heap",
		strconv.FormatFloat(r.AUC, 'g', -1, 64), strconv.Itoa(r.Points))
	if r.Skipped == "" {
		t.row("scikit-learn (roc_curve + auc)", formatDuration(r.PythonBest), formatDuration(r.PythonMedian), formatBytes(r.PythonPeak)+" (tracemalloc)",
			strconv.FormatFloat(r.PythonAUC, 'g', -1, 64), strconv.Itoa(r.PythonPoints))
		t.row("ratio", fmt.Sprintf("%.1f× faster", r.PythonBest.Seconds()/r.Go.Best.Seconds()), "",
			formatFraction(r.Go.PeakHeap, r.PythonPeak)+" of the memory", "", "")
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if r.Skipped != "" {
		_, err := fmt.Fprintln(w, r.Skipped)
		return err
	}
	var err error
	if rocAgree(r) {
		_, err = fmt.Fprintln(w, "AUC: identical to scikit-learn (same float64, same number of curve points)")
	} else {
		_, err = fmt.Fprintf(w, "AUC: MISMATCH (|diff| = %g, points %d vs %d)\n", math.Abs(r.AUC-r.PythonAUC), r.Points, r.PythonPoints)
	}
	return err
}
