package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pmeter/pmeter/report"
)

func TestConfigHash(t *testing.T) {
	a := tinyConfig(t, "a", 0)
	b := tinyConfig(t, "b", 3) // another run directory and worker count: the same files
	if a.Hash() != b.Hash() {
		t.Error("run.log_dir and run.workers change the configuration hash")
	}
	c := tinyConfig(t, "a", 0)
	c.Train.Epochs++
	if a.Hash() == c.Hash() {
		t.Error("train.epochs does not change the configuration hash")
	}
}

// TestClaimRefusesAnotherConfiguration holds a run directory for one configuration (as a running pmeter
// would, with its own open file and lock) and checks that a run of another configuration is refused
// before it writes anything, with the holder's pid, host, start time and config hash, that a run of the
// same configuration shares the directory, and that the other configuration runs once it is free.
func TestClaimRefusesAnotherConfiguration(t *testing.T) {
	dir := t.TempDir()
	a := tinyConfig(t, dir, 0)
	b := tinyConfig(t, dir, 0)
	b.Train.Epochs = 3
	held, err := ClaimDir(dir, a, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	_, err = Run(context.Background(), b, Options{})
	if err == nil {
		t.Fatal("a run of another configuration was not refused")
	}
	for _, want := range []string{"in use by another configuration", fmt.Sprintf("pid %d", os.Getpid()), "host " + host, "started 20",
		"config " + a.Hash()[:12], "run.log_dir"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	for _, f := range []string{"metadata.json", "memberships.npy", "models"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the refused run wrote %s", f)
		}
	}

	// The same configuration (another worker count) shares the directory.
	var log strings.Builder
	if _, err := Run(context.Background(), tinyConfig(t, dir, 1), Options{Log: &log}); err != nil {
		t.Fatalf("a run of the same configuration: %v", err)
	}
	if !strings.Contains(log.String(), fmt.Sprintf("shared with pid %d", os.Getpid())) {
		t.Errorf("the log does not say the directory is shared:\n%s", log.String())
	}

	held.Release()
	res, err := Run(context.Background(), b, Options{})
	if err != nil {
		t.Fatalf("after the claim is released: %v", err)
	}
	if res.Trained == 0 || res.Trained != len(res.Models) {
		t.Errorf("the second configuration trained %d of its %d models, want all", res.Trained, len(res.Models))
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ClaimsDir, "*.json")); len(left) != 0 {
		t.Errorf("claim files left after the runs: %v", left)
	}
}

// deadPID returns the pid of a process that has ended.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// writeHolder writes a claim file as a process that has been killed leaves it: no lock held, and the
// claims folder's .lock, which every claim makes first.
func writeHolder(t *testing.T, dir string, h Holder) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, ClaimsDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ClaimsDir, ".lock"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, ClaimsDir, fmt.Sprintf("%s-%d-1.json", h.Host, h.PID))
	b, _ := json.Marshal(h)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestClaimTakesOverStaleClaim leaves the claim of a killed process of another configuration on this
// host, and the temporary files of its interrupted writes: the next run takes the directory over, says
// so, and removes those temporary files (and no other file).
func TestClaimTakesOverStaleClaim(t *testing.T) {
	dir := t.TempDir()
	host, _ := os.Hostname()
	pid := deadPID(t)
	stale := writeHolder(t, dir, Holder{PID: pid, Host: host, Started: time.Now().Add(-time.Hour), Config: "0123456789abcdef"})
	if err := os.MkdirAll(filepath.Join(dir, "signals"), 0o755); err != nil {
		t.Fatal(err)
	}
	temp := filepath.Join(dir, "signals", ".abc-audit.npy.tmp123456")
	keep := filepath.Join(dir, "signals", ".keep")
	for _, f := range []string{temp, keep} {
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var log strings.Builder
	if _, err := Run(context.Background(), tinyConfig(t, dir, 0), Options{Log: &log}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{fmt.Sprintf("taking over the stale claim of pid %d on host %s", pid, host), "config 0123456789ab",
		"removed 1 temporary file left by an interrupted run"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, log.String())
		}
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Error("the stale claim file is still there")
	}
	if _, err := os.Stat(temp); !errors.Is(err, os.ErrNotExist) {
		t.Error("the temporary file of the killed run is still there")
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("a file pmeter did not write was removed: %v", err)
	}
}

