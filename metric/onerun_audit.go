package metric

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
)

// The methods of one-run audits, as EpsilonBound.Method names them.
const (
	// OneRunMethod: OneRunBound and OneRunAudit with StatSteinke.
	OneRunMethod = "one-run-steinke"
	// FDPMethod: OneRunBound and OneRunAudit with StatFDP (Gaussian-DP family).
	FDPMethod = "one-run-fdp-gaussian"
	// FDPApproxMethod: OneRunBound and OneRunAudit with StatFDPApprox ((ε, δ)-DP trade-off functions).
	FDPApproxMethod = "one-run-fdp-approx"
)

// OneRunStat selects the statistic of a one-run audit.
type OneRunStat string

const (
	// StatSteinke is the audit of Steinke, Nasr & Jagielski 2023 (OneRunPValue): a bound on the ε of
	// (ε, δ)-DP that holds for every mechanism.
	StatSteinke OneRunStat = "steinke"
	// StatFDP is the f-DP audit of Mahloujifar, Melis & Chaudhuri 2024 with the Gaussian-DP family
	// (FDPMu): tighter, but its ε holds only within that family, and not at δ = 0.
	StatFDP OneRunStat = "fdp"
	// StatFDPApprox is the same f-DP audit with the trade-off functions of (ε, δ)-DP themselves
	// (ApproxDPEpsilon): a bound on the ε of (ε, δ)-DP that holds for every mechanism, as StatSteinke's;
	// about as tight as StatSteinke at δ = 0, tighter when 2·m·δ is not small (Steinke's δ term grows with
	// the canaries m).
	StatFDPApprox OneRunStat = "fdp-approx"
)

// ParseOneRunStat parses "steinke", "fdp" or "fdp-approx" ("" is steinke).
func ParseOneRunStat(s string) (OneRunStat, error) {
	switch st := OneRunStat(s); st {
	case "":
		return StatSteinke, nil
	case StatSteinke, StatFDP, StatFDPApprox:
		return st, nil
	}
	return "", fmt.Errorf("one-run statistic %q; want %q, %q or %q", s, StatSteinke, StatFDP, StatFDPApprox)
}

// GuessCounts are the counts behind a one-run bound (EpsilonBound.Guesses).
type GuessCounts struct {
	// Canaries is m, the canaries the bound counts: with a selection split, those of the evaluation part.
	Canaries int `json:"canaries"`
	// Guesses is the number of membership guesses made, KPlus + KMinus (the others abstain); Correct of
	// them were right.
	Guesses int `json:"guesses"`
	Correct int `json:"correct"`
	// KPlus canaries with the highest scores were guessed members and KMinus with the lowest non-members
	// (absent when 0, and when the counts were given directly).
	KPlus  int `json:"k_plus,omitempty"`
	KMinus int `json:"k_minus,omitempty"`
	// GDPMu (StatFDP) is the μ lower bound: the audit rejects μ-GDP for every μ up to it.
	GDPMu float64 `json:"gdp_mu,omitempty"`
}

// OneRunOptions configures OneRunBound and OneRunAudit.
type OneRunOptions struct {
	// Stat is the statistic; StatSteinke when "".
	Stat OneRunStat
	// Alpha is the significance, in (0, 1); 0.05 when 0.
	Alpha float64
	// Delta is δ, in [0, 1); DefaultEpsilonDelta when 0. Set NoDelta for δ = 0 (StatSteinke only).
	Delta   float64
	NoDelta bool
	// KPlus and KMinus fix the guesses of OneRunAudit before the scores are seen: the KPlus canaries with
	// the highest scores are guessed members, the KMinus with the lowest non-members, and the rest
	// abstain. Ties are broken at random (Seed), never by input order, which may follow membership.
	KPlus, KMinus int
	// SelectFraction, instead of KPlus and KMinus, chooses them on a random part of the canaries: that
	// fraction of them (Seed), in (0, 1), is used only to pick the fractions of guesses that give the
	// best bound there, and the bound counts only the other canaries, guessed with the same fractions.
	SelectFraction float64
	// Seed draws the selection split and breaks ties between scores.
	Seed uint64
	// NotDP, when not empty, says why the canaries' memberships do not allow a DP bound (they were not
	// drawn independently with probability ½); the result then has DPBound false and this Caveat.
	NotDP string
}

