// Command gen writes the data files of package embedded from the full data sets, so that the embedded
// subset can be reproduced and checked:
//
//	go run ./dataset/embedded/gen [-src ../shared/data] [-out dataset/embedded/data] [-train 6000] [-test 1000]
//
// run from the repository root. It reads fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
// and adult/adult.{data,test} under -src, keeps the first -train training and the first -test test
// images of Fashion-MNIST (file order; the files are already shuffled, so the subset is close to
// class-balanced), re-encodes them as IDX, and gzips everything (best compression, no file name or
// time in the gzip header, so the output depends only on the input and the Go release). The Adult files
// are copied byte for byte. It prints the SHA-256 of every input and output.
package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/pmeter/pmeter/dataset"
	"github.com/pmeter/pmeter/npy"
)

func main() {
	src := flag.String("src", filepath.Join("..", "shared", "data"), "directory holding fashion-mnist/ and adult/")
	out := flag.String("out", filepath.Join("dataset", "embedded", "data"), "output directory")
	train := flag.Int("train", 6000, "Fashion-MNIST training images to keep")
	test := flag.Int("test", 1000, "Fashion-MNIST test images to keep")
	flag.Parse()
	if err := run(*src, *out, *train, *test); err != nil {
		log.Fatal(err)
	}
}

func run(src, out string, train, test int) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, part := range []struct {
		name string
		n    int
	}{{"train", train}, {"t10k", test}} {
		for _, kind := range []string{"images-idx3", "labels-idx1"} {
			file := fmt.Sprintf("%s-%s-ubyte.gz", part.name, kind)
			in := filepath.Join(src, "fashion-mnist", file)
			a, err := dataset.ReadIDXFile(in)
			if err != nil {
				return err
			}
			if part.n > a.Dims[0] {
				return fmt.Errorf("%s: %d items, asked for %d", in, a.Dims[0], part.n)
			}
			item := len(a.Data) / a.Dims[0]
			sub := &dataset.IDX{Dims: append([]int{part.n}, a.Dims[1:]...), Data: a.Data[:part.n*item]}
			var raw bytes.Buffer
			if err := dataset.EncodeIDX(&raw, sub); err != nil {
				return err
			}
			if err := writeGzip(filepath.Join(out, "fashion-mnist-"+file), raw.Bytes(), in); err != nil {
				return err
			}
		}
	}
	for _, file := range []string{"adult.data", "adult.test"} {
		in := filepath.Join(src, "adult", file)
		raw, err := os.ReadFile(in)
		if err != nil {
			return err
		}
		if err := writeGzip(filepath.Join(out, file+".gz"), raw, in); err != nil {
			return err
		}
	}
	return nil
}

func writeGzip(path string, raw []byte, from string) error {
	if s, err := fileSum(from); err == nil {
		fmt.Printf("in   %s  %s\n", s, from)
	}
	err := npy.WriteAtomic(path, func(w io.Writer) error {
		zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
		if err != nil {
			return err
		}
		if _, err := zw.Write(raw); err != nil {
			return err
		}
		return zw.Close()
	})
	if err != nil {
		return err
	}
	if err := os.Chmod(path, 0o644); err != nil {
		return err
	}
	s, err := fileSum(path)
	if err != nil {
		return err
	}
	fmt.Printf("out  %s  %s  (content %x, %d bytes)\n", s, path, sha256.Sum256(raw), len(raw))
	return nil
}

func fileSum(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%x", sha256.Sum256(b)), nil
}
