package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pmeter/pmeter/validity"
)

// TestReportRebuildsTextAndUsage runs 'pmeter run' on a text bundle (membership and DUCI), and 'pmeter
// attack' on one, and checks that 'pmeter report RUN_DIR' gives the run's page back byte for byte,
// rejects the membership report's flags, and tells a run directory without the saved input to rerun
// 'pmeter run'.
func TestReportRebuildsTextAndUsage(t *testing.T) {
	usageBundle := filepath.Join(t.TempDir(), "bundle")
	if err := validity.GenerateLLMUsage(3, 120, 40, 4, 0.3).WriteDir(usageBundle); err != nil {
		t.Fatal(err)
	}
	textBundle := llmTestBundle(t)
	// Every input, rmia-lm and lira-lm with their population sequences included: a leaking target.
	fullBundle := filepath.Join(t.TempDir(), "full")
	if err := validity.GenerateLLM(4, 120, 4, 0.3).WriteDir(fullBundle); err != nil {
		t.Fatal(err)
	}
	// run writes a run directory from a config with extra YAML.
	run := func(bundle, extra string) func(t *testing.T, runDir string) (int, string) {
		return func(t *testing.T, runDir string) (int, string) {
			cfg := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(cfg, []byte("run: {log_dir: "+runDir+"}\ndata: {modality: text, bundle: "+bundle+"}\n"+extra), 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, errs := cli(t, "run", cfg)
			return code, errs
		}
	}
	for _, c := range []struct {
		name        string
		make        func(t *testing.T, runDir string) (int, string)
		page, saved string
		contains    []string // in the page
	}{
		{"text", run(textBundle, ""), "llm.html", "llm_page.json", nil},
		{"text dataset_usage", run(usageBundle, "audit: {privacy_game: dataset_usage}\ndataset_usage: {resamples: 50}\n"), "index.html", "usage_page.json", nil},
		{"pmeter attack", func(t *testing.T, runDir string) (int, string) {
			code, _, errs := cli(t, "attack", fullBundle, "--attack", "all", "--out", runDir)
			return code, errs
		}, "llm.html", "llm_page.json", []string{">rmia-lm<", ">lira-lm<", ">neighborhood<"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			runDir := filepath.Join(t.TempDir(), "run")
			if code, errs := c.make(t, runDir); code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			page := filepath.Join(runDir, "report", c.page)
			orig, err := os.ReadFile(page)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(page); err != nil {
				t.Fatal(err)
			}
			if code, out, errs := cli(t, "report", runDir); code != 0 || !strings.Contains(out, "wrote "+page) {
				t.Fatalf("pmeter report: exit %d: %s%s", code, out, errs)
			}
			if b, err := os.ReadFile(page); err != nil || !bytes.Equal(b, orig) {
				t.Errorf("the rebuilt %s differs from the run's (%v)", c.page, err)
			}
			for _, want := range c.contains {
				if !bytes.Contains(orig, []byte(want)) {
					t.Errorf("%s lacks %q", c.page, want)
				}
			}
			if code, _, errs := cli(t, "report", runDir, "--seed", "1"); code != 2 || !strings.Contains(errs, "--seed applies to membership reports") {
				t.Errorf("--seed: exit %d: %s", code, errs)
			}
			if err := os.Remove(filepath.Join(runDir, "results", c.saved)); err != nil {
				t.Fatal(err)
			}
			if code, _, errs := cli(t, "report", runDir); code != 1 || !strings.Contains(errs, c.saved+" is missing") || !strings.Contains(errs, "rerun `pmeter run`") {
				t.Errorf("without %s: exit %d: %s", c.saved, code, errs)
			}
		})
	}
}

// TestReportClaimsRunDir runs two 'pmeter report' on one run directory at once: the first is held
// mid-command (its stdout is a pipe nobody reads yet, so it stops at its last line with the report written
// and its claim held), and the second is refused, naming the directory and the first, and writes nothing.
// Once the first has ended, a report works again. A killed report's claim is taken over.
func TestReportClaimsRunDir(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tiny.yaml")
	if err := os.WriteFile(cfg, []byte(tinyRun), 0o644); err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join(dir, "run")
	if code, out, errs := cli(t, "run", cfg, "--out", runDir); code != 0 {
		t.Fatalf("pmeter run: exit %d\n%s\n%s", code, out, errs)
	}
	summary := filepath.Join(runDir, "report", "summary.json")

	finishFirst := holdReport(t, runDir)
	written, err := os.Stat(summary)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := cli(t, "report", runDir, "--seed", "5")
	for _, want := range []string{"run directory " + runDir + " is in use", fmt.Sprintf("pid %d", os.Getpid()), "pmeter report (claim file " + filepath.Join(runDir, "claims")} {
		if !strings.Contains(errs, want) {
			t.Errorf("the second report's error lacks %q: exit %d\n%s%s", want, code, out, errs)
		}
	}
	if code != 1 || out != "" {
		t.Errorf("the second report: exit %d, stdout %q; want 1 and nothing", code, out)
	}
	if fi, err := os.Stat(summary); err != nil || !fi.ModTime().Equal(written.ModTime()) {
		t.Errorf("the refused report wrote %s (%v)", summary, err)
	}
	if code, rest, firstErr := finishFirst(); code != 0 || !strings.Contains(rest, "wrote "+filepath.Join(runDir, "report", "index.html")) {
		t.Fatalf("the first report: exit %d\n%s\n%s", code, rest, firstErr)
	}

	// After the first: a report works, with the second's settings, and leaves no claim behind.
	if code, out, errs := cli(t, "report", runDir, "--seed", "5"); code != 0 {
		t.Fatalf("a report after the first ended: exit %d\n%s%s", code, out, errs)
	}
	if b, err := os.ReadFile(summary); err != nil || !bytes.Contains(b, []byte(`"bootstrap_seed": 5`)) {
		t.Errorf("the later report did not rewrite %s with seed 5 (%v)", summary, err)
	}
	if left, _ := filepath.Glob(filepath.Join(runDir, "claims", "*.json")); len(left) != 0 {
		t.Errorf("claim files left: %v", left)
	}

	// A killed report's claim (its lock free) is taken over, as pmeter run takes one over.
	stale, pid, host, _ := staleReportClaim(t, runDir)
	code, out, errs = cli(t, "report", runDir)
	if code != 0 || !strings.Contains(errs, fmt.Sprintf("taking over the stale claim of pid %d on host %s", pid, host)) {
		t.Errorf("after a killed report: exit %d\n%s%s", code, out, errs)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale claim %s is still there (%v)", stale, err)
	}

	// A directory without saved results is not claimed: no claims folder is made there.
	empty := t.TempDir()
	if code, _, errs := cli(t, "report", empty); code != 1 || !strings.Contains(errs, "no saved results") {
		t.Errorf("a directory without results: exit %d\n%s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(empty, "claims")); !os.IsNotExist(err) {
		t.Errorf("a claims folder was made in a directory without results (%v)", err)
	}
}

// TestReportClaimsOutDir runs two 'pmeter report --out DIR' of different runs into one DIR at once: the
// first is held mid-command as in TestReportClaimsRunDir, and the second is refused, naming DIR and the
// first, and writes nothing. Once the first has ended, the second works; a killed report's claim on DIR
// is taken over. The files of DIR that pmeter did not write are kept: a report that would write over one
// is refused, naming it, and a claims folder that pmeter did not make is refused, not used.
func TestReportClaimsOutDir(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tiny.yaml")
	if err := os.WriteFile(cfg, []byte(tinyRun), 0o644); err != nil {
		t.Fatal(err)
	}
	runA, runB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if code, out, errs := cli(t, "run", cfg, "--out", runA); code != 0 {
		t.Fatalf("pmeter run: exit %d\n%s\n%s", code, out, errs)
	}
	if err := os.CopyFS(runB, os.DirFS(runA)); err != nil { // a second run, as far as pmeter report can tell
		t.Fatal(err)
	}
	out := filepath.Join(dir, "shared")
	summary := filepath.Join(out, "summary.json")

	finishFirst := holdReport(t, runA, "--out", out)
	written, err := os.Stat(summary)
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, errs := cli(t, "report", runB, "--out", out, "--seed", "5")
	for _, want := range []string{"report directory " + out + " is in use", fmt.Sprintf("pid %d", os.Getpid()), "pmeter report (claim file " + filepath.Join(out, "claims")} {
		if !strings.Contains(errs, want) {
			t.Errorf("the second report's error lacks %q: exit %d\n%s%s", want, code, stdout, errs)
		}
	}
	if code != 1 || stdout != "" {
		t.Errorf("the second report: exit %d, stdout %q; want 1 and nothing", code, stdout)
	}
	if fi, err := os.Stat(summary); err != nil || !fi.ModTime().Equal(written.ModTime()) {
		t.Errorf("the refused report wrote %s (%v)", summary, err)
	}
	if code, rest, firstErr := finishFirst(); code != 0 || !strings.Contains(rest, "wrote "+filepath.Join(out, "index.html")) {
		t.Fatalf("the first report: exit %d\n%s\n%s", code, rest, firstErr)
	}

	// After the first: the second run's report works, and leaves no claim behind.
	if code, stdout, errs := cli(t, "report", runB, "--out", out, "--seed", "5"); code != 0 {
		t.Fatalf("a report after the first ended: exit %d\n%s%s", code, stdout, errs)
	}
	if b, err := os.ReadFile(summary); err != nil || !bytes.Contains(b, []byte(`"bootstrap_seed": 5`)) {
		t.Errorf("the later report did not rewrite %s with seed 5 (%v)", summary, err)
	}
	if left, _ := filepath.Glob(filepath.Join(out, "claims", "*.json")); len(left) != 0 {
		t.Errorf("claim files left: %v", left)
	}

	// A killed report's claim on DIR is taken over, and its temporary files removed.
	stale, pid, host, b := staleReportClaim(t, out)
	temp := filepath.Join(out, "plots", ".roc.png.tmp123456")
	if err := os.WriteFile(temp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, errs = cli(t, "report", runA, "--out", out)
	if code != 0 || !strings.Contains(errs, fmt.Sprintf("report directory %s: taking over the stale claim of pid %d on host %s", out, pid, host)) {
		t.Errorf("after a killed report: exit %d\n%s%s", code, stdout, errs)
	}
	for _, f := range []string{stale, temp} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s is still there (%v)", f, err)
		}
	}

	// A folder with files of its own: a report writes beside them, never over them.
	mine := filepath.Join(dir, "mine")
	if err := os.MkdirAll(filepath.Join(mine, "claims"), 0o755); err != nil {
		t.Fatal(err)
	}
	own := map[string]string{"notes.txt": "my notes", ".x.tmp1": "not pmeter's", "claims/2024-1-1.json": `{"claimant": "someone"}`}
	for name, text := range own {
		if err := os.WriteFile(filepath.Join(mine, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if code, _, errs := cli(t, "report", runA, "--out", mine); code != 1 || !strings.Contains(errs, filepath.Join(mine, "claims")+" was not made by pmeter") {
		t.Errorf("a claims folder pmeter did not make: exit %d\n%s", code, errs)
	}
	if err := os.Rename(filepath.Join(mine, "claims"), filepath.Join(dir, "their-claims")); err != nil {
		t.Fatal(err)
	}
	delete(own, "claims/2024-1-1.json")
	if err := os.WriteFile(filepath.Join(mine, "index.html"), []byte("<p>mine</p>"), 0o644); err != nil {
		t.Fatal(err)
	}
	own["index.html"] = "<p>mine</p>"
	if code, _, errs := cli(t, "report", runA, "--out", mine); code != 1 || !strings.Contains(errs, filepath.Join(mine, "index.html")+" exists and was not written by pmeter") {
		t.Errorf("a page pmeter did not write: exit %d\n%s", code, errs)
	}
	if left, _ := os.ReadDir(mine); len(left) != len(own) {
		var names []string
		for _, e := range left {
			names = append(names, e.Name())
		}
		t.Errorf("the refused report left %v in %s; want its own files alone", names, mine)
	}
	if err := os.Remove(filepath.Join(mine, "index.html")); err != nil {
		t.Fatal(err)
	}
	delete(own, "index.html")
	if code, stdout, errs := cli(t, "report", runA, "--out", mine); code != 0 {
		t.Errorf("a folder with other files: exit %d\n%s%s", code, stdout, errs)
	}
	for name, text := range own {
		if b, err := os.ReadFile(filepath.Join(mine, name)); err != nil || string(b) != text {
			t.Errorf("%s: %q, %v; want it kept as %q", name, b, err, text)
		}
	}

	// --out naming RUN_DIR/report is RUN_DIR's claim alone: no claims folder is made in the report.
	if code, stdout, errs := cli(t, "report", runA, "--out", filepath.Join(runA, "report", ".")); code != 0 {
		t.Fatalf("--out RUN_DIR/report: exit %d\n%s%s", code, stdout, errs)
	}
	if _, err := os.Stat(filepath.Join(runA, "report", "claims")); !os.IsNotExist(err) {
		t.Errorf("a claims folder was made in RUN_DIR/report (%v)", err)
	}
}

// TestReportClaimsWhatItWrites: a report into another run's report folder (--out RUN_B/report) and
// that run's own report are never let in at once, and a report leaves behind nothing it made that it
// did not mean to keep: no claims folder in a folder of saved results, no new --out folder after a
// failure.
func TestReportClaimsWhatItWrites(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tiny.yaml")
	if err := os.WriteFile(cfg, []byte(tinyRun), 0o644); err != nil {
		t.Fatal(err)
	}
	runA, runB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, r := range []string{runA, runB} {
		if code, out, errs := cli(t, "run", cfg, "--out", r); code != 0 {
			t.Fatalf("pmeter run: exit %d\n%s\n%s", code, out, errs)
		}
	}

	// report a --out b/report (spelled with a symbolic link) holds b: report b is refused, and the
	// other way round.
	link := filepath.Join(dir, "b-report")
	if err := os.Symlink(filepath.Join(runB, "report"), link); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		first, second []string
		want          string
	}{
		{[]string{runA, "--out", link}, []string{runB}, "run directory " + runB + " is in use"},
		{[]string{runB}, []string{runA, "--out", filepath.Join(runB, "report") + "/"},
			"report directory " + filepath.Join(runB, "report") + "/ is the report folder of " + runB + ", so a report claims that: run directory " + runB + " is in use"},
	} {
		finish := holdReport(t, c.first...)
		code, stdout, errs := cli(t, append([]string{"report"}, c.second...)...)
		for _, want := range []string{c.want, fmt.Sprintf("pid %d", os.Getpid()), "pmeter report (claim file " + filepath.Join(runB, "claims")} {
			if !strings.Contains(errs, want) {
				t.Errorf("report %v while report %v runs: the error lacks %q: exit %d\n%s%s", c.second, c.first, want, code, stdout, errs)
			}
		}
		if code != 1 || stdout != "" {
			t.Errorf("report %v while report %v runs: exit %d, stdout %q; want 1 and nothing", c.second, c.first, code, stdout)
		}
		if code, rest, errs := finish(); code != 0 {
			t.Fatalf("report %v: exit %d\n%s\n%s", c.first, code, rest, errs)
		}
	}

	// A folder of saved results gets its report, and no claims folder.
	saved := filepath.Join(dir, "saved")
	if err := os.CopyFS(saved, os.DirFS(filepath.Join(runA, "results"))); err != nil {
		t.Fatal(err)
	}
	if code, stdout, errs := cli(t, "report", saved); code != 0 || !strings.Contains(stdout, "wrote "+filepath.Join(saved, "report", "index.html")) {
		t.Fatalf("report of saved results: exit %d\n%s%s", code, stdout, errs)
	}
	if _, err := os.Stat(filepath.Join(saved, "claims")); !os.IsNotExist(err) {
		t.Errorf("a claims folder was left in the folder of saved results (%v)", err)
	}

	// A report into a new folder that fails leaves no folder behind; one that works leaves its report.
	for _, out := range []string{filepath.Join(dir, "new", "deep", "out"), filepath.Join(dir, "new", "report")} {
		if code, _, errs := cli(t, "report", runA, "--out", out, "--rank-by", "nope"); code != 1 || !strings.Contains(errs, `rank-by attack "nope"`) {
			t.Errorf("--rank-by nope: exit %d\n%s", code, errs)
		}
		if _, err := os.Stat(filepath.Join(dir, "new")); !os.IsNotExist(err) {
			t.Errorf("--out %s: a failed report left %s (%v)", out, filepath.Join(dir, "new"), err)
		}
		if code, _, errs := cli(t, "report", runA, "--out", out); code != 0 {
			t.Errorf("--out %s: exit %d\n%s", out, code, errs)
		}
		left, _ := filepath.Glob(filepath.Join(dir, "new", "*", "*"))
		if len(left) == 0 || slices.ContainsFunc(left, func(p string) bool { return filepath.Base(p) == "claims" }) {
			t.Errorf("--out %s: left %v; want the report and no claims folder", out, left)
		}
		if err := os.RemoveAll(filepath.Join(dir, "new")); err != nil {
			t.Fatal(err)
		}
	}
}

// holdReport starts 'pmeter report ARGS' and returns once it has printed a byte: its stdout is a pipe
// nobody reads yet, so it stops at its last line with its report written and its claim held. finish
// reads the rest and returns its exit status, stdout and stderr.
func holdReport(t *testing.T, args ...string) (finish func() (code int, stdout, stderr string)) {
	t.Helper()
	pr, pw := io.Pipe()
	var errs bytes.Buffer
	done := make(chan int, 1)
	go func() {
		code := run(context.Background(), append([]string{"report"}, args...), pw, &errs)
		pw.Close()
		done <- code
	}()
	head := make([]byte, 1)
	if _, err := io.ReadFull(pr, head); err != nil {
		t.Fatalf("the first report printed nothing: %v (%s)", err, errs.String())
	}
	return func() (int, string, string) {
		rest, _ := io.ReadAll(pr)
		code := <-done
		return code, string(head) + string(rest), errs.String()
	}
}

// staleReportClaim writes into dir/claims the claim of a 'pmeter report' whose process has ended (its
// lock free), with the claims folder's .lock as a killed report leaves it, and returns the file, the pid
// and host it names, and its contents.
func staleReportClaim(t *testing.T, dir string) (path string, pid int, host string, data []byte) {
	t.Helper()
	dead := exec.Command(os.Args[0], "-test.run=^$")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	pid = dead.Process.Pid
	host, _ = os.Hostname()
	path = filepath.Join(dir, "claims", fmt.Sprintf("%s-%d-1.json", host, pid))
	data = fmt.Appendf(nil, `{"pid": %d, "host": %q, "started": %q, "config": "", "command": "report"}`, pid, host, time.Now().UTC().Format(time.RFC3339))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if f, err := os.OpenFile(filepath.Join(dir, "claims", ".lock"), os.O_CREATE|os.O_WRONLY, 0o644); err != nil {
		t.Fatal(err)
	} else {
		f.Close()
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, pid, host, data
}
