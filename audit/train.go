package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/pmeter/pmeter/dataset"
	"github.com/pmeter/pmeter/internal/jsonsum"
	"github.com/pmeter/pmeter/nn"
	"github.com/pmeter/pmeter/nn/sched"
	"github.com/pmeter/pmeter/npy"
)

// ModelInfo describes one trained (or reused) model.
type ModelInfo struct {
	Model     int    `json:"model"`
	Key       string `json:"key"`
	Seed      uint64 `json:"seed"`
	TrainSize int    `json:"train_size"`
	Cached    bool   `json:"-"`
	// External marks a model read from a file (an external target or reference), not trained here.
	External  bool    `json:"external,omitempty"`
	Seconds   float64 `json:"train_seconds"`
	FinalLoss float64 `json:"final_loss"`
	// TrainAccuracy is the accuracy on the audited records the model trained on; TestAccuracy on the
	// population records (which no model trains on).
	// Either is NaN when the model has no such record among those audited.
	TrainAccuracy float64 `json:"train_accuracy"`
	TestAccuracy  float64 `json:"test_accuracy"`
	// TrainMSE and TestMSE are a regression model's mean squared residuals on the same records, in
	// standardised target units (data.task: regression); 0 for a classifier.
	TrainMSE, TestMSE float64
	// TrainMAE, TestMAE, TrainR2 and TestR2 are its mean absolute residuals and R² on them.
	TrainMAE, TestMAE, TrainR2, TestR2 float64
}

// modelInfoJSON is ModelInfo as JSON, where a number that is not finite (an accuracy over no records, the
// loss of a diverged training) is null: JSON has no NaN, and encoding/json refuses to write one.
type modelInfoJSON struct {
	Model         int      `json:"model"`
	Key           string   `json:"key"`
	Seed          uint64   `json:"seed"`
	TrainSize     int      `json:"train_size"`
	External      bool     `json:"external,omitempty"`
	Seconds       float64  `json:"train_seconds"`
	FinalLoss     *float64 `json:"final_loss"`
	TrainAccuracy *float64 `json:"train_accuracy"`
	TestAccuracy  *float64 `json:"test_accuracy"`
	TrainMSE      *float64 `json:"train_mse,omitempty"`
	TestMSE       *float64 `json:"test_mse,omitempty"`
	TrainMAE      *float64 `json:"train_mae,omitempty"`
	TestMAE       *float64 `json:"test_mae,omitempty"`
	TrainR2       *float64 `json:"train_r2,omitempty"`
	TestR2        *float64 `json:"test_r2,omitempty"`
}

