package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pmeter/pmeter/report"
)

// A run directory belongs to one configuration at a time. Every process that writes into it (pmeter
// run, and later pmeter task) first claims it: it writes a holder file claims/<host>-<pid>-<time>.json
// (pid, host, start time, config hash) and holds an exclusive flock(2) on that file until it ends.
// Processes with the same configuration hash may hold the directory together, since everything they
// write is content-addressed and written atomically; a process with another configuration is refused
// with the holders' details, since the two would leave a directory of mixed metadata and results.
// pmeter report claims the directory alone (ClaimReport; command "report" in its holder file): it
// rewrites report/ from results/ through fixed temporary names, so it shares the directory with no
// other report and with no run, which writes both. With --out DIR it also claims DIR alone
// (ClaimReportDir), so that two reports, of one run or of two, never write into one folder at once.
//
// A claims folder that pmeter did not make (it has no claims/.lock, which every claim makes first) is
// refused, not used: taking over stale claims removes holder files, and pmeter removes no file it did
// not create.
//
// flock was chosen over an O_EXCL lock file with a pid liveness check because the kernel releases it
// when its process dies, however it dies, so a claim is live exactly while its lock is held: a kill -9
// leaves a holder file whose lock anyone can take, and pid reuse cannot keep a dead claim alive. The
// holder files are examined under a second flock (claims/.lock), so two processes never decide at the
// same time. Where a holder on another host wrote the file, a free lock is not trusted (file systems
// shared between hosts do not all carry locks across), and the message says which file to delete if
// that process is gone.

// ClaimsDir is the folder of a run directory that holds its claims.
const ClaimsDir = "claims"

// Holder describes a process that claims a run directory.
type Holder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
	// Config is the configuration's hash (Config.Hash); ConfigFile the file it came from, if any.
	Config     string `json:"config"`
	ConfigFile string `json:"config_file,omitempty"`
	// Command is "report" for pmeter report's claim (ClaimReport) and "attack" for pmeter attack's
	// (ClaimAttackDir), which hold the directory alone, and empty for a run's (ClaimDir).
	// Holder files written before this field are runs'.
	Command string `json:"command,omitempty"`
}

// reportCommand is Holder.Command of pmeter report's claim; attackCommand that of pmeter attack's on an
// LLM bundle (ClaimAttackDir).
const (
	reportCommand = "report"
	attackCommand = "attack"
)

// exclusive reports whether h holds its directory alone.
func (h Holder) exclusive() bool { return h.Command != "" }

func (h Holder) String() string {
	if h.exclusive() {
		return fmt.Sprintf("pid %d on host %s, started %s, pmeter %s", h.PID, h.Host, h.Started.Format(time.RFC3339), h.Command)
	}
	s := fmt.Sprintf("pid %d on host %s, started %s, config %s", h.PID, h.Host, h.Started.Format(time.RFC3339), shortHash(h.Config))
	if h.ConfigFile != "" {
		s += " (" + h.ConfigFile + ")"
	}
	return s
}

func shortHash(h string) string { return h[:min(12, len(h))] }

