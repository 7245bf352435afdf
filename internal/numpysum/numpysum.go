// Package numpysum adds floating-point numbers in exactly the order NumPy's add.reduce does, so that
// means, variances and AUCs computed in Go equal NumPy's to the last bit.
package numpysum

// Float is the element type: float64, or float32 to reproduce NumPy on float32 arrays.
type Float interface{ ~float32 | ~float64 }

// Sum adds x as numpy.sum (add.reduce) does for a contiguous array, whole or along the last axis of a
// C-contiguous one: chunks of 8192 elements (the iterator's buffer), each summed pairwise with an 8-way
// unrolled base case of up to 128 elements, the chunk sums accumulated in order. It works in T's
// arithmetic.
func Sum[T Float](x []T) T {
	const chunk = 8192
	var res T
	for len(x) > 0 {
		m := min(len(x), chunk)
		res += pairwise(x[:m])
		x = x[m:]
	}
	return res
}

// Sequential adds x one value after another, in index order, starting from +0, in T's arithmetic.
func Sequential[T Float](x []T) T {
	var res T
	for _, v := range x {
		res += v
	}
	return res
}

// SumAlong returns what numpy.add.reduce(a, axis) (numpy.sum, and the sums inside numpy.mean, var and
// std) adds into one output element when it reduces a single axis of a C-contiguous array a: x holds
// that element's values along the axis, in index order, and inner is the number of elements spanned by
// the axes after it (the product of their sizes; 1 for the last axis). For the reference code's
// np.std(dat, 1) of an (N, k, Q) array, x = dat[i, :, q] and inner = Q.
//
// The order is set by NumPy's iterator (nditer), which puts the axis with the smallest stride innermost
// and drops axes of size 1:
//   - inner == 1: the reduced axis is the contiguous inner loop, a binary reduce that DOUBLE_add and
//     FLOAT_add hand to pairwise_sum: Sum.
//   - inner > 1: the inner loop runs over the trailing axes, adding one slice a[..., j, ...] at a time
//     into the output (an elementwise add, out[q] += a[i, j, q]), so each output element accumulates its
//     values one after another from the identity 0: Sequential.
//
// Checked against NumPy 1.24.2 for float64 and float32, axis 1 of (N, k, Q) arrays with k from 1 to
// 20 000 and Q from 1 to 1000.
func SumAlong[T Float](x []T, inner int) T {
	if inner == 1 {
		return Sum(x)
	}
	return Sequential(x)
}

// pairwise is NumPy's pairwise_sum (numpy/core/src/umath/loops_utils.h.src).
func pairwise[T Float](x []T) T {
	n := len(x)
	switch {
	case n < 8:
		var res T
		for _, v := range x {
			res += v
		}
		return res
	case n <= 128:
		var r [8]T
		copy(r[:], x[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := range r {
				r[j] += x[i+j]
			}
		}
		res := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			res += x[i]
		}
		return res
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return pairwise(x[:n2]) + pairwise(x[n2:])
	}
}
