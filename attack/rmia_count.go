package attack

import (
	"math"
	"slices"
	"sort"

	"github.com/pmeter/pmeter/internal/parallel"
)

// rmiaCount returns every record's RMIA score from the record ratios rx = Pr(x|θ_target)/Pr(x) and the
// population ratios rz: the fraction of z with rx/rz > γ, the quotient evaluated in float64 as Privacy
// Meter does, but without the records × population matrix: the population ratios are sorted once and
// every record's count is a search among them, which is exact because a float64 quotient a/b is monotone
// in b for fixed a (see ratioSet.count). Time O((N+Z)·log Z), memory O(N + Z); rows are counted in
// parallel, and the result does not depend on the number of goroutines. Zero and non-finite ratios count
// as numpy counts them: ratio_z = 0 is beaten by every positive ratio_x (the quotient is +Inf), while 0/0
// and anything involving NaN is never counted. rz is sorted in place.
//
// With tieBreak, a record that beats c population records scores (c + u)/Z, u in [0, 1) the position of
// rx/γ between the population ratios it beats and the first it does not: (rx/γ − r_c)/(r_{c+1} − r_c), or
// 1 − r_c/(rx/γ) above the largest. u is non-decreasing in rx, so records keep the order of their counts
// and, within a count, take the order of their own ratios.
func rmiaCount(rx, rz []float64, gamma float64, tieBreak bool) []float64 {
	sorted := sortRatios(rz)
	z := float64(len(rz))
	out := make([]float64, len(rx))
	parallelRows(len(rx), func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			c := sorted.count(rx[i], gamma)
			v := float64(c)
			if tieBreak && rx[i] > 0 {
				v += sorted.between(c, rx[i]/gamma)
				if v >= float64(c+1) {
					v = math.Nextafter(float64(c+1), 0)
				}
			}
			out[i] = v / z
		}
		return nil
	})
	return out
}

// between returns the position u in [0, 1] of t among the non-negative ratios: c of them lie below it
// (c counted by count), the next one above.
func (s ratioSet) between(c int, t float64) float64 {
	pos := s.v[s.posStart:]
	lo := 0.0
	if c > 0 && c <= len(pos) {
		lo = pos[c-1]
	}
	var u float64
	switch {
	case c < len(pos) && pos[c] > lo && !math.IsInf(pos[c], 1):
		u = (t - lo) / (pos[c] - lo)
	case c < len(pos):
		u = 0
	default: // above every population ratio
		u = 1 - lo/t
	}
	if !(u > 0) {
		return 0
	}
	return min(u, 1)
}

// ratioSet is a sorted set of population ratios for counting.
type ratioSet struct {
	v        []float64 // non-NaN ratios in the total order −Inf < … < −0 < +0 < … < +Inf
	posStart int       // index of the first value without sign bit (+0 or positive)

	// An index over the bit patterns of the non-negative values pos = v[posStart:], whose order is that of
	// the values: value x lies in bucket (bits(x)>>shift) − base. The buckets cover the central values
	// (from pos[len/128] to pos[len−1−len/128]), about two buckets per value, so that outliers such as
	// 1e-12 do not stretch them; start[b] is the index of the first value of pos in bucket b or above, and
	// start[len(start)−1] that of the first value above the last bucket.
	base  uint64
	shift uint
	start []int32
}

// sortRatios sorts r in place (NaNs are dropped: no quotient with NaN exceeds γ) and returns the set.
// len(r) must be below 2³¹.
func sortRatios(r []float64) ratioSet {
	keys := make([]uint64, 0, len(r))
	for _, v := range r {
		if !math.IsNaN(v) {
			keys = append(keys, orderKey(v))
		}
	}
	radixSort(keys)
	v := r[:len(keys)]
	for j, k := range keys {
		v[j] = fromOrderKey(k)
	}
	s := ratioSet{v: v}
	s.posStart = sort.Search(len(v), func(j int) bool { return !math.Signbit(v[j]) })
	pos := v[s.posStart:]
	if len(pos) == 0 {
		return s
	}
	tail := len(pos) / 128
	lo, hi := math.Float64bits(pos[tail]), math.Float64bits(pos[len(pos)-1-tail])
	for (hi>>s.shift)-(lo>>s.shift) >= uint64(2*len(pos)) {
		s.shift++
	}
	s.base = lo >> s.shift
	nb := int((hi>>s.shift)-s.base) + 1
	s.start = make([]int32, nb+1)
	j := sort.Search(len(pos), func(j int) bool { return math.Float64bits(pos[j])>>s.shift >= s.base })
	for b := range nb + 1 {
		for j < len(pos) && (math.Float64bits(pos[j])>>s.shift)-s.base < uint64(b) {
			j++
		}
		s.start[b] = int32(j)
	}
	return s
}