// Hash identifies what a configuration writes into its run directory: the SHA-256 of its YAML without
// the settings that change no file there (run.workers, run.log_dir, run.time_log).
func (c *Config) Hash() string {
	cc := *c
	cc.Run.Workers, cc.Run.LogDir, cc.Run.TimeLog = 0, "", nil
	b, err := yaml.Marshal(&cc)
	if err != nil {
		// Cannot happen for a config that was parsed from YAML; fall back on Go's rendering.
		b = fmt.Appendf(nil, "%#v", cc)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Claim is a process's claim on a run directory; Release gives it up.
type Claim struct {
	dir, path string
	f         *os.File
}

// ClaimDir claims run directory dir (creating it) for configuration c, as the comment above describes:
// it refuses, naming the holder, when a live process of another configuration holds the directory;
// shares it with processes of the same configuration; and takes over, saying so on logf, the claims
// of processes that are gone. When no other process holds the directory, it removes the temporary
// files that killed processes left behind (npy.WriteAtomic's .<name>.tmp* files).
//
// A directory that pmeter did not make a run directory is taken only when none of the names a run writes
// there exists already: pmeter never overwrites a file it did not write (foreignRunFiles).
func ClaimDir(dir string, c *Config, logf func(format string, a ...any)) (*Claim, error) {
	if err := foreignRunFiles(dir); err != nil {
		return nil, err
	}
	return claim(dir, "run directory", Holder{Config: c.Hash(), ConfigFile: c.file}, runTemps(), logf)
}

// ClaimReport claims run directory dir, which must exist, for pmeter report, which rebuilds its report:
// like ClaimDir, except that it holds the directory alone. It refuses, naming the holder, when any live
// process holds the directory (a report, or a run of any configuration), and takes over the claims of
// processes that are gone. A run started while a report holds the directory is refused the same way.
// dir may be a folder of saved results rather than a run directory (pmeter report reads either).
func ClaimReport(dir string, logf func(format string, a ...any)) (*Claim, error) {
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("run directory %s: %w", dir, err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("run directory %s is not a directory", dir)
	}
	return claim(dir, "run directory", Holder{Command: reportCommand}, runTemps(), logf)
}

// ClaimReportDir claims dir, the folder that pmeter report --out DIR writes a report into (creating
// it), as ClaimReport claims a run directory: alone, refusing, naming dir and the holder, when a live
// process holds it (a report of any run, or a run whose directory it is), and taking over the claims
// of processes that are gone. It also removes the temporary files that killed reports left there, but
// only those of the files a report writes (dir may hold files of its own): the pages, summary and
// records and the manifest, and the plots once dir holds a membership report (report.ManifestFile).
func ClaimReportDir(dir string, logf func(format string, a ...any)) (*Claim, error) {
	var sweep []string
	for _, name := range []string{report.HTMLFile, report.SummaryFile, report.RecordsFile, textPageName, usagePageName, report.ManifestFile} {
		sweep = append(sweep, "."+name+".tmp*")
	}
	if _, err := os.Stat(filepath.Join(dir, report.ManifestFile)); err == nil {
		sweep = append(sweep, filepath.Join(report.PlotsDir, ".*.png.tmp*"), filepath.Join(report.PlotsDir, ".*.svg.tmp*"))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report directory %s: %w", dir, err)
	}
	return claim(dir, "report directory", Holder{Command: reportCommand}, sweep, logf)
}

// ClaimAttackDir claims dir, the --out directory into which pmeter attack writes a language-model audit
// as a run directory (WriteTextRun), creating it: alone, as ClaimReport claims a run directory, so that
// neither a pmeter report of dir nor another attack or run writes there until it ends; the claims of
// processes that are gone are taken over.
func ClaimAttackDir(dir string, logf func(format string, a ...any)) (*Claim, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("run directory %s: %w", dir, err)
	}
	return claim(dir, "run directory", Holder{Command: attackCommand}, runTemps(), logf)
}

// runTemps returns the patterns of the temporary files that a run directory's writers may leave: any in
// the folders they write.
func runTemps() []string {
	var temps []string
	for _, sub := range []string{".", "models", "signals", report.ResultsDir, report.ReportDir, filepath.Join(report.ReportDir, report.PlotsDir), SubmitDir} {
		temps = append(temps, filepath.Join(sub, ".*.tmp*"))
	}
	return temps
}

// claim is ClaimDir, ClaimReport and ClaimReportDir once the directory is known to be one pmeter may
// write into; what names it in messages ("run directory"), me has the holder's configuration hash and
// command, and claim fills in the process. When no other process holds dir, it removes the orphaned
// temporary files that match the patterns sweep (relative to dir).
func claim(dir, what string, me Holder, sweep []string, logf func(format string, a ...any)) (*Claim, error) {
	cdir := filepath.Join(dir, ClaimsDir)
	if err := pmeterClaims(cdir); err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, dir, err)
	}
	if err := os.MkdirAll(cdir, 0o755); err != nil {
		return nil, err
	}
	mu, err := os.OpenFile(filepath.Join(cdir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	defer mu.Close() // releases the lock
	if err := lockFile(mu, true); err != nil {
		if errors.Is(err, errNoLocks) {
			logf("warning: %s %s: the file system does not support file locks, so pmeter cannot tell whether another process uses the directory", what, dir)
			return &Claim{dir: dir}, nil
		}
		return nil, fmt.Errorf("%s %s: locking %s: %w", what, dir, mu.Name(), err)
	}

	host, _ := os.Hostname()
	me.PID, me.Host, me.Started = os.Getpid(), host, time.Now().UTC().Truncate(time.Second)
	entries, err := os.ReadDir(cdir)
	if err != nil {
		return nil, err
	}
	var conflicts []string
	others := 0
	byReports := true // every conflict is with a pmeter report
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".") {
			continue
		}
		path := filepath.Join(cdir, name)
		h, live, err := inspectHolder(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", what, dir, err)
		}
		shares := !h.exclusive() && !me.exclusive() && h.Config == me.Config
		switch {
		case live && shares:
			logf("%s %s: shared with %s (the same configuration)", what, dir, h)
			others++
		case live:
			conflicts = append(conflicts, fmt.Sprintf("%s (claim file %s)", h, path))
			byReports = byReports && h.exclusive()
		case h.Host == me.Host || h.Host == "":
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("%s %s: removing the stale claim %s: %w", what, dir, path, err)
			}
			logf("%s %s: taking over the stale claim of %s: that process is gone", what, dir, h)
		case shares:
			others++ // on another host, perhaps still running, with the same configuration
		default:
			conflicts = append(conflicts, fmt.Sprintf("%s (claim file %s; pmeter cannot tell from host %s whether that process still runs: if it does not, delete the file)", h, path, me.Host))
			byReports = byReports && h.exclusive()
		}
	}
	if len(conflicts) > 0 {
		switch {
		case me.exclusive():
			return nil, fmt.Errorf("%s %s is in use: %s; wait for it to finish (pmeter %s holds a %s alone)",
				what, dir, strings.Join(conflicts, "; "), me.Command, what)
		case byReports:
			return nil, fmt.Errorf("run directory %s is in use: %s; wait for it to finish, or give this run another run.log_dir (--out)",
				dir, strings.Join(conflicts, "; "))
		}
		return nil, fmt.Errorf("run directory %s is in use by another configuration (this one is %s): %s; wait for it to finish, or give this run another run.log_dir (--out)",
			dir, shortHash(me.Config), strings.Join(conflicts, "; "))
	}

	path := filepath.Join(cdir, fmt.Sprintf("%s-%d-%d.json", safeName(host), me.PID, time.Now().UnixNano()))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, dir, err)
	}
	if err := lockFile(f, false); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("%s %s: locking %s: %w", what, dir, path, err)
	}
	b, _ := json.MarshalIndent(me, "", "  ")
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("%s %s: writing %s: %w", what, dir, path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("%s %s: writing %s: %w", what, dir, path, err)
	}
	if others == 0 {
		removeOrphanTemps(dir, what, sweep, logf)
	}
	return &Claim{dir: dir, path: path, f: f}, nil
}

