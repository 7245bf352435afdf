package audit

import (
	"fmt"
	"hash/fnv"
	"io"
	"slices"
	"sort"
	"text/tabwriter"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/dataset"
	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/report"
)

// User-level membership (data.user_column): when a table's records carry a user id, the membership
// design (audit.split) is drawn over users and expanded to their records (dataset.UserMemberships), so
// that all of a user's records are in or out of each model's training set together — for the target
// and the reference models alike, so that attack.SelectReferences picks each record's IN and OUT
// references among the models that hold or lack its whole user. Every attack then runs on records as
// usual, and its record scores are also combined per user (audit.user_aggregates: max, mean,
// logsumexp; metric.AggregateUsers) into a user-level ROC, pooled over targets (PrivacyGuard's
// user-level aggregation), and the users most exposed against target 0 are those whose aggregate stands
// out among the non-member users of their size (metric.UserPValues).

// userTop is how many top users the report and summary.json list per attack and aggregate.
const userTop = 10

// userAlpha is the p-value at or below which a user counts as exposed (UserLevel.Exposed).
const userAlpha = 0.05

// defaultUserAggregates are the aggregates of a run that names none.
var defaultUserAggregates = []metric.UserAggregate{metric.UserMax, metric.UserMean, metric.UserLogSumExp}

// validateUsers checks data.user_column and audit.user_aggregates.
func (c *Config) validateUsers() error {
	col := c.Data.UserColumn
	if col == "" {
		if len(c.Audit.UserAggregates) > 0 {
			return c.fieldError("audit", "user_aggregates", "needs data.user_column (the column of each record's user id)")
		}
		return nil
	}
	switch {
	case !c.isTable():
		return c.fieldError("data", "user_column", "applies to dataset csv or parquet only, not %s", c.Data.Dataset)
	case col == c.Data.LabelCol:
		return c.fieldError("data", "user_column", "is the label column %q (data.label_column)", col)
	case slices.Contains(c.Data.DropColumns, col):
		return c.fieldError("data", "user_column", "column %q is also listed in data.drop_columns", col)
	case slices.Contains(c.Data.CategoricalColumns, col):
		return c.fieldError("data", "user_column", "column %q is also listed in data.categorical_columns; a user id is never a feature", col)
	case c.Target.Model != "":
		return c.fieldError("data", "user_column", "needs models whose training sets pmeter draws by user; an external target (target.model) has its own")
	case c.Audit.DataSize != 0:
		return c.fieldError("audit", "data_size", "must be left out with data.user_column: every record of the training pool is audited, so that each user is complete (use data.train_size for a smaller pool)")
	}
	switch c.Audit.PrivacyGame {
	case "privacy_loss_model", "avg_privacy_loss_training_algo":
	default:
		return c.fieldError("data", "user_column", "applies to privacy_game privacy_loss_model and avg_privacy_loss_training_algo, not %s", c.Audit.PrivacyGame)
	}
	for k, a := range c.Audit.UserAggregates {
		switch metric.UserAggregate(a) {
		case metric.UserMax, metric.UserMean, metric.UserLogSumExp:
		default:
			return c.fieldError("audit", "user_aggregates", "entry %d is %q (want max, mean or logsumexp)", k+1, a)
		}
		if slices.Contains(c.Audit.UserAggregates[:k], a) {
			return c.fieldError("audit", "user_aggregates", "lists %q twice", a)
		}
	}
	return nil
}

// userAggregates returns audit.user_aggregates, or all three.
func (c *Config) userAggregates() []metric.UserAggregate {
	if len(c.Audit.UserAggregates) == 0 {
		return defaultUserAggregates
	}
	out := make([]metric.UserAggregate, len(c.Audit.UserAggregates))
	for k, a := range c.Audit.UserAggregates {
		out[k] = metric.UserAggregate(a)
	}
	return out
}

