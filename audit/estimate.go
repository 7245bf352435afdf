package audit

import (
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"text/tabwriter"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/nn"
)

// Estimate is what a run of a configuration will need: its models and records, and the memory and disk
// they take. EstimateRun computes it from the configuration and the sizes of the loaded data, before
// the plan allocates anything or a model is built, so that Run can refuse a plan that cannot fit
// (Estimate.Check) instead of dying of "out of memory" hours in. `pmeter plan CONFIG` prints it.
//
// Memory and disk are estimates of the data a run keeps, in bytes, rounded up where a size varies
// (a training set is taken as large as it can be); the Go runtime's own overhead comes on top.
type Estimate struct {
	Dataset string
	Game    string // audit.privacy_game

	// Models = Targets + References; External of them are read from files, the others trained here.
	Models, Targets, References, External int
	// PoolRecords and PopulationPool are the sizes of the data; AuditRecords (N) and
	// PopulationRecords (Z) those the attacks use, with Queries queries per record.
	PoolRecords, PopulationPool     int
	AuditRecords, PopulationRecords int
	Queries, Classes                int
	InputShape                      []int
	SampleRecords                   int // privacy_loss_sample: records audited by leave-one-out
	Model                           string
	Params                          int64 // trainable parameters per model
	Epochs, BatchSize, Workers      int   // Workers: models trained at once
	Attacks                         int

	// Memory, in bytes: the data set; the membership matrix and the records' query tensors; Workers
	// models training at once (weights, gradients, optimiser state, a batch's activations, a copy
	// of the training set); every model's logits (signals); the attacks' inputs derived from them and
	// their working copies, scores and report rows. PeakMemory is the largest total of any stage.
	DataMemory, PlanMemory, TrainMemory, SignalMemory, AttackMemory, PeakMemory int64
	// Disk, in bytes: model weights and sidecars, signal files, and metadata, results and report.
	ModelDisk, SignalDisk, ReportDisk, Disk int64

	// Compute: TrainFLOPs is the training FLOPs of one record in one epoch (forward and backward
	// multiply-adds of the convolutions and dense layers, nn.SpecSummary), TrainRecords the records
	// each trained model learns from (at most), ModelFLOPs = TrainFLOPs × TrainRecords × Epochs.
	TrainFLOPs   float64
	TrainRecords int
	ModelFLOPs   float64
	ForwardFLOPs float64 // of one record: the signals' inference
	// Activations and Workspace are the model's float32 values per record kept for the backward pass
	// and of its largest layer scratch space (nn.SpecSummary).
	Activations, Workspace int64

	// Calibration, when set by Calibrate, is the measured training speed on this machine, and
	// TrainSeconds the estimated wall time of training every model of the plan and extracting its
	// signals.
	Calibration  *Calibration
	TrainSeconds float64

	summary *nn.SpecSummary // the architecture's, for CalibrationMemory
}

