package npy

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// NPZ is an open .npz archive (np.savez or np.savez_compressed) whose members' headers have been read
// and checked, so that their shapes are known before any data are read.
//
// A member is trusted no further than two independent declarations agree: the size of the array its
// .npy header describes must equal the uncompressed size the archive declares for it, and reading never
// goes past that size, so a small archive that expands to gigabytes is refused before anything large is
// allocated or decompressed.
type NPZ struct {
	path    string
	closer  io.Closer
	names   []string
	members map[string]*npzMember
}

type npzMember struct {
	file   *zip.File
	header *Header
}

// OpenNPZ opens the .npz archive at path and reads the header of every member. Keys are the member
// names without the ".npy" suffix. Errors name the file and the member.
func OpenNPZ(path string) (*NPZ, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("%s: not a .npz (zip) archive: %w", path, err)
	}
	z, err := newNPZ(path, &zr.Reader)
	if err != nil {
		zr.Close()
		return nil, err
	}
	z.closer = zr
	return z, nil
}

// NewNPZ reads a .npz archive of size bytes from r, as OpenNPZ does; name names it in errors.
func NewNPZ(r io.ReaderAt, size int64, name string) (*NPZ, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%s: not a .npz (zip) archive: %w", name, err)
	}
	return newNPZ(name, zr)
}

func newNPZ(path string, zr *zip.Reader) (*NPZ, error) {
	z := &NPZ{path: path, members: make(map[string]*npzMember, len(zr.File))}
	for _, zf := range zr.File {
		if strings.HasSuffix(zf.Name, "/") {
			continue // a directory entry holds no array
		}
		key := strings.TrimSuffix(zf.Name, ".npy")
		if _, dup := z.members[key]; dup {
			return nil, fmt.Errorf("%s: member %s appears twice", path, zf.Name)
		}
		h, err := memberHeader(zf)
		if err != nil {
			return nil, fmt.Errorf("%s: member %s: %w", path, zf.Name, err)
		}
		z.members[key] = &npzMember{file: zf, header: h}
		z.names = append(z.names, key)
	}
	slices.Sort(z.names)
	return z, nil
}

// maxMemberSize bounds the uncompressed size of a member: the longest header and the most elements of
// the widest kind.
const maxMemberSize = 12 + maxHeader + 8*maxElements

// memberHeader reads the .npy header of a member and checks it against the member's declared size.
func memberHeader(zf *zip.File) (*Header, error) {
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	declared := zf.UncompressedSize64
	if declared > maxMemberSize {
		return nil, fmt.Errorf("the archive declares %d bytes uncompressed, more than the %d an array may hold", declared, uint64(maxMemberSize))
	}
	h, err := ReadHeader(io.LimitReader(rc, int64(min(declared, maxHeader+64))))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("%w (the archive declares %d bytes uncompressed)", err, declared)
		}
		return nil, err
	}
	if want := uint64(h.Size) + uint64(h.DataSize()); want != declared {
		return nil, fmt.Errorf("its header declares shape %s dtype %s (%d bytes with the header), but the archive declares %d bytes uncompressed",
			ShapeString(h.Shape), h.Descr, want, declared)
	}
	return h, nil
}

// Names returns the keys of the members, sorted.
func (z *NPZ) Names() []string { return slices.Clone(z.names) }

// Header returns the header of member key, or nil when the archive has none.
func (z *NPZ) Header(key string) *Header {
	if m, ok := z.members[key]; ok {
		return m.header
	}
	return nil
}

// Read reads member key into buffers of exactly the array's size.
func (z *NPZ) Read(key string) (*Array, error) { return z.ReadWith(key, ReadOptions{}) }

// ReadWith is Read with options.
func (z *NPZ) ReadWith(key string, opt ReadOptions) (*Array, error) {
	m, ok := z.members[key]
	if !ok {
		return nil, fmt.Errorf("%s: no member %s.npy", z.path, key)
	}
	a, err := m.read(opt)
	if err != nil {
		return nil, fmt.Errorf("%s: member %s: %w", z.path, m.file.Name, err)
	}
	return a, nil
}

func (m *npzMember) read(opt ReadOptions) (*Array, error) {
	rc, err := m.file.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	declared := int64(m.file.UncompressedSize64)
	lr := &io.LimitedReader{R: rc, N: declared}
	h, err := ReadHeader(lr)
	if err != nil {
		return nil, err
	}
	if h.Size != m.header.Size || !slices.Equal(h.Shape, m.header.Shape) || h.Descr != m.header.Descr || h.Fortran != m.header.Fortran {
		return nil, errors.New("header changed since the archive was opened")
	}
	a, err := h.readData(lr, lr.N, opt)
	if err != nil {
		return nil, err
	}
	// The data end where both declarations say; reading on to the end of the member makes archive/zip
	// verify its checksum, and finds any data beyond the declared size.
	var one [1]byte
	switch n, err := io.ReadFull(rc, one[:]); {
	case n > 0 || errors.Is(err, zip.ErrFormat): // archive/zip refuses to read past the declared size
		return nil, fmt.Errorf("holds more than the %d bytes the archive declares", declared)
	case !errors.Is(err, io.EOF):
		return nil, err
	}
	return a, nil
}

// Close closes the archive's file.
func (z *NPZ) Close() error {
	if z.closer == nil {
		return nil
	}
	return z.closer.Close()
}

// ReadNPZ reads every array of a .npz archive (np.savez or np.savez_compressed). Keys are the member
// names without the ".npy" suffix.
func ReadNPZ(path string) (map[string]*Array, error) {
	z, err := OpenNPZ(path)
	if err != nil {
		return nil, err
	}
	defer z.Close()
	out := make(map[string]*Array, len(z.names))
	for _, key := range z.names {
		if out[key], err = z.Read(key); err != nil {
			return nil, err
		}
	}
	return out, nil
}
