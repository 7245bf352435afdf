//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

// implAVX2 is the AVX2 + FMA implementation, nil where the CPU or OS lacks either.
var implAVX2 = func() *impl {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		return nil
	}
	return &impl{name: "avx2", kern: kernelAVX2, packA6: packA6AVX2, packB16N: packB16NAVX2, packB16T: packB16TAVX2}
}()

// implAVX512 is implAVX2 with an AVX-512 micro-kernel for pairs of B panels (same results, twice
// the width), nil where the CPU or OS lacks AVX-512F.
var implAVX512 = func() *impl {
	if implAVX2 == nil || !cpu.X86.HasAVX512F {
		return nil
	}
	im := *implAVX2
	im.name, im.kern32 = "avx512", kernelAVX512
	return &im
}()

// defaultImpl is the implementation Sgemm uses: the widest assembly kernel the CPU supports.
var defaultImpl = func() *impl {
	for _, im := range []*impl{implAVX512, implAVX2} {
		if im != nil {
			return im
		}
	}
	return implGo
}()

// impls lists the implementations this build and CPU can run, for tests and benchmarks.
func impls() []*impl {
	var ims []*impl
	for _, im := range []*impl{implAVX512, implAVX2, implGo} {
		if im != nil {
			ims = append(ims, im)
		}
	}
	return ims
}

// kernelAVX2 is the AVX2 + FMA micro-kernel: 12 ymm accumulators hold the 6 × 16 tile.
func kernelAVX2(kc int, a, b []float32, sb int, c []float32, ldc int, alpha, beta float32) {
	_ = a[kc*mr-1]
	_ = b[(kc-1)*sb+nr-1]
	_ = c[(mr-1)*ldc+nr-1]
	kernel6x16AVX2(kc, &a[0], &b[0], sb, &c[0], ldc, alpha, beta)
}

// kernelAVX512 computes the 6 × 32 tile of two adjacent panels of B with AVX-512: 12 zmm
// accumulators, and the same operations per element as kernelAVX2.
func kernelAVX512(kc int, a, b0, b1 []float32, sb int, c []float32, ldc int, alpha, beta float32) {
	_ = a[kc*mr-1]
	_ = b0[(kc-1)*sb+nr-1]
	_ = b1[(kc-1)*sb+nr-1]
	_ = c[(mr-1)*ldc+2*nr-1]
	kernel6x32AVX512(kc, &a[0], &b0[0], &b1[0], sb, &c[0], ldc, alpha, beta)
}

// packB16NAVX2 is packB16NGo in assembly.
func packB16NAVX2(kc int, b []float32, ldb int, d []float32) {
	_ = b[(kc-1)*ldb+nr-1]
	_ = d[kc*nr-1]
	packB16NAsm(kc, &b[0], ldb, &d[0])
}

// packA6AVX2 is packA6Go with 8 × 8 transposes in registers, for blocks of 8 columns.
func packA6AVX2(kc int, a []float32, lda int, d []float32) {
	k8 := kc &^ 7
	if k8 > 0 {
		_ = a[5*lda+k8-1]
		_ = d[mr*k8+padA-1]
		packA6T8AVX2(k8/8, &a[0], lda, &d[0])
	}
	if k8 < kc {
		packA6Go(kc-k8, a[k8:], lda, d[mr*k8:])
	}
}

// packB16TAVX2 is packB16TGo with 8 × 8 transposes in registers, for blocks of 8 rows of d.
func packB16TAVX2(kc int, b []float32, ldb int, d []float32) {
	k8 := kc &^ 7
	if k8 > 0 {
		_ = b[15*ldb+k8-1]
		_ = d[nr*k8-1]
		packB16T8AVX2(k8/8, &b[0], ldb, &d[0])
	}
	if k8 < kc {
		packB16TGo(kc-k8, b[k8:], ldb, d[nr*k8:])
	}
}

// kernel6x16AVX2 is kernelAVX2 on raw pointers; kc ≥ 1, sb in values.
//
//go:noescape
func kernel6x16AVX2(kc int, a, b *float32, sb int, c *float32, ldc int, alpha, beta float32)

// packB16NAsm copies 16 values from each of kc rows (row p at b + p·ldb) to d + 16·p; kc ≥ 1.
//
//go:noescape
func packB16NAsm(kc int, b *float32, ldb int, d *float32)

// packA6T8AVX2 packs 8·blocks columns of 6 rows (row r at a + r·lda) into d, 6 values per column;
// it writes 2 values past the end.
//
//go:noescape
func packA6T8AVX2(blocks int, a *float32, lda int, d *float32)

// packB16T8AVX2 packs 8·blocks columns of 16 rows (row c at b + c·ldb) into d, 16 values per
// column.
//
//go:noescape
func packB16T8AVX2(blocks int, b *float32, ldb int, d *float32)

// kernel6x32AVX512 computes the 6 × 32 tile of two adjacent 16-column panels of B (b0, b1) with
// AVX-512, with the same operations per element as kernel6x16AVX2; kc ≥ 1, sb in values.
//
//go:noescape
func kernel6x32AVX512(kc int, a, b0, b1 *float32, sb int, c *float32, ldc int, alpha, beta float32)
