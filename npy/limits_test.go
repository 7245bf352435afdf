package npy

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// allocated returns the bytes allocated while f ran.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestReadExactAlloc: a file is read into buffers of exactly the array's size, plus the fixed read
// buffers (1 MiB each), whatever its storage order; ReadOptions.Float64 converts a float32 or integer
// file without a second copy.
func TestReadExactAlloc(t *testing.T) {
	const rows, cols = 1024, 1024 // 1 Mi elements
	dir := t.TempDir()
	v := make([]float64, rows*cols)
	for i := range v {
		v[i] = float64(i%977) - 0.5
	}
	for _, tc := range []struct {
		name    string
		descr   string
		fortran bool
		widen   bool
		want    uint64 // bytes of the result
	}{
		{"f8 C", "<f8", false, false, 8 * rows * cols},
		{"f8 F", "<f8", true, false, 8 * rows * cols},
		{"f4 C", "<f4", false, false, 4 * rows * cols},
		{"f4 C as float64", "<f4", false, true, 8 * rows * cols},
		{"b1 C", "|b1", false, false, rows * cols},
		{"i4 F as float64", "<i4", true, true, 8 * rows * cols},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".npy")
			if err := os.WriteFile(path, rawFile(tc.descr, tc.fortran, rows, cols, v), 0o644); err != nil {
				t.Fatal(err)
			}
			var a *Array
			var err error
			alloc := allocated(func() {
				a, err = ReadFileWith(path, ReadOptions{Float64: tc.widen})
			})
			if err != nil {
				t.Fatal(err)
			}
			if limit := tc.want + 3<<20 + 64<<10; alloc > limit {
				t.Errorf("reading %d elements allocated %d bytes, want at most %d", rows*cols, alloc, limit)
			}
			got := a.Float64s()
			for i := 0; i < rows*cols; i += 4099 {
				w := v[i]
				switch {
				case tc.descr == "|b1":
					w = float64(i % 2)
				case tc.descr == "<i4":
					w = math.Floor(w)
				}
				if got[i] != w {
					t.Fatalf("element %d = %v, want %v", i, got[i], w)
				}
			}
		})
	}
}

// rawFile encodes a rows × cols matrix (v in C order) with dtype descr in C or Fortran order; "|b1"
// stores i % 2 and "<i4" the floor of v.
func rawFile(descr string, fortran bool, rows, cols int, v []float64) []byte {
	order := map[bool]string{true: "True", false: "False"}[fortran]
	var b bytes.Buffer
	b.Write(header(fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': (%d, %d), }", descr, order, rows, cols), nil))
	for k := 0; k < rows*cols; k++ {
		i := k
		if fortran {
			i = (k%rows)*cols + k/rows
		}
		switch descr {
		case "<f8":
			binary.Write(&b, binary.LittleEndian, v[i])
		case "<f4":
			binary.Write(&b, binary.LittleEndian, float32(v[i]))
		case "<i4":
			binary.Write(&b, binary.LittleEndian, int32(math.Floor(v[i])))
		case "|b1":
			b.WriteByte(byte(i % 2))
		}
	}
	return b.Bytes()
}

// TestReadFileLyingHeader: a file whose header declares more data than the file holds is refused from
// its size, before anything is allocated, by ReadFile and ReadFileHeader alike.
func TestReadFileLyingHeader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.npy")
	in := header("{'descr': '<f8', 'fortran_order': False, 'shape': (1048576, 1048576), }", make([]byte, 64))
	if err := os.WriteFile(path, in, 0o644); err != nil {
		t.Fatal(err)
	}
	var err error
	if alloc := allocated(func() { _, err = ReadFile(path) }); alloc > 2<<20+64<<10 {
		t.Errorf("ReadFile allocated %d bytes", alloc)
	}
	want := "truncated: expected 1099511627776 elements (8796093022208 bytes of data), but only 64 bytes follow the header"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
		t.Errorf("ReadFile: error %v, want %q naming the file", err, want)
	}
	if _, err := ReadFileHeader(path); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("ReadFileHeader: error %v, want %q", err, want)
	}
	h, err := ReadFileHeader(filepath.Join("testdata", "f4_f_2x3x4.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(h.Shape, []int{2, 3, 4}) || h.Kind != Float32 || !h.Fortran || h.DataSize() != 96 || h.Descr != "<f4" {
		t.Errorf("header %+v", h)
	}
}