// oneRunConfig is OneRunOptions resolved and checked.
type oneRunConfig struct {
	stat         OneRunStat
	alpha, delta float64
}

func (o OneRunOptions) resolve() (oneRunConfig, error) {
	c := oneRunConfig{alpha: o.Alpha, delta: o.Delta}
	var err error
	if c.stat, err = ParseOneRunStat(string(o.Stat)); err != nil {
		return c, err
	}
	if c.alpha == 0 {
		c.alpha = 0.05
	}
	if c.delta == 0 && !o.NoDelta {
		c.delta = DefaultEpsilonDelta
	}
	switch {
	case !(c.alpha > 0 && c.alpha < 1):
		return c, fmt.Errorf("alpha %v is not in (0, 1)", o.Alpha)
	case !(c.delta >= 0 && c.delta < 1):
		return c, fmt.Errorf("delta %v is not in [0, 1)", o.Delta)
	case c.stat == StatFDP && c.delta == 0:
		return c, errFDPDeltaZero
	}
	return c, nil
}

// value returns the bound of guesses with correct right on m canaries, and the μ bound for StatFDP;
// tol is the relative precision of the μ (and StatFDPApprox's ε) search.
func (c oneRunConfig) value(m, guesses, correct int, tol float64) (eps, mu float64) {
	switch c.stat {
	case StatFDP:
		mu = fdpMu(m, guesses, correct, c.alpha, tol)
		return fdpEpsilon(mu, c.delta), mu
	case StatFDPApprox:
		return approxDPEpsilon(m, guesses, correct, c.delta, c.alpha, tol), 0
	}
	return OneRunEpsilon(m, guesses, correct, c.delta, c.alpha), 0
}

func (c oneRunConfig) method() string {
	switch c.stat {
	case StatFDP:
		return FDPMethod
	case StatFDPApprox:
		return FDPApproxMethod
	}
	return OneRunMethod
}

// Method returns the method name of the bounds that o's statistic gives (OneRunMethod, FDPMethod or
// FDPApproxMethod), or the error of an unknown statistic.
func (o OneRunOptions) Method() (string, error) {
	st, err := ParseOneRunStat(string(o.Stat))
	if err != nil {
		return "", err
	}
	return oneRunConfig{stat: st}.method(), nil
}

// StatOf returns the statistic of a one-run bound's method (OneRunMethod, FDPMethod or FDPApproxMethod),
// so that a bound can be restated from its counts at another significance; false for other methods.
func StatOf(method string) (OneRunStat, bool) {
	switch method {
	case OneRunMethod:
		return StatSteinke, true
	case FDPMethod:
		return StatFDP, true
	case FDPApproxMethod:
		return StatFDPApprox, true
	}
	return "", false
}

// OneRunBound returns the ε lower bound of a one-run audit from its counts: of guesses membership guesses
// on m canaries, correct were right (KPlus, KMinus and SelectFraction of opt do not apply).
//
// With StatSteinke it is OneRunEpsilon (Steinke, Nasr & Jagielski 2023, Theorem 3.1): the ε at which
// the probability of correct or more right guesses under (ε, δ)-DP reaches alpha, to within 1e-5 from
// below. With StatFDP it is the ε at δ of FDPMu's μ (Mahloujifar, Melis & Chaudhuri 2024), which holds
// within the Gaussian-DP family only (the result's Caveat says so) and is refused at δ = 0, where every
// μ > 0 gives ε = ∞. With StatFDPApprox it is ApproxDPEpsilon: the same audit with the (ε, δ)-DP
// trade-off functions, a bound for every mechanism like StatSteinke's. All are 0 when the guesses show
// no evidence (no correct guess, or no more than chance gives).
//
// Preconditions, written into the result's Guarantee: the m canaries were each included in the training
// set independently with probability ½ and the rest of the training set fixed (attack.DesignBernoulli;
// else set opt.NotDP); the guesses depend on the trained model, not on the memberships; and the number
// of guesses was fixed before they were made, not chosen after seeing how many come out right (use
// OneRunAudit with KPlus and KMinus, or SelectFraction). Privacy Meter's search over guess counts on
// the same canaries (AbstainAudit) breaks the last.
//
// Errors: counts out of range (0 ≤ correct ≤ guesses ≤ m, m > 0), alpha or delta out of range, StatFDP
// at δ = 0.
func OneRunBound(m, guesses, correct int, opt OneRunOptions) (EpsilonBound, error) {
	c, err := opt.resolve()
	if err != nil {
		return EpsilonBound{}, fmt.Errorf("one-run audit: %w", err)
	}
	if err := checkGuessCounts(m, guesses, correct); err != nil {
		return EpsilonBound{}, fmt.Errorf("one-run audit: %w", err)
	}
	b := c.bound(opt.NotDP)
	b.Value, b.Guesses.GDPMu = c.value(m, guesses, correct, 1e-10)
	b.Guesses.Canaries, b.Guesses.Guesses, b.Guesses.Correct = m, guesses, correct
	b.Guarantee = oneRunGuarantee(b)
	return b, nil
}

