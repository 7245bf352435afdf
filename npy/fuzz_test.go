package npy

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"runtime"
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
		// Bound: the fixed 1 MB header and read buffers, 8 MB of initial element capacity, and a
		// small multiple of the input for the elements (widened to 8 bytes, append growth, Fortran
		// reordering).
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20+64*uint64(len(in)) {
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
