package attack

import (
	"fmt"
	"slices"
)

// RefConfig configures SelectReferences.
type RefConfig struct {
	// NumRef caps the reference models per side: a record is compared with at most NumRef models it was
	// IN and at most NumRef models it was OUT (0: no cap). Models are taken in the order of Models.
	NumRef int
	// Models lists the models that may serve as references, in order of preference; nil means every model
	// in index order. The target and the models whose memberships are determined by the target's are
	// removed from it.
	Models []int
	// Seed selects the pseudo-random choice of the models dropped to equalise counts (see
	// SelectReferences). It never depends on the target.
	Seed uint64
}

// References is the choice of reference models of every record for one target model, made by
// SelectReferences: the one place in pmeter that decides which models an attack compares a record with.
type References struct {
	Target int
	// Design is the memberships' design (never DesignAuto).
	Design Design
	// Pool lists the models that may serve as references, in order of preference: RefConfig.Models minus
	// the target and Excluded.
	Pool []int
	// Excluded lists the models left out because their memberships are determined by the target's (equal
	// or complementary on every record): Privacy Meter's paired model, for one.
	Excluded []int
	// NumIn and NumOut are the IN and OUT counts of every record when they are the same for every record
	// (fixed-count designs), −1 when they vary from record to record (bernoulli and other designs).
	NumIn, NumOut int

	numRef  int
	seed    uint64
	members []bool
	m       int
	fixed   bool // drop to NumIn/NumOut before the cap
	eqIn    int  // equalised counts before the cap (fixed designs)
	eqOut   int
}

// SelectReferences chooses the reference models of every record of d for attacking model target. The
// rule, which every attack that compares a record with reference models follows, is that a record's
// IN and OUT reference counts, and the distribution of the models it is compared with, never depend on
// its membership in the target:
//
//   - the target is never a reference, and neither is a model whose memberships equal the target's or
//     their complement on every record (Privacy Meter's paired model: a record is OUT for it exactly
//     when it is IN for the target, so keeping it gives members one more OUT model than non-members).
//     In a declared bernoulli design such a model can only be a coincidence of few records, and stays;
//   - in a fixed-count design (DesignLiRA, DesignPairs, inferred when every record is IN for the same
//     number of models), removing the target leaves members with one IN model fewer and one OUT model
//     more than non-members (with 10 models: 4 IN / 5 OUT against 5 IN / 4 OUT). Every record is
//     therefore cut to the smallest IN count and the smallest OUT count over all records, the extra
//     model dropped by a pseudo-random ranking of the models drawn per record from cfg.Seed, which does
//     not depend on the target; which models remain is then equally distributed for members and
//     non-members;
//   - in the other designs a record's counts are its own and vary from record to record (independently
//     of the target's memberships, by the design).
//
// Finally each side is capped at cfg.NumRef models, the first in pool order. The IN and OUT models of a
// record are listed by Record; the first models of the pool by Models.
func SelectReferences(d *Data, target int, cfg RefConfig) (*References, error) {
	if target < 0 || target >= d.M {
		return nil, fmt.Errorf("target model %d does not exist (there are %d models, 0 to %d)", target, d.M, d.M-1)
	}
	if cfg.NumRef < 0 {
		return nil, fmt.Errorf("%d reference models per side requested; want a count >= 0 (0 means all)", cfg.NumRef)
	}
	if len(d.Members) != d.N*d.M {
		return nil, fmt.Errorf("memberships: %d values, want %d (%d records × %d models)", len(d.Members), d.N*d.M, d.N, d.M)
	}
	r := &References{Target: target, Design: d.design(), numRef: cfg.NumRef, seed: cfg.Seed, members: d.Members, m: d.M, NumIn: -1, NumOut: -1}
	models := cfg.Models
	if models == nil {
		models = make([]int, d.M)
		for k := range models {
			models[k] = k
		}
	}
	seen := make([]bool, d.M)
	for k, c := range models {
		if c < 0 || c >= d.M {
			return nil, fmt.Errorf("reference model %d (position %d of the reference list) does not exist (there are %d models)", c, k, d.M)
		}
		if seen[c] {
			return nil, fmt.Errorf("reference model %d appears twice in the reference list", c)
		}
		seen[c] = true
		switch {
		case c == target:
		case r.Design != DesignBernoulli && determinedBy(d, c, target):
			r.Excluded = append(r.Excluded, c)
		default:
			r.Pool = append(r.Pool, c)
		}
	}
	if r.Design == DesignPairs || r.Design == DesignLiRA {
		r.fixed = true
		r.eqIn, r.eqOut = len(r.Pool), len(r.Pool)
		for i := range d.N {
			in := r.countIn(i)
			r.eqIn, r.eqOut = min(r.eqIn, in), min(r.eqOut, len(r.Pool)-in)
		}
		r.NumIn, r.NumOut = r.eqIn, r.eqOut
		if cfg.NumRef > 0 {
			r.NumIn, r.NumOut = min(r.NumIn, cfg.NumRef), min(r.NumOut, cfg.NumRef)
		}
	}
	return r, nil
}

