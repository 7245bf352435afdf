package llm

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/internal/parallel"
	"github.com/pmeter/pmeter/signal"
)

// SequenceSignal returns Privacy Meter v2's sequence signal of each sequence, the geometric mean of its
// token probabilities exp((1/(T−1)) Σ_t log p(x_t | x_<t)), in (0, 1]: the "probability of the true label"
// that RMIA and LiRA read for a classifier.
func SequenceSignal(r Ragged[float64]) []float64 {
	l := nll(r)
	for s := range l {
		l[s] = math.Exp(-l[s])
	}
	return l
}

// SequenceData turns the bundle into the attack package's input: one record per sequence outside the
// population, model 0 the target and models 1..R the shadow LMs, each signal SequenceSignal
// (signal.ProbTrue), the memberships labels.npy (all false when absent: the attacks never read the
// target's) and each shadow's members.npy; the population sequences (population.npy) become the
// population. records maps each record to its sequence.
func SequenceData(b *Bundle) (d *attack.Data, records []int, err error) {
	if len(b.Shadows) == 0 {
		return nil, nil, fmt.Errorf("%w: shadow/<name>/ (reference LMs trained with known memberships)", ErrMissingInput)
	}
	sig := [][]float64{SequenceSignal(b.LogProbs)}
	mem := [][]bool{b.Labels}
	if b.Labels == nil {
		mem[0] = make([]bool, b.N())
	}
	for _, sh := range b.Shadows {
		sig = append(sig, SequenceSignal(sh.LogProbs))
		mem = append(mem, sh.Members)
	}
	M := len(sig)
	d = &attack.Data{M: M, Q: 1, Kind: signal.ProbTrue}
	for s := range b.N() {
		if b.Population != nil && b.Population[s] {
			d.Z++
			for m := range M {
				d.Population = append(d.Population, sig[m][s])
			}
			continue
		}
		records = append(records, s)
		for m := range M {
			d.Signals = append(d.Signals, sig[m][s])
			d.Members = append(d.Members, mem[m][s])
		}
	}
	d.N = len(records)
	return d, records, nil
}

// scatter returns one score per sequence: scores[i] at records[i], NaN elsewhere.
func scatter(n int, scores []float64, records []int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = math.NaN()
	}
	for i, s := range scores {
		out[records[i]] = s
	}
	return out
}

// populationSequences returns the indices of the population sequences, in order (SequenceData's
// population rows).
func populationSequences(b *Bundle) []int {
	var out []int
	for s, p := range b.Population {
		if p {
			out = append(out, s)
		}
	}
	return out
}

// popDonors returns, for each population record of d, the record (a non-member of the target, model 0)
// whose memberships it borrows when it is scored as a record: drawn at random (seeded by its position
// in the population, so fixed), so that its reference LMs are chosen as those of a non-member of the
// audited sequences, the same number of them in the same way. nil when d has no non-member.
//
// Every shadow LM could serve a population sequence, which is in no model's training set; using all of
// them would fit its OUT statistics on more models than an audited sequence's, so that its scores spread
// less than theirs and a threshold separates them on a target that leaks nothing (the harness found
// it: holdout ε > 0 on 44 of 50 seeds for lira-lm).
func popDonors(d *attack.Data) []int {
	var non []int
	for i := range d.N {
		if !d.Members[i*d.M] {
			non = append(non, i)
		}
	}
	if len(non) == 0 {
		return nil
	}
	out := make([]int, d.Z)
	for j := range out {
		out[j] = non[rand.New(rand.NewPCG(uint64(j), 0x706f70756c6174)).IntN(len(non))]
	}
	return out
}

// appendRecord appends to signals and members the population record j of d as a record with the
// memberships of record donor.
func appendRecord(d *attack.Data, signals []float64, members []bool, j, donor int) ([]float64, []bool) {
	M := d.M
	return append(signals, d.Population[j*M:(j+1)*M]...), append(members, d.Members[donor*M:(donor+1)*M]...)
}

