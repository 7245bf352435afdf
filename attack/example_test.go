package attack_test

import (
	"fmt"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/dataset"
)

// A run with Privacy Meter's complementary pairs: the target's pair is OUT for exactly the target's
// members, so SelectReferences leaves it out, and every record keeps one IN and one OUT model of each
// other pair.
func ExampleSelectReferences() {
	ms, _ := dataset.PairedMemberships(1000, 3, 1) // 6 models in 3 pairs
	d := &attack.Data{N: ms.N, M: ms.M, Q: 1, Members: ms.Members, Design: attack.DesignPairs}
	refs, _ := attack.SelectReferences(d, 0, attack.RefConfig{})
	in, out := refs.Record(0, nil, nil)
	fmt.Println("pool:", refs.Pool, "excluded:", refs.Excluded)
	fmt.Println("per record:", refs.NumIn, "IN,", refs.NumOut, "OUT;", "record 0:", len(in), "IN,", len(out), "OUT")
	// Output:
	// pool: [2 3 4 5] excluded: [1]
	// per record: 2 IN, 2 OUT; record 0: 2 IN, 2 OUT
}

// Attacks take their parameters as strings, as a command line or a configuration file gives them; Parse
// validates them once into the attack's typed configuration.
func ExampleSpec_Parse() {
	spec, _ := attack.Lookup("lira")
	a, err := spec.Parse(map[string]string{"online": "false", "num_ref_models": "8"})
	fmt.Println(a.Name, a.Params["online"], a.Params["num_ref_models"], a.Params["fix_variance"], err)
	_, err = spec.Parse(map[string]string{"num_ref_models": "-1"})
	fmt.Println(err)
	// Output:
	// lira false 8 auto <nil>
	// attack lira: parameter num_ref_models: "-1" is not valid; want an integer ≥ 0
}
