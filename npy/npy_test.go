package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// fixtureValue is v(k) of testdata/gen.py: the value at C-order flat index k for a dtype kind.
func fixtureValue(kind byte, k int) float64 {
	switch kind {
	case 'f':
		return float64(k)*0.5 - 3.25
	case 'b':
		if k%3 == 1 {
			return 1
		}
		return 0
	case 'u':
		return float64(k * 37 % 256)
	default:
		return float64(k*37%256 - 128)
	}
}

// TestReadNumPyFixtures reads the files that NumPy wrote (testdata/gen.py): every dtype, C and Fortran
// order in 2-D and 3-D, big endian, 0-d and empty arrays, and a version 2.0 header.
func TestReadNumPyFixtures(t *testing.T) {
	for _, tc := range []struct {
		file  string
		kind  Kind
		vkind byte
		shape []int
	}{
		{"f8_c_2x3", Float64, 'f', []int{2, 3}},
		{"f4_c_3", Float32, 'f', []int{3}},
		{"f8_f_2x3", Float64, 'f', []int{2, 3}},
		{"f4_f_2x3x4", Float32, 'f', []int{2, 3, 4}},
		{"i1_f_3x2", Int8, 'i', []int{3, 2}},
		{"b1_f_2x2x3", Bool, 'b', []int{2, 2, 3}},
		{"f8_be_2x3", Float64, 'f', []int{2, 3}},
		{"f4_be_f_3x2", Float32, 'f', []int{3, 2}},
		{"i2_be_5", Int16, 'i', []int{5}},
		{"i4_be_2x2", Int32, 'i', []int{2, 2}},
		{"i8_be_4", Int64, 'i', []int{4}},
		{"u1_6", Uint8, 'u', []int{6}},
		{"i1_6", Int8, 'i', []int{6}},
		{"i2_6", Int16, 'i', []int{6}},
		{"i4_6", Int32, 'i', []int{6}},
		{"i8_2x3", Int64, 'i', []int{2, 3}},
		{"b1_7", Bool, 'b', []int{7}},
		{"f8_0d", Float64, 'f', []int{}},
		{"f8_empty_0x3", Float64, 'f', []int{0, 3}},
		{"v2_f8_2x3", Float64, 'f', []int{2, 3}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			a, err := ReadFile(filepath.Join("testdata", tc.file+".npy"))
			if err != nil {
				t.Fatal(err)
			}
			if a.Kind != tc.kind || !reflect.DeepEqual(a.Shape, tc.shape) {
				t.Fatalf("kind %v shape %s, want %v %s", a.Kind, ShapeString(a.Shape), tc.kind, ShapeString(tc.shape))
			}
			if a.dataLen() != a.Len() {
				t.Fatalf("%d elements for shape %s", a.dataLen(), ShapeString(a.Shape))
			}
			got := a.Float64s()
			for k, v := range got {
				if want := fixtureValue(tc.vkind, k); v != want {
					t.Fatalf("element %d = %v, want %v", k, v, want)
				}
			}
		})
	}
}

func TestReadSpecialFloats(t *testing.T) {
	a, err := ReadFile(filepath.Join("testdata", "f8_special.npy"))
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 5e-324, math.MaxFloat64}
	for i, w := range want {
		if math.Float64bits(a.F64[i]) != math.Float64bits(w) && !(math.IsNaN(w) && math.IsNaN(a.F64[i])) {
			t.Errorf("element %d = %v, want %v", i, a.F64[i], w)
		}
	}
}

