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

// func maxPool2x2ReLUAVX2(y []float32, arg []int32, r0, r1 []float32, base, w int32) int
// Precondition: len(y) is a multiple of 8; arg, r0 and r1 are long enough.
// A block: a, b (r0's even and odd columns), d, e (r1's) in the lane order of VSHUFPS, windows
// 0 1 4 5 | 2 3 6 7, put in order by VPERMQ $0xD8 once the maximum and its offset are known.
//   mx ← maxᵤ(a, b, d, e) on the bit patterns; stop if mx > 0x7f800000 (a NaN);
//   off ← a = mx ? 0 : b = mx ? 1 : d = mx ? w : w+1;  y ← mx;  arg ← base + 2j + off.
TEXT ·maxPool2x2ReLUAVX2(SB), NOSPLIT, $0-112
	MOVQ y_base+0(FP), DI
	MOVQ y_len+8(FP), CX
	MOVQ arg_base+24(FP), R8
	MOVQ r0_base+48(FP), SI
	MOVQ r1_base+72(FP), DX
	MOVL base+96(FP), AX
	VMOVD        AX, X13
	VPBROADCASTD X13, Y13
	VPADDD       evens<>(SB), Y13, Y13 // base + 2j
	MOVL         w+100(FP), AX
	VMOVD        AX, X11
	VPBROADCASTD X11, Y11              // w
	MOVL         $1, AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12              // 1
	VPADDD       Y12, Y11, Y10         // w + 1
	MOVL         $0x7f800001, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15              // the smallest NaN
	MOVL         $16, AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14              // 16: the next block's 2j
	XORQ         BX, BX

loop:
	CMPQ      BX, CX
	JGE       done
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
	JMP       loop

done:
	MOVQ BX, ret+104(FP)
	VZEROUPPER
	RET

// func maxPool2x2GradAVX2(d0, d1, g []float32, arg []int32, y []float32, base, w, relu int32)
// Precondition: len(g) is a multiple of 8; d0, d1, arg (and y with relu) are long enough.
//   g ← relu ? (y − 1 ≤ᵤ 0x7f7fffff ? g : +0) : g;  g ← 0 + g;  rel ← arg − (base + 2j);
//   d0[2j], d0[2j+1], d1[2j], d1[2j+1] ← g where rel is 0, 1, w, w+1, else +0.
TEXT ·maxPool2x2GradAVX2(SB), NOSPLIT, $0-132
	MOVQ d0_base+0(FP), DI
	MOVQ d1_base+24(FP), R9
	MOVQ g_base+48(FP), SI
	MOVQ g_len+56(FP), CX
	MOVQ arg_base+72(FP), R8
	MOVQ y_base+96(FP), R10
	MOVL base+120(FP), AX
	VMOVD        AX, X13
	VPBROADCASTD X13, Y13
	VPADDD       evens<>(SB), Y13, Y13 // base + 2j
	MOVL         w+124(FP), AX
	VMOVD        AX, X11
	VPBROADCASTD X11, Y11              // w
	MOVL         $1, AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12              // 1
	VPADDD       Y12, Y11, Y10         // w + 1
	MOVL         $0x7f7fffff, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15              // the largest finite float
	MOVL         $16, AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14
	VPXOR        Y7, Y7, Y7
	MOVL         relu+128(FP), DX
	XORQ         BX, BX

loop:
	CMPQ       BX, CX
	JGE        done
	VMOVUPS    (SI)(BX*4), Y0       // g
	VMOVDQU    (R8)(BX*4), Y1       // arg
	TESTL      DX, DX
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
	VMOVUPS    Y9, (R9)(BX*8)
	VMOVUPS    Y6, 32(R9)(BX*8)
	VPADDD     Y14, Y13, Y13
	ADDQ       $8, BX
	JMP        loop

done:
	VZEROUPPER
	RET
