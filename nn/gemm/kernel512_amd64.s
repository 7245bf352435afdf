//go:build amd64 && !purego

#include "textflag.h"

// STEP32 multiplies one column of the A panel (6 values at AX) by one row of two B panels (16
// values at BX and 16 at SI, next rows R9 bytes further) into the accumulators Z0–Z11 (row i in
// Z(2i) for the first panel, Z(2i+1) for the second) and advances AX, BX and SI.
#define STEP32 \
	VMOVUPS      (BX), Z12;       \
	VMOVUPS      (SI), Z13;       \
	VBROADCASTSS (AX), Z14;       \
	VFMADD231PS  Z12, Z14, Z0;    \
	VFMADD231PS  Z13, Z14, Z1;    \
	VBROADCASTSS 4(AX), Z15;      \
	VFMADD231PS  Z12, Z15, Z2;    \
	VFMADD231PS  Z13, Z15, Z3;    \
	VBROADCASTSS 8(AX), Z14;      \
	VFMADD231PS  Z12, Z14, Z4;    \
	VFMADD231PS  Z13, Z14, Z5;    \
	VBROADCASTSS 12(AX), Z15;     \
	VFMADD231PS  Z12, Z15, Z6;    \
	VFMADD231PS  Z13, Z15, Z7;    \
	VBROADCASTSS 16(AX), Z14;     \
	VFMADD231PS  Z12, Z14, Z8;    \
	VFMADD231PS  Z13, Z14, Z9;    \
	VBROADCASTSS 20(AX), Z15;     \
	VFMADD231PS  Z12, Z15, Z10;   \
	VFMADD231PS  Z13, Z15, Z11;   \
	ADDQ         $24, AX;         \
	ADDQ         R9, BX;          \
	ADDQ         R9, SI

// STORE32 writes one row of the tile (first panel in lo, second in hi, scaled by alpha): lo to DX
// and hi to DX+64 (the next 16 columns).
#define STORE32(lo, hi) \
	VMOVUPS lo, (DX);   \
	VMOVUPS hi, 64(DX); \
	ADDQ    R10, DX

// UPDATE32 writes beta·C + t for one row of the tile (t in lo, hi; beta in Z15).
#define UPDATE32(lo, hi) \
	VFMADD231PS (DX), Z15, lo;   \
	VFMADD231PS 64(DX), Z15, hi; \
	VMOVUPS     lo, (DX);        \
	VMOVUPS     hi, 64(DX);      \
	ADDQ        R10, DX

// func kernel6x32AVX512(kc int, a, b0, b1 *float32, sb int, c *float32, ldc int, alpha, beta float32)
TEXT ·kernel6x32AVX512(SB), NOSPLIT, $0-64
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ b0+16(FP), BX
	MOVQ b1+24(FP), SI
	MOVQ sb+32(FP), R9
	SHLQ $2, R9
	MOVQ c+40(FP), DX
	MOVQ ldc+48(FP), R10
	SHLQ $2, R10

	MOVQ       DX, R11
	PREFETCHT0 (R11)
	PREFETCHT0 124(R11)
	ADDQ       R10, R11
	PREFETCHT0 (R11)
	PREFETCHT0 124(R11)
	ADDQ       R10, R11
	PREFETCHT0 (R11)
	PREFETCHT0 124(R11)
	ADDQ       R10, R11
	PREFETCHT0 (R11)
	PREFETCHT0 124(R11)
	ADDQ       R10, R11
	PREFETCHT0 (R11)
	PREFETCHT0 124(R11)
	ADDQ       R10, R11
	PREFETCHT0 (R11)
	PREFETCHT0 124(R11)

	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11

	MOVQ  CX, R12
	SHRQ  $2, R12
	ANDQ  $3, CX
	TESTQ R12, R12
	JZ    tail

loop4:
	STEP32
	STEP32
	STEP32
	STEP32
	DECQ R12
	JNZ  loop4

tail:
	TESTQ CX, CX
	JZ    done

loop1:
	STEP32
	DECQ CX
	JNZ  loop1

done:
	VBROADCASTSS alpha+56(FP), Z14
	VMULPS       Z14, Z0, Z0
	VMULPS       Z14, Z1, Z1
	VMULPS       Z14, Z2, Z2
	VMULPS       Z14, Z3, Z3
	VMULPS       Z14, Z4, Z4
	VMULPS       Z14, Z5, Z5
	VMULPS       Z14, Z6, Z6
	VMULPS       Z14, Z7, Z7
	VMULPS       Z14, Z8, Z8
	VMULPS       Z14, Z9, Z9
	VMULPS       Z14, Z10, Z10
	VMULPS       Z14, Z11, Z11

	MOVL beta+60(FP), R11
	ANDL $0x7fffffff, R11
	JNZ  update
	STORE32(Z0, Z1)
	STORE32(Z2, Z3)
	STORE32(Z4, Z5)
	STORE32(Z6, Z7)
	STORE32(Z8, Z9)
	STORE32(Z10, Z11)
	VZEROUPPER
	RET

update:
	VBROADCASTSS beta+60(FP), Z15
	UPDATE32(Z0, Z1)
	UPDATE32(Z2, Z3)
	UPDATE32(Z4, Z5)
	UPDATE32(Z6, Z7)
	UPDATE32(Z8, Z9)
	UPDATE32(Z10, Z11)
	VZEROUPPER
	RET
