package bundle

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/npy"
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

// dataBytes is the size of the arrays of d.
func dataBytes(d *attack.Data) uint64 {
	return uint64(8*(len(d.Signals)+len(d.Population)+len(d.Probs)+len(d.PopProbs)+len(d.Labels)+len(d.PopLabels)) + len(d.Members))
}

// writeArrays writes arrays as .npy files into a new directory, or as a .npz archive of stored
// (uncompressed) members as np.savez writes them.
func writeArrays(t *testing.T, npz bool, arrays map[string]*npy.Array) string {
	t.Helper()
	dir := t.TempDir()
	if !npz {
		for name, a := range arrays {
			if err := npy.WriteFile(filepath.Join(dir, name+".npy"), a); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	path := filepath.Join(dir, "bundle.npz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, a := range arrays {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name + ".npy", Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		if err := npy.Encode(w, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLoadMemory: loading a 64-MiB bundle allocates at most 1.2 times the arrays' size, in both
// layouts, from a directory and from a .npz, with float64 and with float32 signals (converted as they
// are read).
func TestLoadMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads 64-MiB bundles")
	}
	const n, m = 1 << 17, 56 // 7.3 M signals: 56 MiB of float64 and 7 MiB of memberships
	sig64 := make([]float64, n*m)
	sig32 := make([]float32, n*m)
	mem := make([]bool, n*m)
	for i := range sig64 {
		sig64[i] = float64(i%1009) / 1009
		sig32[i] = float32(sig64[i])
		mem[i] = (i*7)%3 == 0
	}
	for _, tc := range []struct {
		name   string
		arrays map[string]*npy.Array
	}{
		{"privacy-meter f8", map[string]*npy.Array{"signals": npy.NewFloat64(sig64, n, m), "memberships": npy.NewBool(mem, n, m)}},
		{"privacy-meter f4", map[string]*npy.Array{"signals": npy.NewFloat32(sig32, n, m), "memberships": npy.NewBool(mem, n, m)}},
		{"lira f8", map[string]*npy.Array{"scores": npy.NewFloat64(sig64, m, n), "keep": npy.NewBool(mem, m, n)}},
		{"lira f4", map[string]*npy.Array{"scores": npy.NewFloat32(sig32, m, n), "keep": npy.NewBool(mem, m, n)}},
	} {
		for _, npz := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s npz=%v", tc.name, npz), func(t *testing.T) {
				path := writeArrays(t, npz, tc.arrays)
				var d *attack.Data
				var err error
				alloc := allocated(func() { d, err = Load(path) })
				if err != nil {
					t.Fatal(err)
				}
				if d.N*d.M != n*m {
					t.Fatalf("loaded %d × %d", d.N, d.M)
				}
				size := dataBytes(d)
				t.Logf("allocated %.3f× the arrays", float64(alloc)/float64(size))
				if limit := size + size/5; alloc > limit {
					t.Errorf("loading %d bytes of arrays allocated %d bytes (%.2f×), want at most 1.2×", size, alloc, float64(alloc)/float64(size))
				}
				// Spot-check the transposition and conversion.
				for _, i := range []int{0, 1, n/2 + 3, n - 1} {
					for _, k := range []int{0, m / 2, m - 1} {
						flat := i*m + k
						if strings.HasPrefix(tc.name, "lira") {
							flat = k*n + i
						}
						if got, want := d.Signal(i, k, 0), float64(sig32[flat]); strings.HasSuffix(tc.name, "f4") && got != want {
							t.Fatalf("signal(%d, %d) = %v, want %v", i, k, got, want)
						}
						if got, want := d.Signal(i, k, 0), sig64[flat]; strings.HasSuffix(tc.name, "f8") && got != want {
							t.Fatalf("signal(%d, %d) = %v, want %v", i, k, got, want)
						}
						if d.Member(i, k) != mem[flat] {
							t.Fatalf("member(%d, %d) = %v, want %v", i, k, d.Member(i, k), mem[flat])
						}
					}
				}
			})
		}
	}
}

// TestLoadBomb: a 1-MB .npz whose signals expand to 1 GiB, consistently declared by the member's .npy
// header and by the archive, but whose memberships do not match them, is refused from the headers,
// without decompressing or allocating the gigabyte.
func TestLoadBomb(t *testing.T) {
	const rows, cols = 1 << 25, 4 // 1 GiB of float64
	hdr := npyHeader(t, fmt.Sprintf("{'descr': '<f8', 'fortran_order': False, 'shape': (%d, %d), }", rows, cols))
	var body bytes.Buffer
	w, _ := flate.NewWriter(&body, flate.BestCompression)
	w.Write(hdr)
	w.Flush()
	var mib bytes.Buffer
	w, _ = flate.NewWriter(&mib, flate.BestCompression)
	zeros := make([]byte, 1<<20)
	w.Write(zeros)
	w.Flush()
	crc := crc32.ChecksumIEEE(hdr)
	for range 8 * rows * cols >> 20 {
		body.Write(mib.Bytes()) // each block decodes to 1 MiB of zeros on its own
		crc = crc32.Update(crc, crc32.IEEETable, zeros)
	}
	body.Write([]byte{1, 0, 0, 0xff, 0xff}) // a final, empty stored block

	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	sw, err := zw.CreateRaw(&zip.FileHeader{Name: "signals.npy", Method: zip.Deflate, CRC32: crc,
		CompressedSize64: uint64(body.Len()), UncompressedSize64: uint64(len(hdr)) + 8*rows*cols})
	if err != nil {
		t.Fatal(err)
	}
	sw.Write(body.Bytes())
	mw, _ := zw.Create("memberships.npy")
	mw.Write(rawNPY(t, "|b1", false, []int{4, 3}, fxMembers))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if b.Len() > 2<<20 {
		t.Fatalf("the archive is %d bytes", b.Len())
	}
	path := filepath.Join(t.TempDir(), "bomb.npz")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	alloc := allocated(func() { _, err = Load(path) })
	want := fmt.Sprintf("memberships.npy: shape (4, 3), want (%d, %d)", rows, cols)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want %q", err, want)
	}
	if alloc > 16<<20 {
		t.Errorf("refusing the bundle allocated %d bytes", alloc)
	}
}

// npyHeader returns the header of a .npy file (format 1.0) with the given dict, padded as NumPy pads.
func npyHeader(t *testing.T, dict string) []byte {
	t.Helper()
	dict += strings.Repeat(" ", (64-(10+len(dict)+1)%64)%64) + "\n"
	h := append([]byte("\x93NUMPY\x01\x00"), byte(len(dict)), byte(len(dict)>>8))
	h = append(h, dict...)
	if _, err := npy.ReadHeader(bytes.NewReader(h)); err != nil {
		t.Fatal(err)
	}
	return h
}
