// Package bench measures pmeter against the Python code it replaces, for the 'pmeter bench' command:
// RMIA against Privacy Meter v2's numpy formulation (an N × Z matrix of pairwise ratios) and the ROC
// curve and AUC against scikit-learn.
//
// Each benchmark generates seeded synthetic data, times pmeter's implementation and measures its peak heap,
// then, when a Python interpreter with the needed packages is available, writes the same inputs to
// temporary .npy files, runs the baseline script of scripts/bench/ on them, checks that both computed the
// same numbers and prints the time and memory ratios. Without Python the baseline is skipped with a
// message; pmeter itself never needs Python.
package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// DefaultPython is the interpreter used for baselines: the system one, which carries numpy, scipy and
// scikit-learn as distribution packages.
const DefaultPython = "/usr/bin/python3"

// Baseline says how to run the Python baselines.
type Baseline struct {
	Skip    bool   // do not run the baseline
	Python  string // interpreter; "" means DefaultPython
	Scripts string // directory of the baseline scripts; "" means scripts/bench found above the working directory or the executable
}

// pythonResult is what every baseline script prints: one JSON object.
type pythonResult struct {
	Seconds     []float64 `json:"seconds"`
	PeakBytes   uint64    `json:"peak_bytes"`
	MaxRSSDelta uint64    `json:"maxrss_delta_bytes"`
	AUC         float64   `json:"auc"`
	Points      int       `json:"points"`
	Numpy       string    `json:"numpy"`
	Sklearn     string    `json:"sklearn"`
}

func (r pythonResult) best() time.Duration {
	return time.Duration(slices.Min(r.Seconds) * float64(time.Second))
}

func (r pythonResult) median() time.Duration {
	s := slices.Sorted(slices.Values(r.Seconds))
	return time.Duration(s[len(s)/2] * float64(time.Second))
}

// python checks that the interpreter exists and imports the modules; the error is the reason to skip.
func (b Baseline) python(ctx context.Context, modules ...string) (string, error) {
	py := b.Python
	if py == "" {
		py = DefaultPython
	}
	if _, err := os.Stat(py); err != nil {
		return "", fmt.Errorf("%s not found", py)
	}
	cmd := exec.CommandContext(ctx, py, "-c", "import "+strings.Join(modules, ", "))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s cannot import %s: %s", py, strings.Join(modules, ", "), lastLine(out))
	}
	return py, nil
}

// script returns the path of the baseline script name.
func (b Baseline) script(name string) (string, error) {
	p, err := FindScript(b.Scripts, name)
	if err != nil && b.Scripts == "" {
		err = fmt.Errorf("%w (pass --scripts)", err)
	}
	return p, err
}

// FindScript returns the path of the baseline script name: in dir when dir is not empty, else in
// scripts/bench of the working directory, the executable's directory, or one of their parents.
func FindScript(dir, name string) (string, error) {
	if dir != "" {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("baseline script %s not found", p)
		}
		return p, nil
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, d := range starts {
		for {
			p := filepath.Join(d, "scripts", "bench", name)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
			up := filepath.Dir(d)
			if up == d {
				break
			}
			d = up
		}
	}
	return "", fmt.Errorf("baseline script scripts/bench/%s not found above the working directory or the executable", name)
}

// runPython runs a baseline script and decodes the JSON object it prints last.
func runPython(ctx context.Context, py, script string, args ...string) (pythonResult, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, py, append([]string{script}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return pythonResult{}, fmt.Errorf("%s %s: %w: %s", py, filepath.Base(script), err, lastLine(stderr.Bytes()))
	}
	var r pythonResult
	if err := json.Unmarshal([]byte(lastLine(stdout.Bytes())), &r); err != nil {
		return pythonResult{}, fmt.Errorf("%s: reading its result: %w", filepath.Base(script), err)
	}
	if len(r.Seconds) == 0 {
		return pythonResult{}, fmt.Errorf("%s: no timing in its result", filepath.Base(script))
	}
	return r, nil
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// memAvailable returns MemAvailable of /proc/meminfo in bytes, or 0 when unknown.
func memAvailable() uint64 {
	return procField("/proc/meminfo", "MemAvailable:")
}

// peakRSS returns the peak resident set of this process (VmHWM), in bytes, or 0 when unknown.
func peakRSS() uint64 {
	return procField("/proc/self/status", "VmHWM:")
}

func procField(path, key string) uint64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key); ok {
			fields := strings.Fields(rest)
			if len(fields) == 0 {
				return 0
			}
			kb, err := strconv.ParseUint(fields[0], 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}

// table prints aligned rows.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer) table { return table{tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)} }

func (t table) row(cells ...string) { fmt.Fprintln(t.tw, "  "+strings.Join(cells, "\t")+"\t") }

func (t table) flush() error { return t.tw.Flush() }

// formatDuration prints a duration with 3 significant digits in a fitting unit.
func formatDuration(d time.Duration) string {
	s := d.Seconds()
	switch {
	case s >= 1:
		return fmt.Sprintf("%.3g s", s)
	case s >= 1e-3:
		return fmt.Sprintf("%.3g ms", s*1e3)
	default:
		return fmt.Sprintf("%.3g µs", s*1e6)
	}
}

// formatBytes prints a byte count in binary units.
func formatBytes(b uint64) string {
	const k = 1024
	switch {
	case b >= k*k*k:
		return fmt.Sprintf("%.3g GiB", float64(b)/(k*k*k))
	case b >= k*k:
		return fmt.Sprintf("%.3g MiB", float64(b)/(k*k))
	case b >= k:
		return fmt.Sprintf("%.3g KiB", float64(b)/k)
	}
	return fmt.Sprintf("%d B", b)
}

// formatFraction prints a/b as "1/x" (a < b) or "x×".
func formatFraction(a, b uint64) string {
	if a == 0 || b == 0 {
		return "n/a"
	}
	if a < b {
		if r := float64(b) / float64(a); r < 100 {
			return fmt.Sprintf("1/%.3g", r)
		}
		return fmt.Sprintf("1/%.0f", float64(b)/float64(a))
	}
	return fmt.Sprintf("%.3g×", float64(a)/float64(b))
}

// tempDir makes a directory for baseline inputs; remove it with os.RemoveAll.
func tempDir() (string, error) {
	dir, err := os.MkdirTemp("", "pmeter-bench-")
	if err != nil {
		return "", fmt.Errorf("temporary directory for the baseline inputs: %w", err)
	}
	return dir, nil
}
