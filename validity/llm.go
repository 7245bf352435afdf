package validity

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/pmeter/pmeter/internal/parallel"
	"github.com/pmeter/pmeter/llm"
	"github.com/pmeter/pmeter/metric"
)

// LLMConfig configures the null harness of the language-model attacks (package llm).
type LLMConfig struct {
	Seeds     int     `json:"seeds"`     // synthetic bundles
	Sequences int     `json:"sequences"` // sequences per bundle (a fifth of them RMIA's population)
	Shadows   int     `json:"shadows"`   // shadow LMs trained with known memberships (each on a random half)
	Alpha     float64 `json:"alpha"`     // significance of the ε lower bounds
	Level     float64 `json:"level"`     // significance of the harness (Bonferroni-corrected over the variants)
	Seed      uint64  `json:"seed"`
	Workers   int     `json:"workers"`
	// Leak raises the target's token log-probabilities of its members by this fraction (0: the target
	// leaks nothing, the null harness). A positive Leak is for checking that the harness has power.
	Leak float64 `json:"leak"`
}

// FullLLMConfig is `pmeter validate --llm`: 50 bundles of 3,000 sequences, 4 shadow LMs.
func FullLLMConfig() LLMConfig {
	return LLMConfig{Seeds: 50, Sequences: 3000, Shadows: 4, Alpha: 0.05, Level: 0.001}
}

// ReducedLLMConfig is what `go test ./validity` runs: 12 bundles of 800 sequences (about a second of CPU).
func ReducedLLMConfig() LLMConfig {
	return LLMConfig{Seeds: 12, Sequences: 800, Shadows: 4, Alpha: 0.05, Level: 0.001}
}

// LLMVariant is one row of the harness: an attack of package llm with its parameters, or a blind baseline.
type LLMVariant struct {
	Name   string
	Attack string // an llm attack, or "blind-length" / "blind-unigram"
	Params llm.Params
	// Population compares the attack's scores of the population sequences (population.npy, as positives)
	// with those of the other non-members of the target: both are non-members, so on any target, leaking
	// or not, their scores must be exchangeable (AUC 0.5). It checks how rmia-lm and lira-lm score the
	// population, whose sequences no shadow LM trained on.
	Population bool
}

// LLMVariants lists every llm attack in pmeter's arithmetic and under compat=mimir, the sequence-level
// attacks offline and online (offline also on their population sequences against the other
// non-members), and the blind baselines.
func LLMVariants() []LLMVariant {
	var out []LLMVariant
	for _, a := range llm.Attacks() {
		p := llm.DefaultParams()
		out = append(out, LLMVariant{Name: a.Name, Attack: a.Name, Params: p})
		switch a.Name {
		case "rmia-lm", "lira-lm":
			// Offline only: online, they leave the population sequences unscored (llm.RMIALM).
			out = append(out, LLMVariant{Name: a.Name + " population", Attack: a.Name, Params: p, Population: true})
			p.Online = true
			out = append(out, LLMVariant{Name: a.Name + " online=true", Attack: a.Name, Params: p})
		default:
			p.Compat = llm.Mimir
			out = append(out, LLMVariant{Name: a.Name + " compat=mimir", Attack: a.Name, Params: p})
		}
	}
	pk := llm.DefaultParams()
	pk.K, pk.Window, pk.Stride = 0.5, 3, 2
	out = append(out, LLMVariant{Name: "min-k k=0.5 window=3 stride=2", Attack: "min-k", Params: pk})
	for _, b := range []string{"blind-length", "blind-unigram"} {
		out = append(out, LLMVariant{Name: b, Attack: b})
	}
	return out
}

// LLMCell is the harness's verdict on one variant: the target leaks nothing, so the mean AUC over the
// seeds must lie within a Student-t interval of 0.5 and the holdout ε lower bound (with the DP caveat
// lifted: memberships are independent coins here) must be positive on no more seeds than α allows.
type LLMCell struct {
	Variant     string    `json:"variant"`
	Errors      []string  `json:"errors,omitempty"`
	AUC         Interval  `json:"auc"`
	AUCPass     bool      `json:"auc_pass"`
	EpsPositive int       `json:"epsilon_positive"`
	EpsTail     float64   `json:"epsilon_tail_probability"`
	EpsPass     bool      `json:"epsilon_pass"`
	Pass        bool      `json:"pass"`
	SeedAUC     []float64 `json:"seed_auc"`
	SeedEpsilon []float64 `json:"seed_epsilon"`
}

// LLMReport is RunLLM's result.
type LLMReport struct {
	Config LLMConfig `json:"config"`
	Cells  []LLMCell `json:"cells"`
}