// TestReadAxes reads a 2 × 3 × 4 array, stored in C and in Fortran order, with every permutation of
// its axes, from a file (elements placed as they are read) and from a reader of unknown length
// (rearranged at the end).
func TestReadAxes(t *testing.T) {
	shape := []int{2, 3, 4}
	v := make([]float64, 24)
	for i := range v {
		v[i] = float64(i)
	}
	dir := t.TempDir()
	for _, fortran := range []bool{false, true} {
		in := rawFile3("<f4", fortran, shape, v)
		path := filepath.Join(dir, fmt.Sprintf("a%v.npy", fortran))
		if err := os.WriteFile(path, in, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, axes := range [][]int{nil, {0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}} {
			opt := ReadOptions{Float64: true, Axes: axes}
			fromFile, err := ReadFileWith(path, opt)
			if err != nil {
				t.Fatal(err)
			}
			h, err := ReadHeader(bytes.NewReader(in))
			if err != nil {
				t.Fatal(err)
			}
			fromStream, err := h.readData(io.MultiReader(bytes.NewReader(in[h.Size:])), -1, opt)
			if err != nil {
				t.Fatal(err)
			}
			if axes == nil {
				axes = []int{0, 1, 2}
			}
			want := []int{shape[axes[0]], shape[axes[1]], shape[axes[2]]}
			for _, a := range []*Array{fromFile, fromStream} {
				if !reflect.DeepEqual(a.Shape, want) || a.Kind != Float64 {
					t.Fatalf("fortran %v axes %v: shape %v kind %v, want %v float64", fortran, axes, a.Shape, a.Kind, want)
				}
				for i := 0; i < shape[0]; i++ {
					for j := 0; j < shape[1]; j++ {
						for k := 0; k < shape[2]; k++ {
							idx := []int{i, j, k}
							off := (idx[axes[0]]*want[1]+idx[axes[1]])*want[2] + idx[axes[2]]
							if got := a.F64[off]; got != v[(i*3+j)*4+k] {
								t.Fatalf("fortran %v axes %v: element (%d, %d, %d) = %v, want %v", fortran, axes, i, j, k, got, v[(i*3+j)*4+k])
							}
						}
					}
				}
			}
		}
	}
	for _, axes := range [][]int{{0, 1}, {0, 1, 1}, {0, 1, 3}} {
		if _, err := ReadFileWith(filepath.Join(dir, "afalse.npy"), ReadOptions{Axes: axes}); err == nil || !strings.Contains(err.Error(), "axes") {
			t.Errorf("axes %v: error %v", axes, err)
		}
	}
}

// rawFile3 encodes an array of the given shape (v in C order) as float32 in C or Fortran order.
func rawFile3(descr string, fortran bool, shape []int, v []float64) []byte {
	order := map[bool]string{true: "True", false: "False"}[fortran]
	var b bytes.Buffer
	b.Write(header(fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr, order, ShapeString(shape)), nil))
	n := len(v)
	for k := 0; k < n; k++ {
		c := k
		if fortran { // k = i + d0·(j + d1·l) in Fortran order
			i, j, l := k%shape[0], k/shape[0]%shape[1], k/(shape[0]*shape[1])
			c = (i*shape[1]+j)*shape[2] + l
		}
		binary.Write(&b, binary.LittleEndian, float32(v[c]))
	}
	return b.Bytes()
}

// zerosDeflate returns a raw deflate stream of n (a multiple of 1 MiB) zero bytes after prefix, with
// its CRC-32, built by repeating one compressed MiB: about 1 KB per MiB.
func zerosDeflate(t *testing.T, prefix []byte, n int) ([]byte, uint32) {
	t.Helper()
	var head bytes.Buffer
	w, _ := flate.NewWriter(&head, flate.BestCompression)
	w.Write(prefix)
	w.Flush()
	var mib bytes.Buffer
	w, _ = flate.NewWriter(&mib, flate.BestCompression)
	zeros := make([]byte, 1<<20)
	w.Write(zeros)
	w.Flush()
	out := head.Bytes()
	crc := crc32.Update(0, crc32.IEEETable, prefix)
	for k := 0; k < n>>20; k++ {
		out = append(out, mib.Bytes()...)
		crc = crc32.Update(crc, crc32.IEEETable, zeros)
	}
	return append(out, 1, 0, 0, 0xff, 0xff), crc // a final, empty stored block
}

