package attack

import (
	"fmt"

	"github.com/pmeter/pmeter/signal"
)

// PopulationConfig configures Attack-P.
type PopulationConfig struct {
	// ThresholdFn is one of Privacy Meter v1's threshold functions (ParseThresholdFn; empty = LinearItp).
	ThresholdFn ThresholdFn
	// Alphas are the false positive rates of v1's α grid, used by PopulationPredictions (nil =
	// DefaultAlphas). The scores do not depend on them.
	Alphas []float64
}

// Population returns the score of Attack-P, the population attack of Ye, Maddi, Murakonda, Bindschaedler
// and Shokri, "Enhanced Membership Inference Attacks against Machine Learning Models" (ACM CCS 2022,
// attack P), as Privacy Meter v1 runs it (PopulationMetric): the target model's loss on a record is
// compared with the distribution of its losses on population records, which are known non-members. One
// distribution serves every record.
//
// The score is −α*(loss), α* being the false positive rate at which v1's threshold function starts to call
// the record a member (see Reference for α* of each function): the negated one-sided p-value of the loss
// under the population's empirical CDF (linearly interpolated for LinearItp) or Gaussian fit. Higher =
// more likely a member; its ROC passes through every point of v1's α sweep (for LinearItp and
// MinLinearLogit, every inner point). With one global distribution it ranks records as −loss does, except
// for ties. PopulationPredictions reproduces v1's decisions on the α grid.
//
// Signals are converted to the cross-entropy loss (signal.Convert); with several queries the losses are
// averaged over the queries. It needs d.Population (the target model's column is used).
func Population(d *Data, target int, cfg PopulationConfig) ([]float64, error) {
	p, err := newPopulation(d, target, cfg)
	if err != nil {
		return nil, err
	}
	ref := newRefSample(p.fn, p.pop)
	out := make([]float64, d.N)
	for i, s := range p.loss {
		out[i] = -ref.level(p.fn, s)
	}
	return out, nil
}

// PopulationPredictions returns Privacy Meter v1's PopulationMetric decisions: for every α of cfg.Alphas
// (rows) and every record (columns), whether the record's loss lies strictly below the α threshold of
// the population losses (Thresholds). The result is len(Alphas) × N, α-major; the ROC point of row j is
// (fraction of non-members predicted, fraction of members predicted).
func PopulationPredictions(d *Data, target int, cfg PopulationConfig) ([]bool, error) {
	p, err := newPopulation(d, target, cfg)
	if err != nil {
		return nil, err
	}
	t, err := Thresholds(p.fn, p.pop, p.alphas)
	if err != nil {
		return nil, fmt.Errorf("population thresholds: %w", err)
	}
	out := make([]bool, len(t)*d.N)
	for j, tj := range t {
		for i, s := range p.loss {
			out[j*d.N+i] = s < tj
		}
	}
	return out, nil
}

// population holds Attack-P's inputs: the target's losses and its population losses.
type population struct {
	fn     ThresholdFn
	alphas []float64
	loss   []float64 // N
	pop    []float64 // Z
}

func newPopulation(d *Data, target int, cfg PopulationConfig) (*population, error) {
	fn, alphas, err := thresholdConfig(cfg.ThresholdFn, cfg.Alphas)
	if err != nil {
		return nil, fmt.Errorf("population attack: %w", err)
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if err := d.CheckTarget(target); err != nil {
		return nil, err
	}
	if d.Z == 0 {
		return nil, fmt.Errorf("population attack: the data has no population signals")
	}
	sig, err := signalsAs(d, signal.Loss)
	if err != nil {
		return nil, err
	}
	pop, err := popAs(d, signal.Loss)
	if err != nil {
		return nil, err
	}
	return &population{
		fn:     fn,
		alphas: alphas,
		loss:   queryMeans(sig, d.N, d.M, d.Q, target),
		pop:    queryMeans(pop, d.Z, d.M, d.Q, target),
	}, nil
}

// thresholdConfig validates a threshold function and an α grid (nil = DefaultAlphas).
func thresholdConfig(fn ThresholdFn, alphas []float64) (ThresholdFn, []float64, error) {
	fn, err := ParseThresholdFn(string(fn))
	if err != nil {
		return "", nil, err
	}
	if alphas == nil {
		alphas = DefaultAlphas()
	}
	if err := checkSample(fn, "alphas", []float64{0}, alphas); err != nil {
		return "", nil, err
	}
	return fn, alphas, nil
}

// queryMeans returns, for each of n records, the mean over queries of the signal of model m in an
// n × models × q array.
func queryMeans(sig []float64, n, models, q, m int) []float64 {
	out := make([]float64, n)
	for i := range out {
		s := 0.0
		for k := 0; k < q; k++ {
			s += sig[(i*models+m)*q+k]
		}
		out[i] = s / float64(q)
	}
	return out
}
