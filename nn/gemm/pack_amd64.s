//go:build amd64 && !purego

#include "textflag.h"

// SHUFFLE8 is the first two stages of an 8 × 8 transpose of the rows in r0..r7 (t0..t7 are
// scratch; all 16 registers distinct). It leaves s0..s7 in r0..r7, from which column q of the
// block is lo(s_q)|lo(s_{q+4}) for q < 4 and hi(s_{q-4})|hi(s_q) for q ≥ 4 (VPERM2F128 0x20 and
// 0x31).
#define SHUFFLE8(r0, r1, r2, r3, r4, r5, r6, r7, t0, t1, t2, t3, t4, t5, t6, t7) \
	VUNPCKLPS r1, r0, t0;        \
	VUNPCKHPS r1, r0, t1;        \
	VUNPCKLPS r3, r2, t2;        \
	VUNPCKHPS r3, r2, t3;        \
	VUNPCKLPS r5, r4, t4;        \
	VUNPCKHPS r5, r4, t5;        \
	VUNPCKLPS r7, r6, t6;        \
	VUNPCKHPS r7, r6, t7;        \
	VSHUFPS   $0x44, t2, t0, r0; \
	VSHUFPS   $0xEE, t2, t0, r1; \
	VSHUFPS   $0x44, t3, t1, r2; \
	VSHUFPS   $0xEE, t3, t1, r3; \
	VSHUFPS   $0x44, t6, t4, r4; \
	VSHUFPS   $0xEE, t6, t4, r5; \
	VSHUFPS   $0x44, t7, t5, r6; \
	VSHUFPS   $0xEE, t7, t5, r7

// func packA6T8AVX2(blocks int, a *float32, lda int, d *float32)
TEXT ·packA6T8AVX2(SB), NOSPLIT, $0-32
	MOVQ blocks+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9 // 3·lda
	LEAQ (R8)(R8*4), R10 // 5·lda
	MOVQ d+24(FP), DI

loop:
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R8*1), Y1
	VMOVUPS (SI)(R8*2), Y2
	VMOVUPS (SI)(R9*1), Y3
	VMOVUPS (SI)(R8*4), Y4
	VMOVUPS (SI)(R10*1), Y5
	// Rows 6 and 7 do not exist: whatever Y6 and Y7 hold lands in the last 2 values of each
	// column, which the next column overwrites.
	SHUFFLE8(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15)
	// Columns, stored in increasing order, each 6 values (24 bytes) after the previous.
	VPERM2F128 $0x20, Y4, Y0, Y8
	VMOVUPS    Y8, (DI)
	VPERM2F128 $0x20, Y5, Y1, Y8
	VMOVUPS    Y8, 24(DI)
	VPERM2F128 $0x20, Y6, Y2, Y8
	VMOVUPS    Y8, 48(DI)
	VPERM2F128 $0x20, Y7, Y3, Y8
	VMOVUPS    Y8, 72(DI)
	VPERM2F128 $0x31, Y4, Y0, Y8
	VMOVUPS    Y8, 96(DI)
	VPERM2F128 $0x31, Y5, Y1, Y8
	VMOVUPS    Y8, 120(DI)
	VPERM2F128 $0x31, Y6, Y2, Y8
	VMOVUPS    Y8, 144(DI)
	VPERM2F128 $0x31, Y7, Y3, Y8
	VMOVUPS    Y8, 168(DI)
	ADDQ       $32, SI
	ADDQ       $192, DI
	DECQ       CX
	JNZ        loop
	VZEROUPPER
	RET

// func packB16T8AVX2(blocks int, b *float32, ldb int, d *float32)
TEXT ·packB16T8AVX2(SB), NOSPLIT, $0-32
	MOVQ blocks+0(FP), CX
	MOVQ b+8(FP), SI
	MOVQ ldb+16(FP), R8
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9 // 3·ldb
	LEAQ (R8)(R8*4), R10 // 5·ldb
	LEAQ (R9)(R8*4), R11 // 7·ldb
	LEAQ (SI)(R8*8), DX // row 8
	MOVQ d+24(FP), DI

loop:
	// Rows 0–7 into the first 8 values of 8 consecutive rows of d.
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R8*1), Y1
	VMOVUPS (SI)(R8*2), Y2
	VMOVUPS (SI)(R9*1), Y3
	VMOVUPS (SI)(R8*4), Y4
	VMOVUPS (SI)(R10*1), Y5
	VMOVUPS (SI)(R9*2), Y6
	VMOVUPS (SI)(R11*1), Y7
	SHUFFLE8(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15)
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15
	VMOVUPS    Y8, (DI)
	VMOVUPS    Y9, 64(DI)
	VMOVUPS    Y10, 128(DI)
	VMOVUPS    Y11, 192(DI)
	VMOVUPS    Y12, 256(DI)
	VMOVUPS    Y13, 320(DI)
	VMOVUPS    Y14, 384(DI)
	VMOVUPS    Y15, 448(DI)

	// Rows 8–15 into the last 8 values.
	VMOVUPS (DX), Y0
	VMOVUPS (DX)(R8*1), Y1
	VMOVUPS (DX)(R8*2), Y2
	VMOVUPS (DX)(R9*1), Y3
	VMOVUPS (DX)(R8*4), Y4
	VMOVUPS (DX)(R10*1), Y5
	VMOVUPS (DX)(R9*2), Y6
	VMOVUPS (DX)(R11*1), Y7
	SHUFFLE8(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15)
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15
	VMOVUPS    Y8, 32(DI)
	VMOVUPS    Y9, 96(DI)
	VMOVUPS    Y10, 160(DI)
	VMOVUPS    Y11, 224(DI)
	VMOVUPS    Y12, 288(DI)
	VMOVUPS    Y13, 352(DI)
	VMOVUPS    Y14, 416(DI)
	VMOVUPS    Y15, 480(DI)

	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $512, DI
	DECQ CX
	JNZ  loop
	VZEROUPPER
	RET

// func packB16NAsm(kc int, b *float32, ldb int, d *float32)
TEXT ·packB16NAsm(SB), NOSPLIT, $0-32
	MOVQ kc+0(FP), CX
	MOVQ b+8(FP), SI
	MOVQ ldb+16(FP), R8
	SHLQ $2, R8
	MOVQ d+24(FP), DI

loop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ    R8, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     loop
	VZEROUPPER
	RET