// Release gives up the claim: the holder file is removed and its lock released.
func (c *Claim) Release() {
	if c == nil || c.f == nil {
		return
	}
	if mu, err := os.OpenFile(filepath.Join(c.dir, ClaimsDir, ".lock"), os.O_RDWR, 0); err == nil {
		if lockFile(mu, true) == nil {
			os.Remove(c.path)
		}
		mu.Close()
	}
	c.f.Close()
	c.f = nil
}

// inspectHolder reads a holder file and reports whether its process still holds its lock.
func inspectHolder(path string) (h Holder, live bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return h, false, err
	}
	defer f.Close()
	switch err := lockFile(f, false); {
	case errors.Is(err, errLocked):
		live = true
	case err != nil:
		return h, false, fmt.Errorf("locking %s: %w", path, err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return h, false, err
	}
	if json.Unmarshal(b, &h) != nil {
		// A holder that died while writing its file (under the directory lock, so it is not
		// being written now): what its name says.
		h = Holder{}
		if m := holderName.FindStringSubmatch(filepath.Base(path)); m != nil {
			h.Host = m[1]
			fmt.Sscan(m[2], &h.PID)
		}
	}
	return h, live, nil
}

// atomicTemp matches the names of npy.WriteAtomic's temporary files (os.CreateTemp with the pattern
// ".<name>.tmp*", which puts digits in place of the star).
var atomicTemp = regexp.MustCompile(`^\..+\.tmp\d+$`)