// MarshalJSON writes m with its non-finite numbers as null.
func (m ModelInfo) MarshalJSON() ([]byte, error) {
	finite := func(x float64) *float64 {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return &x
	}
	j := modelInfoJSON{Model: m.Model, Key: m.Key, Seed: m.Seed, TrainSize: m.TrainSize, External: m.External,
		Seconds: m.Seconds, FinalLoss: finite(m.FinalLoss), TrainAccuracy: finite(m.TrainAccuracy), TestAccuracy: finite(m.TestAccuracy)}
	if m.TrainMSE != 0 || m.TestMSE != 0 {
		j.TrainMSE, j.TestMSE = finite(m.TrainMSE), finite(m.TestMSE)
		j.TrainMAE, j.TestMAE, j.TrainR2, j.TestR2 = finite(m.TrainMAE), finite(m.TestMAE), finite(m.TrainR2), finite(m.TestR2)
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes, null as NaN.
func (m *ModelInfo) UnmarshalJSON(b []byte) error {
	var j modelInfoJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return err
	}
	num := func(x *float64) float64 {
		if x == nil {
			return math.NaN()
		}
		return *x
	}
	*m = ModelInfo{Model: j.Model, Key: j.Key, Seed: j.Seed, TrainSize: j.TrainSize, External: j.External, Seconds: j.Seconds,
		FinalLoss: num(j.FinalLoss), TrainAccuracy: num(j.TrainAccuracy), TestAccuracy: num(j.TestAccuracy)}
	if j.TrainMSE != nil || j.TestMSE != nil {
		m.TrainMSE, m.TestMSE = num(j.TrainMSE), num(j.TestMSE)
		m.TrainMAE, m.TestMAE, m.TrainR2, m.TestR2 = num(j.TrainMAE), num(j.TestMAE), num(j.TrainR2), num(j.TestR2)
	}
	return nil
}

// modelOutputs are one model's logits on the audited and population records: records × queries ×
// classes, float32 as the model computes them.
type modelOutputs struct {
	Info      ModelInfo
	Audit     []float32
	Pop       []float32
	AuditRows int
	PopRows   int
	// GradAudit and GradPop are per-record gradient norms, rows × G (whole model, then each layer with
	// parameters; gradients.go), when a white-box attack needs them; nil otherwise.
	GradAudit, GradPop []float32
	G                  int
	// Aug is the correctness under A augmentations of the audited records (records × A, 0 or 1) and
	// Boundary their distances to the decision boundary (target models only); labelonly.go.
	Aug      []float32
	A        int
	Boundary []float32
	// TrajAudit and TrajPop are the losses at the training checkpoints TrajEpochs, rows × T
	// (train.checkpoints; trajectory.go); nil otherwise.
	TrajAudit, TrajPop []float32
	TrajEpochs         []int
}

func (c *Config) trainConfig(seed uint64) nn.TrainConfig {
	t := c.Train
	cfg := nn.TrainConfig{Epochs: t.Epochs, BatchSize: t.BatchSize, LR: t.LearningRate, Seed: seed}
	switch strings.ToLower(t.Optimizer) {
	case "adam":
		cfg.Optimizer = nn.Adam{WeightDecay: t.WeightDecay}
	case "adamw":
		cfg.Optimizer = nn.AdamW{WeightDecay: t.WeightDecay}
	default:
		cfg.Optimizer = nn.SGD{Momentum: t.Momentum, WeightDecay: t.WeightDecay}
	}
	if c.regression() {
		cfg.Loss = nn.MSE{}
	}
	switch t.Schedule {
	case "constant":
		cfg.Schedule = nn.Constant{}
	case "cosine":
		cfg.Schedule = nn.Cosine{}
	default:
		// Privacy Meter v2's schedule (default_trainer.py, from LiRA's lr_update).
		cfg.Schedule = nn.LiRA{}
	}
	return cfg
}

// trainAll trains (or reuses) every model of the plan and returns each model's outputs, in model order.
// What the run directory holds is reused first: a model's signals, or its saved weights (or the file of
// an external model), from which the signals are extracted. The other models train concurrently, one per
// worker (nn/sched); each one's weights and signals are written atomically as soon as it finishes, so an
// interrupted run keeps them.
//
// Options.only, if set, restricts the work to those models (pmeter task train): the others' entries of
// the result are nil. Options.noTrain makes a model that would need training an error naming the missing
// models (pmeter task finish), instead of training it.
func trainAll(ctx context.Context, c *Config, d *Data, p *Plan, dir string, opt Options) ([]*modelOutputs, error) {
	auditX, auditY, err := queryData(d.Pool, p.Audit, c.Audit.NumQueries)
	if err != nil {
		return nil, err
	}
	popX, popY, err := queryData(d.Population, p.PopulationIdx, c.Audit.NumQueries)
	if err != nil {
		return nil, err
	}
	for _, sub := range []string{"models", "signals"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	x := &extractor{c: c, p: p, dir: dir, auditX: auditX, popX: popX, auditY: auditY, popY: popY,
		trainConfig: func(seed uint64) (nn.TrainConfig, error) { return c.trainConfigFor(seed, p.DP, opt) },
		grad:        p.needsGradients(), traj: c.trajectoryEpochs(), trajs: map[int]*trajectory{}}
	if x.aug, x.boundary, err = p.labelOnlyNeeds(); err != nil {
		return nil, err
	}
	if c.regression() {
		if x.auditV, err = valuesTensor(d.Pool, p.Audit, 1); err != nil {
			return nil, err
		}
		if x.popV, err = valuesTensor(d.Population, p.PopulationIdx, 1); err != nil {
			return nil, err
		}
	}
	out := make([]*modelOutputs, len(p.Jobs))
	// The bar counts epochs, so that it moves while a long model trains; a reused model counts all of
	// its epochs at once.
	epochs := c.Train.Epochs
	todo := p.Jobs
	if opt.only != nil {
		todo = nil
		for _, j := range p.Jobs {
			if slices.Contains(opt.only, j.Model) {
				todo = append(todo, j)
			}
		}
	}
	bar := opt.bar(fmt.Sprintf("train %d model%s", len(todo), plural(len(todo))), len(todo)*epochs)
	defer bar.Finish()
	var mu sync.Mutex
	finish := func(o *modelOutputs) {
		mu.Lock()
		out[o.Info.Model] = o
		mu.Unlock()
		if opt.OnModel != nil {
			opt.OnModel(o.Info.Model, o.Info.Cached)
		}
	}

	var jobs []sched.Job
	var seeds []uint64
	var missing []int
	for _, j := range todo {
		if err := ctx.Err(); err != nil {
			return nil, interrupted(out, err)
		}
		o, err := x.reuse(ctx, d, j, opt)
		if err != nil {
			return nil, err
		}
		if o != nil {
			bar.Add(epochs)
			finish(o)
			continue
		}
		if opt.noTrain {
			missing = append(missing, j.Model)
			continue
		}
		j := j
		cfg, err := x.trainConfig(j.Seed)
		if err != nil {
			return nil, err
		}
		if x.traj != nil {
			cfg.Checkpoint = x.checkpoint(ctx, d, j)
		}
		jobs = append(jobs, sched.Job{
			Name: fmt.Sprintf("model %d", j.Model),
			Build: func() (*nn.Sequential, nn.Data, error) {
				m, err := p.build(fmt.Sprintf("model %d", j.Model), j.Seed)
				if err != nil {
					return nil, nn.Data{}, err
				}
				train, err := d.Pool.Subset(j.Train)
				if err != nil {
					return nil, nn.Data{}, err
				}
				tx, err := nn.FromSlice(train.X, append([]int{train.Len()}, train.Shape...)...)
				if err == nil && c.regression() {
					tv, err := valuesTensor(train, seq(train.Len()), 1)
					return m, nn.Data{X: tx, Values: tv}, err
				}
				return m, nn.Data{X: tx, Labels: train.Y}, err
			},
			Config: cfg,
			Done: func(ctx context.Context, m *nn.Sequential, r sched.Result) error {
				info := ModelInfo{Model: j.Model, Key: j.ModelKey, Seed: j.Seed, TrainSize: len(j.Train), Seconds: r.Elapsed.Seconds()}
				if n := len(r.Train.EpochLoss); n > 0 {
					info.FinalLoss = r.Train.EpochLoss[n-1]
				}
				if err := x.save(m, d, j, info); err != nil {
					return err
				}
				o, err := x.extract(ctx, m, j, info)
				if err != nil {
					return err
				}
				finish(o)
				return nil
			},
		})
		seeds = append(seeds, j.Seed)
	}
	if len(missing) > 0 {
		return nil, &MissingModelsError{Missing: missing, Models: len(p.Jobs)}
	}
	workers := c.Run.Workers
	if workers == 0 {
		workers = runtime.NumCPU()
	}
	done := make([]int, len(jobs)) // epochs counted on the bar, per job
	_, err = sched.Run(ctx, jobs, sched.Options{Workers: workers, Seeds: seeds, Progress: func(e sched.Event) {
		n := e.Epoch // epochs finished before this step's epoch
		if e.Batch < 0 {
			n = epochs
		}
		if n > done[e.Job] {
			bar.Add(n - done[e.Job])
			done[e.Job] = n
		}
	}})
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, interrupted(out, err)
		}
		return nil, fmt.Errorf("training: %w", err)
	}
	return out, nil
}

