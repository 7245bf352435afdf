package dpaudit

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/pmeter/pmeter/nn"
)

// NNTrainer is the Trainer that trains a real model with nn's DP-SGD: an MLP (Features → Hidden → 2,
// ReLU) on Records synthetic records (two Gaussian classes, drawn once from DataSeed, the fixed training
// set of every run) in Poisson batches of expected size BatchSize, plain SGD at rate LR. The canaries
// enter through nn's Canary hook and are scored from its Observe hook, as in a pmeter run.
type NNTrainer struct {
	Records, Features, Hidden, BatchSize int
	LR                                   float64
	DataSeed                             uint64
}

// DefaultNNTrainer is the harness's real model: 1,218 parameters, 200 records, batches of 20.
var DefaultNNTrainer = NNTrainer{Records: 200, Features: 16, Hidden: 64, BatchSize: 20, LR: 0.1, DataSeed: 1}

func (t NNTrainer) Name() string {
	return fmt.Sprintf("nn DP-SGD: MLP %d→%d→2 (%d parameters), %d synthetic records", t.Features, t.Hidden, t.Dim(), t.Records)
}

func (t NNTrainer) Dim() int { return t.Features*t.Hidden + t.Hidden + t.Hidden*2 + 2 }

func (t NNTrainer) data() (nn.Data, error) {
	r := rand.New(rand.NewPCG(t.DataSeed, 0x64617461)) // "data"
	x := make([]float32, t.Records*t.Features)
	y := make([]int, t.Records)
	for i := range y {
		y[i] = r.IntN(2)
		for j := range t.Features {
			x[i*t.Features+j] = float32(r.NormFloat64() + float64(2*y[i]-1)*0.5)
		}
	}
	tx, err := nn.FromSlice(x, t.Records, t.Features)
	return nn.Data{X: tx, Labels: y}, err
}

// Train trains the MLP from an initialisation drawn from seed for mech.Steps steps (a whole number of
// epochs of ⌈Records/BatchSize⌉ steps) at Poisson rate q.
func (t NNTrainer) Train(ctx context.Context, run *Run, mech Mechanism, q float64, seed uint64) error {
	spe := (t.Records + t.BatchSize - 1) / t.BatchSize
	if mech.Steps%spe != 0 {
		return fmt.Errorf("dpaudit: %d steps are not whole epochs of %d steps", mech.Steps, spe)
	}
	d1, err := nn.NewDense(t.Features, t.Hidden, true)
	if err != nil {
		return err
	}
	d2, err := nn.NewDense(t.Hidden, 2, true)
	if err != nil {
		return err
	}
	m := nn.NewSequential("dpaudit-mlp", d1, &nn.ReLU{}, d2)
	m.Init(seed)
	if m.NumParams() != t.Dim() {
		return fmt.Errorf("dpaudit: the MLP has %d parameters, want %d", m.NumParams(), t.Dim())
	}
	data, err := t.data()
	if err != nil {
		return err
	}
	dp := &nn.DPConfig{NoiseMultiplier: mech.NoiseMultiplier, MaxGradNorm: mech.ClipNorm, Sampling: nn.SamplingPoisson,
		SamplingRate: q, StepsPerEpoch: spe, ExpectedBatch: q * float64(t.Records)}
	run.Hook(dp)
	_, err = nn.Train(ctx, m, data, nn.TrainConfig{Epochs: mech.Steps / spe, BatchSize: t.BatchSize, LR: t.LR, Seed: seed, DP: dp})
	return err
}