// TestClaimOnAnotherHost: an unlocked claim written on another host may belong to a live process
// (file locks do not reach across every shared file system), so another configuration is refused with
// the file to delete, and the same configuration goes ahead.
func TestClaimOnAnotherHost(t *testing.T) {
	dir := t.TempDir()
	a := tinyConfig(t, dir, 0)
	a.Audit.Attacks = []AttackConfig{{Name: "loss"}}
	path := writeHolder(t, dir, Holder{PID: 4242, Host: "elsewhere.example", Started: time.Now(), Config: "fedcba9876543210"})
	_, err := Run(context.Background(), a, Options{})
	if err == nil || !strings.Contains(err.Error(), "pid 4242 on host elsewhere.example") || !strings.Contains(err.Error(), path) ||
		!strings.Contains(err.Error(), "delete the file") {
		t.Errorf("error %v, want one naming the holder on the other host and the file to delete", err)
	}
	writeHolder(t, dir, Holder{PID: 4242, Host: "elsewhere.example", Started: time.Now(), Config: a.Hash()})
	if _, err := Run(context.Background(), a, Options{}); err != nil {
		t.Errorf("the same configuration, claimed on another host: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the other host's claim was removed: %v", err)
	}
}

// TestClaimRefusesForeignDirectory: a run never writes over files in a directory that is not a pmeter run
// directory, and leaves nothing behind there; an empty directory or one with other files is fine.
func TestClaimRefusesForeignDirectory(t *testing.T) {
	c := tinyConfig(t, t.TempDir(), 0)
	for _, name := range []string{"metadata.json", "run.json", "models", "scores_loss.npy", "duci_scores.npy"} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, name), []byte("mine"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ClaimDir(dir, c, t.Logf)
		if err == nil || !strings.Contains(err.Error(), "not a pmeter run directory") || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v", name, err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, name)); string(b) != "mine" {
			t.Errorf("%s was changed", name)
		}
		if _, err := os.Stat(filepath.Join(dir, ClaimsDir)); err == nil {
			t.Errorf("%s: a claims folder was made in a foreign directory", name)
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	cl, err := ClaimDir(dir, c, t.Logf)
	if err != nil {
		t.Fatalf("a directory with unrelated files: %v", err)
	}
	cl.Release()
}