// interrupted explains a cancelled training stage: what is saved and that a rerun resumes.
func interrupted(out []*modelOutputs, err error) error {
	done := 0
	for _, o := range out {
		if o != nil {
			done++
		}
	}
	return fmt.Errorf("interrupted with %d of %d models finished and saved; rerun the same command to train only the rest: %w", done, len(out), err)
}

// queryData returns the records idx of ds as a tensor, with Q queries per record: the record itself and,
// for Q = 2, its horizontal mirror image (images only). Rows are record-major: row i*Q+q.
func queryData(ds *dataset.Dataset, idx []int, q int) (*nn.Tensor, []int, error) {
	sub, err := ds.Subset(idx)
	if err != nil {
		return nil, nil, err
	}
	dim := sub.Dim()
	x := make([]float32, 0, len(idx)*q*dim)
	y := make([]int, 0, len(idx)*q)
	for i := 0; i < sub.Len(); i++ {
		row := sub.Row(i)
		x = append(x, row...)
		y = append(y, sub.Y[i])
		if q == 2 {
			if len(sub.Shape) != 3 {
				return nil, nil, fmt.Errorf("audit.num_queries = 2 (mirror queries) needs image data, but records have shape %v", sub.Shape)
			}
			x = append(x, mirror(row, sub.Shape)...)
			y = append(y, sub.Y[i])
		}
	}
	t, err := nn.FromSlice(x, append([]int{len(y)}, sub.Shape...)...)
	return t, y, err
}

