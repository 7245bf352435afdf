package llm_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pmeter/pmeter/duci"
	"github.com/pmeter/pmeter/llm"
	"github.com/pmeter/pmeter/validity"
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

// ExampleUsage estimates the fraction of a corpus of 300 sequences that a target LM was fine-tuned on
// (text DUCI), from a synthetic bundle whose target used 40 % of it and whose four shadow LMs, fine-tuned
// the same way on halves of the corpus, are the reference models.
func ExampleUsage() {
	b := validity.GenerateLLMUsage(1, 300, 100, 4, 0.4)
	r, _, err := llm.Usage(context.Background(), b, nil, nil, duci.Config{Resamples: 200})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s with shadow LMs %v: %.2f, interval [%.2f, %.2f], truth %.2f\n", r.Method, r.References, r.Proportion, r.CI.Lo, r.CI.Hi, *r.TrueProportion)
	// Output:
	// duci-rmia with shadow LMs [1 2 3 4]: 0.41, interval [0.32, 0.48], truth 0.40
}
