package report

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/pmeter/pmeter/internal/parallel"
	"github.com/pmeter/pmeter/metric"
)

// Options configures Build.
type Options struct {
	// TopK is the number of most vulnerable records shown (with their images or feature values) and
	// listed in summary.json; 20 when 0, none when negative.
	TopK int
	// Bootstrap configures the confidence intervals (1000 resamples at 95 % and seed 0 by default).
	Bootstrap metric.BootstrapOptions
	// Alpha is the significance of the ε lower bounds, in (0, 0.5): each holds with confidence 1 - Alpha.
	// It is also the significance of the risk level (see level). 0.05 when 0.
	Alpha float64
	// Delta is the δ of the ε lower bounds, in [0, 1); metric.DefaultEpsilonDelta when 0.
	Delta float64
	// EpsilonSeed draws the split of the audited records into the half that chooses each attack's
	// threshold and the half that bounds ε (metric.HoldoutEpsilon).
	EpsilonSeed uint64
	// RankBy names the attack whose scores rank the records (records.csv risk_rank, the most vulnerable
	// records); the strongest attack (Verdict.StrongestAttack) when empty. The most exposed users follow
	// the same attack (see UsersAggregate).
	RankBy string
	// UsersAggregate names the user aggregate (max, mean, logsumexp) whose most exposed users the page
	// lists, of the ranking attack (Settings.UsersListed); the ranking attack's first aggregate in the
	// input's order (the run's first audit.user_aggregates) when empty.
	UsersAggregate string
}

func (o Options) withDefaults() Options {
	if o.TopK == 0 {
		o.TopK = 20
	}
	if o.TopK < 0 {
		o.TopK = 0
	}
	if o.Alpha == 0 {
		o.Alpha = 0.05
	}
	if o.Delta == 0 {
		o.Delta = metric.DefaultEpsilonDelta
	}
	return o
}

// analysis holds everything computed from an Input: the summary and what the plots and pages need.
type analysis struct {
	in      *Input
	opts    Options
	known   []int  // rows of known membership
	members []bool // memberships of known rows
	attacks []attackAnalysis
	// strongest is the attack with the highest risk level (then member-side ε bound, then AUC), -1 when
	// nothing could be evaluated.
	strongest int
	// riskAlpha is each attack's share of Options.Alpha in the risk level and in the verdict's ε bound:
	// Alpha / number of attacks (Bonferroni), so that the level and the verdict's bound hold over all
	// attacks together.
	riskAlpha float64
	// epsCaveat says why the pooled records allow no DP bound ("" when they allow one).
	epsCaveat string
	ranker    int       // the attack ranking the records
	users     int       // the entry of in.Users whose top users the page lists (listedUsers), -1 without users
	rank      []int     // risk rank per row, 1 = highest ranker score (ties share the smallest rank)
	fpr       []float64 // per row: fraction of non-members scoring >= its ranker score (NaN if none known)
	top       []int     // rows of the most vulnerable records, by rank
	summary   *Summary
}

// attackAnalysis is one attack's evaluation on the known rows.
type attackAnalysis struct {
	evaluated bool
	curve     metric.Curve // on the known rows, intermediate points dropped
	result    metric.Result
	boot      metric.BootstrapResult
	// eps is the ε lower bound at Options.Alpha (metric.HoldoutEpsilon), nil with fewer than 2 members
	// or 2 non-members. family holds, per target, the bound at riskAlpha/targets on that target's
	// records (on all records with one target), of which the verdict quotes the largest; nil where a
	// target lacks 2 members or 2 non-members.
	eps    *metric.EpsilonBound
	family []*metric.EpsilonBound
	// optimistic is TF Privacy's number: the largest Clopper–Pearson bound over every threshold of the
	// same records (metric.EpsilonLowerBoundMax), which is no valid bound.
	optimistic float64
	risk       riskEvidence
}

// riskEvidence holds the statistics behind an attack's risk level (level), each at significance
// riskAlpha/2.
type riskEvidence struct {
	memberEps float64 // member-side holdout ε lower bound at δ = 0
	aucLo     float64 // lower confidence bound of the AUC (metric.AUCLowerBound), NaN when not computable
}

