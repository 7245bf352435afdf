package attack

import (
	"errors"
	"fmt"
	"math"

	"github.com/pmeter/pmeter/metric"
)

// TuneOfflineA chooses the offline coefficient a of RMIA by attacking a model whose memberships are known
// with the other references, for every a in grid (nil or empty: OfflineAGrid(0.1)), and returning the a of
// highest AUC (the first one on ties, and only an AUC above 0 counts) together with the AUC of every a
// (metric.ROC with dropped intermediate points and metric.AUC, as Privacy Meter computes it).
//
// In default mode the attacked model is the first model of the target's reference pool
// (SelectReferences), attacked as cfg says with the rest of that pool (at most the R references per side
// that it leaves the attacked model), so that neither the target nor a model determined by it takes part. Compat CompatPrivacyMeter is Privacy Meter v2 tune_offline_a: the
// attacked model is the target's paired model (target±1), attacked with R = 1 (the first pair of models
// other than the target's), against that model's memberships.
//
// The attacked model needs members and non-members. cfg.OfflineA is ignored; cfg.Online is an error.
func TuneOfflineA(d *Data, target int, grid []float64, cfg RMIAConfig) (best float64, aucs []float64, err error) {
	if err := checkRMIAData(d, target); err != nil {
		return 0, nil, err
	}
	if cfg.Online {
		return 0, nil, errors.New("rmia: tuning offline a: the online attack has no a")
	}
	if len(grid) == 0 {
		grid = OfflineAGrid(0.1)
	}
	pseudo, tune, err := TuningModel(d, target, cfg)
	if err != nil {
		return 0, nil, err
	}
	if err := d.CheckTarget(pseudo); err != nil {
		return 0, nil, fmt.Errorf("rmia: tuning offline a on model %d: %w", pseudo, err)
	}
	members := d.TargetMembers(pseudo)
	aucs = make([]float64, len(grid))
	bestAUC := 0.0
	found := false
	for k, a := range grid {
		tune.OfflineA = a
		scores, err := RMIA(d, pseudo, tune)
		if err != nil {
			return 0, nil, fmt.Errorf("rmia: tuning offline a on model %d: %w", pseudo, err)
		}
		aucs[k] = metric.AUC(metric.ROC(scores, members, true))
		if aucs[k] > bestAUC {
			bestAUC, best, found = aucs[k], a, true
		}
	}
	if !found {
		return 0, aucs, fmt.Errorf("rmia: tuning offline a on model %d: no a in the grid gives an AUC above 0", pseudo)
	}
	return best, aucs, nil
}

// OfflineAGrid returns the candidate values of a that Privacy Meter tries, numpy.arange(0, 1+step, step)
// without the values above 1: element i is the float64 product i*step, as numpy computes it, so that
// OfflineAGrid(0.1) holds 0.30000000000000004 and 0.6000000000000001 exactly like Privacy Meter's grid.
// It returns nil unless step is finite and at least 1e-6 (a million values at most).
func OfflineAGrid(step float64) []float64 {
	if !(step >= 1e-6) || math.IsInf(step, 0) {
		return nil
	}
	n := int(math.Ceil((1 + step) / step))
	grid := make([]float64, 0, n)
	for i := range n {
		if a := float64(i) * step; a <= 1 {
			grid = append(grid, a)
		}
	}
	return grid
}

// TuningModel returns the model that TuneOfflineA attacks to tune a for target, and the configuration it
// attacks that model with (cfg with the references and R that TuneOfflineA uses; cfg.OfflineA is kept).
// Other tuning on a reference model (RaMIA's trimmed mean) uses the same model and configuration, so
// that neither the target nor a model determined by it takes part.
func TuningModel(d *Data, target int, cfg RMIAConfig) (model int, tune RMIAConfig, err error) {
	if err := checkRMIAData(d, target); err != nil {
		return 0, cfg, err
	}
	tune = cfg
	if cfg.Compat == CompatPrivacyMeter {
		model = pairedModel(target)
		if model >= d.M {
			return 0, cfg, fmt.Errorf("rmia: tuning offline a: target model %d has no paired model (there are %d models)", target, d.M)
		}
		tune.NumRef = 1
		return model, tune, nil
	}
	refs, err := SelectReferences(d, target, RefConfig{Models: cfg.RefModels})
	if err != nil {
		return 0, cfg, fmt.Errorf("rmia: %w", err)
	}
	if len(refs.Pool) < 2 {
		return 0, cfg, fmt.Errorf("rmia: tuning offline a needs at least 2 reference models (one to attack, one to attack it with); there are %d", len(refs.Pool))
	}
	model = refs.Pool[0]
	tune.RefModels = refs.Pool[1:]
	// The attacked model has fewer references than the target (the target and the attacked model's
	// own determined models are not among them): use up to R.
	if tune.NumRef > 0 {
		pr, err := SelectReferences(d, model, RefConfig{Models: tune.RefModels})
		if err != nil {
			return 0, cfg, fmt.Errorf("rmia: %w", err)
		}
		if pr.fixed {
			tune.NumRef = max(1, min(tune.NumRef, pr.eqOut))
		}
	}
	return model, tune, nil
}
