package audit

import (
	"context"
	"fmt"
	"math"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/report"
)

// reportTopK is the number of most vulnerable records whose images or features the report shows.
const reportTopK = 20

// reportInput turns a run's result into the report's input: one row per (target, audited record), every
// attack's scores, the target models' accuracy, the configuration.
func reportInput(c *Config, d *Data, p *Plan, res *Result) (*report.Input, error) {
	in := &report.Input{
		Title:      fmt.Sprintf("Membership-inference audit: %s on %s", modelName(c), c.Data.Dataset),
		Dataset:    d.Source,
		Model:      fmt.Sprintf("%s (%d layers), %s, %d epochs", modelName(c), len(p.Specs), c.Train.Optimizer, c.Train.Epochs),
		Game:       c.Audit.PrivacyGame,
		Targets:    p.Targets,
		ClassNames: d.ClassNames,
		DPCaveat:   res.DPCaveat,
	}
	params, err := configMap(c)
	if err != nil {
		return nil, err
	}
	params["models"] = p.Models
	params["audited_records"] = len(p.Audit)
	params["population_records"] = len(p.PopulationIdx)
	in.Params = params
	image := len(d.Pool.Shape) == 3 && (d.Pool.Shape[0] == 1 || d.Pool.Shape[0] == 3)
	// Gradient canaries are no records of the data: the report's records are the canaries, without
	// images or features.
	gradient := res.Canaries != nil && res.Canaries.Kind == CanaryGradient
	if gradient {
		image = false
		in.Title = fmt.Sprintf("White-box DP audit with %d gradient canaries: %s on %s", res.Canaries.Count, modelName(c), c.Data.Dataset)
	} else if image {
		in.ImageShape = d.Pool.Shape
	} else {
		in.FeatureNames = d.Pool.FeatureNames
	}
	// The targets' mean accuracies, over the targets where they are defined (a run of the multi-run DP
	// game may include none of the audited canaries).
	var train, test meanOf
	for t := 0; t < p.Targets; t++ {
		train.add(res.Models[t].TrainAccuracy)
		test.add(res.Models[t].TestAccuracy)
		for i, r := range p.Audit {
			rec := report.Record{ID: r, Target: t, Label: res.Labels[i], Member: report.Bool(res.Members[t][i])}
			if c.regression() {
				rec.Label = -1 // a regression target has no classes (res.Labels holds 0 for its one output)
			}
			if res.Canaries != nil { // r is a row of the canary game's training data
				rec.ID = res.Canaries.reportID(i)
			}
			if gradient {
				in.Records = append(in.Records, rec)
				continue
			}
			row := d.Pool.Row(r)
			if image {
				rec.Image = row
			} else {
				rec.Features = make([]float64, len(row))
				for j, v := range row {
					rec.Features[j] = float64(v)
				}
			}
			in.Records = append(in.Records, rec)
		}
	}
	in.TrainAccuracy, in.TestAccuracy = train.value(), test.value()
	if c.regression() {
		var m [6]meanOf
		for t := 0; t < p.Targets; t++ {
			i := res.Models[t]
			for k, x := range []float64{i.TrainMSE, i.TestMSE, i.TrainMAE, i.TestMAE, i.TrainR2, i.TestR2} {
				m[k].add(x)
			}
		}
		in.Regression = &report.RegressionFit{TrainMSE: m[0].value(), TestMSE: m[1].value(), TrainMAE: m[2].value(),
			TestMAE: m[3].value(), TrainR2: m[4].value(), TestR2: m[5].value()}
	}
	in.ReferenceFit = res.ReferenceFit
	in.DPAudits = res.DPAudits
	in.Ranges = res.Ranges
	in.Slices = res.Slices
	in.Users = res.Users
	for _, a := range res.Attacks {
		ar := report.AttackResult{Name: a.Label, Access: a.Access}
		if s, err := attack.Lookup(a.Name); err == nil {
			ar.Description = s.Description
		}
		for _, s := range a.Scores {
			ar.Scores = append(ar.Scores, s...)
		}
		in.Attacks = append(in.Attacks, ar)
	}
	return in, in.Validate()
}

// meanOf is the mean of the finite numbers added to it.
type meanOf struct {
	sum float64
	n   int
}

func (m *meanOf) add(x float64) {
	if !math.IsNaN(x) && !math.IsInf(x, 0) {
		m.sum += x
		m.n++
	}
}

// value returns the mean, or nil when no finite number was added.
func (m meanOf) value() *float64 {
	if m.n == 0 {
		return nil
	}
	return report.Float(m.sum / float64(m.n))
}

// configMap returns the configuration as nested maps, for the report's parameter table.
func configMap(c *Config) (map[string]any, error) {
	b, err := yaml.Marshal(c)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// writeReport saves the report's input into <log_dir>/results and builds <log_dir>/report; with a DP
// recipe it sets res.DPCheck, the report's check of the audits against the accountant's claim.
func writeReport(ctx context.Context, c *Config, d *Data, p *Plan, res *Result) error {
	claim, err := res.DP.claim(ctx)
	if err != nil {
		return fmt.Errorf("report: the accountant's privacy curve: %w", err)
	}
	in, err := reportInput(c, d, p, res)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	in.DP = claim
	if err := in.Validate(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	in.PruneMedia(reportTopK)
	if err := report.WriteInput(filepath.Join(c.Run.LogDir, report.ResultsDir), in); err != nil {
		return err
	}
	// The report's default options (bootstrap seed 0, ε split seed 0 and δ as in run.json), so that
	// 'pmeter report' rebuilds it identically from the saved results alone.
	topK := reportTopK
	if res.Canaries != nil && res.Canaries.Kind == CanaryGradient {
		topK = -1 // gradient canaries are no individuals: no table of the most exposed
	}
	s, err := report.Build(ctx, in, filepath.Join(c.Run.LogDir, report.ReportDir), report.Options{TopK: topK, Delta: res.DP.delta()})
	if err != nil {
		return err
	}
	res.DPCheck = s.DP
	res.UsersListed = s.Settings.UsersListed
	return nil
}