// analyze validates in and computes the analysis.
func analyze(ctx context.Context, in *Input, opts Options) (*analysis, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if !(opts.Alpha > 0 && opts.Alpha < 0.5) {
		return nil, fmt.Errorf("report: alpha %v is not in (0, 0.5)", opts.Alpha)
	}
	if !(opts.Delta > 0 && opts.Delta < 1) {
		return nil, fmt.Errorf("report: delta %v is not in [0, 1)", opts.Delta)
	}
	a := &analysis{in: in, opts: opts, strongest: -1}
	nMem, nNon := 0, 0
	for i, r := range in.Records {
		if r.Member != nil {
			a.known = append(a.known, i)
			a.members = append(a.members, *r.Member)
			if *r.Member {
				nMem++
			} else {
				nNon++
			}
		}
	}
	evaluable := nMem > 0 && nNon > 0
	a.riskAlpha = opts.Alpha / float64(len(in.Attacks))
	a.epsCaveat = in.DPCaveat
	if t := max(in.Targets, 1); t > 1 {
		a.epsCaveat = joinCaveats(fmt.Sprintf("the records of %d target models are pooled, and records shared between "+
			"targets are not independent trials", t), in.DPCaveat)
	}
	a.attacks = make([]attackAnalysis, len(in.Attacks))
	if evaluable {
		// The attacks are evaluated concurrently, one per core: the ε bound is single-threaded.
		if err := parallel.For(ctx, len(in.Attacks), 0, func(ctx context.Context, k int) error { return a.evaluate(ctx, k) }); err != nil {
			return nil, err
		}
	}
	if evaluable {
		a.strongest = 0
		for k := range a.attacks {
			if stronger(a.attacks[k], a.attacks[a.strongest]) {
				a.strongest = k
			}
		}
	}
	a.ranker = max(a.strongest, 0)
	if opts.RankBy != "" {
		k := slices.IndexFunc(in.Attacks, func(at AttackResult) bool { return at.Name == opts.RankBy })
		if k < 0 {
			return nil, fmt.Errorf("report: rank-by attack %q is not among the input's attacks", opts.RankBy)
		}
		a.ranker = k
	}
	var err error
	if a.users, err = listedUsers(in.Users, in.Attacks[a.ranker].Name, opts.UsersAggregate); err != nil {
		return nil, err
	}
	a.rankRecords()
	a.summary = a.summarize()
	a.summary.ReferenceFit = in.ReferenceFit
	a.summary.DPAudits = in.DPAudits
	if in.DP != nil {
		var err error
		if a.summary.DP, err = checkDP(in.DP, a.dpBounds(a.summary), opts.Alpha); err != nil {
			return nil, err
		}
	}
	a.summary.Ranges = in.Ranges
	a.summary.Slices = in.Slices
	a.summary.Users = in.Users
	return a, nil
}

// stronger reports whether attack x beats y: a higher risk level, then a larger member-side ε lower
// bound, then a larger AUC.
func stronger(x, y attackAnalysis) bool {
	if lx, ly := levelRank(x.level()), levelRank(y.level()); lx != ly {
		return lx > ly
	}
	if x.risk.memberEps != y.risk.memberEps {
		return x.risk.memberEps > y.risk.memberEps
	}
	return x.result.AUC > y.result.AUC
}

// joinCaveats joins the non-empty caveats with "; ".
func joinCaveats(cs ...string) string {
	var out []string
	for _, c := range cs {
		if c != "" {
			out = append(out, c)
		}
	}
	return strings.Join(out, "; ")
}

