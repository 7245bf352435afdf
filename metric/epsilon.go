package metric

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// DefaultEpsilonDelta is the δ at which pmeter states ε lower bounds unless told otherwise: 1e-5, the δ
// of most published DP-SGD guarantees, so that a bound can be set against a claimed (ε, 1e-5).
const DefaultEpsilonDelta = 1e-5

// HoldoutMethod names the method of HoldoutEpsilon in EpsilonBound.Method.
const HoldoutMethod = "clopper-pearson-holdout"

// EpsilonBound is an empirical lower bound on the ε of differential privacy, in the form pmeter reports
// everywhere it states one (run summaries, report/summary.json, `pmeter attack`'s metrics.json, as
// "epsilon_lower_bound").
type EpsilonBound struct {
	// Value is the bound, ≥ 0; 0 means that the audit gives no evidence against (ε, δ)-DP for any ε ≥ 0.
	Value float64 `json:"value"`
	// Alpha is the significance: the bound holds with probability at least 1 − Alpha.
	Alpha float64 `json:"alpha"`
	// Delta is the δ of the (ε, δ)-DP statement the bound refutes.
	Delta float64 `json:"delta"`
	// Method names how the bound was computed (HoldoutMethod, MultiRunMethod, OneRunMethod, FDPMethod, or a
	// compat method: AbstainMaxMethod, PrivacyGuardFDPMethod).
	Method string `json:"method"`
	// DPBound reports whether Value bounds the ε of the training algorithm: it holds only when the
	// memberships of the audited records were drawn independently of each other and the attack's reference
	// models independently of the target (attack.CheckDPDesign). When false, Caveat says why, and Value is
	// only a measure of how well the attack separates the audited records.
	DPBound bool `json:"dp_bound"`
	// Caveat says why DPBound is false, or, when it is true, what else the bound rests on (the f-DP
	// audit's: the Gaussian-DP family).
	Caveat string `json:"caveat,omitempty"`
	// Guarantee says in words what Value guarantees.
	Guarantee string `json:"guarantee"`

	// The test behind Value: records scoring at least Threshold are called members. The threshold was
	// chosen on SelectionRecords records; TP of EvalMembers members and FP of EvalNonMembers non-members
	// of the other records score at least Threshold, and TPRLower and FPRUpper are their one-sided
	// Clopper–Pearson bounds at Alpha/2 each. Threshold is absent when no threshold was found (for
	// example when the selection half has no members).
	Threshold        *float64 `json:"threshold,omitempty"`
	SelectionRecords int      `json:"selection_records"`
	EvalMembers      int      `json:"eval_members"`
	EvalNonMembers   int      `json:"eval_non_members"`
	TP               int      `json:"tp"`
	FP               int      `json:"fp"`
	TPRLower         float64  `json:"tpr_lower"`
	FPRUpper         float64  `json:"fpr_upper"`

	// Guesses holds the counts of a one-run audit (OneRunBound, OneRunAudit, AbstainResult.Bound,
	// PrivacyGuardFDP); nil for the other methods. There TP and FP count the guessed members that were and
	// were not included, and TPRLower and FPRUpper are 0 and 1 (no rates are bounded).
	Guesses *GuessCounts `json:"guesses,omitempty"`
}

// EpsilonOptions configures HoldoutEpsilon.
type EpsilonOptions struct {
	// Alpha is the significance, in (0, 1); 0.05 when 0.
	Alpha float64
	// Delta is δ, in [0, 1); DefaultEpsilonDelta when 0. Set NoDelta for δ = 0 (pure DP).
	Delta   float64
	NoDelta bool
	// Seed draws the split of the records into the selection and the evaluation half.
	Seed uint64
	// NotDP, when not empty, says why the records' memberships do not allow a DP bound; the result then
	// has DPBound false and this Caveat.
	NotDP string
	// MemberSide restricts the bound to the evidence of flagging members, the first inequality below
	// (TPR ≤ e^ε·FPR + δ): at its threshold the attack flags members at least e^Value times as often as
	// non-members (less δ). The report's risk level rests on it.
	MemberSide bool
}

