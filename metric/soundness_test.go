package metric

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// The DP audits' soundness harness (TestAuditSoundness): its full version is
//
//	go test ./metric -run TestAuditSoundness -dp-seeds 200 -v
//
// (scripts/dp-soundness), which prints the README's table; without -dp-seeds it runs the reduced version.
var dpSeeds = flag.Int("dp-seeds", 0, "seeds of TestAuditSoundness's full version (0: the reduced version CI runs)")

// simMechanism is a mechanism whose privacy is known exactly, run once per canary on its inclusion bit;
// its output is the attack score (higher = more likely included).
type simMechanism struct {
	name string
	// eps is the mechanism's exact ε at the harness's δ; claimed is the ε it claims (above eps when the
	// mechanism is broken); fdpPromise is what the f-DP audit promises not to exceed: the ε at δ of the
	// least private μ-GDP that the mechanism satisfies (eps itself for a Gaussian mechanism).
	eps, claimed, fdpPromise float64
	draw                     func(r *rand.Rand, in bool) float64
	// topPrecision returns the fraction of included canaries among the fraction f with the highest
	// outputs (by symmetry also of excluded among the lowest), for choosing the guesses in advance from
	// the claimed mechanism; nil: guess every canary.
	topPrecision func(f float64) float64
	broken       bool
}

// randomizedResponse reports the inclusion bit truthfully with probability e^ε/(1 + e^ε). Its exact
// (ε', δ) curve is δ = p − e^ε'·(1 − p), so at δ its ε is ln(e^ε − δ(1 + e^ε)); it is μ-GDP exactly for
// μ ≥ 2Φ⁻¹(p) (the Gaussian curve must pass below the corner of its trade-off curve, at (1−p, 1−p)).
func randomizedResponse(eps, delta float64) simMechanism {
	p := 1 / (1 + math.Exp(-eps))
	e := math.Log(math.Exp(eps) - delta*(1+math.Exp(eps)))
	return simMechanism{
		name: fmt.Sprintf("randomized response ε=%g", eps), eps: e, claimed: e,
		fdpPromise: GaussianDPEpsilon(2*normQuantile(p), delta),
		draw: func(r *rand.Rand, in bool) float64 {
			if (r.Float64() < p) == in {
				return 1
			}
			return 0
		},
	}
}

// gaussianMechanism adds N(0, σ²) to the inclusion bit: μ-GDP with μ = 1/σ exactly. claimedSigma is
// the noise it claims (a broken one adds less).
func gaussianMechanism(sigma, claimedSigma, delta float64) simMechanism {
	name := fmt.Sprintf("Gaussian σ=%g", sigma)
	if sigma != claimedSigma {
		name = fmt.Sprintf("broken Gaussian σ=%g claiming σ=%g", sigma, claimedSigma)
	}
	s := claimedSigma
	return simMechanism{
		name: name, eps: GaussianDPEpsilon(1/sigma, delta), claimed: GaussianDPEpsilon(1/s, delta),
		fdpPromise: GaussianDPEpsilon(1/sigma, delta), broken: sigma != claimedSigma,
		draw: func(r *rand.Rand, in bool) float64 {
			x := sigma * r.NormFloat64()
			if in {
				x++
			}
			return x
		},
		topPrecision: func(f float64) float64 {
			// The threshold t above which a fraction f of the outputs lie: ½Φ̄((t−1)/s) + ½Φ̄(t/s) = f.
			lo, hi := -40*s, 40*s
			for range 200 {
				t := (lo + hi) / 2
				if (normCDF(-(t-1)/s)+normCDF(-t/s))/2 > f {
					lo = t
				} else {
					hi = t
				}
			}
			return normCDF(-(lo-1)/s) / 2 / f
		},
	}
}

// simAudit is one audit run by the harness on a simulated data set.
type simAudit struct {
	name string
	stat OneRunStat // the one-run statistic, "" for the others
	run  func(scores []float64, in []bool, runScores []float64, runIn []bool, seed uint64) (float64, error)
}

