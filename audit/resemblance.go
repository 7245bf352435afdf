package audit

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"gonum.org/v1/gonum/mathext"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/report"
	"github.com/pmeter/pmeter/signal"
)

// fitMargins are the differences between a target and its reference models beyond which a run warns
// that the references may not resemble the target. A comparison warns when a difference exceeds its
// margin and also what sampling alone explains (fitThresholds raises a margin where the records are too
// few to measure the difference to within it).
//
//   - Train and test accuracy, 0.05 (absolute). Membership leakage grows with the generalisation gap
//     (train − test accuracy; Yeom et al. 2018), and the attacks read the target's signals against the
//     references': references that fit their training records or generalise differently from the
//     target give the attacks the wrong idea of what a member's and a non-member's signal look like.
//     Five points on either side can move the gap by ten, a large share of a typical gap; a recipe
//     that is off (far fewer epochs, another optimizer or learning rate, much less data) typically moves
//     accuracy by more.
//   - Kolmogorov–Smirnov distance of the population signals, 0.10. The population records are
//     non-members of every model, so their signals are what the attacks take a non-member to look like.
//     A distance d means that at some threshold the fraction of the target's non-members above it differs
//     by d from the references' fraction: a false-positive rate calibrated on the references can be off
//     by up to d. At 0.10 that is the largest FPR the report tabulates (TPR at 10 % FPR); below it the
//     low-FPR figures, which calibrate in the tails, may still shift, which is why the report also shows
//     the quantiles. The distance is the same for p(true label) and its rescaled logit, as one is a
//     strictly increasing function of the other.
//
// Measured on the external test target (audit/testdata/external: a PyTorch MLP trained 30 epochs on 300
// Fashion-MNIST images) with 4 references trained here on 1,000 population records, over 8 seeds:
// references with the target's recipe differ by at most 0.014 in train and 0.031 in test accuracy, with
// KS distances 0.02–0.07; references trained 10 epochs instead of 30 (seed 1) differ by 0.12 in train
// accuracy and 0.27 in KS distance; trained 60 epochs, by 0.12–0.17 in KS distance (at 300 population
// records, where the KS threshold is raised to 0.126).
var fitMargins = report.FitMargins{TrainAccuracy: 0.05, TestAccuracy: 0.05, KSDistance: 0.10}

// fitBins is the number of bins of the population signal histograms.
const fitBins = 40

// modelSignals are one model's accuracy and its signals (first query) on the population records and
// on the audited records it trained on (members) and did not (non-members). The comparison sorts them
// in place.
type modelSignals struct {
	info                ModelInfo
	pop, members, other []float64
}

// signalsOf extracts every model's signals from the attacks' input.
func signalsOf(d *attack.Data, models []ModelInfo) []modelSignals {
	out := make([]modelSignals, d.M)
	for m := range out {
		ms := &out[m]
		if m < len(models) {
			ms.info = models[m]
		}
		ms.pop = make([]float64, d.Z)
		for z := range ms.pop {
			ms.pop[z] = d.PopSignal(z, m, 0)
		}
		for i := 0; i < d.N; i++ {
			if d.Member(i, m) {
				ms.members = append(ms.members, d.Signal(i, m, 0))
			} else {
				ms.other = append(ms.other, d.Signal(i, m, 0))
			}
		}
	}
	return out
}

// referenceFit compares each of the first targets models with the other models of the run, pooled: the
// references the attacks calibrate it with. external says the targets were read from files. It returns
// nil when there is no other model.
func referenceFit(models []modelSignals, targets int, external bool, margins report.FitMargins) *report.ReferenceFit {
	if len(models) <= 1 || targets < 1 || targets > len(models) {
		return nil
	}
	f := &report.ReferenceFit{Signal: "rescaled_logit", External: external, PopulationRecords: len(models[0].pop), Margins: margins}
	for m, ms := range models {
		role := "reference"
		if m < targets {
			role = "target"
		}
		mf := report.ModelFit{
			Model: m, Role: role, External: ms.info.External,
			TrainAccuracy: fitNum(ms.info.TrainAccuracy), TestAccuracy: fitNum(ms.info.TestAccuracy),
			Population: summarizeSignal(ms.pop), Members: summarizeSignal(ms.members), NonMembers: summarizeSignal(ms.other),
		}
		if ms.info.regression() {
			mf.TrainMSE, mf.TestMSE = fitNum(ms.info.TrainMSE), fitNum(ms.info.TestMSE)
		}
		f.Models = append(f.Models, mf)
	}
	for t := 0; t < targets; t++ {
		var refs []modelSignals
		for m, ms := range models {
			if m != t {
				refs = append(refs, ms)
			}
		}
		f.Targets = append(f.Targets, compareFit(t, models[t], refs, external, margins))
	}
	return f
}

