package nn

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sameSafetensors reports whether a and b hold the same names, dtypes, shapes and bitwise-equal values.
func sameSafetensors(t *testing.T, got, want *Safetensors) {
	t.Helper()
	if len(got.Tensors) != len(want.Tensors) {
		t.Fatalf("%d tensors, want %d", len(got.Tensors), len(want.Tensors))
	}
	for i, w := range want.Tensors {
		g := got.Tensors[i]
		if g.Name != w.Name || g.DType != w.DType || !slices.Equal(g.Shape, w.Shape) || len(g.F32) != len(w.F32) || len(g.I64) != len(w.I64) {
			t.Fatalf("tensor %d: got %s %s %v (%d, %d values), want %s %s %v (%d, %d)", i, g.Name, g.DType, g.Shape, len(g.F32), len(g.I64),
				w.Name, w.DType, w.Shape, len(w.F32), len(w.I64))
		}
		for j := range w.F32 {
			if math.Float32bits(g.F32[j]) != math.Float32bits(w.F32[j]) {
				t.Fatalf("tensor %s[%d] = %v, want %v (bitwise)", w.Name, j, g.F32[j], w.F32[j])
			}
		}
		for j := range w.I64 {
			if g.I64[j] != w.I64[j] {
				t.Fatalf("tensor %s[%d] = %v, want %v", w.Name, j, g.I64[j], w.I64[j])
			}
		}
	}
	if len(got.Metadata) != len(want.Metadata) {
		t.Fatalf("metadata %v, want %v", got.Metadata, want.Metadata)
	}
	for k, v := range want.Metadata {
		if got.Metadata[k] != v {
			t.Fatalf("metadata[%q] = %q, want %q", k, got.Metadata[k], v)
		}
	}
}

func TestSafetensorsRoundTrip(t *testing.T) {
	nan := math.Float32frombits(0x7fc00001)
	cases := map[string]*Safetensors{
		"empty":    {},
		"metadata": {Metadata: map[string]string{"format": "pt", "note": "quote \" back\\slash é <tag> \n"}},
		"mixed": {Tensors: []SafeTensor{
			{Name: "0.weight", DType: "F32", Shape: []int{2, 3}, F32: []float32{1, -2.5, 0, float32(math.Copysign(0, -1)), nan, float32(math.Inf(1))}},
			{Name: "1.num_batches_tracked", DType: "I64", Shape: []int{}, I64: []int64{-7}},
			{Name: "empty", DType: "F32", Shape: []int{0, 4}, F32: []float32{}},
			{Name: "scalar", DType: "F32", Shape: []int{}, F32: []float32{math.MaxFloat32}},
			{Name: "odd", DType: "F32", Shape: []int{1, 1, 3}, F32: []float32{1e-45, 3, 4}},
		}, Metadata: map[string]string{"k": "v"}},
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := EncodeSafetensors(&buf, s); err != nil {
				t.Fatal(err)
			}
			b := buf.Bytes()
			n := binary.LittleEndian.Uint64(b)
			if (8+n)%8 != 0 || b[8] != '{' || b[8+n-1] != ' ' && b[8+n-1] != '}' {
				t.Errorf("header of %d bytes: not 8-aligned or not a padded JSON object: %q", n, b[8:8+n])
			}
			got, err := DecodeSafetensors(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			sameSafetensors(t, got, s)
		})
	}
}

// TestSafetensorsSpecBytes decodes a file assembled by hand from the format's specification.
func TestSafetensorsSpecBytes(t *testing.T) {
	header := `{"b":{"dtype":"I64","shape":[],"data_offsets":[8,16]},"__metadata__":{"x":"y"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}   `
	var f bytes.Buffer
	binary.Write(&f, binary.LittleEndian, uint64(len(header)))
	f.WriteString(header)
	f.Write([]byte{0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0}) // 1.0, -2.5
	f.Write([]byte{0x2a, 0, 0, 0, 0, 0, 0, 0})                      // 42
	s, err := DecodeSafetensors(&f)
	if err != nil {
		t.Fatal(err)
	}
	want := &Safetensors{Metadata: map[string]string{"x": "y"}, Tensors: []SafeTensor{
		{Name: "a", DType: "F32", Shape: []int{2}, F32: []float32{1, -2.5}},
		{Name: "b", DType: "I64", Shape: []int{}, I64: []int64{42}},
	}}
	sameSafetensors(t, s, want)
	if s.Tensor("b") == nil || s.Tensor("c") != nil {
		t.Error("Tensor lookup")
	}
}