// TestReadNPZ reads np.savez and np.savez_compressed archives.
func TestReadNPZ(t *testing.T) {
	for _, file := range []string{"stored.npz", "compressed.npz"} {
		t.Run(file, func(t *testing.T) {
			m, err := ReadNPZ(filepath.Join("testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			if len(m) != 3 {
				t.Fatalf("%d members, want 3", len(m))
			}
			for name, want := range map[string]struct {
				kind  Kind
				vkind byte
				shape []int
			}{"signals": {Float32, 'f', []int{3, 2}}, "memberships": {Bool, 'b', []int{3, 2}}, "labels": {Int64, 'i', []int{3}}} {
				a := m[name]
				if a == nil || a.Kind != want.kind || !reflect.DeepEqual(a.Shape, want.shape) {
					t.Fatalf("member %s = %+v, want %v %v", name, a, want.kind, want.shape)
				}
				for k, v := range a.Float64s() {
					if v != fixtureValue(want.vkind, k) {
						t.Errorf("%s[%d] = %v, want %v", name, k, v, fixtureValue(want.vkind, k))
					}
				}
			}
		})
	}
	if _, err := ReadNPZ(filepath.Join("testdata", "f8_c_2x3.npy")); err == nil || !strings.Contains(err.Error(), "not a .npz") {
		t.Errorf("reading a .npy as .npz: error %v", err)
	}
}

// TestRoundTrip encodes and decodes every writable kind in several shapes, through memory and through
// WriteFile/ReadFile.
func TestRoundTrip(t *testing.T) {
	shapes := [][]int{{}, {0}, {5}, {2, 3}, {2, 3, 4}, {1, 0, 2}}
	for _, shape := range shapes {
		n := 1
		for _, d := range shape {
			n *= d
		}
		f64 := make([]float64, n)
		f32 := make([]float32, n)
		b := make([]bool, n)
		i64 := make([]int64, n)
		for k := 0; k < n; k++ {
			f64[k] = float64(k)*1.1 - 7
			f32[k] = float32(k)*0.3 + 1
			b[k] = k%2 == 0
			i64[k] = int64(k)*1e12 - 5
		}
		if n > 0 {
			f64[0], i64[0] = math.Inf(-1), math.MinInt64
		}
		for _, a := range []*Array{NewFloat64(f64, shape...), NewFloat32(f32, shape...), NewBool(b, shape...), NewInt64(i64, shape...)} {
			name := a.Kind.String() + ShapeString(shape)
			var buf bytes.Buffer
			if err := Encode(&buf, a); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if (buf.Len()-len(a.raw()))%64 != 0 {
				t.Errorf("%s: header of %d bytes is not a multiple of 64", name, buf.Len()-len(a.raw()))
			}
			got, err := Decode(&buf)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !reflect.DeepEqual(got, a) {
				t.Errorf("%s: decoded %+v, want %+v", name, got, a)
			}
			path := filepath.Join(t.TempDir(), "a.npy")
			if err := WriteFile(path, a); err != nil {
				t.Fatal(err)
			}
			got, err = ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, a) {
				t.Errorf("%s: file round trip %+v, want %+v", name, got, a)
			}
		}
	}
}

// raw returns the little-endian data bytes of a writable array, for the header-size check.
func (a *Array) raw() []byte {
	var b bytes.Buffer
	switch a.Kind {
	case Float64:
		binary.Write(&b, binary.LittleEndian, a.F64)
	case Float32:
		binary.Write(&b, binary.LittleEndian, a.F32)
	case Bool:
		binary.Write(&b, binary.LittleEndian, a.B)
	case Int64:
		binary.Write(&b, binary.LittleEndian, a.I64)
	}
	return b.Bytes()
}

// TestLongHeader: a shape too long for a 1.0 header is written as format 2.0 and read back.
func TestLongHeader(t *testing.T) {
	shape := make([]int, 30000)
	for i := range shape {
		shape[i] = 1
	}
	a := NewFloat64([]float64{42}, shape...)
	var buf bytes.Buffer
	if err := Encode(&buf, a); err != nil {
		t.Fatal(err)
	}
	if v := buf.Bytes()[6]; v != 2 {
		t.Fatalf("format version %d, want 2", v)
	}
	got, err := Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, a) {
		t.Errorf("decoded shape %d-D, value %v", len(got.Shape), got.F64)
	}
}

// header builds a .npy file (format 1.0) with the given header dict and data bytes.
func header(dict string, data []byte) []byte {
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(dict)))
	b.WriteString(dict)
	b.Write(data)
	return b.Bytes()
}

func TestDecodeErrors(t *testing.T) {
	long := make([]byte, 12)
	copy(long, "\x93NUMPY\x02\x00")
	binary.LittleEndian.PutUint32(long[8:], 1<<30)
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "too short for the magic"},
		{"magic", []byte("\x93NUMPX\x01\x00\x00\x00"), "missing the \\x93NUMPY magic"},
		{"version", []byte("\x93NUMPY\x04\x00\x00\x00"), "unsupported .npy format version 4.0"},
		{"header length", []byte("\x93NUMPY\x01\x00\x05"), "truncated header length"},
		{"huge header", long, "implausibly large"},
		{"truncated header", header("{'descr': '<f8'", nil)[:15], "truncated header"},
		{"not a dict", header("'descr': '<f8'", nil), "malformed header"},
		{"no descr", header("{'fortran_order': False, 'shape': (1,), }", nil), "no string 'descr'"},
		{"structured", header("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }", nil), "structured dtypes are not supported"},
		{"unclosed descr", header("{'descr': '<f8, }", nil), "malformed descr"},
		{"no order", header("{'descr': '<f8', 'shape': (1,), }", nil), "no 'fortran_order'"},
		{"bad order", header("{'descr': '<f8', 'fortran_order': 0, 'shape': (1,), }", nil), "malformed fortran_order"},
		{"no shape", header("{'descr': '<f8', 'fortran_order': False, }", nil), "no tuple 'shape'"},
		{"unclosed shape", header("{'descr': '<f8', 'fortran_order': False, 'shape': (1, }", nil), "malformed shape"},
		{"bad dim", header("{'descr': '<f8', 'fortran_order': False, 'shape': (x,), }", nil), "malformed shape"},
		{"negative dim", header("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }", nil), "negative dimension"},
		{"too many", header("{'descr': '<f8', 'fortran_order': False, 'shape': (1048576, 1048576, 2), }", nil), "too many elements"},
		{"complex", header("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", nil), "unsupported dtype \"<c16\""},
		{"unicode", header("{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }", nil), "unsupported dtype"},
		{"object", header("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", nil), "unsupported dtype"},
		{"uint16", header("{'descr': '<u2', 'fortran_order': False, 'shape': (1,), }", nil), "unsupported dtype"},
		{"short data", header("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", make([]byte, 15)), "truncated: expected 2 elements"},
		{"bool byte", header("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", []byte{0, 1, 2}), "element 2: bool byte is 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(bytes.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestDecodeLyingHeader: a header that declares far more data than the input holds fails on the short
// read without allocating the declared size.
func TestDecodeLyingHeader(t *testing.T) {
	for _, descr := range []string{"<f8", "|b1", "<i2"} {
		in := header("{'descr': '"+descr+"', 'fortran_order': True, 'shape': (1048576, 1048576), }", make([]byte, 64))
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := Decode(bytes.NewReader(in))
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), "truncated") {
			t.Fatalf("%s: error %v, want a truncation error", descr, err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
			t.Errorf("%s: decoding a 1-TB header allocated %d MB", descr, alloc>>20)
		}
	}
}

