package audit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pmeter/pmeter/internal/objstore"
)

// A run directory can be an object-store URL (s3://bucket/prefix, gs://…, azblob://…) for the tasks of
// a run (TrainTask, FinishTask, and the Kubernetes submission). A task then stages the part of the run
// directory it needs in a local folder of its own (under $TMPDIR), works there exactly as on a local
// run directory, and uploads what it wrote: each object whole or not at all (package objstore), the
// signals' sidecar last, since it marks them complete. What it downloads is verified as on local disk
// (the sidecars' SHA-256), so a damaged object is recomputed, never trusted, and a killed task leaves
// either nothing or whole objects, so its rerun resumes. Several processes may work on one store at
// once: every object is content-addressed, and two tasks that write the same key write the same bytes.

// remoteDir is a run directory on object storage, staged in a local folder.
type remoteDir struct {
	store *objstore.Store
	url   string
	local string
	// fetched records the files downloaded, with their size and modification time after the download,
	// so that push uploads only what changed.
	fetched map[string]fileStamp
}

type fileStamp struct {
	size int64
	mod  time.Time
}

// openRemote opens the store of url and a local staging folder.
func openRemote(ctx context.Context, url string) (*remoteDir, error) {
	st, err := objstore.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	local, err := os.MkdirTemp("", "pmeter-run-*")
	if err == nil {
		// A run directory from the start (ClaimDir refuses a folder with run files and no claims).
		err = os.Mkdir(filepath.Join(local, ClaimsDir), 0o755)
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	return &remoteDir{store: st, url: url, local: local, fetched: map[string]fileStamp{}}, nil
}

func (d *remoteDir) close() {
	if d == nil {
		return
	}
	d.store.Close()
	os.RemoveAll(d.local) // the staging folder is this process's own
}

// fetch downloads the files rel (slash-separated paths in the run directory) that the store holds;
// a missing file is skipped.
func (d *remoteDir) fetch(ctx context.Context, rels ...string) error {
	for _, rel := range rels {
		p := filepath.Join(d.local, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		err := d.store.Download(ctx, rel, p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if st, err := os.Stat(p); err == nil {
			d.fetched[rel] = fileStamp{st.Size(), st.ModTime()}
		}
	}
	return nil
}

// jobFiles are the files of one model task in the run directory: weights and sidecar, then signals
// and their sidecar (which marks them complete, so it is uploaded last).
func jobFiles(j Job) []string {
	return []string{"models/" + j.ModelKey + ".safetensors", "models/" + j.ModelKey + ".json",
		"signals/" + j.SignalKey + "-audit.npy", "signals/" + j.SignalKey + "-population.npy", "signals/" + j.SignalKey + ".json"}
}

// push uploads the files of the staging folder that were written since they were fetched (or not
// fetched at all), except claims and temporary files. Within each folder the sidecars (.json) go
// after the files they describe.
func (d *remoteDir) push(ctx context.Context) error {
	var files []string
	err := filepath.WalkDir(d.local, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(d.local, p)
		rel = filepath.ToSlash(rel)
		if e.IsDir() {
			if rel == ClaimsDir {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(path.Base(rel), ".") && atomicTemp.MatchString(path.Base(rel)) {
			return nil
		}
		st, err := e.Info()
		if err != nil {
			return err
		}
		if f, ok := d.fetched[rel]; ok && f.size == st.Size() && f.mod.Equal(st.ModTime()) {
			return nil
		}
		files = append(files, rel)
		return nil
	})
	if err != nil {
		return err
	}
	sort.SliceStable(files, func(a, b int) bool { return pushRank(files[a]) < pushRank(files[b]) })
	for _, rel := range files {
		if err := d.store.Upload(ctx, filepath.Join(d.local, filepath.FromSlash(rel)), rel); err != nil {
			return err
		}
		if st, err := os.Stat(filepath.Join(d.local, filepath.FromSlash(rel))); err == nil {
			d.fetched[rel] = fileStamp{st.Size(), st.ModTime()}
		}
	}
	return nil
}

// pushRank orders uploads: data files, then the sidecars of models and signals, then the snapshot's
// record, then the run's results and its report's summary.
func pushRank(rel string) int {
	switch {
	case rel == SubmitDir+"/snapshot.json":
		return 3
	case strings.HasSuffix(rel, ".json") && (strings.HasPrefix(rel, "models/") || strings.HasPrefix(rel, "signals/")):
		return 2
	case rel == "run.json" || strings.HasSuffix(rel, "summary.json"):
		return 4
	}
	return 1
}

// present returns the signal keys whose three signal files the store holds.
func (d *remoteDir) present(ctx context.Context) (map[string]bool, error) {
	keys, err := d.store.List(ctx, "signals/")
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, k := range keys {
		have[k] = true
	}
	out := map[string]bool{}
	for k := range have {
		if sk, ok := strings.CutSuffix(strings.TrimPrefix(k, "signals/"), ".json"); ok &&
			have["signals/"+sk+"-audit.npy"] && have["signals/"+sk+"-population.npy"] {
			out[sk] = true
		}
	}
	return out, nil
}

// stageRemote opens the run directory url and fetches its snapshot; c's copy it returns works in the
// staging folder.
func stageRemote(ctx context.Context, c *Config) (*remoteDir, *Config, error) {
	d, err := openRemote(ctx, c.Run.LogDir)
	if err != nil {
		return nil, nil, err
	}
	if err := d.fetch(ctx, SubmitDir+"/config.yaml", SubmitDir+"/snapshot.json"); err != nil {
		d.close()
		return nil, nil, err
	}
	cc := *c
	cc.Run.LogDir = d.local
	return d, &cc, nil
}

// remoteMissing returns the models whose signals the store lacks.
func (r *TaskRun) remoteMissing(ctx context.Context) ([]int, error) {
	have, err := r.remote.present(ctx)
	if err != nil {
		return nil, err
	}
	var m []int
	for _, j := range r.Plan.Jobs {
		if !have[j.SignalKey] {
			m = append(m, j.Model)
		}
	}
	return m, nil
}

// fetchSignals downloads the signals of every model (FinishTask).
func (r *TaskRun) fetchSignals(ctx context.Context) error {
	for _, j := range r.Plan.Jobs {
		if err := r.remote.fetch(ctx, jobFiles(j)[2:]...); err != nil {
			return err
		}
	}
	return nil
}

func errNoSnapshot(url string) error {
	return fmt.Errorf("run directory %s holds no submitted run (submit/snapshot.json): submit it first (pmeter submit kubernetes), or give the config file", url)
}
