package nn

import "math/rand/v2"

// Independent random streams derived from one seed, so that, for example, turning augmentation on
// does not change the shuffling order or the initial weights.
const (
	streamInit uint64 = 0x9e3779b97f4a7c15 + iota
	streamShuffle
	streamDropout
	streamAugment
	streamDPSample // DP-SGD's Poisson sampling
	streamDPNoise  // DP-SGD's Gaussian noise
)

// newRand returns a PCG generator for (seed, stream).
func newRand(seed, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream))
}

// uniform32 returns a value drawn uniformly from [-bound, bound).
func uniform32(r *rand.Rand, bound float64) float32 {
	return float32((2*r.Float64() - 1) * bound)
}