func TestConversions(t *testing.T) {
	i := &Array{Shape: []int{4}, Kind: Int32, I64: []int64{0, 1, 1, 0}}
	if b, err := i.Bools(); err != nil || !reflect.DeepEqual(b, []bool{false, true, true, false}) {
		t.Errorf("Bools of ints = %v, %v", b, err)
	}
	if f := i.Float64s(); !reflect.DeepEqual(f, []float64{0, 1, 1, 0}) {
		t.Errorf("Float64s of ints = %v", f)
	}
	f := NewFloat32([]float32{1, 0, 2.5}, 3)
	if _, err := f.Bools(); err == nil || !strings.Contains(err.Error(), "element 2 is 2.5") {
		t.Errorf("Bools of 2.5: %v", err)
	}
	if _, err := f.Int64s(); err == nil || !strings.Contains(err.Error(), "element 2 is 2.5") {
		t.Errorf("Int64s of 2.5: %v", err)
	}
	for _, bad := range []float64{math.NaN(), math.Inf(1), 1e300} {
		if _, err := NewFloat64([]float64{bad}, 1).Int64s(); err == nil {
			t.Errorf("Int64s(%v) succeeded", bad)
		}
	}
	if v, err := NewFloat64([]float64{-3, 7}, 2).Int64s(); err != nil || !reflect.DeepEqual(v, []int64{-3, 7}) {
		t.Errorf("Int64s of whole floats = %v, %v", v, err)
	}
	b := NewBool([]bool{true, false}, 2)
	if v, _ := b.Int64s(); !reflect.DeepEqual(v, []int64{1, 0}) {
		t.Errorf("Int64s of bools = %v", v)
	}
	if v := b.Float64s(); !reflect.DeepEqual(v, []float64{1, 0}) {
		t.Errorf("Float64s of bools = %v", v)
	}
	if _, err := NewInt64([]int64{0, 3}, 2).Bools(); err == nil || !strings.Contains(err.Error(), "element 1 is 3") {
		t.Errorf("Bools of 3: %v", err)
	}
	if s := Kind(99).String(); s != "Kind(99)" {
		t.Errorf("Kind(99) = %q", s)
	}
	for shape, want := range map[string]string{"": "()", "5": "(5,)", "2,3": "(2, 3)"} {
		var sh []int
		for _, c := range strings.Split(shape, ",") {
			if c != "" {
				sh = append(sh, int(c[0]-'0'))
			}
		}
		if got := ShapeString(sh); got != want {
			t.Errorf("ShapeString(%v) = %q, want %q", sh, got, want)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	if err := Encode(io.Discard, &Array{Shape: []int{2}, Kind: Int16, I64: []int64{1, 2}}); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("Encode of int16: %v", err)
	}
	if err := Encode(io.Discard, &Array{Shape: []int{3}, Kind: Float64, F64: []float64{1, 2}}); err == nil || !strings.Contains(err.Error(), "do not fill shape (3,)") {
		t.Errorf("Encode of 2 values in (3,): %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("NewFloat64 with a wrong length did not panic")
		}
	}()
	NewFloat64([]float64{1, 2}, 3)
}

// TestWriteAtomic: a failed write leaves neither a temporary file nor a changed destination.
func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.npy")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := WriteAtomic(path, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return boom
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), path) {
		t.Fatalf("error %v, want boom naming the path", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("destination holds %q after a failed write", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d entries, want the destination only", len(ents))
	}
	if err := WriteFile(filepath.Join(dir, "missing", "b.npy"), NewFloat64([]float64{1}, 1)); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
	if err := WriteFile(path, NewFloat64([]float64{1}, 1)); err != nil {
		t.Fatal(err)
	}
	if a, err := ReadFile(path); err != nil || a.F64[0] != 1 {
		t.Errorf("after a successful write: %v, %v", a, err)
	}
}
