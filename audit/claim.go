package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
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
// other report and with no run, which writes both. With --out DIR it also claims alone the folder that
// covers DIR (ReportOwner: DIR, or the run directory whose report folder DIR is), so that two commands,
// reports of one run or of two, or a run, never write into one folder at once under different names.
// A report's claims are tidy: what they created (claims folders, lock files, folders left empty) goes
// when the report ends; a run's claims folder stays, as the mark of a pmeter run directory.
//
// A claims folder that pmeter did not make (it has no claims/.lock, which every claim makes first) is
// refused, not used: taking over stale claims removes holder files, and pmeter removes no file it did
// not create.
//
// flock was chosen over an O_EXCL lock file with a pid liveness check because the kernel releases it
// when its process dies, however it dies, so a claim is live exactly while its lock is held: a kill -9
// leaves a holder file whose lock anyone can take, and pid reuse cannot keep a dead claim alive. The
// holder files are examined under a second flock (claims/.lock), so two processes never decide at the
// same time. The claim that created claims/.lock removes it, holding its lock, only when no other file is
// left beside it; a process that locked a file removed meanwhile locks the new one instead (lockClaims).
// Where a holder on another host wrote the file, a free lock is not trusted (file systems
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
	// tidy: Release removes what the claim made (made, and the lock file when madeLock) once no other
	// claim is left there: a report's claims leave no claims folder, and no empty folder, behind. A run's
	// claims folder stays (ClaimDir): it marks the directory as pmeter's for the next run, which resumes.
	tidy     bool
	made     []string // the folders the claim created, outermost first
	madeLock bool     // the claim created claims/.lock
	// also is released after this claim (pmeter report's claims: the folder it writes, then RUN_DIR).
	also *Claim
}

// ClaimDir claims run directory dir (creating it) for configuration c, as the comment above describes:
// it refuses, naming the holder, when a live process of another configuration holds the directory;
// shares it with processes of the same configuration; and takes over, saying so on logf, the claims
// of processes that are gone. When no other process holds the directory, it removes the temporary
// files that killed processes left behind (npy.WriteAtomic's .<name>.tmp* files).
//
// A directory that pmeter did not make a run directory is taken only when none of the names a run writes
// there exists already: pmeter never overwrites a file it did not write (foreignRunFiles). The claims
// folder stays when the run ends, even when the run fails: it marks the directory as a pmeter run
// directory, so that the next run resumes the work this one saved rather than refusing its files.
func ClaimDir(dir string, c *Config, logf func(format string, a ...any)) (*Claim, error) {
	if err := foreignRunFiles(dir); err != nil {
		return nil, err
	}
	return claim(dir, "run directory", Holder{Config: c.Hash(), ConfigFile: c.file}, runTemps(), false, logf)
}

