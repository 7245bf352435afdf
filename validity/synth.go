package validity

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/signal"
)

// Signal is the synthetic signal model: it describes, without training any model, what M models output
// on N audited and Z population records. For record i, model m and query q the rescaled logit is
//
//	φ = Mu + difficulty_i + offset_m + β_m·[i IN m] + noise_{i,m} + noise_{i,m,q},
//
// with difficulty_i ~ N(0, Difficulty²) shared by all models (some records are hard for every model),
// offset_m ~ N(0, ModelNoise²) (models differ in confidence), noise_{i,m} ~ N(0, σ²) and noise_{i,m,q}
// ~ N(0, QueryNoise²). A model that leaks shifts its members by β = Beta and draws their noise with
// σ = InNoise (members vary less across models than non-members, as LiRA observes); its non-members, and
// every record of a model that does not leak (β = 0), have σ = OutNoise. A model that does not leak
// therefore outputs the same distribution on every record, whatever its membership.
//
// Labels are uniform over Classes classes. The probability vector of record i under model m has
// p_y = sigmoid(φ of query 0), so that log(p_y/(1 − p_y)) is φ, and the rest 1 − p_y spread over the
// other classes in proportions that depend on the record (shared by the models) and, less, on the model.
type Signal struct {
	Mu         float64 `json:"mu"`
	Difficulty float64 `json:"difficulty"`
	ModelNoise float64 `json:"model_noise"`
	InNoise    float64 `json:"in_noise"`
	OutNoise   float64 `json:"out_noise"`
	QueryNoise float64 `json:"query_noise"`
	Beta       float64 `json:"beta"`
	Classes    int     `json:"classes"`
}

// DefaultSignal returns the signal model of the harnesses: the reference models leak with β = 2 (a LOSS
// attack on one of them alone has an AUC of about 0.79), enough for a reference selection that depends
// on the target's membership to shift null AUCs by 0.02 to 0.05.
func DefaultSignal() Signal {
	return Signal{Mu: 1, Difficulty: 1.5, ModelNoise: 0.1, InNoise: 0.7, OutNoise: 1, QueryNoise: 0.5, Beta: 2, Classes: 10}
}

func (s Signal) check() error {
	for _, v := range []struct {
		name string
		x    float64
	}{{"difficulty", s.Difficulty}, {"model noise", s.ModelNoise}, {"IN noise", s.InNoise}, {"OUT noise", s.OutNoise}, {"query noise", s.QueryNoise}, {"beta", s.Beta}} {
		if !(v.x >= 0) || math.IsInf(v.x, 0) {
			return fmt.Errorf("signal model: %s %v; want a finite number >= 0", v.name, v.x)
		}
	}
	if math.IsNaN(s.Mu) || math.IsInf(s.Mu, 0) {
		return fmt.Errorf("signal model: mu %v; want a finite number", s.Mu)
	}
	if s.Classes < 2 {
		return fmt.Errorf("signal model: %d classes; want at least 2", s.Classes)
	}
	return nil
}

// Draw is one synthetic data set.
type Draw struct {
	// Members is N × M, row-major: Members[i*M+m] is true when record i is IN model m.
	Members []bool
	N, M    int
	// Design is declared on the data (attack.Data.Design).
	Design attack.Design
	// Silent lists the models that do not leak (β = 0): their signals do not depend on their memberships.
	Silent []int
	// Z population records (OUT for every model) and Q queries per record.
	Z, Q int
	Seed uint64
}

// Generate returns the data of draw under the signal model s: signals of kind signal.RescaledLogit (N × M ×
// Q), population signals, labels and probability vectors, with Design set. The result depends only on s
// and draw (Seed included).
func Generate(s Signal, draw Draw) (*attack.Data, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	n, m, z, q, c := draw.N, draw.M, draw.Z, draw.Q, s.Classes
	switch {
	case n < 1 || m < 1 || q < 1 || z < 0:
		return nil, fmt.Errorf("synthetic data: %d records × %d models × %d queries and %d population records; want positive counts", n, m, q, z)
	case len(draw.Members) != n*m:
		return nil, fmt.Errorf("synthetic data: %d memberships, want %d (%d records × %d models)", len(draw.Members), n*m, n, m)
	}
	leaks := make([]bool, m)
	for k := range leaks {
		leaks[k] = true
	}
	for _, k := range draw.Silent {
		if k < 0 || k >= m {
			return nil, fmt.Errorf("synthetic data: silent model %d does not exist (there are %d models)", k, m)
		}
		leaks[k] = false
	}
	r := rand.New(rand.NewPCG(draw.Seed, 0x73796e7468)) // "synth"
	offset := make([]float64, m)
	for k := range offset {
		offset[k] = s.ModelNoise * r.NormFloat64()
	}
	d := &attack.Data{
		N: n, M: m, Q: q, Kind: signal.RescaledLogit, Members: draw.Members, Design: draw.Design,
		Signals: make([]float64, n*m*q), Labels: make([]int, n), C: c, Probs: make([]float64, n*m*c),
		Z: z, Population: make([]float64, z*m*q), PopLabels: make([]int, z), PopProbs: make([]float64, z*m*c),
	}
	spread := make([]float64, c)
	// record draws the signals, label and probability vectors of one record; members nil means OUT everywhere.
	record := func(members []bool, sig, probs []float64) int {
		y := r.IntN(c)
		for k := range spread {
			spread[k] = r.NormFloat64()
		}
		base := s.Mu + s.Difficulty*r.NormFloat64()
		for k := range m {
			in := members != nil && members[k]
			mean, sd := base+offset[k], s.OutNoise
			if in && leaks[k] {
				mean, sd = mean+s.Beta, s.InNoise
			}
			mean += sd * r.NormFloat64()
			for j := range q {
				sig[k*q+j] = mean + s.QueryNoise*r.NormFloat64()
			}
			fillProbs(probs[k*c:(k+1)*c], y, sig[k*q], spread, r)
		}
		return y
	}
	for i := range n {
		d.Labels[i] = record(draw.Members[i*m:(i+1)*m], d.Signals[i*m*q:(i+1)*m*q], d.Probs[i*m*c:(i+1)*m*c])
	}
	for i := range z {
		d.PopLabels[i] = record(nil, d.Population[i*m*q:(i+1)*m*q], d.PopProbs[i*m*c:(i+1)*m*c])
	}
	return d, nil
}

// fillProbs writes a probability vector with p_y = sigmoid(phi) and 1 − p_y over the other classes in
// proportion to exp(spread_k + ½·noise), noise drawn from r per class.
func fillProbs(p []float64, y int, phi float64, spread []float64, r *rand.Rand) {
	// sigmoid and its complement without cancellation: log(p_y/(1 − p_y)) = phi to rounding.
	py, rest := 1/(1+math.Exp(-phi)), 1/(1+math.Exp(phi))
	sum := 0.0
	for k := range p {
		if k == y {
			continue
		}
		p[k] = math.Exp(spread[k] + 0.5*r.NormFloat64())
		sum += p[k]
	}
	for k := range p {
		p[k] *= rest / sum
	}
	p[y] = py
}