// separateUsers leaves out of the population the records of users who have records in the training
// pool: the population stands for data no model trained on, and a member user's other records are not.
// The source says how many were left out.
func (c *Config) separateUsers(d *Data) error {
	inPool := make(map[string]bool, len(d.Pool.Groups))
	for _, u := range d.Pool.Groups {
		inPool[u] = true
	}
	var keep []int
	for i, u := range d.Population.Groups {
		if !inPool[u] {
			keep = append(keep, i)
		}
	}
	if dropped := d.Population.Len() - len(keep); dropped > 0 {
		if len(keep) == 0 {
			return c.fieldError("data", "user_column", "every population record (the file's last 25 %%) belongs to a user with records in the training pool; no record is left that no model could train on")
		}
		pop, err := d.Population.Subset(keep)
		if err != nil {
			return err
		}
		d.Population = pop
		d.Source += fmt.Sprintf("; %d population records of users in the training pool left out", dropped)
	}
	return nil
}

// userMemberships draws the design over the pool's users and expands it to their records: pool record i
// is in model m's training set exactly when user p.Users[i] is. The design keeps its meaning on records
// (pairs: each record in one model of each pair; lira: in half of the models; bernoulli: fair coins,
// the same for a user's records), so the attacks' reference selection applies unchanged.
func (c *Config) userMemberships(d *Data, p *Plan, seed uint64) (*dataset.Memberships, error) {
	if len(d.Pool.Groups) != d.Pool.Len() {
		return nil, c.fieldError("data", "user_column", "the training pool has no user ids (%d for %d records)", len(d.Pool.Groups), d.Pool.Len())
	}
	p.Users, p.UserNames = dataset.UserIndex(d.Pool.Groups)
	u := len(p.UserNames)
	if u < 2 {
		return nil, c.fieldError("data", "user_column", "column %q has %d distinct user in the training pool; a user-level audit needs members and non-members, at least 2 users", c.Data.UserColumn, u)
	}
	var byUser *dataset.Memberships
	var err error
	switch p.Design {
	case attack.DesignPairs:
		byUser, err = dataset.PairedMemberships(u, p.Models/2, seed)
	case attack.DesignLiRA:
		byUser, err = dataset.LiRAMemberships(u, p.Models, 0.5, seed)
	default:
		byUser, err = dataset.BernoulliMemberships(u, p.Models, seed)
	}
	if err != nil {
		return nil, fmt.Errorf("user memberships: %w", err)
	}
	return dataset.UserMemberships(p.Users, byUser)
}

// runUsers aggregates every attack's record scores per user and evaluates them at user level, pooled
// over targets; the top users are those of target 0.
func runUsers(c *Config, p *Plan, res *Result) ([]report.UserLevel, error) {
	// The audited records' users, renumbered 0..U'−1 over the audited records.
	audited, names := make([]int, len(res.Records)), []string{}
	index := map[int]int{}
	for i, r := range res.Records {
		u := p.Users[r]
		k, ok := index[u]
		if !ok {
			k = len(names)
			index[u] = k
			names = append(names, p.UserNames[u])
		}
		audited[i] = k
	}
	counts := make([]int, len(names))
	for _, k := range audited {
		counts[k]++
	}
	var out []report.UserLevel
	for _, a := range res.Attacks {
		for _, how := range c.userAggregates() {
			ul := report.UserLevel{Attack: a.Label, Aggregate: string(how)}
			var pooled []float64
			var pooledIn []bool
			for t, s := range a.Scores {
				us, um, err := metric.AggregateUsers(s, res.Members[t], audited, how)
				if err != nil {
					return nil, fmt.Errorf("users: attack %s on target %d: %w", a.Label, t, err)
				}
				pooled, pooledIn = append(pooled, us...), append(pooledIn, um...)
				if t == 0 {
					if err := topUsers(&ul, uint64(c.Run.RandomSeed), us, um, names, counts); err != nil {
						return nil, fmt.Errorf("users: attack %s (%s): %w", a.Label, how, err)
					}
				}
			}
			r, err := metric.Evaluate(pooled, pooledIn)
			if err != nil {
				return nil, fmt.Errorf("users: attack %s (%s): %w", a.Label, how, err)
			}
			ul.Result = r
			out = append(out, ul)
		}
	}
	return out, nil
}

