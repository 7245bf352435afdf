package validity

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/duci"
	"github.com/pmeter/pmeter/internal/parallel"
	"github.com/pmeter/pmeter/llm"
)

// FullLLMUsageConfig is `pmeter validate --usage --llm`: text DUCI on 200 synthetic bundles per
// proportion, each of 400 corpus sequences, 200 population sequences and 4 shadow LMs.
func FullLLMUsageConfig() UsageConfig {
	c := ReducedLLMUsageConfig()
	c.Seeds, c.Resamples = 200, 1000
	return c
}

// ReducedLLMUsageConfig is the text DUCI harness of go test: 20 bundles per proportion (0, 0.2, 0.5
// and 1), 200 bootstrap resamples.
func ReducedLLMUsageConfig() UsageConfig {
	return UsageConfig{Seeds: 20, N: 400, Z: 200, References: 4, Proportions: []float64{0, 0.2, 0.5, 1},
		Resamples: 200, Level: 0.95, Alpha: 0.001}
}

// LLMUsageVariants returns the text DUCI rows: DUCI's RMIA variant with a tuned (llm.Usage's default)
// and offline LiRA, both on the sequence signal.
func LLMUsageVariants() []UsageVariant {
	lira, _ := attack.Lookup("lira")
	a, _ := lira.Parse(nil)
	return []UsageVariant{
		{Name: "text duci-rmia tuned a", Scorer: &duci.RMIA{Tune: true}},
		{Name: "text lira", Scorer: duci.AttackScorer(a)},
	}
}

// llmUsageLeak is the factor by which a model's fine-tuning scales its members' token log-probabilities
// in GenerateLLMUsage (every model alike).
const llmUsageLeak = 0.88

// GenerateLLMUsage draws a synthetic bundle for text DUCI: n corpus sequences and z population sequences
// (population.npy), a target LM fine-tuned on round(p·n) corpus sequences drawn at random (labels.npy),
// and shadows shadow LMs (an even number) in complementary pairs on the corpus. Each sequence has a
// difficulty that scales its token log-probabilities under every model; each model adds its own noise
// per token and scales its members' log-probabilities by llmUsageLeak, the target exactly as the shadows, as
// DUCI's interval assumes (the target fine-tuned with the shadows' recipe).
func GenerateLLMUsage(seed uint64, n, z, shadows int, p float64) *llm.Bundle {
	return generateLLMUsage(seed, n, z, shadows, p, llmUsageLeak, 0)
}

// generateLLMUsage is GenerateLLMUsage with the target's leak factor given (the shadows' is llmUsageLeak)
// and a model effect: with spread > 0 each model's leak factor is multiplied by exp(spread·N(0, 1)),
// drawn per model (fine-tuning runs of one recipe that leak more or less).
func generateLLMUsage(seed uint64, n, z, shadows int, p, targetLeak, spread float64) *llm.Bundle {
	r := rand.New(rand.NewPCG(seed, 0x6c6d6475)) // "lmdu"
	M := 1 + shadows
	in := make([][]bool, M) // model × sequence
	for m := range in {
		in[m] = make([]bool, n+z)
	}
	for _, i := range r.Perm(n)[:int(p*float64(n)+0.5)] {
		in[0][i] = true
	}
	for pair := 0; pair < shadows/2; pair++ {
		for q, i := range r.Perm(n) {
			in[1+2*pair+q%2][i] = true
		}
	}
	leak := make([]float64, M)
	for m := range leak {
		leak[m] = llmUsageLeak
		if m == 0 {
			leak[m] = targetLeak
		}
		if spread > 0 {
			leak[m] *= math.Exp(spread * r.NormFloat64())
		}
	}
	lps := make([][][]float64, M)
	b := &llm.Bundle{Meta: llm.Meta{Format: llm.Format}, Labels: in[0], Population: make([]bool, n+z)}
	for s := range n + z {
		b.Population[s] = s >= n
		diff := math.Exp(0.4 * r.NormFloat64())
		base := make([]float64, 7+r.IntN(32))
		for t := range base {
			base[t] = -diff * r.ExpFloat64()
		}
		for m := range M {
			v := make([]float64, len(base))
			for t, x := range base {
				v[t] = x * math.Exp(0.1*r.NormFloat64())
				if in[m][s] {
					v[t] *= leak[m]
				}
			}
			lps[m] = append(lps[m], v)
		}
	}
	b.LogProbs = llm.NewRagged(lps[0])
	for k := range shadows {
		b.Shadows = append(b.Shadows, llm.Shadow{Name: fmt.Sprintf("s%d", k), LogProbs: llm.NewRagged(lps[1+k]), Members: in[1+k]})
	}
	return b
}

// RunLLMUsage runs the text DUCI harness (llm.Usage): for every seed and proportion a synthetic bundle
// (GenerateLLMUsage) whose target LM was fine-tuned on exactly that proportion of the corpus; each cell
// checks, as RunUsage's do, that the interval covers the true proportion at its stated rate and that the
// unclipped estimate is unbiased, both at Alpha Bonferroni-corrected over the cells. cfg.Signal is not
// used; cfg.ModelSpread adds a model effect (the LMs leak more or less, the target drawn like the shadows).
func RunLLMUsage(ctx context.Context, cfg UsageConfig, variants []UsageVariant) (*UsageReport, error) {
	return runLLMUsage(ctx, cfg, variants, llmUsageLeak, cfg.ModelSpread)
}

// runLLMUsage is RunLLMUsage with the target's leak factor and the models' spread given
// (generateLLMUsage).
func runLLMUsage(ctx context.Context, cfg UsageConfig, variants []UsageVariant, targetLeak, spread float64) (*UsageReport, error) {
	if cfg.Seeds < 2 || cfg.N < 2 || cfg.Z < 1 || cfg.References < 2 || cfg.References%2 != 0 || len(cfg.Proportions) == 0 || !(spread >= 0 && spread < 1) {
		return nil, fmt.Errorf("validity: text usage harness of %d seeds, %d sequences, %d population sequences, %d shadow LMs (want an even number), %d proportions, model spread %v (want [0, 1))",
			cfg.Seeds, cfg.N, cfg.Z, cfg.References, len(cfg.Proportions), spread)
	}
	start := time.Now()
	T := len(cfg.Proportions)
	out := make([][][]usageEst, cfg.Seeds) // seed × variant × proportion
	for s := range out {
		out[s] = make([][]usageEst, len(variants))
		for v := range variants {
			out[s][v] = make([]usageEst, T)
		}
	}
	err := parallel.For(ctx, cfg.Seeds*T, cfg.Workers, func(ctx context.Context, job int) error {
		s, t := job/T, job%T
		seed := cfg.Seed + uint64(s)
		b := generateLLMUsage(seed*uint64(T)+uint64(t), cfg.N, cfg.Z, cfg.References, cfg.Proportions[t], targetLeak, spread)
		for v, vr := range variants {
			res, _, err := llm.Usage(ctx, b, nil, nil, duci.Config{Attack: vr.Scorer, Resamples: cfg.Resamples, Level: cfg.Level, Seed: seed, Compat: vr.Compat, Interval: vr.Interval})
			if err != nil {
				out[s][v][t].err = err
				continue
			}
			e := usageEst{raw: res.Raw, lo: math.NaN(), hi: math.NaN()}
			if res.CI != nil {
				e.lo, e.hi = res.CI.Lo, res.CI.Hi
			}
			out[s][v][t] = e
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
