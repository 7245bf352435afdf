package llm

import (
	"fmt"
	"math"
	"strconv"

	"github.com/pmeter/pmeter/attack"
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

// seqAttack runs the attack package's attack name with params on the sequence-level data, target model 0,
// and scatters the scores back to the sequences (population sequences NaN).
func seqAttack(b *Bundle, name string, params map[string]string) ([]float64, error) {
	d, records, err := SequenceData(b)
	if err != nil {
		return nil, err
	}
	spec, err := attack.Lookup(name)
	if err != nil {
		return nil, err
	}
	s, err := spec.Run(d, 0, params)
	if err != nil {
		return nil, err
	}
	out := make([]float64, b.N())
	for i := range out {
		out[i] = math.NaN()
	}
	for i, s := range s {
		out[records[i]] = s
	}
	return out, nil
}

// RMIALM is RMIA (Zarifzadeh et al., "Low-Cost High-Power Membership Inference Attacks", ICML 2024) over
// reference LMs trained with known memberships, on the sequence signal, as Privacy Meter v2 audits
// fine-tuned GPT-2: attack.RMIA with its reference selection (attack.SelectReferences), offline with a
// tuned on a reference model (Params.Online: online), the population from population.npy.
func RMIALM(b *Bundle, p Params) ([]float64, error) {
	if b.Population == nil {
		return nil, fmt.Errorf("%w: population.npy (sequences in no model's training set, RMIA's population)", ErrMissingInput)
	}
	params := map[string]string{"tune_offline_a": "true"}
	if p.Online {
		params = map[string]string{"online": "true"}
	}
	return seqAttack(b, "rmia", params)
}

// LiRALM is LiRA (Carlini et al., "Membership Inference Attacks From First Principles", S&P 2022) over
// reference LMs trained with known memberships, on the sequence signal's rescaled logit: attack.LiRA,
// offline (Params.Online: online), with the attack package's variance choice.
func LiRALM(b *Bundle, p Params) ([]float64, error) {
	return seqAttack(b, "lira", map[string]string{"online": strconv.FormatBool(p.Online)})
}