// EstimateRun computes the estimate of a run of c on data d. It checks the sizes the config asks of
// the data (audit.data_size, audit.population_size, audit.records) and the architecture, with the
// errors MakePlan gives, but allocates nothing in proportion to the plan.
func EstimateRun(c *Config, d *Data) (*Estimate, error) {
	n, pop := d.Pool.Len(), d.Population.Len()
	e := &Estimate{
		Dataset: c.Data.Dataset, Game: c.Audit.PrivacyGame, PoolRecords: n, PopulationPool: pop,
		Queries: c.Audit.NumQueries, Classes: d.Pool.Classes, InputShape: d.Pool.Shape, Model: modelName(c),
		Epochs: c.Train.Epochs, BatchSize: c.Train.BatchSize, Attacks: len(c.attackList()),
	}
	dim := int64(d.Pool.Dim())
	e.DataMemory = mul(int64(n+pop), 4*dim+8)

	// The architecture, summarised without building it.
	var sum *nn.SpecSummary
	if c.Target.Model != "" {
		em, err := loadModelFile(c.Target.Model, d.Pool.Shape, d.Pool.Classes)
		if err != nil {
			return nil, c.fieldError("target", "model", "%v", err)
		}
		if sum, err = nn.Summarize(em.net.Specs(), d.Pool.Shape); err != nil {
			// Imported layers that have no spec of their own: count what the loaded model holds.
			sum = &nn.SpecSummary{Params: int64(em.net.NumParams()), Activations: 4 * int64(d.Pool.Dim()), Kept: 4 * int64(d.Pool.Dim()), MaxOut: int64(d.Pool.Dim())}
		}
		e.Model = "imported from " + c.Target.Model
	} else {
		specs, err := c.modelSpecs(d)
		if err != nil {
			return nil, err
		}
		if sum, err = nn.Summarize(specs, d.Pool.Shape); err != nil {
			return nil, c.fieldError("train", "model_name", "%v", err)
		}
	}
	e.Params = sum.Params
	e.TrainFLOPs, e.ForwardFLOPs = sum.TrainFLOPs, sum.ForwardFLOPs
	e.Activations, e.Workspace = sum.Activations, sum.Workspace
	e.summary = sum

	workers := c.Run.Workers
	if workers == 0 {
		workers = runtime.NumCPU()
	}
	// One model training: weights and gradients, optimiser state (Adam: two moments; SGD: a momentum
	// buffer), a batch's activations, the shared gradient buffers and the convolutions' scratch space
	// (nn.SpecSummary.TrainMemory, calibrated against measured heaps), and its training set gathered
	// from the pool.
	optState := int64(0)
	switch strings.ToLower(c.Train.Optimizer) {
	case "adam", "adamw":
		optState = 2
	default:
		if c.Train.Momentum != 0 {
			optState = 1
		}
	}
	perModel := func(trainRecords int) int64 {
		return add(sum.TrainMemory(c.Train.BatchSize, int(optState)), mul(int64(trainRecords), 4*dim+8))
	}

	if c.Audit.PrivacyGame == "privacy_loss_sample" {
		// Leave-one-out: 2·max(R, 2) models per record, trained one after the other, nothing saved
		// but sample_game.json.
		if len(c.Audit.Records) == 0 {
			return nil, c.fieldError("audit", "records", "the sample-level game (privacy_loss_sample) needs the records to audit")
		}
		if err := c.checkRecords(n); err != nil {
			return nil, err
		}
		k := max(c.NumRefModels(), 2)
		e.SampleRecords = len(c.Audit.Records)
		e.Models, e.Workers = 2*k*e.SampleRecords, 1
		e.TrainMemory = perModel(n/2 + 1)
		e.setCompute(n/2 + 1)
		e.ReportDisk = mul(int64(e.Models), 32) + 4096
		e.PeakMemory = add(e.DataMemory, e.TrainMemory)
		e.Disk = e.ReportDisk
		return e, nil
	}

	E, R := c.Run.NumExperiments, c.NumRefModels()
	// A training set is at most half the pool in the pairs design; in the others about half (LiRA: each
	// record in half the models; Bernoulli: binomial, taken at half plus two standard deviations).
	trainRecords := min(n, n/2+int(math.Sqrt(float64(n)))+1)
	switch {
	case c.isCanaryGame():
		// Every run is a target, trained on the fixed records and up to all of its canaries; the game
		// keeps its own copy of the training pool with the canaries.
		k := c.Audit.Canaries
		if k.Kind != CanaryOOD && k.Kind != CanaryGradient && k.Count >= n {
			return nil, c.pathError([]string{"audit", "canaries", "count"}, "%d %s canaries drawn from a training pool of %d records leave no fixed training set; want fewer than %d",
				k.Count, k.Kind, n, n)
		}
		e.Targets, e.References, e.Attacks = E, 0, 1
		trainRecords = c.dpTrainRecords(n) + (k.Count+1)/2
		e.DataMemory = add(e.DataMemory, mul(int64(trainRecords), 4*dim+8))
	case c.Target.Model != "":
		e.Targets, trainRecords = 1, n
		if k := len(c.Target.References); k > 0 {
			e.References, e.External = k, 1+k
		} else {
			e.References, e.External = 2*max(R, 1), 1
		}
	case c.usage != nil:
		// dataset_usage: one target per proportion, the references, every model on as many records.
		e.Targets, e.References = len(c.usage.proportions), c.usage.refs
		size := c.usage.size
		if size == 0 {
			size = n / 2
		}
		trainRecords = size/2 + (n-size)/2
	default:
		m, design := c.modelCount()
		e.Targets, e.References = E, m-E
		if design == attack.DesignPairs {
			trainRecords = (n + 1) / 2
		}
	}
	e.Models = e.Targets + e.References
	trained := e.Models - e.External
	e.Workers = min(workers, trained)
	e.setCompute(trainRecords)

	e.AuditRecords = c.Audit.DataSize
	if c.isCanaryGame() {
		e.AuditRecords = c.Audit.Canaries.Count // the canaries
	} else if c.usage != nil {
		e.AuditRecords = c.usage.size // the dataset
		if e.AuditRecords > n/2 {
			return nil, c.fieldError("dataset_usage", "dataset_size", "%d records of a training pool of %d; want at most half the pool (%d), so that every model trains on as many records", e.AuditRecords, n, n/2)
		}
		if e.AuditRecords == 0 {
			e.AuditRecords = n / 2
		}
	} else if e.AuditRecords > n {
		return nil, c.fieldError("audit", "data_size", "%d is larger than the %d records of the training pool", e.AuditRecords, n)
	}
	if e.AuditRecords == 0 {
		e.AuditRecords = n
	}
	e.PopulationRecords = c.Audit.PopulationSize
	if e.PopulationRecords > pop {
		return nil, c.fieldError("audit", "population_size", "%d is larger than the %d population records", e.PopulationRecords, pop)
	}
	if e.PopulationRecords == 0 {
		e.PopulationRecords = pop
	}

	m, q, cl := int64(e.Models), int64(e.Queries), int64(e.Classes)
	N, Z := int64(e.AuditRecords), int64(e.PopulationRecords)
	// Gradient canaries are no records: no query tensors, logits or attack input of theirs (Nq), but
	// random directions hold m·d float32 per model in training.
	Nq := N
	gradient := c.isCanaryGame() && c.Audit.Canaries.Kind == CanaryGradient
	if gradient {
		Nq = 0
	}
	// The membership matrix (pool × models), the audited and population records' query tensors, and
	// the evaluation of one model on them in batches of audit.batch_size.
	e.PlanMemory = add(mul(int64(n), m), mul((Nq+Z)*q, 4*dim+8))
	// Evaluation splits a batch of audit.batch_size into passes whose layer outputs fit in
	// nn.DefaultEvalMemory (nn.EvalPass).
	evalPass := int64(nn.EvalPass(c.Audit.BatchSize, 4*sum.Kept, 0))
	e.TrainMemory = add(mul(int64(e.Workers), perModel(trainRecords)), mul(int64(max(e.Workers, 1))*evalPass, 4*sum.Kept))
	// Every model's float32 logits on the audited and population records.
	e.SignalMemory = mul(mul(m, (Nq+Z)*q), 4*cl)
	if gradient && c.Audit.Canaries.Direction == "random" {
		e.TrainMemory = add(e.TrainMemory, mul(int64(max(e.Workers, 1))*N, 4*e.Params))
	}
	// The attacks' input (float64 signals and probabilities, memberships), working copies of the
	// signals, each attack's scores for every target, and one report row per record and target.
	in := add(mul(mul(Nq+Z, m), 8*q+8*cl), mul(N, m))
	work := mul(mul(Nq+Z, m), 8*q)
	rowDim := dim
	if gradient {
		rowDim = 0 // a gradient canary's report row has no image or features
	}
	rows := mul(int64(e.Targets)*N, 128+8*int64(e.Attacks)+8*rowDim)
	e.AttackMemory = add(add(in, work), add(mul(int64(e.Attacks*e.Targets), 8*N), rows))
	if s := c.ranges; s != nil {
		// range_membership: the sampled points, every model's logits on them, and RaMIA's input (float64
		// signals, their p(true label) copy, memberships), S points per audited record.
		ns := mul(N, int64(s.size))
		e.AttackMemory = add(e.AttackMemory, add(add(mul(ns, 4*dim), mul(mul(ns, m), 4*cl)), mul(mul(ns, m), 17)))
	}
	e.PeakMemory = add(add(e.DataMemory, e.PlanMemory), max(add(e.TrainMemory, e.SignalMemory), add(e.SignalMemory, e.AttackMemory)))

	// Disk: safetensors weights with a small header, a JSON sidecar with the layer specs; two .npy
	// signal files and a sidecar per model; metadata (record lists as JSON), memberships.npy, scores,
	// records.csv and results.json (one row per record and target), the HTML page and plots.
	e.ModelDisk = mul(int64(trained), add(mul(4, e.Params), 8192))
	e.SignalDisk = mul(m, add(mul((N+Z)*q, 4*cl), 2048))
	if t := int64(len(c.trajectoryEpochs())); t > 0 { // train.checkpoints: weights and losses (trajectory.go)
		e.ModelDisk = add(e.ModelDisk, mul(int64(trained)*(t-1), add(mul(4, e.Params), 8192)))
		e.SignalDisk = add(e.SignalDisk, mul(m, add(mul((N+Z)*q, 4*t), 2048)))
	}
	if s := c.ranges; s != nil {
		e.SignalDisk = add(e.SignalDisk, mul(m, add(mul(mul(N, int64(s.size)), 4*cl), 2048))) // range signals
	}
	e.ReportDisk = add(add(mul(N+Z, 8)+mul(N, m), mul(int64(e.Attacks*e.Targets), 8*N)),
		add(mul(int64(e.Targets)*N, 2*(96+24*int64(e.Attacks))), 2<<20+int64(e.Attacks)*(100<<10)))
	e.Disk = add(add(e.ModelDisk, e.SignalDisk), e.ReportDisk)
	return e, nil
}