// bound returns an EpsilonBound with c's settings and no counts.
func (c oneRunConfig) bound(notDP string) EpsilonBound {
	b := EpsilonBound{Alpha: c.alpha, Delta: c.delta, Method: c.method(), DPBound: notDP == "", Caveat: notDP,
		TPRLower: 0, FPRUpper: 1, Guesses: &GuessCounts{}}
	if c.stat == StatFDP {
		if b.Caveat == "" {
			b.Caveat = gdpFamilyCaveat
		} else {
			b.Caveat += "; and " + gdpFamilyCaveat
		}
	}
	return b
}

// OneRunAudit runs a one-run audit on attack scores (higher = more likely a member) of m canaries and
// whether each was included in the training set, and returns its ε lower bound (OneRunBound on the
// counts, with the same statistic and preconditions).
//
// The guesses are fixed before the scores are seen: the opt.KPlus highest-scoring canaries are guessed
// members and the opt.KMinus lowest non-members, the rest abstain. Or, with opt.SelectFraction, the
// canaries are split at random (opt.Seed, independently of the memberships); on the selection part the
// fractions (KPlus/m, KMinus/m), each one of 0, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 40 or 50 %, that give
// the best bound there are chosen, and the bound is that of the same fractions of the other, evaluation,
// part alone; the selection canaries count as part of the fixed training set. The choice never sees
// the evaluation canaries' memberships, but it does see the model, so the number of guesses on the
// evaluation part depends on the model. At δ = 0 that costs no confidence for StatSteinke: Steinke et
// al.'s argument holds conditionally on the model (given it and the other canaries' memberships, each
// guessed canary's is right with probability at most e^ε/(1 + e^ε)), so any number of guesses that
// the model determines is covered. At δ > 0, and for StatFDP, the papers state their theorems for a
// number of guesses fixed in advance; the selection rests on the same argument, and the soundness
// harness (TestAuditSoundness) finds no excess, but a guarantee that rests on the theorems alone needs
// KPlus and KMinus. Ties between scores are broken at random (opt.Seed).
//
// The result's TP and FP count the guessed members that were and were not included, EvalMembers and
// EvalNonMembers the included and excluded canaries the bound counts, SelectionRecords the selection
// part, and Guesses the counts and the chosen KPlus and KMinus.
//
// Errors: lengths that differ, a NaN score, KPlus or KMinus negative or summing to more than the
// canaries, no guesses at all, SelectFraction outside [0, 1) or set together with KPlus or KMinus, a
// split that leaves a part empty, alpha or delta out of range, StatFDP at δ = 0.
func OneRunAudit(scores []float64, included []bool, opt OneRunOptions) (EpsilonBound, error) {
	c, err := opt.resolve()
	if err != nil {
		return EpsilonBound{}, fmt.Errorf("one-run audit: %w", err)
	}
	n := len(scores)
	switch {
	case len(included) != n:
		return EpsilonBound{}, fmt.Errorf("one-run audit: %d scores but %d inclusions", n, len(included))
	case n == 0:
		return EpsilonBound{}, errors.New("one-run audit: no canaries")
	case opt.KPlus < 0 || opt.KMinus < 0:
		return EpsilonBound{}, fmt.Errorf("one-run audit: k+ %d and k− %d; want counts ≥ 0", opt.KPlus, opt.KMinus)
	case !(opt.SelectFraction >= 0 && opt.SelectFraction < 1):
		return EpsilonBound{}, fmt.Errorf("one-run audit: selection fraction %v is not in (0, 1)", opt.SelectFraction)
	case opt.SelectFraction > 0 && opt.KPlus+opt.KMinus > 0:
		return EpsilonBound{}, errors.New("one-run audit: give either k+ and k− or a selection fraction, not both")
	case opt.SelectFraction == 0 && opt.KPlus+opt.KMinus == 0:
		return EpsilonBound{}, errors.New("one-run audit: no guesses: set k+ or k− (fixed before the scores are seen), or a selection fraction")
	case opt.KPlus+opt.KMinus > n:
		return EpsilonBound{}, fmt.Errorf("one-run audit: k+ %d + k− %d guesses exceed the %d canaries", opt.KPlus, opt.KMinus, n)
	}
	if i := slices.IndexFunc(scores, math.IsNaN); i >= 0 {
		return EpsilonBound{}, fmt.Errorf("one-run audit: score %d is NaN", i)
	}
	perm := rand.New(rand.NewPCG(opt.Seed, 0x6f6e6572756e)).Perm(n) // "onerun"
	b := c.bound(opt.NotDP)
	eval := perm
	kPlus, kMinus := opt.KPlus, opt.KMinus
	if opt.SelectFraction > 0 {
		nSel := int(math.Round(opt.SelectFraction * float64(n)))
		if nSel < 1 || nSel >= n {
			return EpsilonBound{}, fmt.Errorf("one-run audit: a selection fraction of %v leaves %d of %d canaries for selection and %d for the bound; want at least 1 in each", opt.SelectFraction, nSel, n, n-nSel)
		}
		var fp, fm float64
		fp, fm = c.selectFractions(scores, included, perm[:nSel])
		eval = perm[nSel:]
		b.SelectionRecords = nSel
		kPlus, kMinus = int(math.Round(fp*float64(len(eval)))), int(math.Round(fm*float64(len(eval))))
	}
	g := countGuesses(scores, included, rankAscending(scores, eval), kPlus, kMinus)
	for _, i := range eval {
		if included[i] {
			b.EvalMembers++
		} else {
			b.EvalNonMembers++
		}
	}
	b.TP, b.FP = g.tp, kPlus-g.tp
	b.Guesses.Canaries, b.Guesses.Guesses, b.Guesses.Correct = len(eval), kPlus+kMinus, g.correct
	b.Guesses.KPlus, b.Guesses.KMinus = kPlus, kMinus
	b.Value, b.Guesses.GDPMu = c.value(len(eval), kPlus+kMinus, g.correct, 1e-10)
	b.Guarantee = oneRunGuarantee(b)
	return b, nil
}

