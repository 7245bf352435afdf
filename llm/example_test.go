package llm_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pmeter/pmeter/llm"
)

// Example writes a four-sequence bundle, reads it back (validated) and runs every attack it has inputs
// for: LOSS and Min-K% need only the token log-probabilities.
func Example() {
	b := &llm.Bundle{
		LogProbs: llm.NewRagged([][]float64{{-0.1, -0.3, -0.2}, {-0.4, -0.2}, {-2.1, -1.5, -3}, {-1.2, -2.4}}),
		Labels:   []bool{true, true, false, false},
	}
	dir, _ := os.MkdirTemp("", "llm-example")
	defer os.RemoveAll(dir)
	if err := b.WriteDir(filepath.Join(dir, "bundle")); err != nil {
		fmt.Println(err)
		return
	}
	b, err := llm.Read(filepath.Join(dir, "bundle"))
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := llm.Evaluate(context.Background(), b, []string{"all"}, llm.DefaultParams(), llm.EvalOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range res {
		fmt.Printf("%s AUC %.2f, scores %.3f\n", r.Attack, r.Metrics.AUC, r.Scores)
	}
	// Output:
	// loss AUC 1.00, scores [-0.200 -0.300 -2.200 -1.800]
	// min-k AUC 1.00, scores [-0.300 -0.400 -3.000 -2.400]
}
