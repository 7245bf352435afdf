package metric

import (
	"context"
	"math/rand/v2"
	"testing"
)

// benchData returns n normal scores, members shifted up by 0.25, about half members.
func benchData(n int) ([]float64, []bool) {
	r := rand.New(rand.NewPCG(7, uint64(n)))
	scores := make([]float64, n)
	members := make([]bool, n)
	for i := range scores {
		members[i] = r.IntN(2) == 0
		scores[i] = r.NormFloat64()
		if members[i] {
			scores[i] += 0.25
		}
	}
	return scores, members
}

func BenchmarkROC(b *testing.B) {
	scores, members := benchData(1_000_000)
	b.ReportAllocs()
	for b.Loop() {
		ROC(scores, members, true)
	}
}

func BenchmarkROC10M(b *testing.B) {
	scores, members := benchData(10_000_000)
	b.ReportAllocs()
	for b.Loop() {
		ROC(scores, members, true)
	}
}

func BenchmarkEvaluate(b *testing.B) {
	scores, members := benchData(1_000_000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Evaluate(scores, members); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBootstrap(b *testing.B) {
	scores, members := benchData(100_000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Bootstrap(context.Background(), scores, members, BootstrapOptions{Resamples: 100}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClopperPearson(b *testing.B) {
	for b.Loop() {
		ClopperPearson(1234, 1_000_000, 0.05)
	}
}

func BenchmarkAbstainAudit(b *testing.B) {
	scores, members := benchData(10_000)
	for b.Loop() {
		if _, err := AbstainAudit(scores, members, 0, 0.05); err != nil {
			b.Fatal(err)
		}
	}
}
