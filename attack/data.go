// Package attack computes membership-inference scores from per-record signals of a target model and of
// reference (shadow) models.
//
// Every attack returns one score per record of the target model, and a higher score always means "more
// likely a member" (the original implementations disagree on this; see each attack's comment). Inputs are
// plain arrays: a signal tensor of records × models × queries, a membership matrix of records × models,
// and optionally population signals (records known to be outside every model's training set), class
// labels and full probability vectors. Each attack cites its paper and equation.
//
// Options that reproduce the quirks of Privacy Meter (ml_privacy_meter) or of the LiRA reference code are
// off by default; they exist so that results can be compared with those tools to the last digit.
package attack

import (
	"fmt"
	"math"

	"github.com/pmeter/pmeter/signal"
)

// Data is the input shared by all attacks.
//
// Signals holds N records × M models × Q queries in row-major order: the signal of record i under model
// m for query (augmentation) q is Signals[(i*M+m)*Q+q]. Q is 1 when there are no augmented queries.
// Members is N × M: Members[i*M+m] is true when record i was in model m's training set. Population, if
// present, is Z × M × Q signals of records that no model trained on. Labels (N) and PopLabels (Z) are
// class indices, needed by class-dependent attacks. Probs, if present, is N × M × C full probability
// vectors (and PopProbs Z × M × C), needed by attacks on the whole prediction vector (Shokri's shadow
// attack, entropy).
//
// Kind says what Signals measure; attacks convert it to the signal they are defined on when the
// conversion exists (signal.Convertible) and return an error otherwise. Design says how Members were
// drawn (DesignAuto: inferred), which decides the reference models of every record (SelectReferences).
type Data struct {
	N, M, Q int
	Kind    signal.Kind
	Signals []float64
	Members []bool
	Design  Design

	Z          int
	Population []float64

	Labels    []int
	PopLabels []int

	C        int
	Probs    []float64
	PopProbs []float64

	// White-box signals (gradient.go): Grad, if present, is N records × M models × G per-record gradient
	// norms ‖∇_θ ℓ‖₂ of the first query, G = 1 + the layers with parameters: index 0 over the whole
	// model, index k over its k-th layer with parameters only. PopGrad is Z × M × G.
	G       int
	Grad    []float64
	PopGrad []float64

	// Label-only signals (labelonly.go): Aug, if present, is N records × M models × A augmentations,
	// true where model m predicts record i's label on its augmentation a (the first is the record
	// itself). Boundary, if present, is N × M label-only distances to the decision boundary (0 for a
	// misclassified record), negative where not measured (the search runs on target models only).
	A        int
	Aug      []bool
	Boundary []float64

	// Loss trajectories (trajectory.go): Traj, if present, is N records × M models × T checkpoints, the
	// cross-entropy loss of the record's first query under model m at checkpoint k (the last one the
	// final model); PopTraj is Z × M × T; TrajEpochs, if set, are the checkpoints' epochs, increasing.
	T          int
	Traj       []float64
	PopTraj    []float64
	TrajEpochs []int
}

// Signal returns the signal of record i under model m for query q.
func (d *Data) Signal(i, m, q int) float64 { return d.Signals[(i*d.M+m)*d.Q+q] }

// Member reports whether record i was in model m's training set.
func (d *Data) Member(i, m int) bool { return d.Members[i*d.M+m] }

// PopSignal returns the signal of population record z under model m for query q.
func (d *Data) PopSignal(z, m, q int) float64 { return d.Population[(z*d.M+m)*d.Q+q] }

// TargetMembers returns the membership of every record in model t's training set (a new slice).
func (d *Data) TargetMembers(t int) []bool {
	out := make([]bool, d.N)
	for i := range out {
		out[i] = d.Members[i*d.M+t]
	}
	return out
}

