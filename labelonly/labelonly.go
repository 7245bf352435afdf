// Package labelonly queries a model that returns labels only, for the label-only membership-inference
// attacks of Choquette-Choo, Tramèr, Carlini and Papernot, "Label-Only Membership Inference Attacks"
// (ICML 2021), and Li and Zhang, "Membership Leakage in Label-Only Exposures" (CCS 2021):
//
//   - Augmentations and Correct: whether the model still predicts a record's label under fixed
//     augmentations (flips and shifts of images, Gaussian noise on tabular features), the input of the
//     data-augmentation attacks (attack.Augmentation, attack.AugmentationLiRA);
//   - Distance: a record's L2 distance to the model's decision boundary, found by a HopSkipJump-style
//     search (Chen, Jordan and Wainwright, "HopSkipJumpAttack", IEEE S&P 2020) within a query budget, the
//     input of the boundary-distance attack (attack.Boundary).
//
// The model is an Oracle: a function from records to predicted labels. The package knows nothing of
// models or attacks.
package labelonly

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
)

// Oracle returns the predicted label of each of rows records, x holding them row-major.
type Oracle func(ctx context.Context, x []float32, rows int) ([]int, error)

// AugmentConfig sets the augmentations. Zero values take the defaults noted.
type AugmentConfig struct {
	// Shift is the largest translation of an image, in pixels, in each direction (default 1): every
	// shift (dx, dy) in [−Shift, Shift]², each with and without a horizontal flip, (2·Shift+1)²·2
	// augmentations in all, the identity included (Choquette-Choo et al. §4.1, "flips and translations").
	// NoFlips leaves the flipped copies out: (2·Shift+1)² augmentations.
	Shift   int
	NoFlips bool
	// Noise is the standard deviation of the Gaussian noise added to every feature of a tabular record
	// (default 0.5, features standardised), and NoiseDraws the number of draws (default 16); the
	// identity is the first augmentation (Choquette-Choo et al.'s noise augmentation for non-image data).
	Noise      float64
	NoiseDraws int
	// Seed chooses the noise. The noise of draw k on record r depends only on (Seed, k, r), so that every
	// model sees the same augmented records.
	Seed uint64
}

// String describes the configuration with its defaults filled in, for a record of what was queried.
func (c AugmentConfig) String() string {
	shift, noise, draws := c.Shift, c.Noise, c.NoiseDraws
	if shift <= 0 {
		shift = 1
	}
	if noise <= 0 {
		noise = 0.5
	}
	if draws <= 0 {
		draws = 16
	}
	return fmt.Sprintf("shift=%d flips=%t noise=%g noise_draws=%d seed=%d", shift, !c.NoFlips, noise, draws, c.Seed)
}

// Augmentation is one deterministic transformation of a record.
type Augmentation struct {
	Flip   bool    // images: mirror horizontally first
	DX, DY int     // images: translate by DX columns and DY rows, zero fill
	Noise  float64 // tabular: σ of the Gaussian noise (0: none)
	Draw   int     // tabular: which noise draw
}

// Augmentations returns the augmentations of records of shape shape: flips and shifts for images (C × H
// × W), noise draws otherwise. The first is the identity.
func Augmentations(shape []int, cfg AugmentConfig) []Augmentation {
	if len(shape) == 3 {
		s := cfg.Shift
		if s <= 0 {
			s = 1
		}
		out := []Augmentation{{}}
		flips := []bool{false, true}
		if cfg.NoFlips {
			flips = flips[:1]
		}
		for _, flip := range flips {
			for dy := -s; dy <= s; dy++ {
				for dx := -s; dx <= s; dx++ {
					if !flip && dx == 0 && dy == 0 {
						continue
					}
					out = append(out, Augmentation{Flip: flip, DX: dx, DY: dy})
				}
			}
		}
		return out
	}
	sigma, draws := cfg.Noise, cfg.NoiseDraws
	if sigma <= 0 {
		sigma = 0.5
	}
	if draws <= 0 {
		draws = 16
	}
	out := []Augmentation{{}}
	for k := 0; k < draws; k++ {
		out = append(out, Augmentation{Noise: sigma, Draw: k})
	}
	return out
}

