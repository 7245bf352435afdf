package npy

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

var magic = []byte("\x93NUMPY")

// maxHeader bounds the header length we accept, so a corrupt file cannot make us allocate gigabytes.
const maxHeader = 1 << 20

// maxElements bounds the number of elements a header may declare (2^40), for the same reason.
const maxElements = 1 << 40

// ReadFile reads one .npy file. Errors name the file.
func ReadFile(path string) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := Decode(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// ReadNPZ reads every array of a .npz archive (np.savez or np.savez_compressed). Keys are the member
// names without the ".npy" suffix.
func ReadNPZ(path string) (map[string]*Array, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("%s: not a .npz (zip) archive: %w", path, err)
	}
	defer zr.Close()
	out := make(map[string]*Array, len(zr.File))
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			return nil, fmt.Errorf("%s: member %s: %w", path, zf.Name, err)
		}
		a, err := Decode(bufio.NewReaderSize(rc, 1<<20))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: member %s: %w", path, zf.Name, err)
		}
		out[strings.TrimSuffix(zf.Name, ".npy")] = a
	}
	return out, nil
}

// Decode reads one array in .npy format from r.
func Decode(r io.Reader) (*Array, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, fmt.Errorf("not a .npy file: too short for the magic string: %w", err)
	}
	if !bytes.Equal(pre[:6], magic) {
		return nil, errors.New("not a .npy file: missing the \\x93NUMPY magic string")
	}
	var hlen int
	switch pre[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("truncated header length: %w", err)
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("truncated header length: %w", err)
		}
		hlen = int(binary.LittleEndian.Uint32(b[:]))
	default:
		return nil, fmt.Errorf("unsupported .npy format version %d.%d", pre[6], pre[7])
	}
	if hlen > maxHeader {
		return nil, fmt.Errorf("header length %d is implausibly large", hlen)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, fmt.Errorf("truncated header: %w", err)
	}
	descr, fortran, shape, err := parseHeader(string(hdr))
	if err != nil {
		return nil, err
	}
	kind, size, order, err := parseDescr(descr)
	if err != nil {
		return nil, err
	}
	n := 1
	for _, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("negative dimension in shape %s", ShapeString(shape))
		}
		if d > 0 && n > maxElements/d {
			return nil, fmt.Errorf("shape %s has too many elements", ShapeString(shape))
		}
		n *= d
	}
	a := &Array{Shape: shape, Kind: kind}
	if err := readData(r, a, n, size, order); err != nil {
		return nil, fmt.Errorf("data of shape %s dtype %s: %w", ShapeString(shape), descr, err)
	}
	if fortran && len(shape) > 1 {
		toCOrder(a)
	}
	return a, nil
}

// parseHeader reads the Python dict literal of a .npy header.
func parseHeader(h string) (descr string, fortran bool, shape []int, err error) {
	h = strings.TrimSpace(h)
	if !strings.HasPrefix(h, "{") || !strings.HasSuffix(h, "}") {
		return "", false, nil, fmt.Errorf("malformed header %q", h)
	}
	get := func(key string) (string, bool) {
		i := strings.Index(h, "'"+key+"'")
		if i < 0 {
			i = strings.Index(h, "\""+key+"\"")
		}
		if i < 0 {
			return "", false
		}
		rest := strings.TrimSpace(h[i+len(key)+2:])
		if !strings.HasPrefix(rest, ":") {
			return "", false
		}
		return strings.TrimSpace(rest[1:]), true
	}
	v, ok := get("descr")
	if !ok || len(v) < 2 || (v[0] != '\'' && v[0] != '"') {
		return "", false, nil, fmt.Errorf("header has no string 'descr' (structured dtypes are not supported): %q", h)
	}
	end := strings.IndexByte(v[1:], v[0])
	if end < 0 {
		return "", false, nil, fmt.Errorf("malformed descr in header %q", h)
	}
	descr = v[1 : 1+end]
	v, ok = get("fortran_order")
	switch {
	case !ok:
		return "", false, nil, fmt.Errorf("header has no 'fortran_order': %q", h)
	case strings.HasPrefix(v, "True"):
		fortran = true
	case strings.HasPrefix(v, "False"):
	default:
		return "", false, nil, fmt.Errorf("malformed fortran_order in header %q", h)
	}
	v, ok = get("shape")
	if !ok || !strings.HasPrefix(v, "(") {
		return "", false, nil, fmt.Errorf("header has no tuple 'shape': %q", h)
	}
	end = strings.IndexByte(v, ')')
	if end < 0 {
		return "", false, nil, fmt.Errorf("malformed shape in header %q", h)
	}
	shape = []int{}
	for _, f := range strings.Split(v[1:end], ",") {
		f = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(f), "L"))
		if f == "" {
			continue
		}
		d, err := strconv.Atoi(f)
		if err != nil {
			return "", false, nil, fmt.Errorf("malformed shape %q in header", v[:end+1])
		}
		shape = append(shape, d)
	}
	return descr, fortran, shape, nil
}

