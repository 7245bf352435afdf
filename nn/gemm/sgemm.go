package gemm

import (
	"fmt"
	"sync"
)

// Register tile and cache blocking. The micro-kernel computes an mr × nr tile of C; op(A) is packed
// into blocks of at most mcMax rows (144 KiB, for L2) and op(B) into blocks of at most ncMax
// columns, both over at most kcMax values of the inner dimension: one mr-row panel of A and one
// (AVX2) or two (AVX-512) nr-column panels of B, 6 + 16 or 6 + 32 KiB, then fit in a 32 or 48 KiB
// L1 cache. The actual block sizes split each dimension into blocks of equal size. Measured on
// 256×256×600 and 1024³, block sizes from kcMax 192–400 and mcMax 72–288 were within the noise of
// this shared machine.
const (
	mr    = 6
	nr    = 16
	kcMax = 256
	mcMax = 144
	ncMax = 2048
)

// Sgemm computes
//
//	C = alpha·op(A)·op(B) + beta·C
//
// for row-major matrices, where op(A) = A (m × k, row i at a[i·lda:]) or, if transA, Aᵀ with A
// stored k × m; op(B) = B (k × n, ldb) or, if transB, Bᵀ with B stored n × k; and C is m × n with
// row i at c[i·ldc:]. These are the conventions of gonum's blas32 Sgemm. With beta = 0, C is
// overwritten and its previous contents (NaN included) are ignored; with alpha = 0 or k = 0, C is
// only scaled by beta and A and B are not read.
//
// Sgemm runs on the calling goroutine and may be called concurrently on disjoint C. It panics, like
// BLAS, if a dimension is negative, a leading dimension is smaller than its row length, or a slice
// is too short for its matrix.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(defaultImpl, 1, minWork, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmParallel is Sgemm with the product split over up to workers goroutines (workers ≤ 1 means
// one). Small products run on the calling goroutine. The result is bitwise the same as Sgemm's for
// any number of workers: the rows or columns of C are divided at tile boundaries, and each element
// of C is computed by one goroutine exactly as Sgemm computes it.
func SgemmParallel(workers int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(defaultImpl, workers, minWork, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Kernel names the micro-kernel Sgemm uses on this CPU and build: "avx512" (AVX-512F, with AVX2
// and FMA), "avx2" (AVX2 + FMA) or "go" (portable Go).
func Kernel() string { return defaultImpl.name }

// minWork is the least number of multiply-adds per goroutine worth starting one for.
const minWork = 1 << 20

// sgemm is Sgemm with implementation im, over up to workers goroutines that each have at least
// minWork multiply-adds to do.
func sgemm(im *impl, workers, minWork int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		scale(m, n, beta, c, ldc)
		return
	}
	workers = min(workers, m*n*k/minWork)
	if workers <= 1 {
		serial(im, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	// Split the dimension with more tiles; each part is a whole number of tiles.
	mt, nt := (m+mr-1)/mr, (n+nr-1)/nr
	var wg sync.WaitGroup
	if mt >= nt {
		workers = min(workers, mt)
		for w := range workers {
			i0, i1 := w*mt/workers*mr, min(m, (w+1)*mt/workers*mr)
			ao := i0 * lda
			if transA {
				ao = i0
			}
			wg.Go(func() {
				serial(im, transA, transB, i1-i0, n, k, alpha, a[ao:], lda, b, ldb, beta, c[i0*ldc:], ldc)
			})
		}
	} else {
		workers = min(workers, nt)
		for w := range workers {
			j0, j1 := w*nt/workers*nr, min(n, (w+1)*nt/workers*nr)
			bo := j0
			if transB {
				bo = j0 * ldb
			}
			wg.Go(func() {
				serial(im, transA, transB, m, j1-j0, k, alpha, a, lda, b[bo:], ldb, beta, c[j0:], ldc)
			})
		}
	}
	wg.Wait()
}

func checkArgs(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	ra, ca := m, k // rows and columns of A as stored
	if transA {
		ra, ca = k, m
	}
	rb, cb := k, n
	if transB {
		rb, cb = n, k
	}
	if lda < max(1, ca) {
		panic(fmt.Sprintf("gemm: lda=%d < %d", lda, max(1, ca)))
	}
	if ldb < max(1, cb) {
		panic(fmt.Sprintf("gemm: ldb=%d < %d", ldb, max(1, cb)))
	}
	if ldc < max(1, n) {
		panic(fmt.Sprintf("gemm: ldc=%d < %d", ldc, max(1, n)))
	}
	if m == 0 || n == 0 {
		return
	}
	if k > 0 && len(a) < (ra-1)*lda+ca {
		panic(fmt.Sprintf("gemm: len(a)=%d < %d", len(a), (ra-1)*lda+ca))
	}
	if k > 0 && len(b) < (rb-1)*ldb+cb {
		panic(fmt.Sprintf("gemm: len(b)=%d < %d", len(b), (rb-1)*ldb+cb))
	}
	if len(c) < (m-1)*ldc+n {
		panic(fmt.Sprintf("gemm: len(c)=%d < %d", len(c), (m-1)*ldc+n))
	}
}

// scale sets C = beta·C, writing zeros when beta = 0.
func scale(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// blockSize returns the size of the blocks that split n into the fewest blocks of at most maxSize,
// all of equal size (a multiple of unit) but the last.
func blockSize(n, maxSize, unit int) int {
	nb := (n + maxSize - 1) / maxSize
	s := (n + nb - 1) / nb
	return (s + unit - 1) / unit * unit
}

// direct reports whether serial reads op(B) = B in place instead of packing it. Packing pays off
// when each panel of B is used by many panels of A, and when B's rows lie a multiple of 1 KiB apart:
// then the rows of a panel fall into the same cache sets, and reading them in place was up to 30 %
// slower from m ≈ 48. At other strides reading in place was faster up to m = 128 (one block of A:
// 1.03–1.3× on m = 24–128 in one process), at strides of 1 KiB multiples up to m ≈ 18.
func direct(transB bool, m, ldb int) bool {
	return !transB && (m <= 3*mr || m <= 128 && !aliased(ldb))
}

// LeadingDim returns a row stride for a matrix of n columns (≥ n) at which the kernels read it at full
// speed: n, or n + 16 (one cache line more) when n is a multiple of 256 values (1 KiB), where a panel's
// rows fall into the same cache sets and products ran up to 1.7× slower (BenchmarkSgemmVariants).
func LeadingDim(n int) int {
	if aliased(n) {
		return n + 16
	}
	return n
}

// aliased reports a row stride of a multiple of 1 KiB.
func aliased(ld int) bool { return ld%256 == 0 }

// serial computes the product on the calling goroutine; the arguments are valid, m, n, k > 0 and
// alpha ≠ 0.
func serial(im *impl, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ws := pool.Get()
	defer pool.Put(ws)
	direct := !im.alwaysPackB && direct(transB, m, ldb)
	kcb := blockSize(k, kcMax, 1)
	mcb := blockSize(m, mcMax, mr)
	ncb := blockSize(n, ncMax, nr)
	pa := ws.a.grow(mcb*kcb + padA)
	var pb []float32
	if direct {
		pb = ws.b.grow(nr * kcb) // the last panel when it is partial
	} else {
		pb = ws.b.grow(ncb * kcb)
	}
	mk := &ws.mk
	mk.im, mk.alpha = im, alpha
	for jc := 0; jc < n; jc += ncb {
		nc := min(ncb, n-jc)
		for pc := 0; pc < k; pc += kcb {
			kc := min(kcb, k-pc)
			mk.kc, mk.beta = kc, beta
			if pc > 0 {
				mk.beta = 1
			}
			switch {
			case !direct:
				im.packB(pb, b, ldb, transB, pc, kc, jc, nc)
			case nc%nr != 0:
				jr := nc / nr * nr
				im.packB(pb, b, ldb, false, pc, kc, jc+jr, nc-jr)
			}
			// panel returns the B panel of columns [jr, jr+nr) of the block and its row stride.
			panel := func(jr int) ([]float32, int) {
				switch {
				case !direct:
					return pb[jr*kc : (jr+nr)*kc], nr
				case jr+nr <= nc:
					return b[pc*ldb+jc+jr:], ldb
				}
				return pb[:nr*kc], nr
			}
			for ic := 0; ic < m; ic += mcb {
				mc := min(mcb, m-ic)
				im.packA(pa, a, lda, transA, ic, mc, pc, kc)
				for jr := 0; jr < nc; jr += nr {
					co := ic*ldc + jc + jr
					b0, sb := panel(jr)
					if im.kern32 != nil && jr+2*nr <= nc {
						b1, _ := panel(jr + nr)
						mk.run32(mc, pa, b0, b1, sb, c[co:], ldc)
						jr += nr
						continue
					}
					mk.run(mc, min(nr, nc-jr), pa, b0, sb, c[co:], ldc)
				}
			}
		}
	}
}

// macroKernel applies the micro-kernels of im to one block of packed A and one or two panels of B.
type macroKernel struct {
	im          *impl
	kc          int
	alpha, beta float32
	tile        [mr * nr]float32
	tile32      [mr * 2 * nr]float32
}

// run computes the mc × cols block of C (cols ≤ nr) from the packed block of A and panel b (row
// stride sb).
func (mk *macroKernel) run(mc, cols int, pa, b []float32, sb int, c []float32, ldc int) {
	kc := mk.kc
	for ir := 0; ir < mc; ir += mr {
		rows := min(mr, mc-ir)
		ap := pa[ir*kc : (ir+mr)*kc]
		co := ir * ldc
		if rows == mr && cols == nr {
			mk.im.kern(kc, ap, b, sb, c[co:], ldc, mk.alpha, mk.beta)
			continue
		}
		// Edge tile: compute a full tile in a buffer and copy its valid part.
		if mk.beta != 0 {
			for i := range rows {
				copy(mk.tile[i*nr:i*nr+cols], c[co+i*ldc:])
			}
		}
		mk.im.kern(kc, ap, b, sb, mk.tile[:], nr, mk.alpha, mk.beta)
		for i := range rows {
			copy(c[co+i*ldc:co+i*ldc+cols], mk.tile[i*nr:])
		}
	}
}

// run32 is run for two full adjacent panels b0, b1 with the 32-column micro-kernel.
func (mk *macroKernel) run32(mc int, pa, b0, b1 []float32, sb int, c []float32, ldc int) {
	kc := mk.kc
	full := mc / mr * mr
	for ir := 0; ir < full; ir += mr {
		mk.im.kern32(kc, pa[ir*kc:(ir+mr)*kc], b0, b1, sb, c[ir*ldc:], ldc, mk.alpha, mk.beta)
	}
	if full == mc {
		return
	}
	if mk.im.narrowEdges {
		mk.run(mc-full, nr, pa[full*kc:], b0, sb, c[full*ldc:], ldc)
		mk.run(mc-full, nr, pa[full*kc:], b1, sb, c[full*ldc+nr:], ldc)
		return
	}
	// Edge rows (mc not a multiple of mr, as for 16, 32 or 64 output channels): a full tile with
	// the same 32-column kernel in a buffer, its valid rows copied (the 16-column kernel twice took
	// twice as long; both compute each element with the same operations).
	rows, co := mc-full, full*ldc
	if mk.beta != 0 {
		for i := range rows {
			copy(mk.tile32[i*2*nr:(i+1)*2*nr], c[co+i*ldc:])
		}
	}
	mk.im.kern32(kc, pa[full*kc:(full+mr)*kc], b0, b1, sb, mk.tile32[:], 2*nr, mk.alpha, mk.beta)
	for i := range rows {
		copy(c[co+i*ldc:co+i*ldc+2*nr], mk.tile32[i*2*nr:])
	}
}
