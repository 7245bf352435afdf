package report

import (
	"fmt"

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
	// Top lists the users with the highest scores against target 0, highest first: the users an
	// attacker would name first. Their membership says whether naming them is right.
	Top []UserScore `json:"top_users"`
}

// UserScore is one user's aggregated score against target 0.
type UserScore struct {
	User    string  `json:"user"`
	Records int     `json:"records"`
	Score   float64 `json:"score"`
	Member  bool    `json:"member"`
}

// usersView is the page's section on users.
type usersView struct {
	Rows             []userRow
	TopLabel         string
	Top              []userTopRow
	Users, Members   string
	HasBelowRes      bool
	TopMembers, TopN int
}

type userRow struct {
	Attack, Aggregate, AUC, TPR10, TPR1, TPR01 string
	Best                                       bool
}

type userTopRow struct {
	Rank, User, Records, Score string
	Member                     bool
}

// usersView shows every attack × aggregate, and the top users of the one with the highest AUC.
func (a *analysis) usersView() *usersView {
	if len(a.in.Users) == 0 {
		return nil
	}
	v := &usersView{}
	best := 0
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
	b := a.in.Users[best]
	v.Users, v.Members = thousands(b.Result.Members+b.Result.NonMembers), thousands(b.Result.Members)
	v.TopLabel = b.Attack + " (" + b.Aggregate + ")"
	for k, t := range b.Top {
		v.Top = append(v.Top, userTopRow{Rank: fmt.Sprint(k + 1), User: t.User, Records: thousands(t.Records),
			Score: fmt.Sprintf("%.4g", t.Score), Member: t.Member})
		if t.Member {
			v.TopMembers++
		}
	}
	v.TopN = len(b.Top)
	return v
}