// ClaimReport claims what pmeter report RUN_DIR [--out OUT] writes into (OUT empty: RUN_DIR/report):
// run directory runDir, which must exist and which the report reads, and the folder whose claim covers
// OUT (ReportOwner): OUT itself, or the folder (a run directory) whose report folder OUT is. It holds both alone:
// it refuses, naming the folder and the holder, when any live process holds either (a report, or a run
// of any configuration), and takes over the claims of processes that are gone. A run started while a
// report holds its directory is refused the same way. runDir may be a folder of saved results rather
// than a run directory (pmeter report reads either).
//
// It creates OUT when missing. Release removes what the claims created, and nothing else: the claims
// folders and lock files they made (a folder of saved results is left as it was) once no other claim
// is there, and the folders they made (OUT and its missing parents) when they are empty, as they are
// after a report that failed before writing. Of two reports that overlap in one folder (possible only
// where a holder on another host is not trusted), the later to end leaves the lock file of the other.
//
// When no other process holds a folder, the temporary files that killed processes left there are
// removed: in RUN_DIR those of a run directory's writers, in OUT only those of the files a report writes
// (OUT may hold files of its own): the pages, summary and records and the manifest, and the plots once
// OUT holds a membership report (report.ManifestFile).
func ClaimReport(runDir, out string, logf func(format string, a ...any)) (*Claim, error) {
	if fi, err := os.Stat(runDir); err != nil {
		return nil, fmt.Errorf("run directory %s: %w", runDir, err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("run directory %s is not a directory", runDir)
	}
	if out == "" {
		out = filepath.Join(runDir, report.ReportDir)
	}
	ro, err1 := resolve(out)
	owner, err2 := ReportOwner(out)
	rd, err3 := resolve(runDir)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("report directory %s: %w", out, err)
	}
	run, err := claim(runDir, "run directory", Holder{Command: reportCommand}, runTemps(), true, logf)
	if err != nil {
		return nil, err
	}
	top := &Claim{tidy: true, also: run}
	switch {
	case owner == rd: // RUN_DIR/report, or RUN_DIR itself: RUN_DIR's claim covers it
	case owner == ro:
		oc, err := claim(out, "report directory", Holder{Command: reportCommand}, reportTemps(".", out), true, logf)
		if err != nil {
			run.Release()
			return nil, err
		}
		oc.also, top.also = run, oc
	default:
		rel, _ := filepath.Rel(owner, ro)
		oc, err := claim(owner, "run directory", Holder{Command: reportCommand}, reportTemps(rel, out), true, logf)
		if err != nil {
			run.Release()
			return nil, fmt.Errorf("report directory %s is the report folder of %s, so a report claims that: %w", out, owner, err)
		}
		oc.also, top.also = run, oc
	}
	if top.made, err = mkdirs(out); err != nil {
		top.Release()
		return nil, fmt.Errorf("report directory %s: %w", out, err)
	}
	return top, nil
}

// ReportOwner returns the folder whose claim covers writing a report into out, resolved (absolute,
// symbolic links followed as far as out exists), so that every spelling of one folder gives one answer.
// It is out's parent P when out is P/report (report.ReportDir) and P is, or may become, a folder whose
// report/ pmeter run P or pmeter report P writes under P's claim — P is missing or empty, or pmeter's
// (pmeterFolder) — so that a report into it from elsewhere waits for them, and they for it. Otherwise it
// is out itself: a folder of other files (a home folder) gets no claim of its own from a report into its
// report/, and no pmeter command writes that report/ under P's claim (pmeter run refuses such a folder
// once report/ is there; pmeter report finds no results in it). A report folder at the root of the file
// system is out itself too.
func ReportOwner(out string) (string, error) {
	r, err := resolve(out)
	if err != nil {
		return "", err
	}
	parent := filepath.Dir(r)
	if filepath.Base(r) != report.ReportDir || filepath.Dir(parent) == parent {
		return r, nil
	}
	entries, err := os.ReadDir(parent)
	if errors.Is(err, fs.ErrNotExist) || err == nil && len(entries) == 0 || pmeterFolder(parent) {
		return parent, nil
	}
	return r, nil
}

// pmeterFolder reports whether dir is a folder that pmeter run or pmeter report writes a report/ into:
// a run directory (pmeter's claims folder, a run's metadata.json or run.json) or a folder of saved
// results (results.json, in it or in its results/).
func pmeterFolder(dir string) bool {
	if fi, err := os.Lstat(filepath.Join(dir, ClaimsDir, ".lock")); err == nil && fi.Mode().IsRegular() {
		return true
	}
	if runMetadata(dir) {
		return true
	}
	for _, f := range []string{"run.json", report.InputFile, filepath.Join(report.ResultsDir, report.InputFile)} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

// resolve returns path made absolute, with the symbolic links of its longest existing prefix followed.
func resolve(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	var rest []string
	for p := abs; ; p = filepath.Dir(p) {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(append([]string{r}, rest...)...), nil
		}
		if filepath.Dir(p) == p {
			return abs, nil
		}
		rest = append([]string{filepath.Base(p)}, rest...)
	}
}

