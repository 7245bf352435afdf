package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pmeter/pmeter/metric"
)

// UserLevel is one attack at user level (data.user_column): its record scores combined per user by
// Aggregate (max, mean or logsumexp; metric.AggregateUsers) under a split that keeps a user's records
// together, and the user-level ROC, pooled over targets. It is copied into summary.json as it is.
type UserLevel struct {
	Attack    string `json:"attack"`
	Aggregate string `json:"aggregate"`
	// Result is the user-level ROC summary: AUC and TPR at the standard FPRs, counted in users
	// (members, non-members), pooled over targets.
	Result metric.Result `json:"result"`
	// Top lists the most exposed users against target 0, most exposed first: those with the smallest
	// PValue (their score against the non-member users of their size; ties by name), not the highest
	// raw Score, whose distribution depends on a user's number of records. Their membership says
	// whether naming them is right.
	Top []UserScore `json:"top_users"`
	// Exposed counts the TargetUsers users of target 0 with PValue ≤ ExposedAlpha (0.05), and ExposedNull is the
	// number expected on a target that leaks nothing (α·TargetUsers: PValue is uniform then).
	TargetUsers  int     `json:"target_users"`
	Exposed      int     `json:"exposed_users"`
	ExposedNull  float64 `json:"exposed_users_null"`
	ExposedAlpha float64 `json:"exposed_alpha"`
}

// UserScore is one user's aggregated score against target 0.
type UserScore struct {
	User    string `json:"user"`
	Records int    `json:"records"`
	// Score is the raw aggregate of the user's record scores (metric.AggregateUsers).
	Score  float64 `json:"score"`
	Member bool    `json:"member"`
	// PValue is Score calibrated for size (metric.UserPValues): Score's rank among the Reference
	// non-member users of ReferenceSizes records (the user's own size unless too few), randomized over
	// ties, between (#{scoring > Score})/(1 + Reference) and PValueMax = (1 + #{scoring ≥ Score})/(1 +
	// Reference). When the target leaks nothing about the user, PValue is uniform: P(PValue ≤ α) = α;
	// and P(PValueMax ≤ α) ≤ α.
	PValue         float64 `json:"p_value"`
	PValueMax      float64 `json:"p_value_max"`
	Reference      int     `json:"reference_users"`
	ReferenceSizes [2]int  `json:"reference_sizes"`
}

// usersView is the page's section on users.
type usersView struct {
	Rows             []userRow
	TopLabel         string
	TopWhy           string // why TopLabel's users are listed (listedUsers)
	Top              []userTopRow
	Users, Members   string
	HasBelowRes      bool
	TopMembers, TopN int
	// Exposed of TargetUsers have p ≤ Alpha against target 0; ExposedNull would on a null target.
	Exposed, TargetUsers, Alpha, ExposedNull string
	HasExposed                               bool // false for a run saved before the count existed
}

type userRow struct {
	Attack, Aggregate, AUC, TPR10, TPR1, TPR01 string
	Best                                       bool
}

type userTopRow struct {
	Rank, User, Records, Score, P, PMax, Reference string
	Member                                         bool
}

// UsersListed names the entry of Summary.Users whose most exposed users the page (and a run's printed
// summary) lists: see listedUsers.
type UsersListed struct {
	Attack    string `json:"attack"`
	Aggregate string `json:"aggregate"`
}

