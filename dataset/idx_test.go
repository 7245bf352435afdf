package dataset

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func idxBytes(t testing.TB, dims []int, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := EncodeIDX(&b, &IDX{Dims: dims, Data: data}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestLoadIDX(t *testing.T) {
	dir := t.TempDir()
	// 3 images of 2 × 2 pixels.
	pix := []byte{0, 255, 51, 102, 1, 2, 3, 4, 255, 255, 0, 0}
	for _, suffix := range []string{"", ".gz"} {
		imgs := write(t, dir, "img"+suffix, idxBytes(t, []int{3, 2, 2}, pix))
		labs := write(t, dir, "lab"+suffix, idxBytes(t, []int{3}, []byte{7, 0, 3}))
		d, err := LoadIDX(imgs, labs)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
		want := make([]float32, len(pix))
		for i, b := range pix {
			want[i] = float32(b) / 255
		}
		sameFloats(t, "pixels"+suffix, d.X, want)
		sameInts(t, "labels"+suffix, d.Y, []int{7, 0, 3})
		sameInts(t, "shape"+suffix, d.Shape, []int{1, 2, 2})
		if d.Classes != 8 || d.X[1] != 1 || d.X[2] != 0.2 {
			t.Errorf("classes %d, X[1] %v, X[2] %v", d.Classes, d.X[1], d.X[2])
		}
	}
	// 4-D images keep their channel dimension.
	imgs := write(t, dir, "img4", idxBytes(t, []int{1, 3, 2, 2}, make([]byte, 12)))
	labs := write(t, dir, "lab1", idxBytes(t, []int{1}, []byte{1}))
	if d, err := LoadIDX(imgs, labs); err != nil || len(d.Shape) != 3 || d.Shape[0] != 3 {
		t.Errorf("4-D images: %v %v", d, err)
	}
}

func TestLoadIDXErrors(t *testing.T) {
	dir := t.TempDir()
	good := idxBytes(t, []int{3, 2, 2}, make([]byte, 12))
	labels := write(t, dir, "labels", idxBytes(t, []int{3}, []byte{1, 2, 3}))
	tests := []struct {
		name string
		data []byte
		want []string
	}{
		{"truncated data", good[:len(good)-5], []string{"truncated IDX data: item 1 of 3 is incomplete (7 of 12 bytes present)"}},
		{"truncated header", good[:9], []string{"truncated IDX header"}},
		{"empty", nil, []string{"too short for the IDX magic"}},
		{"wrong magic", append([]byte{0x12, 0x34}, good[2:]...), []string{"not an IDX file", "0x123408"}},
		{"float type", append([]byte{0, 0, 0x0d}, good[3:]...), []string{"element type 0x0d is not supported"}},
		{"label file as images", idxBytes(t, []int{3}, []byte{1, 2, 3}), []string{"images have 1 dimensions"}},
		{"count mismatch", idxBytes(t, []int{2, 2, 2}, make([]byte, 8)), []string{"has 2 images but", "has 3 labels"}},
		{"huge header", []byte{0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1}, []string{"more than"}},
	}
	for _, tt := range tests {
		for _, suffix := range []string{"", ".gz"} {
			p := write(t, dir, "bad"+suffix, tt.data)
			_, err := LoadIDX(p, labels)
			wantErr(t, tt.name+suffix, err, append(tt.want, "bad"+suffix)...)
		}
	}
	noImages := write(t, dir, "none", idxBytes(t, []int{0, 2, 2}, nil))
	_, err := LoadIDX(noImages, write(t, dir, "nolabels", idxBytes(t, []int{0}, nil)))
	wantErr(t, "no images", err, "none: no images (dimensions [0 2 2])")
	if _, err := LoadIDX(filepath.Join(dir, "missing"), labels); err == nil {
		t.Error("missing file accepted")
	}
}

// TestLoadIDXReal loads the MNIST and Fashion-MNIST files in ../shared/data when present. The expected
// numbers were computed with NumPy from the raw bytes (np.frombuffer(gzip.open(f).read()[16:])):
// the first ten labels, the byte sums of the first and last image, and the class counts.
func TestLoadIDXReal(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	cases := []struct {
		dir, part         string
		n                 int
		first             []int
		sumFirst, sumLast float64
		counts            []int
	}{
		{"mnist", "t10k", 10000, []int{7, 2, 1, 0, 4, 1, 4, 9, 5, 9}, 18454, 41833,
			[]int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}},
		{"fashion-mnist", "t10k", 10000, []int{9, 2, 1, 1, 6, 1, 4, 6, 5, 7}, 33456, 24390,
			[]int{1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000}},
	}
	for _, c := range cases {
		dir := filepath.Join("..", "..", "shared", "data", c.dir)
		img := filepath.Join(dir, c.part+"-images-idx3-ubyte.gz")
		if _, err := os.Stat(img); err != nil {
			t.Skipf("%s absent", img)
		}
		d, err := LoadIDX(img, filepath.Join(dir, c.part+"-labels-idx1-ubyte.gz"))
		if err != nil {
			t.Fatal(err)
		}
		if d.Len() != c.n || d.Dim() != 784 || d.Classes != 10 {
			t.Fatalf("%s %s: %d records × %d, %d classes", c.dir, c.part, d.Len(), d.Dim(), d.Classes)
		}
		sameInts(t, c.dir+" first labels", d.Y[:10], c.first)
		sameInts(t, c.dir+" class counts", d.ClassCounts(), c.counts)
		sum := func(row []float32) float64 {
			s := 0.0
			for _, v := range row {
				s += math.Round(float64(v) * 255)
			}
			return s
		}
		if s := sum(d.Row(0)); s != c.sumFirst {
			t.Errorf("%s %s: first image sums to %v, want %v", c.dir, c.part, s, c.sumFirst)
		}
		if s := sum(d.Row(c.n - 1)); s != c.sumLast {
			t.Errorf("%s %s: last image sums to %v, want %v", c.dir, c.part, s, c.sumLast)
		}
	}
}
