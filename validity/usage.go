package validity

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/duci"
	"github.com/pmeter/pmeter/internal/parallel"
)

// UsageConfig configures the dataset usage (DUCI) harness, RunUsage.
type UsageConfig struct {
	// Seeds synthetic data sets, each of N records, Z population records, one target per proportion
	// and References reference models (complementary pairs on the records).
	Seeds       int       `json:"seeds"`
	N           int       `json:"records"`
	Z           int       `json:"population"`
	References  int       `json:"references"`
	Proportions []float64 `json:"proportions"`
	// Resamples and Level are the bootstrap interval's (duci.Config).
	Resamples int     `json:"resamples"`
	Level     float64 `json:"interval_level"`
	// Signal is the synthetic signal model (every model leaks as the references do; not used by
	// RunLLMUsage).
	Signal Signal `json:"signal"`
	// ModelSpread, in RunLLMUsage only, is a model effect: each LM's leak factor (llmUsageLeak) is
	// multiplied by exp(ModelSpread·N(0, 1)), drawn per LM, the target's as the shadows' (0: none).
	ModelSpread float64 `json:"model_spread,omitempty"`
	// Alpha is the significance of the harness's checks (Bonferroni-corrected over its cells).
	Alpha float64 `json:"alpha"`
	// Seed is the first data set's seed (the seeds are Seed, Seed+1, …).
	Seed uint64 `json:"seed"`
	// Workers is the number of data sets processed at once (0: GOMAXPROCS).
	Workers int `json:"workers"`
}

// FullUsageConfig is the full DUCI harness: 200 seeds.
func FullUsageConfig() UsageConfig {
	c := ReducedUsageConfig()
	c.Seeds, c.Resamples = 200, 1000
	return c
}

// ReducedUsageConfig is the harness of go test: 20 seeds of 400 records, 4 references, proportions 0,
// 0.2, 0.5 and 1.
func ReducedUsageConfig() UsageConfig {
	return UsageConfig{Seeds: 20, N: 400, Z: 400, References: 4, Proportions: []float64{0, 0.2, 0.5, 1},
		Resamples: 200, Level: 0.95, Signal: DefaultSignal(), Alpha: 0.001}
}

// UsageVariant is one DUCI attack of the harness.
type UsageVariant struct {
	Name   string
	Scorer duci.Scorer
	// Compat runs the estimate in an original's mode (duci.Config.Compat; no interval: its cells check
	// the bias only).
	Compat attack.Compat
	// Interval is the interval's construction (duci.Config.Interval; empty: duci's default).
	Interval duci.IntervalMethod
}

// UsageVariants returns the DUCI rows: DUCI's RMIA variant with a tuned, and with pmeter's RMIA and the
// demo's population attack.
func UsageVariants() []UsageVariant {
	rmia, _ := attack.Lookup("rmia")
	a, _ := rmia.Parse(map[string]string{"offline_a": "0.3"})
	return []UsageVariant{
		{Name: "duci-rmia tuned a", Scorer: &duci.RMIA{Tune: true}},
		{Name: "rmia offline_a=0.3", Scorer: duci.AttackScorer(a)},
		{Name: "duci-population", Scorer: duci.Population{}},
	}
}

// CompareIntervals returns the variants followed by each again with duci.IntervalConservative, the
// first interval construction, named "… (conservative)": the same estimates (the same seeds) with both
// intervals (`pmeter validate --usage --compare-intervals`).
func CompareIntervals(variants []UsageVariant) []UsageVariant {
	out := slices.Clone(variants)
	for _, v := range variants {
		if v.Compat != "" && v.Compat != attack.CompatNone {
			continue // no interval
		}
		v.Name += " (conservative)"
		v.Interval = duci.IntervalConservative
		out = append(out, v)
	}
	return out
}

// UsageCell is the outcome of one variant at one true proportion over the seeds.
type UsageCell struct {
	Variant    string  `json:"variant"`
	Proportion float64 `json:"proportion"`
	Seeds      int     `json:"seeds"`
	// Misses counts the seeds whose interval does not contain the true proportion; MissTail is
	// P[X ≥ Misses] for X ~ Binomial(Seeds, 1 − Level), and CoverageOK whether it is at least Alpha.
	Misses     int     `json:"misses"`
	MissTail   float64 `json:"miss_tail"`
	CoverageOK bool    `json:"coverage_ok"`
	// Bias is the t interval of the mean error of the unclipped estimate (raw − true); BiasOK whether it
	// contains 0 at the corrected level.
	Bias   Interval `json:"bias"`
	BiasOK bool     `json:"bias_ok"`
	// MeanWidth is the mean width of the interval. ErrorSD is the standard deviation of the unclipped
	// estimate across the seeds, and Spread the width of the central Level range of the clipped estimates
	// across the seeds (empirical quantiles): an interval as wide as Spread around every estimate would
	// be about as tight as a valid interval can be.
	MeanWidth float64 `json:"mean_width"`
	ErrorSD   float64 `json:"error_sd"`
	Spread    float64 `json:"spread"`
	// NoInterval is set for a variant without intervals (compat): only the bias is checked.
	NoInterval bool     `json:"no_interval,omitempty"`
	Errors     []string `json:"errors,omitempty"`
}

