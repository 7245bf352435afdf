//go:build amd64 && !purego

#include "textflag.h"

// FOLD16(a, b, c, d) folds the 16 partial sums in a (0–3), b (4–7), c (8–11), d (12–15) into the
// low element of a: j += j+8, j += j+4, j += j+2, j += j+1.
#define FOLD16(a, b, c, d, xa, xt) \
	VADDPD       c, a, a;  \
	VADDPD       d, b, b;  \
	VADDPD       b, a, a;  \
	VEXTRACTF128 $1, a, xt; \
	VADDPD       xt, xa, xa; \
	VUNPCKHPD    xa, xa, xt; \
	VADDSD       xt, xa, xa

// func shiftedSumsAVX(x []float32, k float64) (sum, sq float64)
// Precondition: len(x) is a multiple of 16.
//   d ← float64(x) − k;  sum lanes += d;  sq lanes += d·d.
TEXT ·shiftedSumsAVX(SB), NOSPLIT, $0-48
	MOVQ         x_base+0(FP), SI
	MOVQ         x_len+8(FP), CX
	VBROADCASTSD k+24(FP), Y15
	VXORPD       Y0, Y0, Y0
	VXORPD       Y1, Y1, Y1
	VXORPD       Y2, Y2, Y2
	VXORPD       Y3, Y3, Y3
	VXORPD       Y4, Y4, Y4
	VXORPD       Y5, Y5, Y5
	VXORPD       Y6, Y6, Y6
	VXORPD       Y7, Y7, Y7
	XORQ         BX, BX

loop:
	CMPQ      BX, CX
	JGE       fold
	VCVTPS2PD (SI)(BX*4), Y8
	VCVTPS2PD 16(SI)(BX*4), Y9
	VCVTPS2PD 32(SI)(BX*4), Y10
	VCVTPS2PD 48(SI)(BX*4), Y11
	VSUBPD    Y15, Y8, Y8
	VSUBPD    Y15, Y9, Y9
	VSUBPD    Y15, Y10, Y10
	VSUBPD    Y15, Y11, Y11
	VADDPD    Y8, Y0, Y0
	VADDPD    Y9, Y1, Y1
	VADDPD    Y10, Y2, Y2
	VADDPD    Y11, Y3, Y3
	VMULPD    Y8, Y8, Y8
	VMULPD    Y9, Y9, Y9
	VMULPD    Y10, Y10, Y10
	VMULPD    Y11, Y11, Y11
	VADDPD    Y8, Y4, Y4
	VADDPD    Y9, Y5, Y5
	VADDPD    Y10, Y6, Y6
	VADDPD    Y11, Y7, Y7
	ADDQ      $16, BX
	JMP       loop

fold:
	FOLD16(Y0, Y1, Y2, Y3, X0, X8)
	FOLD16(Y4, Y5, Y6, Y7, X4, X8)
	MOVSD X0, sum+32(FP)
	MOVSD X4, sq+40(FP)
	VZEROUPPER
	RET

// HALF8(off, acc0, acc1, dacc0, dacc1) takes the 8 values at off: g ← dy (masked by the ReLU when
// DX ≠ 0), h ← (x − mu)·is in float32; the a lanes acc0, acc1 add float64(g) and the d lanes dacc0,
// dacc1 add float64(g)·float64(h).
#define HALF8(off, acc0, acc1, dacc0, dacc1) \
	VMOVUPS      off(SI)(BX*4), Y8;  \
	TESTL        DX, DX;             \
	JZ           5(PC);              \
	VPADDD       off(R9)(BX*4), Y14, Y10; \
	VPMINUD      Y15, Y10, Y11;      \
	VPCMPEQD     Y11, Y10, Y11;      \
	VPAND        Y11, Y8, Y8;        \
	VMOVUPS      off(R8)(BX*4), Y9;  \
	VSUBPS       Y12, Y9, Y9;        \
	VMULPS       Y13, Y9, Y9;        \
	VCVTPS2PD    X8, Y10;            \
	VADDPD       Y10, acc0, acc0;    \
	VCVTPS2PD    X9, Y11;            \
	VMULPD       Y11, Y10, Y10;      \
	VADDPD       Y10, dacc0, dacc0;  \
	VEXTRACTF128 $1, Y8, X10;        \
	VCVTPS2PD    X10, Y10;           \
	VADDPD       Y10, acc1, acc1;    \
	VEXTRACTF128 $1, Y9, X11;        \
	VCVTPS2PD    X11, Y11;           \
	VMULPD       Y11, Y10, Y10;      \
	VADDPD       Y10, dacc1, dacc1

// func bnGradSumsAVX2(dy, x, y []float32, mu, is float32, relu uint32) (sdy, sdyx float64)
// Precondition: len(dy) is a multiple of 16; x and y are at least as long.
TEXT ·bnGradSumsAVX2(SB), NOSPLIT, $0-104
	MOVQ         dy_base+0(FP), SI
	MOVQ         dy_len+8(FP), CX
	MOVQ         x_base+24(FP), R8
	MOVQ         y_base+48(FP), R9
	VBROADCASTSS mu+72(FP), Y12
	VBROADCASTSS is+76(FP), Y13
	MOVL         relu+80(FP), DX
	VPCMPEQD     Y14, Y14, Y14     // −1
	MOVL         $0x7f7fffff, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15          // the largest finite float
	VXORPD       Y0, Y0, Y0
	VXORPD       Y1, Y1, Y1
	VXORPD       Y2, Y2, Y2
	VXORPD       Y3, Y3, Y3
	VXORPD       Y4, Y4, Y4
	VXORPD       Y5, Y5, Y5
	VXORPD       Y6, Y6, Y6
	VXORPD       Y7, Y7, Y7
	XORQ         BX, BX

loop:
	CMPQ BX, CX
	JGE  fold
	HALF8(0, Y0, Y1, Y4, Y5)
	HALF8(32, Y2, Y3, Y6, Y7)
	ADDQ $16, BX
	JMP  loop

fold:
	FOLD16(Y0, Y1, Y2, Y3, X0, X8)
	FOLD16(Y4, Y5, Y6, Y7, X4, X8)
	MOVSD X0, sdy+88(FP)
	MOVSD X4, sdyx+96(FP)
	VZEROUPPER
	RET