var holderName = regexp.MustCompile(`^(.*)-(\d+)-\d+\.json$`)

// safeName keeps a host name usable in a file name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 {
			return '_'
		}
		return r
	}, s)
}

// removeOrphanTemps removes the temporary files that npy.WriteAtomic leaves when its process is
// killed before the rename, those of dir (a run's, or a report's) that match the patterns sweep: pmeter
// created them, and no process that could finish them is left.
func removeOrphanTemps(dir, what string, sweep []string, logf func(string, ...any)) {
	n := 0
	for _, pat := range sweep {
		files, _ := filepath.Glob(filepath.Join(dir, pat))
		for _, f := range files {
			if atomicTemp.MatchString(filepath.Base(f)) && os.Remove(f) == nil {
				n++
			}
		}
	}
	if n > 0 {
		logf("%s %s: removed %d temporary file%s left by an interrupted %s", what, dir, n, plural(n), strings.TrimSuffix(what, " directory"))
	}
}

// pmeterClaims refuses a claims folder cdir that pmeter did not make: one that holds files but no .lock
// (every claim creates .lock before its holder file). A missing or empty folder is fine.
func pmeterClaims(cdir string) error {
	if fi, err := os.Lstat(cdir); err == nil && !fi.IsDir() {
		return fmt.Errorf("%s is not a folder, and pmeter keeps its claims there; move it away, or choose another directory", cdir)
	}
	entries, err := os.ReadDir(cdir)
	if errors.Is(err, os.ErrNotExist) || err == nil && len(entries) == 0 {
		return nil
	}
	if err != nil {
		return err
	}
	if fi, err := os.Lstat(filepath.Join(cdir, ".lock")); err == nil && fi.Mode().IsRegular() {
		return nil
	}
	return fmt.Errorf("%s was not made by pmeter (it has no .lock), and pmeter keeps its claims there; move it away, or choose another directory", cdir)
}

// runNames are the files and folders a run writes at the top of its directory, as filepath.Match
// patterns: a text-modality run writes scores_<attack>.npy, the dataset_usage game duci_scores.npy.
var runNames = []string{"metadata.json", "run.json", "memberships.npy", "models", "signals", report.ResultsDir, "report", "duci_scores.npy", "scores_*.npy"}

// foreignRunFiles returns an error naming the first file or folder of runNames in dir when dir is not a
// pmeter run directory: it has no claims folder, and no metadata.json of a run (pmeter before claims).
func foreignRunFiles(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, ClaimsDir)); err == nil {
		return nil
	}
	if b, err := os.ReadFile(filepath.Join(dir, "metadata.json")); err == nil {
		var meta struct {
			Version *int            `json:"version"`
			Config  json.RawMessage `json:"config"`
			Models  *int            `json:"models"`
		}
		if json.Unmarshal(b, &meta) == nil && meta.Version != nil && meta.Config != nil && meta.Models != nil {
			return nil
		}
	}
	var names []string
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			names = append(names, e.Name())
		}
	} else {
		// Not listable (or absent): look up the literal names.
		for _, n := range runNames {
			if _, err := os.Lstat(filepath.Join(dir, n)); err == nil {
				names = append(names, n)
			}
		}
	}
	for _, pat := range runNames {
		for _, n := range names {
			if ok, _ := filepath.Match(pat, n); !ok {
				continue
			}
			return fmt.Errorf("run.log_dir %s is not a pmeter run directory, and it already holds %s, which a run would write over; choose another log_dir or move %s away",
				dir, filepath.Join(dir, n), n)
		}
	}
	return nil
}