// HoldoutEpsilon returns a lower bound on ε from membership-inference scores (higher = more likely a
// member) and the true memberships, valid at the stated confidence.
//
// Differential privacy bounds every test that tells a record's presence from its absence: if training is
// (ε, δ)-DP, any rule that calls records with a score of at least τ members has
//
//	TPR ≤ e^ε·FPR + δ   and   1 − FPR ≤ e^ε·(1 − TPR) + δ
//
// (Kairouz, Oh & Viswanath 2015), so ε ≥ ln((TPR − δ)/FPR) and ε ≥ ln((1 − FPR − δ)/(1 − TPR)). The
// records are split at random (seeded, stratified by membership) into two halves. On the selection half,
// τ is chosen to maximise the bound below; on the other, evaluation, half the one-sided Clopper–Pearson
// bounds TPR ≥ TPRLower and FPR ≤ FPRUpper hold together with probability ≥ 1 − α (α/2 each), and
//
//	Value = max(0, ln((TPRLower − δ)/FPRUpper), ln((1 − FPRUpper − δ)/(1 − TPRLower))),
//
// or only the first term with opt.MemberSide.
//
// Because τ is chosen without looking at the evaluation half, the search over thresholds does not void
// the confidence level, as the maximum over thresholds on the same records (EpsilonLowerBoundMax, TF
// Privacy's epsilon_lower_bound) does. The bound treats the evaluation records as independent trials: it
// bounds the training algorithm's ε when their memberships were drawn independently and the scores use
// no reference model whose membership depends on the target's (opt.NotDP empty). Under a target that
// leaks nothing, Value > 0 with probability at most α.
//
// Errors: lengths that differ, a NaN score, fewer than 2 members or 2 non-members, α or δ out of range.
func HoldoutEpsilon(scores []float64, members []bool, opt EpsilonOptions) (EpsilonBound, error) {
	alpha, delta := opt.Alpha, opt.Delta
	if alpha == 0 {
		alpha = 0.05
	}
	if delta == 0 && !opt.NoDelta {
		delta = DefaultEpsilonDelta
	}
	if !(alpha > 0 && alpha < 1) {
		return EpsilonBound{}, fmt.Errorf("epsilon bound: alpha %v is not in (0, 1)", opt.Alpha)
	}
	if !(delta >= 0 && delta < 1) {
		return EpsilonBound{}, fmt.Errorf("epsilon bound: delta %v is not in [0, 1)", opt.Delta)
	}
	np, err := validate(scores, members)
	if err != nil {
		return EpsilonBound{}, fmt.Errorf("epsilon bound: %w", err)
	}
	if np < 2 || len(scores)-np < 2 {
		return EpsilonBound{}, errors.New("epsilon bound: the holdout split needs at least 2 members and 2 non-members")
	}
	b := EpsilonBound{Alpha: alpha, Delta: delta, Method: HoldoutMethod, DPBound: opt.NotDP == "", Caveat: opt.NotDP}
	sel, eval := holdoutSplit(members, opt.Seed)
	b.SelectionRecords = len(sel)

	// Choose τ on the selection half.
	ss, sm := gather(scores, members, sel)
	bound := dpBound
	if opt.MemberSide {
		bound = memberBound
	}
	tau, ok := bestThreshold(ss, sm, alpha, delta, bound)
	es, em := gather(scores, members, eval)
	for _, m := range em {
		if m {
			b.EvalMembers++
		} else {
			b.EvalNonMembers++
		}
	}
	b.TPRLower, b.FPRUpper = 0, 1
	if ok {
		b.Threshold = &tau
		for k, s := range es {
			if s >= tau {
				if em[k] {
					b.TP++
				} else {
					b.FP++
				}
			}
		}
		b.TPRLower, _ = ClopperPearson(b.TP, b.EvalMembers, alpha)
		_, b.FPRUpper = ClopperPearson(b.FP, b.EvalNonMembers, alpha)
		b.Value = max(0, bound(b.TPRLower, b.FPRUpper, delta))
	}
	b.Guarantee = epsilonGuarantee(b)
	return b, nil
}

