//go:build amd64 && !purego

#include "textflag.h"

// func addAVX(dst, src []float32)
// Precondition: len(src) is a multiple of 8 and dst is as long.
//   dst ← dst + src, 32 values per iteration while they last, then 8.
TEXT ·addAVX(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
	XORQ BX, BX
	MOVQ CX, DX
	ANDQ $-32, DX

loop32:
	CMPQ BX, DX
	JGE  loop8
	VMOVUPS (DI)(BX*4), Y0
	VMOVUPS 32(DI)(BX*4), Y1
	VMOVUPS 64(DI)(BX*4), Y2
	VMOVUPS 96(DI)(BX*4), Y3
	VADDPS  (SI)(BX*4), Y0, Y0
	VADDPS  32(SI)(BX*4), Y1, Y1
	VADDPS  64(SI)(BX*4), Y2, Y2
	VADDPS  96(SI)(BX*4), Y3, Y3
	VMOVUPS Y0, (DI)(BX*4)
	VMOVUPS Y1, 32(DI)(BX*4)
	VMOVUPS Y2, 64(DI)(BX*4)
	VMOVUPS Y3, 96(DI)(BX*4)
	ADDQ    $32, BX
	JMP     loop32

loop8:
	CMPQ BX, CX
	JGE  done
	VMOVUPS (DI)(BX*4), Y0
	VADDPS  (SI)(BX*4), Y0, Y0
	VMOVUPS Y0, (DI)(BX*4)
	ADDQ    $8, BX
	JMP     loop8

done:
	VZEROUPPER
	RET
