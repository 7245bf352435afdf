package audit

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/dataset"
	"github.com/pmeter/pmeter/nn"
	"github.com/pmeter/pmeter/nn/zoo"
	"github.com/pmeter/pmeter/signal"
)

// data.task: regression audits a regression model. data.label_column names the numeric target: a
// column of a CSV or Parquet file, or a (numeric) feature of a built-in tabular data set, such as Adult's
// hours-per-week, which then leaves the features. The target is standardised with the training pool's
// mean and standard deviation, the model (train.model_name from the zoo, with one linear output; zoo.
// Regression) trains with the mean squared error, and the attacks read the residual r = y − ŷ of every
// model (signal.Residual): loss, lira and rmia (attack/regression.go).

// Task names.
const (
	taskClassification = "classification"
	taskRegression     = "regression"
)

// regression reports whether the config audits a regression model.
func (c *Config) regression() bool { return c.Data.Task == taskRegression }

// defaultRegressionAttacks are the attacks of a regression audit that names none.
func defaultRegressionAttacks() []AttackConfig {
	return []AttackConfig{{Name: "rmia", Params: map[string]string{"online": "false"}}, {Name: "lira"},
		{Name: "lira", Params: map[string]string{"online": "false"}}, {Name: "loss"}}
}

// validateTask checks data.task and what a regression audit needs.
func (c *Config) validateTask() error {
	switch c.Data.Task {
	case "", taskClassification:
		return nil
	case taskRegression:
	default:
		return c.fieldError("data", "task", "unknown task %q (want classification or regression)", c.Data.Task)
	}
	switch {
	case c.Data.LabelCol == "":
		return c.fieldError("data", "task", "regression needs data.label_column, the numeric column to predict")
	case c.Audit.PrivacyGame != "privacy_loss_model" && c.Audit.PrivacyGame != "avg_privacy_loss_training_algo":
		return c.fieldError("audit", "privacy_game", "%s does not audit regression models (data.task: regression); use privacy_loss_model or avg_privacy_loss_training_algo", c.Audit.PrivacyGame)
	case c.Audit.NumQueries != 1:
		return c.fieldError("audit", "num_queries", "is %d, but a regression model is queried once per record", c.Audit.NumQueries)
	case len(c.access) > 0:
		return c.fieldError("audit", "access", "applies to classifiers; a regression model returns its prediction")
	case c.Target.Model != "":
		return c.fieldError("data", "task", "regression audits models pmeter trains; target.model is not supported with it yet")
	case !c.Train.Model.IsZero():
		return c.fieldError("data", "task", "regression audits take train.model_name from the zoo (its regression form, one linear output), not train.model")
	}
	if !c.present("data", "label_column") && !c.isTable() {
		return c.fieldError("data", "label_column", "is required with data.task: regression")
	}
	for i, a := range c.attackList() {
		s, err := attack.Lookup(a.Name)
		if err != nil {
			continue // reported where the attacks are parsed
		}
		if !s.Regression {
			return fmt.Errorf("audit.attacks[%d]: attack %s reads a classifier's outputs; regression models (data.task: regression) take loss, lira or rmia", i, a.Name)
		}
	}
	return nil
}

// toRegression turns the loaded data into a regression data set: the target column becomes
// Values, standardised with the pool's statistics, and every record gets class 0 of 1.
func (c *Config) toRegression(d *Data) error {
	col := c.Data.LabelCol
	var err error
	if c.isTable() {
		// The loader read the label column as classes; its values are the class names.
		for _, ds := range []*dataset.Dataset{d.Pool, d.Population} {
			ds.Values = make([]float64, ds.Len())
			for i, y := range ds.Y {
				v, perr := strconv.ParseFloat(strings.TrimSpace(ds.ClassNames[y]), 64)
				if perr != nil || math.IsNaN(v) || math.IsInf(v, 0) {
					return c.fieldError("data", "label_column", "%s: column %q holds %q, not a number (data.task: regression predicts a number)", c.Data.File, col, ds.ClassNames[y])
				}
				ds.Values[i] = v
			}
		}
	} else {
		if err = targetFromFeature(d.Pool, col); err == nil {
			err = targetFromFeature(d.Population, col)
		}
		if err != nil {
			return c.fieldError("data", "label_column", "%v", err)
		}
	}
	mean, sd := 0.0, 0.0
	for _, v := range d.Pool.Values {
		mean += v
	}
	mean /= float64(len(d.Pool.Values))
	for _, v := range d.Pool.Values {
		sd += (v - mean) * (v - mean)
	}
	sd = math.Sqrt(sd / float64(len(d.Pool.Values)))
	if !(sd > 0) {
		return c.fieldError("data", "label_column", "column %q has the same value in every record of the training pool: there is nothing to predict", col)
	}
	for _, ds := range []*dataset.Dataset{d.Pool, d.Population} {
		for i := range ds.Values {
			ds.Values[i] = (ds.Values[i] - mean) / sd
			ds.Y[i] = 0
		}
		ds.Classes, ds.ClassNames = 1, nil
	}
	d.ClassNames = nil
	d.Source += fmt.Sprintf("; regression on %s (standardised: training-pool mean %.4g, sd %.4g)", col, mean, sd)
	return nil
}

