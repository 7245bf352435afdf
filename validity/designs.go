package validity

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/dataset"
)

// Design is a way of drawing memberships that the harnesses audit under.
type Design struct {
	// Name identifies the design in tables, flags and JSON: "pairs", "lira-10", "lira-9", "bernoulli".
	Name string
	// Kind is the design declared on the data (attack.Data.Design).
	Kind attack.Design
	// Models is the number of models M, the target included.
	Models int
}

// Designs returns the designs of the harnesses: Privacy Meter's complementary pairs (5 pairs), LiRA's
// split with an even (10) and an odd (9) number of models, each record IN for ⌊M/2⌋ of them, and
// independent memberships (12 models).
func Designs() []Design {
	return []Design{
		{"pairs", attack.DesignPairs, 10},
		{"lira-10", attack.DesignLiRA, 10},
		{"lira-9", attack.DesignLiRA, 9},
		{"bernoulli", attack.DesignBernoulli, 12},
	}
}

// DesignNames returns the names of Designs, in order.
func DesignNames() []string {
	var out []string
	for _, g := range Designs() {
		out = append(out, g.Name)
	}
	return out
}

// LookupDesigns returns the designs named in names (nil or empty: all), in Designs order. An unknown name is
// an error that lists the known ones.
func LookupDesigns(names []string) ([]Design, error) {
	all := Designs()
	if len(names) == 0 {
		return all, nil
	}
	var out []Design
	for _, n := range names {
		found := false
		for _, g := range all {
			if g.Name == n {
				found = true
				out = append(out, g)
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown design %q (want one of: %s)", n, strings.Join(DesignNames(), ", "))
		}
	}
	return out, nil
}

// members draws the design's memberships, n records × g.Models, for an audit of model target: Privacy
// Meter's pairs (dataset.PairedMemberships), LiRA's split with k = ⌊M/2⌋ (dataset.LiRAMemberships) or
// fair coins (dataset.BernoulliMemberships), as a run draws them: in the bernoulli design some records have
// fewer than two reference models on a side, or none, and the attacks' documented fallbacks are part of
// what is calibrated.
func (g Design) members(n int, seed uint64) ([]bool, error) {
	var ms *dataset.Memberships
	var err error
	switch g.Kind {
	case attack.DesignPairs:
		ms, err = dataset.PairedMemberships(n, g.Models/2, seed)
	case attack.DesignLiRA:
		ms, err = dataset.LiRAMemberships(n, g.Models, 0.5, seed)
	case attack.DesignBernoulli:
		ms, err = dataset.BernoulliMemberships(n, g.Models, seed)
	default:
		return nil, fmt.Errorf("design %s: memberships of kind %s are not drawn by the harness", g.Name, g.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("design %s: %w", g.Name, err)
	}
	return ms.Members, nil
}

// Independent returns the counterpart of g with independent memberships, which the leak harness compares
// g with: the target's memberships are fair coins, independent of everything else, and every record has
// the IN and OUT reference counts that attack.SelectReferences leaves it under g.
//
//   - pairs with P pairs: the target and P − 1 complementary pairs (the target's partner is excluded
//     under g), so every record has 1 IN and 1 OUT per pair: M − 1 models;
//   - lira with M models and k = ⌊M/2⌋: the target and M − 2 models with exactly k − 1 IN per record
//     (under g, removing the target leaves members k − 1 IN and non-members M − 1 − k OUT, and the
//     selector equalises every record to k − 1 IN and min(k, M − 1 − k) = M − 1 − k OUT): M − 1 models;
//   - bernoulli is its own counterpart.
//
// The counterpart's Kind is attack.DesignOther except for bernoulli.
func (g Design) Independent() Design {
	if g.Kind == attack.DesignBernoulli {
		return g
	}
	return Design{Name: g.Name + " (independent)", Kind: attack.DesignOther, Models: g.Models - 1}
}

// independentMembers draws the memberships of g's counterpart (see Independent), n records × M − 1 models
// (M for bernoulli), with the independent target at column target.
func (g Design) independentMembers(n, target int, seed uint64) ([]bool, error) {
	if g.Kind == attack.DesignBernoulli {
		return g.members(n, seed)
	}
	m := g.Models - 1
	var refs *dataset.Memberships
	var err error
	switch g.Kind {
	case attack.DesignPairs:
		refs, err = dataset.PairedMemberships(n, g.Models/2-1, seed)
	case attack.DesignLiRA:
		// m − 1 reference models with k − 1 IN each: pkeep·(m−1) = k − ½ truncates to k − 1 exactly.
		k := g.Models / 2
		refs, err = dataset.LiRAMemberships(n, m-1, (float64(k)-0.5)/float64(m-1), seed)
	default:
		return nil, fmt.Errorf("design %s: no independent counterpart for memberships of kind %s", g.Name, g.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("design %s (independent): %w", g.Name, err)
	}
	r := rand.New(rand.NewPCG(seed, 0x636f696e)) // "coin"
	out := make([]bool, n*m)
	for i := range n {
		col := 0
		for k := range m {
			if k == target {
				out[i*m+k] = r.Uint64()&1 == 1
				continue
			}
			out[i*m+k] = refs.Members[i*(m-1)+col]
			col++
		}
	}
	return out, nil
}
