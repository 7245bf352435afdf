// Package dpaudit audits DP-SGD training white-box with gradient canaries (Nasr, Song, Thakurta,
// Papernot & Carlini 2021, "Adversary Instantiation"; Nasr, Hayes, Steinke, Balle, Tramèr, Jagielski,
// Carlini & Terzis 2023, "Tight Auditing of Differentially Private Machine Learning"; Steinke, Nasr &
// Jagielski 2023, "Privacy Auditing with One (1) Training Run", white-box setting).
//
// m canaries are gradients rather than records: each a fixed direction u_i of the model's flattened
// trainable parameters (a single coordinate, "Dirac", or a random unit vector), included in the training
// independently with probability ½. An included canary is treated like one more record: at every step
// where it is sampled (Poisson sampling at the training's rate q, or once per epoch with shuffled
// batches) it adds Norm·u_i to the sum of clipped per-example gradients before the noise (nn's
// DPConfig.Canary hook). With Norm = C, the clipping norm, a canary is a record whose clipped gradient
// is Norm·u_i, so the accountant's (ε, δ) covers the canaries' inclusion as it covers any record's.
// The auditor sees every step's noisy sum (nn's DPConfig.Observe hook: what an adversary who sees all
// intermediate models learns) and scores each canary by
//
//	score_i = Σ_t ⟨noisySum_t, u_i⟩ / C                                  (ScoreSum)
//
// or by the likelihood ratio of the claimed mechanism, Σ_t log(1 − q + q·exp(x_t/σ − 1/(2σ²))) with x_t =
// ⟨noisySum_t, u_i⟩/(σC) (ScoreLikelihood, the Neyman–Pearson test of one canary against the claimed
// subsampled Gaussian). Either is a function of what the training reveals, so the one-run bounds of
// package metric apply to the scores of one training run (metric.OneRunAudit, with k+ and k− fixed before
// training by PlanGuesses) and the multi-run bound to one canary's scores over several runs
// (metric.MultiRunEpsilon).
//
// Simulate runs the DP-SGD step exactly on the canaries' coordinates (no model), for tests and for the
// soundness harness (Soundness), which also trains real DP-SGD models with package nn.
package dpaudit

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/pmeter/pmeter/nn"
)

// The canary directions (Spec.Direction).
const (
	// DirectionDirac puts canary i on one coordinate of the flattened parameters; the coordinates are
	// distinct, drawn uniformly from the seed, so no two canaries share one (Nasr et al. 2023's Dirac
	// canaries).
	DirectionDirac = "dirac"
	// DirectionRandom gives canary i a random unit direction (Gaussian coordinates, normalised), from the
	// seed; it costs m·d memory and time per step, so it suits small m.
	DirectionRandom = "random"
)

// The canary scores (Spec.Score).
const (
	// ScoreSum is Σ_t ⟨noisySum_t, u_i⟩ / C: the canary's coordinate summed over the steps.
	ScoreSum = "sum"
	// ScoreLikelihood is the log-likelihood ratio of the claimed Poisson-subsampled Gaussian mechanism,
	// summed over the steps: the most powerful test of one canary when the data's gradients are 0 on its
	// direction.
	ScoreLikelihood = "likelihood"
)

// MaxRandomFloats bounds m·d for DirectionRandom (the directions are held in memory as float32).
const MaxRandomFloats = 1 << 24

// Spec describes the gradient canaries of a training run, fixed before it.
type Spec struct {
	Count     int    // m ≥ 1
	Direction string // DirectionDirac ("" too) or DirectionRandom
	Score     string // ScoreSum ("" too) or ScoreLikelihood
	// ClipNorm is C, the training's clipping norm; NoiseMultiplier σ and SamplingRate q are the noise and
	// sampling that the training claims (the likelihood score and PlanGuesses use them).
	ClipNorm, NoiseMultiplier, SamplingRate float64
	// Norm is the L2 norm of an inserted canary gradient, in units of ClipNorm: 1 (the default, 0) for a
	// sound audit. Above 1 it simulates a training that skips clipping (test and soundness harness only).
	Norm float64
	// Isolate scores the noisy sum less the data's clipped gradient sum that Insert sees before adding
	// the canaries: the canaries and the noise alone (see Run.Observe). Otherwise the scores read the
	// noisy sum as it is, the data's gradients on the canaries' directions included.
	Isolate bool
	// Sampling is nn.SamplingPoisson ("" too): each included canary is inserted at each step with
	// probability SamplingRate; or nn.SamplingShuffle: once per epoch of StepsPerEpoch steps, at a step
	// drawn uniformly, as a record of shuffled fixed-size batches is.
	Sampling      string
	StepsPerEpoch int
	// Seed draws the canaries' directions (the same canaries in every run of a multi-run audit).
	Seed uint64
}