// selectionFractions are the fractions of guesses (members or non-members) that OneRunAudit tries on
// its selection part.
var selectionFractions = []float64{0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5}

// selectFractions returns the fractions (of members guessed, of non-members guessed) that give the
// best bound on the canaries sel: the first best in the order of selectionFractions, members outer.
func (c oneRunConfig) selectFractions(scores []float64, included []bool, sel []int) (fPlus, fMinus float64) {
	order := rankAscending(scores, sel)
	n := float64(len(sel))
	type cand struct {
		fp, fm        float64
		kPlus, kMinus int
		value         float64
	}
	var cs []cand
	seen := map[[2]int]bool{}
	for _, fp := range selectionFractions {
		for _, fm := range selectionFractions {
			kp, km := int(math.Round(fp*n)), int(math.Round(fm*n))
			if kp+km == 0 || kp+km > len(sel) || seen[[2]int{kp, km}] {
				continue
			}
			seen[[2]int{kp, km}] = true
			cs = append(cs, cand{fp: fp, fm: fm, kPlus: kp, kMinus: km})
		}
	}
	if len(cs) == 0 { // one canary: guess it a member
		return 1, 0
	}
	parallelFor(len(cs), func(i int) {
		x := &cs[i]
		g := countGuesses(scores, included, order, x.kPlus, x.kMinus)
		x.value, _ = c.value(len(sel), x.kPlus+x.kMinus, g.correct, 1e-4)
	})
	best := slices.MaxFunc(cs, func(a, b cand) int { return cmp.Compare(a.value, b.value) }) // the first maximum
	return best.fp, best.fm
}