func parseDescr(d string) (Kind, int, binary.ByteOrder, error) {
	if len(d) < 2 {
		return 0, 0, nil, fmt.Errorf("unsupported dtype %q", d)
	}
	var order binary.ByteOrder = binary.LittleEndian
	switch d[0] {
	case '<', '|', '=':
	case '>':
		order = binary.BigEndian
	default:
		d = "<" + d
	}
	switch d[1:] {
	case "f8":
		return Float64, 8, order, nil
	case "f4":
		return Float32, 4, order, nil
	case "b1", "?":
		return Bool, 1, order, nil
	case "u1":
		return Uint8, 1, order, nil
	case "i1":
		return Int8, 1, order, nil
	case "i2":
		return Int16, 2, order, nil
	case "i4":
		return Int32, 4, order, nil
	case "i8":
		return Int64, 8, order, nil
	}
	return 0, 0, nil, fmt.Errorf("unsupported dtype %q (want float64, float32, bool, uint8 or a signed integer)", d)
}

func readData(r io.Reader, a *Array, n, size int, order binary.ByteOrder) error {
	// Read in chunks so that a header that declares more data than the file holds fails on the
	// short read instead of allocating the declared size up front.
	const chunk = 1 << 20
	buf := make([]byte, 0, min(n*size, chunk))
	switch a.Kind {
	case Float64:
		a.F64 = make([]float64, 0, min(n, chunk))
	case Float32:
		a.F32 = make([]float32, 0, min(n, chunk))
	case Bool:
		a.B = make([]bool, 0, min(n, chunk))
	default:
		a.I64 = make([]int64, 0, min(n, chunk))
	}
	for done := 0; done < n; {
		m := min(n-done, chunk/size)
		buf = buf[:m*size]
		if _, err := io.ReadFull(r, buf); err != nil {
			return fmt.Errorf("truncated: expected %d elements, got fewer than %d: %w", n, done+m, err)
		}
		for i := 0; i < m; i++ {
			b := buf[i*size : (i+1)*size]
			switch a.Kind {
			case Float64:
				a.F64 = append(a.F64, math.Float64frombits(order.Uint64(b)))
			case Float32:
				a.F32 = append(a.F32, math.Float32frombits(order.Uint32(b)))
			case Bool:
				if b[0] > 1 {
					return fmt.Errorf("element %d: bool byte is %d, not 0 or 1", done+i, b[0])
				}
				a.B = append(a.B, b[0] == 1)
			case Uint8:
				a.I64 = append(a.I64, int64(b[0]))
			case Int8:
				a.I64 = append(a.I64, int64(int8(b[0])))
			case Int16:
				a.I64 = append(a.I64, int64(int16(order.Uint16(b))))
			case Int32:
				a.I64 = append(a.I64, int64(int32(order.Uint32(b))))
			case Int64:
				a.I64 = append(a.I64, int64(order.Uint64(b)))
			}
		}
		done += m
	}
	return nil
}

