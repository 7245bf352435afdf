package dataset

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// CIFAR-10 class names, in label order.
var cifar10Classes = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

const cifarPixels = 3 * 32 * 32

// LoadCIFAR10 reads CIFAR-10 binary batches (data_batch_1.bin … data_batch_5.bin, test_batch.bin),
// concatenated in the order given. Each record is one label byte (0–9) followed by 3,072 pixel bytes:
// the 1,024 red, then green, then blue values of a 32 × 32 image, row-major, so the record shape is
// [3, 32, 32] (C × H × W). Pixels are scaled to [0, 1]. Errors name the file and record.
func LoadCIFAR10(paths ...string) (*Dataset, error) {
	d, err := loadCIFAR(paths, 1, 0, 10)
	if err != nil {
		return nil, err
	}
	d.Name = "cifar10:" + baseNames(paths)
	d.ClassNames = cifar10Classes
	return d, nil
}

// LoadCIFAR100 reads CIFAR-100 binary files (train.bin, test.bin). Each record is a coarse label byte
// (0–19), a fine label byte (0–99) and 3,072 pixel bytes laid out as in LoadCIFAR10. fine selects the
// 100 fine labels; otherwise the 20 coarse superclasses are used.
func LoadCIFAR100(fine bool, paths ...string) (*Dataset, error) {
	which, classes := 0, 20
	if fine {
		which, classes = 1, 100
	}
	d, err := loadCIFAR(paths, 2, which, classes)
	if err != nil {
		return nil, err
	}
	d.Name = "cifar100:" + baseNames(paths)
	return d, nil
}

func loadCIFAR(paths []string, labelBytes, which, classes int) (*Dataset, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("CIFAR: no files given")
	}
	rec := labelBytes + cifarPixels
	d := &Dataset{Shape: []int{3, 32, 32}, Classes: classes}
	// Reserve room for every record of the uncompressed files at once (sizes are checked later).
	n := 0
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && !strings.HasSuffix(p, ".gz") {
			n += int(st.Size()) / rec
		}
	}
	d.X = make([]float32, 0, n*cifarPixels)
	d.Y = make([]int, 0, n)
	buf := make([]byte, rec)
	for _, p := range paths {
		if err := readCIFARFile(p, d, buf, labelBytes, which, classes); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func readCIFARFile(name string, d *Dataset, buf []byte, labelBytes, which, classes int) error {
	s, err := openSource(name)
	if err != nil {
		return err
	}
	defer s.Close()
	if st, err := s.f.Stat(); err == nil && s.gz == nil {
		if st.Size()%int64(len(buf)) != 0 {
			return fmt.Errorf("%s: size %d bytes is not a whole number of %d-byte records (%d label byte(s) + 3072 pixels); the file is truncated or not in this format",
				name, st.Size(), len(buf), labelBytes)
		}
	}
	for i := 0; ; i++ {
		k, err := io.ReadFull(s, buf)
		if err == io.EOF && i == 0 {
			return fmt.Errorf("%s: no records (the file is empty)", name)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: record %d is truncated (%d of %d bytes): %w", name, i, k, len(buf), err)
		}
		y := int(buf[which])
		if y >= classes {
			return fmt.Errorf("%s: record %d: label %d outside [0, %d)", name, i, y, classes)
		}
		d.Y = append(d.Y, y)
		for _, b := range buf[labelBytes:] {
			d.X = append(d.X, float32(b)/255)
		}
	}
	return nil
}

func baseNames(paths []string) string {
	b := make([]string, len(paths))
	for i, p := range paths {
		b[i] = filepath.Base(p)
	}
	return strings.Join(b, ",")
}