// rankAscending returns idx ordered by ascending score, ties in the order of idx (which the callers
// draw at random).
func rankAscending(scores []float64, idx []int) []int {
	order := slices.Clone(idx)
	slices.SortStableFunc(order, func(a, b int) int { return cmpScore(scores[a], scores[b]) })
	return order
}

// guessCount is the outcome of the guesses on ranked canaries.
type guessCount struct {
	correct int // right guesses of either kind
	tp      int // included canaries among those guessed members
}

// countGuesses guesses the kPlus last (highest) canaries of order members and the kMinus first
// non-members (kPlus + kMinus ≤ len(order)).
func countGuesses(scores []float64, included []bool, order []int, kPlus, kMinus int) guessCount {
	var g guessCount
	for _, i := range order[len(order)-kPlus:] {
		if included[i] {
			g.tp++
		}
	}
	g.correct = g.tp
	for _, i := range order[:kMinus] {
		if !included[i] {
			g.correct++
		}
	}
	return g
}

// oneRunGuarantee says what a one-run bound guarantees.
func oneRunGuarantee(b EpsilonBound) string {
	conf := strconv.FormatFloat(100*(1-b.Alpha), 'g', 4, 64) + "%"
	g := b.Guesses
	counts := fmt.Sprintf("%d of %d membership guesses on %d canaries were right", g.Correct, g.Guesses, g.Canaries)
	if b.SelectionRecords > 0 {
		counts += fmt.Sprintf(" (the numbers of guesses chosen on %d other canaries)", b.SelectionRecords)
	}
	dp := "(ε, δ=" + FormatDelta(b.Delta) + ")-differentially private"
	var s string
	switch {
	case b.Method == FDPMethod && b.Value > 0:
		s = fmt.Sprintf("Within the Gaussian-DP family, with %s confidence: %s, which rules out μ-GDP for every μ up to %.4g "+
			"(Mahloujifar, Melis & Chaudhuri 2024); so if training is μ-GDP for some μ, it is not %s for any ε below %.4g. "+
			"For a mechanism whose privacy curve is not Gaussian this is no bound on ε; the steinke statistic gives one.",
			conf, counts, g.GDPMu, dp, b.Value)
	case b.Method == FDPMethod:
		s = fmt.Sprintf("No evidence against μ-GDP training for any μ > 0 at %s confidence: %s, no more than a perfectly "+
			"private mechanism makes likely. This is not evidence of privacy; a stronger attack or more canaries may find some.", conf, counts)
	case b.Method == FDPApproxMethod && b.Value > 0:
		s = fmt.Sprintf("With %s confidence, the training algorithm is not %s for any ε below %.4g: %s, each canary included "+
			"independently with probability ½, which every such mechanism (f-DP with the trade-off function of (ε, δ)-DP) makes less "+
			"likely than %g (Mahloujifar, Melis & Chaudhuri 2024, with that trade-off function). This holds whatever the shape of the "+
			"mechanism's privacy curve.", conf, dp, b.Value, counts, b.Alpha)
	case b.Value > 0:
		s = fmt.Sprintf("With %s confidence, the training algorithm is not %s for any ε below %.4g: %s, each canary included "+
			"independently with probability ½, which such a guarantee makes less likely than %g (Steinke, Nasr & Jagielski 2023).",
			conf, dp, b.Value, counts, b.Alpha)
	default:
		s = fmt.Sprintf("No evidence against %s training at %s confidence for any ε ≥ 0: %s. This is not evidence of "+
			"privacy; a stronger attack or more canaries may find some.", dp, conf, counts)
	}
	if !b.DPBound {
		return "Not a DP bound: " + b.Caveat + ". " + s
	}
	return s
}
