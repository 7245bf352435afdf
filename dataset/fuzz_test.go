package dataset

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/pmeter/pmeter/npy"
)

// The fuzz targets below feed the loaders arbitrary bytes, through a reader where the loader has one
// and through a file in t.TempDir() where it only takes a name. Beyond "no panic", each checks the rule
// for bad input: an error names the input, and a dataset that loads is valid (checkLoaded).
// scripts/fuzz runs them; crashers found are kept under testdata/fuzz/<target>/ and replay in go test.

// checkLoaded checks the outcome of loading the input called name: an error must name it, and a
// dataset must pass Validate and have the record shape want (nil: any).
func checkLoaded(t *testing.T, name string, d *Dataset, err error, want []int) {
	t.Helper()
	if err != nil {
		if !strings.Contains(err.Error(), name) {
			t.Fatalf("error does not name the input %s: %v", name, err)
		}
		return
	}
	if err := d.Validate(); err != nil {
		t.Fatalf("loaded a dataset that is not valid: %v", err)
	}
	if want != nil && !slices.Equal(d.Shape, want) {
		t.Fatalf("record shape %v, want %v", d.Shape, want)
	}
	if d.Len() == 0 {
		t.Fatalf("loaded a dataset without records")
	}
}

// sumInts returns the sum of v.
func sumInts(v []int) int {
	n := 0
	for _, x := range v {
		n += x
	}
	return n
}

// fuzzFile writes in to a new file called name in a temporary directory and returns its path.
func fuzzFile(t *testing.T, name string, in []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, in, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// FuzzLoadCSV: LoadCSV under each missing-value policy, with ',' or ';' separators, a label given by
// name or the last column, and optionally a group column. A dataset that loads is valid once
// MissingMean's NaN are imputed, its feature names match its features, and its record counts add up.
//
// mode: mode%3 the missing-value policy; bit 2 ';' separators, bit 3 the label column "label", bit 4 at
// most 3 categories, bit 5 the group column "group".
func FuzzLoadCSV(f *testing.F) {
	for _, s := range []struct {
		text string
		mode uint8
	}{
		{"a,b,c,label\n1,2.5,x,yes\n3,-4e-3,y,no\n,7,x,yes\n", 0},
		{"a,b,c,label\n1,2.5,x,yes\n3,-4e-3,y,no\n,7,x,yes\n", 1 | 8},
		{"a,b,c,label\n1,2.5,x,yes\n3,-4e-3,y,no\n,7,x,yes\n", 2 | 16},
		{"\xef\xbb\xbfage;city;y\n 31 ;\"Paris\";1\n\n42;Rome;0\n?;Paris;2\n", 4 | 1},
		{"\xef\xbb\xbfage;city;y\n 31 ;\"Paris\";1\n\n42;Rome;0\n?;Paris;2\n", 4 | 2},
		{"id,v,label,group\n1,NA,cat,u1\n2,0.5,dog,u2\r\n3,1e3,\"cat\",u1\n", 8 | 2},
		{"id,v,label,group\n1,NA,cat,u1\n2,0.5,dog,u2\r\n3,1e3,\"cat\",u1\n", 8 | 1 | 32},
		{"x,y\n1,1\n2,NaN\n-7.5e-3,1\n", 1},
	} {
		f.Add([]byte(s.text), s.mode)
	}
	f.Fuzz(func(t *testing.T, in []byte, mode uint8) {
		name := fuzzFile(t, "in.csv", in)
		opts := TabularOptions{Missing: MissingPolicy(mode % 3)}
		if mode&4 != 0 {
			opts.Comma = ';'
		}
		if mode&8 != 0 {
			opts.Label = "label"
		}
		if mode&16 != 0 {
			opts.MaxCategories = 3
		}
		if mode&32 != 0 {
			opts.Group = "group"
		}
		d, st, err := LoadCSV(name, opts)
		if err == nil {
			if d.Len()+st.Dropped != st.Records {
				t.Fatalf("%d records kept and %d dropped, of %d", d.Len(), st.Dropped, st.Records)
			}
			if (opts.Group != "") != (d.Groups != nil) || (d.Groups != nil && len(d.Groups) != d.Len()) {
				t.Fatalf("%d groups for %d records (group column %q)", len(d.Groups), d.Len(), opts.Group)
			}
			if len(d.FeatureNames) != d.Dim() || len(d.ClassNames) != d.Classes {
				t.Fatalf("%d feature names for %d features, %d class names for %d classes", len(d.FeatureNames), d.Dim(), len(d.ClassNames), d.Classes)
			}
			nan := 0
			for i, v := range d.X {
				if v != v {
					d.X[i] = 0
					nan++
				}
			}
			if nan > st.Missing || (nan > 0 && opts.Missing != MissingMean) {
				t.Fatalf("%d NaN features under missing-value policy %v, %d missing values counted", nan, opts.Missing, st.Missing)
			}
		}
		checkLoaded(t, name, d, err, nil)
	})
}

// FuzzLabelFirst: the "label,f1,…,fD" reader of Purchase100 and Location, with D of 1 to 4 and 5
// classes (the formats' code with small records, so that mutations reach every branch), from a plain,
// gzipped or tar file.
func FuzzLabelFirst(f *testing.F) {
	f.Add([]byte("1,0,1,1\n5,1,0,0\n\"3\",0,0,1\r\n\n"), uint8(2))
	f.Add([]byte("2,1\n4,0.5\n"), uint8(0))
	f.Add(gz(f, []byte("1,0,1,1,0\n2,1,1,1,1\n")), uint8(3))
	var b bytes.Buffer
	b.Write(tarBytes(f, [][2]string{{"README", "x"}, {"d/dataset_purchase", "3,1,0\n1,0,0\n"}}))
	f.Add(gz(f, b.Bytes()), uint8(1))
	f.Add(b.Bytes(), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, dim uint8) {
		name := fuzzFile(t, "dataset_purchase", in)
		D := 1 + int(dim%4)
		d, err := loadLabelFirst(name, "dataset_purchase", D, 5)
		checkLoaded(t, name, d, err, []int{D})
		if err == nil && d.Classes != 5 {
			t.Fatalf("%d classes, want 5", d.Classes)
		}
	})
}