// reportTemps returns the patterns of the temporary files that a report leaves in out, rel its path
// relative to the folder claimed: those of the files a report writes (out may hold files of its own),
// the plots' only once out holds a membership report (report.ManifestFile).
func reportTemps(rel, out string) []string {
	var sweep []string
	for _, name := range []string{report.HTMLFile, report.SummaryFile, report.RecordsFile, textPageName, usagePageName, report.ManifestFile} {
		sweep = append(sweep, filepath.Join(rel, "."+name+".tmp*"))
	}
	if _, err := os.Stat(filepath.Join(out, report.ManifestFile)); err == nil {
		sweep = append(sweep, filepath.Join(rel, report.PlotsDir, ".*.png.tmp*"), filepath.Join(rel, report.PlotsDir, ".*.svg.tmp*"))
	}
	return sweep
}

// mkdirs creates dir and its missing parents, as os.MkdirAll does, and returns those it created,
// outermost first (a folder another process created meanwhile is not among them).
func mkdirs(dir string) ([]string, error) {
	var missing []string
	for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err == nil {
			if !fi.IsDir() {
				return nil, fmt.Errorf("%s is not a directory", p)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) || filepath.Dir(p) == p {
			return nil, err
		}
		missing = append(missing, p)
	}
	var made []string
	for i := len(missing) - 1; i >= 0; i-- {
		switch err := os.Mkdir(missing[i], 0o755); {
		case err == nil:
			made = append(made, missing[i])
		case errors.Is(err, fs.ErrExist):
		default:
			return made, err
		}
	}
	return made, nil
}

// removeEmpty removes the folders dirs, innermost first, those that are empty: what a claim created.
func removeEmpty(dirs []string) {
	for i := len(dirs) - 1; i >= 0; i-- {
		os.Remove(dirs[i]) // fails, keeping it, unless it is an empty folder
	}
}

// ClaimAttackDir claims dir, the --out directory into which pmeter attack writes a language-model audit
// as a run directory (WriteTextRun), creating it: alone, as ClaimReport claims a run directory, so that
// neither a pmeter report of dir nor another attack or run writes there until it ends; the claims of
// processes that are gone are taken over. Its claims folder stays, as a run's does: dir is a run
// directory that pmeter report reads.
func ClaimAttackDir(dir string, logf func(format string, a ...any)) (*Claim, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("run directory %s: %w", dir, err)
	}
	return claim(dir, "run directory", Holder{Command: attackCommand}, runTemps(), false, logf)
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

// claim is ClaimDir and ClaimReport once the directory is known to be one pmeter may write into; what
// names it in messages ("run directory"), me has the holder's configuration hash and command, and claim
// fills in the process. When no other process holds dir, it removes the orphaned temporary files that
// match the patterns sweep (relative to dir). A tidy claim removes on Release what it created (Claim).
func claim(dir, what string, me Holder, sweep []string, tidy bool, logf func(format string, a ...any)) (_ *Claim, err error) {
	cdir := filepath.Join(dir, ClaimsDir)
	if err := pmeterClaims(cdir); err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, dir, err)
	}
	c := &Claim{dir: dir, tidy: tidy}
	mu, err := c.lockClaims()
	defer func() {
		if err != nil && tidy {
			c.tidyUp()
		}
		if mu != nil {
			mu.Close() // releases the lock
		}
	}()
	if err != nil {
		if errors.Is(err, errNoLocks) {
			logf("warning: %s %s: the file system does not support file locks, so pmeter cannot tell whether another process uses the directory", what, dir)
			return c, nil
		}
		return nil, fmt.Errorf("%s %s: %w", what, dir, err)
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
	fail := func(err error) (*Claim, error) {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("%s %s: %w", what, dir, err)
	}
	if err := lockFile(f, false); err != nil {
		return fail(fmt.Errorf("locking %s: %w", path, err))
	}
	b, _ := json.MarshalIndent(me, "", "  ")
	if _, err := f.Write(append(b, '\n')); err != nil {
		return fail(fmt.Errorf("writing %s: %w", path, err))
	}
	if err := f.Sync(); err != nil {
		return fail(fmt.Errorf("writing %s: %w", path, err))
	}
	if others == 0 {
		removeOrphanTemps(dir, what, sweep, logf)
	}
	c.path, c.f = path, f
	return c, nil
}

