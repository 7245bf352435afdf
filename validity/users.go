package validity

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"text/tabwriter"
	"time"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/dataset"
	"github.com/pmeter/pmeter/internal/parallel"
	"github.com/pmeter/pmeter/metric"
)

// The user-level harness (data.user_column): memberships are drawn over users of 1 to MaxRecords
// records and expanded to their records (dataset.UserMemberships), every variant scores the records,
// and the scores are aggregated per user (metric.AggregateUsers: max, mean, logsumexp). Null: the target
// leaks nothing, so every variant × design × aggregate must give a user-level mean AUC of 0.5 (Student-t
// interval over seeds, Bonferroni over the cells). Leak: the target leaks as the references do, and the
// harness reports each cell's AUC (a sanity check of power; a user's records add evidence).

// UserConfig configures RunUsers.
type UserConfig struct {
	// Seeds data sets per design, each of Users users with 1 to MaxRecords records (uniform) and
	// Population population records.
	Seeds, Users, MaxRecords, Population int
	// Null and Leak select the harnesses.
	Null, Leak bool
	Variants   []Variant
	Designs    []Design
	// Level is the harness's significance (0.001 when 0), Bonferroni-corrected over its cells.
	Level   float64
	Signal  Signal
	Workers int
	Seed    uint64
}

// FullUserConfig is `pmeter validate --users`: 50 seeds of 1,000 users (about 3,500 records), every
// variant, every design.
func FullUserConfig() UserConfig {
	return UserConfig{Seeds: 50, Users: 1000, MaxRecords: 6, Population: 2000, Null: true, Leak: true, Variants: Variants(true), Designs: Designs()}
}

// ReducedUserConfig is what `go test ./validity` runs: 20 seeds of 400 users, the null harness, the
// variants of LOSS, LiRA, RMIA, gradnorm-LiRA and augmentation-LiRA, the pairs and bernoulli designs.
func ReducedUserConfig() UserConfig {
	d, _ := LookupDesigns([]string{"pairs", "bernoulli"})
	v, _ := SelectVariants(Variants(false), []string{"loss", "lira", "rmia", "gradnorm-lira", "augmentation-lira"})
	return UserConfig{Seeds: 20, Users: 400, MaxRecords: 6, Population: 1000, Null: true, Variants: v, Designs: d}
}

// UserCell is one variant under one design with one aggregate: the user-level AUC per seed and its
// interval; under the null harness Pass says the interval holds 0.5.
type UserCell struct {
	Harness   string    `json:"harness"`
	Variant   string    `json:"variant"`
	Design    string    `json:"design"`
	Aggregate string    `json:"aggregate"`
	SeedAUC   []float64 `json:"seed_auc"`
	AUC       Interval  `json:"auc"`
	Errors    []string  `json:"errors,omitempty"`
	Pass      bool      `json:"pass"`
}

// UserReport is the outcome of RunUsers.
type UserReport struct {
	Seeds, Users, MaxRecords int
	Level                    float64
	Elapsed                  time.Duration `json:"elapsed_ns"`
	Cells                    []UserCell    `json:"cells"`
}

// Failures lists the null cells that fail.
func (r *UserReport) Failures() []string {
	var out []string
	for _, c := range r.Cells {
		if c.Harness == "null" && !c.Pass {
			out = append(out, fmt.Sprintf("users null %s / %s / %s: AUC %.4f ± %.4f %s", c.Variant, c.Design, c.Aggregate, c.AUC.Mean, c.AUC.HalfWidth, firstError(c.Errors)))
		}
	}
	return out
}

// userMembers draws g's memberships over users of 1..maxRecords records and expands them to records;
// it returns the records' memberships (N × M) and users.
func (g Design) userMembers(users, maxRecords int, seed uint64) ([]bool, []int, error) {
	r := rand.New(rand.NewPCG(seed, 0x75736572)) // "user"
	var of []int
	for u := range users {
		for range 1 + r.IntN(maxRecords) {
			of = append(of, u)
		}
	}
	byUser, err := g.members(users, seed)
	if err != nil {
		return nil, nil, err
	}
	ms, err := dataset.UserMemberships(of, &dataset.Memberships{N: users, M: g.Models, Members: byUser})
	if err != nil {
		return nil, nil, err
	}
	return ms.Members, of, nil
}