// stFile assembles a file from a header string and a data section.
func stFile(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func TestSafetensorsCorrupt(t *testing.T) {
	ok := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	data := make([]byte, 8)
	huge := binary.LittleEndian.AppendUint64(nil, 1<<40)
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"empty file", nil, "too short"},
		{"short length", []byte{1, 2, 3}, "too short"},
		{"huge header length", append(huge, '{'), "out of range"},
		{"header past end", stFile(ok, nil)[:20], "truncated"},
		{"not json object", stFile(`["a"]`, nil), "does not start with '{'"},
		{"leading space", stFile(` {}`, nil), "does not start with '{'"},
		{"bad json", stFile(`{"a":`, nil), "header JSON"},
		{"invalid utf8", stFile("{\"\xff\":1}", nil), "UTF-8"},
		{"duplicate key", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, data), "twice"},
		{"unknown dtype", stFile(`{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}`, data), "unknown dtype"},
		{"missing field", stFile(`{"a":{"dtype":"F32","shape":[2]}}`, data), "needs dtype, shape and data_offsets"},
		{"three offsets", stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}}`, data), "data_offsets"},
		{"reversed offsets", stFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}`, data), "data_offsets"},
		{"negative dim", stFile(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, data), "invalid shape"},
		{"overflowing shape", stFile(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, data), "invalid shape"},
		{"size mismatch", stFile(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, data), "needs 12 bytes"},
		{"gap", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, data), "gap"},
		{"overlap", stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, data), "overlaps"},
		{"truncated data", stFile(ok, data[:5]), "truncated: 5 of 8"},
		{"trailing data", stFile(ok, append(data, 0)), "continues past"},
		{"metadata not strings", stFile(`{"__metadata__":{"a":1}}`, nil), "__metadata__"},
		{"entry not object", stFile(`{"a":3}`, nil), `tensor "a"`},
		{"empty name", stFile(`{"":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, data), "empty name"},
		{"field names are case-sensitive", stFile(`{"a":{"dtYpe":"F32","shape":[2],"data_offsets":[0,8]}}`, data), "needs dtype"},
		{"shape not numbers", stFile(`{"a":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}`, data), "shape"},
		{"text after object", stFile(`{} x`, nil), "after the JSON object"},
		{"unsupported dtype", stFile(`{"a":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}}`, data), "BF16 not supported"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeSafetensors(bytes.NewReader(c.file))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestSafetensorsEncodeErrors(t *testing.T) {
	cases := []struct {
		name string
		ts   []SafeTensor
		want string
	}{
		{"no name", []SafeTensor{{DType: "F32", Shape: []int{}, F32: []float32{1}}}, "invalid name"},
		{"reserved name", []SafeTensor{{Name: "__metadata__", DType: "F32", Shape: []int{}, F32: []float32{1}}}, "invalid name"},
		{"duplicate", []SafeTensor{{Name: "a", DType: "F32", Shape: []int{}, F32: []float32{1}}, {Name: "a", DType: "F32", Shape: []int{}, F32: []float32{1}}}, "duplicate"},
		{"dtype", []SafeTensor{{Name: "a", DType: "F16", Shape: []int{}}}, "not supported"},
		{"count", []SafeTensor{{Name: "a", DType: "F32", Shape: []int{2}, F32: []float32{1}}}, "holds 2 values"},
		{"negative", []SafeTensor{{Name: "a", DType: "F32", Shape: []int{-1}}}, "negative"},
	}
	for _, c := range cases {
		err := EncodeSafetensors(&bytes.Buffer{}, &Safetensors{Tensors: c.ts})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestSafetensorsFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "w.safetensors")
	s := &Safetensors{Tensors: []SafeTensor{{Name: "a", DType: "F32", Shape: []int{3}, F32: []float32{1, 2, 3}}}}
	if err := WriteSafetensorsFile(p, s); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSafetensorsFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sameSafetensors(t, got, s)
	b, _ := os.ReadFile(p)
	os.WriteFile(p, b[:len(b)-1], 0o644)
	if _, err := ReadSafetensorsFile(p); err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated file: error %v, want one naming the file", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after atomic writes, want 1", len(entries))
	}
}

// FuzzDecodeSafetensors checks that no input makes the decoder panic or hang, and that whatever it
// accepts survives a re-encoding unchanged.
func FuzzDecodeSafetensors(f *testing.F) {
	var buf bytes.Buffer
	EncodeSafetensors(&buf, &Safetensors{Metadata: map[string]string{"a": "b"}, Tensors: []SafeTensor{
		{Name: "w", DType: "F32", Shape: []int{2, 2}, F32: []float32{1, 2, 3, 4}},
		{Name: "n", DType: "I64", Shape: []int{}, I64: []int64{3}},
	}})
	f.Add(buf.Bytes())
	f.Add(stFile(`{}`, nil))
	f.Add(stFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Add(stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 7)))
	if b, err := os.ReadFile("testdata/torch_model.safetensors"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSafetensors(bytes.NewReader(b))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := EncodeSafetensors(&out, s); err != nil {
			t.Fatalf("re-encoding an accepted file: %v", err)
		}
		again, err := DecodeSafetensors(&out)
		if err != nil {
			t.Fatalf("decoding the re-encoding: %v", err)
		}
		sameSafetensors(t, again, s)
	})
}
