package attack

import (
	"fmt"
	"math"

	"github.com/pmeter/pmeter/signal"
)

// QueryAggregate says how RMIA combines several queries (augmentations) of a record.
type QueryAggregate string

// The ways of combining queries.
const (
	// QueryMean averages the queries' probabilities Pr(x|θ), then runs one test (the default).
	QueryMean QueryAggregate = "mean"
	// QueryMajority runs the test per query and counts the population records that the record beats in a
	// strict majority of the queries: the majority vote of the RMIA paper's code over its augmentations.
	QueryMajority QueryAggregate = "majority"
)

// RMIAConfig configures RMIA. The zero value is offline RMIA with a = 0, γ = 1 and every reference model.
type RMIAConfig struct {
	// NumRef is R: a record is compared with at most R reference models it was IN and R it was OUT (the
	// first in model order among those SelectReferences leaves it; 0 means all). Offline only the OUT ones
	// are used; a population record is compared with the first R models of the pool offline, 2R online.
	// Compat: R as Privacy Meter's num_reference_models (see RMIAOutSignals); 0 means every complete pair.
	NumRef int

	// Online selects the online attack: Pr(x) = ½(Pr_IN(x) + Pr_OUT(x)), the means of Pr(x|θ) over the
	// record's IN and OUT references, as in the paper; OfflineA is then ignored.
	Online bool

	// OfflineA is a in [0, 1]: offline, Pr_IN(x) is approximated by a·Pr_OUT(x) + 1 − a, so that
	// Pr(x) = ½(Pr_IN(x) + Pr_OUT(x)) = (1+a)/2·Pr_OUT(x) + (1−a)/2, the paper's offline approximation
	// (evaluated in that order, as Privacy Meter does). a = 1 gives Pr(x) = Pr_OUT(x). TuneOfflineA
	// chooses it.
	OfflineA float64

	// Gamma is γ > 0; 0 means 1 (Privacy Meter's fixed value). score(x) counts the population records z with
	// LR(x, z) > γ, strictly.
	Gamma float64

	// Aggregate combines several queries; "" means QueryMean.
	Aggregate QueryAggregate

	// RefModels lists the models that may serve as references, in order of preference (nil: every model).
	// SelectReferences removes the target and the models determined by it.
	RefModels []int

	// Compat CompatPrivacyMeter reproduces Privacy Meter v2 attacks.py (run_rmia, get_rmia_out_signals,
	// tune_offline_a at commit e384af8) to the last bit; see rmiaCompat.
	Compat Compat
}

// RMIA returns the RMIA membership score of every record against target model target: one value per
// record in [0, 1], higher = more likely a member.
//
// RMIA is the relative membership inference attack of Zarifzadeh, Liu and Shokri, "Low-Cost High-Power
// Membership Inference Attacks", ICML 2024 (arXiv 2312.03262), §3. With Pr(x|θ) the probability of the
// true label of x under model θ (Data.Kind converted to signal.ProbTrue), the pairwise likelihood ratio
// of record x against a population record z (Eq. 3) is
//
//	LR(x, z) = (Pr(x|θ_target) / Pr(x)) / (Pr(z|θ_target) / Pr(z)),
//
// Pr(·) being the average of Pr(·|θ) over reference models θ (Eq. 4; RMIAConfig.Online and OfflineA),
// and the score (Eq. 5) is
//
//	score(x) = #{z in population : LR(x, z) > γ} / Z,
//
// with a strict > as in Privacy Meter and the paper's code (the paper writes ≥). A record's references
// are chosen by SelectReferences; a record without OUT references (possible in the bernoulli design) takes
// the population's mean Pr_OUT, a record without IN references online the mean of its OUT references.
//
// Ties: the count takes Z + 1 values, so many records tie, and with them TPR at false-positive rates below
// 1/Z and the ranking of the most exposed records. For one query, score(x) is non-decreasing in the
// record's own ratio Pr(x|θ_target)/Pr(x), so the default breaks ties by that ratio: it adds a fraction
// in [0, 1) that interpolates the ratio between the two population ratios around it (rmiaCount). The
// order of the counts is kept; within a count the order is that of the record's ratio. Majority votes
// (QueryMajority) are not refined.
//
// Compat CompatPrivacyMeter is Privacy Meter v2 (rmiaCompat): no tie-breaking, offline only, γ = 1.
//
// Errors: shapes or signal values that Data.Validate rejects (labels and full probability vectors, which
// RMIA does not read, are not checked), no population, a target or a reference model out of range, too
// few reference models, a outside [0, 1], γ not positive and finite.
func RMIA(d *Data, target int, cfg RMIAConfig) ([]float64, error) {
	if d != nil && d.Kind == signal.Residual {
		return RMIAResidual(d, target, cfg)
	}
	if err := checkRMIAData(d, target); err != nil {
		return nil, err
	}
	if cfg.Compat == CompatPrivacyMeter {
		return rmiaCompat(d, target, cfg)
	}
	switch cfg.Aggregate {
	case "", QueryMean:
		if d.Q > 1 {
			var err error
			if d, err = d.MeanQueries(signal.ProbTrue); err != nil {
				return nil, fmt.Errorf("rmia: %w", err)
			}
		}
	case QueryMajority:
		if d.Q > 1 {
			return rmiaMajority(d, target, cfg)
		}
	default:
		return nil, fmt.Errorf("rmia: aggregate %q; want %q or %q", cfg.Aggregate, QueryMean, QueryMajority)
	}
	p, err := newRMIAPlan(d, target, cfg)
	if err != nil {
		return nil, err
	}
	return p.scores(d, true)
}

