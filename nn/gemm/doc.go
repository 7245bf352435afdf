// Package gemm is a single-precision matrix product for row-major matrices in pure Go (no cgo):
//
//	C = alpha·op(A)·op(B) + beta·C
//
// with the argument conventions of gonum's blas32 Sgemm. It follows the BLIS design (Van Zee and
// van de Geijn, "BLIS: A Framework for Rapidly Instantiating BLAS Functionality", ACM TOMS 41(3),
// 2015): op(B) is copied into panels of nr = 16 columns and op(A) into panels of mr = 6 rows,
// blocked so that the panels stay in the L1 and L2 caches, and a register-blocked micro-kernel
// computes each 6 × 16 tile of C. On amd64 the micro-kernel and the packing are written in
// assembly, chosen at run time from the CPU's features: AVX2 + FMA (a 6 × 16 tile in 12 ymm
// registers), and with AVX-512F a 6 × 32 tile (two panels of B) in 12 zmm registers. Elsewhere, or
// when built with the purego tag, a portable Go micro-kernel is used.
//
// Results are deterministic: for given operands the same bits come out on every call and for every
// number of goroutines (SgemmParallel), because every element of C is accumulated over k in
// increasing order, in the same blocks of k, with the same operations, whichever goroutine and
// tile computes it. The AVX2 and AVX-512 kernels give the same bits (one fused multiply-add per
// term); the Go kernel rounds each product and sum separately, so it may differ from them in the
// last bits.
package gemm
