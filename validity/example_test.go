package validity_test

import (
	"context"
	"fmt"
	"log"

	"github.com/pmeter/pmeter/validity"
)

// Run checks a choice of attack variants under a choice of designs; Failures lists the cells that fail.
func ExampleRun() {
	cfg := validity.ReducedConfig()
	cfg.Seeds, cfg.Records, cfg.Population = 5, 400, 400
	var err error
	if cfg.Variants, err = validity.SelectVariants(validity.Variants(false), []string{"loss", "population"}); err != nil {
		log.Fatal(err)
	}
	if cfg.Designs, err = validity.LookupDesigns([]string{"pairs", "bernoulli"}); err != nil {
		log.Fatal(err)
	}
	rep, err := validity.Run(context.Background(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d null cells, %d leak cells, %d failing\n", len(rep.Null), len(rep.Leak), len(rep.Failures()))
	fmt.Println(rep.Null[0].Design, rep.Null[0].Variant, rep.Null[0].Pass)
	// Output:
	// 16 null cells, 16 leak cells, 0 failing
	// pairs loss true
}
