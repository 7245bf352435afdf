package audit

import (
	"context"
	"fmt"

	"github.com/pmeter/pmeter/nn"
)

// Calibration is the measured training speed of a configuration's model on this machine, from a
// few steps of training on the data's first records (Calibrate).
type Calibration struct {
	Batch, Steps int     // steps timed (after one untimed step that sizes the buffers), of Batch records
	CPUSeconds   float64 // CPU time of the timed steps
	// FirstStep is the CPU time of the first step, which sizes every buffer (each model pays it once).
	FirstStep float64
	// SecondsPerRecord is CPU-seconds per trained record per epoch (one core per model, as
	// run.workers trains them); GFLOPs the training FLOPs per CPU-second it implies.
	SecondsPerRecord, GFLOPs float64
}

// Calibrate times a short training of the configuration's model (its optimizer and batch size, up to
// 128 records) on the first records of the pool, and sets e.Calibration and e.TrainSeconds: the
// estimated wall time of training every model of the plan and extracting its signals (inference on
// the audited and population records at the calibrated FLOP rate), with each model's first step at
// its measured cost, run.workers at once with one core each (as nn/sched trains them; Calibrate sets
// nn.SetBLASThreads(1) like it). After one step that sizes
// the buffers, it times as many steps as fit in about half a CPU-second (at least one, at most 200).
// Models read from files are not trained and not calibrated. It builds the model: call it for a plan
// that fits the machine (Estimate.Check).
func (e *Estimate) Calibrate(ctx context.Context, c *Config, d *Data) error {
	const budget, maxSteps = 0.5, 200
	if e.Models == e.External || e.TrainFLOPs <= 0 {
		return nil
	}
	specs, err := c.modelSpecs(d)
	if err != nil {
		return err
	}
	m, err := nn.FromSpecs("calibration", specs)
	if err != nil {
		return err
	}
	m.Init(1)
	nn.SetBLASThreads(1)
	batch := min(c.Train.BatchSize, 128, d.Pool.Len())
	x, err := nn.FromSlice(d.Pool.X[:batch*d.Pool.Dim()], append([]int{batch}, d.Pool.Shape...)...)
	if err != nil {
		return err
	}
	data := nn.Data{X: x, Labels: d.Pool.Y[:batch]}
	cfg := c.trainConfig(1)
	cfg.Epochs, cfg.BatchSize = 1, batch
	start := processCPU()
	if _, err := nn.Train(ctx, m, data, cfg); err != nil { // sizes the buffers
		return fmt.Errorf("audit: calibrating the training speed: %w", err)
	}
	first := (processCPU() - start).Seconds()
	if first <= 0 {
		return nil // no CPU clock: no estimate
	}
	// Each epoch over the one batch is one step.
	cfg.Epochs = max(1, min(maxSteps, int(budget/first)))
	start = processCPU()
	if _, err := nn.Train(ctx, m, data, cfg); err != nil {
		return fmt.Errorf("audit: calibrating the training speed: %w", err)
	}
	cal := &Calibration{Batch: batch, Steps: cfg.Epochs, CPUSeconds: (processCPU() - start).Seconds(), FirstStep: first}
	cal.SecondsPerRecord = cal.CPUSeconds / float64(cal.Steps*batch)
	cal.GFLOPs = e.TrainFLOPs / cal.SecondsPerRecord / 1e9
	e.Calibration = cal
	trained := e.Models - e.External
	waves := (trained + max(e.Workers, 1) - 1) / max(e.Workers, 1)
	perModel := float64(e.TrainRecords)*float64(e.Epochs)*cal.SecondsPerRecord + max(0, first-float64(batch)*cal.SecondsPerRecord)
	signals := float64((e.AuditRecords+e.PopulationRecords)*max(e.Queries, 1)) * e.ForwardFLOPs / (cal.GFLOPs * 1e9)
	e.TrainSeconds = float64(waves) * (perModel + signals)
	return nil
}

// CalibrationMemory is about the memory Calibrate needs (bytes): one model with its gradients and
// optimizer state, and a batch of up to 128 records' activations, their gradients and scratch space.
func (e *Estimate) CalibrationMemory() int64 {
	b := min(e.BatchSize, 128)
	if e.summary != nil {
		return e.summary.TrainMemory(b, 2)
	}
	return add(mul(16, e.Params), mul(8*int64(b), add(e.Activations, e.Workspace)))
}

// FormatDuration writes a duration for people: "42 s", "17 min", "3.5 h", "2.1 days".
func FormatDuration(s float64) string {
	switch {
	case s < 120:
		return fmt.Sprintf("%.0f s", s)
	case s < 2*3600:
		return fmt.Sprintf("%.0f min", s/60)
	case s < 48*3600:
		return fmt.Sprintf("%.1f h", s/3600)
	}
	return fmt.Sprintf("%.1f days", s/86400)
}
