package llm

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/duci"
)

// UsageData is the input of text DUCI: the sequence-level data of the corpus (SequenceData restricted
// to the corpus sequences, in that order; model 0 the target, model k the k-th shadow LM) and the
// default reference models (duci.DefaultReferences: every shadow LM with members and non-members in the
// corpus whose memberships are neither the target's labels nor their complement).
//
// corpus lists the sequences of the corpus whose use is estimated; nil means every sequence outside
// population.npy. A population sequence cannot be in the corpus (it is in no model's training set).
func UsageData(b *Bundle, corpus []int) (d *attack.Data, refs []int, err error) {
	d, records, err := SequenceData(b)
	if err != nil {
		return nil, nil, err
	}
	rec := make(map[int]int, len(records)) // sequence → record
	for i, s := range records {
		rec[s] = i
	}
	idx := make([]int, 0, len(records))
	if corpus == nil {
		for i := range records {
			idx = append(idx, i)
		}
	}
	seen := make(map[int]bool, len(corpus))
	for k, s := range corpus {
		i, ok := rec[s]
		switch {
		case s < 0 || s >= b.N():
			return nil, nil, fmt.Errorf("llm: corpus element %d is sequence %d; the bundle has %d sequences", k, s, b.N())
		case !ok:
			return nil, nil, fmt.Errorf("llm: corpus element %d is sequence %d, which population.npy marks as in no model's training set", k, s)
		case seen[s]:
			return nil, nil, fmt.Errorf("llm: corpus element %d: sequence %d is listed twice", k, s)
		}
		seen[s] = true
		idx = append(idx, i)
	}
	if d, err = duci.SelectRecords(d, idx); err != nil {
		return nil, nil, err
	}
	return d, duci.DefaultReferences(d, 0), nil
}

// Usage is text DUCI (Tong et al., "How Much of My Dataset Did You Use?", ICLR 2025, applied to a
// language model): the fraction of the corpus (UsageData) that the target LM was fine-tuned on, with a
// bootstrap interval. It is duci.Estimate on the sequence signal (SequenceSignal, Privacy Meter v2's
// exp(mean token log-prob)), the shadow LMs serving as the reference models of known memberships: refs
// (nil: UsageData's default, shadow k being model k) calibrate the threshold and the rates. The
// interval covers the truth at its level when the target was fine-tuned like the shadow LMs (the same
// recipe, on a subset of the corpus); labels.npy, when given, adds the true proportion (cfg.Truth is
// set from it) and is read for nothing else except leaving a shadow identical to the target out of the
// default references.
//
// The default attack (cfg.Attack nil) is DUCI's RMIA variant, which needs population.npy; any attack
// of package attack that reads the probability of the true label (duci.ParseAttack: lira, rmia, …) works
// on the sequence signal as well.
func Usage(ctx context.Context, b *Bundle, corpus, refs []int, cfg duci.Config) (*duci.Result, *attack.Data, error) {
	d, def, err := UsageData(b, corpus)
	if err != nil {
		return nil, nil, err
	}
	if refs == nil {
		refs = def
	}
	if len(refs) == 0 {
		return nil, nil, fmt.Errorf("llm: no shadow LM can calibrate the estimate: each needs members and non-members in the corpus, and memberships other than the target's (%d shadow LMs)", len(b.Shadows))
	}
	for _, r := range refs {
		if r < 1 || r >= d.M {
			return nil, nil, fmt.Errorf("llm: reference model %d: the shadow LMs are models 1 to %d", r, d.M-1)
		}
	}
	if cfg.Compat == attack.CompatPrivacyMeter && cfg.Attack == nil && cfg.OfflineA == nil {
		return nil, nil, ErrCompatTune
	}
	if d.Z == 0 && needsPopulation(cfg) {
		return nil, nil, fmt.Errorf("%w: population.npy (sequences in no model's training set), which DUCI's RMIA compares against; or choose an attack without a population, such as lira", ErrMissingInput)
	}
	cfg.Truth = b.Labels != nil
	res, err := duci.Estimate(ctx, d, []duci.Target{{Model: 0, Refs: slices.Clone(refs)}}, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("llm: text usage: %w", err)
	}
	return &res[0], d, nil
}

// ErrCompatTune is returned by Usage for compat privacy-meter with a tuned: Privacy Meter tunes a on the
// target's paired model (target ± 1, complementary memberships), which an LLM bundle does not have.
var ErrCompatTune = errors.New("llm: text usage: compat privacy-meter tunes offline a on the target's paired model, which an LLM bundle does not have (model 1 is a shadow LM); give offline_a, or use the default mode")

// needsPopulation reports whether cfg's attack reads population signals.
func needsPopulation(cfg duci.Config) bool {
	switch a := cfg.Attack.(type) {
	case nil, *duci.RMIA, duci.Population:
		return true
	default:
		return a.Method() == "rmia"
	}
}