// mirror flips a C×H×W image horizontally.
func mirror(img []float32, shape []int) []float32 {
	c, h, w := shape[0], shape[1], shape[2]
	out := make([]float32, len(img))
	for ch := 0; ch < c; ch++ {
		for r := 0; r < h; r++ {
			base := (ch*h + r) * w
			for col := 0; col < w; col++ {
				out[base+col] = img[base+w-1-col]
			}
		}
	}
	return out
}

func signalPaths(dir string, j Job) (meta, audit, pop string) {
	s := filepath.Join(dir, "signals", j.SignalKey)
	return s + ".json", s + "-audit.npy", s + "-population.npy"
}

// weightsPath is where model j's weights are saved (its JSON sidecar is nn.SidecarPath of it).
func weightsPath(dir string, j Job) string {
	return filepath.Join(dir, "models", j.ModelKey+".safetensors")
}

// extractor reuses saved artefacts and extracts and saves models' signals on the audited and population
// records.
type extractor struct {
	c            *Config
	p            *Plan
	dir          string
	auditX, popX *nn.Tensor
	auditY, popY []int
	// auditV and popV are the regression targets (data.task: regression), nil for a classifier.
	auditV, popV *nn.Tensor
	// grad asks for per-record gradient norms (a white-box attack is listed).
	grad bool
	// aug and boundary ask for label-only signals: correctness under augmentations, and the boundary
	// search's query budget (0: none); labelonly.go.
	aug      bool
	boundary int
	// trainConfig is a model's training configuration, with the run's DP recipe.
	trainConfig func(seed uint64) (nn.TrainConfig, error)
	// traj are the epochs of the loss trajectories (train.checkpoints; trajectory.go), nil without;
	// trajs holds each training model's recorded trajectory until its signals are saved.
	traj   []int
	trajMu sync.Mutex
	trajs  map[int]*trajectory
}

// reuse returns model j's outputs when the run directory holds its signals, or when it holds the model
// (or the model is external) so that only the signals need extracting; it returns nil when the model
// must be trained. A damaged artefact is reported on the log and recomputed, never trusted.
func (x *extractor) reuse(ctx context.Context, d *Data, j Job, opt Options) (*modelOutputs, error) {
	metaPath, auditPath, popPath := signalPaths(x.dir, j)
	o, err := loadJob(metaPath, auditPath, popPath, x.auditX.Rows(), x.popX.Rows())
	if err == nil && x.grad {
		err = loadGradients(metaPath, o)
	}
	if err == nil && (x.aug || x.boundary > 0) {
		err = x.loadLabelOnly(metaPath, j, o)
	}
	if err == nil && x.traj != nil {
		err = x.loadTrajectory(metaPath, o)
	}
	if err == nil {
		return o, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		opt.logf("model %d: recomputing its signals: %v", j.Model, err)
	}
	if x.traj != nil {
		if err := x.trajectoryFromCheckpoints(ctx, d, j, opt); err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				opt.logf("model %d: retraining for its loss trajectory: %v", j.Model, err)
			}
			return nil, nil
		}
	}
	info := ModelInfo{Model: j.Model, Key: j.ModelKey, Seed: j.Seed, TrainSize: len(j.Train), Cached: true}
	if em := x.p.external[j.Model]; em != nil {
		// A model read from a file: audited as it is, never trained here.
		info.External = true
		return x.extract(ctx, em.net, j, info)
	}
	if _, e := nn.FromSpecs("check", x.p.Specs); e != nil {
		// Architectures imported from ONNX with layers of their own cannot be rebuilt from their specs,
		// so their saved weights are not reloaded.
		return nil, nil
	}
	m, saved, err := loadCached(weightsPath(x.dir, j), nn.Expect{IndicesHash: nn.HashIndices(j.Train), InputShape: d.Pool.Shape, Layers: x.p.Specs}, opt)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			opt.logf("model %d: retraining: %v", j.Model, err)
		}
		return nil, nil
	}
	info.FinalLoss, _ = strconv.ParseFloat(saved.Extra["final_loss"], 64)
	info.Seconds, _ = strconv.ParseFloat(saved.Extra["train_seconds"], 64)
	return x.extract(ctx, m, j, info)
}