// compareFit compares target t with its references, pooled, and warns where a difference exceeds its
// threshold (fitThresholds).
func compareFit(t int, target modelSignals, refs []modelSignals, external bool, margins report.FitMargins) report.FitComparison {
	var pop, mem, other, train, test, trainMSE, testMSE []float64
	refsExternal := true
	for _, r := range refs {
		pop = append(pop, r.pop...)
		mem = append(mem, r.members...)
		other = append(other, r.other...)
		train = append(train, r.info.TrainAccuracy)
		test = append(test, r.info.TestAccuracy)
		trainMSE = append(trainMSE, r.info.TrainMSE)
		testMSE = append(testMSE, r.info.TestMSE)
		refsExternal = refsExternal && r.info.External
	}
	c := report.FitComparison{
		Target:          t,
		ReferenceModels: len(refs),
		References: report.ModelFit{Model: -1, Role: "reference", TrainAccuracy: fitNum(meanFinite(train)), TestAccuracy: fitNum(meanFinite(test)),
			Population: summarizeSignal(pop), Members: summarizeSignal(mem), NonMembers: summarizeSignal(other)},
		KSDistance: fitNum(metric.KSDistance(target.pop, pop)),
		Histogram:  fitHistogram(target.pop, pop),
	}
	if target.info.regression() {
		c.References.TrainMSE, c.References.TestMSE = fitNum(meanFinite(trainMSE)), fitNum(meanFinite(testMSE))
	}
	tTrain, tTest := fitNum(target.info.TrainAccuracy), fitNum(target.info.TestAccuracy)
	c.TrainAccuracyDiff = fitDiff(tTrain, c.References.TrainAccuracy)
	c.TestAccuracyDiff = fitDiff(tTest, c.References.TestAccuracy)
	c.Thresholds = fitThresholds(margins, [2]*float64{tTrain, c.References.TrainAccuracy}, [2]int{len(target.members), len(mem)},
		[2]*float64{tTest, c.References.TestAccuracy}, [2]int{len(target.pop), len(pop)})

	// A tolerance of 1e-9 keeps a difference of exactly the threshold (0.80 − 0.75 in floating point) inside.
	const tol = 1e-9
	var reasons []string
	for _, a := range []struct {
		name, where string
		t, r, d     *float64
		threshold   float64
	}{
		{"train accuracy", "on their own training records", tTrain, c.References.TrainAccuracy, c.TrainAccuracyDiff, c.Thresholds.TrainAccuracy},
		{"test accuracy", "on the population records", tTest, c.References.TestAccuracy, c.TestAccuracyDiff, c.Thresholds.TestAccuracy},
	} {
		if a.d != nil && math.Abs(*a.d) > a.threshold+tol {
			reasons = append(reasons, fmt.Sprintf("%s %.3f against the references' %.3f %s (difference %+.3f, threshold %.3f)",
				a.name, *a.t, *a.r, a.where, *a.d, a.threshold))
		}
	}
	if ks := c.KSDistance; ks != nil && *ks > c.Thresholds.KSDistance+tol {
		reasons = append(reasons, fmt.Sprintf("a Kolmogorov–Smirnov distance of %.3f between their signal distributions on the population records (threshold %.3f; medians %.2f and %.2f)",
			*ks, c.Thresholds.KSDistance, fitVal(summarizeSignal(target.pop).Median), fitVal(c.References.Population.Median)))
	}
	if len(reasons) == 0 {
		return c
	}
	var advice string
	switch {
	case !external:
		advice = "They share one recipe, so this is variation between training runs, which the attacks' results share; " +
			"more epochs or more records make the models more alike."
	case refsExternal:
		advice = "The attacks judge the target's signals against the references', so their scores and the risk level may be biased: " +
			"supply reference models trained like the target (target.references: same architecture, recipe and training-set size)."
	default:
		advice = "The attacks judge the target's signals against the references', so their scores and the risk level may be biased: " +
			"train the references with the target's own recipe (the train section: optimizer, learning rate, epochs, batch size; " +
			"each reference trains on half of the training pool) or supply reference models trained like the target (target.references)."
	}
	c.Warnings = []string{fmt.Sprintf("target %d and its %d reference models differ: %s. %s",
		t, len(refs), strings.Join(reasons, "; "), advice)}
	return c
}

// fitAlpha is the probability with which sampling alone may exceed a threshold (fitThresholds).
const fitAlpha = 0.001

