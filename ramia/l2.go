package ramia

import (
	"fmt"
	"math"

	"github.com/pmeter/pmeter/attack"
)

// L2 is the range of the points within L2 distance Radius of the centre (Privacy Meter's range function
// l2, sample_l2). It draws S points by rejection: candidate = centre + (Radius/√d)·z with z standard
// normal per feature (d features), accepted when its distance to the centre is at most Radius. About
// half of the candidates are rejected for large d, and the points follow a Gaussian truncated to the
// ball, not a uniform distribution on it. The centre is not among the points; S = 1 samples the centre
// alone.
type L2 struct {
	Radius  float64
	Samples int
	// Compat CompatPrivacyMeter accepts a candidate on its float64 distance, before it is rounded to
	// float32, as Privacy Meter does; by default the rounded point itself must lie in the ball.
	Compat attack.Compat
}

// NewL2 checks the radius and the size.
func NewL2(radius float64, samples int, compat attack.Compat) (*L2, error) {
	if !(radius > 0) || math.IsInf(radius, 0) {
		return nil, fmt.Errorf("l2 range: radius %v; want a positive finite number", radius)
	}
	if samples < 1 {
		return nil, fmt.Errorf("l2 range: %d samples per range; want at least 1", samples)
	}
	return &L2{Radius: radius, Samples: samples, Compat: compat}, nil
}

// Size implements Sampler.
func (s *L2) Size() int { return s.Samples }

// Check implements Sampler: the centre must be finite.
func (s *L2) Check(centre []float32) error { return checkFinite(centre) }

// Contains implements Sampler: ‖x − centre‖₂ ≤ Radius.
func (s *L2) Contains(centre, x []float32) bool {
	r2 := s.Radius * s.Radius
	sum := 0.0
	for j := range centre {
		d := float64(x[j]) - float64(centre[j])
		sum += d * d
		if sum > r2 {
			return false
		}
	}
	return math.Sqrt(sum) <= s.Radius
}

// Sample implements Sampler.
func (s *L2) Sample(dst, centre []float32, rng Draws) ([]float32, error) {
	return s.sample(dst, centre, rng, nil)
}

// sample is Sample; visit, when set, is called with the distance of every candidate and whether it was
// accepted.
func (s *L2) sample(dst, centre []float32, rng Draws, visit func(norm float64, accepted bool)) ([]float32, error) {
	if s.Samples == 1 {
		return append(dst, centre...), nil
	}
	d := len(centre)
	c := make([]float64, d)
	for j, v := range centre {
		c[j] = float64(v)
	}
	scale := s.Radius / math.Sqrt(float64(d))
	cand := make([]float64, d)
	point := make([]float32, d)
	for accepted, tries := 0, 0; accepted < s.Samples; tries++ {
		if tries >= maxAttempts*s.Samples {
			return nil, fmt.Errorf("l2 range: %d of %d candidates accepted after %d draws", accepted, s.Samples, tries)
		}
		for j := range cand {
			// NumPy's legacy normal(loc, scale) is loc + scale·gauss; the conversion keeps the product
			// rounded on its own (no fused multiply-add).
			cand[j] = c[j] + float64(scale*rng.Normal())
		}
		sum := 0.0
		for j := range cand {
			diff := cand[j] - c[j]
			sum += diff * diff
		}
		norm := math.Sqrt(sum)
		for j, v := range cand {
			point[j] = float32(v)
		}
		ok := norm <= s.Radius
		if s.Compat != attack.CompatPrivacyMeter {
			ok = s.Contains(centre, point)
		}
		if visit != nil {
			visit(norm, ok)
		}
		if ok {
			dst = append(dst, point...)
			accepted++
		}
	}
	return dst, nil
}
