package npy

import (
	"archive/zip"
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

// FuzzDecode checks that Decode never panics, that whatever it accepts is consistent (the data fill the
// shape) and survives an Encode/Decode round trip, and that a header lying about the amount of data does
// not make it allocate far more than the input's size. Seeds: the NumPy fixtures of testdata.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.npy"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add(header("{'descr': '<f8', 'fortran_order': True, 'shape': (1048576, 1048576), }", make([]byte, 16)))
	f.Add(header("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", []byte{0, 1, 2}))
	f.Fuzz(func(t *testing.T, in []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		a, err := Decode(bytes.NewReader(in))
		runtime.ReadMemStats(&after)
		// Bound: the header and the 1 MB read buffer, and the elements in buffers of exactly their
		// size (at most 8 bytes for each byte of input, widened integers, plus a bit each for Fortran
		// reordering).
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20+16*uint64(len(in)) {
			t.Fatalf("decoding %d bytes allocated %d bytes", len(in), alloc)
		}
		if err != nil {
			return
		}
		if a.Len() != a.dataLen() {
			t.Fatalf("shape %s holds %d elements", ShapeString(a.Shape), a.dataLen())
		}
		for _, d := range a.Shape {
			if d < 0 {
				t.Fatalf("negative dimension in %s", ShapeString(a.Shape))
			}
		}
		w := a
		switch a.Kind {
		case Uint8, Int8, Int16, Int32:
			w = &Array{Shape: a.Shape, Kind: Int64, I64: a.I64}
		}
		var buf bytes.Buffer
		if err := Encode(&buf, w); err != nil {
			t.Fatalf("re-encoding a decoded array: %v", err)
		}
		b, err := Decode(&buf)
		if err != nil {
			t.Fatalf("decoding a re-encoded array: %v", err)
		}
		if !sameArray(w, b) {
			t.Fatalf("round trip changed the array: %+v → %+v", w, b)
		}
	})
}

// FuzzNPZ checks that an archive either opens or gives an error, never a panic; that every member of
// an archive that opens reads as its header declares or gives an error; and that what is allocated is
// bounded by what the members may legitimately expand to (deflate expands at most 1032-fold). Seeds:
// the NumPy archives of testdata.
func FuzzNPZ(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.npz"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	// Small archives, stored and compressed, with C- and Fortran-order members of several kinds.
	members := [][]byte{
		header("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", make([]byte, 24)),
		header("{'descr': '|b1', 'fortran_order': False, 'shape': (4,), }", []byte{0, 1, 1, 0}),
		header("{'descr': '>i2', 'fortran_order': True, 'shape': (2, 1, 2), }", []byte{0, 1, 0, 2, 0, 3, 255, 255}),
	}
	for _, method := range []uint16{zip.Store, zip.Deflate} {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		for i, m := range members {
			w, _ := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("a%d.npy", i), Method: method})
			w.Write(m)
		}
		zw.Close()
		f.Add(b.Bytes())
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		z, err := NewNPZ(bytes.NewReader(in), int64(len(in)), "fuzz.npz")
		if err != nil {
			return
		}
		for _, name := range z.Names() {
			h := z.Header(name)
			a, err := z.Read(name)
			if err != nil {
				continue
			}
			if !slices.Equal(a.Shape, h.Shape) || a.Len() != a.dataLen() {
				t.Fatalf("member %s: header shape %v, read %v holding %d elements", name, h.Shape, a.Shape, a.dataLen())
			}
			// Read as float64 with the axes reversed, it holds the same values transposed.
			axes := make([]int, len(h.Shape))
			for i := range axes {
				axes[i] = len(axes) - 1 - i
			}
			w, err := z.ReadWith(name, ReadOptions{Float64: true, Axes: axes})
			if err != nil {
				t.Fatalf("member %s reads, but not as float64 transposed: %v", name, err)
			}
			if !sameTransposed(a.Float64s(), a.Shape, w.F64) {
				t.Fatalf("member %s: read as float64 with axes %v, the values differ", name, axes)
			}
		}
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20+3*8*1032*uint64(len(in)) {
			t.Fatalf("reading a %d-byte archive allocated %d bytes", len(in), alloc)
		}
	})
}

// sameTransposed reports whether t holds the array v of the given shape with its axes reversed (NaN
// payloads included).
func sameTransposed(v []float64, shape []int, t []float64) bool {
	if len(v) != len(t) {
		return false
	}
	nd := len(shape)
	idx := make([]int, nd)
	for c := range v {
		// idx: the multi-index of C-order position c; its reverse indexes t.
		r := c
		for d := nd - 1; d >= 0; d-- {
			idx[d] = r % shape[d]
			r /= shape[d]
		}
		toff := 0
		for d := nd - 1; d >= 0; d-- {
			toff = toff*shape[d] + idx[d]
		}
		if math.Float64bits(v[c]) != math.Float64bits(t[toff]) {
			return false
		}
	}
	return true
}

// sameArray compares arrays bit for bit (NaN payloads included).
func sameArray(a, b *Array) bool {
	if a.Kind != b.Kind || len(a.Shape) != len(b.Shape) || a.dataLen() != b.dataLen() {
		return false
	}
	for i := range a.Shape {
		if a.Shape[i] != b.Shape[i] {
			return false
		}
	}
	for i := 0; i < a.dataLen(); i++ {
		switch a.Kind {
		case Float64:
			if math.Float64bits(a.F64[i]) != math.Float64bits(b.F64[i]) {
				return false
			}
		case Float32:
			if math.Float32bits(a.F32[i]) != math.Float32bits(b.F32[i]) {
				return false
			}
		case Bool:
			if a.B[i] != b.B[i] {
				return false
			}
		default:
			if a.I64[i] != b.I64[i] {
				return false
			}
		}
	}
	return true
}
