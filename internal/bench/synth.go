package bench

import (
	"math"
	"math/rand/v2"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/signal"
)

// SyntheticRMIA returns seeded RMIA input shaped like Privacy Meter's: n records and z population records
// under m models (m even) trained in complementary pairs, model 2k+1 on exactly the records that model 2k
// leaves out. The signal is p(true label) = σ(μ + ε), ε standard normal, μ = 1.8 for members and 1.0 for
// non-members; 5 % of the values are rounded to 3 decimals (ties), 1 % are exactly 1 and 0.5 % exactly
// 1e-12, as in the reference vectors.
func SyntheticRMIA(n, z, m int, seed uint64) *attack.Data {
	rng := rand.New(rand.NewPCG(seed, 0x524d4941))
	d := &attack.Data{
		N: n, M: m, Q: 1, Kind: signal.ProbTrue, Z: z,
		Signals: make([]float64, n*m), Members: make([]bool, n*m), Population: make([]float64, z*m),
	}
	for i := range n {
		for k := 0; k+1 < m; k += 2 {
			in := rng.IntN(2) == 0
			d.Members[i*m+k], d.Members[i*m+k+1] = in, !in
		}
		for c := range m {
			d.Signals[i*m+c] = synthProb(rng, d.Members[i*m+c])
		}
	}
	for j := range d.Population {
		d.Population[j] = synthProb(rng, false)
	}
	return d
}

func synthProb(rng *rand.Rand, member bool) float64 {
	mu := 1.0
	if member {
		mu = 1.8
	}
	p := 1 / (1 + math.Exp(-(mu + rng.NormFloat64())))
	switch u := rng.Float64(); {
	case u < 0.05:
		p = math.Round(p*1000) / 1000
	case u < 0.06:
		p = 1
	case u < 0.065:
		p = 1e-12
	}
	return p
}

// SyntheticScores returns n seeded attack scores and memberships: half members, scores normal with mean
// 0.3 for members and 0 for non-members, 1 % of them rounded to 2 decimals (ties).
func SyntheticScores(n int, seed uint64) ([]float64, []bool) {
	rng := rand.New(rand.NewPCG(seed, 0x524f43))
	scores := make([]float64, n)
	members := make([]bool, n)
	for i := range scores {
		members[i] = rng.IntN(2) == 0
		s := rng.NormFloat64()
		if members[i] {
			s += 0.3
		}
		if rng.IntN(100) == 0 {
			s = math.Round(s*100) / 100
		}
		scores[i] = s
	}
	return scores, members
}