// FuzzTexas100: Texas100's labels file (one label per line) and its features file (6,169 features per
// line), read as LoadTexas100 reads them.
func FuzzTexas100(f *testing.F) {
	var feats strings.Builder
	for i := range 2 {
		for j := range TexasFeatures {
			if j > 0 {
				feats.WriteByte(',')
			}
			fmt.Fprint(&feats, boolInt((i+j)%3 == 0))
		}
		feats.WriteByte('\n')
	}
	f.Add([]byte(feats.String()), []byte("1\n100\n"))
	f.Add([]byte(feats.String()+"\n"), []byte("\"7\"\r\n\n2.0\n"))
	f.Fuzz(func(t *testing.T, feats, labels []byte) {
		y, err := readLabelLines(bytes.NewReader(labels), "labels", TexasClasses)
		if err != nil {
			checkLoaded(t, "labels", nil, err, nil)
			return
		}
		d, err := texasFrom(bytes.NewReader(feats), "feats", "labels", y, "texas100")
		if err != nil && !strings.Contains(err.Error(), "feats") {
			t.Fatalf("error does not name the features file: %v", err)
		}
		if err == nil {
			checkLoaded(t, "feats", d, nil, []int{TexasFeatures})
		}
	})
}

// FuzzReadAdult: UCI Adult lines. A dataset that loads has 105 features, each categorical column
// one-hot (at most one 1 per column), and labels 0 or 1.
func FuzzReadAdult(f *testing.F) {
	f.Add([]byte("|1x3 Cross validator\n" + adultLine + "\n" +
		"50, ?, 83311, HS-grad, 9, Divorced, ?, Husband, Black, Female, 0, 0, 13, ?, >50K.\n\n"))
	f.Add([]byte(adultLine + "\r\n" + strings.ReplaceAll(adultLine, "39", "1e3")))
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := ReadAdult(bytes.NewReader(in), "adult.data")
		checkLoaded(t, "adult.data", d, err, []int{AdultFeatures})
		if err != nil {
			return
		}
		for i := range d.Len() {
			row := d.Row(i)
			j := 0
			for _, c := range adultColumns {
				if c.values == nil {
					j++
					continue
				}
				ones := 0
				for _, v := range row[j : j+len(c.values)] {
					if v != 0 && v != 1 {
						t.Fatalf("record %d: one-hot feature of %s is %v", i, c.name, v)
					}
					ones += int(v)
				}
				if ones > 1 {
					t.Fatalf("record %d: %d categories of %s set", i, ones, c.name)
				}
				j += len(c.values)
			}
		}
	})
}

