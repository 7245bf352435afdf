package metric

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
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
// UserMemberships). A user without records is an error. The user-level ROC of the result answers "how
// exposed are users" as PrivacyGuard's user-level aggregation does; to say which users are exposed,
// compare each user with users of its size (UserPValues), since the aggregate's spread depends on it.
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

// MinUserReference is the fewest non-member users a user's size-calibrated p-value is computed against
// (UserPValues): with m reference users the conservative p-value is at least 1/(m+1), so 19 lets every
// user reach 0.05.
const MinUserReference = 19

// UserPValue is one user's size-calibrated exposure (UserPValues).
type UserPValue struct {
	// P is the randomized p-value Lo + U·(Hi − Lo), U uniform on [0, 1): small is exposed. Under the
	// null it is exactly uniform, whatever the ties, so that users of every size and membership have
	// the same chance to rank first; users are ranked by it.
	P float64
	// Hi is the conservative p-value (1 + #{reference users scoring ≥ this user}) / (1 + Reference):
	// the false-positive rate, among non-member users of this user's size, of naming every user
	// scoring at least as high, the user counted among them. Lo is #{reference users scoring >} /
	// (1 + Reference). Hi − Lo is 1/(1 + Reference) plus the share of references tied with the user.
	Lo, Hi float64
	// Reference is the number of non-member users P compares against (the user itself left out), and
	// MinSize..MaxSize the range of their record counts: MinSize = MaxSize = the user's own size unless
	// that size had fewer than MinUserReference + 1 non-member users and neighbouring sizes were added.
	Reference        int
	MinSize, MaxSize int
}

// UserPValues converts aggregated user scores (AggregateUsers; higher = more likely a member) into
// p-values calibrated for user size: each user is compared with the non-member users of the same number
// of records, sizes[u], on the same target. The randomization draws one uniform per user, in user
// order, from a generator seeded with seed.
//
// Why: the aggregate of n record scores has a distribution that depends on n — the mean of one score
// spreads the most, the max of many is shifted up — so ranking users by the raw aggregate names the
// users whose size makes the aggregate extreme (single-record users under mean, large users under max),
// not the users the model exposes. Of the two attack-agnostic references for a user of n records — the
// aggregates of the non-member users of n records, or aggregates of n record scores resampled from all
// non-member records (a parametric bootstrap by size) — the first is used: the bootstrap assumes a
// user's record scores are independent, and a user's records are not (one person's data is alike, so
// its scores move together, which widens the spread of the mean beyond the bootstrap's and would
// favour large users in its place). The non-member users of the same size have whatever dependence
// real users have, and need no model of the scores.
//
// Why randomized: discrete scores (a label-only attack's 0/1 correctness, a count) tie, and ties make
// the conservative p-value Hi conservative by an amount that depends on the size — the max of six 0/1
// scores is almost always 1, tied with nearly every reference, so Hi ≈ 1, while one record's score of 1
// gets Hi ≈ the share of 1s — and ranking by Hi would again name users for their size. The randomized
// P spreads each user uniformly over its tie (and over the 1/(1 + m) step of the resolution, which
// also puts members and non-members, and sizes with more or fewer references, on an equal footing at
// the top). pmeter's validity harness checks this (TestUserNullHarness; `pmeter validate --users`).
//
// What P guarantees: when the target leaks nothing about this user (its aggregate is exchangeable with
// those of its reference users, as under a membership split drawn at random over users), P is uniform
// on [0, 1): P(P ≤ α) = α, and P(Hi ≤ α) ≤ α (a randomized and a conservative permutation p-value). It
// holds exactly when the reference is the user's own size; when a size has fewer than minRef + 1
// non-member users, the nearest sizes (in ratio of record counts, the smaller first on a tie) are added
// until the group has that many, and the guarantee is then approximate (the mixture of sizes is what it
// was meant to remove, in a smaller measure). A non-member user is left out of its own reference. P is
// per user, not corrected for the number of users: among U users of a target that leaks nothing, α·U
// have P ≤ α on average.
//
// The user-level ROC (Evaluate on the raw aggregates) is unaffected: it compares members and
// non-members as wholes, and under no leakage both have the same mixture of sizes.
func UserPValues(scores []float64, members []bool, sizes []int, minRef int, seed uint64) ([]UserPValue, error) {
	if len(members) != len(scores) || len(sizes) != len(scores) {
		return nil, fmt.Errorf("user p-values: %d scores, %d memberships, %d sizes", len(scores), len(members), len(sizes))
	}
	// Non-member counts per distinct size, sizes ascending.
	count := map[int]int{}
	for u, n := range sizes {
		if n < 1 {
			return nil, fmt.Errorf("user p-values: user %d has %d records", u, n)
		}
		if math.IsNaN(scores[u]) {
			return nil, fmt.Errorf("user p-values: user %d's score is NaN", u)
		}
		if _, ok := count[n]; !ok {
			count[n] = 0
		}
		if !members[u] {
			count[n]++
		}
	}
	distinct := make([]int, 0, len(count))
	for n := range count {
		distinct = append(distinct, n)
	}
	slices.Sort(distinct)
	// Each distinct size's reference group: a range distinct[lo..hi] widened towards the nearer size
	// (in log ratio) until it holds minRef+1 non-member users or every size.
	type group struct {
		lo, hi int
		ref    []float64 // the group's non-member scores, ascending
	}
	groups := make([]*group, len(distinct))
	byRange := map[[2]int]*group{}
	for k, n := range distinct {
		lo, hi, c := k, k, count[n]
		for c < minRef+1 && (lo > 0 || hi < len(distinct)-1) {
			left := lo > 0 && (hi == len(distinct)-1 ||
				math.Log(float64(n)/float64(distinct[lo-1])) <= math.Log(float64(distinct[hi+1])/float64(n)))
			if left {
				lo--
				c += count[distinct[lo]]
			} else {
				hi++
				c += count[distinct[hi]]
			}
		}
		g, ok := byRange[[2]int{lo, hi}]
		if !ok {
			g = &group{lo: lo, hi: hi}
			byRange[[2]int{lo, hi}] = g
		}
		groups[k] = g
	}
	index := make(map[int]int, len(distinct))
	for k, n := range distinct {
		index[n] = k
	}
	bySize := make([][]float64, len(distinct)) // non-member scores per distinct size
	for u, n := range sizes {
		if !members[u] {
			bySize[index[n]] = append(bySize[index[n]], scores[u])
		}
	}
	for _, g := range byRange {
		for k := g.lo; k <= g.hi; k++ {
			g.ref = append(g.ref, bySize[k]...)
		}
		slices.Sort(g.ref)
	}
	rng := rand.New(rand.NewPCG(seed, 0x7573657270)) // "userp"
	out := make([]UserPValue, len(scores))
	for u, n := range sizes {
		g := groups[index[n]]
		s := scores[u]
		// Reference users scoring ≥ s and > s: those from the first position not below s, and above it.
		ge := len(g.ref) - sort.SearchFloat64s(g.ref, s)
		gt := len(g.ref) - sort.Search(len(g.ref), func(i int) bool { return g.ref[i] > s })
		m := len(g.ref)
		if !members[u] { // leave the user itself out: it is one of the ties
			ge--
			m--
		}
		den := float64(1 + m)
		lo, hi := float64(gt)/den, float64(1+ge)/den
		out[u] = UserPValue{P: lo + rng.Float64()*(hi-lo), Lo: lo, Hi: hi, Reference: m, MinSize: distinct[g.lo], MaxSize: distinct[g.hi]}
	}
	return out, nil
}