// fitThresholds returns the differences beyond which a comparison warns: each margin, raised where the
// records are too few to measure the difference to within it, to the difference that sampling alone
// exceeds with probability fitAlpha when target and references behave alike. train and test hold the
// target's and the references' accuracy, on nTrain and nPop records (target's, references' pooled); the
// population signals count nPop values too. For an accuracy difference the raised threshold is the
// two-proportion bound z·√(p(1−p)(1/n_t + 1/n_r)), with z the standard normal 1 − α/2 quantile and p the
// accuracy of target and references together; for the Kolmogorov–Smirnov distance it is the asymptotic
// two-sample critical value √(−ln(α/2)/2)·√(1/n_t + 1/n_r). Both treat the references' pooled values as independent;
// they are not (every reference is evaluated on the same population records), so the thresholds err
// towards not warning. With the default population (1,000 records or more) and 8 references the margins
// stand as they are.
func fitThresholds(margins report.FitMargins, train [2]*float64, nTrain [2]int, test [2]*float64, nPop [2]int) report.FitMargins {
	z := mathext.NormalQuantile(1 - fitAlpha/2)
	acc := func(margin float64, a [2]*float64, n [2]int) float64 {
		if a[0] == nil || a[1] == nil || n[0] == 0 || n[1] == 0 {
			return margin
		}
		nt, nr := float64(n[0]), float64(n[1])
		p := (*a[0]*nt + *a[1]*nr) / (nt + nr)
		return math.Max(margin, z*math.Sqrt(p*(1-p)*(1/nt+1/nr)))
	}
	th := margins
	th.TrainAccuracy = acc(margins.TrainAccuracy, train, nTrain)
	th.TestAccuracy = acc(margins.TestAccuracy, test, nPop)
	if nPop[0] > 0 && nPop[1] > 0 {
		th.KSDistance = math.Max(margins.KSDistance, math.Sqrt(-math.Log(fitAlpha/2)/2)*math.Sqrt(1/float64(nPop[0])+1/float64(nPop[1])))
	}
	return th
}

// summarizeSignal returns the size, mean and quantiles of v, which it sorts in place (the callers own
// their samples, and the sorted order spares later sorts a copy).
func summarizeSignal(v []float64) report.SignalSummary {
	s := report.SignalSummary{N: len(v)}
	if len(v) == 0 {
		return s
	}
	slices.Sort(v)
	sorted := v
	q := func(p float64) *float64 { return fitNum(metric.Quantile(sorted, p)) }
	sum := 0.0
	for _, x := range sorted {
		sum += x
	}
	s.Mean = fitNum(sum / float64(len(sorted)))
	s.Q05, s.Q25, s.Median, s.Q75, s.Q95 = q(0.05), q(0.25), q(0.5), q(0.75), q(0.95)
	return s
}

// fitHistogram bins the target's and the references' values over shared bins spanning both: their full
// range, or the central 99 % when a few extreme values would squash the rest (values beyond count in
// the end bins).
func fitHistogram(target, refs []float64) report.FitHistogram {
	all := slices.Sorted(slices.Values(append(slices.Clip(target), refs...)))
	if len(target) == 0 || len(refs) == 0 || math.IsInf(all[0], 0) || math.IsInf(all[len(all)-1], 0) {
		return report.FitHistogram{}
	}
	lo, hi := all[0], all[len(all)-1]
	if qlo, qhi := metric.Quantile(all, 0.005), metric.Quantile(all, 0.995); qhi > qlo && hi-lo > 1.5*(qhi-qlo) {
		lo, hi = qlo, qhi
	}
	if !(hi > lo) {
		lo, hi = lo-0.5, hi+0.5
	}
	h := report.FitHistogram{Edges: make([]float64, fitBins+1)}
	for b := range h.Edges {
		h.Edges[b] = lo + (hi-lo)*float64(b)/fitBins
	}
	h.Edges[fitBins] = hi
	bin := func(v []float64) []float64 {
		frac := make([]float64, fitBins)
		for _, x := range v {
			b := int(math.Floor((x - lo) / (hi - lo) * fitBins))
			frac[min(max(b, 0), fitBins-1)]++
		}
		for b := range frac {
			frac[b] /= float64(len(v))
		}
		return frac
	}
	h.Target, h.References = bin(target), bin(refs)
	return h
}

// meanFinite is the mean of the finite values of v; NaN when there is none.
func meanFinite(v []float64) float64 {
	s, n := 0.0, 0
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			s += x
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}