// lockClaims opens c.dir's claims/.lock, creating it and the folders on its way when missing (recorded
// in c.made and c.madeLock), and locks it, waiting for the process that holds it. The claim that made
// the lock file may remove it (a tidy claim's Release); a lock taken on a file removed meanwhile is let go
// and taken again on the file there now, so that two processes never hold two different locks.
func (c *Claim) lockClaims() (*os.File, error) {
	cdir := filepath.Join(c.dir, ClaimsDir)
	lock := filepath.Join(cdir, ".lock")
	for range 100 {
		made, err := mkdirs(cdir)
		c.made = append(c.made, made...)
		if err != nil {
			return nil, err
		}
		created := true
		mu, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
		if errors.Is(err, fs.ErrExist) {
			created = false
			mu, err = os.OpenFile(lock, os.O_RDWR, 0)
		}
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since: again
		}
		if err != nil {
			return nil, err
		}
		c.madeLock = c.madeLock || created
		if err := lockFile(mu, true); err != nil {
			mu.Close()
			if errors.Is(err, errNoLocks) {
				return nil, err
			}
			return nil, fmt.Errorf("locking %s: %w", lock, err)
		}
		held, err1 := mu.Stat()
		there, err2 := os.Stat(lock)
		if err1 == nil && err2 == nil && os.SameFile(held, there) {
			return mu, nil
		}
		mu.Close()
	}
	return nil, fmt.Errorf("locking %s: removed and made again 100 times while pmeter tried to lock it", lock)
}

// tidyUp removes what c created, with the claims lock held where the file system has locks: its lock
// file when nothing else is left in the claims folder (another holder's file keeps it), then the folders
// it made that are empty. c's own holder file is gone by then.
func (c *Claim) tidyUp() {
	cdir := filepath.Join(c.dir, ClaimsDir)
	if c.madeLock {
		if entries, err := os.ReadDir(cdir); err == nil && len(entries) == 1 && entries[0].Name() == ".lock" {
			os.Remove(filepath.Join(cdir, ".lock"))
		}
	}
	removeEmpty(c.made)
	c.made, c.madeLock = nil, false
}

// Release gives up the claim: the holder file is removed and its lock released, and a tidy claim's
// lock file and folders are removed (Claim); then the claims it holds with it are released. A second
// Release does nothing.
func (c *Claim) Release() {
	if c == nil {
		return
	}
	switch {
	case c.dir == "": // pmeter report's output folders (ClaimReport)
		removeEmpty(c.made)
		c.made = nil
	case c.f != nil || c.tidy:
		mu, err := os.OpenFile(filepath.Join(c.dir, ClaimsDir, ".lock"), os.O_RDWR, 0)
		locked := err == nil && lockFile(mu, true) == nil
		if c.f != nil && locked {
			os.Remove(c.path)
		}
		if c.tidy && (locked || c.f == nil) { // c.f == nil: a claim without locks
			c.tidyUp()
		}
		if mu != nil {
			mu.Close()
		}
	}
	if c.f != nil {
		c.f.Close()
		c.f = nil
	}
	also := c.also
	c.also = nil
	also.Release()
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
	if _, err := os.Stat(filepath.Join(dir, ClaimsDir)); err == nil || runMetadata(dir) {
		return nil
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

// runMetadata reports whether dir holds a run's metadata.json (a run directory of a pmeter before claims).
func runMetadata(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "metadata.json"))
	if err != nil {
		return false
	}
	var meta struct {
		Version *int            `json:"version"`
		Config  json.RawMessage `json:"config"`
		Models  *int            `json:"models"`
	}
	return json.Unmarshal(b, &meta) == nil && meta.Version != nil && meta.Config != nil && meta.Models != nil
}