// simAudits returns the audits of the harness for mechanism mech and m canaries at delta: the one-run
// statistics with their guesses fixed in advance (chosen on the claimed mechanism's distribution) and
// chosen on a selection split, the holdout bound and the multi-run bound.
func simAudits(mech simMechanism, m int, delta float64, selection bool) []simAudit {
	fixed := func(stat OneRunStat) simAudit {
		kPlus, kMinus := m/2, m-m/2
		if mech.topPrecision != nil {
			kPlus = aprioriGuesses(mech, m, delta, stat)
			kMinus = kPlus
		}
		return simAudit{fmt.Sprintf("%s k±=%d", stat, kPlus), stat, func(s []float64, in []bool, _ []float64, _ []bool, seed uint64) (float64, error) {
			b, err := OneRunAudit(s, in, OneRunOptions{Stat: stat, Delta: delta, KPlus: kPlus, KMinus: kMinus, Seed: seed})
			return b.Value, err
		}}
	}
	selected := func(stat OneRunStat) simAudit {
		return simAudit{fmt.Sprintf("%s select ½", stat), stat, func(s []float64, in []bool, _ []float64, _ []bool, seed uint64) (float64, error) {
			b, err := OneRunAudit(s, in, OneRunOptions{Stat: stat, Delta: delta, SelectFraction: 0.5, Seed: seed})
			return b.Value, err
		}}
	}
	as := []simAudit{fixed(StatSteinke), fixed(StatFDP), fixed(StatFDPApprox)}
	if selection {
		as = append(as, selected(StatSteinke), selected(StatFDP), selected(StatFDPApprox))
	}
	return append(as,
		simAudit{"holdout", "", func(s []float64, in []bool, _ []float64, _ []bool, seed uint64) (float64, error) {
			b, err := HoldoutEpsilon(s, in, EpsilonOptions{Delta: delta, Seed: seed})
			return b.Value, err
		}},
		simAudit{"multi-run", "", func(_ []float64, _ []bool, s []float64, in []bool, seed uint64) (float64, error) {
			b, err := MultiRunEpsilon(s, in, EpsilonOptions{Delta: delta, Seed: seed})
			return b.Value, err
		}},
	)
}

// aprioriGuesses returns the number of guesses per side (members and non-members) that gives the best
// bound at the expected counts of the claimed mechanism: chosen before any data is drawn.
func aprioriGuesses(mech simMechanism, m int, delta float64, stat OneRunStat) int {
	c := oneRunConfig{stat: stat, alpha: 0.05, delta: delta}
	best, bestK := -1.0, 1
	for _, f := range selectionFractions[1:] {
		k := int(math.Round(f * float64(m)))
		if k < 1 {
			continue
		}
		v, _ := c.value(m, 2*k, int(math.Round(2*float64(k)*mech.topPrecision(f))), 1e-4)
		if v > best {
			best, bestK = v, k
		}
	}
	return bestK
}

// simCell is the outcome of one audit on one mechanism and canary count over the seeds.
type simCell struct {
	mech    simMechanism
	m       int
	audit   string
	values  []float64
	exceed  int // seeds whose bound is above the promise: eps, or fdpPromise for the f-DP statistic
	aboveTr int // seeds whose bound is above the mechanism's exact ε (as above, but always eps)
	flagged int // seeds whose bound is above the claimed ε
}

// runSoundness runs every audit on mech with m canaries (and m training runs for the multi-run audit)
// over seeds data sets.
func runSoundness(t *testing.T, mech simMechanism, m, seeds int, delta float64, selection bool) []simCell {
	audits := simAudits(mech, m, delta, selection)
	vals := make([][]float64, len(audits))
	for a := range vals {
		vals[a] = make([]float64, seeds)
	}
	errs := make([]error, seeds)
	parallelFor(seeds, func(seed int) {
		r := rand.New(rand.NewPCG(uint64(seed), uint64(m)))
		scores, in := make([]float64, m), make([]bool, m)
		runScores, runIn := make([]float64, m), make([]bool, m)
		for i := range scores {
			in[i] = r.IntN(2) == 0
			scores[i] = mech.draw(r, in[i])
			runIn[i] = i%2 == 0 // the training-algorithm game: the canary in every other run
			runScores[i] = mech.draw(r, runIn[i])
		}
		for a, au := range audits {
			v, err := au.run(scores, in, runScores, runIn, uint64(seed))
			if err != nil {
				errs[seed] = fmt.Errorf("%s: %w", au.name, err)
				return
			}
			vals[a][seed] = v
		}
	})
	for seed, err := range errs {
		if err != nil {
			t.Fatalf("%s, m %d, seed %d: %v", mech.name, m, seed, err)
		}
	}
	cells := make([]simCell, len(audits))
	for a, au := range audits {
		c := simCell{mech: mech, m: m, audit: au.name, values: vals[a]}
		promise := mech.eps
		if au.stat == StatFDP {
			promise = mech.fdpPromise
		}
		for _, v := range vals[a] {
			if v < 0 || math.IsNaN(v) {
				t.Errorf("%s, m %d, %s: bound %v", mech.name, m, au.name, v)
			}
			if v > promise*(1+1e-9) {
				c.exceed++
			}
			if v > mech.eps*(1+1e-9) {
				c.aboveTr++
			}
			if v > mech.claimed {
				c.flagged++
			}
		}
		cells[a] = c
	}
	return cells
}

