package validity

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/dataset"
	"github.com/pmeter/pmeter/internal/parallel"
	"github.com/pmeter/pmeter/metric"
	"gonum.org/v1/gonum/stat/distuv"
)

// The user-level harness (data.user_column): memberships are drawn over users of 1 to MaxRecords
// records and expanded to their records (dataset.UserMemberships), every variant scores the records,
// and the scores are aggregated per user (metric.AggregateUsers: max, mean, logsumexp). Null: the target
// leaks nothing, so every variant × design × aggregate must give a user-level mean AUC of 0.5 (Student-t
// interval over seeds, Bonferroni over the cells), and the most exposed users — the TopUsers with the
// smallest size-calibrated p-value (metric.UserPValues), as the report lists them — must have the sizes
// of the users at large: their record counts, pooled over seeds, pass a chi-square goodness-of-fit test
// against the users' sizes at the same level (its own family, Bonferroni over the cells). The same test
// on the users with the highest raw aggregate is reported beside it (RawTopSizeP), not required: it
// fails, which is why the ranking is calibrated. Leak: the target leaks as the references do, and the
// harness reports each cell's AUC (a sanity check of power; a user's records add evidence).

// TopUsers is how many most exposed users per data set the null harness checks for size skew: the
// number the report lists (audit's userTop).
const TopUsers = 10

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
	// Sizes counts the users of each record count (index 0: one record), summed over seeds; TopSizes
	// the same for the TopUsers users per seed with the smallest size-calibrated p-value, RawTopSizes
	// for those with the highest raw aggregate. TopSizeP and RawTopSizeP are the chi-square
	// goodness-of-fit p-values of those counts against the shares of Sizes.
	Sizes       []int    `json:"sizes,omitempty"`
	TopSizes    []int    `json:"top_sizes,omitempty"`
	RawTopSizes []int    `json:"raw_top_sizes,omitempty"`
	TopSizeP    float64  `json:"top_size_p"`
	RawTopSizeP float64  `json:"raw_top_size_p"`
	Errors      []string `json:"errors,omitempty"`
	Pass        bool     `json:"pass"`
}

// UserReport is the outcome of RunUsers.
type UserReport struct {
	Seeds      int           `json:"seeds"`
	Users      int           `json:"users"`
	MaxRecords int           `json:"max_records"`
	Level      float64       `json:"level"`
	Elapsed    time.Duration `json:"elapsed_ns"`
	Cells      []UserCell    `json:"cells"`
}

// Failures lists the null cells that fail.
func (r *UserReport) Failures() []string {
	var out []string
	for _, c := range r.Cells {
		if c.Harness == "null" && !c.Pass {
			out = append(out, fmt.Sprintf("users null %s / %s / %s: AUC %.4f ± %.4f, top users' sizes %v against %v (p %.3g) %s", c.Variant, c.Design, c.Aggregate,
				c.AUC.Mean, c.AUC.HalfWidth, c.TopSizes, c.Sizes, c.TopSizeP, firstError(c.Errors)))
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
	results := make([][][]userOutcome, len(jobs))
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
		sizes := make([]int, cfg.Users)
		for _, u := range users {
			sizes[u]++
		}
		out := make([][]userOutcome, len(cfg.Variants))
		for k, v := range cfg.Variants {
			out[k] = make([]userOutcome, len(aggs))
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
				o := &out[k][a]
				o.auc = metric.AUC(metric.ROC(us, um, true))
				ps, err := metric.UserPValues(us, um, sizes, metric.MinUserReference, seed+uint64(k*len(aggs)+a))
				if err != nil {
					o.err = err
					continue
				}
				o.sizes = sizeCounts(sizes, cfg.MaxRecords, nil)
				o.top = sizeCounts(sizes, cfg.MaxRecords, topBy(len(us), func(x, y int) bool { return ps[x].P < ps[y].P }))
				o.rawTop = sizeCounts(sizes, cfg.MaxRecords, topBy(len(us), func(x, y int) bool { return us[x] > us[y] }))
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
					c.Sizes, c.TopSizes, c.RawTopSizes = make([]int, cfg.MaxRecords), make([]int, cfg.MaxRecords), make([]int, cfg.MaxRecords)
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
						for n := range cfg.MaxRecords {
							c.Sizes[n] += o.sizes[n]
							c.TopSizes[n] += o.top[n]
							c.RawTopSizes[n] += o.rawTop[n]
						}
					}
					if len(c.SeedAUC) == 0 && len(c.Errors) == 0 {
						continue // harness not run
					}
					if len(c.SeedAUC) >= 2 {
						c.AUC = meanInterval(c.SeedAUC, cfg.Level/float64(cells))
						c.TopSizeP = chiSquareFit(c.TopSizes, c.Sizes)
						c.RawTopSizeP = chiSquareFit(c.RawTopSizes, c.Sizes)
						c.Pass = len(c.Errors) == 0 && (harness || c.AUC.Contains(0.5) && c.TopSizeP >= cfg.Level/float64(cells))
					}
					rep.Cells = append(rep.Cells, c)
				}
			}
		}
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// userOutcome is one variant × aggregate on one data set: the user-level AUC, and the users' sizes
// (index n−1: n records) over all users, the TopUsers most exposed, and the TopUsers highest raw.
type userOutcome struct {
	auc                float64
	sizes, top, rawTop []int
	err                error
}

