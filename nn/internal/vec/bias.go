package vec

// BiasReLU writes dst[i] = src[i] + b, through the ReLU when relu is set (zero for every sum in
// [−Inf, −0], the rest kept, NaN included), each sum rounded once, to a prefix of the elements, and
// returns its length (a multiple of 8; 0 when the CPU lacks AVX). The caller does the rest.
// Precondition: len(dst) ≥ len(src).
func BiasReLU(dst, src []float32, b float32, relu bool) int {
	var r uint32
	if relu {
		r = 1
	}
	return biasReLU(dst, src, b, r)
}

// Sum returns the sum of x in an order that vectorises: 32 partial sums from +0, partial j adding
// x[j], x[j+32], x[j+64], … over the whole blocks of 32 values; then the partials folded in halves,
// partial j adding partial j+h for h = 16, 8, 4, 2, 1; then the remaining values added one by one.
// Every CPU gets bitwise the same sum.
func Sum(x []float32) float32 {
	n := len(x) &^ 31
	var s float32
	if !sumBlocks(x[:n], &s) {
		s = sumBlocksGo(x[:n])
	}
	for _, v := range x[n:] {
		s += v
	}
	return s
}

// sumBlocksGo is Sum's order over whole blocks of 32 values, in Go.
func sumBlocksGo(x []float32) float32 {
	var p [32]float32
	for i := 0; i+32 <= len(x); i += 32 {
		b := x[i : i+32]
		for j := range p {
			p[j] += b[j]
		}
	}
	for h := 16; h >= 1; h /= 2 {
		for j := 0; j < h; j++ {
			p[j] += p[j+h]
		}
	}
	return p[0]
}
