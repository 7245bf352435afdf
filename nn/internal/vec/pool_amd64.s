//go:build amd64 && !purego

#include "textflag.h"

// evens are the window offsets 2j of a block of 8 windows.
DATA evens<>+0(SB)/4, $0
DATA evens<>+4(SB)/4, $2
DATA evens<>+8(SB)/4, $4
DATA evens<>+12(SB)/4, $6
DATA evens<>+16(SB)/4, $8
DATA evens<>+20(SB)/4, $10
DATA evens<>+24(SB)/4, $12
DATA evens<>+28(SB)/4, $14
GLOBL evens<>(SB), RODATA|NOPTR, $32

// func maxPool2x2ReLUAVX2(y []float32, arg []int32, x []float32, w, wo, ho, blocks int) int
// Precondition: blocks is a multiple of 8, at most wo; the planes hold the ho rows (poolPlanes).
// Row r reads input rows r0 = x[2r·w:], r1 = r0[w:] and writes y[r·wo:] and arg[r·wo:]. A block of
// 8 windows: a, b (r0's even and odd columns), d, e (r1's) in the lane order of VSHUFPS, windows
// 0 1 4 5 | 2 3 6 7, put in order by VPERMQ $0xD8 once the maximum and its offset are known.
//   mx ← maxᵤ(a, b, d, e) on the bit patterns; stop if mx > 0x7f800000 (a NaN);
//   off ← a = mx ? 0 : b = mx ? 1 : d = mx ? w : w+1;  y ← mx;  arg ← 2r·w + 2j + off.
TEXT ·maxPool2x2ReLUAVX2(SB), NOSPLIT, $0-112
	MOVQ         y_base+0(FP), DI
	MOVQ         arg_base+24(FP), R8
	MOVQ         x_base+48(FP), SI
	MOVQ         w+72(FP), R9
	MOVQ         wo+80(FP), R14
	SHLQ         $2, R14              // bytes per output row
	MOVQ         ho+88(FP), R12
	MOVQ         blocks+96(FP), CX
	LEAQ         (SI)(R9*4), DX       // r1
	MOVQ         R9, R13
	SHLQ         $3, R13              // bytes per pair of input rows
	VMOVD        R9, X11
	VPBROADCASTD X11, Y11             // w
	MOVL         $1, AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12             // 1
	VPADDD       Y12, Y11, Y10        // w + 1
	MOVL         $0x7f800001, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15             // the smallest NaN
	MOVL         $16, AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14             // 16: the next block's 2j
	XORQ         R11, R11             // r
	XORQ         AX, AX               // 2r·w

row:
	CMPQ         R11, R12
	JGE          done
	VMOVD        AX, X13
	VPBROADCASTD X13, Y13
	VPADDD       evens<>(SB), Y13, Y13 // 2r·w + 2j
	XORQ         BX, BX

block:
	CMPQ      BX, CX
	JGE       next
	VMOVUPS   (SI)(BX*8), Y0
	VMOVUPS   32(SI)(BX*8), Y1
	VMOVUPS   (DX)(BX*8), Y2
	VMOVUPS   32(DX)(BX*8), Y3
	VSHUFPS   $0x88, Y1, Y0, Y4 // a
	VSHUFPS   $0xDD, Y1, Y0, Y5 // b
	VSHUFPS   $0x88, Y3, Y2, Y6 // d
	VSHUFPS   $0xDD, Y3, Y2, Y7 // e
	VPMAXUD   Y5, Y4, Y8
	VPMAXUD   Y7, Y6, Y9
	VPMAXUD   Y9, Y8, Y8        // mx
	VPMAXUD   Y15, Y8, Y9
	VPCMPEQD  Y9, Y8, Y9        // mx ≥ the smallest NaN
	VPTEST    Y9, Y9
	JNZ       done
	VPCMPEQD  Y8, Y6, Y9
	VPBLENDVB Y9, Y11, Y10, Y0  // d = mx ? w : w+1
	VPCMPEQD  Y8, Y5, Y9
	VPBLENDVB Y9, Y12, Y0, Y0   // b = mx ? 1 : …
	VPCMPEQD  Y8, Y4, Y9
	VPANDN    Y0, Y9, Y0        // a = mx ? 0 : …
	VPERMQ    $0xD8, Y8, Y8
	VPERMQ    $0xD8, Y0, Y0
	VPADDD    Y13, Y0, Y0
	VMOVUPS   Y8, (DI)(BX*4)
	VMOVDQU   Y0, (R8)(BX*4)
	VPADDD    Y14, Y13, Y13
	ADDQ      $8, BX
	JMP       block

