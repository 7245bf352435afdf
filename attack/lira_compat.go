package attack

import (
	"fmt"
	"math"
	"slices"

	"github.com/pmeter/pmeter/internal/numpysum"
)

// fitLiRACompat fits LiRA's Gaussians as the originals do. What the compat modes change:
//   - Reference models. By default every record uses the references of SelectReferences. The reference
//     code instead uses every model but the target — the models whose memberships are determined by the
//     target's included — and truncates every record to the smallest count over all records (in_size =
//     min_j #IN_j, out_size likewise, capped by NumIn and NumOut), taking the first models in model order.
//   - Fixed variance. By default the global σ of a side is the standard deviation of its residuals φ − μ.
//     The reference code instead takes the standard deviation of the raw IN values (spread across records
//     included), and online it uses that IN value for σ_out as well (std_out = np.std(dat_in), a bug);
//     offline it uses the raw OUT values. FixVariance nil means false.
//   - σ is used as is, plus 1e-30 (a record whose IN values are all equal gets σ = 1e-30), where the
//     default replaces a σ of 0 by the global one.
//   - CompatPrivacyMeter computes medians and standard deviations in float32 arithmetic, in numpy's order
//     of operations, as Privacy Meter v1's benchmark does (bit for bit with one query). The target's signal
//     and the likelihoods stay float64.
//   - The default offline test is two-sided.
func fitLiRACompat(d *Data, sig []float64, target int, cfg LiRAConfig, f *liraFit, capIn, capOut int, fix, f32 bool) (*liraFit, error) {
	limit := func(c int) int {
		if c > 0 {
			return c
		}
		return d.M
	}
	r := refSet{d: d, sig: sig, target: target}
	var in, out []int // reference models used per record
	var err error
	if cfg.Online {
		if in, err = r.sizes(true, limit(capIn)); err != nil {
			return nil, err
		}
		f.muIn, f.sdIn = r.fit(true, in, f32)
	}
	if out, err = r.sizes(false, limit(capOut)); err != nil {
		return nil, err
	}
	f.muOut, f.sdOut = r.fit(false, out, f32)
	switch {
	case !fix:
	case cfg.Online:
		// plot.py: std_in = std_out = np.std(dat_in), the raw IN values for both sides.
		sd := r.globalStd(true, in, f32)
		fill(f.sdIn, sd)
		fill(f.sdOut, sd)
	default:
		fill(f.sdOut, r.globalStd(false, out, f32))
	}
	return f, nil
}

// fill sets every σ to the global sd plus the 1e-30 guard, added in float64 also after float32 statistics
// (in numpy a float32 scalar plus a Python float is a float64).
func fill(sd []float64, v float64) {
	for k := range sd {
		sd[k] = v + 1e-30
	}
}

// guard returns a per-record σ + 1e-30 as the reference code forms it: in float64, except that a float32
// array plus 1e-30 stays float32 (Privacy Meter v1's per-record stds).
func guard(sd float64, f32 bool) float64 {
	if f32 {
		return float64(float32(sd) + float32(1e-30))
	}
	return sd + 1e-30
}

// refSet picks the reference models of each record.
type refSet struct {
	d      *Data
	sig    []float64 // d's signals as φ
	target int
}

// sizes returns how many reference models of the side (IN if member) each record uses: the smallest
// count over all records, at most limit (LiRA's in_size / out_size).
func (r *refSet) sizes(member bool, limit int) ([]int, error) {
	d := r.d
	side := "OUT"
	if member {
		side = "IN"
	}
	k := make([]int, d.N)
	least, at := math.MaxInt, 0
	for i := 0; i < d.N; i++ {
		c := 0
		for m := 0; m < d.M; m++ {
			if m != r.target && d.Members[i*d.M+m] == member {
				c++
			}
		}
		if c < least {
			least, at = c, i
		}
	}
	if least == 0 {
		return nil, fmt.Errorf("LiRA: record %d has no %s reference model (target model %d excluded); every record needs one", at, side, r.target)
	}
	for i := range k {
		k[i] = min(least, limit)
	}
	return k, nil
}

// values appends to buf the signals of record i for query q under its first k reference models of the
// side (IN if member), in model order.
func (r *refSet) values(buf []float64, i, q int, member bool, k int) []float64 {
	d := r.d
	for m := 0; m < d.M && k > 0; m++ {
		if m != r.target && d.Members[i*d.M+m] == member {
			buf = append(buf, r.sig[(i*d.M+m)*d.Q+q])
			k--
		}
	}
	return buf
}

// fit returns the per record × query median and guarded ddof-0 std of the side's values, summed in the
// reference code's order along the model axis of its (N, k, Q) array (stdAlong).
func (r *refSet) fit(member bool, k []int, f32 bool) (mu, sd []float64) {
	d := r.d
	inner := d.Q
	mu = make([]float64, d.N*d.Q)
	sd = make([]float64, d.N*d.Q)
	var buf []float64
	var buf32, tmp32 []float32
	var tmp []float64
	for i := 0; i < d.N; i++ {
		for q := 0; q < d.Q; q++ {
			buf = r.values(buf[:0], i, q, member, k[i])
			j := i*d.Q + q
			if f32 {
				buf32 = buf32[:0]
				for _, v := range buf {
					buf32 = append(buf32, float32(v))
				}
				s := stdAlong(buf32, inner, &tmp32)
				mu[j] = float64(medianOf(buf32))
				sd[j] = guard(float64(s), true)
				continue
			}
			s := stdAlong(buf, inner, &tmp)
			mu[j] = medianOf(buf)
			sd[j] = guard(s, false)
		}
	}
	return mu, sd
}

// globalStd returns the ddof-0 std of all the side's values (records × models × queries in that order,
// the reference code's np.std(dat_in), summed as NumPy sums the contiguous array), in float32 arithmetic
// when f32.
func (r *refSet) globalStd(member bool, k []int, f32 bool) float64 {
	d := r.d
	var all []float64
	var buf []float64
	for i := 0; i < d.N; i++ {
		// dat_in[i] is models × queries; gather per query, then interleave.
		start := len(all)
		for q := 0; q < d.Q; q++ {
			buf = r.values(buf[:0], i, q, member, k[i])
			if q == 0 {
				all = append(all, make([]float64, len(buf)*d.Q)...)
			}
			for j, v := range buf {
				all[start+j*d.Q+q] = v
			}
		}
	}
	if f32 {
		a := make([]float32, len(all))
		for j, v := range all {
			a[j] = float32(v)
		}
		var tmp []float32
		return float64(stdOf(a, &tmp))
	}
	var tmp []float64
	return stdOf(all, &tmp)
}

// meanOf returns numpy's mean of x (NaN for no values).
func meanOf[T numpysum.Float](x []T) T {
	return numpysum.Sum(x) / T(len(x))
}

// stdOf returns numpy's std(x) (ddof 0) of a 1-D x in T's arithmetic: the mean, then the mean of the
// squared deviations, then the square root. scratch is reused between calls.
func stdOf[T numpysum.Float](x []T, scratch *[]T) T {
	return stdAlong(x, 1, scratch)
}

// medianOf returns numpy's median of x (no NaN, at least one value), sorting x: the mean of the middle
// value or of the two middle values, in T's arithmetic. Like numpy's mean it adds them to add's identity
// +0, so a median of −0 comes out as +0.
func medianOf[T numpysum.Float](x []T) T {
	slices.Sort(x)
	n := len(x)
	var zero T
	if n%2 == 1 {
		return zero + x[n/2]
	}
	return ((zero + x[n/2-1]) + x[n/2]) / 2
}
