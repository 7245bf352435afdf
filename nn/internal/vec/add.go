package vec

// Add adds src to dst element by element (dst[i] += src[i], each sum rounded once, as the scalar
// loop) over a prefix of the elements and returns its length (a multiple of 8; 0 when the CPU lacks
// AVX). The caller does the rest. Precondition: len(dst) ≥ len(src).
func Add(dst, src []float32) int { return add(dst, src) }

// AddReLU writes dst[i] = a[i] + b[i], through the ReLU when relu is set (zero for every sum in
// [−Inf, −0], the rest kept, NaN included), each sum rounded once with a[i] as the first operand (as
// the scalar a[i] + b[i]), over a prefix of the elements, and returns its length (a multiple of 8; 0
// when the CPU lacks AVX). Precondition: dst and b are at least as long as a.
func AddReLU(dst, a, b []float32, relu bool) int {
	var r uint32
	if relu {
		r = 1
	}
	return addReLU(dst, a, b, r)
}
