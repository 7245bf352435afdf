package nn

// DP-SGD (Abadi et al. 2016, "Deep Learning with Differential Privacy"): each step's per-example
// gradients are clipped to norm C, summed, and Gaussian noise N(0, σ²C²) is added to the sum before the
// update. The types below are the contract between Train and its callers (the audit pipeline and the
// white-box gradient-canary audit).

// Sampling schemes of DP-SGD batches.
const (
	// SamplingPoisson includes every record in a step's batch independently with probability
	// SamplingRate, as the accountants assume: the batch size varies, an empty batch still takes a noise
	// step, and the noisy sum is divided by the expected batch size q·N.
	SamplingPoisson = "poisson"
	// SamplingShuffle visits the records in shuffled fixed-size batches; the accountants' ε does not
	// strictly apply to it (the run says so).
	SamplingShuffle = "shuffle"
)

// DPConfig turns Train into DP-SGD. Zero values take the defaults noted.
type DPConfig struct {
	NoiseMultiplier float64 // σ ≥ 0: the noise's standard deviation is σ·MaxGradNorm
	MaxGradNorm     float64 // C > 0: every per-example gradient is clipped to this L2 norm
	Sampling        string  // SamplingPoisson (default) or SamplingShuffle
	// SamplingRate is q for Poisson sampling; 0 takes BatchSize/N. Steps per epoch are ⌈N/BatchSize⌉
	// (TrainConfig.StepsPerEpoch) either way.
	SamplingRate float64
	// MicroBatch bounds how many examples' gradients are held at once (0: twice the batch size); a
	// large Poisson batch is split into micro-batches, never truncated.
	MicroBatch int
	// StepsPerEpoch, when > 0, fixes the steps of an epoch whatever the data's size (the accountant's
	// T/epochs, computed from a nominal training-set size); 0 takes TrainConfig.StepsPerEpoch(N).
	StepsPerEpoch int
	// ExpectedBatch, when > 0, is the divisor of the noisy sum under Poisson sampling (q·N for a
	// nominal N); 0 takes SamplingRate·N for the data's N. Shuffled batches divide by their size.
	ExpectedBatch float64

	// Canary, when set, is called at every step (0-based) with the sum of the clipped per-example
	// gradients, flattened over the model's trainable parameters in Params order, before the noise is
	// added. The white-box gradient-canary audit adds its canary gradients here (each of norm ≤ C for a
	// sound mechanism). It must not keep sum.
	Canary func(step int, sum []float32)
	// Observe, when set, is called at every step with the noisy sum (clipped sum, canaries and noise),
	// flattened likewise, before it is divided by the batch size and applied: what an auditor who sees
	// every intermediate model learns. It must not keep or modify sum.
	Observe func(step int, noisySum []float32)
}