// TestAuditSoundness runs every DP audit on mechanisms whose privacy is known exactly (randomized
// response and the Gaussian mechanism), simulated as m canaries each included independently with
// probability ½, over many seeds:
//
//   - each bound exceeds the mechanism's exact ε at δ (for the f-DP statistic: the ε of the least
//     private Gaussian-DP curve the mechanism satisfies) on no more seeds than α = 0.05 allows: it fails
//     when P[Binomial(seeds, α) ≥ count] < 0.001;
//   - on a broken mechanism (a Gaussian with half the σ it claims) each bound exceeds the claimed ε on
//     most seeds.
//
// It logs the median bound of each audit, the table of the README's "Differential privacy audits".
func TestAuditSoundness(t *testing.T) {
	const delta, alpha = 1e-5, 0.05
	seeds, ms, selection := 40, []int{1000, 10000}, false
	if testing.Short() {
		seeds, ms = 12, []int{1000}
	}
	if *dpSeeds > 0 {
		seeds, ms, selection = *dpSeeds, []int{1000, 10000, 100000}, true
	}
	mechs := []simMechanism{
		randomizedResponse(1, delta),
		randomizedResponse(4, delta),
		gaussianMechanism(1, 1, delta),
		gaussianMechanism(0.5, 0.5, delta),
	}
	var all []simCell
	for _, mech := range mechs {
		for _, m := range ms {
			all = append(all, runSoundness(t, mech, m, seeds, delta, selection)...)
		}
	}
	for _, c := range all {
		if p := binomSF(c.exceed-1, seeds, alpha); p < 0.001 {
			t.Errorf("%s, m %d, %s: the bound exceeds the promised ε on %d of %d seeds (binomial tail %.2g at α %v)",
				c.mech.name, c.m, c.audit, c.exceed, seeds, p, alpha)
		}
	}

	// The broken mechanism: every audit must notice, with enough canaries.
	broken := gaussianMechanism(1, 2, delta)
	bm := 100000
	bcells := runSoundness(t, broken, bm, seeds, delta, selection)
	for _, c := range bcells {
		if 2*c.flagged <= seeds {
			t.Errorf("%s, m %d, %s: the bound exceeds the claimed ε %.3g on only %d of %d seeds (median bound %.3g)",
				broken.name, bm, c.audit, broken.claimed, c.flagged, seeds, simMedian(c.values))
		}
	}
	all = append(all, bcells...)
	t.Logf("\n%s", soundnessTable(all, seeds, delta))
}

// soundnessTable formats the cells as a Markdown table.
func soundnessTable(cells []simCell, seeds int, delta float64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d seeds, δ = %s, α = 0.05\n\n", seeds, FormatDelta(delta))
	b.WriteString("| mechanism | exact ε | m | audit | median bound | median / exact | seeds above promise | seeds above exact ε | seeds above claimed ε |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range cells {
		med := simMedian(c.values)
		fmt.Fprintf(&b, "| %s | %.3f | %d | %s | %.3f | %.2f | %d | %d | %s |\n", c.mech.name, c.mech.eps, c.m, c.audit, med,
			med/c.mech.eps, c.exceed, c.aboveTr, flaggedText(c))
	}
	return b.String()
}

func flaggedText(c simCell) string {
	if !c.mech.broken {
		return "–"
	}
	return fmt.Sprintf("%d (claimed %.3f)", c.flagged, c.mech.claimed)
}

func simMedian(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	if len(s) == 0 {
		return math.NaN()
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