// loadCached loads a model that the run directory caches (its final weights or a checkpoint), checked
// against want, which must name its training records and architecture. nn.Load refuses a sidecar whose
// contents do not match the SHA-256 it records, and the caller retrains the model.
//
// A sidecar written before pmeter recorded that checksum (no sha256 field) is accepted once and
// rewritten with one, rather than retrained, because what decides which model it is is verified without
// it: its weights against weights_sha256 (the weights file's bytes), its training records against the
// run's membership (indices_hash), its input shape and layers against the run's architecture, and its
// path is the content-addressed key of the data, architecture, training recipe (DP settings included)
// and seed. A truncated sidecar is not valid JSON, and is refused. What remains unverified (final_loss,
// train_seconds, backend) is informational and enters no score or bound; retraining every cached model
// after an upgrade would cost hours on a large audit and gain the numbers nothing.
func loadCached(path string, want nn.Expect, opt Options) (*nn.Sequential, *nn.ModelInfo, error) {
	if want.IndicesHash == "" || want.Layers == nil {
		return nil, nil, fmt.Errorf("loading cached model %s: its training records and architecture must be checked", path)
	}
	m, info, err := nn.Load(path, want)
	if err != nil || info.SHA256 != "" {
		return m, info, err
	}
	sidecar := nn.SidecarPath(path)
	if err := nn.WriteModelInfo(sidecar, *info); err != nil {
		return nil, nil, fmt.Errorf("adding a checksum to %s: %w", sidecar, err)
	}
	opt.logf("%s: sidecar without a checksum (written by an older pmeter); its weights, records and architecture match, so it is kept and now records one", sidecar)
	return m, info, nil
}

// save writes a trained model's weights and sidecar.
func (x *extractor) save(m *nn.Sequential, d *Data, j Job, info ModelInfo) error {
	return x.saveAt(weightsPath(x.dir, j), m, d, j, info)
}

// saveAt writes model j's weights m and sidecar at path.
func (x *extractor) saveAt(path string, m *nn.Sequential, d *Data, j Job, info ModelInfo) error {
	cfg, err := x.trainConfig(j.Seed)
	if err != nil {
		return err
	}
	spec, err := nn.TrainSpecOf(cfg)
	if err != nil {
		return err
	}
	return nn.Save(path, m, nn.ModelInfo{
		Arch: modelName(x.c), InputShape: d.Pool.Shape, Seed: j.Seed, Train: &spec,
		IndicesHash: nn.HashIndices(j.Train), NumRecords: len(j.Train),
		Extra: map[string]string{"key": j.ModelKey, "final_loss": strconv.FormatFloat(info.FinalLoss, 'g', -1, 64),
			"train_seconds": strconv.FormatFloat(info.Seconds, 'g', -1, 64)},
	})
}