// deflate compresses data and returns it with its CRC-32.
func deflate(data []byte) ([]byte, uint32) {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	w.Write(data)
	w.Close()
	return b.Bytes(), crc32.ChecksumIEEE(data)
}

// rawNPZ builds an archive of one member whose declared sizes and CRC are given, with compressed data.
func rawNPZ(t *testing.T, name string, data []byte, crc uint32, declared uint64) string {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate, CRC32: crc,
		CompressedSize64: uint64(len(data)), UncompressedSize64: declared})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bomb.npz")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestNPZLimits: a member is read only as far as both its .npy header and the archive's declared
// size agree. A 1-MB archive that expands to 1 GiB is refused quickly, without allocating or
// decompressing the gigabyte, whichever of the two declarations lies.
func TestNPZLimits(t *testing.T) {
	const gib = 1 << 30
	small := header("{'descr': '<f8', 'fortran_order': False, 'shape': (1000,), }", nil)
	bomb, bombCRC := zerosDeflate(t, small, gib)
	if len(bomb) > 2<<20 {
		t.Fatalf("the test archive is %d bytes", len(bomb))
	}
	smallSize := uint64(len(small) + 8000)
	ok, okCRC := deflate(append(append([]byte(nil), small...), make([]byte, 8000)...))
	huge := header("{'descr': '<f8', 'fortran_order': False, 'shape': (2199023255552,), }", nil)
	hugeData, hugeCRC := deflate(huge)
	for _, tc := range []struct {
		name     string
		data     []byte
		crc      uint32
		declared uint64
		open     string // error from OpenNPZ
		read     string // error from Read
	}{
		// The archive declares the gigabyte honestly; the .npy header claims 1000 elements.
		{"header lies", bomb, bombCRC, uint64(len(small)) + gib, "its header declares shape (1000,) dtype <f8 (" + fmt.Sprint(smallSize) + " bytes with the header), but the archive declares " + fmt.Sprint(uint64(len(small))+gib) + " bytes uncompressed", ""},
		// Both declare 1000 elements; the stream goes on to a gigabyte.
		{"archive lies", bomb, bombCRC, smallSize, "", "holds more than the " + fmt.Sprint(smallSize) + " bytes the archive declares"},
		// Both agree on 16 TiB, past the limit on elements.
		{"too large", hugeData, hugeCRC, uint64(len(huge)) + 1<<44, "the archive declares " + fmt.Sprint(uint64(len(huge))+1<<44) + " bytes uncompressed, more than the", ""},
		{"consistent", ok, okCRC, smallSize, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := rawNPZ(t, "signals.npy", tc.data, tc.crc, tc.declared)
			var openErr, readErr error
			var a *Array
			alloc := allocated(func() {
				var z *NPZ
				if z, openErr = OpenNPZ(path); openErr != nil {
					return
				}
				defer z.Close()
				a, readErr = z.Read("signals")
			})
			if alloc > 16<<20 {
				t.Errorf("allocated %d bytes", alloc)
			}
			switch {
			case tc.open != "":
				if openErr == nil || !strings.Contains(openErr.Error(), tc.open) || !strings.Contains(openErr.Error(), "member signals.npy") {
					t.Fatalf("OpenNPZ: error %v, want %q naming the member", openErr, tc.open)
				}
			case openErr != nil:
				t.Fatalf("OpenNPZ: %v", openErr)
			case tc.read != "":
				if readErr == nil || !strings.Contains(readErr.Error(), tc.read) {
					t.Fatalf("Read: error %v, want %q", readErr, tc.read)
				}
			case readErr != nil:
				t.Fatalf("Read: %v", readErr)
			case len(a.F64) != 1000:
				t.Fatalf("read %d elements, want 1000", len(a.F64))
			}
		})
	}
}
