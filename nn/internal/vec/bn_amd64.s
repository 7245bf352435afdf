//go:build amd64 && !purego

#include "textflag.h"

// c: mu+0, is+4, g+8, be+12, k+16, mdy+20, mdyx+24, relu+28.

// func bnAffineAVX(y, x []float32, c *BN)
// Precondition: len(x) is a multiple of 8 and y is as long.
//   y ← g·((x − mu)·is) + be, then through the ReLU when relu ≠ 0.
TEXT ·bnAffineAVX(SB), NOSPLIT, $0-56
	MOVQ y_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	MOVQ c+48(FP), AX
	VBROADCASTSS 0(AX), Y8
	VBROADCASTSS 4(AX), Y9
	VBROADCASTSS 8(AX), Y10
	VBROADCASTSS 12(AX), Y11
	VXORPS Y12, Y12, Y12
	MOVL 28(AX), DX
	XORQ BX, BX
	TESTL DX, DX
	JNZ  relu

plain:
	CMPQ BX, CX
	JGE  done
	VMOVUPS (SI)(BX*4), Y0
	VSUBPS  Y8, Y0, Y0
	VMULPS  Y9, Y0, Y0
	VMULPS  Y10, Y0, Y0
	VADDPS  Y11, Y0, Y0
	VMOVUPS Y0, (DI)(BX*4)
	ADDQ    $8, BX
	JMP     plain

relu:
	CMPQ BX, CX
	JGE  done
	VMOVUPS (SI)(BX*4), Y0
	VSUBPS  Y8, Y0, Y0
	VMULPS  Y9, Y0, Y0
	VMULPS  Y10, Y0, Y0
	VADDPS  Y11, Y0, Y0
	VCMPPS  $6, Y12, Y0, Y1 // !(v <= 0): positive or NaN
	VANDPS  Y1, Y0, Y0
	VMOVUPS Y0, (DI)(BX*4)
	ADDQ    $8, BX
	JMP     relu

done:
	VZEROUPPER
	RET

// func bnGradAVX(dx, dy, x, y []float32, c *BN)
// Precondition: len(dy) is a multiple of 8 and dx, x, y are as long.
//   g ← dy (relu: dy where y > 0, +0 elsewhere);  dx ← k·((g − mdy) − ((x − mu)·is)·mdyx)
TEXT ·bnGradAVX(SB), NOSPLIT, $0-104
	MOVQ dx_base+0(FP), DI
	MOVQ dy_base+24(FP), SI
	MOVQ dy_len+32(FP), CX
	MOVQ x_base+48(FP), R8
	MOVQ y_base+72(FP), R9
	MOVQ c+96(FP), AX
	VBROADCASTSS 0(AX), Y8
	VBROADCASTSS 4(AX), Y9
	VBROADCASTSS 16(AX), Y10
	VBROADCASTSS 20(AX), Y11
	VBROADCASTSS 24(AX), Y13
	VXORPS Y12, Y12, Y12
	VCMPPS $0, Y12, Y12, Y14 // all ones (0 == 0): no mask
	MOVL 28(AX), DX
	XORQ BX, BX

loop:
	CMPQ BX, CX
	JGE  gdone
	VMOVUPS (SI)(BX*4), Y0
	VMOVAPS Y14, Y1
	TESTL   DX, DX
	JZ      nomask
	VMOVUPS (R9)(BX*4), Y2
	VCMPPS  $30, Y12, Y2, Y1 // y > 0, ordered
nomask:
	VANDPS  Y1, Y0, Y0
	VSUBPS  Y11, Y0, Y0
	VMOVUPS (R8)(BX*4), Y3
	VSUBPS  Y8, Y3, Y3
	VMULPS  Y9, Y3, Y3
	VMULPS  Y13, Y3, Y3
	VSUBPS  Y3, Y0, Y0
	VMULPS  Y10, Y0, Y0
	VMOVUPS Y0, (DI)(BX*4)
	ADDQ    $8, BX
	JMP     loop

gdone:
	VZEROUPPER
	RET
