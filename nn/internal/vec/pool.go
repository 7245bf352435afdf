package vec

// MaxPool2x2ReLU is max pooling with 2×2 windows at stride 2 over one pair of input rows r0, r1 whose
// values are ReLU outputs (+0, positive, +Inf or NaN of either sign), for the windows of y: window j
// covers r0[2j], r0[2j+1], r1[2j], r1[2j+1]. It writes the maximum to y[j] and its position to arg[j]:
// base + 2j plus 0, 1, w or w+1, the first maximum in row-major order. For such values the order of
// the bit patterns as unsigned integers is that of the values, which makes the maximum exact. It
// works in blocks of 8 windows and stops before the first block holding a NaN (whose first NaN the
// caller takes), returning the number of windows done (a multiple of 8; 0 when the CPU lacks AVX2).
// Preconditions: len(arg) ≥ len(y); r0 and r1 hold at least 2·len(y) values.
func MaxPool2x2ReLU(y []float32, arg []int32, r0, r1 []float32, base, w int32) int {
	return maxPool2x2ReLU(y, arg, r0, r1, base, w)
}

// MaxPool2x2Grad is the input gradient of MaxPool2x2ReLU's windows (also of windows pooled in any
// other way, given their arg): for window j it writes 0 + g[j] to the position arg[j] − base among
// d0[2j], d0[2j+1], d1[2j], d1[2j+1] (2j, 2j+1, w+2j, w+2j+1) and +0 to the other three. With relu
// set, g[j] is first replaced by +0 unless the pooled value y[j] (the input at arg[j]) is positive
// and not NaN (the ReLU's mask, PyTorch's y > 0). It works in blocks of 8 windows and returns the
// number done (a multiple of 8; 0 when the CPU lacks AVX2). Preconditions: arg and, with relu, y
// are at least as long as g; d0 and d1 hold at least 2·len(g) values; every arg[j] − base is one of
// 0, 1, w, w+1.
func MaxPool2x2Grad(d0, d1, g []float32, arg []int32, y []float32, base, w int32, relu bool) int {
	return maxPool2x2Grad(d0, d1, g, arg, y, base, w, relu)
}