// GenerateLLM draws a synthetic bundle with every input of package llm. Each sequence has a difficulty
// that scales all of its log-probabilities (target, reference LM, shadow LMs, conditional, neighbours),
// so that the attacks have structure to work on; labels are independent coins, so that the target leaks
// nothing unless leak > 0 (then its members' log-probabilities are multiplied by 1 − leak). The shadow
// LMs leak: each raises the log-probabilities of its own members. A fifth of the sequences form RMIA's
// population (non-members of every model).
func GenerateLLM(seed uint64, n, shadows int, leak float64) *llm.Bundle {
	r := rand.New(rand.NewPCG(seed, 0x6c6c6d))
	const vocab = 60
	b := &llm.Bundle{Meta: llm.Meta{Format: llm.Format}}
	var lp, cond, nb, ref [][]float64
	var ids [][]int64
	shLP := make([][][]float64, shadows)
	shMem := make([][]bool, shadows)
	for s := range n {
		pop := s%5 == 4
		member := !pop && r.IntN(2) == 1
		b.Labels = append(b.Labels, member)
		b.Population = append(b.Population, pop)
		diff := math.Exp(0.4 * r.NormFloat64())
		T := 8 + r.IntN(32)
		base := make([]float64, T-1)
		var seq, c []float64
		var id []int64
		for range T {
			id = append(id, int64(1+int(float64(vocab-1)*r.Float64()*r.Float64())))
			b.LogProbsBOS = append(b.LogProbsBOS, -diff*r.ExpFloat64())
		}
		c = append(c, -diff*r.ExpFloat64())
		for t := range base {
			base[t] = -diff * r.ExpFloat64()
			v := base[t]
			if member {
				v *= 1 - leak
			}
			seq = append(seq, v)
			c = append(c, v-0.3*math.Abs(r.NormFloat64()))
			b.Mu = append(b.Mu, -diff*(1+0.2*r.Float64()))
			b.Sigma2 = append(b.Sigma2, diff*diff*(0.5+r.Float64()))
		}
		lp, cond, ids = append(lp, seq), append(cond, c), append(ids, id)
		var rr []float64
		for range T + r.IntN(4) - 1 {
			rr = append(rr, -diff*r.ExpFloat64())
		}
		ref = append(ref, rr)
		loss := 0.0
		for _, v := range base {
			loss -= v
		}
		loss /= float64(len(base))
		var nl []float64
		for range 6 {
			nl = append(nl, loss*math.Exp(0.1*r.NormFloat64()))
		}
		nb = append(nb, nl)
		b.ZlibLen = append(b.ZlibLen, int64(8+T*3+r.IntN(10)))
		for k := range shadows {
			in := !pop && r.IntN(2) == 1
			shMem[k] = append(shMem[k], in)
			var v []float64
			for _, x := range base {
				x *= math.Exp(0.1 * r.NormFloat64())
				if in {
					x *= 0.7
				}
				v = append(v, x)
			}
			shLP[k] = append(shLP[k], v)
		}
	}
	b.LogProbs, b.Cond, b.Neighbors, b.Tokens = llm.NewRagged(lp), llm.NewRagged(cond), llm.NewRagged(nb), llm.NewRagged(ids)
	b.Refs = []llm.Reference{{Name: "reference", LogProbs: llm.NewRagged(ref)}}
	b.FreqCounts = make([]int64, vocab)
	for i := range b.FreqCounts {
		b.FreqCounts[i] = int64(r.IntN(1000))
	}
	b.Meta.Recall = &llm.RecallMeta{NumShots: 1, PrefixLen: 16, MaxLength: 2048}
	for k := range shadows {
		b.Shadows = append(b.Shadows, llm.Shadow{Name: fmt.Sprintf("s%d", k), LogProbs: llm.NewRagged(shLP[k]), Members: shMem[k]})
	}
	return b
}

