package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Protocol-buffer wire types (https://protobuf.dev/programming-guides/encoding/).
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

var errTruncated = errors.New("truncated message")

// wire reads protocol-buffer fields from a byte slice. Every read is bounds-checked; byte fields are
// returned as sub-slices of the input (no copy).
type wire struct {
	b   []byte
	off int
}

// done reports whether every byte has been read.
func (w *wire) done() bool { return w.off >= len(w.b) }

// varint reads a base-128 varint of at most 10 bytes.
func (w *wire) varint() (uint64, error) {
	var v uint64
	for i := 0; i < 10; i++ {
		if w.off >= len(w.b) {
			return 0, errTruncated
		}
		c := w.b[w.off]
		w.off++
		if i == 9 && c > 1 {
			return 0, errors.New("varint overflows 64 bits")
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, nil
		}
	}
	return 0, errors.New("varint longer than 10 bytes")
}

// key reads a field key: the field number and the wire type.
func (w *wire) key() (field int, typ int, err error) {
	k, err := w.varint()
	if err != nil {
		return 0, 0, err
	}
	field, typ = int(k>>3), int(k&7)
	if field <= 0 || k>>3 > math.MaxInt32 {
		return 0, 0, fmt.Errorf("invalid field number %d", k>>3)
	}
	return field, typ, nil
}

// bytes reads a length-delimited field.
func (w *wire) bytes() ([]byte, error) {
	n, err := w.varint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(w.b)-w.off) {
		return nil, fmt.Errorf("length %d exceeds the %d bytes left: %w", n, len(w.b)-w.off, errTruncated)
	}
	b := w.b[w.off : w.off+int(n)]
	w.off += int(n)
	return b, nil
}

func (w *wire) fixed32() (uint32, error) {
	if len(w.b)-w.off < 4 {
		return 0, errTruncated
	}
	v := binary.LittleEndian.Uint32(w.b[w.off:])
	w.off += 4
	return v, nil
}

func (w *wire) fixed64() (uint64, error) {
	if len(w.b)-w.off < 8 {
		return 0, errTruncated
	}
	v := binary.LittleEndian.Uint64(w.b[w.off:])
	w.off += 8
	return v, nil
}

// skip skips a field of wire type typ. Groups (deprecated, never used by ONNX) are rejected.
func (w *wire) skip(typ int) error {
	var err error
	switch typ {
	case wireVarint:
		_, err = w.varint()
	case wireFixed64:
		_, err = w.fixed64()
	case wireBytes:
		_, err = w.bytes()
	case wireFixed32:
		_, err = w.fixed32()
	default:
		err = fmt.Errorf("unsupported wire type %d", typ)
	}
	return err
}

// wantType checks that a known field has the expected wire type.
func wantType(field, typ, want int) error {
	if typ != want {
		return fmt.Errorf("field %d: wire type %d, want %d", field, typ, want)
	}
	return nil
}

// str reads a length-delimited field as a string (copied).
func (w *wire) str(field, typ int) (string, error) {
	if err := wantType(field, typ, wireBytes); err != nil {
		return "", err
	}
	b, err := w.bytes()
	return string(b), err
}

// int64v reads a varint field as int64 (two's complement, as protobuf's int64 and int32 types).
func (w *wire) int64v(field, typ int) (int64, error) {
	if err := wantType(field, typ, wireVarint); err != nil {
		return 0, err
	}
	v, err := w.varint()
	return int64(v), err
}

// float32v reads a fixed32 field as float32.
func (w *wire) float32v(field, typ int) (float32, error) {
	if err := wantType(field, typ, wireFixed32); err != nil {
		return 0, err
	}
	v, err := w.fixed32()
	return math.Float32frombits(v), err
}

// appendInt64s reads a repeated varint field, packed or not, appending to dst. The packed form
// allocates at most one element per byte of input.
func (w *wire) appendInt64s(dst []int64, field, typ int) ([]int64, error) {
	if typ == wireVarint {
		v, err := w.varint()
		return append(dst, int64(v)), err
	}
	if err := wantType(field, typ, wireBytes); err != nil {
		return dst, err
	}
	b, err := w.bytes()
	if err != nil {
		return dst, err
	}
	p := wire{b: b}
	for !p.done() {
		v, err := p.varint()
		if err != nil {
			return dst, fmt.Errorf("field %d: packed varint: %w", field, err)
		}
		dst = append(dst, int64(v))
	}
	return dst, nil
}

// appendFloat32s reads a repeated fixed32 field, packed or not, appending to dst.
func (w *wire) appendFloat32s(dst []float32, field, typ int) ([]float32, error) {
	if typ == wireFixed32 {
		v, err := w.fixed32()
		return append(dst, math.Float32frombits(v)), err
	}
	if err := wantType(field, typ, wireBytes); err != nil {
		return dst, err
	}
	b, err := w.bytes()
	if err != nil {
		return dst, err
	}
	if len(b)%4 != 0 {
		return dst, fmt.Errorf("field %d: packed floats: %d bytes is not a multiple of 4", field, len(b))
	}
	for i := 0; i < len(b); i += 4 {
		dst = append(dst, math.Float32frombits(binary.LittleEndian.Uint32(b[i:])))
	}
	return dst, nil
}

// appendFloat64s reads a repeated fixed64 field, packed or not, appending to dst.
func (w *wire) appendFloat64s(dst []float64, field, typ int) ([]float64, error) {
	if typ == wireFixed64 {
		v, err := w.fixed64()
		return append(dst, math.Float64frombits(v)), err
	}
	if err := wantType(field, typ, wireBytes); err != nil {
		return dst, err
	}
	b, err := w.bytes()
	if err != nil {
		return dst, err
	}
	if len(b)%8 != 0 {
		return dst, fmt.Errorf("field %d: packed doubles: %d bytes is not a multiple of 8", field, len(b))
	}
	for i := 0; i < len(b); i += 8 {
		dst = append(dst, math.Float64frombits(binary.LittleEndian.Uint64(b[i:])))
	}
	return dst, nil
}