// FuzzIDX: an IDX image file and an IDX label file, decoded and combined as LoadIDX does. Decoding
// allocates at most one bounded chunk beyond the input's size; a dataset that loads has one record per
// image, pixels in [0, 1].
func FuzzIDX(f *testing.F) {
	f.Add(idxBytes(f, []int{3, 2, 2}, []byte{0, 255, 51, 102, 1, 2, 3, 4, 255, 255, 0, 0}), idxBytes(f, []int{3}, []byte{7, 0, 3}))
	f.Add(idxBytes(f, []int{1, 3, 2, 2}, make([]byte, 12)), idxBytes(f, []int{1}, []byte{1}))
	f.Add(idxBytes(f, []int{2, 1}, []byte{1, 2}), idxBytes(f, []int{2, 1}, []byte{1, 2}))
	f.Fuzz(func(t *testing.T, images, labels []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		img, err := DecodeIDX(bytes.NewReader(images))
		var lab *IDX
		if err == nil {
			lab, err = DecodeIDX(bytes.NewReader(labels))
		}
		var d *Dataset
		if err == nil {
			d, err = FromIDX(img, lab, "idx", "images", "labels")
			if err != nil && !strings.Contains(err.Error(), "images") && !strings.Contains(err.Error(), "labels") {
				t.Fatalf("error names neither file: %v", err)
			}
		}
		runtime.ReadMemStats(&after)
		// Two bounded first chunks, the data as bytes, float32 pixels and int labels.
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2*maxChunk+1<<20+16*uint64(len(images)+len(labels)) {
			t.Fatalf("decoding %d + %d bytes allocated %d bytes", len(images), len(labels), alloc)
		}
		if err != nil {
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("loaded a dataset that is not valid: %v", err)
		}
		if d.Len() == 0 || d.Len() != img.Dims[0] || d.Dim()*d.Len() != len(img.Data) {
			t.Fatalf("%d records of %d features from images %v", d.Len(), d.Dim(), img.Dims)
		}
		for _, v := range d.X {
			if v < 0 || v > 1 {
				t.Fatalf("pixel %v outside [0, 1]", v)
			}
		}
	})
}

// FuzzCIFAR: a CIFAR-10 or CIFAR-100 binary batch (plain or gzipped). A dataset that loads has one
// record per 3,073 (or 3,074) bytes of the file, of shape 3 × 32 × 32.
func FuzzCIFAR(f *testing.F) {
	rec := append(cifarRecord([]byte{3}, 0), cifarRecord([]byte{9}, 10)...)
	f.Add(rec, uint8(0))
	f.Add(gz(f, rec), uint8(0))
	f.Add(append(cifarRecord([]byte{19, 99}, 1), cifarRecord([]byte{0, 5}, 2)...), uint8(1))
	f.Add(cifarRecord([]byte{19, 99}, 1), uint8(2))
	f.Fuzz(func(t *testing.T, in []byte, which uint8) {
		name := fuzzFile(t, "batch.bin", in)
		var d *Dataset
		var err error
		switch which % 3 {
		case 0:
			d, err = LoadCIFAR10(name)
		default:
			d, err = LoadCIFAR100(which%3 == 2, name)
		}
		checkLoaded(t, name, d, err, []int{3, 32, 32})
		if err == nil && !bytes.HasPrefix(in, gzipMagic) {
			if rec := 3072 + 1 + min(int(which%3), 1); d.Len() != len(in)/rec {
				t.Fatalf("%d records from %d bytes", d.Len(), len(in))
			}
		}
	})
}