// Apply writes augmentation a of record x (shape shape; record is its index, which with seed fixes the
// noise) into dst, of x's length.
func (a Augmentation) Apply(dst, x []float32, shape []int, record int, seed uint64) {
	if len(shape) == 3 && (a.Flip || a.DX != 0 || a.DY != 0) {
		c, h, w := shape[0], shape[1], shape[2]
		for ch := 0; ch < c; ch++ {
			for r := 0; r < h; r++ {
				for col := 0; col < w; col++ {
					sr, sc := r-a.DY, col-a.DX
					v := float32(0)
					if sr >= 0 && sr < h && sc >= 0 && sc < w {
						if a.Flip {
							sc = w - 1 - sc
						}
						v = x[(ch*h+sr)*w+sc]
					}
					dst[(ch*h+r)*w+col] = v
				}
			}
		}
		return
	}
	copy(dst, x)
	if a.Noise > 0 {
		r := rand.New(rand.NewPCG(seed^uint64(a.Draw)*0x9e3779b97f4a7c15, uint64(record)))
		for j := range dst {
			dst[j] += float32(a.Noise * r.NormFloat64())
		}
	}
}

// Correct returns, for each of the n records of x (shape shape, row-major) and each augmentation,
// whether oracle predicts the record's label on the augmented record: n × len(augs), row-major. Records
// are numbered from first (for the noise), and queried in batches of batch records' augmentations.
func Correct(ctx context.Context, oracle Oracle, x []float32, shape []int, labels []int, augs []Augmentation, first int, seed uint64, batch int) ([]bool, error) {
	d := 1
	for _, s := range shape {
		d *= s
	}
	n := len(labels)
	if len(x) != n*d {
		return nil, fmt.Errorf("labelonly: %d values for %d records of %d features", len(x), n, d)
	}
	if batch <= 0 {
		batch = 64
	}
	a := len(augs)
	out := make([]bool, n*a)
	buf := make([]float32, batch*a*d)
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		rows := (hi - lo) * a
		for i := lo; i < hi; i++ {
			for k, aug := range augs {
				aug.Apply(buf[((i-lo)*a+k)*d:((i-lo)*a+k+1)*d], x[i*d:(i+1)*d], shape, first+i, seed)
			}
		}
		pred, err := oracle(ctx, buf[:rows*d], rows)
		if err != nil {
			return nil, err
		}
		for i := lo; i < hi; i++ {
			for k := range augs {
				out[i*a+k] = pred[(i-lo)*a+k] == labels[i]
			}
		}
	}
	return out, nil
}

// BoundaryConfig configures Distance. Zero values take the defaults noted.
type BoundaryConfig struct {
	// Queries is the budget of oracle queries per record (default 300). The distance found is an upper
	// bound that tightens with the budget: on linear models (TestDistanceLinear) it is within 3 % of the
	// true distance in 20 dimensions after 1,000 queries, 10 % in 100, and 70 % in 784 (24 % after 3,000).
	Queries int
	// Tolerance ends a binary search when the bracket is below Tolerance times the distance (default
	// 1e-3).
	Tolerance float64
	// Seed draws the random directions of the gradient estimates.
	Seed uint64
}