// rmiaPlan is RMIA's validated configuration for one target model.
type rmiaPlan struct {
	target  int
	online  bool
	refs    *References
	popRefs []int   // the references averaged for a population record
	c1, c2  float64 // offline: Pr = c1·Pr_OUT + c2, c1 = (1+a)/2, c2 = (1−a)/2
	gamma   float64
	kind    signal.Kind
}

func newRMIAPlan(d *Data, target int, cfg RMIAConfig) (*rmiaPlan, error) {
	gamma, err := checkRMIAConfig(cfg)
	if err != nil {
		return nil, err
	}
	refs, err := SelectReferences(d, target, RefConfig{NumRef: cfg.NumRef, Models: cfg.RefModels})
	if err != nil {
		return nil, fmt.Errorf("rmia: %w", err)
	}
	if err := refs.need(cfg.Online, true, cfg.NumRef, cfg.NumRef); err != nil {
		return nil, fmt.Errorf("rmia: %w", err)
	}
	p := &rmiaPlan{target: target, online: cfg.Online, refs: refs, gamma: gamma, kind: d.Kind,
		c1: (1 + cfg.OfflineA) / 2, c2: (1 - cfg.OfflineA) / 2}
	p.popRefs = refs.Models(cfg.NumRef)
	if cfg.Online && cfg.NumRef > 0 {
		p.popRefs = refs.Models(2 * cfg.NumRef)
	}
	return p, nil
}

// checkRMIAConfig validates the numbers of cfg and returns γ.
func checkRMIAConfig(cfg RMIAConfig) (gamma float64, err error) {
	gamma = cfg.Gamma
	if gamma == 0 {
		gamma = 1
	}
	switch {
	case !(gamma > 0) || math.IsInf(gamma, 0):
		return 0, fmt.Errorf("rmia: gamma = %v, want a positive finite number (0 means 1)", cfg.Gamma)
	case cfg.NumRef < 0:
		return 0, fmt.Errorf("rmia: %d reference models requested; want a count >= 0 (0 means all)", cfg.NumRef)
	case !cfg.Online && !(cfg.OfflineA >= 0 && cfg.OfflineA <= 1):
		return 0, fmt.Errorf("rmia: offline a = %v, want a value in [0, 1]", cfg.OfflineA)
	}
	return gamma, nil
}

