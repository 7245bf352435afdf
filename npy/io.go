package npy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

var magic = []byte("\x93NUMPY")

// maxHeader bounds the header length we accept, so a corrupt file cannot make us allocate gigabytes.
const maxHeader = 1 << 20

// maxElements bounds the number of elements a header may declare (2^40), for the same reason.
const maxElements = 1 << 40

// chunkBytes is the size of the buffer data are read through.
const chunkBytes = 1 << 20

// Header is what a .npy header declares about its array, known before any data is read.
type Header struct {
	Shape   []int
	Kind    Kind
	Fortran bool   // the data are stored in Fortran (column-major) order
	Descr   string // the dtype as written, e.g. "<f8"
	// Size is the number of bytes before the data: magic string, version, length and header text.
	Size int64

	elemSize int
	order    binary.ByteOrder
}

// Len returns the number of elements, the product of Shape.
func (h *Header) Len() int {
	n := 1
	for _, d := range h.Shape {
		n *= d
	}
	return n
}

// DataSize returns the number of bytes of data that follow the header.
func (h *Header) DataSize() int64 { return int64(h.Len()) * int64(h.elemSize) }

// ReadOptions change how an array is read. The zero value reads it as it is stored.
type ReadOptions struct {
	// Float64 converts every element to float64 (true is 1) as it is read, so that a float32 or integer
	// array needs no second copy; the result's Kind is Float64.
	Float64 bool
	// Axes, when not nil, permutes the array's axes as numpy.transpose(a, Axes) does: axis i of the
	// result is axis Axes[i] of the stored array. Each element is placed as it is read, so the
	// permutation needs no second copy.
	Axes []int
}

// ReadFile reads one .npy file into buffers of exactly the array's size. Errors name the file.
func ReadFile(path string) (*Array, error) { return ReadFileWith(path, ReadOptions{}) }