// evaluate computes attack k's ROC, metrics, bootstrap intervals and ε lower bound on the known rows.
func (a *analysis) evaluate(ctx context.Context, k int) error {
	at := &a.in.Attacks[k]
	scores := make([]float64, len(a.known))
	var pos, neg []float64
	for j, i := range a.known {
		scores[j] = at.Scores[i]
		if a.members[j] {
			pos = append(pos, scores[j])
		} else {
			neg = append(neg, scores[j])
		}
	}
	res, err := metric.Evaluate(scores, a.members)
	if err != nil {
		return fmt.Errorf("report: attack %q: %w", at.Name, err)
	}
	boot, err := metric.Bootstrap(ctx, scores, a.members, a.opts.Bootstrap)
	if err != nil {
		return fmt.Errorf("report: attack %q: bootstrap: %w", at.Name, err)
	}
	bound, ok, err := metric.EpsilonLowerBoundMax(pos, neg, a.opts.Alpha, false, nil, metric.ClopperPearsonBound)
	if err != nil {
		return fmt.Errorf("report: attack %q: epsilon lower bound: %w", at.Name, err)
	}
	an := attackAnalysis{
		evaluated: true,
		curve:     metric.ROC(scores, a.members, true),
		result:    res,
		boot:      boot,
	}
	if ok {
		an.optimistic = math.Max(bound, 0) // a bound below 1 on the ratio says nothing about ε
	}
	if an.risk.aucLo, err = metric.AUCLowerBound(scores, a.members, a.riskAlpha/2); err != nil {
		return fmt.Errorf("report: attack %q: %w", at.Name, err)
	}
	if res.Members >= 2 && res.NonMembers >= 2 { // the holdout split needs two of each
		holdout := func(o metric.EpsilonOptions) (*metric.EpsilonBound, error) {
			o.Seed = a.opts.EpsilonSeed
			b, err := metric.HoldoutEpsilon(scores, a.members, o)
			if err != nil {
				return nil, fmt.Errorf("report: attack %q: epsilon lower bound: %w", at.Name, err)
			}
			return &b, nil
		}
		if an.eps, err = holdout(metric.EpsilonOptions{Alpha: a.opts.Alpha, Delta: a.opts.Delta, NotDP: a.epsCaveat}); err != nil {
			return err
		}
		m, err := holdout(metric.EpsilonOptions{Alpha: a.riskAlpha / 2, NoDelta: true, MemberSide: true})
		if err != nil {
			return err
		}
		an.risk.memberEps = m.Value
	}
	ts, tm := a.byTarget(k)
	an.family = make([]*metric.EpsilonBound, len(ts))
	for t := range ts {
		if p, n := count(tm[t]); p >= 2 && n >= 2 {
			b, err := metric.HoldoutEpsilon(ts[t], tm[t], metric.EpsilonOptions{Alpha: a.riskAlpha / float64(len(ts)), Delta: a.opts.Delta,
				Seed: a.opts.EpsilonSeed, NotDP: a.in.DPCaveat})
			if err != nil {
				return fmt.Errorf("report: attack %q, target %d: epsilon lower bound: %w", at.Name, t, err)
			}
			an.family[t] = &b
		}
	}
	a.attacks[k] = an
	return nil
}

// byTarget returns attack k's scores and the memberships of the known rows, per target.
func (a *analysis) byTarget(k int) (scores [][]float64, members [][]bool) {
	at := &a.in.Attacks[k]
	scores = make([][]float64, max(a.in.Targets, 1))
	members = make([][]bool, len(scores))
	for j, i := range a.known {
		t := a.in.Records[i].Target
		scores[t] = append(scores[t], at.Scores[i])
		members[t] = append(members[t], a.members[j])
	}
	return scores, members
}

// count returns the numbers of members and non-members.
func count(members []bool) (p, n int) {
	for _, m := range members {
		if m {
			p++
		} else {
			n++
		}
	}
	return p, n
}

// rankRecords sets the risk ranks, each row's false positive rate and the most vulnerable rows.
func (a *analysis) rankRecords() {
	scores := a.in.Attacks[a.ranker].Scores
	n := len(scores)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	// Descending score; ties keep input order.
	sort.SliceStable(order, func(x, y int) bool { return scores[order[x]] > scores[order[y]] })
	a.rank = make([]int, n)
	for p, i := range order {
		if p > 0 && scores[i] == scores[order[p-1]] {
			a.rank[i] = a.rank[order[p-1]]
		} else {
			a.rank[i] = p + 1
		}
	}
	var neg []float64
	anyMember := false
	for j, i := range a.known {
		if a.members[j] {
			anyMember = true
		} else {
			neg = append(neg, scores[i])
		}
	}
	slices.Sort(neg)
	a.fpr = make([]float64, n)
	for i, s := range scores {
		if len(neg) == 0 {
			a.fpr[i] = math.NaN()
			continue
		}
		lo, _ := slices.BinarySearch(neg, s) // first non-member score >= s
		a.fpr[i] = float64(len(neg)-lo) / float64(len(neg))
	}
	// The most vulnerable records are the top-ranked members; with no member known, the top-ranked rows.
	for _, i := range order {
		if len(a.top) == a.opts.TopK {
			break
		}
		if m := a.in.Records[i].Member; anyMember && (m == nil || !*m) {
			continue
		}
		a.top = append(a.top, i)
	}
}

