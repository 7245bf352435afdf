package dataset

import (
	"math"
	"math/bits"
	"math/rand/v2"
)

// rng is this package's source of randomness: a PCG-DXSM generator (math/rand/v2's PCG, whose output
// sequence is specified) and sampling code of our own, so that a seed gives the same splits on every
// platform and Go release. Each use derives its stream from the seed and a purpose constant, so that
// different splits from one seed are independent.
type rng struct{ src *rand.PCG }

// Purpose constants for newRNG.
const (
	streamPaired uint64 = 0x7061697265640001 + iota
	streamLiRA
	streamShadow
	streamHoldOut
	streamAudit
	streamSynthetic
	streamBernoulli
)

func newRNG(seed, stream uint64) *rng { return &rng{src: rand.NewPCG(seed, stream)} }

// intn returns a uniform integer in [0, n) by Lemire's nearly divisionless method; n > 0.
func (r *rng) intn(n int) int {
	bound := uint64(n)
	hi, lo := bits.Mul64(r.src.Uint64(), bound)
	if lo < bound {
		thresh := -bound % bound
		for lo < thresh {
			hi, lo = bits.Mul64(r.src.Uint64(), bound)
		}
	}
	return int(hi)
}

// float64 returns a uniform number in [0, 1) with 53 random bits.
func (r *rng) float64() float64 { return float64(r.src.Uint64()>>11) / (1 << 53) }

// norm returns a standard normal variate (Box–Muller; one of the pair is discarded).
func (r *rng) norm() float64 {
	u := 1 - r.float64() // (0, 1]
	v := r.float64()
	return math.Sqrt(-2*math.Log(u)) * math.Cos(2*math.Pi*v)
}

// perm returns a uniform random permutation of 0..n-1 (Fisher–Yates).
func (r *rng) perm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	r.shuffle(p)
	return p
}

// shuffle permutes p uniformly in place (Fisher–Yates).
func (r *rng) shuffle(p []int) {
	for i := len(p) - 1; i > 0; i-- {
		j := r.intn(i + 1)
		p[i], p[j] = p[j], p[i]
	}
}

// sample returns k distinct values drawn uniformly from pool, in random order (partial Fisher–Yates on
// a copy); k ≤ len(pool).
func (r *rng) sample(pool []int, k int) []int {
	p := append([]int(nil), pool...)
	for i := 0; i < k; i++ {
		j := i + r.intn(len(p)-i)
		p[i], p[j] = p[j], p[i]
	}
	return p[:k]
}
