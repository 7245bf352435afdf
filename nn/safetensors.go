package nn

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/pmeter/pmeter/npy"
)

// The safetensors format (https://github.com/huggingface/safetensors), as read by Python's safetensors
// package and therefore by PyTorch, JAX and Hugging Face tools:
//
//	8 bytes  N, the length of the header, an unsigned little-endian integer
//	N bytes  the header: a UTF-8 JSON object starting with '{', possibly padded with trailing spaces,
//	         mapping each tensor name to {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]},
//	         plus an optional "__metadata__" object of string values
//	rest     the data section: every tensor's values, row-major, little-endian, at [begin, end) relative
//	         to the start of the section; the tensors cover the section exactly, with no gaps or overlaps
//
// pmeter writes F32 tensors (parameters and buffers) and I64 scalars (batch-norm num_batches_tracked),
// pads the header with spaces so that the data starts at a multiple of 8 bytes, as the reference
// implementation does, and reads F32 and I64.

// maxSafetensorsHeader bounds the header length, as the reference implementation does (100 MB), so
// that a corrupt length cannot make a reader allocate gigabytes.
const maxSafetensorsHeader = 100_000_000

// metadataKey is the reserved header key of the free-form string metadata.
const metadataKey = "__metadata__"

// dtypeSize gives the bytes per element of every dtype of the format.
var dtypeSize = map[string]int{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8,
}

// SafeTensor is one tensor of a safetensors file.
type SafeTensor struct {
	Name  string
	DType string // "F32" or "I64"
	Shape []int  // [] for a scalar
	F32   []float32
	I64   []int64
}

// numel returns the number of elements t's shape holds.
func (t *SafeTensor) numel() int { return numel(t.Shape) }

// Safetensors is the content of a safetensors file: named tensors and free-form string metadata.
type Safetensors struct {
	Metadata map[string]string
	Tensors  []SafeTensor // in the order of their data in the file
}

// Tensor returns the tensor called name, or nil.
func (s *Safetensors) Tensor(name string) *SafeTensor {
	for i := range s.Tensors {
		if s.Tensors[i].Name == name {
			return &s.Tensors[i]
		}
	}
	return nil
}

// EncodeSafetensors writes s in safetensors format, tensors in the order of s.Tensors. Each tensor
// must have a unique non-empty name other than "__metadata__", dtype F32 or I64, non-negative
// dimensions and as many values as its shape holds.
func EncodeSafetensors(w io.Writer, s *Safetensors) error {
	header, err := safetensorsHeader(s)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	bw.Write(n[:])
	bw.Write(header)
	var b [8]byte
	for _, t := range s.Tensors {
		switch t.DType {
		case "F32":
			for _, v := range t.F32 {
				binary.LittleEndian.PutUint32(b[:4], math.Float32bits(v))
				bw.Write(b[:4])
			}
		case "I64":
			for _, v := range t.I64 {
				binary.LittleEndian.PutUint64(b[:], uint64(v))
				bw.Write(b[:])
			}
		}
	}
	return bw.Flush()
}

// safetensorsHeader validates s and returns its JSON header, padded with spaces to a multiple of 8
// bytes (counting the 8-byte length before it).
func safetensorsHeader(s *Safetensors) ([]byte, error) {
	var h bytes.Buffer
	h.WriteByte('{')
	first := true
	if len(s.Metadata) > 0 {
		keys := make([]string, 0, len(s.Metadata))
		for k := range s.Metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		h.WriteString(`"` + metadataKey + `":{`)
		for i, k := range keys {
			if i > 0 {
				h.WriteByte(',')
			}
			writeJSONString(&h, k)
			h.WriteByte(':')
			writeJSONString(&h, s.Metadata[k])
		}
		h.WriteByte('}')
		first = false
	}
	seen := make(map[string]bool, len(s.Tensors))
	var off uint64
	for i, t := range s.Tensors {
		switch {
		case t.Name == "" || t.Name == metadataKey:
			return nil, fmt.Errorf("safetensors: tensor %d: invalid name %q", i, t.Name)
		case seen[t.Name]:
			return nil, fmt.Errorf("safetensors: duplicate tensor name %q", t.Name)
		}
		seen[t.Name] = true
		for _, d := range t.Shape {
			if d < 0 {
				return nil, fmt.Errorf("safetensors: tensor %q: negative dimension in shape %v", t.Name, t.Shape)
			}
		}
		var have int
		switch t.DType {
		case "F32":
			have = len(t.F32)
		case "I64":
			have = len(t.I64)
		default:
			return nil, fmt.Errorf("safetensors: tensor %q: dtype %q not supported for writing (F32 or I64)", t.Name, t.DType)
		}
		if have != t.numel() {
			return nil, fmt.Errorf("safetensors: tensor %q: shape %v holds %d values, have %d", t.Name, t.Shape, t.numel(), have)
		}
		size := uint64(have) * uint64(dtypeSize[t.DType])
		if !first {
			h.WriteByte(',')
		}
		first = false
		writeJSONString(&h, t.Name)
		h.WriteString(`:{"dtype":"` + t.DType + `","shape":[`)
		for j, d := range t.Shape {
			if j > 0 {
				h.WriteByte(',')
			}
			h.WriteString(strconv.Itoa(d))
		}
		h.WriteString(`],"data_offsets":[` + strconv.FormatUint(off, 10) + "," + strconv.FormatUint(off+size, 10) + "]}")
		off += size
	}
	h.WriteByte('}')
	for (8+h.Len())%8 != 0 {
		h.WriteByte(' ')
	}
	return h.Bytes(), nil
}

