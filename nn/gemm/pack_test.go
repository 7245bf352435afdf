package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestPack checks every implementation's packing routines against their definition, for lengths
// around the 8-column blocks of the assembly and with padded leading dimensions.
func TestPack(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, im := range impls() {
		for _, kc := range []int{1, 7, 8, 9, 15, 16, 17, 64, 255} {
			for _, ld := range []int{kc, kc + 5} {
				t.Run(fmt.Sprintf("%s/kc%d/ld%d", im.name, kc, ld), func(t *testing.T) {
					src := make([]float32, (nr-1)*ld+kc) // 16 rows of kc values, or kc rows of 16
					for i := range src {
						src[i] = rng.Float32()
					}
					d := make([]float32, nr*kc+padA)

					fillSentinel(d)
					im.packA6(kc, src, ld, d)
					for p := range kc {
						for r := range mr {
							if got, want := d[p*mr+r], src[r*ld+p]; got != want {
								t.Fatalf("packA6: d[%d·6+%d] = %v, want %v", p, r, got, want)
							}
						}
					}
					for i := mr*kc + padA; i < len(d); i++ {
						if d[i] != sentinel {
							t.Fatalf("packA6 wrote d[%d] past the panel and its padding", i)
						}
					}

					fillSentinel(d)
					im.packB16T(kc, src, ld, d)
					for p := range kc {
						for c := range nr {
							if got, want := d[p*nr+c], src[c*ld+p]; got != want {
								t.Fatalf("packB16T: d[%d·16+%d] = %v, want %v", p, c, got, want)
							}
						}
					}
					checkTail(t, "packB16T", d, nr*kc)

					if ld >= nr {
						rows := make([]float32, (kc-1)*ld+nr) // kc rows of 16 values
						for i := range rows {
							rows[i] = rng.Float32()
						}
						fillSentinel(d)
						im.packB16N(kc, rows, ld, d)
						for p := range kc {
							for j := range nr {
								if got, want := d[p*nr+j], rows[p*ld+j]; got != want {
									t.Fatalf("packB16N: d[%d·16+%d] = %v, want %v", p, j, got, want)
								}
							}
						}
						checkTail(t, "packB16N", d, nr*kc)
					}
				})
			}
		}
	}
}

// sentinel marks the values of a destination that packing must not write.
const sentinel = -7

func fillSentinel(d []float32) {
	for i := range d {
		d[i] = sentinel
	}
}

func checkTail(t *testing.T, name string, d []float32, n int) {
	t.Helper()
	for i := n; i < len(d); i++ {
		if d[i] != sentinel {
			t.Fatalf("%s wrote d[%d] past the panel", name, i)
		}
	}
}
