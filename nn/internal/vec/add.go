package vec

// Add adds src to dst element by element (dst[i] += src[i], each sum rounded once, as the scalar
// loop) over a prefix of the elements and returns its length (a multiple of 8; 0 when the CPU lacks
// AVX). The caller does the rest. Precondition: len(dst) ≥ len(src).
func Add(dst, src []float32) int { return add(dst, src) }