// Validate checks shapes and values: every length matches its shape, no signal is NaN or infinite
// (except where the kind allows ±Inf, which none does), probabilities lie in [0, 1], labels lie in
// [0, C) when C is known. The error names the array and the index.
func (d *Data) Validate() error {
	if d.N <= 0 || d.M <= 0 || d.Q <= 0 {
		return fmt.Errorf("signals have shape %d records × %d models × %d queries; every dimension must be positive", d.N, d.M, d.Q)
	}
	if len(d.Signals) != d.N*d.M*d.Q {
		return fmt.Errorf("signals: %d values, want %d (%d records × %d models × %d queries)", len(d.Signals), d.N*d.M*d.Q, d.N, d.M, d.Q)
	}
	if len(d.Members) != d.N*d.M {
		return fmt.Errorf("memberships: %d values, want %d (%d records × %d models)", len(d.Members), d.N*d.M, d.N, d.M)
	}
	if err := checkValuesBy("signals", d.Signals, d.Kind, d.M, d.Q, "query"); err != nil {
		return err
	}
	if d.Population != nil || d.Z != 0 {
		if len(d.Population) != d.Z*d.M*d.Q {
			return fmt.Errorf("population signals: %d values, want %d (%d records × %d models × %d queries)", len(d.Population), d.Z*d.M*d.Q, d.Z, d.M, d.Q)
		}
		if err := checkValuesBy("population signals", d.Population, d.Kind, d.M, d.Q, "query"); err != nil {
			return err
		}
	}
	if d.Labels != nil && len(d.Labels) != d.N {
		return fmt.Errorf("labels: %d values, want one per record (%d)", len(d.Labels), d.N)
	}
	if d.PopLabels != nil && len(d.PopLabels) != d.Z {
		return fmt.Errorf("population labels: %d values, want one per population record (%d)", len(d.PopLabels), d.Z)
	}
	if d.Probs != nil {
		if d.C <= 0 || len(d.Probs) != d.N*d.M*d.C {
			return fmt.Errorf("probabilities: %d values, want %d records × %d models × %d classes", len(d.Probs), d.N, d.M, d.C)
		}
		if err := checkValuesBy("probabilities", d.Probs, signal.ProbTrue, d.M, d.C, "class"); err != nil {
			return err
		}
	}
	if d.PopProbs != nil {
		if d.C <= 0 || len(d.PopProbs) != d.Z*d.M*d.C {
			return fmt.Errorf("population probabilities: %d values, want %d records × %d models × %d classes", len(d.PopProbs), d.Z, d.M, d.C)
		}
		if err := checkValuesBy("population probabilities", d.PopProbs, signal.ProbTrue, d.M, d.C, "class"); err != nil {
			return err
		}
	}
	if d.Grad != nil || d.PopGrad != nil {
		if d.G < 1 || len(d.Grad) != d.N*d.M*d.G || (d.PopGrad != nil && len(d.PopGrad) != d.Z*d.M*d.G) {
			return fmt.Errorf("gradient norms: %d and %d values, want %d records and %d population records × %d models × %d norms", len(d.Grad), len(d.PopGrad), d.N, d.Z, d.M, d.G)
		}
		for name, v := range map[string][]float64{"gradient norms": d.Grad, "population gradient norms": d.PopGrad} {
			for k, x := range v {
				if !(x >= 0) || math.IsInf(x, 0) {
					return fmt.Errorf("%s: record %d, model %d, norm %d is %v; a norm is finite and ≥ 0", name, k/(d.M*d.G), k/d.G%d.M, k%d.G, x)
				}
			}
		}
	}
	if err := d.validateTraj(); err != nil {
		return err
	}
	if d.Aug != nil && (d.A < 1 || len(d.Aug) != d.N*d.M*d.A) {
		return fmt.Errorf("augmentation correctness: %d values, want %d records × %d models × %d augmentations", len(d.Aug), d.N, d.M, d.A)
	}
	if d.Boundary != nil {
		if len(d.Boundary) != d.N*d.M {
			return fmt.Errorf("boundary distances: %d values, want %d records × %d models", len(d.Boundary), d.N, d.M)
		}
		for k, v := range d.Boundary {
			if math.IsNaN(v) {
				return fmt.Errorf("boundary distances: record %d, model %d is NaN", k/d.M, k%d.M)
			}
		}
	}
	for name, ls := range map[string][]int{"labels": d.Labels, "population labels": d.PopLabels} {
		for i, l := range ls {
			if l < 0 || (d.C > 0 && l >= d.C) {
				return fmt.Errorf("%s[%d] = %d, outside [0, %d)", name, i, l, d.C)
			}
		}
	}
	return nil
}

// CheckTarget verifies that t is a model index and that model t has at least one member and one
// non-member among the records.
func (d *Data) CheckTarget(t int) error {
	if t < 0 || t >= d.M {
		return fmt.Errorf("target model %d does not exist (there are %d models, 0 to %d)", t, d.M, d.M-1)
	}
	in := 0
	for i := 0; i < d.N; i++ {
		if d.Members[i*d.M+t] {
			in++
		}
	}
	if in == 0 || in == d.N {
		return fmt.Errorf("target model %d has %d members and %d non-members among %d records; an audit needs both", t, in, d.N-in, d.N)
	}
	return nil
}