// setCompute sets the training records per model and the FLOPs of training one model.
func (e *Estimate) setCompute(trainRecords int) {
	e.TrainRecords = trainRecords
	e.ModelFLOPs = e.TrainFLOPs * float64(trainRecords) * float64(e.Epochs)
}

// mul and add are products and sums of sizes that saturate instead of overflowing.
func mul(a, b int64) int64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

func add(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// Limits are the resources of the machine that a run must fit in. A zero field is unknown and not
// checked.
type Limits struct {
	// Memory is the physical memory (or the process's cgroup limit, if lower); MemorySource says which.
	Memory       int64
	MemorySource string
	// Disk is the free space of the file system that holds the run directory (DiskPath), and
	// DiskUsed what the run directory already holds (artefacts a rerun reuses count as room).
	Disk, DiskUsed int64
	DiskPath       string
}

func (l Limits) String() string {
	var parts []string
	if l.Memory > 0 {
		parts = append(parts, fmt.Sprintf("%s of memory (%s)", FormatBytes(l.Memory), l.MemorySource))
	} else {
		parts = append(parts, "memory unknown")
	}
	if l.DiskPath != "" {
		s := fmt.Sprintf("%s free on the file system of %s", FormatBytes(l.Disk), l.DiskPath)
		if l.DiskUsed > 0 {
			s += fmt.Sprintf(" (the run directory already holds %s)", FormatBytes(l.DiskUsed))
		}
		parts = append(parts, s)
	} else {
		parts = append(parts, "free disk unknown")
	}
	return strings.Join(parts, ", ")
}

// ErrDoesNotFit is returned (wrapped) by Estimate.Check.
var ErrDoesNotFit = errors.New("the plan does not fit this machine")

// Check refuses a plan whose peak memory exceeds l.Memory or whose files exceed the free disk (plus
// what the run directory already holds). The error gives the estimate, the machine's limits and the
// settings that drive the largest part.
func (e *Estimate) Check(l Limits) error {
	var over []string
	if l.Memory > 0 && e.PeakMemory > l.Memory {
		over = append(over, fmt.Sprintf("it needs about %s of memory at its peak (%s), but the machine has %s (%s)",
			FormatBytes(e.PeakMemory), e.memoryParts(), FormatBytes(l.Memory), l.MemorySource))
	}
	if l.DiskPath != "" && e.Disk > add(l.Disk, l.DiskUsed) {
		over = append(over, fmt.Sprintf("it writes about %s (models %s, signals %s, report %s), but %s has %s free",
			FormatBytes(e.Disk), FormatBytes(e.ModelDisk), FormatBytes(e.SignalDisk), FormatBytes(e.ReportDisk), l.DiskPath, FormatBytes(l.Disk)))
	}
	if len(over) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s; %s (`pmeter plan CONFIG` prints the whole estimate)", ErrDoesNotFit, strings.Join(over, "; and "), e.advice())
}

func (e *Estimate) memoryParts() string {
	return fmt.Sprintf("data %s, plan %s, training %d model%s at once %s, signals %s, attack inputs %s",
		FormatBytes(e.DataMemory), FormatBytes(e.PlanMemory), e.Workers, plural(e.Workers), FormatBytes(e.TrainMemory),
		FormatBytes(e.SignalMemory), FormatBytes(e.AttackMemory))
}

// advice names the settings that shrink the largest parts of the estimate.
func (e *Estimate) advice() string {
	if e.Params > 1<<28 {
		return fmt.Sprintf("the model has %s parameters: use a smaller train.model or train.model_name", FormatCount(e.Params))
	}
	if e.TrainMemory > e.SignalMemory+e.AttackMemory {
		return "fewer run.workers, a smaller train.batch_size or a smaller model need less"
	}
	return "fewer models (audit.num_ref_models, run.num_experiments) or records (audit.data_size, audit.population_size) need less"
}

// EstimateColumn is the width of the first column of Estimate.WriteTo's table, for lines that callers
// add below it.
const EstimateColumn = 17

// WriteTo prints the estimate as a table, one quantity per line.
func (e *Estimate) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	tw := tabwriter.NewWriter(cw, 0, 0, 2, ' ', 0)
	shape := make([]string, len(e.InputShape))
	for i, s := range e.InputShape {
		shape[i] = fmt.Sprint(s)
	}
	fmt.Fprintf(tw, "%-*s\t%s: %s training-pool and %s population records of shape %s, %d classes\n",
		EstimateColumn-2, "data", e.Dataset, FormatCount(int64(e.PoolRecords)), FormatCount(int64(e.PopulationPool)), strings.Join(shape, "×"), e.Classes)
	if e.SampleRecords > 0 {
		fmt.Fprintf(tw, "models\t%s (leave-one-out: %d records × %d models each, trained one at a time)\n",
			FormatCount(int64(e.Models)), e.SampleRecords, e.Models/e.SampleRecords)
	} else {
		fmt.Fprintf(tw, "models\t%s: %d target%s, %s reference%s (%s trained here, %d read from files)\n",
			FormatCount(int64(e.Models)), e.Targets, plural(e.Targets), FormatCount(int64(e.References)), plural(e.References),
			FormatCount(int64(e.Models-e.External)), e.External)
		fmt.Fprintf(tw, "records\t%s audited, %s population, %d quer%s each\n",
			FormatCount(int64(e.AuditRecords)), FormatCount(int64(e.PopulationRecords)), e.Queries, map[bool]string{true: "y", false: "ies"}[e.Queries == 1])
	}
	fmt.Fprintf(tw, "model\t%s: %s parameters, %d epoch%s, batch %d, %d trained at once\n",
		e.Model, FormatCount(e.Params), e.Epochs, plural(e.Epochs), e.BatchSize, e.Workers)
	if e.TrainFLOPs > 0 {
		fmt.Fprintf(tw, "compute\t%s per model\t%s per record and epoch × %s records × %d epoch%s\n",
			formatFLOPs(e.ModelFLOPs), formatFLOPs(e.TrainFLOPs), FormatCount(int64(e.TrainRecords)), e.Epochs, plural(e.Epochs))
	}
	if c := e.Calibration; c != nil {
		trained := e.Models - e.External
		fmt.Fprintf(tw, "training time\tabout %s\t%d model%s and their signals, %d at once; calibrated %.1f GFLOP/s per core (%d step%s of %d records, %.2f CPU-s)\n",
			FormatDuration(e.TrainSeconds), trained, plural(trained), max(e.Workers, 1), c.GFLOPs, c.Steps, plural(c.Steps), c.Batch, c.CPUSeconds)
	}
	fmt.Fprintf(tw, "memory\t%s at the peak\n", FormatBytes(e.PeakMemory))
	fmt.Fprintf(tw, "  data\t%s\n", FormatBytes(e.DataMemory))
	if e.SampleRecords == 0 {
		fmt.Fprintf(tw, "  plan\t%s\tmembership matrix, query tensors\n", FormatBytes(e.PlanMemory))
	}
	fmt.Fprintf(tw, "  training\t%s\t%d model%s at once\n", FormatBytes(e.TrainMemory), e.Workers, plural(e.Workers))
	if e.SampleRecords == 0 {
		fmt.Fprintf(tw, "  signals\t%s\tevery model's logits\n", FormatBytes(e.SignalMemory))
		fmt.Fprintf(tw, "  attack inputs\t%s\t%d attack%s\n", FormatBytes(e.AttackMemory), e.Attacks, plural(e.Attacks))
	}
	fmt.Fprintf(tw, "disk\t%s\n", FormatBytes(e.Disk))
	if e.SampleRecords == 0 {
		fmt.Fprintf(tw, "  models\t%s\n", FormatBytes(e.ModelDisk))
		fmt.Fprintf(tw, "  signals\t%s\n", FormatBytes(e.SignalDisk))
	}
	fmt.Fprintf(tw, "  report\t%s\n", FormatBytes(e.ReportDisk))
	err := tw.Flush()
	return cw.n, err
}

func (e *Estimate) String() string {
	var b strings.Builder
	e.WriteTo(&b)
	return b.String()
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// formatFLOPs writes a count of floating-point operations with decimal units: "1.29 GFLOP".
func formatFLOPs(f float64) string {
	units := []string{"", "k", "M", "G", "T", "P", "E"}
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	return fmt.Sprintf("%.3g %sFLOP", f, units[i])
}

// FormatBytes writes a size in bytes with binary units: "512 B", "1.5 KiB", "23.4 GiB".
func FormatBytes(b int64) string {
	if b == math.MaxInt64 {
		return "more than 8 EiB"
	}
	if b < 1024 {
		return fmt.Sprintf("%d B", b)
	}
	v, unit := float64(b), ""
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"} {
		v, unit = v/1024, u
		if v < 1024 {
			break
		}
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}

// FormatCount writes a count with thousands separators: "1,467,610".
func FormatCount(n int64) string {
	if n == math.MaxInt64 {
		return "more than 9.2e18"
	}
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + FormatCount(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
