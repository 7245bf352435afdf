package dataset

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
)

// checkPageHeaders walks the page headers of every column chunk of pf (size bytes) before parquet-go
// reads them, refusing a file whose chunks lie outside it or whose headers declare more bytes than their
// chunk holds: parquet-go's Thrift decoder allocates the length a header's binary field declares (page
// statistics, up to 2 GiB) before reading it, so a few corrupt bytes could make a small file allocate
// gigabytes. The walk reads only the headers (Thrift compact protocol) and skips each page's data.
func checkPageHeaders(r io.ReaderAt, size int64, pf *parquet.File) error {
	br := bufio.NewReaderSize(nil, 512)
	for g, rg := range pf.Metadata().RowGroups {
		for c, ch := range rg.Columns {
			md := ch.MetaData
			base := md.DataPageOffset
			if md.DictionaryPageOffset != 0 {
				base = md.DictionaryPageOffset
			}
			end := base + md.TotalCompressedSize
			if base < 4 || md.TotalCompressedSize < 0 || end > size || end < base {
				return fmt.Errorf("corrupt Parquet file: row group %d, column chunk %d spans bytes %d to %d of a %d-byte file", g, c, base, end, size)
			}
			for pos := base; pos < end; {
				br.Reset(io.NewSectionReader(r, pos, end-pos))
				w := thriftWalk{r: br, left: end - pos}
				data, err := w.pageHeader()
				if err != nil {
					return fmt.Errorf("corrupt Parquet file: row group %d, column chunk %d: page header at byte %d: %w", g, c, pos, err)
				}
				used := end - pos - w.left
				if data < 0 || data > w.left {
					return fmt.Errorf("corrupt Parquet file: row group %d, column chunk %d: page at byte %d declares %d bytes of data, %d left in its chunk", g, c, pos, data, w.left)
				}
				pos += used + data
			}
		}
	}
	return nil
}

// thriftWalk reads a Thrift compact-protocol value from r without keeping it, within left bytes: every
// length and count it meets is checked against the bytes left, so nothing it reads can be larger than
// its input.
type thriftWalk struct {
	r     *bufio.Reader
	left  int64
	depth int
}

var errThriftTruncated = errors.New("truncated")

func (w *thriftWalk) byte() (byte, error) {
	if w.left <= 0 {
		return 0, errThriftTruncated
	}
	b, err := w.r.ReadByte()
	if err != nil {
		return 0, errThriftTruncated
	}
	w.left--
	return b, nil
}

func (w *thriftWalk) skip(n int64) error {
	if n < 0 || n > w.left {
		return fmt.Errorf("a field declares %d bytes, %d left in the chunk", n, w.left)
	}
	if _, err := w.r.Discard(int(n)); err != nil {
		return errThriftTruncated
	}
	w.left -= n
	return nil
}

func (w *thriftWalk) uvarint() (uint64, error) {
	var x uint64
	for s := uint(0); s < 64; s += 7 {
		b, err := w.byte()
		if err != nil {
			return 0, err
		}
		x |= uint64(b&0x7f) << s
		if b < 0x80 {
			return x, nil
		}
	}
	return 0, errors.New("varint longer than 10 bytes")
}

func (w *thriftWalk) varint() (int64, error) {
	u, err := w.uvarint()
	return int64(u>>1) ^ -int64(u&1), err
}

// pageHeader walks a PageHeader struct and returns its compressed_page_size (field 3), the bytes of
// page data that follow it.
func (w *thriftWalk) pageHeader() (int64, error) {
	data := int64(-1)
	err := w.fields(func(id int16, typ byte) (bool, error) {
		if id == 3 && typ == 5 { // compressed_page_size: i32
			v, err := w.varint()
			data = v
			return true, err
		}
		return false, nil
	})
	if err == nil && data < 0 {
		err = errors.New("no compressed page size")
	}
	return data, err
}

// fields walks a struct's fields up to its stop byte; own may read a field itself (returning true).
func (w *thriftWalk) fields(own func(id int16, typ byte) (bool, error)) error {
	if w.depth++; w.depth > 64 {
		return errors.New("nested more than 64 deep")
	}
	defer func() { w.depth-- }()
	var id int16
	for {
		h, err := w.byte()
		if err != nil {
			return err
		}
		typ := h & 0x0f
		if typ == 0 {
			return nil
		}
		if d := h >> 4; d != 0 {
			id += int16(d)
		} else {
			v, err := w.varint()
			if err != nil {
				return err
			}
			id = int16(v)
		}
		if own != nil {
			done, err := own(id, typ)
			if err != nil {
				return err
			}
			if done {
				continue
			}
		}
		if err := w.value(typ); err != nil {
			return err
		}
	}
}

// value skips one value of compact type typ.
func (w *thriftWalk) value(typ byte) error {
	switch typ {
	case 1, 2: // booleans, in the field header
		return nil
	case 3:
		_, err := w.byte()
		return err
	case 4, 5, 6:
		_, err := w.uvarint()
		return err
	case 7:
		return w.skip(8)
	case 8:
		n, err := w.uvarint()
		if err != nil {
			return err
		}
		if n > uint64(w.left) {
			return fmt.Errorf("a field declares %d bytes, %d left in the chunk", n, w.left)
		}
		return w.skip(int64(n))
	case 9, 10: // list, set
		h, err := w.byte()
		if err != nil {
			return err
		}
		n, elem := uint64(h>>4), h&0x0f
		if n == 15 {
			if n, err = w.uvarint(); err != nil {
				return err
			}
		}
		return w.elements(n, elem)
	case 11: // map
		n, err := w.uvarint()
		if err != nil || n == 0 {
			return err
		}
		kv, err := w.byte()
		if err != nil {
			return err
		}
		if n > uint64(w.left) {
			return fmt.Errorf("a map declares %d entries, %d bytes left in the chunk", n, w.left)
		}
		for range n {
			if err := w.element(kv >> 4); err != nil {
				return err
			}
			if err := w.element(kv & 0x0f); err != nil {
				return err
			}
		}
		return nil
	case 12:
		return w.fields(nil)
	case 13: // uuid
		return w.skip(16)
	}
	return fmt.Errorf("unknown Thrift type %d", typ)
}

// elements skips n list elements of type elem; each takes at least one byte.
func (w *thriftWalk) elements(n uint64, elem byte) error {
	if n > uint64(w.left) {
		return fmt.Errorf("a list declares %d elements, %d bytes left in the chunk", n, w.left)
	}
	for range n {
		if err := w.element(elem); err != nil {
			return err
		}
	}
	return nil
}

// element skips one list or map element: a boolean there is a byte of its own.
func (w *thriftWalk) element(typ byte) error {
	if typ == 1 || typ == 2 {
		_, err := w.byte()
		return err
	}
	return w.value(typ)
}
