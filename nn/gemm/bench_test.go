package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// BenchmarkSgemm reports GFLOP/s (2·m·n·k per product) for the shapes of pmeter's MLP layers and a
// large square product, per kernel and transpose combination, next to gonum's pure-Go Sgemm. Run
// briefly with
//
//	go test -run '^$' -bench Sgemm -benchtime 20x ./nn/gemm/
func BenchmarkSgemm(b *testing.B) {
	shapes := [][3]int{{256, 256, 600}, {256, 100, 256}, {1024, 1024, 1024}, {6, 4704, 75}, {16, 3200, 150}, {75, 4704, 6}, {6, 75, 4704}}
	rng := rand.New(rand.NewPCG(1, 1))
	for _, sh := range shapes {
		m, n, k := sh[0], sh[1], sh[2]
		for _, tr := range transposes {
			p := newProblem(rng, tr[0], tr[1], m, n, k, 0, 1, 0)
			flops := 2 * float64(m) * float64(n) * float64(k)
			report := func(b *testing.B) {
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			}
			for _, im := range impls() {
				b.Run(fmt.Sprintf("%dx%dx%d/%s/%s", m, n, k, trName(tr), im.name), func(b *testing.B) {
					for range b.N {
						sgemm(im, 1, minWork, p.tA, p.tB, m, n, k, 1, p.a, p.lda, p.b, p.ldb, 0, p.c, p.ldc)
					}
					report(b)
				})
			}
			b.Run(fmt.Sprintf("%dx%dx%d/%s/parallel", m, n, k, trName(tr)), func(b *testing.B) {
				for range b.N {
					SgemmParallel(4, p.tA, p.tB, m, n, k, 1, p.a, p.lda, p.b, p.ldb, 0, p.c, p.ldc)
				}
				report(b)
			})
			b.Run(fmt.Sprintf("%dx%dx%d/%s/gonum", m, n, k, trName(tr)), func(b *testing.B) {
				ta, tb := blas.NoTrans, blas.NoTrans
				if tr[0] {
					ta = blas.Trans
				}
				if tr[1] {
					tb = blas.Trans
				}
				for range b.N {
					gonum.Implementation{}.Sgemm(ta, tb, m, n, k, 1, p.a, p.lda, p.b, p.ldb, 0, p.c, p.ldc)
				}
				report(b)
			})
		}
	}
}

func trName(tr [2]bool) string {
	s := [2]string{"N", "N"}
	for i, t := range tr {
		if t {
			s[i] = "T"
		}
	}
	return s[0] + s[1]
}