// topBy returns the TopUsers first of 0..n−1 in the order less gives, ties by index (which is
// independent of a user's size: sizes are drawn independently per user).
func topBy(n int, less func(x, y int) bool) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool { return less(order[x], order[y]) })
	return order[:min(TopUsers, n)]
}

// sizeCounts counts the users of each size 1..maxRecords among those listed, or among all when nil.
func sizeCounts(sizes []int, maxRecords int, among []int) []int {
	out := make([]int, maxRecords)
	if among == nil {
		for _, n := range sizes {
			out[n-1]++
		}
		return out
	}
	for _, u := range among {
		out[sizes[u]-1]++
	}
	return out
}

// chiSquareFit returns the p-value of Pearson's chi-square goodness-of-fit test of the counts obs
// against the shares of ref: Σ (o − e)²/e with e = Σobs · ref/Σref, on (number of cells with ref > 0)
// − 1 degrees of freedom. An observed count where ref has none gives 0; fewer than two cells, 1.
func chiSquareFit(obs, ref []int) float64 {
	var no, nr float64
	for i := range obs {
		no += float64(obs[i])
		nr += float64(ref[i])
	}
	if no == 0 || nr == 0 {
		return 1
	}
	var x float64
	df := -1
	for i := range obs {
		if ref[i] == 0 {
			if obs[i] > 0 {
				return 0
			}
			continue
		}
		e := no * float64(ref[i]) / nr
		d := float64(obs[i]) - e
		x += d * d / e
		df++
	}
	if df < 1 {
		return 1
	}
	return distuv.ChiSquared{K: float64(df)}.Survival(x)
}

// WriteTable prints one row per cell.
func (r *UserReport) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "user level: %d seeds of %d users (1 to %d records each); null: mean AUC within its interval of 0.5, and the sizes of the %d most exposed users per seed (size-calibrated p) fit the users' sizes (chi-square; both at level %g, Bonferroni over the cells); raw: the same test on the highest raw aggregates, for comparison\n",
		r.Seeds, r.Users, r.MaxRecords, TopUsers, r.Level)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "harness\tvariant\tdesign\taggregate\tmean AUC\t± (interval)\ttop sizes p\traw top sizes p\t")
	for _, c := range r.Cells {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.4f\t%.4f\t%.3g\t%.3g\t%s\n", c.Harness, c.Variant, c.Design, c.Aggregate, c.AUC.Mean, c.AUC.HalfWidth,
			c.TopSizeP, c.RawTopSizeP, markSuffix(c.Pass || c.Harness == "leak")+errorNote(c.Errors))
	}
	tw.Flush()
}
