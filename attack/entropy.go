package attack

import (
	"fmt"
	"slices"
	"sort"

	"github.com/pmeter/pmeter/signal"
)

// SongMittalValue names the per-record value that a Song & Mittal metric attack thresholds. Every value
// is oriented so that higher means more likely a member.
type SongMittalValue string

// The values of Song & Mittal's metric-based attacks (§3.2 of the paper).
const (
	// SMConfidence is the prediction confidence on the true label, p_y (the paper's "confidence";
	// not signal.Confidence, which is max_c p_c).
	SMConfidence SongMittalValue = "confidence"
	// SMEntropy is the negated prediction entropy, −H(p) = Σ_c p_c log p_c.
	SMEntropy SongMittalValue = "entropy"
	// SMModifiedEntropy is the negated modified entropy, −Mentr(p, y) (Eq. 8 of the paper).
	SMModifiedEntropy SongMittalValue = "modified_entropy"
	// SMCorrectness is 1 when the prediction is correct (the first argmax_c p_c equals y), else 0.
	SMCorrectness SongMittalValue = "correctness"
)

// SongMittalConfig configures SongMittal.
type SongMittalConfig struct {
	// Value is the thresholded value.
	Value SongMittalValue
	// ClassThresholds calibrates the value with one threshold per class, set on the reference models
	// (see SongMittal). When false the score is the raw value and no reference model is used. It is
	// ignored for SMCorrectness, whose value needs no threshold.
	ClassThresholds bool
	// NumRef limits the reference models to the first 2·NumRef models of the pool that SelectReferences
	// leaves for the target (NumRef per side, as for the per-record attacks); 0 uses all of them.
	NumRef int
}

// SongMittal runs the metric-based attacks of Song & Mittal, "Systematic Evaluation of Privacy Risks of
// Machine Learning Models" (USENIX Security 2021, §3.2, Eqs. 4–8): prediction correctness, confidence,
// entropy and modified entropy, with class-dependent thresholds. It returns one score per record of the
// target model t (length d.N); higher means more likely a member.
//
// The value v(i, m) of record i under model m is computed from d.Probs (N × M × C) and d.Labels with
// package signal: p_y, −H(p) with H(p) = −Σ_c p_c log p_c, or −Mentr(p, y) with
// Mentr(p, y) = −(1 − p_y) log p_y − Σ_{c≠y} p_c log(1 − p_c) (the arguments of the logarithms clipped
// below at 1e-30, as the authors' code does). When d.Probs is absent, a confidence is taken from
// d.Signals converted to signal.ProbTrue, and an entropy or modified entropy from d.Signals of kind
// signal.Entropy or signal.ModifiedEntropy (averaged over the Q queries).
//
// Class-dependent thresholds: for each class c, the reference models (the pool of SelectReferences: every
// model but t and the models whose memberships are determined by t's; see NumRef) supply the values of their members and non-members of class c, and τ_c is the value
// maximising ½(TPR + TNR) of the rule "member ⇔ v ≥ τ" on them, exactly as _thre_setting in the authors'
// code chooses it (SongMittalThreshold). A class without both members and non-members among the
// reference values gets the threshold of all classes pooled (the authors' code would use 0). The score
// of record i with label y_i is then the margin
//
//	score_i = v(i, t) − τ_{y_i},
//
// so that thresholding the score at 0 reproduces the paper's decision, and sweeping it traces a ROC
// curve of class-calibrated values. Preconditions: d.Labels is set when ClassThresholds is true or the
// value needs it, and at least one model other than t exists when ClassThresholds is true.
func SongMittal(d *Data, target int, cfg SongMittalConfig) ([]float64, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if target < 0 || target >= d.M {
		return nil, fmt.Errorf("%s: target model %d does not exist (there are %d models)", cfg.Value, target, d.M)
	}
	val, err := songMittalValues(d, cfg.Value)
	if err != nil {
		return nil, err
	}
	scores := make([]float64, d.N)
	for i := range scores {
		scores[i] = val(i, target)
	}
	if !cfg.ClassThresholds || cfg.Value == SMCorrectness {
		return scores, nil
	}
	if d.Labels == nil {
		return nil, fmt.Errorf("%s: class-dependent thresholds need class labels; set class_thresholds=false to score without them", cfg.Value)
	}
	refs, err := modelRefs(d, target, cfg.NumRef)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Value, err)
	}
	tau, err := smClassThresholds(d, refs, val)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Value, err)
	}
	for i := range scores {
		scores[i] -= tau[d.Labels[i]]
	}
	return scores, nil
}

// SongMittalThreshold returns the threshold τ that maximises ½(TPR + TNR) of the rule "member ⇔ v ≥ τ"
// over members in and non-members out, and that balanced accuracy. As in _thre_setting of Song &
// Mittal's code, the candidates are the values of in followed by those of out, in order, and the first
// candidate with the largest accuracy wins; τ is 0 (accuracy 0) when in or out is empty. It runs in
// O(n log n) time and does not modify its arguments.
func SongMittalThreshold(in, out []float64) (tau, acc float64) {
	if len(in) == 0 || len(out) == 0 {
		return 0, 0
	}
	si := append([]float64(nil), in...)
	so := append([]float64(nil), out...)
	sort.Float64s(si)
	sort.Float64s(so)
	ni, no := float64(len(si)), float64(len(so))
	best, bestAcc := 0.0, 0.0
	try := func(v float64) {
		tr := len(si) - sort.SearchFloat64s(si, v) // #in ≥ v
		te := sort.SearchFloat64s(so, v)           // #out < v
		a := 0.5 * (float64(tr)/ni + float64(te)/no)
		if a > bestAcc {
			best, bestAcc = v, a
		}
	}
	for _, v := range in {
		try(v)
	}
	for _, v := range out {
		try(v)
	}
	return best, bestAcc
}