func writeJSONString(b *bytes.Buffer, s string) {
	q, _ := json.Marshal(s) // a string always marshals
	b.Write(q)
}

// stEntry is one tensor's header entry; nil fields were absent (or null).
type stEntry struct {
	DType       *string
	Shape       *[]int64
	DataOffsets []uint64
}

// stInfo is a validated header entry.
type stInfo struct {
	name       string
	dtype      string
	shape      []int
	begin, end uint64
}

// DecodeSafetensors reads a safetensors file from r. It validates the whole layout before converting
// any value: the header length, the JSON (unique keys, string metadata, known dtypes, shapes that
// match their byte ranges) and that the tensors tile the data section, which must end where r ends.
// Tensors of dtypes other than F32 and I64 are reported as errors. Errors say what is wrong and where.
func DecodeSafetensors(r io.Reader) (*Safetensors, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, fmt.Errorf("safetensors: too short for the 8-byte header length: %w", noEOF(err))
	}
	hlen := binary.LittleEndian.Uint64(pre[:])
	if hlen < 2 || hlen > maxSafetensorsHeader {
		return nil, fmt.Errorf("safetensors: header length %d out of range [2, %d] (not a safetensors file?)", hlen, maxSafetensorsHeader)
	}
	header, err := readExactly(r, hlen)
	if err != nil {
		return nil, fmt.Errorf("safetensors: header of %d bytes: %w", hlen, err)
	}
	meta, infos, err := parseSafetensorsHeader(header)
	if err != nil {
		return nil, err
	}
	var total uint64
	if len(infos) > 0 {
		total = infos[len(infos)-1].end
	}
	data, err := readExactly(r, total)
	if err != nil {
		return nil, fmt.Errorf("safetensors: data section of %d bytes declared by the header: %w", total, err)
	}
	var one [1]byte
	if k, _ := io.ReadFull(r, one[:]); k > 0 {
		return nil, fmt.Errorf("safetensors: data continues past the %d bytes the header declares", total)
	}
	s := &Safetensors{Metadata: meta, Tensors: make([]SafeTensor, len(infos))}
	for i, in := range infos {
		t := SafeTensor{Name: in.name, DType: in.dtype, Shape: in.shape}
		b := data[in.begin:in.end]
		switch in.dtype {
		case "F32":
			t.F32 = make([]float32, len(b)/4)
			for j := range t.F32 {
				t.F32[j] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:]))
			}
		case "I64":
			t.I64 = make([]int64, len(b)/8)
			for j := range t.I64 {
				t.I64[j] = int64(binary.LittleEndian.Uint64(b[8*j:]))
			}
		default:
			return nil, fmt.Errorf("safetensors: tensor %q: dtype %s not supported (pmeter reads F32 and I64)", in.name, in.dtype)
		}
		s.Tensors[i] = t
	}
	return s, nil
}