// FuzzFromNPY: features and labels as two .npy arrays, combined as LoadNPY combines them. A dataset
// that loads has one record per label.
func FuzzFromNPY(f *testing.F) {
	enc := func(a *npy.Array) []byte {
		var b bytes.Buffer
		if err := npy.Encode(&b, a); err != nil {
			f.Fatal(err)
		}
		return b.Bytes()
	}
	f.Add(enc(npy.NewFloat64([]float64{0, 0.5, 1, 1.5, 2, 2.5}, 3, 2)), enc(npy.NewInt64([]int64{0, 2, 1}, 3)))
	f.Add(enc(npy.NewFloat32([]float32{1, 2, 3, 4}, 2, 1, 2)), enc(npy.NewFloat64([]float64{1, 0}, 2, 1)))
	f.Add(enc(npy.NewBool([]bool{true, false, true}, 3)), enc(npy.NewBool([]bool{true, false, true}, 3)))
	f.Fuzz(func(t *testing.T, xb, yb []byte) {
		x, err := npy.Decode(bytes.NewReader(xb))
		if err != nil {
			return
		}
		y, err := npy.Decode(bytes.NewReader(yb))
		if err != nil {
			return
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		d, err := fromArrays(x, y, "x.npy", "y.npy", "npy")
		if err == nil {
			counts := d.ClassCounts() // what a split or a model's output layer sizes by the classes
			if n := sumInts(counts); n != d.Len() {
				t.Fatalf("class counts add up to %d, want %d records", n, d.Len())
			}
		}
		runtime.ReadMemStats(&after)
		// float32 features, int labels and the class counts are bounded by the arrays' sizes.
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20+16*uint64(x.Len()+y.Len()) {
			t.Fatalf("%d features and %d labels allocated %d bytes", x.Len(), y.Len(), alloc)
		}
		if err != nil {
			if !strings.Contains(err.Error(), "x.npy") && !strings.Contains(err.Error(), "y.npy") {
				t.Fatalf("error names neither file: %v", err)
			}
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("loaded a dataset that is not valid: %v", err)
		}
		if d.Len() == 0 || d.Len() != x.Shape[0] {
			t.Fatalf("%d records from features of shape %s", d.Len(), npy.ShapeString(x.Shape))
		}
	})
}

// FuzzLoadParquet: LoadParquet on arbitrary bytes, from small files of every supported column type
// written by parquet-go (plain, dictionary-encoded and compressed) and by hyparquet. A corrupt file
// is an error naming it; a dataset that loads is valid once MissingMean's NaN are imputed.
//
// Its find testdata/parquet_page_header_alloc.parquet (2,270 bytes whose page header declares a 256 MB
// statistic, which parquet-go's Thrift decoder allocated before failing) is refused by the page walk
// (checkPageHeaders) before parquet-go reads a page; TestLoadParquetErrors keeps it.
func FuzzLoadParquet(f *testing.F) {
	dir := f.TempDir()
	table := testTable()
	for i := range table {
		table[i].vals = table[i].vals[:4]
	}
	for k, opts := range [][]parquet.WriterOption{
		nil,
		{parquet.Compression(&parquet.Snappy), parquet.PageBufferSize(64)},
		{parquet.DataPageVersion(1)},
	} {
		pq, _ := writeParquet(f, dir, fmt.Sprint("t", k), table, opts...)
		b, err := os.ReadFile(pq)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(k))
	}
	if b, err := os.ReadFile(filepath.Join("testdata", "parquet_hyparquet.parquet")); err == nil {
		f.Add(b, uint8(1))
	}
	f.Fuzz(func(t *testing.T, in []byte, mode uint8) {
		name := fuzzFile(t, "in.parquet", in)
		opts := TabularOptions{Missing: MissingPolicy(mode % 3)}
		if mode&4 != 0 {
			opts.Drop = []string{"id"}
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		d, st, err := LoadParquet(name, opts)
		runtime.ReadMemStats(&after)
		// A file's sizes (pages, dictionaries, row counts) come from its metadata: reading must not
		// allocate what a corrupt footer declares. The bound is far above what the small inputs need.
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 256<<20+64*uint64(len(in)) {
			t.Fatalf("loading %d bytes allocated %d bytes", len(in), alloc)
		}
		if err == nil {
			if d.Len()+st.Dropped != st.Records {
				t.Fatalf("%d records kept and %d dropped, of %d", d.Len(), st.Dropped, st.Records)
			}
			for i, v := range d.X {
				if v != v {
					if opts.Missing != MissingMean {
						t.Fatalf("NaN feature under missing-value policy %v", opts.Missing)
					}
					d.X[i] = 0
				}
			}
		}
		checkLoaded(t, name, d, err, nil)
	})
}