// determinedBy reports whether model c's memberships equal model t's, or their complement, on every record.
func determinedBy(d *Data, c, t int) bool {
	if d.N == 0 {
		return false
	}
	m := d.M
	same := d.Members[c] == d.Members[t]
	for i := 1; i < d.N; i++ {
		if (d.Members[i*m+c] == d.Members[i*m+t]) != same {
			return false
		}
	}
	return true
}

// countIn returns the number of pool models record i is IN for.
func (r *References) countIn(i int) int {
	row := r.members[i*r.m : (i+1)*r.m]
	c := 0
	for _, p := range r.Pool {
		if row[p] {
			c++
		}
	}
	return c
}

// Record appends record i's IN and OUT reference models, in pool order, to in[:0] and out[:0].
func (r *References) Record(i int, in, out []int) ([]int, []int) {
	in, out = in[:0], out[:0]
	row := r.members[i*r.m : (i+1)*r.m]
	for _, p := range r.Pool {
		if row[p] {
			in = append(in, p)
		} else {
			out = append(out, p)
		}
	}
	if r.fixed {
		in = r.drop(i, in, len(in)-r.eqIn)
		out = r.drop(i, out, len(out)-r.eqOut)
	}
	if r.numRef > 0 {
		in, out = in[:min(len(in), r.numRef)], out[:min(len(out), r.numRef)]
	}
	return in, out
}

// drop removes from models (in pool order) the k models that rank lowest in record i's pseudo-random
// ranking of the models, keeping the order of the rest.
func (r *References) drop(i int, models []int, k int) []int {
	for ; k > 0; k-- {
		lo := 0
		for j := 1; j < len(models); j++ {
			if r.rank(i, models[j]) < r.rank(i, models[lo]) {
				lo = j
			}
		}
		models = slices.Delete(models, lo, lo+1)
	}
	return models
}

// rank is record i's pseudo-random rank of model c: SplitMix64 of the seed, the record and the model.
func (r *References) rank(i, c int) uint64 {
	x := r.seed ^ uint64(i)*0x9e3779b97f4a7c15 ^ uint64(c)*0xc2b2ae3d27d4eb4f
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// Models returns the first n models of the pool (all of them when n is 0 or more than the pool holds):
// the references of attacks that use whole models rather than a record's own IN and OUT models
// (population records, which are OUT everywhere; Song & Mittal's thresholds; Shokri's shadow models).
func (r *References) Models(n int) []int {
	if n <= 0 || n > len(r.Pool) {
		return r.Pool
	}
	return r.Pool[:n]
}

// need checks that the references give an attack what it uses: on each side it uses (in, out), at least
// one model, and in a fixed-count design at least the cap it asks for (capIn, capOut; 0 for no cap).
// Designs whose counts vary from record to record are checked per record by the attacks, which document
// a fallback for a record without models on a side.
func (r *References) need(in, out bool, capIn, capOut int) error {
	if len(r.Pool) == 0 {
		return fmt.Errorf("no reference model: besides the target (model %d), models %v are excluded, their memberships being determined by the target's", r.Target, r.Excluded)
	}
	if !r.fixed {
		return nil
	}
	for _, s := range []struct {
		use       bool
		have, cap int
		side      string
	}{{in, r.eqIn, capIn, "IN"}, {out, r.eqOut, capOut, "OUT"}} {
		switch {
		case !s.use:
		case s.have == 0:
			return fmt.Errorf("the %s design leaves no record an %s reference model (%d models; the target and %d models determined by it excluded, counts equalised so that they do not depend on the membership in the target)", r.Design, s.side, r.m, len(r.Excluded))
		case s.cap > s.have:
			return fmt.Errorf("%d %s reference models per record requested, but the %s design leaves every record %d (%d models; the target and %d models determined by it excluded, counts equalised so that they do not depend on the membership in the target)", s.cap, s.side, r.Design, s.have, r.m, len(r.Excluded))
		}
	}
	return nil
}