// ReadFileWith is ReadFile with options.
func ReadFileWith(path string, opt ReadOptions) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(f, chunkBytes)
	h, err := ReadHeader(br)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	avail := int64(-1) // unknown for a pipe or device: the buffers grow as the data arrive
	if st.Mode().IsRegular() {
		avail = st.Size() - h.Size
	}
	a, err := h.readData(br, avail, opt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// ReadFileHeader reads the header of a .npy file, and checks that the file is long enough for the data
// it declares, without reading them.
func ReadFileHeader(path string) (*Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	h, err := ReadHeader(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if avail := st.Size() - h.Size; st.Mode().IsRegular() && h.DataSize() > avail {
		return nil, fmt.Errorf("%s: data of shape %s dtype %s: %w", path, ShapeString(h.Shape), h.Descr, h.truncated(avail))
	}
	return h, nil
}

// Decode reads one array in .npy format from r. When r reports how many bytes it holds (a Len method,
// as bytes.Reader has), the data are checked against that before anything is allocated and read into
// buffers of exactly the array's size; otherwise the buffers grow as the data arrive, so that a header
// that declares more data than r holds fails on the short read instead of allocating the declared size.
func Decode(r io.Reader) (*Array, error) {
	h, err := ReadHeader(r)
	if err != nil {
		return nil, err
	}
	avail := int64(-1)
	if l, ok := r.(interface{ Len() int }); ok {
		avail = int64(l.Len())
	}
	return h.readData(r, avail, ReadOptions{})
}

// ReadHeader reads the header of a .npy array from r, leaving r at the first byte of the data.
func ReadHeader(r io.Reader) (*Header, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, fmt.Errorf("not a .npy file: too short for the magic string: %w", err)
	}
	if !bytes.Equal(pre[:6], magic) {
		return nil, errors.New("not a .npy file: missing the \\x93NUMPY magic string")
	}
	var hlen int
	size := int64(len(pre))
	switch pre[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("truncated header length: %w", err)
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
		size += 2
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("truncated header length: %w", err)
		}
		hlen = int(binary.LittleEndian.Uint32(b[:]))
		size += 4
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
	kind, elemSize, order, err := parseDescr(descr)
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
	return &Header{Shape: shape, Kind: kind, Fortran: fortran, Descr: descr, Size: size + int64(hlen), elemSize: elemSize, order: order}, nil
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

func (h *Header) truncated(avail int64) error {
	return fmt.Errorf("truncated: expected %d elements (%d bytes of data), but only %d bytes follow the header", h.Len(), h.DataSize(), max(avail, 0))
}

// readData reads the data that follow h from r. avail is the number of bytes r holds, or -1 when
// unknown: when known, the data are checked against it first and read into buffers of exactly the
// array's size, each element placed where opt and the storage order put it; otherwise the buffers grow
// as the data arrive, and a Fortran-order or permuted array is rearranged once it is complete.
func (h *Header) readData(r io.Reader, avail int64, opt ReadOptions) (*Array, error) {
	a, err := h.readElems(r, avail, opt)
	if err != nil {
		return nil, fmt.Errorf("data of shape %s dtype %s: %w", ShapeString(h.Shape), h.Descr, err)
	}
	return a, nil
}

func (h *Header) readElems(r io.Reader, avail int64, opt ReadOptions) (*Array, error) {
	n, size := h.Len(), h.elemSize
	lay, err := h.layout(opt.Axes)
	if err != nil {
		return nil, err
	}
	if avail >= 0 && h.DataSize() > avail {
		return nil, h.truncated(avail)
	}
	kind := h.Kind
	if opt.Float64 {
		kind = Float64
	}
	a := &Array{Shape: lay.shape, Kind: kind}
	var tmp *Array // one chunk of decoded elements, scattered into a
	chunk := chunkBytes / size
	switch {
	case avail < 0:
		a.alloc(0)
	case lay.identity:
		a.alloc(n)
	default:
		a.alloc(n)
		chunk = chunkBytes / 8
		tmp = &Array{Kind: kind}
		tmp.alloc(min(n, chunk))
	}
	buf := make([]byte, min(n, chunk)*size)
	od := lay.odometer()
	for done := 0; done < n; {
		m := min(n-done, chunk)
		b := buf[:m*size]
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, fmt.Errorf("truncated: expected %d elements, got fewer than %d: %w", n, done+m, err)
		}
		var err error
		switch {
		case avail < 0:
			a.resize(done + m)
			err = h.decodeChunk(a, done, b, done)
		case tmp == nil:
			err = h.decodeChunk(a, done, b, done)
		default:
			if err = h.decodeChunk(tmp, 0, b, done); err == nil {
				a.scatter(tmp, m, od)
			}
		}
		if err != nil {
			return nil, err
		}
		done += m
	}
	if avail < 0 && !lay.identity {
		// Read in storage order into a growing buffer: rearrange it now that it is complete.
		out := &Array{Shape: lay.shape, Kind: kind}
		out.alloc(n)
		out.scatter(a, n, lay.odometer())
		a = out
	}
	return a, nil
}

// layout says where each element of an array goes as it is read in storage order: the result's
// shape, and the odometer that turns storage order into the result's C-order offsets.
type layout struct {
	shape    []int
	identity bool  // storage order is the result's C order
	dims     []int // the stored axes' sizes, in storage order (innermost last)
	strides  []int // the result's offset stride of each of those axes
}

func (h *Header) layout(axes []int) (*layout, error) {
	nd := len(h.Shape)
	if axes == nil {
		axes = make([]int, nd)
		for i := range axes {
			axes[i] = i
		}
	}
	if len(axes) != nd {
		return nil, fmt.Errorf("axes %v for an array of %d dimensions", axes, nd)
	}
	seen := make([]bool, nd)
	for _, ax := range axes {
		if ax < 0 || ax >= nd || seen[ax] {
			return nil, fmt.Errorf("axes %v are not a permutation of the %d dimensions", axes, nd)
		}
		seen[ax] = true
	}
	l := &layout{shape: make([]int, nd), identity: true, dims: make([]int, nd), strides: make([]int, nd)}
	// dst[ax]: the result's stride of stored axis ax.
	dst := make([]int, nd)
	stride := 1
	for i := nd - 1; i >= 0; i-- {
		l.shape[i] = h.Shape[axes[i]]
		dst[axes[i]] = stride
		stride *= l.shape[i]
	}
	// Storage order: the last axis varies fastest in C order, the first in Fortran order.
	stride = 1
	for k := nd - 1; k >= 0; k-- {
		ax := k
		if h.Fortran {
			ax = nd - 1 - k
		}
		l.dims[k], l.strides[k] = h.Shape[ax], dst[ax]
		if h.Shape[ax] > 1 && dst[ax] != stride {
			l.identity = false
		}
		stride *= h.Shape[ax]
	}
	return l, nil
}

// odometer counts through the stored elements, tracking each one's offset in the result.
type odometer struct {
	*layout
	idx []int
	off int
}

func (l *layout) odometer() *odometer { return &odometer{layout: l, idx: make([]int, len(l.dims))} }

func (o *odometer) next() {
	for k := len(o.dims) - 1; k >= 0; k-- {
		o.idx[k]++
		o.off += o.strides[k]
		if o.idx[k] < o.dims[k] {
			return
		}
		o.off -= o.strides[k] * o.dims[k]
		o.idx[k] = 0
	}
}

// scatter places the first m elements of src, the next ones in storage order, where od says.
func (a *Array) scatter(src *Array, m int, od *odometer) {
	switch a.Kind {
	case Float64:
		scatter(a.F64, src.F64[:m], od)
	case Float32:
		scatter(a.F32, src.F32[:m], od)
	case Bool:
		scatter(a.B, src.B[:m], od)
	default:
		scatter(a.I64, src.I64[:m], od)
	}
}

func scatter[T any](dst, src []T, od *odometer) {
	for _, v := range src {
		dst[od.off] = v
		od.next()
	}
}

// alloc gives a storage of exactly n elements of its kind.
func (a *Array) alloc(n int) {
	switch a.Kind {
	case Float64:
		a.F64 = make([]float64, n)
	case Float32:
		a.F32 = make([]float32, n)
	case Bool:
		a.B = make([]bool, n)
	default:
		a.I64 = make([]int64, n)
	}
}

// resize sets the length of a's storage to n, growing it (with append's amortisation) when needed.
func (a *Array) resize(n int) {
	switch a.Kind {
	case Float64:
		a.F64 = grow(a.F64, n)
	case Float32:
		a.F32 = grow(a.F32, n)
	case Bool:
		a.B = grow(a.B, n)
	default:
		a.I64 = grow(a.I64, n)
	}
}

func grow[T any](s []T, n int) []T {
	if n <= cap(s) {
		return s[:n]
	}
	return slices.Grow(s[:len(s):len(s)], n-len(s))[:n]
}

// decodeChunk decodes the elements in b (stored as h declares) into a's storage from index at on;
// first is the storage index of b's first element, for messages.
func (h *Header) decodeChunk(a *Array, at int, b []byte, first int) error {
	size, order, widen := h.elemSize, h.order, a.Kind == Float64 && h.Kind != Float64
	m := len(b) / size
	switch h.Kind {
	case Float64:
		dst := a.F64[at : at+m]
		for i := range dst {
			dst[i] = math.Float64frombits(order.Uint64(b[i*8:]))
		}
	case Float32:
		if widen {
			dst := a.F64[at : at+m]
			for i := range dst {
				dst[i] = float64(math.Float32frombits(order.Uint32(b[i*4:])))
			}
			return nil
		}
		dst := a.F32[at : at+m]
		for i := range dst {
			dst[i] = math.Float32frombits(order.Uint32(b[i*4:]))
		}
	case Bool:
		for i, c := range b {
			if c > 1 {
				return fmt.Errorf("element %d: bool byte is %d, not 0 or 1", first+i, c)
			}
		}
		if widen {
			dst := a.F64[at : at+m]
			for i := range dst {
				dst[i] = float64(b[i])
			}
			return nil
		}
		dst := a.B[at : at+m]
		for i := range dst {
			dst[i] = b[i] == 1
		}
	default:
		for i := 0; i < m; i++ {
			e := b[i*size : (i+1)*size]
			var v int64
			switch h.Kind {
			case Uint8:
				v = int64(e[0])
			case Int8:
				v = int64(int8(e[0]))
			case Int16:
				v = int64(int16(order.Uint16(e)))
			case Int32:
				v = int64(int32(order.Uint32(e)))
			case Int64:
				v = int64(order.Uint64(e))
			}
			if widen {
				a.F64[at+i] = float64(v)
			} else {
				a.I64[at+i] = v
			}
		}
	}
	return nil
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