// RatesBound returns the ε lower bound that (ε, δ)-DP sets on a membership test whose TPR is at least
// tprLower and whose FPR is at most fprUpper: max(0, ln((tprLower − δ)/fprUpper), ln((1 − fprUpper − δ)/(1 −
// tprLower))), the Value of HoldoutEpsilon and MultiRunEpsilon from their Clopper–Pearson bounds. With
// the counts of such a bound (TP of EvalMembers, FP of EvalNonMembers) it restates the bound at another
// significance: the threshold was chosen without the evaluation records, so any Clopper–Pearson level
// on them is valid.
func RatesBound(tprLower, fprUpper, delta float64) float64 {
	return max(0, dpBound(tprLower, fprUpper, delta))
}

// dpBound is max(ln((tpr − δ)/fpr), ln((1 − fpr − δ)/(1 − tpr))), −Inf when neither is defined.
func dpBound(tpr, fpr, delta float64) float64 {
	v := memberBound(tpr, fpr, delta)
	if 1-fpr-delta > 0 {
		v = max(v, math.Log((1-fpr-delta)/(1-tpr)))
	}
	return v
}

// memberBound is ln((tpr − δ)/fpr), −Inf when tpr ≤ δ: the bound from flagging members alone.
func memberBound(tpr, fpr, delta float64) float64 {
	if tpr-delta > 0 {
		return math.Log((tpr - delta) / fpr) // +Inf when fpr is 0, which a Clopper–Pearson upper bound never is
	}
	return math.Inf(-1)
}

// bestThreshold returns the score threshold that maximises bound (dpBound or memberBound) of the
// Clopper–Pearson bounds on the records (scores, members), trying the corners of their ROC curve in
// order of their plug-in estimate and stopping once no estimate can beat the best bound (bound grows
// with tpr and falls with fpr, and a Clopper–Pearson lower bound never exceeds its plug-in estimate, nor
// an upper bound falls below it). ok is false when the records lack members or non-members.
func bestThreshold(scores []float64, members []bool, alpha, delta float64, bound func(tpr, fpr, delta float64) float64) (tau float64, ok bool) {
	P, N := 0, 0
	for _, m := range members {
		if m {
			P++
		} else {
			N++
		}
	}
	if P == 0 || N == 0 {
		return 0, false
	}
	c := ROC(scores, members, true)
	type cand struct {
		tp, fp int
		tau    float64
		est    float64
	}
	var cs []cand
	for k := 1; k < c.Len(); k++ { // point 0 is the empty rule
		tp, fp := int(math.Round(c.TPR[k]*float64(P))), int(math.Round(c.FPR[k]*float64(N)))
		est := bound(float64(tp)/float64(P), float64(fp)/float64(N), delta)
		cs = append(cs, cand{tp, fp, c.Thresholds[k], est})
	}
	slices.SortStableFunc(cs, func(a, b cand) int { return cmp.Compare(b.est, a.est) })
	best := math.Inf(-1)
	for _, x := range cs {
		if x.est <= best {
			break
		}
		lo, _ := ClopperPearson(x.tp, P, alpha)
		_, hi := ClopperPearson(x.fp, N, alpha)
		if v := bound(lo, hi, delta); v > best {
			best, tau, ok = v, x.tau, true
		}
	}
	if !ok && len(cs) > 0 { // no corner gives a finite bound: any threshold will do; take the strictest
		return c.Thresholds[1], true
	}
	return tau, ok
}

