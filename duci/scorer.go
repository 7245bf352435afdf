package duci

import (
	"fmt"

	"github.com/pmeter/pmeter/attack"
)

// Scorer scores every record of a Data against one model, attacked with the given reference models.
// Estimate calls it for the target and for every reference model alike.
type Scorer interface {
	// Scores returns one membership score per record against model (higher: more likely a member),
	// attacked with the reference models refs (never model itself). It must not read model's
	// memberships: they are unknown for a target.
	Scores(d *attack.Data, model int, refs []int) ([]float64, error)
	// Method names the attack, as it appears in results.
	Method() string
}

// AttackScorer runs a pmeter attack of the registry (attack.Spec.Parse: rmia, lira, population, …) as
// DUCI's membership attack. The attacked model sees only its references: the attack runs on a copy of
// the data with the columns [model, refs...], model's memberships hidden (a placeholder) and the design
// declared "other", so that each record's references are its own IN and OUT models among refs.
func AttackScorer(a attack.Attack) Scorer { return attackScorer{a} }

type attackScorer struct{ a attack.Attack }

func (s attackScorer) Method() string { return s.a.Name }

func (s attackScorer) Scores(d *attack.Data, model int, refs []int) ([]float64, error) {
	sub, err := subData(d, model, refs)
	if err != nil {
		return nil, err
	}
	out, err := s.a.Run(sub, 0)
	if err != nil {
		return nil, fmt.Errorf("%s against model %d with references %v: %w", s.a.Name, model, refs, err)
	}
	return out, nil
}

// subData returns d restricted to the models [model, refs...], model's memberships hidden.
func subData(d *attack.Data, model int, refs []int) (*attack.Data, error) {
	cols := append([]int{model}, refs...)
	for k, c := range cols {
		if c < 0 || c >= d.M {
			return nil, fmt.Errorf("model %d does not exist (there are %d models)", c, d.M)
		}
		if k > 0 && c == model {
			return nil, fmt.Errorf("model %d is its own reference", model)
		}
	}
	m := len(cols)
	pick := func(v []float64, rows, inner int) []float64 {
		if v == nil {
			return nil
		}
		out := make([]float64, 0, rows*m*inner)
		for i := range rows {
			for _, c := range cols {
				o := (i*d.M + c) * inner
				out = append(out, v[o:o+inner]...)
			}
		}
		return out
	}
	s := &attack.Data{N: d.N, M: m, Q: d.Q, Kind: d.Kind, Design: attack.DesignOther,
		Signals: pick(d.Signals, d.N, d.Q), Z: d.Z, Population: pick(d.Population, d.Z, d.Q),
		Labels: d.Labels, PopLabels: d.PopLabels, C: d.C, Probs: pick(d.Probs, d.N, d.C), PopProbs: pick(d.PopProbs, d.Z, d.C)}
	s.Members = make([]bool, d.N*m)
	for i := range d.N {
		// The attacked model's memberships are not known (a target's) or not to be used: a fixed
		// alternating placeholder, which satisfies the attacks' check for members and non-members and
		// equals no reference's memberships.
		s.Members[i*m] = i%2 == 0
		for k, c := range cols[1:] {
			s.Members[i*m+k+1] = d.Members[i*d.M+c]
		}
	}
	return s, nil
}

// Population is the population attack of Privacy Meter's DUCI demo (demo_duci.ipynb, MyMIA of the
// single-reference section): score(x) = #{z : p_t(x)/p_t(z) > 1}/Z, the fraction of population records
// whose p(true label) under the model is below the record's. It uses no reference model.
type Population struct{ Compat attack.Compat }

// Method returns "duci-population".
func (Population) Method() string { return "duci-population" }

// Scores returns the population attack's scores against model; refs are not used.
func (p Population) Scores(d *attack.Data, model int, _ []int) ([]float64, error) {
	in, err := columns(d, model, nil)
	if err != nil {
		return nil, err
	}
	if p.Compat == attack.CompatPrivacyMeter {
		return countCompat(in.ts, in.zt), nil
	}
	return countSorted(in.ts, in.zt), nil
}

// SelectRecords returns d restricted to the records listed (in that order): the dataset whose usage is
// estimated, out of a larger set of records. The population and the models are d's.
func SelectRecords(d *attack.Data, records []int) (*attack.Data, error) {
	if len(records) == 0 {
		return nil, fmt.Errorf("duci: the dataset has no record")
	}
	seen := make(map[int]bool, len(records))
	for k, i := range records {
		if i < 0 || i >= d.N {
			return nil, fmt.Errorf("duci: dataset record %d (element %d) does not exist (there are %d records)", i, k, d.N)
		}
		if seen[i] {
			return nil, fmt.Errorf("duci: dataset record %d is listed twice", i)
		}
		seen[i] = true
	}
	rows := func(v []float64, inner int) []float64 {
		if v == nil {
			return nil
		}
		out := make([]float64, 0, len(records)*inner)
		for _, i := range records {
			out = append(out, v[i*inner:(i+1)*inner]...)
		}
		return out
	}
	s := *d
	s.N = len(records)
	s.Signals = rows(d.Signals, d.M*d.Q)
	s.Probs = rows(d.Probs, d.M*d.C)
	s.Members = make([]bool, 0, len(records)*d.M)
	for _, i := range records {
		s.Members = append(s.Members, d.Members[i*d.M:(i+1)*d.M]...)
	}
	if d.Labels != nil {
		s.Labels = make([]int, len(records))
		for k, i := range records {
			s.Labels[k] = d.Labels[i]
		}
	}
	return &s, nil
}

// DefaultReferences returns the reference models of target in d: every other model whose memberships
// on d's records are neither equal to the target's nor their complement (a model determined by the
// target's training set, such as its pair in Privacy Meter's design, would reveal the answer), and that
// has members and non-members among them.
func DefaultReferences(d *attack.Data, target int) []int {
	var refs []int
	for m := range d.M {
		if m != target && !determined(d, target, m) && d.CheckTarget(m) == nil {
			refs = append(refs, m)
		}
	}
	return refs
}