// UsageReport is RunUsage's outcome.
type UsageReport struct {
	Config  UsageConfig   `json:"config"`
	Elapsed time.Duration `json:"elapsed_ns"`
	Cells   []UsageCell   `json:"cells"`
}

// Failures lists the cells that fail a check.
func (r *UsageReport) Failures() []string {
	var out []string
	for _, c := range r.Cells {
		if !c.CoverageOK || !c.BiasOK || len(c.Errors) > 0 {
			out = append(out, fmt.Sprintf("dataset usage %s at p = %v: %d of %d intervals miss (tail %.2g), mean error %.4f ± %.4f%s",
				c.Variant, c.Proportion, c.Misses, c.Seeds, c.MissTail, c.Bias.Mean, c.Bias.HalfWidth, errorNote(c.Errors)))
		}
	}
	return out
}

// RunUsage runs the DUCI harness: for every seed a synthetic data set whose targets used exactly the
// given proportions of the records (round(p·N) of them, drawn at random) and whose reference models are
// complementary pairs, every model leaking alike; DUCI (duci.Estimate) estimates each target's
// proportion. Each cell checks that the interval covers the true proportion at its stated rate (the
// number of misses is not improbably high for Binomial(Seeds, 1 − Level)) and that the unclipped
// estimate is unbiased (a t interval over the seeds contains 0), both at Alpha Bonferroni-corrected over
// the cells.
func RunUsage(ctx context.Context, cfg UsageConfig, variants []UsageVariant) (*UsageReport, error) {
	if cfg.Seeds < 2 || cfg.N < 2 || cfg.References < 2 || len(cfg.Proportions) == 0 {
		return nil, fmt.Errorf("validity: dataset usage harness of %d seeds, %d records, %d references, %d proportions", cfg.Seeds, cfg.N, cfg.References, len(cfg.Proportions))
	}
	start := time.Now()
	T, K := len(cfg.Proportions), cfg.References
	out := make([][][]usageEst, cfg.Seeds) // seed × variant × target
	err := parallel.For(ctx, cfg.Seeds, cfg.Workers, func(ctx context.Context, i int) error {
		s := cfg.Seed + uint64(i)
		m := T + K
		members := make([]bool, cfg.N*m)
		r := rand.New(rand.NewPCG(s, 0x64756369)) // "duci"
		for t, p := range cfg.Proportions {
			for _, i := range r.Perm(cfg.N)[:int(p*float64(cfg.N)+0.5)] {
				members[i*m+t] = true
			}
		}
		for pair := 0; pair < K/2; pair++ {
			for q, i := range r.Perm(cfg.N) {
				members[i*m+T+2*pair+q%2] = true
			}
		}
		d, err := Generate(cfg.Signal, Draw{Members: members, N: cfg.N, M: m, Design: attack.DesignOther, Z: cfg.Z, Q: 1, Seed: s})
		if err != nil {
			return err
		}
		refs := make([]int, K)
		for k := range refs {
			refs[k] = T + k
		}
		var targets []duci.Target
		for t := range T {
			targets = append(targets, duci.Target{Model: t, Refs: refs})
		}
		out[i] = make([][]usageEst, len(variants))
		for v, vr := range variants {
			res, err := duci.Estimate(ctx, d, targets, duci.Config{Attack: vr.Scorer, Resamples: cfg.Resamples, Level: cfg.Level, Seed: s, Compat: vr.Compat, Interval: vr.Interval})
			out[i][v] = make([]usageEst, T)
			for t := range T {
				if err != nil {
					out[i][v][t].err = err
					continue
				}
				out[i][v][t] = usageEst{raw: res[t].Raw, lo: math.NaN(), hi: math.NaN()}
				if ci := res[t].CI; ci != nil {
					out[i][v][t].lo, out[i][v][t].hi = ci.Lo, ci.Hi
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rep := usageCells(cfg, variants, out)
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// usageEst is one estimate of a harness: the unclipped proportion and the interval (NaN: none).
type usageEst struct {
	raw    float64
	lo, hi float64
	err    error
}

// usageCells checks the estimates out (seed × variant × proportion) against the true proportions.
func usageCells(cfg UsageConfig, variants []UsageVariant, out [][][]usageEst) *UsageReport {
	T := len(cfg.Proportions)
	rep := &UsageReport{Config: cfg}
	level := cfg.Alpha / float64(2*T*len(variants))
	for v, vr := range variants {
		for t, p := range cfg.Proportions {
			c := UsageCell{Variant: vr.Name, Proportion: p}
			var errs, width, clipped []float64
			for s := range cfg.Seeds {
				e := out[s][v][t]
				if e.err != nil {
					c.Errors = append(c.Errors, fmt.Sprintf("seed %d: %v", cfg.Seed+uint64(s), e.err))
					continue
				}
				c.Seeds++
				errs = append(errs, e.raw-p)
				clipped = append(clipped, min(1, max(0, e.raw)))
				if math.IsNaN(e.lo) {
					c.NoInterval = true
					continue
				}
				if p < e.lo || p > e.hi {
					c.Misses++
				}
				width = append(width, e.hi-e.lo)
			}
			if c.Seeds >= 2 {
				c.MissTail = binomialTail(c.Misses, c.Seeds, 1-cfg.Level)
				c.CoverageOK = c.MissTail >= level || c.NoInterval
				c.Bias = meanInterval(errs, level)
				_, c.ErrorSD = meanSD(errs)
				slices.Sort(clipped)
				c.Spread = empiricalQuantile(clipped, (1+cfg.Level)/2) - empiricalQuantile(clipped, (1-cfg.Level)/2)
				c.BiasOK = c.Bias.Contains(0)
				if len(width) > 0 {
					c.MeanWidth, _ = meanSD(width)
				}
			}
			rep.Cells = append(rep.Cells, c)
		}
	}
	return rep
}

// WriteTable writes the harness's table.
func (r *UsageReport) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "dataset usage (%d seeds, %d records, %d references, %g%% intervals)\ttrue p\tmisses\tmean error (raw)\tmean width\tspread\tsd\n",
		r.Config.Seeds, r.Config.N, r.Config.References, 100*r.Config.Level)
	for _, c := range r.Cells {
		cov, width := mark(fmt.Sprintf("%d/%d", c.Misses, c.Seeds), c.CoverageOK), fmt.Sprintf("%.3f", c.MeanWidth)
		if c.NoInterval {
			cov, width = "– (no interval)", "–"
		}
		fmt.Fprintf(tw, "%s\t%g\t%s\t%s\t%s\t%.3f\t%.4f\n", c.Variant, c.Proportion, cov,
			mark(fmt.Sprintf("%+.4f ± %.4f", c.Bias.Mean, c.Bias.HalfWidth), c.BiasOK), width, c.Spread, c.ErrorSD)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, v := range r.Coverage() {
		if _, err := fmt.Fprintf(w, "%s: %d misses in %d intervals, coverage %.1f %% (P[misses ≥ %d] = %.2g at %g %%), mean width %.3f, mean spread %.3f\n",
			v.Variant, v.Misses, v.Intervals, 100*(1-float64(v.Misses)/float64(v.Intervals)), v.Misses, v.MissTail, 100*r.Config.Level, v.MeanWidth, v.MeanSpread); err != nil {
			return err
		}
	}
	return nil
}

// VariantCoverage is one variant's intervals over every cell: misses of the true proportion, MissTail
// = P[X ≥ Misses] for X ~ Binomial(Intervals, 1 − Level) (one-sided: small when the intervals cover
// less often than their level), and the mean over the cells of MeanWidth and of Spread.
type VariantCoverage struct {
	Variant               string
	Misses, Intervals     int
	MissTail              float64
	MeanWidth, MeanSpread float64
}

// Coverage pools each variant's cells with intervals.
func (r *UsageReport) Coverage() []VariantCoverage {
	var out []VariantCoverage
	idx := map[string]int{}
	cells := map[string]int{}
	for _, c := range r.Cells {
		if c.NoInterval || c.Seeds == 0 {
			continue
		}
		k, ok := idx[c.Variant]
		if !ok {
			k = len(out)
			idx[c.Variant] = k
			out = append(out, VariantCoverage{Variant: c.Variant})
		}
		v := &out[k]
		v.Misses, v.Intervals = v.Misses+c.Misses, v.Intervals+c.Seeds
		v.MeanWidth, v.MeanSpread = v.MeanWidth+c.MeanWidth, v.MeanSpread+c.Spread
		cells[c.Variant]++
	}
	for k := range out {
		n := float64(cells[out[k].Variant])
		out[k].MeanWidth, out[k].MeanSpread = out[k].MeanWidth/n, out[k].MeanSpread/n
		out[k].MissTail = binomialTail(out[k].Misses, out[k].Intervals, 1-r.Config.Level)
	}
	return out
}

// empiricalQuantile is the q quantile of the ascending v by linear interpolation (numpy's default).
func empiricalQuantile(v []float64, q float64) float64 {
	pos := q * float64(len(v)-1)
	i := int(pos)
	if i >= len(v)-1 {
		return v[len(v)-1]
	}
	return v[i] + (v[i+1]-v[i])*(pos-float64(i))
}
