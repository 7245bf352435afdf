package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

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

// BenchmarkSgemmVariants compares, in one process, the choices serial makes for the products of
// convolutions (Out × images·H·W × In·K·K, as nn lays them out): each op times one product of every
// variant in turn, and the fastest of each over the ops gives the default's speed-ups reported (the
// variant's time over the default's):
//
//   - "x-vs-packed-B": reading B in place against packing it (impl.alwaysPackB);
//   - "x-vs-narrow-edges": the edge rows of a 32-column block with the 32-column kernel against the
//     16-column kernel twice (impl.narrowEdges);
//   - "x-vs-aliased-stride": rows of B and C at LeadingDim's stride (as nn lays out patch matrices)
//     against n, a multiple of 1 KiB.
//
// Run with
//
//	go test -run '^$' -bench SgemmVariants -benchtime 30x ./nn/gemm/
func BenchmarkSgemmVariants(b *testing.B) {
	if defaultImpl.kern32 == nil {
		b.Skip("no 32-column kernel on this CPU")
	}
	for _, sh := range [][3]int{{16, 4096, 144}, {32, 2048, 288}, {64, 2048, 576}, {64, 256, 576}, {128, 512, 576}} {
		m, n, k := sh[0], sh[1], sh[2]
		b.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(b *testing.B) {
			packed, narrow := *defaultImpl, *defaultImpl
			packed.alwaysPackB, narrow.narrowEdges = true, true
			ld := LeadingDim(n) // as nn lays out patch matrices
			a, bb, c := make([]float32, m*k), make([]float32, k*ld), make([]float32, m*ld)
			for i := range a {
				a[i] = float32(i%7) * 0.25
			}
			for i := range bb {
				bb[i] = float32(i%5) * 0.5
			}
			variants := []struct {
				im  *impl
				ldb int
			}{{defaultImpl, ld}, {&packed, ld}, {&narrow, ld}, {defaultImpl, n}}
			best := make([]time.Duration, len(variants))
			for range b.N {
				for v, x := range variants {
					t := time.Now()
					sgemm(x.im, 1, minWork, false, false, m, n, k, 1, a, k, bb, x.ldb, 0, c, x.ldb)
					if d := time.Since(t); best[v] == 0 || d < best[v] {
						best[v] = d
					}
				}
			}
			b.ReportMetric(2*float64(m*n*k)/best[0].Seconds()/1e9, "GFLOP/s")
			b.ReportMetric(best[1].Seconds()/best[0].Seconds(), "x-vs-packed-B")
			b.ReportMetric(best[2].Seconds()/best[0].Seconds(), "x-vs-narrow-edges")
			b.ReportMetric(best[3].Seconds()/best[0].Seconds(), "x-vs-aliased-stride")
		})
	}
}