// norm returns the inserted gradient's norm in units of C.
func (s Spec) norm() float64 {
	if s.Norm == 0 {
		return 1
	}
	return s.Norm
}

// Validate checks the spec for a model with dim trainable parameters.
func (s Spec) Validate(dim int) error {
	switch {
	case s.Count < 1:
		return fmt.Errorf("dpaudit: %d canaries; want at least 1", s.Count)
	case s.Direction != "" && s.Direction != DirectionDirac && s.Direction != DirectionRandom:
		return fmt.Errorf("dpaudit: unknown canary direction %q (want %s or %s)", s.Direction, DirectionDirac, DirectionRandom)
	case s.Score != "" && s.Score != ScoreSum && s.Score != ScoreLikelihood:
		return fmt.Errorf("dpaudit: unknown canary score %q (want %s or %s)", s.Score, ScoreSum, ScoreLikelihood)
	case !(s.ClipNorm > 0) || math.IsInf(s.ClipNorm, 0):
		return fmt.Errorf("dpaudit: clipping norm %v; want a finite number > 0", s.ClipNorm)
	case !(s.NoiseMultiplier >= 0) || math.IsInf(s.NoiseMultiplier, 0):
		return fmt.Errorf("dpaudit: noise multiplier %v; want a finite number ≥ 0", s.NoiseMultiplier)
	case s.Score == ScoreLikelihood && s.NoiseMultiplier == 0:
		return errors.New("dpaudit: the likelihood score needs the claimed noise multiplier > 0")
	case !(s.SamplingRate > 0 && s.SamplingRate <= 1):
		return fmt.Errorf("dpaudit: sampling rate %v; want a number in (0, 1]", s.SamplingRate)
	case !(s.Norm >= 0) || math.IsInf(s.Norm, 0):
		return fmt.Errorf("dpaudit: canary norm %v; want a finite number ≥ 0 (0: the clipping norm)", s.Norm)
	case s.Sampling != "" && s.Sampling != nn.SamplingPoisson && s.Sampling != nn.SamplingShuffle:
		return fmt.Errorf("dpaudit: unknown sampling %q (want %s or %s)", s.Sampling, nn.SamplingPoisson, nn.SamplingShuffle)
	case s.Sampling == nn.SamplingShuffle && s.StepsPerEpoch < 1:
		return fmt.Errorf("dpaudit: shuffled batches need the steps per epoch, got %d", s.StepsPerEpoch)
	case dim < 1:
		return fmt.Errorf("dpaudit: a model with %d trainable parameters", dim)
	case s.Direction != DirectionRandom && s.Count > dim:
		return fmt.Errorf("dpaudit: %d Dirac canaries need as many distinct coordinates, but the model has %d trainable parameters", s.Count, dim)
	case s.Direction == DirectionRandom && s.Count*dim > MaxRandomFloats:
		return fmt.Errorf("dpaudit: %d random directions of %d parameters exceed %d values; use Dirac canaries or fewer", s.Count, dim, MaxRandomFloats)
	}
	return nil
}

// Run is the gradient canaries of one training run: its Insert and Observe methods are nn's DPConfig
// Canary and Observe hooks (Hook sets them), and Scores the canaries' scores once it has trained. A Run
// serves one training at a time.
type Run struct {
	spec     Spec
	dim      int
	included []bool
	seed     uint64
	coords   []int       // Dirac: canary i's coordinate
	dirs     [][]float32 // random: canary i's unit direction
	scores   []float64
	inserted []int
	pcg      rand.PCG
	mark     []bool    // scratch: inserted at this step
	clean    []float64 // Isolate: each direction's component of the step's clipped data sum
	err      error     // the first hook call the run could not serve (Err)
}

// fail records the first error of the hooks, which cannot return one.
func (r *Run) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// Err returns the first error the hooks met (a sum of the wrong size), nil if none: the scores are
// then incomplete and must not be used.
func (r *Run) Err() error { return r.err }

