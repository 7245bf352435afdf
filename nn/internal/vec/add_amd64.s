//go:build amd64 && !purego

#include "textflag.h"

// func addReLUAVX(dst, a, b []float32, relu uint32)
// Precondition: len(a) is a multiple of 8 and dst, b are as long.
//   dst ← a + b, then through the ReLU when relu ≠ 0 (kept where !(v ≤ 0): positive or NaN).
TEXT ·addReLUAVX(SB), NOSPLIT, $0-76
	MOVQ   dst_base+0(FP), DI
	MOVQ   a_base+24(FP), SI
	MOVQ   a_len+32(FP), CX
	MOVQ   b_base+48(FP), R8
	MOVL   relu+72(FP), DX
	VXORPS Y9, Y9, Y9
	XORQ   BX, BX
	MOVQ   CX, R9
	ANDQ   $-32, R9
	TESTL  DX, DX
	JNZ    relu32

plain32:
	CMPQ    BX, R9
	JGE     plain8
	VMOVUPS (SI)(BX*4), Y0
	VMOVUPS 32(SI)(BX*4), Y1
	VMOVUPS 64(SI)(BX*4), Y2
	VMOVUPS 96(SI)(BX*4), Y3
	VADDPS  (R8)(BX*4), Y0, Y0
	VADDPS  32(R8)(BX*4), Y1, Y1
	VADDPS  64(R8)(BX*4), Y2, Y2
	VADDPS  96(R8)(BX*4), Y3, Y3
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
	VADDPS  (R8)(BX*4), Y0, Y0
	VMOVUPS Y0, (DI)(BX*4)
	ADDQ    $8, BX
	JMP     plain8

relu32:
	CMPQ    BX, R9
	JGE     relu8
	VMOVUPS (SI)(BX*4), Y0
	VMOVUPS 32(SI)(BX*4), Y1
	VMOVUPS 64(SI)(BX*4), Y2
	VMOVUPS 96(SI)(BX*4), Y3
	VADDPS  (R8)(BX*4), Y0, Y0
	VADDPS  32(R8)(BX*4), Y1, Y1
	VADDPS  64(R8)(BX*4), Y2, Y2
	VADDPS  96(R8)(BX*4), Y3, Y3
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
	VADDPS  (R8)(BX*4), Y0, Y0
	VCMPPS  $6, Y9, Y0, Y4
	VANDPS  Y4, Y0, Y0
	VMOVUPS Y0, (DI)(BX*4)
	ADDQ    $8, BX
	JMP     relu8

done:
	VZEROUPPER
	RET
