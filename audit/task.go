package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pmeter/pmeter/internal/jsonsum"
	"github.com/pmeter/pmeter/npy"
)

// A run splits into tasks that a cluster's scheduler can run alone, in any order, on any node that sees
// the run directory: one task per model (TrainTask: train model I and extract its signals), and one
// task that finishes the run once every model exists (FinishTask: attacks, metrics, report). Every
// artefact is named by the content hash of what produced it and written atomically, so a task that
// runs twice, or is killed and rerun, does no harm: it reuses what is there and valid.
//
// Submitting a run (Submit) snapshots its configuration and a content hash of its data into the run
// directory's submit folder. Tasks read the snapshot, not the config file they are given, so a config
// edited after submitting cannot mix two runs in one directory; changed data is refused.

// SubmitDir is the folder of a run directory that holds the snapshot taken at submit.
const SubmitDir = "submit"

// snapshotFormat identifies the schema of submit/snapshot.json.
const snapshotFormat = "pmeter.audit.snapshot/v1"

// Snapshot is what submitting a run fixes: the configuration's hash (Config.Hash), the data's content
// hash, and the tasks with their keys.
type Snapshot struct {
	Format     string    `json:"format"`
	ConfigHash string    `json:"config_hash"`
	DataHash   string    `json:"data_hash"`
	Models     int       `json:"models"`
	Tasks      []TaskKey `json:"tasks"`
	// SHA256 is the file's self-checksum: jsonsum.SHA256 of the snapshot with SHA256 itself empty, so
	// that a damaged or edited snapshot is refused rather than trusted. A snapshot written before pmeter
	// recorded it has none (see openTaskRun).
	SHA256 string `json:"sha256,omitempty"`
}

// TaskKey names one model task's artefacts.
type TaskKey struct {
	Index     int    `json:"index"`
	ModelKey  string `json:"model_key"`
	SignalKey string `json:"signal_key"`
}

// Task is one model of a run as a unit of work: `pmeter task train CONFIG --index I` trains model
// I and extracts its signals.
type Task struct {
	Index int
	// Target marks a target model (models 0..Targets−1), External a model read from a file.
	Target, External bool
	TrainSize        int
	// ModelKey names the model's weights (models/KEY.safetensors), SignalKey its signals
	// (signals/KEY*.npy, .json).
	ModelKey, SignalKey string
	// Done reports that the run directory holds the model's signals with a valid sidecar. The task itself
	// also verifies the signal files' SHA-256 before it skips the work.
	Done bool
}

// MissingModelsError is FinishTask's error when some models have no signals in the run directory.
type MissingModelsError struct {
	Missing []int // model indices
	Models  int
}

func (e *MissingModelsError) Error() string {
	return fmt.Sprintf("%d of %d models are missing from the run directory (%s): run 'pmeter task train CONFIG --index I' for each, or submit the run again, which submits only the missing ones",
		len(e.Missing), e.Models, indexList(e.Missing))
}

// indexList writes model indices compactly: "model 3", "models 1, 4-7".
func indexList(idx []int) string {
	var parts []string
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", idx[i], idx[j]))
		} else {
			parts = append(parts, strconv.Itoa(idx[i]))
		}
		i = j + 1
	}
	word := "models "
	if len(idx) == 1 {
		word = "model "
	}
	return word + strings.Join(parts, ", ")
}

// ArrayRange writes indices as a Slurm --array list: "0-3,7,9".
func ArrayRange(idx []int) string {
	return strings.ReplaceAll(strings.TrimPrefix(strings.TrimPrefix(indexList(idx), "models "), "model "), ", ", ",")
}

// checkTaskGame refuses the games that do not split into model tasks.
func (c *Config) checkTaskGame() error {
	if c.Audit.PrivacyGame == "privacy_loss_sample" || c.isCanaryGame() {
		return c.fieldError("audit", "privacy_game", "%s runs as one process (pmeter run); tasks and cluster submission support privacy_loss_model, avg_privacy_loss_training_algo and range_membership", c.Audit.PrivacyGame)
	}
	return nil
}

