package nnbench

import (
	"bytes"
	"context"
	"github.com/pmeter/pmeter/internal/bench"
	"os/exec"
	"strings"
	"testing"
)

// tiny is a configuration that runs every part in a few seconds.
func tiny() Options {
	return Options{Seed: 1, MLPRecords: 300, MLPEpochs: 2, CNNRecords: 128, CNNEpochs: 1, ParallelEpochs: 1,
		WRNRecords: 8, WRNEpochs: 1, ResNetRecords: 16, ConvBatch: 8, FashionEpochs: 1, Repeats: 1, NoBaseline: true}
}

func TestRunAllParts(t *testing.T) {
	var out bytes.Buffer
	rep, err := Run(context.Background(), &out, tiny())
	if err != nil {
		t.Fatal(err)
	}
	if rep.MLP == nil || rep.CNN == nil || rep.WRN == nil || rep.ResNet == nil || rep.Parallel == nil || rep.Fashion == nil {
		t.Fatalf("parts missing: %+v", rep)
	}
	// 300 records in full batches of 256, two epochs; the MLP is 600-256-100.
	if g := rep.MLP.Go; g.Samples != 512 || g.Params != 601*256+257*100 || g.Seconds <= 0 || g.GFLOPs() <= 0 || !(g.LastLoss < g.FirstLoss) {
		t.Errorf("mlp %+v", g)
	}
	if rep.MLP.Torch != nil || rep.MLP.Skipped != "not requested" || rep.MLP.Ratio() != 0 {
		t.Errorf("baseline ran: %+v", rep.MLP)
	}
	if g := rep.CNN.Go; g.Samples != 128 || g.Params != 545098 {
		t.Errorf("cnn %+v", g)
	}
	// Zoo's wrn28-2 and ResNet-20 with 1×1 convolutions as its two projection shortcuts (the
	// paper's "0.27M" parameters).
	if r := rep.WRN; r.Go.Samples != 8 || r.Cost.Params != 1467610 || r.Go.GFLOPs() <= 0 || r.GemmGFLOPs <= 0 || r.Budget <= 0 ||
		r.General.Samples != r.Go.Samples || r.General.GFLOPs() <= 0 {
		t.Errorf("wrn %+v", r)
	}
	if r := rep.ResNet; r.Go.Samples != 16 || r.Cost.Params != 272474 || r.GemmGFLOPs <= 0 {
		t.Errorf("resnet %+v", r)
	}
	if p := rep.Parallel; p.Two.Samples != 2*p.One.Samples || p.One.Samples != 256 || p.Ratio() <= 0 {
		t.Errorf("parallel %+v", p)
	}
	if f := rep.Fashion; f.Train != 6000 || f.Test != 1000 || f.Epochs != 1 || !(f.Accuracy > 0.6) {
		t.Errorf("fashion %+v", f)
	}
	if len(rep.DP) != 2 || rep.DP[0].Part != "mlp" || rep.DP[1].Part != "cnn" {
		t.Fatalf("dp part %+v", rep.DP)
	}
	for _, c := range rep.DP {
		if c.Plain.Params != c.DP.Params || c.Plain.Samples != c.DP.Samples || !(c.Ratio() > 0) || c.Target == 0 {
			t.Errorf("dp %s: %+v", c.Part, c)
		}
		// GFLOP/s count the model's training FLOPs (the CNN's convolutions included), as the cnn part does.
		if c.Plain.FLOPsPerSample <= 0 || c.DP.FLOPsPerSample != c.Plain.FLOPsPerSample {
			t.Errorf("dp %s: FLOPs per sample %v and %v", c.Part, c.Plain.FLOPsPerSample, c.DP.FLOPsPerSample)
		}
	}
	if c := rep.DP[1]; c.Plain.FLOPsPerSample != rep.CNN.Go.FLOPsPerSample {
		t.Errorf("dp cnn counts %v FLOPs per sample, the cnn part %v", c.Plain.FLOPsPerSample, rep.CNN.Go.FLOPsPerSample)
	}
	for _, s := range []string{"backend " + rep.Backend, "dp mlp: mlp2", "dp cnn: cnn2", "× non-private", "mlp: mlp2 600-256-100", "cnn: cnn2", "parallel:", "two at once",
		"fashion: mlp 784-128-10", "test accuracy", "wrn: wrn28-2", "resnet: resnet20", "gemm kernel on the same products", "of user", "peak RSS", "general im2col path",
		"PyTorch skipped: not requested"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, out.String())
		}
	}
}

func TestRunParts(t *testing.T) {
	o := tiny()
	o.Parts = []string{"CNN"}
	rep, err := Run(context.Background(), &bytes.Buffer{}, o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.CNN == nil || rep.MLP != nil || rep.Parallel != nil || rep.Fashion != nil {
		t.Errorf("report %+v", rep)
	}
	o.Parts = []string{"mlp", "gpu"}
	if _, err := Run(context.Background(), &bytes.Buffer{}, o); err == nil || !strings.Contains(err.Error(), `"gpu"`) {
		t.Errorf("unknown part: %v", err)
	}
	o.Parts, o.FashionMNIST = []string{"fashion"}, t.TempDir()
	if _, err := Run(context.Background(), &bytes.Buffer{}, o); err == nil || !strings.Contains(err.Error(), "train-images-idx3-ubyte") {
		t.Errorf("missing Fashion-MNIST files: %v", err)
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o := tiny()
	o.Parts = []string{"mlp"}
	if _, err := Run(ctx, &bytes.Buffer{}, o); err == nil {
		t.Error("a cancelled run succeeded")
	}
}

func TestBaselineSkips(t *testing.T) {
	o := tiny()
	o.Parts, o.NoBaseline, o.Python = []string{"mlp"}, false, "/nonexistent/python3"
	rep, err := Run(context.Background(), &bytes.Buffer{}, o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.MLP.Torch != nil || !strings.Contains(rep.MLP.Skipped, "not found") {
		t.Errorf("skipped %q", rep.MLP.Skipped)
	}
	if _, err := bench.FindScript(t.TempDir(), "train_torch.py"); err == nil {
		t.Error("script found in an empty directory")
	}
}

// TestBaselineTorch runs the PyTorch side on tiny data; it needs /usr/bin/python3 with torch.
func TestBaselineTorch(t *testing.T) {
	if err := exec.Command(defaultPython, "-c", "import torch, numpy").Run(); err != nil {
		t.Skipf("%s with torch not available: %v", defaultPython, err)
	}
	o := tiny()
	o.Parts, o.NoBaseline = []string{"mlp"}, false
	var out bytes.Buffer
	rep, err := Run(context.Background(), &out, o)
	if err != nil {
		t.Fatal(err)
	}
	c := rep.MLP
	if c.Torch == nil {
		t.Fatalf("baseline skipped: %s", c.Skipped)
	}
	if c.Torch.Params != c.Go.Params || c.Torch.Samples != c.Go.Samples || c.Ratio() <= 0 || c.RatioCPU() <= 0 ||
		!strings.HasPrefix(c.Torch.Impl, "pytorch ") || len(c.Torch.AllSeconds) != 1 {
		t.Errorf("torch %+v, go %+v", c.Torch, c.Go)
	}
	if !strings.Contains(out.String(), "ratio ") {
		t.Errorf("output:\n%s", out.String())
	}
}