// extract computes model j's logits on the audited and population records and its accuracy, and saves
// them; the metadata file is written last, as the mark that the signals are complete.
func (x *extractor) extract(ctx context.Context, m *nn.Sequential, j Job, info ModelInfo) (*modelOutputs, error) {
	name := fmt.Sprintf("model %d", j.Model)
	eval := nn.EvalConfig{BatchSize: x.c.Audit.BatchSize}
	auditD, popD := nn.Data{X: x.auditX, Labels: x.auditY}, nn.Data{X: x.popX, Labels: x.popY}
	eval.LayerGradNorms = x.grad
	if x.auditV != nil { // regression
		eval.Loss = nn.MSE{}
		auditD, popD = nn.Data{X: x.auditX, Values: x.auditV}, nn.Data{X: x.popX, Values: x.popV}
	}
	ao, err := nn.Evaluate(ctx, m, auditD, eval)
	if err != nil {
		return nil, fmt.Errorf("signals of %s on the audited records: %w", name, err)
	}
	po, err := nn.Evaluate(ctx, m, popD, eval)
	if err != nil {
		return nil, fmt.Errorf("signals of %s on the population: %w", name, err)
	}
	q, p := x.c.Audit.NumQueries, x.p
	trained := func(i int) bool { return p.Memberships.In(p.Audit[i], j.Model) }
	if x.auditV != nil {
		info.TrainAccuracy, info.TestAccuracy = math.NaN(), math.NaN()
		info.TrainMSE, info.TrainMAE, info.TrainR2 = residualFit(ao.Logits, x.auditV, trained)
		info.TestMSE, info.TestMAE, info.TestR2 = residualFit(po.Logits, x.popV, func(int) bool { return true })
	} else {
		info.TrainAccuracy = accuracy(ao.Logits, x.auditY, q, trained)
		info.TestAccuracy = accuracy(po.Logits, x.popY, q, func(int) bool { return true })
	}
	o := &modelOutputs{Info: info, Audit: ao.Logits.Data, Pop: po.Logits.Data, AuditRows: x.auditX.Rows(), PopRows: x.popX.Rows()}
	metaPath, auditPath, popPath := signalPaths(x.dir, j)
	classes := ao.Logits.RowLen()
	sc := signalSidecar{Format: signalFormat, Model: info}
	if sc.Audit, err = writeSignalFile(auditPath, npy.NewFloat32(o.Audit, o.AuditRows, classes)); err != nil {
		return nil, err
	}
	if sc.Population, err = writeSignalFile(popPath, npy.NewFloat32(o.Pop, o.PopRows, classes)); err != nil {
		return nil, err
	}
	if x.grad {
		if err := saveGradients(metaPath, o, ao, po, &sc); err != nil {
			return nil, err
		}
	}
	if x.aug || x.boundary > 0 {
		if err := x.queryLabelOnly(ctx, m, j, o, &sc, metaPath); err != nil {
			return nil, err
		}
	}
	if x.traj != nil {
		if err := x.saveTrajectory(metaPath, j, o, &sc); err != nil {
			return nil, err
		}
	}
	if err := sc.write(metaPath); err != nil {
		return nil, err
	}
	return o, nil
}

// signalFormat identifies the schema of a signal sidecar.
const signalFormat = "pmeter.audit.signals/v1"

// signalSidecar is the JSON file that completes a model's two signal files. It is written after them,
// so that it marks them complete, and it records their SHA-256 and its own, so that a damaged, partly
// written or swapped file is recomputed from the model, never reused (as nn.Save's sidecar does for
// model weights).
type signalSidecar struct {
	Format     string     `json:"format"`
	Model      ModelInfo  `json:"model"`
	Audit      signalFile `json:"audit"`
	Population signalFile `json:"population"`
	// GradAudit and GradPop are the gradient-norm files (gradients.go), when extracted.
	GradAudit *signalFile `json:"grad_audit,omitempty"`
	GradPop   *signalFile `json:"grad_population,omitempty"`
	// Augmentations and Boundary are the label-only signals' files (labelonly.go), when queried.
	Augmentations   *signalFile `json:"augmentations,omitempty"`
	AugmentConfig   string      `json:"augment_config,omitempty"` // labelonly.AugmentConfig.String()
	Boundary        *signalFile `json:"boundary,omitempty"`
	BoundaryQueries int         `json:"boundary_queries,omitempty"`
	// TrajAudit and TrajPop are the loss trajectories' files at epochs TrajEpochs (trajectory.go).
	TrajAudit  *signalFile `json:"traj_audit,omitempty"`
	TrajPop    *signalFile `json:"traj_population,omitempty"`
	TrajEpochs []int       `json:"traj_epochs,omitempty"`
	// SHA256 is the hex SHA-256 of the sidecar's compact JSON with SHA256 itself empty.
	SHA256 string `json:"sha256"`
}

// signalFile is one signal file as its sidecar records it.
type signalFile struct {
	File   string `json:"file"`
	Shape  []int  `json:"shape"`
	SHA256 string `json:"sha256"`
}

// selfHash returns the SHA-256 that sc records of itself.
func (sc signalSidecar) selfHash() (string, error) {
	sc.SHA256 = ""
	return jsonsum.SHA256(sc)
}