// RMIALM is RMIA (Zarifzadeh et al., "Low-Cost High-Power Membership Inference Attacks", ICML 2024) over
// reference LMs trained with known memberships, on the sequence signal, as Privacy Meter v2 audits
// fine-tuned GPT-2: attack.RMIA with its reference selection (attack.SelectReferences), offline with a
// tuned on a reference model (attack.TuneOfflineA; Params.Online: online), the population from
// population.npy.
//
// Offline, every sequence is scored, the population's too: a population sequence z is scored as a record
// against the other Z − 1 population sequences, score(z) = #{z' ≠ z : LR(z, z') > γ} / (Z − 1) with the
// tie-break of attack.RMIA and the a tuned for the others, its Pr(z) from the OUT shadow LMs that a
// non-member of the audited sequences would have (popDonors). It is one attack.RMIA per population
// sequence, of z alone (O(Z² log Z) in all), or in a pairs or lira design, which equalises reference
// counts over the records, of the audited sequences and z, of which z's score is kept. The population sequences are non-members of the target, so their scores join the
// metrics beside the other non-members', as in every other attack; validity.RunLLM checks that they are
// exchangeable with them on a target that leaks nothing. With one population sequence there are no
// others: NaN.
//
// Online, the population sequences get NaN (left out of the metrics, counted as dropped): Pr(x) is the
// mean of Pr_IN(x) and Pr_OUT(x) over a sequence's IN and OUT shadow LMs, and a population sequence has no
// IN shadow LM, so its score would be on another scale than the other sequences' (where shadow LMs fit
// their members, its scores ranked far above theirs on a target that leaks nothing: AUC 0.97 against the
// other non-members in the harness).
func RMIALM(b *Bundle, p Params) ([]float64, error) {
	if b.Population == nil {
		return nil, fmt.Errorf("%w: population.npy (sequences in no model's training set, RMIA's population)", ErrMissingInput)
	}
	d, records, err := SequenceData(b)
	if err != nil {
		return nil, err
	}
	cfg := attack.RMIAConfig{Online: p.Online}
	if !p.Online {
		if cfg.OfflineA, _, err = attack.TuneOfflineA(d, 0, attack.OfflineAGrid(0.1), cfg); err != nil {
			return nil, err
		}
	}
	s, err := attack.RMIA(d, 0, cfg)
	if err != nil {
		return nil, err
	}
	out := scatter(b.N(), s, records)
	donors := popDonors(d)
	if d.Z < 2 || p.Online || donors == nil {
		return out, nil
	}
	design := attack.InferDesign(d.Members, d.N, d.M)
	// In a design whose reference counts are per record (not pairs or lira, which equalise them over
	// every record), z alone as the record, with the reference pool of the audited sequences, has the
	// references it would have among them: a pass of one record instead of N + 1.
	sz, err := rmiaPopulation(d, cfg, design, donors, design != attack.DesignPairs && design != attack.DesignLiRA)
	if err != nil {
		return nil, err
	}
	for j, q := range populationSequences(b) {
		out[q] = sz[j]
	}
	return out, nil
}

