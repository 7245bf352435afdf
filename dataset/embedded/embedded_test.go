package embedded

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/dataset"
)

// contentSHA256 are the SHA-256 of the decompressed embedded files, as listed in data/NOTICE (the
// Adult ones equal the UCI originals' published in ../shared/data/README.md).
var contentSHA256 = map[string]string{
	"fashion-mnist-train-images-idx3-ubyte.gz": "6dded81672539b5d148c1a85358069d1808c316dc6f6c0abfd12ba3ced5dd394",
	"fashion-mnist-train-labels-idx1-ubyte.gz": "d7c464914ae4b919728c5c99c3cdde5a0259febf1e99ddc6927a15768731d7dc",
	"fashion-mnist-t10k-images-idx3-ubyte.gz":  "7a6d8e07ea021ec5bc73135ebd0a5770799557ec6f8242d8749c4f32a3cf4643",
	"fashion-mnist-t10k-labels-idx1-ubyte.gz":  "b40abac7ec8228f434940f579deb7cf7b6e3103b5274cb91d1545771f5ef1c8b",
	"adult.data.gz": "5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d",
	"adult.test.gz": "a2a9044bc167a35b2361efbabec64e89d69ce82d9790d2980119aac5fd7e9c05",
}

func content(t *testing.T, name string) []byte {
	t.Helper()
	r, err := open("data/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFilesAndNotice(t *testing.T) {
	entries, err := files.ReadDir("data")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, e := range entries {
		info, _ := e.Info()
		total += int(info.Size())
		if e.Name() == "NOTICE" {
			continue
		}
		want, ok := contentSHA256[e.Name()]
		if !ok {
			t.Errorf("unexpected embedded file %s", e.Name())
			continue
		}
		if got := fmt.Sprintf("%x", sha256.Sum256(content(t, e.Name()))); got != want {
			t.Errorf("%s: content SHA-256 %s, want %s", e.Name(), got, want)
		}
		if !strings.Contains(Notice(), want) {
			t.Errorf("NOTICE does not list the SHA-256 of %s", e.Name())
		}
	}
	if len(entries) != len(contentSHA256)+1 {
		t.Errorf("%d embedded files, want %d", len(entries), len(contentSHA256)+1)
	}
	if total > 6<<20 {
		t.Errorf("embedded data is %d bytes, over 6 MiB", total)
	}
	for _, s := range []string{"MIT", "Zalando", "CC BY 4.0", "UCI"} {
		if !strings.Contains(Notice(), s) {
			t.Errorf("NOTICE lacks %q", s)
		}
	}
}

// TestFashionMNIST checks the decoded subset. The expected labels, class counts and first-image byte
// sums were computed with NumPy from ../shared/data/fashion-mnist (np.frombuffer on the decompressed
// files, first 6,000 train and 1,000 test items).
func TestFashionMNIST(t *testing.T) {
	d, err := FashionMNIST()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if d.Len() != 7000 || d.Dim() != 784 || d.Classes != 10 || d.Shape[0] != 1 || len(d.ClassNames) != 10 {
		t.Fatalf("%d × %d, %d classes, shape %v", d.Len(), d.Dim(), d.Classes, d.Shape)
	}
	train, test, err := FashionMNISTSplit()
	if err != nil {
		t.Fatal(err)
	}
	wantCounts := [][]int{
		{560, 643, 608, 612, 584, 594, 590, 617, 590, 602},
		{107, 105, 111, 93, 115, 87, 97, 95, 95, 95},
	}
	wantFirst := [][]int{{9, 0, 0, 3, 0, 2, 7, 2, 5, 5}, {9, 2, 1, 1, 6, 1, 4, 6, 5, 7}}
	wantSum := []float64{76247, 33456}
	for k, part := range []*dataset.Dataset{train, test} {
		c := part.ClassCounts()
		for j := range c {
			if c[j] != wantCounts[k][j] || part.Y[j] != wantFirst[k][j] {
				t.Fatalf("part %d: counts %v first labels %v", k, c, part.Y[:10])
			}
		}
		s := 0.0
		for _, v := range part.Row(0) {
			s += math.Round(float64(v) * 255)
		}
		if s != wantSum[k] {
			t.Errorf("part %d: first image sums to %v, want %v", k, s, wantSum[k])
		}
	}
	for i := range train.X {
		if d.X[i] != train.X[i] {
			t.Fatal("FashionMNIST does not start with the training part")
		}
	}
	if d.Y[6000] != test.Y[0] {
		t.Error("FashionMNIST does not continue with the test part")
	}
}

// TestFashionMNISTMatchesSource checks that the embedded subset is the first items of the full files
// in ../shared/data, when they are present (the generator's contract).
func TestFashionMNISTMatchesSource(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	dir := filepath.Join("..", "..", "..", "shared", "data", "fashion-mnist")
	for _, file := range []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} {
		src := filepath.Join(dir, file)
		if _, err := os.Stat(src); err != nil {
			t.Skipf("%s absent", src)
		}
		full, err := dataset.ReadIDXFile(src)
		if err != nil {
			t.Fatal(err)
		}
		sub, err := dataset.DecodeIDX(bytes.NewReader(content(t, "fashion-mnist-"+file)))
		if err != nil {
			t.Fatal(err)
		}
		if len(sub.Dims) != len(full.Dims) || !bytes.Equal(sub.Data, full.Data[:len(sub.Data)]) {
			t.Errorf("%s: embedded subset (dims %v) is not the start of the source (dims %v)", file, sub.Dims, full.Dims)
		}
	}
}

// TestAdult checks the embedded Adult files: record counts and ">50K" counts computed with plain
// Python from the UCI files (7,841 of 32,561 and 3,846 of 16,281).
func TestAdult(t *testing.T) {
	d, err := Adult()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if d.Len() != 48842 || d.Dim() != dataset.AdultFeatures || d.ClassCounts()[1] != 7841+3846 {
		t.Errorf("%d × %d, %v", d.Len(), d.Dim(), d.ClassCounts())
	}
	train, test, err := AdultSplit()
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 32561 || test.Len() != 16281 || train.ClassCounts()[1] != 7841 || test.ClassCounts()[1] != 3846 {
		t.Errorf("train %d (%v), test %d (%v)", train.Len(), train.ClassCounts(), test.Len(), test.ClassCounts())
	}
}