// NewRun returns the canaries of a training run of a model with dim trainable parameters: canary i is
// included when included[i]; its direction is drawn from spec.Seed and the steps it is inserted in from
// seed.
func NewRun(spec Spec, dim int, included []bool, seed uint64) (*Run, error) {
	if err := spec.Validate(dim); err != nil {
		return nil, err
	}
	if len(included) != spec.Count {
		return nil, fmt.Errorf("dpaudit: %d inclusions for %d canaries", len(included), spec.Count)
	}
	r := &Run{spec: spec, dim: dim, included: append([]bool(nil), included...), seed: seed,
		scores: make([]float64, spec.Count), inserted: make([]int, spec.Count), mark: make([]bool, spec.Count)}
	if spec.Isolate {
		r.clean = make([]float64, spec.Count)
	}
	src := rand.New(rand.NewPCG(spec.Seed, 0x646972656374)) // "direct"
	if spec.Direction == DirectionRandom {
		r.dirs = make([][]float32, spec.Count)
		for i := range r.dirs {
			v := make([]float64, dim)
			var ss float64
			for j := range v {
				v[j] = src.NormFloat64()
				ss += v[j] * v[j]
			}
			d, inv := make([]float32, dim), 1/math.Sqrt(ss)
			for j := range v {
				d[j] = float32(v[j] * inv)
			}
			r.dirs[i] = d
		}
	} else {
		r.coords = distinct(src, dim, spec.Count)
	}
	return r, nil
}

// distinct draws k distinct integers from [0, n) uniformly: a partial Fisher–Yates shuffle whose swaps
// are kept in a map, so that memory is O(k).
func distinct(r *rand.Rand, n, k int) []int {
	swapped := make(map[int]int, k)
	at := func(i int) int {
		if v, ok := swapped[i]; ok {
			return v
		}
		return i
	}
	out := make([]int, k)
	for i := range k {
		j := i + r.IntN(n-i)
		out[i] = at(j)
		swapped[j] = at(i)
	}
	return out
}

// Hook sets dp's Canary and Observe hooks to the run's.
func (r *Run) Hook(dp *nn.DPConfig) {
	dp.Canary = r.Insert
	dp.Observe = r.Observe
}

// sampled marks in r.mark the included canaries inserted at step.
func (r *Run) sampled(step int) {
	s := r.spec
	if s.Sampling == nn.SamplingShuffle {
		spe := s.StepsPerEpoch
		r.pcg.Seed(r.seed^0x73687566666c65, uint64(step/spe)) // "shuffle"; one draw per canary and epoch
		for i := range r.mark {
			at := int(r.pcg.Uint64() % uint64(spe))
			r.mark[i] = r.included[i] && at == step%spe
		}
		return
	}
	r.pcg.Seed(r.seed^0x706f6973736f6e, uint64(step)) // "poisson"; one draw per canary and step
	for i := range r.mark {
		u := float64(r.pcg.Uint64()>>11) / (1 << 53)
		r.mark[i] = r.included[i] && u < s.SamplingRate
	}
}

// Insert is the Canary hook: it adds Norm·C·u_i to sum for every included canary sampled at step.
func (r *Run) Insert(step int, sum []float32) {
	if len(sum) != r.dim {
		r.fail(fmt.Errorf("dpaudit: step %d: a gradient of %d parameters, but the canaries were drawn for %d", step, len(sum), r.dim))
		return
	}
	r.sampled(step)
	if r.clean != nil {
		for i := range r.clean {
			r.clean[i] = r.project(i, sum)
		}
	}
	g := r.spec.norm() * r.spec.ClipNorm
	for i, in := range r.mark {
		if !in {
			continue
		}
		r.inserted[i]++
		if r.coords != nil {
			sum[r.coords[i]] += float32(g)
			continue
		}
		for j, u := range r.dirs[i] {
			sum[j] += float32(g) * u
		}
	}
}

// project returns ⟨v, u_i⟩.
func (r *Run) project(i int, v []float32) float64 {
	if r.coords != nil {
		return float64(v[r.coords[i]])
	}
	var x float64
	for j, u := range r.dirs[i] {
		x += float64(v[j]) * float64(u)
	}
	return x
}