// fitNum returns &x, or nil when x is NaN or infinite (JSON null).
func fitNum(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// fitVal returns *p, or NaN for nil.
func fitVal(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// fitDiff returns *a − *b, or nil when either is unknown.
func fitDiff(a, b *float64) *float64 {
	if a == nil || b == nil {
		return nil
	}
	return fitNum(*a - *b)
}

// writeFit prints the comparison of the targets with their references: a table when the target was read
// from a file, where the references' likeness matters most; one line per target otherwise.
func writeFit(w io.Writer, f *report.ReferenceFit) {
	if f == nil {
		return
	}
	within := func(c report.FitComparison) string {
		if len(c.Warnings) > 0 {
			return "beyond the margins, see the warning"
		}
		return "within the margins"
	}
	if !f.External {
		for _, c := range f.Targets {
			if math.IsNaN(fitVal(c.References.TrainAccuracy)) && math.IsNaN(fitVal(c.References.TestAccuracy)) { // a regression audit
				fmt.Fprintf(w, "reference models (%d, pooled): population-signal (%s) KS distance to target %d: %.3f (%s)\n",
					c.ReferenceModels, f.Signal, c.Target, fitVal(c.KSDistance), within(c))
				continue
			}
			fmt.Fprintf(w, "reference models (%d, pooled): train accuracy %.4f, test accuracy %.4f; population-signal KS distance to target %d: %.3f (%s)\n",
				c.ReferenceModels, fitVal(c.References.TrainAccuracy), fitVal(c.References.TestAccuracy), c.Target, fitVal(c.KSDistance), within(c))
		}
		return
	}
	regression := f.Signal == string(signal.Residual)
	utility, signalName, heads := "accuracy", "the rescaled logit of the true label", "train acc\ttest acc"
	if regression {
		utility, signalName, heads = "mean squared residual (standardised target)", "the residual y − ŷ", "train MSE\ttest MSE"
	}
	fmt.Fprintf(w, "\ntarget and reference models: %s, and %s on the %d population records\n", utility, signalName, f.PopulationRecords)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	io.WriteString(tw, "model\t"+heads+"\tmean\t5%\t25%\tmedian\t75%\t95%\n")
	row := func(name string, m report.ModelFit) {
		p := m.Population
		train, test := m.TrainAccuracy, m.TestAccuracy
		if regression {
			train, test = m.TrainMSE, m.TestMSE
		}
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\n", name, fitVal(train), fitVal(test),
			fitVal(p.Mean), fitVal(p.Q05), fitVal(p.Q25), fitVal(p.Median), fitVal(p.Q75), fitVal(p.Q95))
	}
	for _, c := range f.Targets {
		name := fmt.Sprintf("target %d", c.Target)
		if f.Models[c.Target].External {
			name += " (from file)"
		}
		row(name, f.Models[c.Target])
		row(fmt.Sprintf("references (%d, pooled)", c.ReferenceModels), c.References)
		dTrain, dTest := fitVal(c.TrainAccuracyDiff), fitVal(c.TestAccuracyDiff)
		if regression {
			t := f.Models[c.Target]
			dTrain, dTest = fitVal(t.TrainMSE)-fitVal(c.References.TrainMSE), fitVal(t.TestMSE)-fitVal(c.References.TestMSE)
		}
		fmt.Fprintf(tw, "difference\t%+.4f\t%+.4f\tKS distance %.3f (%s)\n", dTrain, dTest, fitVal(c.KSDistance), within(c))
	}
	tw.Flush()
	for _, c := range f.Targets {
		m, th := f.Margins, c.Thresholds
		if regression {
			fmt.Fprintf(w, "margin: KS distance %.2f", m.KSDistance)
			if th.KSDistance != m.KSDistance {
				fmt.Fprintf(w, "; raised for target %d, whose records are too few to measure it: %.3f", c.Target, th.KSDistance)
			}
			fmt.Fprintln(w)
			continue
		}
		fmt.Fprintf(w, "margins: train accuracy ±%.2f, test accuracy ±%.2f, KS distance %.2f", m.TrainAccuracy, m.TestAccuracy, m.KSDistance)
		if th != m {
			fmt.Fprintf(w, "; raised for target %d, whose records are too few to measure them: ±%.3f, ±%.3f, %.3f", c.Target, th.TrainAccuracy, th.TestAccuracy, th.KSDistance)
		}
		fmt.Fprintln(w)
	}
}

// regression reports whether m is a regression model's (its fit is in MSE, not accuracy).
func (m ModelInfo) regression() bool { return m.TrainMSE != 0 || m.TestMSE != 0 }
