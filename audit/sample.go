package audit

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/pmeter/pmeter/dataset"
	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/nn"
)

// SampleResult is the sample-level privacy game of one record (Ye et al., CCS 2022, Game 3.4,
// "leave one out", as Privacy Meter v1's privacy_loss_sample implements it): K models train on D ∪ {z}
// and K models on exactly D, differing only in training randomness, and an attacker who sees the
// model's loss on z must tell which is which.
type SampleResult struct {
	Record int `json:"record"`
	// InLoss and OutLoss are the losses on z of the models trained with and without it.
	InLoss  []float64 `json:"in_loss"`
	OutLoss []float64 `json:"out_loss"`
	// AUC of the score −loss separating IN from OUT models (0.5: z leaves no trace).
	AUC float64 `json:"auc"`
	// Advantage is max over thresholds of TPR − FPR.
	Advantage float64 `json:"advantage"`
}

// runSampleGame plays the leave-one-out game for every record of audit.records with K = num_ref_models
// (at least 2) models per side. D is half of the pool minus the record, drawn once per record.
func runSampleGame(ctx context.Context, c *Config, d *Data, dp *DPRecipe, opt Options) ([]SampleResult, error) {
	if len(c.Audit.Records) == 0 {
		return nil, c.fieldError("audit", "records", "the sample-level game (privacy_loss_sample) needs the records to audit")
	}
	k := max(c.NumRefModels(), 2)
	n := d.Pool.Len()
	if err := c.checkRecords(n); err != nil {
		return nil, err
	}
	specs, err := c.modelSpecs(d)
	if err != nil {
		return nil, err
	}
	bar := opt.bar("leave-one-out models", 2*k*len(c.Audit.Records))
	defer bar.Finish()
	var out []SampleResult
	for ri, z := range c.Audit.Records {
		seed := derive(uint64(c.Run.RandomSeed), "sample-game-"+strconv.Itoa(z))
		others := make([]int, 0, n-1)
		for i := 0; i < n; i++ {
			if i != z {
				others = append(others, i)
			}
		}
		_, pick, err := dataset.HoldOut(len(others), (n-1)/2, seed)
		if err != nil {
			return nil, err
		}
		base := make([]int, len(pick))
		for i, p := range pick {
			base[i] = others[p]
		}
		with := append(slices.Clone(base), z)
		slices.Sort(with)
		zx, zy, err := queryData(d.Pool, []int{z}, 1)
		if err != nil {
			return nil, err
		}
		res := SampleResult{Record: z}
		for m := 0; m < 2*k; m++ {
			in := m%2 == 0
			train := base
			if in {
				train = with
			}
			mseed := derive(seed, fmt.Sprint("model-", m/2))
			cfg, err := c.trainConfigFor(mseed, dp, opt)
			if err != nil {
				return nil, err
			}
			loss, err := trainAndLoss(ctx, d, specs, fmt.Sprintf("record %d model %d", z, m), train, mseed, cfg, zx, zy)
			if err != nil {
				return nil, fmt.Errorf("audit.records[%d] (record %d): %w", ri, z, err)
			}
			if in {
				res.InLoss = append(res.InLoss, loss)
			} else {
				res.OutLoss = append(res.OutLoss, loss)
			}
			bar.Add(1)
		}
		scores := make([]float64, 0, 2*k)
		members := make([]bool, 0, 2*k)
		for _, l := range res.InLoss {
			scores, members = append(scores, -l), append(members, true)
		}
		for _, l := range res.OutLoss {
			scores, members = append(scores, -l), append(members, false)
		}
		curve := metric.ROC(scores, members, false)
		res.AUC = metric.AUC(curve)
		for i := range curve.FPR {
			res.Advantage = max(res.Advantage, curve.TPR[i]-curve.FPR[i])
		}
		out = append(out, res)
	}
	return out, writeJSON(filepath.Join(c.Run.LogDir, "report", "sample_game.json"), out)
}

// checkRecords checks audit.records against a training pool of n records, before anything is trained.
func (c *Config) checkRecords(n int) error {
	for i, z := range c.Audit.Records {
		if z < 0 || z >= n {
			return c.fieldError("audit", "records", "element %d is record %d, outside the training pool 0..%d", i, z, n-1)
		}
	}
	return nil
}

// trainAndLoss trains one model on the pool records train and returns its loss on the record (x, y).
// Models of the paired IN/OUT runs share the seed, so they differ only in the presence of the record.
func trainAndLoss(ctx context.Context, d *Data, specs []nn.LayerSpec, name string, train []int, seed uint64, cfg nn.TrainConfig, x *nn.Tensor, y []int) (float64, error) {
	m, err := nn.FromSpecs(name, specs)
	if err != nil {
		return 0, err
	}
	m.Init(seed)
	sub, err := d.Pool.Subset(train)
	if err != nil {
		return 0, err
	}
	tx, err := nn.FromSlice(sub.X, append([]int{sub.Len()}, sub.Shape...)...)
	if err != nil {
		return 0, err
	}
	if _, err := nn.Train(ctx, m, nn.Data{X: tx, Labels: sub.Y}, cfg); err != nil {
		return 0, err
	}
	o, err := nn.Evaluate(ctx, m, nn.Data{X: x, Labels: y}, nn.EvalConfig{})
	if err != nil {
		return 0, err
	}
	return o.Loss[0], nil
}
