package report

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// ReferenceFit compares every target model with the reference models that calibrate the attacks: their
// accuracy and the distribution of the signal the attacks read (Signal), computed by the producer of the
// results (package audit). The attacks judge a target's signal on a record against the references'
// signals on it, so references that behave unlike the target (trained longer or shorter, on more or less
// data, with another recipe) bias the attacks; the comparison and its Warnings say when that may be so.
type ReferenceFit struct {
	// Signal names the signal whose distributions are summarised, e.g. "rescaled_logit" (LiRA's
	// ln(p/(1−p)) of the true label's probability p).
	Signal string `json:"signal"`
	// External is true when the target was read from a file (trained elsewhere) rather than trained
	// with the references' recipe.
	External bool `json:"external"`
	// PopulationRecords is the number of population records (which no model trained on) behind every
	// test accuracy and population distribution.
	PopulationRecords int `json:"population_records"`
	// Margins are the differences beyond which a comparison warns.
	Margins FitMargins `json:"margins"`
	// Models describes every model of the run, in model order (targets first).
	Models []ModelFit `json:"models"`
	// Targets compares each target with the pooled other models.
	Targets []FitComparison `json:"targets"`
}

// FitMargins are the largest differences between a target and its references that a comparison
// tolerates without a warning: absolute differences of accuracy (fractions) and the Kolmogorov–Smirnov
// distance between the population signal distributions.
type FitMargins struct {
	TrainAccuracy float64 `json:"train_accuracy"`
	TestAccuracy  float64 `json:"test_accuracy"`
	KSDistance    float64 `json:"ks_distance"`
}

// ModelFit is one model's accuracy and signal distributions, or those of several models pooled.
type ModelFit struct {
	// Model is the model's index in the run; -1 for several models pooled.
	Model int `json:"model"`
	// Role is "target" or "reference".
	Role string `json:"role"`
	// External marks a model read from a file.
	External bool `json:"external,omitempty"`
	// TrainAccuracy is the accuracy on the audited records the model trained on, TestAccuracy on the
	// population records; null when undefined. Pooled: the mean over the models.
	TrainAccuracy *float64 `json:"train_accuracy"`
	TestAccuracy  *float64 `json:"test_accuracy"`
	// TrainMSE and TestMSE are a regression model's mean squared residuals on the same records (its
	// accuracies are null); absent for a classifier. Pooled: the mean over the models.
	TrainMSE *float64 `json:"train_mse,omitempty"`
	TestMSE  *float64 `json:"test_mse,omitempty"`
	// Population, Members and NonMembers summarise the signal on the population records, and on the
	// audited records the model trained on and did not train on. Pooled: over every model's values.
	Population SignalSummary `json:"population"`
	Members    SignalSummary `json:"members"`
	NonMembers SignalSummary `json:"non_members"`
}

// SignalSummary describes a sample of signal values: its size, mean and quantiles (numpy.quantile's
// linear interpolation). The statistics are null when the sample is empty (or, for the mean, infinite).
type SignalSummary struct {
	N      int      `json:"n"`
	Mean   *float64 `json:"mean"`
	Q05    *float64 `json:"q05"`
	Q25    *float64 `json:"q25"`
	Median *float64 `json:"median"`
	Q75    *float64 `json:"q75"`
	Q95    *float64 `json:"q95"`
}

// FitComparison compares one target with its references: every other model of the run, pooled.
type FitComparison struct {
	Target int `json:"target"`
	// References is the pooled summary of the reference models (Model −1) and ReferenceModels their
	// number.
	References      ModelFit `json:"references"`
	ReferenceModels int      `json:"reference_models"`
	// TrainAccuracyDiff and TestAccuracyDiff are the target's accuracy minus the references' mean.
	TrainAccuracyDiff *float64 `json:"train_accuracy_diff"`
	TestAccuracyDiff  *float64 `json:"test_accuracy_diff"`
	// KSDistance is the two-sample Kolmogorov–Smirnov distance between the target's signals on the
	// population records and the references' (pooled): the largest difference, over thresholds, between
	// the fractions of population records below the threshold.
	KSDistance *float64 `json:"ks_distance"`
	// Thresholds are the differences beyond which this comparison warns: the margins, raised where the
	// records are too few to measure a difference to within its margin.
	Thresholds FitMargins `json:"thresholds"`
	// Warnings says, in a sentence each, where the target and its references differ beyond the margins.
	Warnings []string `json:"warnings,omitempty"`
	// Histogram holds the population signal distributions of the target and of the references.
	Histogram FitHistogram `json:"histogram"`
}