// TestClaimReport checks pmeter report's claim against every kind of holder: it holds a run directory
// alone, so a live report or run (of any configuration) refuses it with the holder named, and a report
// refuses a run; a killed process's claim, report or run, is taken over as ClaimDir takes it over.
func TestClaimReport(t *testing.T) {
	host, _ := os.Hostname()
	pid := deadPID(t)
	for _, c := range []struct {
		name string
		// hold claims dir as another process would (a live holder) or leaves a killed one's file.
		hold func(t *testing.T, dir string) (release func())
		// claimRun: the second claim is a run's (ClaimDir) rather than a report's.
		claimRun bool
		want     []string // in the error; none: the claim is taken
		log      string   // in the log
		// lingers: the holder's file outlives release (another host's claim), so the claim is not retried.
		lingers bool
	}{
		{name: "report while a report runs", hold: holdReport,
			want: []string{"is in use: pid " + fmt.Sprint(os.Getpid()), "host " + host, "pmeter report (claim file", "wait for it to finish"}},
		{name: "report while a run runs", hold: holdRun,
			want: []string{"is in use: pid " + fmt.Sprint(os.Getpid()), "config ", "(claim file", "pmeter report holds a run directory alone"}},
		{name: "run while a report runs", hold: holdReport, claimRun: true,
			want: []string{"is in use: pid " + fmt.Sprint(os.Getpid()), "pmeter report (claim file", "run.log_dir (--out)"}},
		{name: "report after a killed report", hold: func(t *testing.T, dir string) func() {
			writeHolder(t, dir, Holder{PID: pid, Host: host, Started: time.Now().Add(-time.Hour), Command: reportCommand})
			return func() {}
		}, log: fmt.Sprintf("taking over the stale claim of pid %d on host %s, started 20", pid, host)},
		{name: "run after a killed report", claimRun: true, hold: func(t *testing.T, dir string) func() {
			writeHolder(t, dir, Holder{PID: pid, Host: host, Started: time.Now().Add(-time.Hour), Command: reportCommand})
			return func() {}
		}, log: fmt.Sprintf("taking over the stale claim of pid %d on host %s", pid, host)},
		{name: "report after a killed run", hold: func(t *testing.T, dir string) func() {
			writeHolder(t, dir, Holder{PID: pid, Host: host, Started: time.Now().Add(-time.Hour), Config: "0123456789abcdef"})
			return func() {}
		}, log: fmt.Sprintf("taking over the stale claim of pid %d on host %s", pid, host)},
		{name: "report on another host's report", hold: func(t *testing.T, dir string) func() {
			writeHolder(t, dir, Holder{PID: 4242, Host: "elsewhere.example", Started: time.Now(), Command: reportCommand})
			return func() {}
		}, want: []string{"pid 4242 on host elsewhere.example", "pmeter report (claim file", "delete the file"}, lingers: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			release := c.hold(t, dir)
			var log strings.Builder
			logf := func(format string, a ...any) { fmt.Fprintf(&log, format+"\n", a...) }
			var cl *Claim
			var err error
			if c.claimRun {
				cl, err = ClaimDir(dir, tinyConfig(t, dir, 0), logf)
			} else {
				cl, err = ClaimReport(dir, "", logf)
			}
			if len(c.want) > 0 {
				if err == nil {
					t.Fatal("the claim was not refused")
				}
				for _, w := range append(c.want, "run directory "+dir) {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				release()
				// Once the holder is gone, the same claim is taken.
				if !c.lingers {
					if c.claimRun {
						cl, err = ClaimDir(dir, tinyConfig(t, dir, 0), logf)
					} else {
						cl, err = ClaimReport(dir, "", logf)
					}
					if err != nil {
						t.Fatalf("after the holder ended: %v", err)
					}
					cl.Release()
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Release()
			if !strings.Contains(log.String(), c.log) {
				t.Errorf("the log lacks %q:\n%s", c.log, log.String())
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ClaimsDir, "*.json")); len(left) != 1 {
				t.Errorf("claim files %v, want this process's alone", left)
			}
		})
	}

	// A report's claim makes no run directory: one that does not exist is an error naming it.
	missing := filepath.Join(t.TempDir(), "nope")
	if _, err := ClaimReport(missing, "", t.Logf); err == nil || !strings.Contains(err.Error(), "run directory "+missing) {
		t.Errorf("a missing directory: %v", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Error("ClaimReport created the missing directory")
	}
}

// holdReport and holdRun claim dir as a live pmeter report and pmeter run would (their own open file and
// lock, as another process holds them), and return the release.
func holdReport(t *testing.T, dir string) func() {
	cl, err := ClaimReport(dir, "", t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	return cl.Release
}

func holdRun(t *testing.T, dir string) func() {
	cl, err := ClaimDir(dir, tinyConfig(t, dir, 0), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	return cl.Release
}

// claimOut claims dir as pmeter report --out dir of a run in a folder of its own claims it.
func claimOut(t *testing.T, dir string, logf func(string, ...any)) (*Claim, error) {
	return ClaimReport(t.TempDir(), dir, logf)
}

// TestClaimReportDir: the folder of pmeter report --out DIR is claimed as a run directory is by a
// report (alone; another report, or a run whose directory it is, is refused naming DIR and the holder;
// a killed report's claim is taken over), and is made when missing. Of the temporary files there, only
// those of files a report writes are removed, the plots' only once DIR holds a membership report.
func TestClaimReportDir(t *testing.T) {
	host, _ := os.Hostname()
	pid := deadPID(t)
	for _, c := range []struct {
		name string
		hold func(t *testing.T, dir string) (release func())
		want []string // in the error; none: the claim is taken
	}{
		{"while a report writes there", func(t *testing.T, dir string) func() {
			cl, err := claimOut(t, dir, t.Logf)
			if err != nil {
				t.Fatal(err)
			}
			return cl.Release
		}, []string{"report directory ", " is in use: pid " + fmt.Sprint(os.Getpid()), "pmeter report (claim file", "pmeter report holds a report directory alone"}},
		{"while a report of the run there runs", holdReport, []string{" is in use: pid " + fmt.Sprint(os.Getpid()), "pmeter report (claim file"}},
		{"while a run there runs", holdRun, []string{" is in use: pid " + fmt.Sprint(os.Getpid()), "config "}},
		{"after a killed report", func(t *testing.T, dir string) func() {
			writeHolder(t, dir, Holder{PID: pid, Host: host, Started: time.Now().Add(-time.Hour), Command: reportCommand})
			return func() {}
		}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			release := c.hold(t, dir)
			var log strings.Builder
			logf := func(format string, a ...any) { fmt.Fprintf(&log, format+"\n", a...) }
			cl, err := claimOut(t, dir, logf)
			if c.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				cl.Release()
				if want := fmt.Sprintf("report directory %s: taking over the stale claim of pid %d on host %s", dir, pid, host); !strings.Contains(log.String(), want) {
					t.Errorf("the log lacks %q:\n%s", want, log.String())
				}
				return
			}
			if err == nil {
				t.Fatal("the claim was not refused")
			}
			for _, w := range append(c.want, "report directory "+dir+" is in use") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			release()
			cl, err = claimOut(t, dir, logf)
			if err != nil {
				t.Fatalf("after the holder ended: %v", err)
			}
			cl.Release()
		})
	}

	t.Run("temporary files", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "new", "out")
		cl, err := claimOut(t, dir, t.Logf)
		if err != nil {
			t.Fatalf("a missing folder: %v", err)
		}
		cl.Release()
		if err := os.MkdirAll(filepath.Join(dir, "plots"), 0o755); err != nil {
			t.Fatal(err)
		}
		gone := []string{".index.html.tmp123", ".summary.json.tmp4", ".llm.html.tmp56"}
		kept := []string{".notes.txt.tmp1", "plots/.roc.png.tmp7", "index.html.tmp8"}
		for _, f := range append(gone, kept...) {
			if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		check := func(gone, kept []string) {
			t.Helper()
			cl, err := claimOut(t, dir, t.Logf)
			if err != nil {
				t.Fatal(err)
			}
			cl.Release()
			for _, f := range gone {
				if _, err := os.Stat(filepath.Join(dir, f)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s is still there (%v)", f, err)
				}
			}
			for _, f := range kept {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("%s was removed: %v", f, err)
				}
			}
		}
		check(gone, kept)
		// With a membership report's manifest, the plots folder is the report's.
		if err := os.WriteFile(filepath.Join(dir, report.ManifestFile), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
		check(kept[1:2], []string{kept[0], kept[2]})
	})

	// A claims folder that pmeter did not make is refused, by every claim, and its files are kept.
	for _, claim := range []func(dir string) (*Claim, error){
		func(dir string) (*Claim, error) { return claimOut(t, dir, t.Logf) },
		func(dir string) (*Claim, error) { return ClaimReport(dir, "", t.Logf) },
		func(dir string) (*Claim, error) { return ClaimDir(dir, tinyConfig(t, dir, 0), t.Logf) },
	} {
		dir := t.TempDir()
		mine := filepath.Join(dir, ClaimsDir, "2024-1-1.json")
		if err := os.MkdirAll(filepath.Dir(mine), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(mine, []byte(`{"claimant": "someone"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := claim(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, ClaimsDir)+" was not made by pmeter") {
			t.Errorf("a foreign claims folder: %v", err)
		}
		if _, err := os.Stat(mine); err != nil {
			t.Errorf("%s was removed: %v", mine, err)
		}
		// A file called claims, the same.
		dir = t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, ClaimsDir), []byte("mine"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := claim(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, ClaimsDir)+" is not a folder") {
			t.Errorf("a file called claims: %v", err)
		}
	}
}

// TestReportOwner: the folder whose claim covers a report's output is the folder P for P/report however
// it is spelled (trailing slash, dot, symbolic link) when P is pmeter's (a run directory, saved results),
// missing or empty, and the output folder itself otherwise (a folder of other files, the root).
func TestReportOwner(t *testing.T) {
	root := t.TempDir()
	run := filepath.Join(root, "run")
	for path, text := range map[string]string{
		"run/claims/.lock": "", "run/report/index.html": "", // a run directory: pmeter's claims folder
		"meta/metadata.json":          `{"version": 1, "config": {}, "models": 4}`, // a run of a pmeter before claims
		"saved/results.json":          "{}",                                        // a folder of saved results
		"nested/results/results.json": "{}",
		"text/run.json":               "{}",
		"home/notes.txt":              "mine", // a folder of other files
		"theirs/claims/2024.json":     "{}",   // a claims folder that is not pmeter's
		"fake/metadata.json":          `{"mine": true}`,
		"empty/.keep":                 "",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, path), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(filepath.Join(root, "empty", ".keep")); err != nil {
		t.Fatal(err)
	}
	for _, l := range [][2]string{{"link-report", filepath.Join(run, "report")}, {"link-run", run}} {
		if err := os.Symlink(l[1], filepath.Join(root, l[0])); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ out, want string }{
		{"run/report", "run"},
		{"run/report/", "run"},
		{"run/report/.", "run"},
		{"run/x/../report", "run"},
		{"link-report", "run"},
		{"link-run/report", "run"},
		{"meta/report", "meta"},
		{"saved/report", "saved"},
		{"nested/report", "nested"},
		{"text/report", "text"},
		{"new/report", "new"},     // not there yet: a run may make it
		{"empty/report", "empty"}, // the same
		{"home/report", "home/report"},
		{"theirs/report", "theirs/report"},
		{"fake/report", "fake/report"},
		{"link-run/new/deeper", "run/new/deeper"},
		{"run/reports", "run/reports"},
		{"run", "run"},
	} {
		want, err := resolve(filepath.Join(root, c.want))
		if err != nil {
			t.Fatal(err)
		}
		got, err := ReportOwner(filepath.Join(root, c.out))
		if err != nil || got != want {
			t.Errorf("ReportOwner(%s) = %s, %v; want %s", c.out, got, err, want)
		}
	}
	if got, err := ReportOwner("/report"); err != nil || got != "/report" {
		t.Errorf("ReportOwner(/report) = %s, %v; want itself, not the root", got, err)
	}
}

// TestClaimReportOverlap: two commands that write one folder are never both let in, whatever folders
// they name: the second is refused, naming the folder and the first. Commands that write different
// folders are both let in.
func TestClaimReportOverlap(t *testing.T) {
	type cmd struct {
		run    bool   // pmeter run on dir A or B, rather than pmeter report
		runDir string // "a", "b" (under the test's folder) or a spelling of one
		out    string // report --out, relative to the test's folder ("": RUN_DIR/report)
	}
	for _, c := range []struct {
		name          string
		first, second cmd
		want          string // the second's error names this; "": the second is let in
	}{
		{"report a --out b/report, then report b", cmd{runDir: "a", out: "b/report"}, cmd{runDir: "b"}, "run directory B is in use: pid"},
		{"report b, then report a --out b/report", cmd{runDir: "b"}, cmd{runDir: "a", out: "b/report"},
			"report directory B/report is the report folder of B, so a report claims that: run directory B is in use: pid"},
		{"report a --out b/./report/, then run b", cmd{runDir: "a", out: "b/./report/"}, cmd{run: true, runDir: "b"}, "run directory B is in use: pid"},
		{"run b, then report a --out b/report", cmd{run: true, runDir: "b"}, cmd{runDir: "a", out: "b/report"}, "is in use: pid"},
		{"report a --out link (to b/report), then report b", cmd{runDir: "a", out: "link"}, cmd{runDir: "b"}, "run directory B is in use: pid"},
		{"report a --out shared, then report b --out shared", cmd{runDir: "a", out: "shared"}, cmd{runDir: "b", out: "shared"}, "report directory SHARED is in use"},
		{"report a --out new/report, then report b --out new/report", cmd{runDir: "a", out: "new/report"}, cmd{runDir: "b", out: "new/report"}, "run directory NEW is in use"},
		{"report a --out b, then report b", cmd{runDir: "a", out: "b"}, cmd{runDir: "b"}, "run directory B is in use"},
		{"report a --out home/report, then report b --out home/report", cmd{runDir: "a", out: "home/report"}, cmd{runDir: "b", out: "home/report"}, "report directory HOME/report is in use"},
		{"report a --out shared, then report b --out other", cmd{runDir: "a", out: "shared"}, cmd{runDir: "b", out: "other"}, ""},
		{"report a --out b/compare, then report b", cmd{runDir: "a", out: "b/compare"}, cmd{runDir: "b"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, d := range []string{"a", "b/report", "b/claims", "home"} { // b: a run directory (pmeter run made b/claims)
				if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for _, f := range []string{"b/claims/.lock", "home/notes.txt"} { // home: a folder of other files
				if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Symlink(filepath.Join(dir, "b", "report"), filepath.Join(dir, "link")); err != nil {
				t.Fatal(err)
			}
			take := func(x cmd) (*Claim, error) {
				if x.run {
					return ClaimDir(filepath.Join(dir, x.runDir), tinyConfig(t, filepath.Join(dir, x.runDir), 0), t.Logf)
				}
				out := ""
				if x.out != "" {
					out = filepath.Join(dir, x.out)
				}
				return ClaimReport(filepath.Join(dir, x.runDir), out, t.Logf)
			}
			first, err := take(c.first)
			if err != nil {
				t.Fatal(err)
			}
			second, err := take(c.second)
			if c.want == "" {
				if err != nil {
					t.Fatalf("the second was refused: %v", err)
				}
				second.Release()
				first.Release()
				return
			}
			want := strings.NewReplacer("B", filepath.Join(dir, "b"), "SHARED", filepath.Join(dir, "shared"), "NEW", filepath.Join(dir, "new"), "HOME", filepath.Join(dir, "home")).Replace(c.want)
			if err == nil {
				second.Release()
				t.Fatalf("the second was let in; want an error with %q", want)
			}
			for _, w := range []string{want, fmt.Sprint(os.Getpid()), "(claim file "} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			first.Release()
			if second, err = take(c.second); err != nil {
				t.Fatalf("after the first ended: %v", err)
			}
			second.Release()
		})
	}
}

// TestClaimReportTidy: a report's claims leave behind nothing they created — claims folders, lock files,
// folders that stayed empty — and remove nothing they did not create: a run's claims folder, a claims
// folder already there, a folder that holds the report.
func TestClaimReportTidy(t *testing.T) {
	for _, c := range []struct {
		name   string
		setup  []string // folders, and files (with a dot in the name), made before the claim
		runDir string
		out    string
		write  string   // a file written while the claim is held (the report), relative to the test's folder
		held   string   // another report holds --out this folder through it all ("": none)
		left   []string // everything under the test's folder after Release, besides setup and write
	}{
		{name: "saved results", setup: []string{"saved/results.json"}, runDir: "saved", write: "saved/report/index.html", left: []string{"saved/report"}},
		{name: "saved results, report failed", setup: []string{"saved/results.json"}, runDir: "saved"},
		{name: "new --out, report failed", setup: []string{"run/results/results.json"}, runDir: "run", out: "new/deep/out"},
		{name: "new --out", setup: []string{"run/results/results.json"}, runDir: "run", out: "new/out", write: "new/out/index.html", left: []string{"new", "new/out"}},
		{name: "new --out NEW/report, report failed", setup: []string{"run/results/results.json"}, runDir: "run", out: "new/report"},
		{name: "--out HOME/report, HOME a folder of other files", setup: []string{"run/results/results.json", "home/notes.txt"}, runDir: "run", out: "home/report",
			write: "home/report/index.html", left: []string{"home/report"}},
		{name: "--out HOME/report, report failed", setup: []string{"run/results/results.json", "home/notes.txt"}, runDir: "run", out: "home/report"},
		{name: "a run's claims stay", setup: []string{"run/claims/.lock", "run/results/results.json"}, runDir: "run", write: "run/report/index.html", left: []string{"run/report"}},
		{name: "an existing --out keeps its claims folder", setup: []string{"run/results/results.json", "out/claims/.lock"}, runDir: "run", out: "out"},
		{name: "an existing empty --out stays", setup: []string{"run/results/results.json", "out"}, runDir: "run", out: "out"},
		{name: "refused: nothing made", setup: []string{"run/results/results.json"}, runDir: "run", out: "new/out", held: "run"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			want := map[string]bool{}
			for _, p := range c.setup {
				path := filepath.Join(dir, p)
				if strings.Contains(filepath.Base(p), ".") {
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, nil, 0o644); err != nil {
						t.Fatal(err)
					}
				} else if err := os.MkdirAll(path, 0o755); err != nil {
					t.Fatal(err)
				}
				for q := p; q != "."; q = filepath.Dir(q) {
					want[q] = true
				}
			}
			for _, p := range c.left {
				want[p] = true
			}
			if c.write != "" {
				want[c.write] = true
			}
			var other *Claim
			if c.held != "" {
				var err error
				if other, err = ClaimReport(filepath.Join(dir, c.held), "", t.Logf); err != nil {
					t.Fatal(err)
				}
			}
			out := ""
			if c.out != "" {
				out = filepath.Join(dir, c.out)
			}
			cl, err := ClaimReport(filepath.Join(dir, c.runDir), out, t.Logf)
			switch {
			case c.held != "" && err == nil:
				t.Fatal("the claim was not refused")
			case c.held != "":
				other.Release()
			case err != nil:
				t.Fatal(err)
			default:
				if c.write != "" {
					if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, c.write)), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(dir, c.write), []byte("report"), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				cl.Release()
				cl.Release() // a second Release does nothing
			}
			got := map[string]bool{}
			filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
				if rel, _ := filepath.Rel(dir, path); rel != "." && err == nil {
					got[rel] = true
				}
				return err
			})
			for p := range got {
				if !want[p] {
					t.Errorf("%s is left behind", p)
				}
			}
			for p := range want {
				if !got[p] {
					t.Errorf("%s was removed", p)
				}
			}
		})
	}
}

// TestLockClaimsAfterRemoval: a process waiting for claims/.lock while its holder removes it (a tidy
// claim's Release) does not keep the lock of the removed file, which would let a later process lock a new
// one at the same time: it locks the file that is there now.
func TestLockClaimsAfterRemoval(t *testing.T) {
	dir := t.TempDir()
	lock := filepath.Join(dir, ClaimsDir, ".lock")
	if err := os.MkdirAll(filepath.Dir(lock), 0o755); err != nil {
		t.Fatal(err)
	}
	held, err := os.OpenFile(lock, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := lockFile(held, true); errors.Is(err, errNoLocks) {
		t.Skip("no file locks here")
	} else if err != nil {
		t.Fatal(err)
	}
	type result struct {
		mu  *os.File
		err error
	}
	done := make(chan result, 1)
	c := &Claim{dir: dir}
	go func() {
		mu, err := c.lockClaims()
		done <- result{mu, err}
	}()
	time.Sleep(100 * time.Millisecond) // the other is waiting on the lock by now, as a rule
	if err := os.Remove(lock); err != nil {
		t.Fatal(err)
	}
	held.Close() // releases the lock of the removed file
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.mu.Close()
	got, err1 := r.mu.Stat()
	there, err2 := os.Stat(lock)
	if err1 != nil || err2 != nil || !os.SameFile(got, there) {
		t.Errorf("the lock taken is not on %s as it is now (%v, %v)", lock, err1, err2)
	}
	if !c.madeLock {
		t.Error("the claim made the new lock file but does not know it")
	}
}
