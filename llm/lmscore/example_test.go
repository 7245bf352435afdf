package lmscore_test

import (
	"context"
	"fmt"
	"log"

	"github.com/pmeter/pmeter/llm/lmscore"
)

// Score a tiny GPT-2-shaped model (exported from PyTorch) on two sequences of token ids; the bundle is
// what 'pmeter attack' reads (b.WriteDir writes it).
func ExampleScore() {
	m, err := lmscore.Load("../../nn/onnx/testdata/gpt_op17.onnx")
	if err != nil {
		log.Fatal(err)
	}
	in := lmscore.Input{Tokens: [][]int64{{5, 17, 42, 8}, {1, 2, 3}}, Labels: []bool{true, false}}
	b, err := lmscore.Score(context.Background(), m, in, lmscore.Options{EOS: -1, Workers: 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(b.N(), "sequences,", len(b.LogProbs.Values), "scored tokens")
	fmt.Printf("log p(token 1 | token 0) of the first: %.4f (μ %.4f, σ² %.4f)\n", b.LogProbs.Values[0], b.Mu[0], b.Sigma2[0])
	// Output:
	// 2 sequences, 5 scored tokens
	// log p(token 1 | token 0) of the first: -9.5242 (μ -1.8512, σ² 1.5808)
}