// Observe is the Observe hook: it adds each canary's statistic of the step's noisy sum to its score:
// of x = ⟨noisySum, u_i⟩/C, or with Isolate of x = ⟨noisySum − dataSum, u_i⟩/C, where dataSum is the
// clipped data sum that Insert saw at the step.
//
// Isolating keeps the accountant's guarantee for the canaries: given the steps before, the data's
// clipped sum depends on the model and on which records the step samples, which is independent of the
// canaries; so revealing it costs no privacy of a canary (adaptive composition), and the rest of the
// noisy sum is the subsampled Gaussian mechanism on the canaries. What the isolated score cannot see
// is a bug in how the data's own gradients are clipped: the canaries test the noise, the sampling and
// the accounting.
func (r *Run) Observe(step int, noisy []float32) {
	if len(noisy) != r.dim {
		r.fail(fmt.Errorf("dpaudit: step %d: a noisy sum of %d parameters, but the canaries were drawn for %d", step, len(noisy), r.dim))
		return
	}
	s := r.spec
	c := s.ClipNorm
	for i := range r.scores {
		x := r.project(i, noisy)
		if r.clean != nil {
			x -= r.clean[i]
		}
		x /= c
		if s.Score == ScoreLikelihood {
			r.scores[i] += stepLLR(x, s.NoiseMultiplier, s.SamplingRate)
		} else {
			r.scores[i] += x
		}
	}
}

// stepLLR is the log-likelihood ratio of one step's observation x (in units of C) under "included"
// against "excluded" for the subsampled Gaussian with noise σ and rate q: log(1 − q + q·e^a) with a =
// (x − ½)/σ², stable for any a.
func stepLLR(x, sigma, q float64) float64 {
	a := (x - 0.5) / (sigma * sigma)
	if q == 1 {
		return a
	}
	if a < 0 {
		return math.Log1p(q * math.Expm1(a))
	}
	// log(1 − q + q e^a) = a + log(q + (1 − q) e^−a)
	return a + math.Log(q+(1-q)*math.Exp(-a))
}

// Scores returns the canaries' scores (higher = more likely included), in canary order.
func (r *Run) Scores() []float64 { return append([]float64(nil), r.scores...) }

// Insertions returns how many steps each canary was inserted in (0 for an excluded canary).
func (r *Run) Insertions() []int { return append([]int(nil), r.inserted...) }

// Coordinates returns the Dirac canaries' coordinates in the flattened parameters (nil for random
// directions).
func (r *Run) Coordinates() []int { return append([]int(nil), r.coords...) }

// Included returns which canaries are included.
func (r *Run) Included() []bool { return append([]bool(nil), r.included...) }

// Mechanism is the DP-SGD step as it runs, for Simulate: the noise multiplier it adds (a broken training
// adds less than the Spec claims), the clipping norm C, the number of steps, and the data's clipped
// gradient sum on each coordinate, which Simulate draws as N(0, (Drift·C)²) per step and coordinate
// (0: the data contribute nothing to the canaries' coordinates).
type Mechanism struct {
	NoiseMultiplier float64
	ClipNorm        float64
	Steps           int
	Drift           float64
}

// Simulate trains nothing: it runs mech's steps on the run's parameters, each step a sum of the data's
// clipped gradients (Drift), the canaries (Insert), Gaussian noise of standard deviation σ·C on every
// coordinate (Dirac canaries: on theirs, the only ones their scores read), and Observe, exactly as
// DP-SGD does on the canaries' coordinates. The noise comes from seed.
func (r *Run) Simulate(mech Mechanism, seed uint64) error {
	if !(mech.NoiseMultiplier >= 0) || !(mech.ClipNorm > 0) || mech.Steps < 0 || !(mech.Drift >= 0) {
		return fmt.Errorf("dpaudit: simulated mechanism %+v: want σ ≥ 0, C > 0, steps ≥ 0, drift ≥ 0", mech)
	}
	noise := rand.New(rand.NewPCG(seed, 0x6e6f697365)) // "noise"
	sum := make([]float32, r.dim)
	sd := mech.NoiseMultiplier * mech.ClipNorm
	drift := mech.Drift * mech.ClipNorm
	for t := range mech.Steps {
		clear(sum)
		if drift > 0 {
			for j := range sum {
				sum[j] = float32(drift * noise.NormFloat64())
			}
		}
		r.Insert(t, sum)
		if r.coords != nil {
			// Only the canaries' coordinates enter their scores.
			for _, j := range r.coords {
				sum[j] += float32(sd * noise.NormFloat64())
			}
		} else {
			for j := range sum {
				sum[j] += float32(sd * noise.NormFloat64())
			}
		}
		r.Observe(t, sum)
	}
	return nil
}
