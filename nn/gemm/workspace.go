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

// pool recycles workspaces between calls, so that products do not allocate in steady state. Unlike
// a sync.Pool, which a garbage collection empties, it keeps them: a training step that allocates
// nothing else then allocates nothing here either, whenever the collector runs. It holds at most as
// many workspaces as products ever ran at once (bounded by maxFree).
var pool wsPool

const maxFree = 256

type wsPool struct {
	mu   sync.Mutex
	free []*workspace
}

// Get returns a free workspace or a new one.
func (p *wsPool) Get() *workspace {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		ws := p.free[n-1]
		p.free = p.free[:n-1]
		return ws
	}
	return new(workspace)
}

// Put returns ws to the pool.
func (p *wsPool) Put(ws *workspace) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) < maxFree {
		p.free = append(p.free, ws)
	}
}

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