// radixSort sorts keys in ascending order: least significant digit first, 11 bits per pass, skipping the
// passes whose digit is the same in every key (such as most exponent bits of similar ratios).
func radixSort(keys []uint64) {
	if len(keys) < 256 {
		slices.Sort(keys)
		return
	}
	const bits = 11
	tmp := make([]uint64, len(keys))
	src, dst := keys, tmp
	var count [1 << bits]int
	for shift := uint(0); shift < 64; shift += bits {
		clear(count[:])
		for _, k := range src {
			count[(k>>shift)&(1<<bits-1)]++
		}
		if count[(src[0]>>shift)&(1<<bits-1)] == len(src) {
			continue
		}
		sum := 0
		for d, c := range count {
			count[d] = sum
			sum += c
		}
		for _, k := range src {
			d := (k >> shift) & (1<<bits - 1)
			dst[count[d]] = k
			count[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
}

// lowerPos returns the first index j of pos = v[posStart:] with pos[j] >= t, for t >= 0 (not NaN).
func (s ratioSet) lowerPos(t float64) int {
	pos := s.v[s.posStart:]
	nb := uint64(len(s.start) - 1)
	var lo, hi int
	switch k := math.Float64bits(t) >> s.shift; {
	case len(pos) == 0:
		return 0
	case k < s.base: // below the first bucket
		lo, hi = 0, int(s.start[0])
	case k-s.base >= nb: // above the last bucket
		lo, hi = int(s.start[nb]), len(pos)
	default: // every value before start[b] is below t and every value from start[b+1] above it
		b := k - s.base
		lo, hi = int(s.start[b]), int(s.start[b+1])
	}
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if pos[mid] < t {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// orderKey maps a non-NaN float64 to an unsigned integer in the same order, with −0 just below +0.
func orderKey(v float64) uint64 {
	b := math.Float64bits(v)
	if b>>63 != 0 {
		return ^b
	}
	return b | 1<<63
}

func fromOrderKey(k uint64) float64 {
	if k>>63 != 0 {
		return math.Float64frombits(k &^ (1 << 63))
	}
	return math.Float64frombits(^k)
}

// count returns #{z : rx/z > gamma} computed with float64 quotients, for gamma > 0 and finite.
//
// For fixed rx the rounded quotient rx/z is monotone in z on each side of zero, because the exact quotient
// is and rounding to nearest is monotone (overflow to ±Inf and underflow included). So the z that count
// form one run of the sorted values:
//   - rx > 0 (+Inf included): the z from +0 (rx/+0 = +Inf) up to the last z with rx/z > γ; negative z and
//     −0 give negative quotients, +Inf gives 0 or NaN;
//   - rx < 0: symmetrically, the z from the first with rx/z > γ up to −0;
//   - rx = ±0 or NaN: none (0/z is 0 or NaN).
//
// The end of the run is found by evaluating the quotient itself, never rx > γ·z, so the result is that of
// the quotient comparison bit for bit.
func (s ratioSet) count(rx, gamma float64) int {
	switch {
	case rx > 0:
		return s.countPos(rx, gamma)
	case rx < 0:
		neg := s.v[:s.posStart]
		return len(neg) - sort.Search(len(neg), func(j int) bool { return rx/neg[j] > gamma })
	}
	return 0
}

// countPos is count for rx > 0: the length of the prefix of v[posStart:] where rx/z > gamma. The search
// starts at the position of rx/γ, found through the bucket index, which is at most a few values off; from
// there it gallops (doubling steps) and bisects, testing only the quotient.
func (s ratioSet) countPos(rx, gamma float64) int {
	pos := s.v[s.posStart:]
	n := len(pos)
	k := s.lowerPos(rx / gamma)
	if k < n && rx/pos[k] > gamma {
		// The prefix ends above k: gallop up while the quotient beats γ, then bisect (k, k+step].
		step := 1
		for k+step < n && rx/pos[k+step] > gamma {
			k += step
			step *= 2
		}
		lo, hi := k+1, min(k+step, n)
		for lo < hi {
			mid := int(uint(lo+hi) >> 1)
			if rx/pos[mid] > gamma {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		return lo
	}
	// The prefix ends at k or below (k == n or pos[k] fails): gallop down while it fails, then bisect.
	step := 1
	for k-step >= 0 && !(rx/pos[k-step] > gamma) {
		k -= step
		step *= 2
	}
	lo, hi := max(k-step+1, 0), k
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if rx/pos[mid] > gamma {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// parallelRows calls f on consecutive blocks [lo, hi) of 4096 rows covering [0, n), on up to GOMAXPROCS
// goroutines, and returns the error of the lowest failing block.
func parallelRows(n int, f func(lo, hi int) error) error { return parallel.Blocks(n, 4096, f) }