// holdoutSplit splits the records into two halves, each holding half of the members and half of the
// non-members (the odd one out going to the evaluation half), by a permutation drawn from seed.
func holdoutSplit(members []bool, seed uint64) (sel, eval []int) {
	var in, out []int
	for i, m := range members {
		if m {
			in = append(in, i)
		} else {
			out = append(out, i)
		}
	}
	r := rand.New(rand.NewPCG(seed, 0x65707369_6c6f6e)) // "epsilon"
	for _, g := range [][]int{in, out} {
		r.Shuffle(len(g), func(a, b int) { g[a], g[b] = g[b], g[a] })
		sel = append(sel, g[:len(g)/2]...)
		eval = append(eval, g[len(g)/2:]...)
	}
	slices.Sort(sel)
	slices.Sort(eval)
	return sel, eval
}

func gather(scores []float64, members []bool, idx []int) ([]float64, []bool) {
	s, m := make([]float64, len(idx)), make([]bool, len(idx))
	for k, i := range idx {
		s[k], m[k] = scores[i], members[i]
	}
	return s, m
}

// epsilonGuarantee says what b guarantees, in one or two sentences.
func epsilonGuarantee(b EpsilonBound) string {
	conf := strconv.FormatFloat(100*(1-b.Alpha), 'g', 4, 64) + "%"
	dp := "(ε, δ=" + FormatDelta(b.Delta) + ")-differentially private"
	if !b.DPBound {
		if b.Value == 0 {
			return fmt.Sprintf("Not a DP bound: %s. Nor does the attack separate the held-out audited records' members "+
				"from their non-members measurably (%s confidence).", b.Caveat, conf)
		}
		return fmt.Sprintf("Not a DP bound: %s. On the audited records alone, with %s confidence, the attack separates "+
			"held-out members from non-members more than an %s mechanism could for any ε below %.4g; this says "+
			"nothing about the training algorithm's ε.", b.Caveat, conf, dp, b.Value)
	}
	if b.Value == 0 {
		return fmt.Sprintf("No evidence against %s training at %s confidence: the audit rules out no ε ≥ 0. "+
			"This is not evidence of privacy; a stronger attack may find some.", dp, conf)
	}
	return fmt.Sprintf("With %s confidence, the training algorithm is not %s for any ε below %.4g: an attack "+
		"threshold chosen on half of the audited records separates the other half's members from its "+
		"non-members better than such a guarantee allows.", conf, dp, b.Value)
}

// FormatDelta formats δ for the text of a bound: 1e-05 → "1e-5", 0 → "0".
func FormatDelta(delta float64) string {
	s := strconv.FormatFloat(delta, 'g', -1, 64)
	if i := strings.Index(s, "e-0"); i >= 0 {
		s = s[:i] + "e-" + s[i+3:]
	}
	return s
}

// MarshalJSON encodes b, with an infinite Threshold (scores may be ±Inf) as the string "inf" or "-inf",
// which JSON numbers cannot hold.
func (b EpsilonBound) MarshalJSON() ([]byte, error) {
	type plain EpsilonBound
	var th any
	switch t := b.Threshold; {
	case t == nil:
	case math.IsInf(*t, 1):
		th = "inf"
	case math.IsInf(*t, -1):
		th = "-inf"
	default:
		th = *t
	}
	return json.Marshal(struct {
		plain
		Threshold any `json:"threshold,omitempty"`
	}{plain(b), th})
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (b *EpsilonBound) UnmarshalJSON(data []byte) error {
	type plain EpsilonBound
	v := struct {
		*plain
		Threshold json.RawMessage `json:"threshold,omitempty"`
	}{plain: (*plain)(b)}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	b.Threshold = nil
	if len(v.Threshold) == 0 || string(v.Threshold) == "null" {
		return nil
	}
	var t float64
	var s string
	switch {
	case json.Unmarshal(v.Threshold, &t) == nil:
	case json.Unmarshal(v.Threshold, &s) == nil && (s == "inf" || s == "-inf"):
		t = math.Inf(1)
		if s == "-inf" {
			t = math.Inf(-1)
		}
	default:
		return fmt.Errorf("epsilon bound: threshold %s is neither a number nor \"inf\" or \"-inf\"", v.Threshold)
	}
	b.Threshold = &t
	return nil
}