// Distance returns the L2 distance from record x (label y) to the decision boundary of oracle, found by a
// label-only search within cfg.Queries queries, and the queries used. It is 0 when the oracle already
// misclassifies x (Choquette-Choo et al. score such records as non-members), and an upper bound on the
// distance otherwise: the search only ever moves to points the oracle labels differently.
//
// The search is HopSkipJumpAttack's untargeted ℓ2 iteration (Chen, Jordan and Wainwright 2020,
// Algorithm 1): from a starting point with another label — the nearest of starts that the oracle labels
// ≠ y, or failing that Gaussian noise of growing scale around x — a binary search finds a point x_b on
// the boundary between x and it; then, at iteration t, the gradient direction of the boundary at x_b is
// estimated from the labels of B_t = 25·√t points x_b + δ·u_b (u_b uniform on the sphere, δ = ‖x_b − x‖/√d
// as the paper's δ_t = √d·θ·‖x_b − x‖ with θ = 1/d), as v = Σ_b (φ_b − φ̄)·u_b with φ_b = ±1 for another
// label or not (Eq. 15, with the baseline); a geometric step of size ‖x_b − x‖/√t along v, halved until
// the point is labelled ≠ y, is followed by a binary search back towards x. The distance is the smallest
// ‖x_b − x‖ found.
func Distance(ctx context.Context, oracle Oracle, x []float32, y int, starts [][]float32, cfg BoundaryConfig) (float64, int, error) {
	budget := cfg.Queries
	if budget <= 0 {
		budget = 300
	}
	tol := cfg.Tolerance
	if tol <= 0 {
		tol = 1e-3
	}
	d := len(x)
	used := 0
	// adv labels the points of pts (k rows): true where the oracle's label differs from y.
	adv := func(pts []float32, k int) ([]bool, error) {
		used += k
		p, err := oracle(ctx, pts, k)
		if err != nil {
			return nil, err
		}
		out := make([]bool, k)
		for i := range out {
			out[i] = p[i] != y
		}
		return out, nil
	}
	a, err := adv(x, 1)
	if err != nil {
		return 0, used, err
	}
	if a[0] {
		return 0, used, nil
	}
	// A starting point with another label.
	var start []float32
	for _, s := range starts {
		if used >= budget/4 {
			break
		}
		if a, err := adv(s, 1); err != nil {
			return 0, used, err
		} else if a[0] {
			start = s
			break
		}
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 0x68736a))
	for scale := 0.5; start == nil && used < budget/2; scale *= 2 {
		p := make([]float32, d)
		for j := range p {
			p[j] = x[j] + float32(scale*r.NormFloat64())
		}
		if a, err := adv(p, 1); err != nil {
			return 0, used, err
		} else if a[0] {
			start = p
		}
	}
	if start == nil {
		return math.Inf(1), used, nil
	}
	dist := func(p []float32) float64 {
		s := 0.0
		for j := range p {
			v := float64(p[j]) - float64(x[j])
			s += v * v
		}
		return math.Sqrt(s)
	}
	// bisect returns the boundary point between x (label y) and p (another label).
	bisect := func(p []float32) ([]float32, error) {
		lo, hi := 0.0, 1.0
		total := dist(p)
		pt := make([]float32, d)
		for (hi-lo)*total > tol*max(total*hi, 1e-12) && used < budget {
			mid := (lo + hi) / 2
			for j := range pt {
				pt[j] = x[j] + float32(mid)*(p[j]-x[j])
			}
			a, err := adv(pt, 1)
			if err != nil {
				return nil, err
			}
			if a[0] {
				hi = mid
			} else {
				lo = mid
			}
		}
		out := make([]float32, d)
		for j := range out {
			out[j] = x[j] + float32(hi)*(p[j]-x[j])
		}
		return out, nil
	}
	xb, err := bisect(start)
	if err != nil {
		return 0, used, err
	}
	best := dist(xb)
	for t := 1; used < budget; t++ {
		cur := dist(xb)
		if cur == 0 {
			break
		}
		delta := cur / math.Sqrt(float64(d))
		b := min(int(probes*math.Sqrt(float64(t))), budget-used)
		if b < 2 {
			break
		}
		us := make([]float64, b*d)
		pts := make([]float32, b*d)
		for k := 0; k < b; k++ {
			u := us[k*d : (k+1)*d]
			n := 0.0
			for j := range u {
				u[j] = r.NormFloat64()
				n += u[j] * u[j]
			}
			n = math.Sqrt(n)
			for j := range u {
				u[j] /= n
				pts[k*d+j] = xb[j] + float32(delta*u[j])
			}
		}
		phi, err := adv(pts, b)
		if err != nil {
			return 0, used, err
		}
		mean := 0.0
		for _, p := range phi {
			mean += sign(p)
		}
		mean /= float64(b)
		v := make([]float64, d)
		for k, p := range phi {
			w := sign(p) - mean
			for j := range v {
				v[j] += w * us[k*d+j]
			}
		}
		nv := 0.0
		for _, vj := range v {
			nv += vj * vj
		}
		if nv = math.Sqrt(nv); nv == 0 {
			continue // every probe on one side: draw again, with more probes
		}
		step := cur / math.Sqrt(float64(t))
		cand := make([]float32, d)
		found := false
		for used < budget {
			for j := range cand {
				cand[j] = xb[j] + float32(step*v[j]/nv)
			}
			a, err := adv(cand, 1)
			if err != nil {
				return 0, used, err
			}
			if a[0] {
				found = true
				break
			}
			step /= 2
		}
		if !found {
			break
		}
		if xb, err = bisect(cand); err != nil {
			return 0, used, err
		}
		best = min(best, dist(xb))
	}
	return best, used, nil
}

// probes is B_0, the probes of the first gradient estimate.
const probes = 25

func sign(b bool) float64 {
	if b {
		return 1
	}
	return -1
}