// rmiaPopulation returns RMIA's score of each population record j of d as a record with the memberships
// of record donors[j], against the other Z − 1 population records (RMIALM): with alone, in a pass of its
// own with the reference pool of d's records (for a design whose reference counts are per record), or in
// a pass over d's records and it, of design design.
func rmiaPopulation(d *attack.Data, cfg attack.RMIAConfig, design attack.Design, donors []int, alone bool) ([]float64, error) {
	if alone {
		refs, err := attack.SelectReferences(d, 0, attack.RefConfig{})
		if err != nil {
			return nil, err
		}
		cfg.RefModels, design = refs.Pool, attack.DesignBernoulli // bernoulli: no model is left out for one record
	}
	M := d.M
	// Each worker has its own copy of the population, in which record j is swapped to the last row so
	// that the first Z − 1 rows are its population, and of the records when j joins them.
	type buffers struct {
		population, signals []float64
		members             []bool
	}
	worker := func() *buffers {
		w := &buffers{population: slices.Clone(d.Population)}
		if !alone {
			w.signals, w.members = slices.Clone(d.Signals), slices.Clone(d.Members)
		}
		return w
	}
	out := make([]float64, d.Z)
	err := parallel.ForEach(context.Background(), d.Z, 0, worker, func(_ context.Context, w *buffers, j int) error {
		n := d.N // the records before j
		if alone {
			n = 0
		}
		sig, mem := appendRecord(d, w.signals[:n*M], w.members[:n*M], j, donors[j])
		w.signals, w.members = sig, mem
		last := (d.Z - 1) * M
		swapRows(w.population, j*M, last, M)
		defer swapRows(w.population, j*M, last, M)
		e := &attack.Data{N: n + 1, M: M, Q: 1, Kind: d.Kind, Design: design, Signals: sig, Members: mem, Z: d.Z - 1, Population: w.population[:last]}
		s, err := attack.RMIA(e, 0, cfg)
		if err != nil {
			return fmt.Errorf("population record %d: %w", j, err)
		}
		out[j] = s[n]
		return nil
	})
	return out, err
}

// swapRows swaps the rows of m values at offsets i and j of x.
func swapRows(x []float64, i, j, m int) {
	if i != j {
		for k := range m {
			x[i+k], x[j+k] = x[j+k], x[i+k]
		}
	}
}

// LiRALM is LiRA (Carlini et al., "Membership Inference Attacks From First Principles", S&P 2022) over
// reference LMs trained with known memberships, on the sequence signal's rescaled logit: attack.LiRA,
// offline (Params.Online: online), with the attack package's variance choice.
//
// Offline, every sequence is scored, the population's too: a population sequence is scored as a record
// with the OUT shadow LMs that a non-member of the audited sequences would have (popDonors), in a second
// attack.LiRA over the audited sequences and the population (the bundle's design), whose global variance
// is fitted mostly on the audited sequences; the audited sequences keep their scores of the first pass.
// The population sequences are non-members of the target, so their scores join the metrics beside the
// other non-members', as in every other attack; validity.RunLLM checks that they are exchangeable with
// them on a target that leaks nothing.
//
// Online, the population sequences get NaN (left out of the metrics, counted as dropped): with no IN
// shadow LM, a population sequence's IN Gaussian would be attack.LiRA's fallback μ_in = μ_out + Δ, σ_in
// global, and its scores are distributed otherwise than the other non-members' (in the harness a holdout
// threshold separated them on every seed).
func LiRALM(b *Bundle, p Params) ([]float64, error) {
	d, records, err := SequenceData(b)
	if err != nil {
		return nil, err
	}
	cfg := attack.LiRAConfig{Online: p.Online}
	s, err := attack.LiRA(d, 0, cfg)
	if err != nil {
		return nil, err
	}
	out := scatter(b.N(), s, records)
	donors := popDonors(d)
	if d.Z == 0 || p.Online || donors == nil {
		return out, nil
	}
	e := &attack.Data{N: d.N + d.Z, M: d.M, Q: 1, Kind: d.Kind, Design: attack.InferDesign(d.Members, d.N, d.M),
		Signals: slices.Clone(d.Signals), Members: slices.Clone(d.Members)}
	for j := range d.Z {
		e.Signals, e.Members = appendRecord(d, e.Signals, e.Members, j, donors[j])
	}
	sa, err := attack.LiRA(e, 0, cfg)
	if err != nil {
		return nil, fmt.Errorf("population sequences: %w", err)
	}
	for j, q := range populationSequences(b) {
		out[q] = sa[d.N+j]
	}
	return out, nil
}