func (sc signalSidecar) write(path string) error {
	var err error
	if sc.SHA256, err = sc.selfHash(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return writeJSON(path, sc)
}

// readSignalSidecar reads and verifies a signal sidecar. A missing file gives an error satisfying
// errors.Is(err, os.ErrNotExist).
func readSignalSidecar(path string) (*signalSidecar, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var head struct {
		Format string `json:"format"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("%s: damaged: %w", path, err)
	}
	if head.Format != signalFormat {
		return nil, fmt.Errorf("%s: format %q, want %q (written by another version of pmeter, or damaged)", path, head.Format, signalFormat)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var sc signalSidecar
	if err := dec.Decode(&sc); err != nil {
		return nil, fmt.Errorf("%s: damaged: %w", path, err)
	}
	sum, err := sc.selfHash()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if sum != sc.SHA256 {
		return nil, fmt.Errorf("%s: damaged: its contents do not match the SHA-256 it records", path)
	}
	return &sc, nil
}

// writeSignalFile writes a atomically to path and describes the file for its sidecar.
func writeSignalFile(path string, a *npy.Array) (signalFile, error) {
	h := sha256.New()
	err := npy.WriteAtomic(path, func(w io.Writer) error { return npy.Encode(io.MultiWriter(w, h), a) })
	return signalFile{File: filepath.Base(path), Shape: a.Shape, SHA256: hex.EncodeToString(h.Sum(nil))}, err
}

// readSignalFile reads a float32 matrix from path and checks it against what its sidecar records.
func readSignalFile(path string, want signalFile) (*npy.Array, error) {
	a, err := readCheckedFile(path, want)
	if err != nil {
		return nil, err
	}
	if a.Kind != npy.Float32 || !slices.Equal(a.Shape, want.Shape) {
		return nil, fmt.Errorf("%s: %v of shape %v, but its sidecar records float32 of shape %v", path, a.Kind, a.Shape, want.Shape)
	}
	return a, nil
}

// readCheckedFile reads an array written by writeSignalFile from path and checks its name and SHA-256
// against want.
func readCheckedFile(path string, want signalFile) (*npy.Array, error) {
	if want.File != filepath.Base(path) {
		return nil, fmt.Errorf("%s: the sidecar describes %s instead", path, want.File)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	r := bufio.NewReaderSize(io.TeeReader(f, h), 1<<20)
	a, err := npy.Decode(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != want.SHA256 {
		return nil, fmt.Errorf("%s: damaged: SHA-256 %s…, but its sidecar records %s…", path, sum[:12], want.SHA256[:min(12, len(want.SHA256))])
	}
	return a, nil
}

// loadJob reads a model's saved signals, verified against their sidecar, and checks that they cover
// auditRows and popRows records.
func loadJob(metaPath, auditPath, popPath string, auditRows, popRows int) (*modelOutputs, error) {
	sc, err := readSignalSidecar(metaPath)
	if err != nil {
		return nil, err
	}
	a, err := readSignalFile(auditPath, sc.Audit)
	if err != nil {
		return nil, err
	}
	pa, err := readSignalFile(popPath, sc.Population)
	if err != nil {
		return nil, err
	}
	if len(a.Shape) != 2 || len(pa.Shape) != 2 || a.Shape[0] != auditRows || pa.Shape[0] != popRows || a.Shape[1] != pa.Shape[1] {
		return nil, fmt.Errorf("%s: stale signals (shapes %v and %v, want %d and %d rows)", metaPath, a.Shape, pa.Shape, auditRows, popRows)
	}
	info := sc.Model
	info.Cached = true
	return &modelOutputs{Info: info, Audit: a.F32, Pop: pa.F32, AuditRows: auditRows, PopRows: popRows}, nil
}

// accuracy is the fraction of records (with include(i) true) whose first query's argmax equals the label.
func accuracy(logits *nn.Tensor, labels []int, q int, include func(i int) bool) float64 {
	c := logits.RowLen()
	right, total := 0, 0
	for i := 0; i*q < len(labels); i++ {
		if !include(i) {
			continue
		}
		row := logits.Data[i*q*c : (i*q+1)*c]
		best := 0
		for k := range row {
			if row[k] > row[best] {
				best = k
			}
		}
		if best == labels[i*q] {
			right++
		}
		total++
	}
	if total == 0 {
		return math.NaN()
	}
	return float64(right) / float64(total)
}