// toCOrder rearranges an array read in Fortran (column-major) order into C order.
func toCOrder(a *Array) {
	n := a.Len()
	nd := len(a.Shape)
	// perm[c] = index in Fortran storage of the element at C-order position c.
	perm := make([]int, n)
	idx := make([]int, nd)
	fstride := make([]int, nd)
	s := 1
	for d := 0; d < nd; d++ {
		fstride[d] = s
		s *= a.Shape[d]
	}
	for c := 0; c < n; c++ {
		f := 0
		for d := 0; d < nd; d++ {
			f += idx[d] * fstride[d]
		}
		perm[c] = f
		for d := nd - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < a.Shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	switch a.Kind {
	case Float64:
		a.F64 = permute(a.F64, perm)
	case Float32:
		a.F32 = permute(a.F32, perm)
	case Bool:
		a.B = permute(a.B, perm)
	default:
		a.I64 = permute(a.I64, perm)
	}
}

func permute[T any](src []T, perm []int) []T {
	out := make([]T, len(src))
	for c, f := range perm {
		out[c] = src[f]
	}
	return out
}

// Encode writes a in .npy format 1.0 (2.0 if the header needs it), little endian, C order.
func Encode(w io.Writer, a *Array) error {
	if a.Len() != a.dataLen() {
		return fmt.Errorf("npy: %d elements do not fill shape %s", a.dataLen(), ShapeString(a.Shape))
	}
	var descr string
	switch a.Kind {
	case Float64:
		descr = "<f8"
	case Float32:
		descr = "<f4"
	case Bool:
		descr = "|b1"
	case Int64:
		descr = "<i8"
	default:
		return fmt.Errorf("npy: writing kind %v is not supported (use Int64)", a.Kind)
	}
	hdr := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, ShapeString(a.Shape))
	version, lenSize := byte(1), 2
	if len(hdr)+12 > 65535 {
		version, lenSize = 2, 4
	}
	pre := len(magic) + 2 + lenSize
	hdr += strings.Repeat(" ", (64-(pre+len(hdr)+1)%64)%64) + "\n"
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.Write(magic)
	bw.Write([]byte{version, 0})
	if lenSize == 2 {
		binary.Write(bw, binary.LittleEndian, uint16(len(hdr)))
	} else {
		binary.Write(bw, binary.LittleEndian, uint32(len(hdr)))
	}
	bw.WriteString(hdr)
	var b [8]byte
	switch a.Kind {
	case Float64:
		for _, v := range a.F64 {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
			bw.Write(b[:8])
		}
	case Float32:
		for _, v := range a.F32 {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			bw.Write(b[:4])
		}
	case Bool:
		for _, v := range a.B {
			if v {
				bw.WriteByte(1)
			} else {
				bw.WriteByte(0)
			}
		}
	case Int64:
		for _, v := range a.I64 {
			binary.LittleEndian.PutUint64(b[:], uint64(v))
			bw.Write(b[:8])
		}
	}
	return bw.Flush()
}

func (a *Array) dataLen() int {
	switch a.Kind {
	case Float64:
		return len(a.F64)
	case Float32:
		return len(a.F32)
	case Bool:
		return len(a.B)
	default:
		return len(a.I64)
	}
}

// WriteFile writes a to path atomically (a temporary file in the same directory, then a rename).
func WriteFile(path string, a *Array) error {
	return WriteAtomic(path, func(w io.Writer) error { return Encode(w, a) })
}

// WriteAtomic creates path by calling write on a temporary file in the same directory and renaming it
// into place once write and the file's sync and close have succeeded. On any error the temporary file is
// removed and path is left as it was.
func WriteAtomic(path string, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	// CreateTemp makes the file private (0600); give it the permissions a plain create would.
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
