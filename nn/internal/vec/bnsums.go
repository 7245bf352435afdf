package vec

import "math"

// The sums of batch norm's statistics and gradients, in float64, in an order that vectorises: 16
// partial sums from +0, partial j taking the values at j, j+16, j+32, … over the whole blocks of 16;
// then the partials folded in halves (partial j adding partial j+h for h = 8, 4, 2, 1); then the
// remaining values added one by one. Every CPU gets bitwise the same sums.

// ShiftedSums returns Σ(v − k) and Σ(v − k)² over x, with v − k and its square rounded in float64.
func ShiftedSums(x []float32, k float64) (sum, sq float64) {
	n := len(x) &^ 15
	if !shiftedSumsAsm(x[:n], k, &sum, &sq) {
		var s, q [16]float64
		for i := 0; i < n; i += 16 {
			for j, v := range x[i : i+16] {
				d := float64(v) - k
				s[j] += d
				q[j] += float64(d * d) // the conversion keeps the product from fusing into an FMA
			}
		}
		sum, sq = fold16(&s), fold16(&q)
	}
	for _, v := range x[n:] {
		d := float64(v) - k
		sum += d
		sq += float64(d * d)
	}
	return sum, sq
}

// BNGradSums returns Σ g and Σ g·x̂ over one plane, with x̂ = (x − mu)·is rounded in float32 and g =
// dy, or with relu set g = dy where y is positive and not NaN and +0 elsewhere (the fused ReLU's
// mask); products rounded in float64. Precondition: x and y are at least as long as dy.
func BNGradSums(dy, x, y []float32, mu, is float32, relu bool) (sdy, sdyx float64) {
	n := len(dy) &^ 15
	x, y = x[:len(dy)], y[:len(dy)]
	var r uint32
	if relu {
		r = 1
	}
	g := func(j int) float32 {
		if relu && bits(y[j])-1 >= 0x7f800000 {
			return 0
		}
		return dy[j]
	}
	if !bnGradSumsAsm(dy[:n], x, y, mu, is, r, &sdy, &sdyx) {
		var a, d [16]float64
		for i := 0; i < n; i += 16 {
			for j := range 16 {
				gv := float64(g(i + j))
				a[j] += gv
				d[j] += float64(gv * float64((x[i+j]-mu)*is))
			}
		}
		sdy, sdyx = fold16(&a), fold16(&d)
	}
	for j := n; j < len(dy); j++ {
		gv := float64(g(j))
		sdy += gv
		sdyx += float64(gv * float64((x[j]-mu)*is))
	}
	return sdy, sdyx
}

// fold16 folds 16 partial sums in halves and returns the total.
func fold16(p *[16]float64) float64 {
	for h := 8; h >= 1; h /= 2 {
		for j := 0; j < h; j++ {
			p[j] += p[j+h]
		}
	}
	return p[0]
}

func bits(v float32) uint32 { return math.Float32bits(v) }