// parseSafetensorsHeader validates the JSON header and returns the metadata and the tensors sorted by
// their offsets.
func parseSafetensorsHeader(header []byte) (map[string]string, []stInfo, error) {
	if !utf8.Valid(header) {
		return nil, nil, errors.New("safetensors: header is not valid UTF-8")
	}
	if header[0] != '{' {
		return nil, nil, fmt.Errorf("safetensors: header does not start with '{' (starts with %q; not a safetensors file?)", header[:min(len(header), 16)])
	}
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return nil, nil, fmt.Errorf("safetensors: header JSON: %w", jsonEOF(err))
	}
	var meta map[string]string
	var infos []stInfo
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("safetensors: header JSON: %w", jsonEOF(err))
		}
		name, ok := tok.(string)
		if !ok {
			return nil, nil, fmt.Errorf("safetensors: header JSON: expected a key, got %v", tok)
		}
		if seen[name] {
			return nil, nil, fmt.Errorf("safetensors: header: key %q appears twice", name)
		}
		seen[name] = true
		if name == metadataKey {
			if err := dec.Decode(&meta); err != nil {
				return nil, nil, fmt.Errorf("safetensors: header: %s must map strings to strings: %w", metadataKey, jsonEOF(err))
			}
			continue
		}
		if name == "" {
			return nil, nil, errors.New("safetensors: header: a tensor has an empty name")
		}
		// Decode the fields by their exact names (encoding/json matches struct fields case-insensitively).
		var fields map[string]json.RawMessage
		if err := dec.Decode(&fields); err != nil {
			return nil, nil, fmt.Errorf("safetensors: header JSON: tensor %q: %w", name, jsonEOF(err))
		}
		var e stEntry
		for key, dst := range map[string]any{"dtype": &e.DType, "shape": &e.Shape, "data_offsets": &e.DataOffsets} {
			if raw, ok := fields[key]; ok {
				if err := json.Unmarshal(raw, dst); err != nil {
					return nil, nil, fmt.Errorf("safetensors: header: tensor %q: %s: %w", name, key, err)
				}
			}
		}
		in, err := checkEntry(name, e)
		if err != nil {
			return nil, nil, err
		}
		infos = append(infos, in)
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, fmt.Errorf("safetensors: header JSON: %w", jsonEOF(err))
	}
	if rest := bytes.TrimLeft(header[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return nil, nil, fmt.Errorf("safetensors: header: %d bytes after the JSON object", len(rest))
	}
	sort.SliceStable(infos, func(i, j int) bool {
		if infos[i].begin != infos[j].begin {
			return infos[i].begin < infos[j].begin
		}
		return infos[i].end < infos[j].end
	})
	var off uint64
	for _, in := range infos {
		if in.begin != off {
			if in.begin < off {
				return nil, nil, fmt.Errorf("safetensors: header: tensor %q at bytes [%d, %d) overlaps the previous tensor, which ends at %d", in.name, in.begin, in.end, off)
			}
			return nil, nil, fmt.Errorf("safetensors: header: tensor %q starts at byte %d, leaving a gap after byte %d", in.name, in.begin, off)
		}
		off = in.end
	}
	return meta, infos, nil
}

// checkEntry validates one tensor's header entry.
func checkEntry(name string, e stEntry) (stInfo, error) {
	if e.DType == nil || e.Shape == nil || e.DataOffsets == nil {
		return stInfo{}, fmt.Errorf("safetensors: header: tensor %q needs dtype, shape and data_offsets", name)
	}
	size, ok := dtypeSize[*e.DType]
	if !ok {
		return stInfo{}, fmt.Errorf("safetensors: header: tensor %q: unknown dtype %q", name, *e.DType)
	}
	if len(e.DataOffsets) != 2 || e.DataOffsets[0] > e.DataOffsets[1] {
		return stInfo{}, fmt.Errorf("safetensors: header: tensor %q: data_offsets %v, want [begin, end] with begin ≤ end", name, e.DataOffsets)
	}
	shape := make([]int, len(*e.Shape))
	n := uint64(size)
	for i, d := range *e.Shape {
		// Bound each dimension and the running byte count by 2^50, far above any real tensor, so
		// that the products cannot overflow.
		if d < 0 || d > 1<<50 || (d > 0 && n > (1<<50)/uint64(d)) {
			return stInfo{}, fmt.Errorf("safetensors: header: tensor %q: invalid shape %v", name, *e.Shape)
		}
		n *= uint64(d)
		shape[i] = int(d)
	}
	if got := e.DataOffsets[1] - e.DataOffsets[0]; got != n {
		return stInfo{}, fmt.Errorf("safetensors: header: tensor %q: %s %v needs %d bytes, data_offsets %v give %d",
			name, *e.DType, shape, n, e.DataOffsets, got)
	}
	return stInfo{name: name, dtype: *e.DType, shape: shape, begin: e.DataOffsets[0], end: e.DataOffsets[1]}, nil
}

// readExactly reads n bytes, growing the buffer as data arrives, so that a corrupt length does not
// allocate more than the input holds.
func readExactly(r io.Reader, n uint64) ([]byte, error) {
	var b bytes.Buffer
	if n < 1<<20 {
		b.Grow(int(n))
	}
	got, err := io.CopyN(&b, r, int64(min(n, math.MaxInt64)))
	if err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("truncated: %d of %d bytes present", got, n)
		}
		return nil, err
	}
	return b.Bytes(), nil
}

// jsonEOF turns the end-of-input errors of a JSON decoder into a message about the header.
func jsonEOF(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errors.New("the JSON object ends early")
	}
	return err
}

func noEOF(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errors.New("file truncated")
	}
	return err
}

// WriteSafetensorsFile writes s to path atomically: to a temporary file beside it, then renamed.
func WriteSafetensorsFile(path string, s *Safetensors) error {
	return npy.WriteAtomic(path, func(w io.Writer) error { return EncodeSafetensors(w, s) })
}

// ReadSafetensorsFile reads a safetensors file. Errors name the file.
func ReadSafetensorsFile(path string) (*Safetensors, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := DecodeSafetensors(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}