// RunUsers runs the user-level harness.
func RunUsers(ctx context.Context, cfg UserConfig) (*UserReport, error) {
	if cfg.Signal == (Signal{}) {
		cfg.Signal = DefaultSignal()
	}
	if cfg.Level == 0 {
		cfg.Level = 0.001
	}
	switch {
	case cfg.Seeds < 3 || cfg.Users < 20 || cfg.MaxRecords < 1 || cfg.Population < 1:
		return nil, fmt.Errorf("validity: users harness: %d seeds of %d users (1 to %d records) and %d population records; want ≥ 3 seeds, ≥ 20 users, ≥ 1 record, ≥ 1 population record",
			cfg.Seeds, cfg.Users, cfg.MaxRecords, cfg.Population)
	case !cfg.Null && !cfg.Leak:
		return nil, fmt.Errorf("validity: users harness: no harness selected")
	}
	start := time.Now()
	aggs := []metric.UserAggregate{metric.UserMax, metric.UserMean, metric.UserLogSumExp}
	scorers := make([]Scorer, len(cfg.Variants))
	scorerErr := make([]error, len(cfg.Variants))
	for k, v := range cfg.Variants {
		scorers[k], scorerErr[k] = v.scorer()
	}
	type ujob struct {
		leak         bool
		design, seed int
	}
	var jobs []ujob
	for _, h := range []struct{ on, leak bool }{{cfg.Null, false}, {cfg.Leak, true}} {
		if h.on {
			for g := range cfg.Designs {
				for s := range cfg.Seeds {
					jobs = append(jobs, ujob{h.leak, g, s})
				}
			}
		}
	}
	// results[job][variant][aggregate]
	results := make([][][]outcome, len(jobs))
	err := parallel.For(ctx, len(jobs), cfg.Workers, func(ctx context.Context, i int) error {
		j := jobs[i]
		g := cfg.Designs[j.design]
		h := fnv.New64a()
		fmt.Fprintf(h, "users|%t|%s|%d", j.leak, g.Name, j.seed)
		seed := cfg.Seed ^ h.Sum64()
		members, users, err := g.userMembers(cfg.Users, cfg.MaxRecords, seed)
		if err != nil {
			return err
		}
		target := 0
		if j.seed%2 == 1 {
			target = g.Models - 1
		}
		draw := Draw{Members: members, N: len(users), M: g.Models, Z: cfg.Population, Q: 2, Seed: seed, Design: g.Kind}
		if !j.leak {
			draw.Silent = []int{target}
		}
		full, err := Generate(cfg.Signal, draw)
		if err != nil {
			return err
		}
		views := map[int]*attack.Data{2: full}
		tm := full.TargetMembers(target)
		out := make([][]outcome, len(cfg.Variants))
		for k, v := range cfg.Variants {
			out[k] = make([]outcome, len(aggs))
			if err := ctx.Err(); err != nil {
				return err
			}
			if scorerErr[k] != nil {
				for a := range aggs {
					out[k][a].err = scorerErr[k]
				}
				continue
			}
			d, ok := views[v.Queries]
			if !ok {
				d = firstQueries(full, v.Queries)
				views[v.Queries] = d
			}
			scores, err := scorers[k](d, target)
			for a, how := range aggs {
				if err != nil {
					out[k][a].err = err
					continue
				}
				us, um, err := metric.AggregateUsers(scores, tm, users, how)
				if err != nil {
					out[k][a].err = err
					continue
				}
				out[k][a].auc = metric.AUC(metric.ROC(us, um, true))
			}
		}
		results[i] = out
		return nil
	})
	if err != nil {
		return nil, err
	}
	rep := &UserReport{Seeds: cfg.Seeds, Users: cfg.Users, MaxRecords: cfg.MaxRecords, Level: cfg.Level}
	cells := len(cfg.Variants) * len(cfg.Designs) * len(aggs)
	for _, harness := range []bool{false, true} {
		for k, v := range cfg.Variants {
			for g, d := range cfg.Designs {
				for a, how := range aggs {
					c := UserCell{Harness: "null", Variant: v.Name, Design: d.Name, Aggregate: string(how)}
					if harness {
						c.Harness = "leak"
					}
					for i, j := range jobs {
						if j.leak != harness || j.design != g {
							continue
						}
						o := results[i][k][a]
						if o.err != nil {
							c.Errors = append(c.Errors, fmt.Sprintf("seed %d: %v", j.seed, o.err))
							continue
						}
						c.SeedAUC = append(c.SeedAUC, o.auc)
					}
					if len(c.SeedAUC) == 0 && len(c.Errors) == 0 {
						continue // harness not run
					}
					if len(c.SeedAUC) >= 2 {
						c.AUC = meanInterval(c.SeedAUC, cfg.Level/float64(cells))
						c.Pass = len(c.Errors) == 0 && (harness || c.AUC.Contains(0.5))
					}
					rep.Cells = append(rep.Cells, c)
				}
			}
		}
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// WriteTable prints one row per cell.
func (r *UserReport) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "user level: %d seeds of %d users (1 to %d records each); null: mean AUC within its interval of 0.5\n", r.Seeds, r.Users, r.MaxRecords)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "harness\tvariant\tdesign\taggregate\tmean AUC\t± (interval)\t")
	for _, c := range r.Cells {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.4f\t%.4f\t%s\n", c.Harness, c.Variant, c.Design, c.Aggregate, c.AUC.Mean, c.AUC.HalfWidth,
			markSuffix(c.Pass || c.Harness == "leak")+errorNote(c.Errors))
	}
	tw.Flush()
}
