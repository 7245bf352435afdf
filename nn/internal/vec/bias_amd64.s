//go:build amd64 && !purego

#include "textflag.h"

// func biasReLUAVX(dst, src []float32, b float32, relu uint32)
// Precondition: len(src) is a multiple of 8 and dst is as long.
//   dst ← src + b (src the first operand, whose NaN wins as in the scalar v + b), then through the
//   ReLU when relu ≠ 0 (kept where !(v ≤ 0): positive or NaN).
TEXT ·biasReLUAVX(SB), NOSPLIT, $0-56
	MOVQ         dst_base+0(FP), DI
	MOVQ         src_base+24(FP), SI
	MOVQ         src_len+32(FP), CX
	VBROADCASTSS b+48(FP), Y8
	VXORPS       Y9, Y9, Y9
	MOVL         relu+52(FP), DX
	XORQ         BX, BX
	MOVQ         CX, R8
	ANDQ         $-32, R8
	TESTL        DX, DX
	JNZ          relu32

plain32:
	CMPQ    BX, R8
	JGE     plain8
	VMOVUPS (SI)(BX*4), Y0
	VMOVUPS 32(SI)(BX*4), Y1
	VMOVUPS 64(SI)(BX*4), Y2
	VMOVUPS 96(SI)(BX*4), Y3
	VADDPS  Y8, Y0, Y0
	VADDPS  Y8, Y1, Y1
	VADDPS  Y8, Y2, Y2
	VADDPS  Y8, Y3, Y3
	VMOVUPS Y0, (DI)(BX*4)
	VMOVUPS Y1, 32(DI)(BX*4)
	VMOVUPS Y2, 64(DI)(BX*4)
	VMOVUPS Y3, 96(DI)(BX*4)
	ADDQ    $32, BX
	JMP     plain32

plain8:
	CMPQ    BX, CX
	JGE     done
	VMOVUPS (SI)(BX*4), Y0
	VADDPS  Y8, Y0, Y0
	VMOVUPS Y0, (DI)(BX*4)
	ADDQ    $8, BX
	JMP     plain8

relu32:
	CMPQ    BX, R8
	JGE     relu8
	VMOVUPS (SI)(BX*4), Y0
	VMOVUPS 32(SI)(BX*4), Y1
	VMOVUPS 64(SI)(BX*4), Y2
	VMOVUPS 96(SI)(BX*4), Y3
	VADDPS  Y8, Y0, Y0
	VADDPS  Y8, Y1, Y1
	VADDPS  Y8, Y2, Y2
	VADDPS  Y8, Y3, Y3
	VCMPPS  $6, Y9, Y0, Y4
	VCMPPS  $6, Y9, Y1, Y5
	VCMPPS  $6, Y9, Y2, Y6
	VCMPPS  $6, Y9, Y3, Y7
	VANDPS  Y4, Y0, Y0
	VANDPS  Y5, Y1, Y1
	VANDPS  Y6, Y2, Y2
	VANDPS  Y7, Y3, Y3
	VMOVUPS Y0, (DI)(BX*4)
	VMOVUPS Y1, 32(DI)(BX*4)
	VMOVUPS Y2, 64(DI)(BX*4)
	VMOVUPS Y3, 96(DI)(BX*4)
	ADDQ    $32, BX
	JMP     relu32

relu8:
	CMPQ    BX, CX
	JGE     done
	VMOVUPS (SI)(BX*4), Y0
	VADDPS  Y8, Y0, Y0
	VCMPPS  $6, Y9, Y0, Y4
	VANDPS  Y4, Y0, Y0
	VMOVUPS Y0, (DI)(BX*4)
	ADDQ    $8, BX
	JMP     relu8

done:
	VZEROUPPER
	RET

// func sumAVX(x []float32) float32
// Precondition: len(x) is a multiple of 32.
//   Y0..Y3 hold partials 0–7, 8–15, 16–23, 24–31; folded as Sum documents.
TEXT ·sumAVX(SB), NOSPLIT, $0-28
	MOVQ   x_base+0(FP), SI
	MOVQ   x_len+8(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ   BX, BX

loop:
	CMPQ   BX, CX
	JGE    fold
	VADDPS (SI)(BX*4), Y0, Y0
	VADDPS 32(SI)(BX*4), Y1, Y1
	VADDPS 64(SI)(BX*4), Y2, Y2
	VADDPS 96(SI)(BX*4), Y3, Y3
	ADDQ   $32, BX
	JMP    loop

fold:
	VADDPS       Y2, Y0, Y0 // j += j+16
	VADDPS       Y3, Y1, Y1
	VADDPS       Y1, Y0, Y0 // j += j+8
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0 // j += j+4
	VMOVHLPS     X0, X0, X1
	VADDPS       X1, X0, X0 // j += j+2
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0 // j += j+1
	MOVSS        X0, ret+24(FP)
	VZEROUPPER
	RET
