package dataset_test

import (
	"fmt"

	"github.com/pmeter/pmeter/dataset"
)

// Privacy Meter v2's design on a Purchase100-like table: the first 75 % of the records are the
// training pool and the rest the population; 2P models train on complementary halves of the pool;
// the audit uses a balanced subset of target model 0's members and non-members.
func Example_privacyMeterV2() {
	d, err := dataset.GeneratePurchaseLike(2000, 60, 10, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	poolIdx, popIdx, _ := dataset.SplitByFraction(d.Len(), 0.75)
	pool, _ := d.Subset(poolIdx)
	population, _ := d.Subset(popIdx)

	const pairs = 2 // Privacy Meter: P = max(ceil(E/2), R+1) for E targets and R reference models
	ms, _ := dataset.PairedMemberships(pool.Len(), pairs, 7)
	audit, _ := dataset.BalancedAudit(ms, 0, 500, 7)
	auditMembers, _ := ms.Rows(audit)

	fmt.Println("pool", pool.Len(), "population", population.Len())
	fmt.Println("models", ms.M, "model 0 trains on", len(ms.Train(0)), "model 1 on", len(ms.Train(1)))
	fmt.Println("audited", auditMembers.N, "first is a member of model 0:", auditMembers.In(0, 0))
	// Output:
	// pool 1500 population 500
	// models 4 model 0 trains on 750 model 1 on 750
	// audited 500 first is a member of model 0: true
}

// LiRA's design: every record is IN for exactly pkeep·M models.
func ExampleLiRAMemberships() {
	ms, _ := dataset.LiRAMemberships(1000, 16, 0.5, 3)
	fmt.Println(ms.N, "records ×", ms.M, "models; record 0 is IN for", ms.CountIn(0))
	// Output: 1000 records × 16 models; record 0 is IN for 8
}
