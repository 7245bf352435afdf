//go:build amd64 && !purego

#include "textflag.h"

// STEP multiplies one column of the A panel (6 values at AX) by one row of the B panel (16 values
// at BX, next row R9 bytes further) into the accumulators Y0–Y11 (row i in Y(2i), Y(2i+1)) and advances AX and BX.
#define STEP \
	VMOVUPS      (BX), Y12;       \
	VMOVUPS      32(BX), Y13;     \
	VBROADCASTSS (AX), Y14;       \
	VFMADD231PS  Y12, Y14, Y0;    \
	VFMADD231PS  Y13, Y14, Y1;    \
	VBROADCASTSS 4(AX), Y15;      \
	VFMADD231PS  Y12, Y15, Y2;    \
	VFMADD231PS  Y13, Y15, Y3;    \
	VBROADCASTSS 8(AX), Y14;      \
	VFMADD231PS  Y12, Y14, Y4;    \
	VFMADD231PS  Y13, Y14, Y5;    \
	VBROADCASTSS 12(AX), Y15;     \
	VFMADD231PS  Y12, Y15, Y6;    \
	VFMADD231PS  Y13, Y15, Y7;    \
	VBROADCASTSS 16(AX), Y14;     \
	VFMADD231PS  Y12, Y14, Y8;    \
	VFMADD231PS  Y13, Y14, Y9;    \
	VBROADCASTSS 20(AX), Y15;     \
	VFMADD231PS  Y12, Y15, Y10;   \
	VFMADD231PS  Y13, Y15, Y11;   \
	ADDQ         $24, AX;         \
	ADDQ         R9, BX

// STORE writes one row of the tile (accumulators lo, hi, already scaled by alpha) to DX.
#define STORE(lo, hi) \
	VMOVUPS lo, (DX);   \
	VMOVUPS hi, 32(DX); \
	ADDQ    R10, DX

// UPDATE writes beta·C + t for one row of the tile (t in lo, hi; beta in Y15) to DX.
#define UPDATE(lo, hi) \
	VFMADD231PS (DX), Y15, lo;   \
	VFMADD231PS 32(DX), Y15, hi; \
	VMOVUPS     lo, (DX);        \
	VMOVUPS     hi, 32(DX);      \
	ADDQ        R10, DX

// func kernel6x16AVX2(kc int, a, b *float32, sb int, c *float32, ldc int, alpha, beta float32)
TEXT ·kernel6x16AVX2(SB), NOSPLIT, $0-56
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ b+16(FP), BX
	MOVQ sb+24(FP), R9
	SHLQ $2, R9
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), R10
	SHLQ $2, R10

	// Bring the tile of C into the cache while the products run.
	MOVQ       DX, R11
	PREFETCHT0 (R11)
	PREFETCHT0 60(R11)
	ADDQ       R10, R11
	PREFETCHT0 (R11)
	PREFETCHT0 60(R11)
	ADDQ       R10, R11
	PREFETCHT0 (R11)
	PREFETCHT0 60(R11)
	ADDQ       R10, R11
	PREFETCHT0 (R11)
	PREFETCHT0 60(R11)
	ADDQ       R10, R11
	PREFETCHT0 (R11)
	PREFETCHT0 60(R11)
	ADDQ       R10, R11
	PREFETCHT0 (R11)
	PREFETCHT0 60(R11)

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	MOVQ  CX, R12
	SHRQ  $2, R12
	ANDQ  $3, CX
	TESTQ R12, R12
	JZ    tail

loop4:
	STEP
	STEP
	STEP
	STEP
	DECQ R12
	JNZ  loop4

tail:
	TESTQ CX, CX
	JZ    done

loop1:
	STEP
	DECQ CX
	JNZ  loop1

done:
	VBROADCASTSS alpha+48(FP), Y14
	VMULPS       Y14, Y0, Y0
	VMULPS       Y14, Y1, Y1
	VMULPS       Y14, Y2, Y2
	VMULPS       Y14, Y3, Y3
	VMULPS       Y14, Y4, Y4
	VMULPS       Y14, Y5, Y5
	VMULPS       Y14, Y6, Y6
	VMULPS       Y14, Y7, Y7
	VMULPS       Y14, Y8, Y8
	VMULPS       Y14, Y9, Y9
	VMULPS       Y14, Y10, Y10
	VMULPS       Y14, Y11, Y11

	// beta = ±0: overwrite C without reading it.
	MOVL beta+52(FP), R11
	ANDL $0x7fffffff, R11
	JNZ  update
	STORE(Y0, Y1)
	STORE(Y2, Y3)
	STORE(Y4, Y5)
	STORE(Y6, Y7)
	STORE(Y8, Y9)
	STORE(Y10, Y11)
	VZEROUPPER
	RET

update:
	VBROADCASTSS beta+52(FP), Y15
	UPDATE(Y0, Y1)
	UPDATE(Y2, Y3)
	UPDATE(Y4, Y5)
	UPDATE(Y6, Y7)
	UPDATE(Y8, Y9)
	UPDATE(Y10, Y11)
	VZEROUPPER
	RET
