package gemm

import (
	"sync"
	"unsafe"
)

// workspace holds the packed panels of one serial product and its macro-kernel (with the buffer
// for edge tiles).
type workspace struct {
	a, b buffer
	mk   macroKernel
}

// pool recycles workspaces between calls, so that products do not allocate in steady state.
var pool = sync.Pool{New: func() any { return new(workspace) }}

// buffer is a reusable float32 slice aligned to 64 bytes (a cache line).
type buffer struct {
	s []float32
}

// grow returns the first n values of the buffer, reallocating it if it is shorter.
func (b *buffer) grow(n int) []float32 {
	if cap(b.s) < n {
		const align = 64 / 4
		s := make([]float32, n+align)
		off := 0
		if r := int(uintptr(unsafe.Pointer(&s[0]))%64) / 4; r != 0 {
			off = align - r
		}
		b.s = s[off : off+n]
	}
	return b.s[:n]
}
