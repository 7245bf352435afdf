package metric

import (
	"fmt"
	"math"
)

// UserAggregate is how record scores combine into a user's score.
type UserAggregate string

// The user aggregates: the most exposed record, the average record, and a smooth maximum.
const (
	UserMax       UserAggregate = "max"
	UserMean      UserAggregate = "mean"
	UserLogSumExp UserAggregate = "logsumexp" // log Σ_i e^{s_i}: between max and max + log n
)

// AggregateUsers combines per-record scores (higher = more likely a member) into one score per user,
// users[i] being record i's user index in [0, U), and returns U scores and the users' memberships,
// checking that all of a user's records share one membership (a user-level split, dataset.
// UserMemberships). A user without records is an error. The user-level ROC of the result answers
// "which users are exposed" as PrivacyGuard's user-level aggregation does.
func AggregateUsers(scores []float64, members []bool, users []int, how UserAggregate) ([]float64, []bool, error) {
	if len(scores) != len(users) || len(members) != len(users) {
		return nil, nil, fmt.Errorf("user scores: %d scores, %d memberships, %d users", len(scores), len(members), len(users))
	}
	u := 0
	for i, x := range users {
		if x < 0 {
			return nil, nil, fmt.Errorf("user scores: record %d has user %d", i, x)
		}
		u = max(u, x+1)
	}
	out := make([]float64, u)
	mem := make([]bool, u)
	n := make([]int, u)
	for i, x := range users {
		s := scores[i]
		if math.IsNaN(s) {
			return nil, nil, fmt.Errorf("user scores: record %d's score is NaN", i)
		}
		if n[x] > 0 && mem[x] != members[i] {
			return nil, nil, fmt.Errorf("user scores: user %d has members and non-members; user-level membership needs a split that keeps a user's records together", x)
		}
		mem[x] = members[i]
		switch {
		case n[x] == 0:
			out[x] = s
		case how == UserMax:
			out[x] = max(out[x], s)
		case how == UserMean:
			out[x] += s
		case how == UserLogSumExp:
			hi, lo := max(out[x], s), min(out[x], s)
			out[x] = hi + math.Log1p(math.Exp(lo-hi))
		default:
			return nil, nil, fmt.Errorf("user scores: aggregate %q (want max, mean or logsumexp)", how)
		}
		n[x]++
	}
	for x := range out {
		if n[x] == 0 {
			return nil, nil, fmt.Errorf("user scores: user %d has no records", x)
		}
		if how == UserMean {
			out[x] /= float64(n[x])
		}
	}
	return out, mem, nil
}
