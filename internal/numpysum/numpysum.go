// Package numpysum adds floating-point numbers in exactly the order NumPy's add.reduce does, so that
// means, variances and AUCs computed in Go equal NumPy's to the last bit.
package numpysum

// Float is the element type: float64, or float32 to reproduce NumPy on float32 arrays.
type Float interface{ ~float32 | ~float64 }

// Sum adds x as numpy.sum (add.reduce) does for a contiguous array: chunks of 8192 elements (the
// iterator's buffer), each summed pairwise with an 8-way unrolled base case of up to 128 elements, the
// chunk sums accumulated in order. It works in T's arithmetic.
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
