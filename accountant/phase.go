package accountant

import (
	"errors"
	"fmt"
	"math"
)

// Phase is one stretch of DP-SGD training: Steps rounds, each of which samples every record independently
// with probability SamplingRate (Poisson sampling) and adds Gaussian noise of standard deviation
// NoiseMultiplier times the clipping norm (the sensitivity) to the summed gradient. Neighbouring data sets
// differ by adding or removing one record.
//
// In dp_accounting this is SelfComposedDpEvent(PoissonSampledDpEvent(q, GaussianDpEvent(σ)), steps).
type Phase struct {
	SamplingRate    float64 // q in (0, 1]
	NoiseMultiplier float64 // σ > 0
	Steps           int     // T ≥ 1
}

// Validate reports the first parameter of p that is out of range.
func (p Phase) Validate() error {
	switch q := p.SamplingRate; {
	case math.IsNaN(q) || q <= 0 || q > 1:
		return fmt.Errorf("sampling rate %v: want a number in (0, 1]", q)
	}
	switch s := p.NoiseMultiplier; {
	case math.IsNaN(s) || math.IsInf(s, 0) || s <= 0:
		return fmt.Errorf("noise multiplier %v: want a finite number > 0", s)
	}
	if p.Steps < 1 {
		return fmt.Errorf("steps %d: want at least 1", p.Steps)
	}
	return nil
}

func validatePhases(phases []Phase) error {
	if len(phases) == 0 {
		return errors.New("no phase to account for: want at least one (sampling rate, noise multiplier, steps)")
	}
	for i, p := range phases {
		if err := p.Validate(); err != nil {
			if len(phases) == 1 {
				return err
			}
			return fmt.Errorf("phase %d: %w", i+1, err)
		}
	}
	return nil
}

// ValidateDelta checks a target δ: a probability strictly between 0 and 1.
func ValidateDelta(delta float64) error {
	if math.IsNaN(delta) || delta <= 0 || delta >= 1 {
		return fmt.Errorf("delta %v: want a number in (0, 1)", delta)
	}
	return nil
}

// ValidateEpsilon checks an ε: finite and not negative.
func ValidateEpsilon(eps float64) error {
	if math.IsNaN(eps) || math.IsInf(eps, 0) || eps < 0 {
		return fmt.Errorf("epsilon %v: want a finite number ≥ 0", eps)
	}
	return nil
}
