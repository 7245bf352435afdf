package nn

import (
	"math"
	"math/rand/v2"
)

// gaussian draws standard normal deviates with the ziggurat method of Marsaglia and Tsang ("The
// Ziggurat Method for Generating Random Variables", Journal of Statistical Software 5(8), 2000: RNOR
// with 128 layers, as math/rand's NormFloat64), from 32-bit halves of a PCG stream's 64-bit outputs, so
// that the common case costs half a generator call: DP-SGD adds one deviate per parameter per step,
// which with NormFloat64 took as long as the MLP's training itself.
type gaussian struct {
	src *rand.PCG
}

func newGaussian(seed, stream uint64) *gaussian { return &gaussian{src: rand.NewPCG(seed, stream)} }

// The ziggurat's tables: layer i's |j| bound (kn), width (wn) and density at its edge (fn).
const zigR = 3.442619855899 // the start of the tail

var zigK [128]uint32
var zigW, zigF [128]float64

func init() {
	// Marsaglia and Tsang's zigset for RNOR.
	const m1 = 1 << 31
	dn, tn, vn := zigR, zigR, 9.91256303526217e-3
	q := vn / math.Exp(-0.5*dn*dn)
	zigK[0] = uint32(dn / q * m1)
	zigK[1] = 0
	zigW[0] = q / m1
	zigW[127] = dn / m1
	zigF[0] = 1
	zigF[127] = math.Exp(-0.5 * dn * dn)
	for i := 126; i >= 1; i-- {
		dn = math.Sqrt(-2 * math.Log(vn/dn+math.Exp(-0.5*dn*dn)))
		zigK[i+1] = uint32(dn / tn * m1)
		tn = dn
		zigF[i] = math.Exp(-0.5 * dn * dn)
		zigW[i] = dn / m1
	}
}

// uniform returns a value uniform in (0, 1), never 0 or 1.
func (g *gaussian) uniform() float64 {
	return (float64(g.src.Uint64()>>11) + 0.5) / (1 << 53)
}

// norm returns a standard normal deviate.
func (g *gaussian) norm() float64 {
	u := uint32(g.src.Uint64())
	if x, ok := zigFast(u); ok {
		return x
	}
	return g.slow(int32(u))
}

// zigFast is the ziggurat's common case: u's bits as a signed j, layer j mod 128, accepted when |j|
// lies inside the layer's rectangle.
func zigFast(u uint32) (float64, bool) {
	j := int32(u)
	m := j >> 31 // branch-free |j|: the sign is a coin flip
	aj := uint32((j ^ m) - m)
	i := u & 127
	return float64(j) * zigW[i], aj < zigK[i]
}

// slow finishes a draw that the ziggurat's rectangle test j did not accept: the tail beyond zigR, or
// the wedge test, then fresh draws until one is accepted.
func (g *gaussian) slow(j int32) float64 {
	for {
		i := uint32(j) & 127
		x := float64(j) * zigW[i]
		aj := uint32(j)
		if j < 0 {
			aj = -aj
		}
		if aj < zigK[i] {
			return x
		}
		if i == 0 {
			// The tail beyond zigR (Marsaglia 1964).
			for {
				x = -math.Log(g.uniform()) / zigR
				y := -math.Log(g.uniform())
				if y+y >= x*x {
					break
				}
			}
			if j > 0 {
				return zigR + x
			}
			return -zigR - x
		}
		if zigF[i]+g.uniform()*(zigF[i-1]-zigF[i]) < math.Exp(-0.5*x*x) {
			return x
		}
		j = int32(uint32(g.src.Uint64()))
	}
}

// addNoise adds std·N(0, 1) to every element of dst, two deviates from each of the stream's 64-bit
// outputs in the common case.
func (g *gaussian) addNoise(dst []float32, std float64) {
	j := 0
	for ; j+1 < len(dst); j += 2 {
		u := g.src.Uint64()
		lo, hi := uint32(u), uint32(u>>32)
		x, ok := zigFast(lo)
		if !ok {
			x = g.slow(int32(lo))
		}
		y, ok := zigFast(hi)
		if !ok {
			y = g.slow(int32(hi))
		}
		dst[j] += float32(std * x)
		dst[j+1] += float32(std * y)
	}
	if j < len(dst) {
		dst[j] += float32(std * g.norm())
	}
}