// checkValues rejects NaN, ±Inf and out-of-range probabilities in v, records × m models; the message
// names the position: "record i, model m".
func checkValues(name string, v []float64, k signal.Kind, m int) error {
	return checkValuesBy(name, v, k, m, 1, "")
}

// checkValuesBy is checkValues for records × m models × inner (queries or classes): "record i,
// model m, query q" when inner > 1.
func checkValuesBy(name string, v []float64, k signal.Kind, m, inner int, innerName string) error {
	pos := func(i int) string {
		p := fmt.Sprintf("record %d, model %d", i/(m*inner), i/inner%m)
		if inner > 1 {
			p += fmt.Sprintf(", %s %d", innerName, i%inner)
		}
		return p
	}
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%s: %s is %v", name, pos(i), x)
		}
		if k == signal.ProbTrue && (x < 0 || x > 1) {
			return fmt.Errorf("%s: %s is %v, but probabilities lie in [0, 1]", name, pos(i), x)
		}
		if k == signal.Loss && x < 0 {
			return fmt.Errorf("%s: %s is %v, but a loss is never negative", name, pos(i), x)
		}
	}
	return nil
}

// Column returns the signals of model m for query q over all records (a new slice of length N),
// converted to kind want.
func (d *Data) Column(m, q int, want signal.Kind) ([]float64, error) {
	out := make([]float64, d.N)
	for i := range out {
		out[i] = d.Signals[(i*d.M+m)*d.Q+q]
	}
	if err := signal.Convert(out, d.Kind, want); err != nil {
		return nil, fmt.Errorf("signals of model %d: %w", m, err)
	}
	return out, nil
}

// PopColumn is Column for the population signals.
func (d *Data) PopColumn(m, q int, want signal.Kind) ([]float64, error) {
	out := make([]float64, d.Z)
	for z := range out {
		out[z] = d.Population[(z*d.M+m)*d.Q+q]
	}
	if err := signal.Convert(out, d.Kind, want); err != nil {
		return nil, fmt.Errorf("population signals of model %d: %w", m, err)
	}
	return out, nil
}

// MeanQueries returns a copy of d with one query per record: the signals (and population signals),
// converted to kind k, averaged over the Q queries. Other fields are shared with d. It returns d itself
// when Q is 1 and the kind is already k.
func (d *Data) MeanQueries(k signal.Kind) (*Data, error) {
	if d.Q == 1 && d.Kind == k {
		return d, nil
	}
	avg := func(v []float64, rows int) ([]float64, error) {
		c := append([]float64(nil), v...)
		if err := signal.Convert(c, d.Kind, k); err != nil {
			return nil, err
		}
		out := make([]float64, rows*d.M)
		for i := range out {
			s := 0.0
			for q := 0; q < d.Q; q++ {
				s += c[i*d.Q+q]
			}
			out[i] = s / float64(d.Q)
		}
		return out, nil
	}
	r := *d
	r.Q, r.Kind = 1, k
	var err error
	if r.Signals, err = avg(d.Signals, d.N); err != nil {
		return nil, fmt.Errorf("signals: %w", err)
	}
	if d.Population != nil {
		if r.Population, err = avg(d.Population, d.Z); err != nil {
			return nil, fmt.Errorf("population signals: %w", err)
		}
	}
	return &r, nil
}

// signalsAs returns d's signals as kind k: d.Signals itself when it already is, otherwise a converted copy.
func signalsAs(d *Data, k signal.Kind) ([]float64, error) {
	return convertedCopy(d.Signals, d.Kind, k, "signals")
}

// popAs returns d's population signals as kind k.
func popAs(d *Data, k signal.Kind) ([]float64, error) {
	return convertedCopy(d.Population, d.Kind, k, "population signals")
}

func convertedCopy(v []float64, from, to signal.Kind, name string) ([]float64, error) {
	if from == to {
		return v, nil
	}
	out := append([]float64(nil), v...)
	if err := signal.Convert(out, from, to); err != nil {
		return nil, fmt.Errorf("%s (records × models × queries, flat index): %w", name, err)
	}
	return out, nil
}