// Tasks lists the model tasks of plan p and whether run directory dir holds each one's signals.
func (p *Plan) Tasks(dir string) []Task {
	out := make([]Task, len(p.Jobs))
	for i, j := range p.Jobs {
		t := Task{Index: j.Model, Target: j.Model < p.Targets, External: p.external[j.Model] != nil,
			TrainSize: len(j.Train), ModelKey: j.ModelKey, SignalKey: j.SignalKey}
		meta, a, pop := signalPaths(dir, j)
		if _, err := readSignalSidecar(meta); err == nil {
			t.Done = fileExists(a) && fileExists(pop)
		}
		out[i] = t
	}
	return out
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// PlanTasks plans the run of c on data d and lists its model tasks, with their state in the run
// directory (pmeter plan). It writes nothing.
func PlanTasks(ctx context.Context, c *Config, d *Data) ([]Task, error) {
	if err := c.checkTaskGame(); err != nil {
		return nil, err
	}
	p, err := makePlan(ctx, c, d)
	if err != nil {
		return nil, err
	}
	return p.Tasks(c.Run.LogDir), nil
}

// DataHash is the content hash of a run's data: its training pool and population.
func DataHash(d *Data) string {
	return hashStrings("data/v1", fingerprint(d.Pool), fingerprint(d.Population))
}

func snapshotPaths(dir string) (config, meta string) {
	return filepath.Join(dir, SubmitDir, "config.yaml"), filepath.Join(dir, SubmitDir, "snapshot.json")
}

// SnapshotConfigPath is the path of the configuration snapshot in run directory dir, the config that
// cluster tasks are given.
func SnapshotConfigPath(dir string) string { c, _ := snapshotPaths(dir); return c }

// TaskRun is a run prepared for its tasks: the configuration (the snapshot's, when the run was
// submitted), its data and plan. Close it when done: a run directory on object storage is staged in a
// local folder that Close removes.
type TaskRun struct {
	Config   *Config
	Data     *Data
	Plan     *Plan
	Snapshot *Snapshot
	// Edited is set when the config given differs from the snapshot (the tasks use the snapshot).
	Edited bool
	// Dir is the run directory as given: a path, or an object-store URL staged in Config.Run.LogDir.
	Dir string

	remote *remoteDir
}

// Close removes the local staging folder of a run directory on object storage.
func (r *TaskRun) Close() {
	if r != nil {
		r.remote.close()
		r.remote = nil
	}
}

// Missing returns the indices of the models whose signals the run directory lacks.
func (r *TaskRun) Missing(ctx context.Context) ([]int, error) {
	if r.remote != nil {
		return r.remoteMissing(ctx)
	}
	var m []int
	for _, t := range r.Plan.Tasks(r.Config.Run.LogDir) {
		if !t.Done {
			m = append(m, t.Index)
		}
	}
	return m, nil
}

// OpenTaskRun prepares the tasks of c's run: when its run directory holds a snapshot, the snapshot's
// configuration replaces c (keeping c's run.log_dir and run.workers, which change no file) and the data
// must hash as it did at submit. Without a snapshot c is used as it is. The run directory may be an
// object-store URL (remote.go).
func OpenTaskRun(ctx context.Context, c *Config, opt Options) (*TaskRun, error) {
	return openTaskRun(ctx, c, opt, false)
}

// OpenSubmitted prepares the tasks of the run submitted into run directory dir (a path or an
// object-store URL), from its snapshot alone; workers is run.workers.
func OpenSubmitted(ctx context.Context, dir string, workers int, opt Options) (*TaskRun, error) {
	c, err := DefaultConfig()
	if err != nil {
		return nil, err
	}
	c.Run.LogDir, c.Run.Workers = dir, workers
	return openTaskRun(ctx, c, opt, true)
}

func openTaskRun(ctx context.Context, c *Config, opt Options, needSnapshot bool) (r *TaskRun, err error) {
	r = &TaskRun{Config: c, Dir: c.Run.LogDir}
	if IsURL(c.Run.LogDir) {
		if r.remote, c, err = stageRemote(ctx, c); err != nil {
			return nil, err
		}
		r.Config = c
		defer func() {
			if err != nil {
				r.Close()
			}
		}()
	}
	cfgPath, metaPath := snapshotPaths(c.Run.LogDir)
	if fileExists(metaPath) {
		snap, err := readSnapshot(metaPath)
		if err != nil {
			return nil, err
		}
		sc, err := LoadConfig(cfgPath)
		if err != nil {
			return nil, fmt.Errorf("the run's config snapshot: %w", err)
		}
		if sc.Hash() != snap.ConfigHash {
			return nil, fmt.Errorf("%s: its hash %s is not the %s that %s records: the snapshot is damaged",
				cfgPath, shortHash(sc.Hash()), shortHash(snap.ConfigHash), metaPath)
		}
		if !needSnapshot && c.Hash() != snap.ConfigHash && c.file != cfgPath {
			r.Edited = true
			opt.logf("warning: %s differs from the configuration the run was submitted with; the tasks use the snapshot %s", cmpName(c), cfgPath)
		}
		sc.Run.LogDir, sc.Run.Workers = c.Run.LogDir, c.Run.Workers
		r.Config, r.Snapshot = sc, snap
	} else if needSnapshot {
		return nil, errNoSnapshot(r.Dir)
	}
	if err := r.Config.checkTaskGame(); err != nil {
		return nil, err
	}
	d, err := LoadData(r.Config)
	if err != nil {
		return nil, err
	}
	if r.Snapshot != nil {
		if h := DataHash(d); h != r.Snapshot.DataHash {
			return nil, fmt.Errorf("the data (%s) has changed since the run was submitted: its content hash is %s, the snapshot in %s records %s; submit it as a new run (another run.log_dir)",
				d.Source, h, r.Dir, r.Snapshot.DataHash)
		}
	}
	r.Data = d
	if r.Plan, err = makePlan(ctx, r.Config, d); err != nil {
		return nil, err
	}
	if r.Snapshot != nil && r.Snapshot.SHA256 == "" {
		if err := r.checkUnsummedSnapshot(metaPath, opt); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// checkUnsummedSnapshot checks a snapshot written before snapshots recorded their SHA-256, as loadCached
// checks a model sidecar without one: every field it holds is compared with what the run computes from
// the snapshot's configuration (whose hash it records) and the data (whose hash it records), so it is
// kept and, in a local run directory, rewritten with its checksum. One that differs is damaged.
func (r *TaskRun) checkUnsummedSnapshot(path string, opt Options) error {
	want := r.snapshot()
	got := r.Snapshot
	if got.Models != want.Models || !slices.Equal(got.Tasks, want.Tasks) {
		return fmt.Errorf("%s: damaged: its models and task keys are not those that this pmeter computes from the configuration and data it records (it records no SHA-256: written by an older pmeter, or edited); submit the run into another run.log_dir",
			path)
	}
	if r.remote != nil {
		opt.logf("%s: snapshot without a checksum (written by an older pmeter); every field matches the run's configuration and data, so it is used", path)
		return nil
	}
	if err := writeSelfChecked(path, want, &want.SHA256); err != nil {
		return fmt.Errorf("adding a checksum to %s: %w", path, err)
	}
	r.Snapshot = want
	opt.logf("%s: snapshot without a checksum (written by an older pmeter); every field matches the run's configuration and data, so it is kept and now records one", path)
	return nil
}

// snapshot returns the snapshot of the run, without its checksum.
func (r *TaskRun) snapshot() *Snapshot {
	snap := &Snapshot{Format: snapshotFormat, ConfigHash: r.Config.Hash(), DataHash: DataHash(r.Data), Models: r.Plan.Models}
	for _, j := range r.Plan.Jobs {
		snap.Tasks = append(snap.Tasks, TaskKey{Index: j.Model, ModelKey: j.ModelKey, SignalKey: j.SignalKey})
	}
	return snap
}

func cmpName(c *Config) string {
	if c.file == "" {
		return "the embedded default configuration"
	}
	return c.file
}

// WriteSnapshot snapshots the run's configuration and data hash into its run directory, as submitting
// does. A run directory that holds a snapshot of another configuration or other data is refused: its
// tasks already belong to that run.
func (r *TaskRun) WriteSnapshot(ctx context.Context) error {
	c := r.Config
	dir := c.Run.LogDir
	snap := r.snapshot()
	cfgPath, metaPath := snapshotPaths(dir)
	if r.Snapshot != nil {
		if r.Snapshot.ConfigHash != snap.ConfigHash || r.Snapshot.DataHash != snap.DataHash {
			return fmt.Errorf("run directory %s was submitted with config %s and data %s; this is config %s and data %s: give this run another run.log_dir (--out)",
				dir, shortHash(r.Snapshot.ConfigHash), r.Snapshot.DataHash, shortHash(snap.ConfigHash), snap.DataHash)
		}
		return nil
	}
	if err := foreignRunFiles(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, SubmitDir), 0o755); err != nil {
		return err
	}
	cc := *c
	if abs, err := filepath.Abs(dir); err == nil {
		cc.Run.LogDir = abs
	}
	if r.remote != nil {
		cc.Run.LogDir = r.Dir
	}
	y, err := snapshotYAML(&cc)
	if err != nil {
		return err
	}
	head := fmt.Sprintf("# The configuration of the run in %s, snapshotted when it was submitted (%s).\n# Its tasks read this file; edit the original config and submit into another run.log_dir instead.\n",
		dir, time.Now().UTC().Format(time.RFC3339))
	if err := npy.WriteAtomic(cfgPath, func(w io.Writer) error { _, err := io.WriteString(w, head+string(y)); return err }); err != nil {
		return err
	}
	// Check that the snapshot reads back as the same configuration before recording it.
	back, err := LoadConfig(cfgPath)
	if err != nil {
		return fmt.Errorf("the config snapshot does not read back: %w", err)
	}
	if back.Hash() != snap.ConfigHash {
		return fmt.Errorf("the config snapshot %s does not read back as the configuration it was written from", cfgPath)
	}
	if err := writeSelfChecked(metaPath, snap, &snap.SHA256); err != nil {
		return err
	}
	if r.remote != nil {
		if err := r.remote.push(ctx); err != nil {
			return err
		}
	}
	r.Snapshot = snap
	return nil
}

// readSnapshot reads submit/snapshot.json and verifies its self-checksum. A snapshot without one (written
// by a pmeter from before snapshots recorded it) is returned with SHA256 empty, for openTaskRun to check
// against the run.
func readSnapshot(path string) (*Snapshot, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s Snapshot
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: damaged: %w", path, err)
	}
	if s.Format != snapshotFormat {
		return nil, fmt.Errorf("%s: format %q, want %q (written by another version of pmeter, or damaged)", path, s.Format, snapshotFormat)
	}
	if s.SHA256 == "" {
		return &s, nil
	}
	recorded := s.SHA256
	s.SHA256 = ""
	sum, err := jsonsum.SHA256(&s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if sum != recorded {
		return nil, fmt.Errorf("%s: damaged: its contents do not match the SHA-256 it records, so pmeter cannot tell which run was submitted into this run directory; submit the run into another run.log_dir",
			path)
	}
	s.SHA256 = recorded
	return &s, nil
}

// TrainTask trains model index of the run of c and extracts its signals (pmeter task train). It does
// nothing when the run directory already holds the model's valid signals, and only extracts them when
// it holds the model's valid weights.
func TrainTask(ctx context.Context, c *Config, index int, opt Options) (*ModelInfo, error) {
	r, err := OpenTaskRun(ctx, c, opt)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.Train(ctx, index, opt)
}

// Train is TrainTask on a prepared run.
func (r *TaskRun) Train(ctx context.Context, index int, opt Options) (*ModelInfo, error) {
	c, p := r.Config, r.Plan
	if index < 0 || index >= p.Models {
		return nil, fmt.Errorf("--index %d: the run has %d models (indices 0 to %d)", index, p.Models, p.Models-1)
	}
	if _, err := c.trainConfigFor(0, p.DP, opt); err != nil {
		return nil, err
	}
	claim, err := ClaimDir(c.Run.LogDir, c, opt.logf)
	if err != nil {
		return nil, err
	}
	defer claim.Release()
	if err := r.WriteSnapshot(ctx); err != nil {
		return nil, err
	}
	if r.remote != nil {
		if err := r.remote.fetch(ctx, jobFiles(p.Jobs[index])...); err != nil {
			return nil, err
		}
	}
	opt.only = []int{index}
	outs, err := trainAll(ctx, c, r.Data, p, c.Run.LogDir, opt)
	if err != nil {
		return nil, err
	}
	if r.remote != nil && !outs[index].Info.Cached {
		if err := r.remote.push(ctx); err != nil {
			return nil, err
		}
	}
	info := outs[index].Info
	return &info, nil
}

// FinishOptions controls FinishTask.
type FinishOptions struct {
	// Wait polls the run directory every Poll (0: 30 s) until every model exists, for at most Timeout
	// (0: no limit), instead of failing at once with a MissingModelsError.
	Wait          bool
	Timeout, Poll time.Duration
}

// FinishTask finishes the run of c once every model's signals exist (pmeter task finish): attacks,
// metrics and report, exactly as Run would with every model in the run directory. It trains nothing:
// missing models are a *MissingModelsError naming them.
func FinishTask(ctx context.Context, c *Config, opt Options, fo FinishOptions) (*Result, error) {
	t0 := time.Now()
	r, err := OpenTaskRun(ctx, c, opt)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if err := r.WaitModels(ctx, opt, fo); err != nil {
		return nil, err
	}
	return r.Finish(ctx, opt, t0)
}

// WaitModels returns nil once every model's signals exist, or a *MissingModelsError when they do not
// and fo.Wait is unset or its timeout passes.
func (r *TaskRun) WaitModels(ctx context.Context, opt Options, fo FinishOptions) error {
	poll := fo.Poll
	if poll <= 0 {
		poll = 30 * time.Second
	}
	var deadline time.Time
	if fo.Timeout > 0 {
		deadline = time.Now().Add(fo.Timeout)
	}
	for {
		missing, err := r.Missing(ctx)
		if err != nil {
			return err
		}
		if len(missing) == 0 {
			return nil
		}
		merr := &MissingModelsError{Missing: missing, Models: r.Plan.Models}
		if !fo.Wait {
			return merr
		}
		if !deadline.IsZero() && time.Now().Add(poll).After(deadline) {
			return fmt.Errorf("timed out after %s waiting: %w", fo.Timeout, merr)
		}
		opt.logf("waiting for %s of %d (next look in %s)", indexList(missing), r.Plan.Models, poll)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// Finish runs the attacks, metrics and report of a run whose models all exist, training none.
func (r *TaskRun) Finish(ctx context.Context, opt Options, t0 time.Time) (*Result, error) {
	opt.noTrain = true
	if r.remote == nil {
		return runWith(ctx, r.Config, r.Data, opt, t0)
	}
	if err := r.fetchSignals(ctx); err != nil {
		return nil, err
	}
	res, err := runWith(ctx, r.Config, r.Data, opt, t0)
	if err != nil {
		return nil, err
	}
	if err := r.remote.push(ctx); err != nil {
		return nil, err
	}
	res.Dir = r.Dir
	return res, nil
}

// IsURL reports whether a run directory is a URL (s3://, gs://, azblob://) rather than a path.
func IsURL(dir string) bool { return strings.Contains(dir, "://") }

// snapshotYAML writes c as YAML that parses back to c: the fields the original YAML leaves out are left
// out again where their value is empty or zero (what leaving them out gives), since validation refuses
// some of them where they do not apply.
func snapshotYAML(c *Config) ([]byte, error) {
	var n yaml.Node
	if err := n.Encode(c); err != nil {
		return nil, err
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			section, v := n.Content[i].Value, n.Content[i+1]
			if v.Kind != yaml.MappingNode {
				continue
			}
			var kept []*yaml.Node
			for j := 0; j+1 < len(v.Content); j += 2 {
				field, val := v.Content[j].Value, v.Content[j+1]
				if c.present(section, field) || !zeroNode(val) {
					kept = append(kept, v.Content[j], val)
				}
			}
			v.Content = kept
		}
		var kept []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if v := n.Content[i+1]; !zeroNode(v) {
				kept = append(kept, n.Content[i], v)
			}
		}
		n.Content = kept
	}
	return yaml.Marshal(&n)
}

// zeroNode reports whether a YAML value is null, "", 0, false, [] or {}.
func zeroNode(v *yaml.Node) bool {
	switch v.Kind {
	case yaml.SequenceNode, yaml.MappingNode:
		return len(v.Content) == 0
	case yaml.ScalarNode:
		switch v.Tag {
		case "!!null":
			return true
		case "!!str":
			return v.Value == ""
		case "!!int", "!!float":
			return v.Value == "0"
		case "!!bool":
			return v.Value == "false"
		}
	}
	return false
}
