package validity

import (
	"context"
	"fmt"
	"strings"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/ramia"
)

// RangeSamples is the number of sampled points per range in the RaMIA harness: a record's queries are
// its range's points (the synthetic signal model gives each its own noise around the record's).
const RangeSamples = 4

// RangeVariants returns the RaMIA rows of the harnesses: range membership inference (package ramia)
// with its trimmed mean tuned on a reference model or fixed, over RMIA with a tuned or fixed a, offline or
// online. Each scores a data set's records as ranges of RangeSamples points (their queries) and returns
// one score per range, so that a harness cell judges the range-level result. They form a table of their
// own (RangeConfig), apart from Variants, so that adding them changes neither the data nor the
// Bonferroni level of the attack table's cells.
func RangeVariants() []Variant {
	rows := []struct {
		params string
		rmia   attack.RMIAConfig
		tune   bool
		trim   *fixedTrim
	}{
		{"tune_offline_a=true trim=tuned", attack.RMIAConfig{}, true, nil},
		{"offline_a=0.3 trim=bottom:0.5", attack.RMIAConfig{OfflineA: 0.3}, false, &fixedTrim{0.5, ramia.TrimBottom}},
		{"offline_a=0.3 trim=top:0.25", attack.RMIAConfig{OfflineA: 0.3}, false, &fixedTrim{0.25, ramia.TrimTop}},
		{"online=true trim=tuned", attack.RMIAConfig{Online: true}, false, nil},
	}
	var out []Variant
	for _, r := range rows {
		params := map[string]string{}
		for _, kv := range strings.Fields(r.params) {
			k, v, _ := strings.Cut(kv, "=")
			params[k] = v
		}
		out = append(out, Variant{
			Name: fmt.Sprintf("ramia %s S=%d", r.params, RangeSamples), Attack: "ramia", Params: params,
			Queries: RangeSamples, Score: rangeScorer(r.rmia, r.tune, r.trim),
		})
	}
	return out
}

// fixedTrim is a trim ratio and direction, turned into a ramia.Trim once the range size is known.
type fixedTrim struct {
	ratio float64
	dir   ramia.Direction
}

// rangeScorer scores the records of d as ranges whose points are their queries.
func rangeScorer(rc attack.RMIAConfig, tune bool, trim *fixedTrim) Scorer {
	return func(d *attack.Data, target int) ([]float64, error) {
		r, err := ramia.FromQueries(d)
		if err != nil {
			return nil, err
		}
		cfg := ramia.Config{RMIA: rc, TuneOfflineA: tune}
		if trim != nil {
			t, err := ramia.FixedTrim(trim.ratio, trim.dir, r.Size, attack.CompatNone)
			if err != nil {
				return nil, err
			}
			cfg.Trim = &t
		}
		res, err := ramia.Audit(context.Background(), r, []int{target}, cfg)
		if err != nil {
			return nil, err
		}
		return res.Targets[0].RangeScores, nil
	}
}

// FullRangeConfig returns the full run of both harnesses on the RaMIA variants (`pmeter validate
// --ranges`): 50 seeds of 3,000 ranges of RangeSamples points and 3,000 population records, every design.
func FullRangeConfig() Config {
	return Config{Seeds: 50, Records: 3000, Population: 3000, Null: true, Leak: true, Variants: RangeVariants(), Designs: Designs()}
}

// ReducedRangeConfig returns the reduced run that `go test ./validity` performs on the RaMIA variants:
// 10 seeds of 1,000 ranges and 1,000 population records, every design, both harnesses (a few seconds of
// CPU). With 500 non-member ranges per seed the TPR at 0.1 % FPR is that at 0 % FPR, which the
// permutation comparison still checks.
func ReducedRangeConfig() Config {
	return Config{Seeds: 10, Records: 1000, Population: 1000, Null: true, Leak: true, Variants: RangeVariants(), Designs: Designs()}
}