// FitHistogram is two distributions over shared bins: Target[b] and References[b] are the fractions of
// the values that lie in [Edges[b], Edges[b+1]) (the last bin includes its upper edge; values beyond the
// edges count in the end bins). The fractions of each distribution sum to 1.
type FitHistogram struct {
	Edges      []float64 `json:"edges"`
	Target     []float64 `json:"target"`
	References []float64 `json:"references"`
}

// Warnings returns every comparison's warnings, in target order.
func (f *ReferenceFit) Warnings() []string {
	if f == nil {
		return nil
	}
	var out []string
	for _, c := range f.Targets {
		out = append(out, c.Warnings...)
	}
	return out
}

// validate checks that f is consistent; the error names the field at fault.
func (f *ReferenceFit) validate(targets int) error {
	if f == nil {
		return nil
	}
	unit := func(name string, p *float64) error {
		if p != nil && !(*p >= 0 && *p <= 1) {
			return fmt.Errorf("report: reference fit: %s = %v, want a value in [0, 1]", name, *p)
		}
		return nil
	}
	model := func(name string, m ModelFit) error {
		if err := unit(name+".train_accuracy", m.TrainAccuracy); err != nil {
			return err
		}
		return unit(name+".test_accuracy", m.TestAccuracy)
	}
	for i, m := range f.Models {
		if err := model(fmt.Sprintf("models[%d]", i), m); err != nil {
			return err
		}
	}
	for i, c := range f.Targets {
		name := fmt.Sprintf("targets[%d]", i)
		if c.Target < 0 || c.Target >= max(targets, 1) {
			return fmt.Errorf("report: reference fit: %s.target = %d, want a target in [0, %d)", name, c.Target, max(targets, 1))
		}
		if err := model(name+".references", c.References); err != nil {
			return err
		}
		if err := unit(name+".ks_distance", c.KSDistance); err != nil {
			return err
		}
		h := c.Histogram
		if len(h.Edges) == 0 && len(h.Target) == 0 && len(h.References) == 0 {
			continue
		}
		if len(h.Edges) < 2 || len(h.Target) != len(h.Edges)-1 || len(h.References) != len(h.Edges)-1 {
			return fmt.Errorf("report: reference fit: %s.histogram: %d edges, %d target and %d reference bins; want n+1 edges and n bins each",
				name, len(h.Edges), len(h.Target), len(h.References))
		}
		if !slices.IsSorted(h.Edges) || slices.ContainsFunc(h.Edges, func(x float64) bool { return math.IsNaN(x) || math.IsInf(x, 0) }) {
			return fmt.Errorf("report: reference fit: %s.histogram.edges: want finite, ascending values", name)
		}
	}
	return nil
}

// fitFigure overlays target c.Target's population signal distribution on its references', as densities
// over the comparison's bins. It returns nil when the comparison has no histogram.
func fitFigure(f *ReferenceFit, c FitComparison) (*plot.Plot, error) {
	h := c.Histogram
	if len(h.Edges) < 2 {
		return nil, nil
	}
	target := fmt.Sprintf("target %d", c.Target)
	if len(f.Targets) == 1 {
		target = "target"
	}
	p := newPlot(fmt.Sprintf("Population signal: %s vs references", target), signalLabel(f.Signal), "density")
	top := 0.0
	hist := func(frac []float64, k int) *plotter.Histogram {
		bins := make([]plotter.HistogramBin, len(frac))
		for b := range bins {
			bins[b].Min, bins[b].Max = h.Edges[b], h.Edges[b+1]
			if w := h.Edges[b+1] - h.Edges[b]; w > 0 {
				bins[b].Weight = frac[b] / w
			}
			top = math.Max(top, bins[b].Weight)
		}
		hs := &plotter.Histogram{Bins: bins, Width: h.Edges[1] - h.Edges[0], FillColor: withAlpha(okabeIto[k], 0x8C)}
		hs.LineStyle.Width = 0
		return hs
	}
	hr, ht := hist(h.References, 0), hist(h.Target, 1)
	p.Add(hr, ht)
	p.Legend.Add(fmt.Sprintf("references (%d models)", c.ReferenceModels), hr)
	p.Legend.Add(target, ht)
	p.Legend.Top = true
	p.Legend.ThumbnailWidth = vg.Points(14)
	p.Legend.Padding = vg.Points(2)
	p.Y.Min, p.Y.Max = 0, math.Max(top, 1e-9)*1.3
	p.X.Tick.Marker, p.Y.Tick.Marker = niceTicks{}, niceTicks{}
	return p, nil
}

// signalLabel names a signal for axes and tables.
func signalLabel(s string) string {
	switch s {
	case "rescaled_logit":
		return "rescaled logit ln(p/(1−p)) of the true label"
	case "":
		return "signal"
	}
	return strings.ReplaceAll(s, "_", " ")
}

