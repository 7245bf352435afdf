package dataset

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"strconv"
)

// ParseError reports a problem at one place in a text input. Line is 1-based (0 when the problem is
// not tied to a line), Field is the 1-based column (0 when the whole line is at fault) and Column the
// column's name when the file has a header.
type ParseError struct {
	File   string
	Line   int
	Field  int
	Column string
	Err    error
}

func (e *ParseError) Error() string {
	s := e.File
	if e.Line > 0 {
		s += fmt.Sprintf(": line %d", e.Line)
	}
	if e.Field > 0 {
		s += fmt.Sprintf(": field %d", e.Field)
		if e.Column != "" {
			s += fmt.Sprintf(" (%s)", e.Column)
		}
	}
	return s + ": " + e.Err.Error()
}

func (e *ParseError) Unwrap() error { return e.Err }

// maxChunk bounds one allocation while reading binary data whose length comes from a header, so that a
// corrupt header cannot make us allocate more than the file holds plus this much.
const maxChunk = 64 << 20

// readN reads exactly n bytes. The buffer grows as data arrives, by at most maxChunk beyond what was
// read, so a header that declares more data than the input holds fails without a huge allocation.
func readN(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, 0, min(n, maxChunk))
	for len(buf) < n {
		chunk := min(n-len(buf), maxChunk)
		if cap(buf)-len(buf) < chunk {
			nb := make([]byte, len(buf), min(n, max(2*cap(buf), len(buf)+chunk)))
			copy(nb, buf)
			buf = nb
		}
		k, err := io.ReadFull(r, buf[len(buf):len(buf)+chunk])
		buf = buf[:len(buf)+k]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return buf, err
		}
	}
	return buf, nil
}

var gzipMagic = []byte{0x1f, 0x8b}

// source is an opened input: a file, possibly gzip-compressed, read through a buffer.
type source struct {
	*bufio.Reader
	f  *os.File
	gz *gzip.Reader
}

func (s *source) Close() error {
	if s.gz != nil {
		s.gz.Close()
	}
	return s.f.Close()
}

// openSource opens path and, when it starts with the gzip magic bytes, decompresses it.
func openSource(name string) (*source, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	s := &source{f: f, Reader: bufio.NewReaderSize(f, 1<<20)}
	if head, _ := s.Peek(2); bytes.Equal(head, gzipMagic) {
		gz, err := gzip.NewReader(s.Reader)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: bad gzip header: %w", name, err)
		}
		s.gz = gz
		s.Reader = bufio.NewReaderSize(gz, 1<<20)
	}
	return s, nil
}

// isTar reports whether r (peeked, not consumed) starts with a POSIX tar header.
func isTar(r *bufio.Reader) bool {
	h, err := r.Peek(512)
	return err == nil && (bytes.HasPrefix(h[257:], []byte("ustar")))
}

// openMember opens path; if it is a (gzipped) tar archive, it returns a reader positioned at the first
// member accepted by match, and that member's name. Otherwise it returns the file itself and "".
func openMember(name string, match func(member string) bool) (io.Reader, string, io.Closer, error) {
	s, err := openSource(name)
	if err != nil {
		return nil, "", nil, err
	}
	if !isTar(s.Reader) {
		return s, "", s, nil
	}
	tr := tar.NewReader(s)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			s.Close()
			return nil, "", nil, fmt.Errorf("%s: reading tar archive: %w", name, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if match(h.Name) {
			return bufio.NewReaderSize(tr, 1<<20), h.Name, s, nil
		}
		names = append(names, h.Name)
	}
	s.Close()
	return nil, "", nil, fmt.Errorf("%s: archive has no expected member (it holds %q)", name, names)
}

func baseIs(names ...string) func(string) bool {
	return func(m string) bool {
		for _, n := range names {
			if path.Base(m) == n {
				return true
			}
		}
		return false
	}
}

// lineReader yields the lines of r without their line terminators ("\n" or "\r\n"), with 1-based line
// numbers. Lines of any length are supported.
type lineReader struct {
	r    *bufio.Reader
	line int
	buf  []byte
}

func newLineReader(r io.Reader) *lineReader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 1<<20)
	}
	return &lineReader{r: br}
}

// next returns the next line, io.EOF after the last one. The slice is valid until the next call.
func (l *lineReader) next() ([]byte, error) {
	b, err := l.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		l.buf = append(l.buf[:0], b...)
		for err == bufio.ErrBufferFull {
			b, err = l.r.ReadSlice('\n')
			l.buf = append(l.buf, b...)
		}
		b = l.buf
	}
	if err != nil && err != io.EOF {
		return nil, err
	}
	if err == io.EOF && len(b) == 0 {
		return nil, io.EOF
	}
	l.line++
	b = bytes.TrimSuffix(b, []byte{'\n'})
	b = bytes.TrimSuffix(b, []byte{'\r'})
	return b, nil
}

// trimField removes surrounding spaces and one pair of surrounding double quotes.
func trimField(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = bytes.TrimSpace(b[1 : len(b)-1])
	}
	return b
}

// parseInt parses a decimal integer (optional sign) without allocating.
func parseInt(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, errors.New("empty field")
	}
	neg := false
	s := b
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 18 {
		return 0, fmt.Errorf("%q is not an integer", b)
	}
	v := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not an integer", b)
		}
		v = v*10 + int(c-'0')
	}
	if neg {
		v = -v
	}
	return v, nil
}

// parseFloat parses a finite number; plain integers take a fast path that does not allocate.
func parseFloat(b []byte) (float64, error) {
	if len(b) == 0 {
		return 0, errors.New("empty field")
	}
	if v, err := parseInt(b); err == nil {
		return float64(v), nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", b)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a finite number", b)
	}
	return f, nil
}

// parseFeature parses a feature value: a finite number that float32, the type of features, holds
// (one beyond ±3.4e38 would become infinite).
func parseFeature(b []byte) (float32, error) {
	v, err := parseFloat(b)
	if err != nil {
		return 0, err
	}
	return toFloat32(v, func() string { return strconv.Quote(string(b)) })
}

// toFloat32 converts a finite value to a float32 feature; a value beyond float32's range is an error
// quoting it as text() does, not an infinite feature.
func toFloat32(v float64, text func() string) (float32, error) {
	f := float32(v)
	if math.IsInf(float64(f), 0) {
		return 0, fmt.Errorf("%s is beyond the range of a float32 feature (±%.7g)", text(), math.MaxFloat32)
	}
	return f, nil
}
