package dataset

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path/filepath"
)

// IDX is an unsigned-byte array in LeCun's IDX format (MNIST, Fashion-MNIST, EMNIST): Dims[0] items,
// each of shape Dims[1:], stored row-major in Data.
type IDX struct {
	Dims []int
	Data []byte
}

// idxUbyte is the IDX type code of unsigned bytes, the only element type the MNIST family uses.
const idxUbyte = 0x08

// maxIDXElements bounds the element count a header may declare (2^36, 64 GiB).
const maxIDXElements = 1 << 36

// DecodeIDX reads one IDX array of unsigned bytes: the magic number 0x0000 08 nd (big endian), nd
// dimension sizes as big-endian uint32, then the data. Any other element type is an error, as is data
// shorter than the header declares.
func DecodeIDX(r io.Reader) (*IDX, error) {
	var magic [4]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return nil, fmt.Errorf("too short for the IDX magic number: %w", err)
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fmt.Errorf("not an IDX file: magic number %#08x does not start with two zero bytes", binary.BigEndian.Uint32(magic[:]))
	}
	if magic[2] != idxUbyte {
		return nil, fmt.Errorf("IDX element type %#02x is not supported (want %#02x, unsigned byte)", magic[2], idxUbyte)
	}
	nd := int(magic[3])
	if nd == 0 {
		return nil, errors.New("IDX array has zero dimensions")
	}
	hdr := make([]byte, 4*nd)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, fmt.Errorf("truncated IDX header (%d dimensions): %w", nd, err)
	}
	dims := make([]int, nd)
	total := 1
	for i := range dims {
		dims[i] = int(binary.BigEndian.Uint32(hdr[4*i:]))
		if dims[i] == 0 && i > 0 {
			return nil, fmt.Errorf("IDX dimension %d is zero", i)
		}
		if dims[i] > 0 && total > maxIDXElements/dims[i] {
			return nil, fmt.Errorf("IDX header declares dimensions %v, more than %d elements", dims[:i+1], maxIDXElements)
		}
		total *= dims[i]
	}
	data, err := readN(r, total)
	if err != nil {
		item := 1
		for _, d := range dims[1:] {
			item *= d
		}
		return nil, fmt.Errorf("truncated IDX data: item %d of %d is incomplete (%d of %d bytes present): %w", len(data)/item, dims[0], len(data), total, err)
	}
	return &IDX{Dims: dims, Data: data}, nil
}

// EncodeIDX writes a as an unsigned-byte IDX array.
func EncodeIDX(w io.Writer, a *IDX) error {
	if len(a.Dims) == 0 || len(a.Dims) > 255 {
		return fmt.Errorf("IDX: %d dimensions, want 1 to 255", len(a.Dims))
	}
	total := 1
	hdr := []byte{0, 0, idxUbyte, byte(len(a.Dims))}
	for _, d := range a.Dims {
		if d < 0 || d > 1<<32-1 {
			return fmt.Errorf("IDX: dimension %d out of range", d)
		}
		total *= d
		hdr = binary.BigEndian.AppendUint32(hdr, uint32(d))
	}
	if total != len(a.Data) {
		return fmt.Errorf("IDX: %d bytes of data for dimensions %v (%d elements)", len(a.Data), a.Dims, total)
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	_, err := w.Write(a.Data)
	return err
}

// ReadIDXFile reads an IDX file, gzipped or not. Errors name the file.
func ReadIDXFile(name string) (*IDX, error) {
	s, err := openSource(name)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	a, err := DecodeIDX(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return a, nil
}

// LoadIDX reads an image file (3-D: N × H × W, or 4-D: N × C × H × W) and a label file (1-D: N) in IDX
// format, gzipped or not, as MNIST and Fashion-MNIST distribute them. Pixels are scaled to [0, 1]
// (x / 255, as torchvision's ToTensor does); Shape is [1, H, W] for 3-D files. Classes is the largest
// label plus one (10 for the MNIST family); callers that know better may set it. Errors name the file,
// and the item where data ends early.
func LoadIDX(imagesPath, labelsPath string) (*Dataset, error) {
	img, err := ReadIDXFile(imagesPath)
	if err != nil {
		return nil, err
	}
	lab, err := ReadIDXFile(labelsPath)
	if err != nil {
		return nil, err
	}
	return FromIDX(img, lab, filepath.Base(imagesPath), imagesPath, labelsPath)
}

// FromIDX builds a dataset from decoded IDX image and label arrays (see LoadIDX). imagesName and
// labelsName identify the sources in errors; name becomes the dataset's Name.
func FromIDX(img, lab *IDX, name, imagesName, labelsName string) (*Dataset, error) {
	var shape []int
	switch len(img.Dims) {
	case 3:
		shape = []int{1, img.Dims[1], img.Dims[2]}
	case 4:
		shape = append([]int(nil), img.Dims[1:]...)
	default:
		return nil, fmt.Errorf("%s: images have %d dimensions %v, want 3 (N × H × W) or 4 (N × C × H × W)", imagesName, len(img.Dims), img.Dims)
	}
	if len(lab.Dims) != 1 {
		return nil, fmt.Errorf("%s: labels have %d dimensions %v, want 1", labelsName, len(lab.Dims), lab.Dims)
	}
	if img.Dims[0] != lab.Dims[0] {
		return nil, fmt.Errorf("%s has %d images but %s has %d labels", imagesName, img.Dims[0], labelsName, lab.Dims[0])
	}
	if img.Dims[0] == 0 {
		return nil, fmt.Errorf("%s: no images (dimensions %v)", imagesName, img.Dims)
	}
	d := &Dataset{
		Name:  name,
		X:     make([]float32, len(img.Data)),
		Y:     make([]int, len(lab.Data)),
		Shape: shape,
	}
	for i, b := range img.Data {
		d.X[i] = float32(b) / 255
	}
	for i, b := range lab.Data {
		d.Y[i] = int(b)
	}
	d.Classes = classesFromLabels(d.Y)
	return d, nil
}
