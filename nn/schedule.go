package nn

import "math"

// Schedule gives the learning-rate multiplier for an optimisation step. step counts from 0 over the
// whole run of total steps, with perEpoch steps per epoch. Schedules are plain values, safe to share.
type Schedule interface {
	Factor(step, perEpoch, total int) float64
}

// Constant keeps the learning rate fixed.
type Constant struct{}

// Factor implements Schedule.
func (Constant) Factor(step, perEpoch, total int) float64 { return 1 }

// StepDecay multiplies the learning rate by Gamma every Every epochs (torch.optim.lr_scheduler.StepLR
// stepped once per epoch): factor = Gamma^⌊epoch/Every⌋. Every ≤ 0 means no decay.
type StepDecay struct {
	Every int
	Gamma float64
}

// Factor implements Schedule.
func (s StepDecay) Factor(step, perEpoch, total int) float64 {
	if s.Every <= 0 || perEpoch <= 0 {
		return 1
	}
	return math.Pow(s.Gamma, float64(step/perEpoch/s.Every))
}

// Cosine is cosine annealing with linear warm-up: during the first Warmup steps the factor rises
// linearly, (step+1)/Warmup; afterwards it follows Min + (1 − Min)·(1 + cos(π·s/S))/2 with s the
// step after warm-up and S the steps after warm-up, ending near Min (a fraction of the base rate).
type Cosine struct {
	Warmup int
	Min    float64
}

// Factor implements Schedule.
func (c Cosine) Factor(step, perEpoch, total int) float64 {
	if step < c.Warmup {
		return float64(step+1) / float64(c.Warmup)
	}
	span := total - c.Warmup
	if span <= 0 {
		return 1
	}
	return c.Min + (1-c.Min)*(1+math.Cos(math.Pi*float64(step-c.Warmup)/float64(span)))/2
}

// LiRA is the schedule Privacy Meter's default trainer ports from the LiRA code (applied per batch
// with LambdaLR): factor = 0.1·cos(7π/16·t)·min(1, 100·t) with t = step/total, so the first step has
// rate 0 and the peak, 0.1× the base rate, comes after 1 % of training.
type LiRA struct{}

// Factor implements Schedule.
func (LiRA) Factor(step, perEpoch, total int) float64 {
	if total <= 0 {
		return 0
	}
	t := float64(step) / float64(total)
	return 0.1 * math.Cos(7*math.Pi/16*t) * math.Min(1, 100*t)
}
