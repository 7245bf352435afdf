package audit

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/nn/zoo"
)

// TestEstimateComputeAndCalibration checks the FLOPs of a plan against the model's own count and
// the calibrated training time against its definition: the models trained in waves of run.workers,
// each on its training records for every epoch at the calibrated seconds per record, plus its first
// step's extra cost and its signals' inference.
func TestEstimateComputeAndCalibration(t *testing.T) {
	c, err := ParseConfig([]byte("data:\n  dataset: fashion-mnist\n  train_size: 600\nrun:\n  workers: 2\n" +
		"audit:\n  num_ref_models: 2\ntrain:\n  model_name: cnn\n  epochs: 3\n  batch_size: 32\n"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	e, err := EstimateRun(c, d)
	if err != nil {
		t.Fatal(err)
	}
	m, err := zoo.Build("cnn", d.Pool.Shape, d.Pool.Classes)
	if err != nil {
		t.Fatal(err)
	}
	cost, err := m.Cost(d.Pool.Shape)
	if err != nil {
		t.Fatal(err)
	}
	if e.TrainFLOPs != cost.TrainFLOPs || e.ForwardFLOPs != cost.ForwardFLOPs || e.TrainRecords != 300 || e.ModelFLOPs != cost.TrainFLOPs*300*3 {
		t.Errorf("compute: %v FLOPs per record, %d records, %v per model; want %v, 300, %v", e.TrainFLOPs, e.TrainRecords, e.ModelFLOPs, cost.TrainFLOPs, cost.TrainFLOPs*900)
	}
	if err := e.Calibrate(context.Background(), c, d); err != nil {
		t.Fatal(err)
	}
	cal := e.Calibration
	if cal == nil {
		t.Skip("no CPU clock on this system: no calibration")
	}
	if cal.Batch != 32 || cal.Steps < 1 || !(cal.SecondsPerRecord > 0) || !(cal.GFLOPs > 0) {
		t.Fatalf("calibration %+v", cal)
	}
	waves := float64((e.Models + 1) / 2)
	signals := float64(e.AuditRecords+e.PopulationRecords) * e.ForwardFLOPs / (cal.GFLOPs * 1e9)
	first := max(0, cal.FirstStep-32*cal.SecondsPerRecord)
	if want := waves * (300*3*cal.SecondsPerRecord + first + signals); math.Abs(e.TrainSeconds-want) > 1e-9*want {
		t.Errorf("training time %v s, want %v", e.TrainSeconds, want)
	}
	out := e.String()
	for _, s := range []string{"compute", "FLOP per model", "training time", "GFLOP/s per core"} {
		if !strings.Contains(out, s) {
			t.Errorf("estimate lacks %q:\n%s", s, out)
		}
	}
}