// marginalX returns Pr(x) of record i from its row of p(true label) under every model (Eq. 4), or, when
// the record has no OUT reference offline, NaN for the caller's fallback.
func (p *rmiaPlan) marginalX(i int, row []float64, in, out []int) float64 {
	sumIn, sumOut := 0.0, 0.0
	for _, c := range in {
		sumIn += row[c]
	}
	for _, c := range out {
		sumOut += row[c]
	}
	if p.online {
		switch {
		case len(in) > 0 && len(out) > 0:
			return (sumIn/float64(len(in)) + sumOut/float64(len(out))) / 2
		default:
			return (sumIn + sumOut) / float64(len(in)+len(out))
		}
	}
	if len(out) == 0 {
		return math.NaN()
	}
	return p.offline(sumOut / float64(len(out)))
}

// marginalZ returns Pr(z) of a population record from its row, and Pr_OUT(z), the mean over the
// population's references (z is OUT for every model).
func (p *rmiaPlan) marginalZ(row []float64) (pr, prOut float64) {
	sum := 0.0
	for _, c := range p.popRefs {
		sum += row[c]
	}
	prOut = sum / float64(len(p.popRefs))
	if p.online {
		return prOut, prOut
	}
	return p.offline(prOut), prOut
}

// offline returns (1+a)/2·Pr_OUT + (1−a)/2. The explicit conversion keeps the product rounded on its own
// (no fused multiply-add), as numpy computes it.
func (p *rmiaPlan) offline(prOut float64) float64 { return float64(p.c1*prOut) + p.c2 }

// scores computes every record's score; tieBreak refines the counts by the record's own ratio.
func (p *rmiaPlan) scores(d *Data, tieBreak bool) ([]float64, error) {
	rx, rz, err := p.ratios(d)
	if err != nil {
		return nil, err
	}
	return rmiaCount(rx, rz, p.gamma, tieBreak), nil
}

// ratios returns ratio_x = Pr(x|θ_target)/Pr(x) of every record and ratio_z of every population record.
func (p *rmiaPlan) ratios(d *Data) (rx, rz []float64, err error) {
	m := d.M
	rz = make([]float64, d.Z)
	popOut := make([]float64, d.Z) // Pr_OUT(z), for the records without OUT references
	err = parallelRows(d.Z, func(lo, hi int) error {
		conv := make([]float64, m)
		for z := lo; z < hi; z++ {
			row, err := probRow(conv, p.kind, "population signals", d.Population, z, m)
			if err != nil {
				return err
			}
			pr, prOut := p.marginalZ(row)
			rz[z] = row[p.target] / pr
			popOut[z] = prOut
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	fallback := p.offline(mean(popOut))
	rx = make([]float64, d.N)
	err = parallelRows(d.N, func(lo, hi int) error {
		conv := make([]float64, m)
		var in, out []int
		for i := lo; i < hi; i++ {
			row, err := probRow(conv, p.kind, "signals", d.Signals, i, m)
			if err != nil {
				return err
			}
			in, out = p.refs.Record(i, in, out)
			pr := p.marginalX(i, row, in, out)
			if math.IsNaN(pr) {
				pr = fallback
			}
			rx[i] = row[p.target] / pr
		}
		return nil
	})
	return rx, rz, err
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// rmiaMajority is RMIA with QueryMajority: per query q the ratios of records and population records, and
// score(x) = #{z : #{q : ratio_xq/ratio_zq > γ} > Q/2} / Z. It takes O(N·Z·Q) time.
func rmiaMajority(d *Data, target int, cfg RMIAConfig) ([]float64, error) {
	p, err := newRMIAPlan(d, target, cfg)
	if err != nil {
		return nil, err
	}
	rx := make([][]float64, d.Q)
	rz := make([][]float64, d.Q)
	for q := range d.Q {
		dq := d.query(q)
		if rx[q], rz[q], err = p.ratios(dq); err != nil {
			return nil, fmt.Errorf("query %d: %w", q, err)
		}
	}
	out := make([]float64, d.N)
	err = parallelRows(d.N, func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			c := 0
			for z := range d.Z {
				votes := 0
				for q := range d.Q {
					if rx[q][i]/rz[q][z] > p.gamma {
						votes++
					}
				}
				if 2*votes > d.Q {
					c++
				}
			}
			out[i] = float64(c) / float64(d.Z)
		}
		return nil
	})
	return out, err
}