// summarize builds the Summary.
func (a *analysis) summarize() *Summary {
	in := a.in
	s := &Summary{
		Schema:        SchemaName,
		SchemaVersion: SchemaVersion,
		Title:         in.title(),
		Dataset:       in.Dataset,
		Model:         in.Model,
		Game:          in.Game,
		Targets:       max(in.Targets, 1),
		Params:        in.Params,
	}
	if !in.Created.IsZero() {
		s.Created = in.Created.UTC().Format("2006-01-02T15:04:05Z07:00")
	}
	s.Records.Total = len(in.Records)
	labels := map[int]bool{}
	for _, r := range in.Records {
		switch {
		case r.Member == nil:
			s.Records.Unknown++
		case *r.Member:
			s.Records.Members++
		default:
			s.Records.NonMembers++
		}
		if r.Label >= 0 {
			labels[r.Label] = true
		}
	}
	s.Records.Classes = len(labels)
	s.TargetModel.TrainAccuracy = in.TrainAccuracy
	s.TargetModel.TestAccuracy = in.TestAccuracy
	if in.TrainAccuracy != nil && in.TestAccuracy != nil {
		s.TargetModel.GeneralizationGap = num(*in.TrainAccuracy - *in.TestAccuracy)
	}
	s.TargetModel.Regression = in.Regression
	s.Settings = Settings{
		FPRs:               metric.StandardFPRs(),
		ConfidenceLevel:    cmp.Or(a.opts.Bootstrap.Level, 0.95),
		BootstrapResamples: cmp.Or(a.opts.Bootstrap.Resamples, 1000),
		BootstrapSeed:      a.opts.Bootstrap.Seed,
		EpsilonMethod:      metric.HoldoutMethod,
		EpsilonAlpha:       a.opts.Alpha,
		EpsilonDelta:       a.opts.Delta,
		EpsilonSeed:        a.opts.EpsilonSeed,
		RiskAlpha:          a.riskAlpha,
		RankedBy:           in.Attacks[a.ranker].Name,
		TopK:               a.opts.TopK,
	}
	if a.users >= 0 {
		u := in.Users[a.users]
		s.Settings.UsersListed = &UsersListed{Attack: u.Attack, Aggregate: u.Aggregate}
	}
	for k := range in.Attacks {
		s.Attacks = append(s.Attacks, a.attackSummary(k))
	}
	s.Classes = a.classSummaries()
	for _, i := range a.top {
		r := in.Records[i]
		s.TopRecords = append(s.TopRecords, TopRecord{
			Rank: a.rank[i], Row: i, ID: r.ID, Target: r.Target, Label: r.Label, Class: in.className(r.Label),
			Member: r.Member, Score: Number(in.Attacks[a.ranker].Scores[i]), FPR: num(a.fpr[i]),
		})
	}
	if s.TopRecords == nil {
		s.TopRecords = []TopRecord{}
	}
	a.epsilonVerdict(&s.Verdict)
	s.Verdict = a.verdict(s)
	return s
}