next:
	ADDQ R13, SI
	ADDQ R13, DX
	ADDQ R14, DI
	ADDQ R14, R8
	LEAQ (AX)(R9*2), AX
	INCQ R11
	JMP  row

done:
	MOVQ R11, ret+104(FP)
	VZEROUPPER
	RET

// func maxPool2x2GradAVX2(dx, g []float32, arg []int32, y []float32, w, wo, ho, blocks int)
// Precondition: as maxPool2x2ReLUAVX2's; y is nil without the ReLU's mask. Row r writes d0 =
// dx[2r·w:] and d1 = d0[w:]. A block of 8 windows:
//   g ← y ≠ nil ? (y − 1 ≤ᵤ 0x7f7fffff ? g : +0) : g;  g ← 0 + g;  rel ← arg − (2r·w + 2j);
//   d0[2j], d0[2j+1], d1[2j], d1[2j+1] ← g where rel is 0, 1, w, w+1, else +0.
TEXT ·maxPool2x2GradAVX2(SB), NOSPLIT, $0-128
	MOVQ         dx_base+0(FP), DI
	MOVQ         g_base+24(FP), SI
	MOVQ         arg_base+48(FP), R8
	MOVQ         y_base+72(FP), R10
	MOVQ         w+96(FP), R9
	MOVQ         wo+104(FP), R14
	SHLQ         $2, R14
	MOVQ         ho+112(FP), R12
	MOVQ         blocks+120(FP), CX
	LEAQ         (DI)(R9*4), DX       // d1
	MOVQ         R9, R13
	SHLQ         $3, R13
	VMOVD        R9, X11
	VPBROADCASTD X11, Y11             // w
	MOVL         $1, AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12             // 1
	VPADDD       Y12, Y11, Y10        // w + 1
	MOVL         $0x7f7fffff, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15             // the largest finite float
	MOVL         $16, AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14
	VPXOR        Y7, Y7, Y7
	XORQ         R11, R11
	XORQ         AX, AX

row:
	CMPQ         R11, R12
	JGE          done
	VMOVD        AX, X13
	VPBROADCASTD X13, Y13
	VPADDD       evens<>(SB), Y13, Y13
	XORQ         BX, BX

block:
	CMPQ       BX, CX
	JGE        next
	VMOVUPS    (SI)(BX*4), Y0       // g
	VMOVDQU    (R8)(BX*4), Y1       // arg
	TESTQ      R10, R10
	JZ         place
	VPCMPEQD   Y4, Y4, Y4           // −1
	VPADDD     (R10)(BX*4), Y4, Y3  // y − 1
	VPMINUD    Y15, Y3, Y4
	VPCMPEQD   Y4, Y3, Y4           // y − 1 ≤ᵤ 0x7f7fffff: y positive, not NaN
	VPAND      Y4, Y0, Y0

place:
	VADDPS     Y0, Y7, Y0           // 0 + g
	VPSUBD     Y13, Y1, Y1          // rel
	VPCMPEQD   Y7, Y1, Y2
	VPCMPEQD   Y12, Y1, Y3
	VPCMPEQD   Y11, Y1, Y4
	VPCMPEQD   Y10, Y1, Y5
	VPAND      Y0, Y2, Y2
	VPAND      Y0, Y3, Y3
	VPAND      Y0, Y4, Y4
	VPAND      Y0, Y5, Y5
	VUNPCKLPS  Y3, Y2, Y6
	VUNPCKHPS  Y3, Y2, Y8
	VPERM2F128 $0x20, Y8, Y6, Y9
	VPERM2F128 $0x31, Y8, Y6, Y6
	VMOVUPS    Y9, (DI)(BX*8)
	VMOVUPS    Y6, 32(DI)(BX*8)
	VUNPCKLPS  Y5, Y4, Y6
	VUNPCKHPS  Y5, Y4, Y8
	VPERM2F128 $0x20, Y8, Y6, Y9
	VPERM2F128 $0x31, Y8, Y6, Y6
	VMOVUPS    Y9, (DX)(BX*8)
	VMOVUPS    Y6, 32(DX)(BX*8)
	VPADDD     Y14, Y13, Y13
	ADDQ       $8, BX
	JMP        block

next:
	ADDQ R13, DI
	ADDQ R13, DX
	ADDQ R14, SI
	ADDQ R14, R8
	TESTQ R10, R10
	JZ   nexty
	ADDQ R14, R10

nexty:
	LEAQ (AX)(R9*2), AX
	INCQ R11
	JMP  row

done:
	VZEROUPPER
	RET
