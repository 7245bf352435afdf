package attack

import (
	"math"

	"github.com/pmeter/pmeter/internal/numpysum"
)

// NumPy's order of operations in LiRA's compat statistics (LiRAConfig.Compat).
//
// The LiRA reference code (plot.py generate_ours, generate_ours_offline) stacks every record's truncated
// reference values into a C-contiguous array dat of shape (N, k, Q), records × models × queries, and
// Privacy Meter v1's benchmark does the same in float32 ((N, k) without augmentations). Then (NumPy 1.24,
// _methods.py _mean and _var, ddof 0):
//
//   - np.std(dat, 1)[i, q]: the mean m = add.reduce(dat, 1)/k, the squared deviations (dat − m)², their
//     add.reduce along axis 1 divided by k, and the square root, each step rounded to the array's type.
//     add.reduce's order along axis 1 is numpysum.SumAlong's with inner = Q: pairwise (NumPy's
//     pairwise_sum) for Q = 1, where the size-1 query axis is dropped and the model axis is the
//     contiguous inner loop, and model after model for Q > 1, where the inner loop runs over the queries.
//     This is stdAlong.
//   - np.std(dat), the fixed variance: the same over the whole array in C order, which NumPy sums as one
//     contiguous run (numpysum.Sum): refSet.globalStd gathers the values in that order.
//   - np.median(dat, 1): a partition, then the mean of the middle value or of the two middle values,
//     (0 + a)/1 or ((0 + a) + b)/2 in the array's type, which no summation order changes (medianOf).
//
// The order decides the result where all of a record's values on a side are equal, v: their σ is exactly 0
// only if the mean rounds back to v. Ten copies of 0.1, for example, sum pairwise to 1 (σ = 0) but one
// after another to 0.9999999999999999 (σ ≈ 1.4e-17), and with the reference code's σ + 1e-30 the
// log-likelihood then differs by orders of magnitude. The default (non-compat) statistics sum every
// record's values pairwise (stdOf).

// stdAlong returns np.std(dat, 1)[i, q] (ddof 0) in T's arithmetic for x = dat[i, :, q], the values of one
// record and query along the model axis of a C-contiguous (N, k, Q) array dat, with inner = Q; with
// inner = 1 it is np.std(x) of the values alone. scratch is reused between calls.
func stdAlong[T numpysum.Float](x []T, inner int, scratch *[]T) T {
	n := T(len(x))
	m := numpysum.SumAlong(x, inner) / n
	dev := (*scratch)[:0]
	for _, v := range x {
		e := v - m
		dev = append(dev, T(e*e))
	}
	*scratch = dev
	return T(math.Sqrt(float64(numpysum.SumAlong(dev, inner) / n)))
}
