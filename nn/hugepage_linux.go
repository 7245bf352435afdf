//go:build linux

package nn

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugeMin is the size from which a new buffer is advised to the kernel for transparent huge pages.
const hugeMin = 4 << 20

// adviseHuge asks the kernel to back the 2 MiB-aligned pages inside s, a buffer not yet written,
// with transparent huge pages (madvise(MADV_HUGEPAGE); it matters where THP is in "madvise" mode).
// A step's activations are hundreds of MiB touched for the first time by the first step; with 4 KiB
// pages, faulting them in costs the kernel more than the step's arithmetic. Errors are ignored: the
// advice only changes speed.
func adviseHuge(s []float32) {
	if len(s)*4 < hugeMin {
		return
	}
	const huge = 2 << 20
	base := unsafe.Pointer(unsafe.SliceData(s))
	p := uintptr(base)
	lo := (p + huge - 1) &^ (huge - 1)
	hi := (p + uintptr(len(s))*4) &^ (huge - 1)
	if hi <= lo {
		return
	}
	_ = unix.Madvise(unsafe.Slice((*byte)(unsafe.Add(base, lo-p)), hi-lo), unix.MADV_HUGEPAGE)
}