// topUsers returns the userTop most exposed users: those with the smallest size-calibrated p-value
// (metric.UserPValues: each user's aggregate against the non-member users of its number of records,
// randomized over ties, so that on a target that leaks nothing every user, of any size, is as likely to
// come first). The raw aggregate is not the order: its distribution depends on a user's size (the mean
// of one record spreads the most, the max of many is shifted up), so it would name users for their size.
// The randomization is seeded by the run's seed, the attack and the aggregate.
//
// It also counts the users exposed at p ≤ userAlpha, and how many a target that leaks nothing would
// give on average (userAlpha of the users: p is uniform then): a count well above it says the model
// leaks about users beyond chance, which no single p-value of the list can (none is corrected for the
// number of users).
func topUsers(ul *report.UserLevel, seed uint64, scores []float64, members []bool, names []string, counts []int) error {
	h := fnv.New64a()
	fmt.Fprintf(h, "users|%d|%s|%s", seed, ul.Attack, ul.Aggregate)
	ps, err := metric.UserPValues(scores, members, counts, metric.MinUserReference, h.Sum64())
	if err != nil {
		return err
	}
	ul.ExposedAlpha, ul.TargetUsers, ul.Exposed = userAlpha, len(scores), 0
	ul.ExposedNull = userAlpha * float64(len(scores))
	for _, p := range ps {
		if p.P <= userAlpha {
			ul.Exposed++
		}
	}
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool {
		a, b := order[x], order[y]
		if ps[a].P != ps[b].P {
			return ps[a].P < ps[b].P
		}
		return names[a] < names[b]
	})
	ul.Top = nil
	for _, u := range order[:min(userTop, len(order))] {
		p := ps[u]
		ul.Top = append(ul.Top, report.UserScore{User: names[u], Records: counts[u], Score: scores[u], Member: members[u],
			PValue: p.P, PValueMax: p.Hi, Reference: p.Reference, ReferenceSizes: [2]int{p.MinSize, p.MaxSize}})
	}
	return nil
}

// writeUsers prints the user-level table and the top users of the listed entry (the report's choice,
// report.Settings.UsersListed; the first entry when nil).
func writeUsers(w io.Writer, us []report.UserLevel, listed *report.UsersListed) {
	if len(us) == 0 {
		return
	}
	r0 := us[0].Result
	fmt.Fprintf(w, "\nuser level (%d users, %d members, pooled over targets):\n", r0.Members+r0.NonMembers, r0.Members)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	io.WriteString(tw, "attack\taggregate\tAUC\tTPR@10%FPR\tTPR@1%FPR\n")
	shown := 0
	for k, u := range us {
		if listed != nil && u.Attack == listed.Attack && u.Aggregate == listed.Aggregate {
			shown = k
		}
		fmt.Fprintf(tw, "%s\t%s\t%.4f", u.Attack, u.Aggregate, u.Result.AUC)
		for _, f := range []float64{0.1, 0.01} {
			if e, _ := u.Result.Entry(f); e.BelowResolution {
				io.WriteString(tw, "\tbelow res.")
			} else {
				fmt.Fprintf(tw, "\t%.4f", e.TPR)
			}
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	b := us[shown]
	why := "the attack that ranks the records, its first aggregate"
	if listed == nil {
		why = "the first attack and aggregate"
	}
	fmt.Fprintf(w, "most exposed users (%s, %s, target 0: %s; p against non-member users of the same size):", b.Attack, b.Aggregate, why)
	for _, t := range b.Top[:min(5, len(b.Top))] {
		m := "non-member"
		if t.Member {
			m = "member"
		}
		fmt.Fprintf(w, " %s (%d records, score %.4g, p %.2g ≤ %.3f, %s)", t.User, t.Records, t.Score, t.PValue, t.PValueMax, m)
	}
	fmt.Fprintf(w, "\nusers at p ≤ %g (%s, %s, target 0): %d of %d (%.1f expected if the model leaked nothing)\n",
		b.ExposedAlpha, b.Attack, b.Aggregate, b.Exposed, b.TargetUsers, b.ExposedNull)
}
