package vec

// MaxPool2x2ReLU is max pooling with 2×2 windows at stride 2 of one image plane x, rows of w values
// that are ReLU outputs (+0, positive, +Inf or NaN of either sign), into the planes y and arg of
// rows of wo windows (ho = len(y)/wo rows). Window j of row r covers x[2r·w + 2j + {0, 1, w, w+1}];
// it writes the maximum to y[r·wo + j] and its position in x to arg[r·wo + j], the first maximum in
// row-major order. For such values the order of the bit patterns as unsigned integers is that of
// the values, which makes the maximum exact. In each row it does the windows below wo rounded down
// to a multiple of 8, in blocks of 8, and leaves the rest to the caller; it stops before the first
// row with a NaN in those blocks and returns the number of rows done (0 when the CPU lacks AVX2).
// Preconditions: wo > 0, len(y) is a multiple of wo, len(arg) ≥ len(y), 2·wo ≤ w and x holds the
// 2·ho rows.
func MaxPool2x2ReLU(y []float32, arg []int32, x []float32, w, wo int) int {
	return maxPool2x2ReLU(y, arg, x, w, wo)
}

// MaxPool2x2Grad is the input gradient of max pooling with 2×2 windows at stride 2 (given each
// window's argmax position in arg, as MaxPool2x2ReLU writes it): for window j of row r it writes
// 0 + g[r·wo + j] to dx at arg[r·wo + j] and +0 to the other three positions of the window. With
// relu set, the gradient is first replaced by +0 unless the pooled value y[r·wo + j] (the input at
// the argmax) is positive and not NaN (the ReLU's mask, PyTorch's y > 0). In each row it does the
// windows below wo rounded down to a multiple of 8 and returns their number (0 when the CPU lacks
// AVX2); the rest, and the rows and columns in no window, are the caller's. Preconditions: as for
// MaxPool2x2ReLU, with g for y and dx for x; with relu, y is as long as g; every arg of row r is
// 2r·w + 2j plus 0, 1, w or w+1.
func MaxPool2x2Grad(dx, g []float32, arg []int32, y []float32, w, wo int, relu bool) int {
	return maxPool2x2Grad(dx, g, arg, y, w, wo, relu)
}