// RunLLM runs the null harness over every variant of LLMVariants.
func RunLLM(ctx context.Context, cfg LLMConfig) (*LLMReport, error) {
	if cfg.Seeds < 3 || cfg.Sequences < 40 || cfg.Shadows < 2 {
		return nil, fmt.Errorf("validity: LLM harness needs at least 3 seeds, 40 sequences and 2 shadow LMs (got %d, %d, %d)", cfg.Seeds, cfg.Sequences, cfg.Shadows)
	}
	vars := LLMVariants()
	auc := make([][]float64, len(vars))
	eps := make([][]float64, len(vars))
	errs := make([][]string, len(vars))
	for v := range vars {
		auc[v] = make([]float64, cfg.Seeds)
		eps[v] = make([]float64, cfg.Seeds)
		errs[v] = make([]string, cfg.Seeds)
	}
	err := parallel.For(ctx, cfg.Seeds, cfg.Workers, func(ctx context.Context, seed int) error {
		b := GenerateLLM(cfg.Seed+uint64(seed), cfg.Sequences, cfg.Shadows, cfg.Leak)
		if err := b.Validate(); err != nil {
			return err
		}
		opt := llm.EvalOptions{Alpha: cfg.Alpha, Seed: uint64(seed), NotDP: ""}
		blind, err := llm.Blind(ctx, b, opt)
		if err != nil {
			return err
		}
		scored := map[string]*llm.Result{} // by attack and parameters: a Population variant reads its attack's
		for v, vr := range vars {
			var res *llm.Result
			key := fmt.Sprintf("%s %+v", vr.Attack, vr.Params)
			if vr.Population {
				r, ok := scored[key]
				if !ok {
					errs[v][seed] = fmt.Sprintf("seed %d: %s was not scored", seed, key)
					continue
				}
				if auc[v][seed], eps[v][seed], err = populationAUC(b, r.Scores, opt); err != nil {
					errs[v][seed] = fmt.Sprintf("seed %d: %v", seed, err)
				}
				continue
			}
			if strings.HasPrefix(vr.Attack, "blind-") {
				for i := range blind {
					if blind[i].Attack == vr.Attack {
						res = &blind[i]
					}
				}
			} else {
				rs, err := llm.Evaluate(ctx, b, []string{vr.Attack}, vr.Params, opt)
				if err != nil {
					errs[v][seed] = fmt.Sprintf("seed %d: %v", seed, err)
					continue
				}
				res = &rs[0]
				scored[key] = res
			}
			auc[v][seed] = res.Metrics.AUC
			if res.Epsilon != nil {
				eps[v][seed] = res.Epsilon.Value
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	level := cfg.Level / float64(len(vars))
	rep := &LLMReport{Config: cfg}
	for v, vr := range vars {
		c := LLMCell{Variant: vr.Name}
		for s := range cfg.Seeds {
			if errs[v][s] != "" {
				c.Errors = append(c.Errors, errs[v][s])
				continue
			}
			c.SeedAUC = append(c.SeedAUC, auc[v][s])
			c.SeedEpsilon = append(c.SeedEpsilon, eps[v][s])
			if eps[v][s] > 0 {
				c.EpsPositive++
			}
		}
		if len(c.SeedAUC) >= 2 {
			c.AUC = meanInterval(c.SeedAUC, level)
			c.AUCPass = c.AUC.Contains(0.5)
		}
		c.EpsTail = binomialTail(c.EpsPositive, len(c.SeedAUC), cfg.Alpha)
		c.EpsPass = c.EpsTail >= level
		c.Pass = len(c.Errors) == 0 && c.AUCPass && c.EpsPass
		rep.Cells = append(rep.Cells, c)
	}
	return rep, nil
}

// Failures lists the failing cells, one line each.
func (r *LLMReport) Failures() []string {
	var out []string
	for _, c := range r.Cells {
		if c.Pass {
			continue
		}
		var why []string
		if len(c.Errors) > 0 {
			why = append(why, fmt.Sprintf("%d seeds failed (%s)", len(c.Errors), c.Errors[0]))
		}
		if !c.AUCPass {
			why = append(why, fmt.Sprintf("mean AUC %.4f ± %.4f excludes 0.5", c.AUC.Mean, c.AUC.HalfWidth))
		}
		if !c.EpsPass {
			why = append(why, fmt.Sprintf("ε > 0 on %d of %d seeds at α = %g (binomial tail %.2g)", c.EpsPositive, len(c.SeedAUC), r.Config.Alpha, c.EpsTail))
		}
		out = append(out, fmt.Sprintf("llm null | %s: %s", c.Variant, strings.Join(why, "; ")))
	}
	return out
}

// WriteTable prints the harness's table.
func (r *LLMReport) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "LLM null harness: %d bundles of %d sequences, %d shadow LMs, target leaks nothing (leak %g); α = %g, level %g Bonferroni over %d variants\n",
		r.Config.Seeds, r.Config.Sequences, r.Config.Shadows, r.Config.Leak, r.Config.Alpha, r.Config.Level, len(r.Cells))
	fmt.Fprintf(w, "%-34s %8s %8s  %7s  %s\n", "variant", "mean AUC", "± (t)", "ε > 0", "verdict")
	for _, c := range r.Cells {
		verdict := "ok"
		if !c.Pass {
			verdict = "FAIL"
		}
		fmt.Fprintf(w, "%-34s %8.4f %8.4f  %3d/%-3d  %s\n", c.Variant, c.AUC.Mean, c.AUC.HalfWidth, c.EpsPositive, len(c.SeedAUC), verdict)
	}
}

// populationAUC returns the AUC and the holdout ε lower bound of scores with the population sequences as
// positives and the target's other non-members as negatives (LLMVariant.Population); NaN scores are an
// error: every sequence must be scored.
func populationAUC(b *llm.Bundle, scores []float64, opt llm.EvalOptions) (auc, eps float64, err error) {
	var s []float64
	var pos []bool
	for i, v := range scores {
		if b.Labels[i] {
			continue
		}
		if math.IsNaN(v) {
			return 0, 0, fmt.Errorf("sequence %d (population %v) has no score", i, b.Population[i])
		}
		s, pos = append(s, v), append(pos, b.Population[i])
	}
	r, err := metric.Evaluate(s, pos)
	if err != nil {
		return 0, 0, err
	}
	e, err := metric.HoldoutEpsilon(s, pos, metric.EpsilonOptions{Alpha: opt.Alpha, Delta: opt.Delta, Seed: opt.Seed})
	if err != nil {
		return 0, 0, err
	}
	return r.AUC, e.Value, nil
}
