package dataset

import (
	"fmt"
	"math"
)

// GeneratePurchaseLike makes a synthetic stand-in for Purchase100 of n records, d binary features and
// the given number of classes, deterministically from seed, for scale tests and demos.
//
// Shokri et al. (IEEE S&P 2017, §5) built Purchase100 from Kaggle's "Acquire Valued Shoppers" data:
// one binary feature per product ("this customer bought it") and class labels from k-means clustering
// of those vectors. The generator follows the same recipe on simulated shoppers:
//
//  1. Each product j gets a base popularity q_j = clamp(0.1·exp(0.8·Z − 0.32), 0.005, 0.6), and each
//     of `classes` latent shopper profiles g a purchase probability p_gj = min(q_j·exp(1.5·Z' − 1.125),
//     0.95), with Z, Z' standard normal (the exponents have mean 1, so about 10 % of features are set).
//  2. Each record picks a profile uniformly and draws every feature as Bernoulli(p_gj).
//  3. Labels come from k-means (Lloyd's algorithm, squared Euclidean distance, k-means++ seeding, at
//     most 30 iterations, ties to the lowest cluster) with k = classes on the binary vectors, so, as in
//     Purchase100, the labels are clusters of the features rather than the latent profiles.
//
// Distances use the sparsity of the vectors, so the cost is about n·k·(d/10) per iteration. Features
// are float32 0/1; Shape is [d]; Classes is classes (a cluster may end up empty).
func GeneratePurchaseLike(n, d, classes int, seed uint64) (*Dataset, error) {
	if n < 1 || d < 1 || classes < 1 {
		return nil, fmt.Errorf("purchase-like: n = %d, d = %d, classes = %d; all must be positive", n, d, classes)
	}
	if classes > n {
		return nil, fmt.Errorf("purchase-like: %d classes need at least as many records, have %d", classes, n)
	}
	if n > (1<<34)/d {
		return nil, fmt.Errorf("purchase-like: %d × %d features is too large", n, d)
	}
	r := newRNG(seed, streamSynthetic)
	q := make([]float64, d)
	for j := range q {
		q[j] = min(max(0.1*math.Exp(0.8*r.norm()-0.32), 0.005), 0.6)
	}
	prof := make([]float64, classes*d)
	for g := range classes {
		for j := range d {
			prof[g*d+j] = min(q[j]*math.Exp(1.5*r.norm()-1.125), 0.95)
		}
	}
	x := make([]float32, n*d)
	nz := make([][]int32, n) // indices of the set features of each record
	for i := range n {
		g := r.intn(classes)
		p := prof[g*d : (g+1)*d]
		for j := range d {
			if r.float64() < p[j] {
				x[i*d+j] = 1
				nz[i] = append(nz[i], int32(j))
			}
		}
	}
	y := kmeansBinary(nz, d, classes, r)
	return &Dataset{
		Name:    fmt.Sprintf("purchase-like(n=%d,d=%d,classes=%d,seed=%d)", n, d, classes, seed),
		X:       x,
		Y:       y,
		Shape:   []int{d},
		Classes: classes,
	}, nil
}

// kmeansBinary clusters binary vectors given by their set indices into k clusters and returns each
// vector's cluster.
func kmeansBinary(nz [][]int32, d, k int, r *rng) []int {
	n := len(nz)
	cent := make([]float64, k*d)
	norm2 := make([]float64, k) // ‖c‖²
	// dist returns ‖x − c‖² = |x| − 2 Σ_{j∈x} c_j + ‖c‖².
	dist := func(i, c int) float64 {
		row := cent[c*d : (c+1)*d]
		s := 0.0
		for _, j := range nz[i] {
			s += row[j]
		}
		return float64(len(nz[i])) - 2*s + norm2[c]
	}
	setCenter := func(c, i int) {
		row := cent[c*d : (c+1)*d]
		clear(row)
		for _, j := range nz[i] {
			row[j] = 1
		}
		norm2[c] = float64(len(nz[i]))
	}
	// k-means++ seeding.
	setCenter(0, r.intn(n))
	best := make([]float64, n)
	for i := range best {
		best[i] = max(dist(i, 0), 0)
	}
	for c := 1; c < k; c++ {
		total := 0.0
		for _, v := range best {
			total += v
		}
		pick := r.intn(n)
		if total > 0 {
			u := r.float64() * total
			for i, v := range best {
				u -= v
				if u < 0 {
					pick = i
					break
				}
			}
		}
		setCenter(c, pick)
		for i := range best {
			best[i] = min(best[i], max(dist(i, c), 0))
		}
	}
	// Lloyd iterations.
	assign := make([]int, n)
	for i := range assign {
		assign[i] = -1
	}
	count := make([]int, k)
	for iter := 0; iter < 30; iter++ {
		changed := false
		for i := range n {
			bc, bd := 0, math.Inf(1)
			for c := range k {
				if dd := dist(i, c); dd < bd {
					bc, bd = c, dd
				}
			}
			if assign[i] != bc {
				assign[i] = bc
				changed = true
			}
		}
		if !changed {
			break
		}
		clear(count)
		sum := make([]float64, k*d)
		for i, c := range assign {
			count[c]++
			for _, j := range nz[i] {
				sum[c*d+int(j)]++
			}
		}
		for c := range k {
			if count[c] == 0 {
				continue // an empty cluster keeps its centre
			}
			row := cent[c*d : (c+1)*d]
			inv := 1 / float64(count[c])
			s := 0.0
			for j := range row {
				row[j] = sum[c*d+j] * inv
				s += row[j] * row[j]
			}
			norm2[c] = s
		}
	}
	return assign
}