// listedUsers returns the index of the entry of users whose top users are listed (-1 when users is
// empty; an aggregate asked for is then an error), by a rule fixed before any user-level result is seen: the attack that ranks the records
// (rankedBy: Options.RankBy, by default the verdict's strongest attack), so that the page's lists of
// records and of users speak of one attack; under aggregate, or when it is empty under that attack's
// first aggregate in input order (the run's first audit.user_aggregates: max by default, a user's most
// exposed record). When the ranking attack has no user-level results, the first attack that has them.
// The entry of highest user-level AUC is not chosen: it is picked by chance on a target that leaks
// nothing, and the counts beside its list would carry that selection.
func listedUsers(users []UserLevel, rankedBy, aggregate string) (int, error) {
	if len(users) == 0 {
		if aggregate != "" {
			return -1, fmt.Errorf("report: users aggregate %q: the results have no user-level attacks (data.user_column)", aggregate)
		}
		return -1, nil
	}
	attack := users[0].Attack
	if slices.ContainsFunc(users, func(u UserLevel) bool { return u.Attack == rankedBy }) {
		attack = rankedBy
	}
	var have []string
	for k, u := range users {
		if u.Attack != attack {
			continue
		}
		if aggregate == "" || u.Aggregate == aggregate {
			return k, nil
		}
		have = append(have, u.Aggregate)
	}
	return -1, fmt.Errorf("report: users aggregate %q: attack %s has the user aggregates %s", aggregate, attack, strings.Join(have, ", "))
}

// usersView shows every attack × aggregate, and the top users of the listed one (listedUsers).
func (a *analysis) usersView() *usersView {
	if a.users < 0 {
		return nil
	}
	v := &usersView{}
	best := 0 // marked in the table: the highest AUC
	for k, u := range a.in.Users {
		if u.Result.AUC > a.in.Users[best].Result.AUC {
			best = k
		}
	}
	tpr := func(r metric.Result, f float64) string {
		e, ok := r.Entry(f)
		switch {
		case !ok:
			return "–"
		case e.BelowResolution:
			v.HasBelowRes = true
			return "below res."
		}
		return pct(e.TPR)
	}
	for k, u := range a.in.Users {
		v.Rows = append(v.Rows, userRow{Attack: u.Attack, Aggregate: u.Aggregate, AUC: f3(u.Result.AUC),
			TPR10: tpr(u.Result, 0.1), TPR1: tpr(u.Result, 0.01), TPR01: tpr(u.Result, 0.001), Best: k == best})
	}
	b := a.in.Users[a.users]
	v.Users, v.Members = thousands(b.Result.Members+b.Result.NonMembers), thousands(b.Result.Members)
	v.TopLabel = b.Attack + " (" + b.Aggregate + ")"
	switch {
	case b.Attack != a.in.Attacks[a.ranker].Name:
		v.TopWhy = "the first attack with user-level results: " + a.in.Attacks[a.ranker].Name + ", which ranks the records, has none"
	case a.opts.UsersAggregate != "":
		v.TopWhy = "the attack that ranks the most vulnerable records, under the aggregate asked for"
	default:
		v.TopWhy = "the attack that ranks the most vulnerable records, under the run's first aggregate"
	}
	for k, t := range b.Top {
		ref := fmt.Sprintf("%s users of %d records", thousands(t.Reference), t.ReferenceSizes[0])
		if t.ReferenceSizes[1] == 1 {
			ref = thousands(t.Reference) + " users of 1 record"
		} else if t.ReferenceSizes[0] != t.ReferenceSizes[1] {
			ref = fmt.Sprintf("%s users of %d–%d records", thousands(t.Reference), t.ReferenceSizes[0], t.ReferenceSizes[1])
		}
		row := userTopRow{Rank: fmt.Sprint(k + 1), User: t.User, Records: thousands(t.Records),
			Score: fmt.Sprintf("%.4g", t.Score), P: fmt.Sprintf("%.3g", t.PValue), PMax: fmt.Sprintf("%.3g", t.PValueMax), Reference: ref, Member: t.Member}
		if t.PValueMax == 0 { // a run saved before users had p-values (ranked by raw score)
			row.P, row.PMax, row.Reference = "–", "–", "–"
		}
		v.Top = append(v.Top, row)
		if t.Member {
			v.TopMembers++
		}
	}
	v.TopN = len(b.Top)
	v.HasExposed = b.TargetUsers > 0
	v.Exposed, v.TargetUsers, v.ExposedNull = thousands(b.Exposed), thousands(b.TargetUsers), fmt.Sprintf("%.1f", b.ExposedNull)
	v.Alpha = fmt.Sprintf("%g", b.ExposedAlpha)
	return v
}
