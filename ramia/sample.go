package ramia

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/pmeter/pmeter/internal/parallel"
)

// Draws is the source of randomness of the samplers: standard normal, uniform [0, 1) and uniform integer
// draws. NewDraws is pmeter's; tests replay the draws Privacy Meter made (NumPy's legacy stream).
type Draws interface {
	Normal() float64
	Uniform() float64
	// IntN returns a uniform integer in [0, n).
	IntN(n int) int
}

// NewDraws returns the draws of a PCG generator seeded with seed: the same sequence on every platform.
func NewDraws(seed uint64) Draws { return pcgDraws{rand.New(rand.NewPCG(seed, 0x72616d6961))} } // "ramia"

type pcgDraws struct{ r *rand.Rand }

func (p pcgDraws) Normal() float64  { return p.r.NormFloat64() }
func (p pcgDraws) Uniform() float64 { return p.r.Float64() }
func (p pcgDraws) IntN(n int) int   { return p.r.IntN(n) }

// A Sampler draws the points of the range around a record (the range's centre), and knows which records
// the range contains. Records are float32 feature vectors of one length.
type Sampler interface {
	// Size returns S, the number of points Sample draws per range.
	Size() int
	// Sample appends the S points of the range around centre to dst, each len(centre) values, and
	// returns the extended slice.
	Sample(dst, centre []float32, rng Draws) ([]float32, error)
	// Contains reports whether record x lies in the range around centre.
	Contains(centre, x []float32) bool
	// Check verifies that the range around centre is well defined for this sampler and contains its
	// centre (so that the range of a member is a member); the error says what is wrong.
	Check(centre []float32) error
}

// maxAttempts bounds the candidates a rejection sampler draws per range: 1000 per sample.
const maxAttempts = 1000

// Contained returns, for the range around each of the centres (rows of dim values), the indices of the
// records (rows of dim values) that lie in it, other than the centre's own index skip[i] (−1 for none;
// skip may be nil). It is the check behind the definition of range membership: a range is a member of a
// model when it contains at least one of the model's training records, so a range around a non-member
// must contain none. Ranges are checked in parallel.
func Contained(ctx context.Context, s Sampler, centres, records []float32, dim int, skip []int) ([][]int, error) {
	if dim < 1 || len(centres)%dim != 0 || len(records)%dim != 0 {
		return nil, fmt.Errorf("contained: %d centre values and %d record values do not form rows of %d", len(centres), len(records), dim)
	}
	n, m := len(centres)/dim, len(records)/dim
	if skip != nil && len(skip) != n {
		return nil, fmt.Errorf("contained: %d indices to skip for %d centres", len(skip), n)
	}
	out := make([][]int, n)
	err := parallel.For(ctx, n, 0, func(_ context.Context, i int) error {
		c := centres[i*dim : (i+1)*dim]
		contains := func(x []float32) bool { return s.Contains(c, x) }
		if t, ok := s.(tester); ok {
			contains = t.tester(c)
		}
		for j := range m {
			if skip != nil && skip[i] == j {
				continue
			}
			if contains(records[j*dim : (j+1)*dim]) {
				out[i] = append(out[i], j)
			}
		}
		return nil
	})
	return out, err
}

// tester is implemented by samplers whose membership test is faster with what the range around a centre
// needs computed once (Contained tests many records against each range).
type tester interface {
	tester(centre []float32) func(x []float32) bool
}

// CheckNonMembers verifies that no range around a non-member contains a training record: members[i]
// says whether centre i (rows of dim values) is a training record, and training holds the training
// records (rows of dim values; the centres that are members among them). The error names the first range
// at fault and the training record it contains.
func CheckNonMembers(ctx context.Context, s Sampler, centres []float32, members []bool, training []float32, dim int) error {
	if dim < 1 || len(centres) != len(members)*dim {
		return fmt.Errorf("check: %d centre values for %d memberships of rows of %d", len(centres), len(members), dim)
	}
	var out []float32
	var idx []int
	for i, in := range members {
		if !in {
			out = append(out, centres[i*dim:(i+1)*dim]...)
			idx = append(idx, i)
		}
	}
	found, err := Contained(ctx, s, out, training, dim, nil)
	if err != nil {
		return err
	}
	for k, f := range found {
		if len(f) > 0 {
			return fmt.Errorf("the range around record %d, a non-member, contains training record %d; a range that contains a training record is a member, so it cannot be audited as a non-member", idx[k], f[0])
		}
	}
	return nil
}

// equalRecords reports whether a and b are equal value for value (NaN equal to NaN: a missing value).
func equalRecords(a, b []float32) bool {
	for j := range a {
		if a[j] != b[j] && !(isNaN32(a[j]) && isNaN32(b[j])) {
			return false
		}
	}
	return true
}

func isNaN32(x float32) bool { return x != x }

// checkFinite reports the first value of centre that is NaN or infinite.
func checkFinite(centre []float32) error {
	for j, v := range centre {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("feature %d is %v", j, v)
		}
	}
	return nil
}