// smClassThresholds returns τ_c for every class, from the values of the reference models' members and
// non-members.
func smClassThresholds(d *Data, refs []int, val func(i, m int) float64) ([]float64, error) {
	nc := d.C
	for _, y := range d.Labels {
		nc = max(nc, y+1)
	}
	in := make([][]float64, nc)
	out := make([][]float64, nc)
	var allIn, allOut []float64
	for i := 0; i < d.N; i++ {
		y := d.Labels[i]
		for _, m := range refs {
			v := val(i, m)
			if d.Member(i, m) {
				in[y] = append(in[y], v)
				allIn = append(allIn, v)
			} else {
				out[y] = append(out[y], v)
				allOut = append(allOut, v)
			}
		}
	}
	if len(allIn) == 0 || len(allOut) == 0 {
		return nil, fmt.Errorf("the %d reference models have %d member and %d non-member values; thresholds need both", len(refs), len(allIn), len(allOut))
	}
	pooled, _ := SongMittalThreshold(allIn, allOut)
	tau := make([]float64, nc)
	for c := range tau {
		if len(in[c]) == 0 || len(out[c]) == 0 {
			tau[c] = pooled
			continue
		}
		tau[c], _ = SongMittalThreshold(in[c], out[c])
	}
	return tau, nil
}

// modelRefs returns the reference models of an attack that uses whole models: the first 2·numRef models of
// target's reference pool (all when numRef is 0).
func modelRefs(d *Data, target, numRef int) ([]int, error) {
	r, err := SelectReferences(d, target, RefConfig{})
	if err != nil {
		return nil, err
	}
	switch {
	case len(r.Pool) == 0:
		return nil, fmt.Errorf("no reference model: the data hold %d models, and besides target model %d models %v are excluded (their memberships are determined by the target's)", d.M, target, r.Excluded)
	case numRef > 0 && 2*numRef > len(r.Pool):
		return nil, fmt.Errorf("num_ref_models = %d asks for %d reference models, but only %d models besides the target are available", numRef, 2*numRef, len(r.Pool))
	}
	return r.Models(2 * numRef), nil
}

// songMittalValues returns the function v(i, m) for the chosen value, computed once for every record
// and model with package signal, checking that the data hold what it needs.
func songMittalValues(d *Data, v SongMittalValue) (func(i, m int) float64, error) {
	labels := d.Labels
	opt := signal.Options{Queries: d.M} // Probs is N records × M "queries" × C classes for package signal
	var vals []float64
	var err error
	switch v {
	case SMConfidence:
		if d.Probs == nil {
			if !signal.Convertible(d.Kind, signal.ProbTrue) {
				return nil, fmt.Errorf("%s: needs probability vectors or a signal convertible to prob_true, not %s", v, d.Kind)
			}
			p := slices.Clone(d.Signals)
			if err := signal.Convert(p, d.Kind, signal.ProbTrue); err != nil {
				return nil, fmt.Errorf("%s: signals: %w", v, err)
			}
			return smMeanOverQueries(d, p, 1), nil
		}
		if labels == nil {
			return nil, fmt.Errorf("%s: needs class labels with the probabilities", v)
		}
		vals, err = signal.FromProbs(signal.ProbTrue, d.Probs, d.C, labels, opt)
	case SMEntropy, SMModifiedEntropy:
		kind := signal.Entropy
		if v == SMModifiedEntropy {
			kind = signal.ModifiedEntropy
		}
		if d.Probs == nil {
			if d.Kind != kind {
				return nil, fmt.Errorf("%s: needs probability vectors (probs or logits) or a signal of kind %s, not %s", v, kind, d.Kind)
			}
			return smMeanOverQueries(d, d.Signals, -1), nil
		}
		if labels == nil {
			if v == SMModifiedEntropy {
				return nil, fmt.Errorf("%s: needs class labels with the probabilities", v)
			}
			labels = make([]int, d.N) // the entropy does not depend on the label
		}
		vals, err = signal.FromProbs(kind, d.Probs, d.C, labels, opt)
		for k := range vals {
			vals[k] = -vals[k]
		}
	case SMCorrectness:
		if d.Probs == nil {
			return nil, fmt.Errorf("%s: needs probability vectors (probs or logits)", v)
		}
		if labels == nil {
			return nil, fmt.Errorf("%s: needs class labels with the probabilities", v)
		}
		var ok []bool
		if ok, err = signal.Correct(d.Probs, d.C, labels, opt); err == nil {
			vals = make([]float64, len(ok))
			for k, c := range ok {
				if c {
					vals[k] = 1
				}
			}
		}
	default:
		return nil, fmt.Errorf("unknown Song & Mittal value %q (want confidence, entropy, modified_entropy or correctness)", v)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", v, err)
	}
	return func(i, m int) float64 { return vals[i*d.M+m] }, nil
}

// smMeanOverQueries returns v(i, m) = sign · mean_q s[(i·M+m)·Q+q].
func smMeanOverQueries(d *Data, s []float64, sign float64) func(i, m int) float64 {
	return func(i, m int) float64 {
		row := s[(i*d.M+m)*d.Q : (i*d.M+m+1)*d.Q]
		t := 0.0
		for _, x := range row {
			t += x
		}
		return sign * t / float64(d.Q)
	}
}