// targetFromFeature moves the feature named col of a tabular data set into its Values.
func targetFromFeature(ds *dataset.Dataset, col string) error {
	j := slices.Index(ds.FeatureNames, col)
	if len(ds.Shape) != 1 || j < 0 {
		return fmt.Errorf("%s has no numeric feature %q to predict (features: %s)", ds.Name, col, strings.Join(firstN(ds.FeatureNames, 8), ", "))
	}
	dim := ds.Dim()
	x := make([]float32, 0, ds.Len()*(dim-1))
	ds.Values = make([]float64, ds.Len())
	for i := 0; i < ds.Len(); i++ {
		row := ds.X[i*dim : (i+1)*dim]
		ds.Values[i] = float64(row[j])
		x = append(append(x, row[:j]...), row[j+1:]...)
	}
	ds.X, ds.Shape = x, []int{dim - 1}
	ds.FeatureNames = slices.Delete(slices.Clone(ds.FeatureNames), j, j+1)
	return nil
}

// regressionSpecs is modelSpecs for a regression audit: the zoo's architecture with one linear output.
func (c *Config) regressionSpecs(d *Data) ([]nn.LayerSpec, error) {
	name := c.Train.ModelName
	if name == "" {
		name = "mlp"
	}
	specs, err := zoo.Regression(name, d.Pool.Shape)
	if err != nil {
		return nil, c.fieldError("train", "model_name", "%v", err)
	}
	return specs, nil
}

// valuesTensor returns the regression targets of records idx of ds as an n × 1 tensor, each repeated q
// times (rows record-major, as queryData's).
func valuesTensor(ds *dataset.Dataset, idx []int, q int) (*nn.Tensor, error) {
	v := make([]float32, 0, len(idx)*q)
	for _, r := range idx {
		for range q {
			v = append(v, float32(ds.Values[r]))
		}
	}
	return nn.FromSlice(v, len(v), 1)
}

// residualData assembles the attacks' input of a regression audit: the residuals r = y − ŷ of every
// model on the audited and population records (signal.Residual), with every label 0 of 1 class.
func residualData(d *Data, p *Plan, outs []*modelOutputs) (*attack.Data, error) {
	n, z, m := len(p.Audit), len(p.PopulationIdx), p.Models
	ad := &attack.Data{N: n, M: m, Q: 1, Kind: signal.Residual, Z: z, C: 1, Design: p.Design,
		Signals: make([]float64, n*m), Members: make([]bool, n*m), Population: make([]float64, z*m),
		Labels: make([]int, n), PopLabels: make([]int, z)}
	for i, r := range p.Audit {
		for j := 0; j < m; j++ {
			ad.Members[i*m+j] = p.Memberships.In(r, j)
		}
	}
	for j, o := range outs {
		if len(o.Audit) != n || len(o.Pop) != z {
			return nil, fmt.Errorf("model %d: %d and %d predictions, want one per audited (%d) and population (%d) record", j, len(o.Audit), len(o.Pop), n, z)
		}
		for i, r := range p.Audit {
			ad.Signals[i*m+j] = d.Pool.Values[r] - float64(o.Audit[i])
		}
		for i, r := range p.PopulationIdx {
			ad.Population[i*m+j] = d.Population.Values[r] - float64(o.Pop[i])
		}
	}
	return ad, ad.Validate()
}

// residualFit returns the mean squared and mean absolute residual r = y − ŷ over the records include
// accepts, and R² = 1 − Σ r² / Σ (y − ȳ)² over them (NaN when every y is equal); NaN over none.
func residualFit(pred *nn.Tensor, values *nn.Tensor, include func(i int) bool) (mse, mae, r2 float64) {
	var sq, abs, sy, syy float64
	k := 0
	for i, p := range pred.Data {
		if include(i) {
			y := float64(values.Data[i])
			r := y - float64(p)
			sq += r * r
			abs += math.Abs(r)
			sy += y
			syy += y * y
			k++
		}
	}
	if k == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	n := float64(k)
	sst := syy - sy*sy/n
	r2 = math.NaN()
	if sst > 1e-12*syy {
		r2 = 1 - sq/sst
	}
	return sq / n, abs / n, r2
}