// fitView is the page's reference-model section.
type fitView struct {
	// Utility names what the Train and Test columns hold (accuracy; a regression model's MSE), and
	// TrainHead, TestHead head them.
	Utility, TrainHead, TestHead string
	Signal                       string
	External                     bool
	Population                   string
	Margins                      string
	Rows                         []fitRow // per target: the target, its references and the difference
	Models                       []fitRow // every model
	Warnings                     []string
	Figures                      []*pageFigure
}

type fitRow struct {
	Name, Train, Test, Mean, Q05, Q25, Median, Q75, Q95, KS string
	MembersMedian, NonMembersMedian                         string // on the audited records
	Diff, Warn                                              bool
}

// fitFigureName names the overlay figure of comparison k.
func fitFigureName(k int) string {
	if k == 0 {
		return "reference_fit"
	}
	return fmt.Sprintf("reference_fit_%d", k)
}

// fitView builds the page's reference-model section; nil without a reference fit.
func (a *analysis) fitView(figs map[string]*figure) *fitView {
	f := a.in.ReferenceFit
	if f == nil {
		return nil
	}
	v := &fitView{
		Signal:     signalLabel(f.Signal),
		External:   f.External,
		Population: thousands(f.PopulationRecords),
		Margins: fmt.Sprintf("train accuracy differing by more than %s points, test accuracy by more than %s points, or a Kolmogorov–Smirnov distance above %s, each raised where the records are too few to measure the difference to within it",
			f1(100*f.Margins.TrainAccuracy), f1(100*f.Margins.TestAccuracy), f2(f.Margins.KSDistance)),
		Warnings: f.Warnings(),
	}
	regression := f.Signal == "residual"
	v.Utility, v.TrainHead, v.TestHead = "accuracy", "Train accuracy", "Test accuracy"
	if regression {
		v.Utility, v.TrainHead, v.TestHead = "mean squared residual (MSE, in units of the standardised target)", "Train MSE", "Test MSE"
		v.Margins = fmt.Sprintf("a Kolmogorov–Smirnov distance above %s, raised where the records are too few to measure it to within the margin", f2(f.Margins.KSDistance))
	}
	utility := func(m ModelFit) (string, string) {
		if regression {
			return optF3(m.TrainMSE), optF3(m.TestMSE)
		}
		return pct(val(m.TrainAccuracy)), pct(val(m.TestAccuracy))
	}
	row := func(name string, m ModelFit) fitRow {
		p := m.Population
		train, test := utility(m)
		return fitRow{Name: name, Train: train, Test: test, Mean: f2(val(p.Mean)),
			Q05: f2(val(p.Q05)), Q25: f2(val(p.Q25)), Median: f2(val(p.Median)), Q75: f2(val(p.Q75)), Q95: f2(val(p.Q95)),
			MembersMedian: f2(val(m.Members.Median)), NonMembersMedian: f2(val(m.NonMembers.Median))}
	}
	signed := func(x *float64) string {
		if x == nil {
			return "–"
		}
		return fmt.Sprintf("%+.1f pts", 100**x)
	}
	for k, c := range f.Targets {
		name := fmt.Sprintf("target %d", c.Target)
		if c.Target < len(f.Models) {
			if f.Models[c.Target].External {
				name += " (from file)"
			}
			v.Rows = append(v.Rows, row(name, f.Models[c.Target]))
		}
		v.Rows = append(v.Rows, row(fmt.Sprintf("references (%d models, pooled)", c.ReferenceModels), c.References))
		diff := fitRow{Name: "difference", Diff: true, Warn: len(c.Warnings) > 0,
			Train: signed(c.TrainAccuracyDiff), Test: signed(c.TestAccuracyDiff), KS: f3(val(c.KSDistance))}
		if regression && c.Target < len(f.Models) {
			minus := func(a, b *float64) string {
				if a == nil || b == nil {
					return "–"
				}
				return fmt.Sprintf("%+.3f", *a-*b)
			}
			t := f.Models[c.Target]
			diff.Train, diff.Test = minus(t.TrainMSE, c.References.TrainMSE), minus(t.TestMSE, c.References.TestMSE)
		}
		v.Rows = append(v.Rows, diff)
		if fg := figs[fitFigureName(k)]; fg != nil {
			v.Figures = append(v.Figures, &pageFigure{ID: "fig-" + fitFigureName(k), Title: fg.Title, SVG: inlineSVG(fg.SVG, fg.Title), File: PlotsDir + "/" + fg.Name})
		}
	}
	for _, m := range f.Models {
		name := fmt.Sprintf("%s %d", m.Role, m.Model)
		if m.External {
			name += " (from file)"
		}
		v.Models = append(v.Models, row(name, m))
	}
	return v
}