func (a *analysis) attackSummary(k int) AttackSummary {
	at, an := &a.in.Attacks[k], &a.attacks[k]
	out := AttackSummary{Name: at.Name, Description: at.Description, Signal: at.signalName(), Access: at.Access, Risk: RiskEvidence{Level: an.level()}}
	for _, f := range metric.StandardFPRs() {
		out.TPRAtFPR = append(out.TPRAtFPR, TPREstimate{FPR: f})
	}
	if !an.evaluated {
		return out
	}
	out.Risk.Alpha = a.riskAlpha
	out.Risk.MemberEpsilon = num(an.risk.memberEps)
	out.Risk.AUCLower = num(an.risk.aucLo)
	res, boot := an.result, an.boot
	out.Members, out.NonMembers = res.Members, res.NonMembers
	out.AUC = Estimate{Value: num(res.AUC), Lo: num(boot.AUC.Lo), Hi: num(boot.AUC.Hi)}
	out.BalancedAccuracy = Estimate{Value: num(res.BalancedAccuracy), Lo: num(boot.BalancedAccuracy.Lo), Hi: num(boot.BalancedAccuracy.Hi)}
	for j := range out.TPRAtFPR {
		f := out.TPRAtFPR[j].FPR
		if t, ok := res.Entry(f); ok && t.BelowResolution { // not a measurement: no number, no interval
			out.TPRAtFPR[j].BelowResolution = true
			continue
		} else if ok {
			out.TPRAtFPR[j].TPR = num(t.TPR)
		}
		for _, iv := range boot.TPRAtFPR {
			if iv.FPR == f {
				out.TPRAtFPR[j].Lo, out.TPRAtFPR[j].Hi = num(iv.Lo), num(iv.Hi)
			}
		}
	}
	out.EpsilonLowerBound = an.eps
	out.EpsilonOptimistic = num(an.optimistic)
	if max(a.in.Targets, 1) > 1 {
		out.PerTarget = a.perTarget(k)
	}
	return out
}

// perTarget evaluates attack k against each target model separately.
func (a *analysis) perTarget(k int) []TargetSummary {
	scores, members := a.byTarget(k)
	out := make([]TargetSummary, len(scores))
	for t := range out {
		out[t].Target = t
		out[t].Members, out[t].NonMembers = count(members[t])
		res, err := metric.Evaluate(scores[t], members[t])
		if err != nil { // no member or no non-member for this target: leave the metrics null
			continue
		}
		out[t].AUC = num(res.AUC)
		if e, ok := res.Entry(0.01); ok && e.BelowResolution {
			out[t].TPRAt1BelowResolution = true
		} else if ok {
			out[t].TPRAt1 = num(e.TPR)
		}
		if res.Members >= 2 && res.NonMembers >= 2 {
			b, err := metric.HoldoutEpsilon(scores[t], members[t], metric.EpsilonOptions{Alpha: a.opts.Alpha, Delta: a.opts.Delta,
				Seed: a.opts.EpsilonSeed, NotDP: a.in.DPCaveat})
			if err == nil {
				out[t].EpsilonLowerBound = &b
			}
		}
	}
	return out
}

// classSummaries evaluates every attack on each class's records.
func (a *analysis) classSummaries() []ClassSummary {
	rows := map[int][]int{} // label → known rows' positions in a.known
	counts := map[int]int{}
	for _, r := range a.in.Records {
		if r.Label >= 0 {
			counts[r.Label]++
		}
	}
	if len(counts) == 0 {
		return nil
	}
	for j, i := range a.known {
		if l := a.in.Records[i].Label; l >= 0 {
			rows[l] = append(rows[l], j)
		}
	}
	labels := make([]int, 0, len(counts))
	for l := range counts {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	out := make([]ClassSummary, 0, len(labels))
	for _, l := range labels {
		c := ClassSummary{Label: l, Name: a.in.className(l), Records: counts[l], AUC: map[string]*float64{}}
		mem := make([]bool, len(rows[l]))
		for q, j := range rows[l] {
			mem[q] = a.members[j]
			if mem[q] {
				c.Members++
			} else {
				c.NonMembers++
			}
		}
		scores := make([]float64, len(mem))
		for k, at := range a.in.Attacks {
			c.AUC[at.Name] = nil
			if !a.attacks[k].evaluated || c.Members == 0 || c.NonMembers == 0 {
				continue
			}
			for q, j := range rows[l] {
				scores[q] = at.Scores[a.known[j]]
			}
			c.AUC[at.Name] = num(metric.AUC(metric.ROC(scores, mem, true)))
		}
		out = append(out, c)
	}
	return out
}
