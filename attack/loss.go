package attack

import (
	"fmt"

	"github.com/pmeter/pmeter/signal"
)

// LOSSConfig configures LOSS.
type LOSSConfig struct {
	// Compat CompatPrivacyMeter reproduces Privacy Meter v2 attacks.run_loss, which returns −p(true
	// label): the sign is inverted, so members (higher p) get lower scores and the AUC falls below 0.5 on
	// a leaking model. It requires one query (Q = 1). Off by default.
	Compat Compat
	// Error is the error of a regression model's residual that the score negates (signals of kind
	// signal.Residual; see regression.go): RegressionSquared (default) or RegressionAbsolute.
	Error RegressionError
}

// LOSS is the reference-free loss-threshold attack of Yeom et al., "Privacy Risk in Machine Learning:
// Analyzing the Connection to Overfitting" (IEEE CSF 2018, §3.2, Algorithm 1 with a swept threshold):
// a record is guessed to be a member when the target model's loss on it is low.
//
// The score of record i is −ℓ_i, the negated cross-entropy loss of the target model t (d.Signals
// converted to signal.Loss; e.g. ln p for a prob_true signal), averaged over the Q queries; higher
// means more likely a member. The result has one score per record (length d.N). Signals must be of a
// kind convertible to signal.Loss (prob_true, loss or rescaled_logit).
//
// With CompatPrivacyMeter the score is −p_i (d.Signals converted to signal.ProbTrue), exactly as Privacy
// Meter v2 run_loss computes it — lower means member there. No reference models are used.
func LOSS(d *Data, target int, cfg LOSSConfig) ([]float64, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if target < 0 || target >= d.M {
		return nil, fmt.Errorf("loss: target model %d does not exist (there are %d models)", target, d.M)
	}
	if d.Kind == signal.Residual {
		return lossResidual(d, target, cfg)
	}
	want := signal.Loss
	if cfg.Compat == CompatPrivacyMeter {
		if d.Q != 1 {
			return nil, fmt.Errorf("loss: Privacy Meter's run_loss takes one query per record, the signals have %d", d.Q)
		}
		want = signal.ProbTrue
	}
	scores := make([]float64, d.N)
	for q := 0; q < d.Q; q++ {
		col, err := d.Column(target, q, want)
		if err != nil {
			return nil, fmt.Errorf("loss: %w", err)
		}
		for i, v := range col {
			scores[i] -= v
		}
	}
	if d.Q > 1 {
		for i := range scores {
			scores[i] /= float64(d.Q)
		}
	}
	return scores, nil
}
