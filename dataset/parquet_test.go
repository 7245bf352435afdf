package dataset

import (
	"bytes"
	"encoding/csv"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
)

// pqCol is one column of a test table: its Parquet node and its values, nil for null. Values are
// bool, int32, int64, uint32, float32, float64, string, or pqDecimal.
type pqCol struct {
	name string
	node parquet.Node
	vals []any
}

// pqDecimal is an unscaled DECIMAL value stored as INT32.
type pqDecimal int32

// writeParquet writes the table as a Parquet file with the given writer options (the schema is a
// Group, so the file's columns are in name order) and the same table as a CSV file, with nulls as
// empty fields, booleans as 0/1 and numbers in Go's shortest form. It returns both paths.
func writeParquet(t testing.TB, dir, base string, cols []pqCol, opts ...parquet.WriterOption) (pq, cs string) {
	t.Helper()
	cols = slices.Clone(cols)
	slices.SortFunc(cols, func(a, b pqCol) int { return cmpString(a.name, b.name) })
	g := parquet.Group{}
	for _, c := range cols {
		g[c.name] = c.node
	}
	schema := parquet.NewSchema("test", g)
	n := len(cols[0].vals)
	var rows []parquet.Row
	var text bytes.Buffer
	cw := csv.NewWriter(&text)
	header := make([]string, len(cols))
	for j, c := range cols {
		header[j] = c.name
	}
	if err := cw.Write(header); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		var row parquet.Row
		rec := make([]string, len(cols))
		for j, c := range cols {
			leaf, _ := schema.Lookup(c.name)
			def := leaf.MaxDefinitionLevel
			v := c.vals[i]
			var pv parquet.Value
			switch x := v.(type) {
			case nil:
				pv, def = parquet.NullValue(), 0
			case bool:
				pv = parquet.BooleanValue(x)
				rec[j] = "0"
				if x {
					rec[j] = "1"
				}
			case int32:
				pv, rec[j] = parquet.Int32Value(x), strconv.Itoa(int(x))
			case int64:
				pv, rec[j] = parquet.Int64Value(x), strconv.FormatInt(x, 10)
			case uint32:
				pv, rec[j] = parquet.Int32Value(int32(x)), strconv.FormatUint(uint64(x), 10)
			case pqDecimal:
				pv, rec[j] = parquet.Int32Value(int32(x)), strconv.FormatFloat(float64(x)/100, 'f', -1, 64)
			case float32:
				pv, rec[j] = parquet.FloatValue(x), strconv.FormatFloat(float64(x), 'g', -1, 32)
			case float64:
				pv, rec[j] = parquet.DoubleValue(x), strconv.FormatFloat(x, 'g', -1, 64)
			case string:
				pv, rec[j] = parquet.ByteArrayValue([]byte(x)), x
			default:
				t.Fatalf("column %s: value %T", c.name, v)
			}
			row = append(row, pv.Level(0, def, leaf.ColumnIndex))
		}
		rows = append(rows, row)
		if err := cw.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	cw.Flush()
	var b bytes.Buffer
	w := parquet.NewWriter(&b, append([]parquet.WriterOption{schema}, opts...)...)
	if _, err := w.WriteRows(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return write(t, dir, base+".parquet", b.Bytes()), write(t, dir, base+".csv", text.Bytes())
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// testTable has every supported column type, nulls, a NaN, padded and "?" strings, and a string
// label in the last column.
func testTable() []pqCol {
	nan := float32(math.NaN())
	return []pqCol{
		{"flag", parquet.Leaf(parquet.BooleanType), []any{true, false, true, true, false, false, true, false, true, true}},
		{"colour", parquet.Optional(parquet.String()), []any{"red", "blue", nil, " green", "red", "?", "blue", "red", "green", "blue"}},
		{"price", parquet.Decimal(2, 9, parquet.Int32Type), []any{pqDecimal(1234), pqDecimal(-5), pqDecimal(0), pqDecimal(99999), pqDecimal(1), pqDecimal(250), pqDecimal(-1234), pqDecimal(7), pqDecimal(10), pqDecimal(333)}},
		{"ratio", parquet.Optional(parquet.Leaf(parquet.FloatType)), []any{float32(0.1), float32(2.5), nan, float32(-1e-3), nil, float32(3), float32(0.2), float32(1e6), float32(0.3), float32(7.25)}},
		{"height", parquet.Optional(parquet.Leaf(parquet.DoubleType)), []any{1.5, 2.25, 3.0, nil, 4.125, 1e-7, 2.0, nil, 5.5, -0.75}},
		{"count", parquet.Int(32), []any{int32(3), int32(-1), int32(0), int32(7), int32(2), int32(100), int32(5), int32(5), int32(9), int32(1)}},
		{"id", parquet.Int(64), []any{int64(1), int64(2), int64(3), int64(4), int64(5), int64(6), int64(7), int64(8), int64(9), int64(10)}},
		{"size", parquet.Int(64), []any{int64(10), int64(9), int64(10), int64(2), int64(9), int64(10), int64(2), int64(2), int64(9), int64(10)}},
		{"units", parquet.Uint(32), []any{uint32(4000000000), uint32(1), uint32(2), uint32(3), uint32(4), uint32(5), uint32(6), uint32(7), uint32(8), uint32(9)}},
		{"zlabel", parquet.String(), []any{"cat", "dog", "cat", "bird", "dog", "cat", "bird", "dog", "cat", "dog"}},
	}
}

// imputeAll replaces the NaN that MissingMean leaves in d by the means over all of d's records.
func imputeAll(d *Dataset) error {
	m, err := FitMeanImputer(d, allRows(d.Len()))
	if err != nil {
		return err
	}
	_, err = m.Apply(d)
	return err
}

func allRows(n int) []int {
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	return rows
}

// sameDataset checks that got equals want, everything but the name.
func sameDataset(t *testing.T, what string, got, want *Dataset) {
	t.Helper()
	if err := got.Validate(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !slices.Equal(got.Shape, want.Shape) || got.Classes != want.Classes ||
		!slices.Equal(got.FeatureNames, want.FeatureNames) || !slices.Equal(got.ClassNames, want.ClassNames) {
		t.Fatalf("%s: shape %v classes %d %q features %q, want %v %d %q %q", what,
			got.Shape, got.Classes, got.ClassNames, got.FeatureNames, want.Shape, want.Classes, want.ClassNames, want.FeatureNames)
	}
	sameInts(t, what+" labels", got.Y, want.Y)
	sameFloats(t, what+" features", got.X, want.X)
}

// TestLoadParquetMatchesCSV loads the same table from Parquet and from CSV under every missing-value
// policy and option, with several row groups, both data page versions, compression and dictionary
// pages, and checks that the datasets are equal. The CSV loader is the reference: its own tests pin
// its semantics (TestLoadCSV, TestLoadCSVMissing).
func TestLoadParquetMatchesCSV(t *testing.T) {
	dir := t.TempDir()
	writers := map[string][]parquet.WriterOption{
		"plain":      {parquet.MaxRowsPerRowGroup(3)},
		"v1-snappy":  {parquet.MaxRowsPerRowGroup(4), parquet.DataPageVersion(1), parquet.Compression(&parquet.Snappy), parquet.PageBufferSize(16)},
		"one-group":  {parquet.Compression(&parquet.Zstd)},
		"dictionary": {parquet.MaxRowsPerRowGroup(7), parquet.Compression(&parquet.Gzip)},
	}
	cols := testTable()
	dict := slices.Clone(cols)
	for i := range dict {
		if dict[i].name == "colour" || dict[i].name == "zlabel" {
			dict[i].node = parquet.Encoded(dict[i].node, &parquet.RLEDictionary)
		}
	}
	options := []struct {
		name string
		opts TabularOptions
	}{
		{"drop", TabularOptions{Label: "zlabel", Drop: []string{"id"}, Missing: MissingDrop}},
		{"impute", TabularOptions{Drop: []string{"id"}, Missing: MissingMean, Categorical: []string{"size", "flag"}}},
		{"classes", TabularOptions{Missing: MissingMean, Classes: []string{"dog", "cat", "bird", "fish"}}},
		{"missing values", TabularOptions{Missing: MissingMean, MissingValues: []string{"blue", "", "NaN"}}},
	}
	for wname, wopts := range writers {
		table := cols
		if wname == "dictionary" {
			table = dict
		}
		pq, cs := writeParquet(t, dir, wname, table, wopts...)
		if wname == "plain" {
			wantRowGroups(t, pq, 4)
		}
		for _, o := range options {
			what := wname + "/" + o.name
			want, _, err := LoadCSV(cs, o.opts)
			if err != nil {
				t.Fatalf("%s: CSV: %v", what, err)
			}
			got, _, err := LoadParquet(pq, o.opts)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if o.opts.Missing == MissingMean {
				if err := errors.Join(imputeAll(want), imputeAll(got)); err != nil {
					t.Fatalf("%s: %v", what, err)
				}
			}
			sameDataset(t, what, got, want)
			if got.Name != "parquet:"+wname+".parquet" {
				t.Errorf("%s: name %q", what, got.Name)
			}
		}
	}

	// Spot checks of the shared semantics, independent of the CSV loader: the padded " green" is
	// trimmed, "?" and null are missing, NaN is missing, the decimal is scaled, the uint32 keeps its
	// value, and the categorical int64 column is ordered numerically.
	pq, _ := writeParquet(t, dir, "spot", cols)
	d, st, err := LoadParquet(pq, TabularOptions{Drop: []string{"id"}, Missing: MissingMean, Categorical: []string{"size"}})
	if err != nil {
		t.Fatal(err)
	}
	// Missing: colour null and "?", ratio NaN and null, height twice null.
	if st != (TableStats{Records: 10, Missing: 6}) {
		t.Errorf("stats %+v, want 10 records, 6 missing values", st)
	}
	if err := imputeAll(d); err != nil {
		t.Fatal(err)
	}
	wantNames := []string{"colour=blue", "colour=green", "colour=red", "count", "flag", "height", "price", "ratio",
		"size=2", "size=9", "size=10", "units"}
	if !slices.Equal(d.FeatureNames, wantNames) {
		t.Fatalf("features %q, want %q", d.FeatureNames, wantNames)
	}
	// Record 3: " green", count 7, flag true, height null (mean of the 8 present), price 999.99, ratio
	// -0.001, size 2, units 3. Height mean: (1.5+2.25+3+4.125+1e-7+2+5.5-0.75)/8.
	hmean := (1.5 + 2.25 + 3 + 4.125 + 1e-7 + 2 + 5.5 - 0.75) / 8
	sameFloats(t, "record 3", d.Row(3), []float32{0, 1, 0, 7, 1, float32(hmean), 999.99, -0.001, 1, 0, 0, 3})
	// Record 0: units 4e9 (over int32), ratio 0.1 as float32.
	sameFloats(t, "record 0", d.Row(0), []float32{0, 0, 1, 3, 1, 1.5, 12.34, 0.1, 0, 0, 1, 4e9})
	// Records 2 ("?" colour is record 5) have all-zero colour; ratio NaN (record 2) and null (record
	// 4) are imputed with the mean of the other 8.
	rmean := float32((0.1 + 2.5 - 1e-3 + 3 + 0.2 + 1e6 + 0.3 + 7.25) / 8)
	for _, i := range []int{2, 5} {
		if r := d.Row(i); r[0]+r[1]+r[2] != 0 {
			t.Errorf("record %d: colour %v, want all zeros", i, r[:3])
		}
	}
	for _, i := range []int{2, 4} {
		if r := d.Row(i)[7]; math.Abs(float64(r-rmean)) > 1e-6*float64(rmean) {
			t.Errorf("record %d: ratio %v, want the mean %v", i, r, rmean)
		}
	}
	sameInts(t, "labels", d.Y, []int{1, 2, 1, 0, 2, 1, 0, 2, 1, 2})
	if !slices.Equal(d.ClassNames, []string{"bird", "cat", "dog"}) {
		t.Errorf("classes %q", d.ClassNames)
	}
}

func wantRowGroups(t *testing.T, name string, n int) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(f.RowGroups()); got != n {
		t.Fatalf("%s: %d row groups, want %d", name, got, n)
	}
}

// TestLoadParquetLabels checks label types other than strings: integers sort numerically (2 < 10),
// booleans as false < true, a null label is an error or dropped, and Classes fixes the mapping.
func TestLoadParquetLabels(t *testing.T) {
	dir := t.TempDir()
	x := parquet.Leaf(parquet.DoubleType)
	cols := []pqCol{
		{"x", x, []any{1.0, 2.0, 3.0, 4.0}},
		{"y", parquet.Optional(parquet.Int(64)), []any{int64(10), int64(2), nil, int64(10)}},
		{"b", parquet.Leaf(parquet.BooleanType), []any{true, false, false, true}},
		{"f", parquet.Leaf(parquet.FloatType), []any{float32(0.5), float32(1.5), float32(0.5), float32(0.5)}},
	}
	pq, cs := writeParquet(t, dir, "labels", cols, parquet.MaxRowsPerRowGroup(2))
	_, _, err := LoadParquet(pq, TabularOptions{Label: "y"})
	wantErr(t, "null label", err, "labels.parquet: record 2 (row group 1, row 0)", `column "y"`, "missing label")

	opts := TabularOptions{Label: "y", Missing: MissingDrop}
	d, _, err := LoadParquet(pq, opts)
	if err != nil {
		t.Fatal(err)
	}
	sameInts(t, "int labels", d.Y, []int{1, 0, 1})
	if !slices.Equal(d.ClassNames, []string{"2", "10"}) {
		t.Errorf("int classes %q", d.ClassNames)
	}
	want, _, err := LoadCSV(cs, opts)
	if err != nil {
		t.Fatal(err)
	}
	sameDataset(t, "int labels vs CSV", d, want)

	d, _, err = LoadParquet(pq, TabularOptions{Label: "b", Drop: []string{"y"}})
	if err != nil {
		t.Fatal(err)
	}
	sameInts(t, "bool labels", d.Y, []int{1, 0, 0, 1})
	if !slices.Equal(d.ClassNames, []string{"0", "1"}) {
		t.Errorf("bool classes %q", d.ClassNames)
	}

	d, _, err = LoadParquet(pq, TabularOptions{Label: "f", Drop: []string{"y"}, Classes: []string{"1.5", "0.5"}})
	if err != nil {
		t.Fatal(err)
	}
	sameInts(t, "float labels", d.Y, []int{1, 0, 1, 1})
	_, _, err = LoadParquet(pq, TabularOptions{Label: "f", Drop: []string{"y"}, Classes: []string{"0.5"}})
	wantErr(t, "unknown label", err, "record 1 (row group 0, row 1)", `column "f"`, `label 1.5 is not one of the classes ["0.5"]`)
}

// TestLoadParquetStringNumbers: a string column is categorical even when its values are numbers,
// with the categories in numeric order, as LoadCSV orders a Categorical column.
func TestLoadParquetStringNumbers(t *testing.T) {
	dir := t.TempDir()
	pq, cs := writeParquet(t, dir, "zip", []pqCol{
		{"zip", parquet.String(), []any{"10", "9", "10", "100"}},
		{"y", parquet.Int(32), []any{int32(0), int32(1), int32(0), int32(1)}},
	})
	d, _, err := LoadParquet(pq, TabularOptions{Label: "y"})
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := LoadCSV(cs, TabularOptions{Label: "y", Categorical: []string{"zip"}})
	if err != nil {
		t.Fatal(err)
	}
	sameDataset(t, "numeric strings", d, want)
	if !slices.Equal(d.FeatureNames, []string{"zip=9", "zip=10", "zip=100"}) {
		t.Errorf("features %q", d.FeatureNames)
	}
}

func TestLoadParquetErrors(t *testing.T) {
	dir := t.TempDir()
	pq, _ := writeParquet(t, dir, "t", testTable(), parquet.MaxRowsPerRowGroup(3))
	good, err := os.ReadFile(pq)
	if err != nil {
		t.Fatal(err)
	}
	// A missing value under MissingError names the record, row group, row and column: record 2 has a
	// null colour.
	_, _, err = LoadParquet(pq, TabularOptions{Drop: []string{"id"}})
	wantErr(t, "missing value", err, "t.parquet: record 2 (row group 0, row 2)", `column "colour"`, "missing value null")
	_, _, err = LoadParquet(pq, TabularOptions{Drop: []string{"id", "colour"}})
	wantErr(t, "NaN", err, "record 2 (row group 0, row 2)", `column "ratio"`, "missing value NaN")

	for _, tt := range []struct {
		name string
		opts TabularOptions
		want string
	}{
		{"no label column", TabularOptions{Label: "class"}, `no label column "class", which TabularOptions.Label names (the file's columns: colour, count, flag`},
		{"unknown drop", TabularOptions{Drop: []string{"nope"}}, `names column "nope"`},
		{"label dropped", TabularOptions{Drop: []string{"zlabel"}}, "also listed in TabularOptions.Drop"},
		{"too many categories", TabularOptions{Missing: MissingMean, MaxCategories: 2}, `record 3 (row group 1, row 0): column "colour": categorical column with 3 distinct values, more than the 2 that TabularOptions.MaxCategories allows (value "green" here is the first too many); list colour in TabularOptions.Drop`},
		{"no features", TabularOptions{Drop: []string{"colour", "count", "flag", "height", "id", "price", "ratio", "size", "units"}}, "no feature columns"},
	} {
		_, _, err := LoadParquet(pq, tt.opts)
		wantErr(t, tt.name, err, "t.parquet", tt.want)
	}

	for _, tt := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"csv", []byte(csvText), "not a Parquet file"},
		{"gzip", gz(t, good), "gzip-compressed"},
		{"truncated", good[:len(good)/2], "truncated Parquet file"},
		{"no footer", good[:len(good)-1], "truncated Parquet file"},
		{"magic only", []byte("PAR1PAR1"), "truncated Parquet file"},
		// A footer length beyond the file is refused before parquet-go allocates it (2 GiB here).
		{"footer length", slices.Concat(good[:len(good)-8], []byte{0xff, 0xff, 0xff, 0x7f}, parquetMagic), "corrupt Parquet file: its footer declares 2147483647 bytes of metadata, but the file has"},
		{"footer cut", slices.Concat(good[:4], good[len(good)-40:]), "its footer declares"},
		{"footer garbled", slices.Concat(good[:4], bytes.Repeat([]byte{0xff}, 32), []byte{32, 0, 0, 0}, parquetMagic), "reading the Parquet footer"},
	} {
		p := write(t, dir, "bad.parquet", tt.data)
		_, _, err := LoadParquet(p, TabularOptions{})
		wantErr(t, tt.name, err, "bad.parquet", tt.want)
	}
	_, _, err = LoadParquet(filepath.Join(dir, "absent.parquet"), TabularOptions{})
	wantErr(t, "absent", err, "absent.parquet")

	// A page header whose statistics declare 256 MB (a fuzzer's find, 2,270 bytes) is refused by the
	// page walk before parquet-go allocates the length.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err = LoadParquet(filepath.Join("testdata", "parquet_page_header_alloc.parquet"), TabularOptions{})
	runtime.ReadMemStats(&after)
	wantErr(t, "page header", err, "parquet_page_header_alloc.parquet", "corrupt Parquet file", "page header at byte")
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("page header: loading 2,270 bytes allocated %d bytes", alloc)
	}

	// Corrupting any byte of the pages must give an error or a valid dataset, never a panic or NaN
	// features. The footer is at the end; bytes [4, len-footer-8) are pages.
	footer := int(uint32(good[len(good)-8]) | uint32(good[len(good)-7])<<8 | uint32(good[len(good)-6])<<16 | uint32(good[len(good)-5])<<24)
	bad := slices.Clone(good)
	errs := 0
	for k := 4; k < len(good)-8; k += max(1, len(good)/64) {
		copy(bad, good)
		bad[k] ^= 0xa5
		p := write(t, dir, "corrupt.parquet", bad)
		d, _, err := LoadParquet(p, TabularOptions{Drop: []string{"id"}, Missing: MissingMean, MaxCategories: 100})
		if err == nil {
			// MissingMean leaves NaN for the imputer, which a run applies before any other use.
			err = imputeAll(d)
		}
		if err != nil {
			errs++
			continue
		}
		if err := d.Validate(); err != nil {
			t.Errorf("byte %d corrupted (footer from %d): invalid dataset: %v", k, len(good)-8-footer, err)
		}
	}
	if errs == 0 {
		t.Error("no corruption was detected")
	}
}

// TestLoadParquetColumnTypes: repeated and INT96 columns are errors unless dropped; nested groups
// name their leaves by path; an infinite float is an error; dates are integer days.
func TestLoadParquetColumnTypes(t *testing.T) {
	dir := t.TempDir()
	schema := parquet.NewSchema("t", parquet.Group{
		"g":    parquet.Group{"a": parquet.Leaf(parquet.DoubleType), "day": parquet.Date()},
		"tags": parquet.Repeated(parquet.String()),
		"old":  parquet.Leaf(parquet.Int96Type),
		"y":    parquet.String(),
	})
	// Leaves in order: g.a (0), g.day (1), old (2), tags (3), y (4).
	rows := []parquet.Row{
		{parquet.DoubleValue(1.5).Level(0, 0, 0), parquet.Int32Value(19000).Level(0, 0, 1), parquet.Int96Value(deprecated.Int96{1, 2, 3}).Level(0, 0, 2),
			parquet.ByteArrayValue([]byte("p")).Level(0, 1, 3), parquet.ByteArrayValue([]byte("q")).Level(1, 1, 3), parquet.ByteArrayValue([]byte("a")).Level(0, 0, 4)},
		{parquet.DoubleValue(-2).Level(0, 0, 0), parquet.Int32Value(19001).Level(0, 0, 1), parquet.Int96Value(deprecated.Int96{1, 2, 3}).Level(0, 0, 2),
			parquet.NullValue().Level(0, 0, 3), parquet.ByteArrayValue([]byte("b")).Level(0, 0, 4)},
	}
	var b bytes.Buffer
	w := parquet.NewWriter(&b, schema)
	if _, err := w.WriteRows(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := write(t, dir, "types.parquet", b.Bytes())
	_, _, err := LoadParquet(p, TabularOptions{Drop: []string{"tags"}})
	wantErr(t, "int96", err, `column "old"`, "not supported", "Drop")
	_, _, err = LoadParquet(p, TabularOptions{Drop: []string{"old"}})
	wantErr(t, "repeated", err, `column "tags"`, "repeated")
	d, _, err := LoadParquet(p, TabularOptions{Drop: []string{"old", "tags"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.FeatureNames, []string{"g.a", "g.day"}) {
		t.Errorf("features %q", d.FeatureNames)
	}
	sameFloats(t, "nested", d.X, []float32{1.5, 19000, -2, 19001})
	sameInts(t, "nested labels", d.Y, []int{0, 1})

	writeParquet(t, dir, "inf", []pqCol{
		{"x", parquet.Leaf(parquet.DoubleType), []any{1.0, math.Inf(-1)}},
		{"y", parquet.Int(32), []any{int32(0), int32(1)}},
	})
	_, _, err = LoadParquet(filepath.Join(dir, "inf.parquet"), TabularOptions{})
	wantErr(t, "infinite", err, "record 1 (row group 0, row 1)", `column "x"`, "infinite")

	writeParquet(t, dir, "big", []pqCol{
		{"x", parquet.Leaf(parquet.DoubleType), []any{1.0, -1e300}},
		{"y", parquet.Int(32), []any{int32(0), int32(1)}},
	})
	_, _, err = LoadParquet(filepath.Join(dir, "big.parquet"), TabularOptions{})
	wantErr(t, "beyond float32", err, "record 1 (row group 0, row 1)", `column "x"`, "-1e+300 is beyond the range of a float32 feature")

	// A DECIMAL's scale must lie in 0..precision: one of −400 made 10^scale 0 and each 0 a NaN, a
	// missing value.
	writeParquet(t, dir, "scale", []pqCol{
		{"x", parquet.Decimal(-400, 9, parquet.Int32Type), []any{pqDecimal(0), pqDecimal(0)}},
		{"y", parquet.Int(32), []any{int32(0), int32(1)}},
	})
	_, _, err = LoadParquet(filepath.Join(dir, "scale.parquet"), TabularOptions{Missing: MissingMean})
	wantErr(t, "negative scale", err, `column "x"`, "DECIMAL(9, -400)", "not supported")
}

// TestLoadParquetOtherWriter reads a file written by another implementation, hyparquet-writer 0.17.0
// (testdata/parquet_hyparquet.mjs made testdata/parquet_hyparquet.parquet and the same table as
// parquet_hyparquet.csv): data pages v2, snappy, a legacy UTF8 converted type, BYTE_STREAM_SPLIT
// doubles, DELTA_BINARY_PACKED ints, UINT_32 and a FIXED_LEN_BYTE_ARRAY decimal, three row groups.
// Python's pyarrow, which would be the usual cross-check, is not installed here.
func TestLoadParquetOtherWriter(t *testing.T) {
	pq := filepath.Join("testdata", "parquet_hyparquet.parquet")
	cs := filepath.Join("testdata", "parquet_hyparquet.csv")
	wantRowGroups(t, pq, 3)
	for _, opts := range []TabularOptions{
		{Label: "label", Missing: MissingMean, Categorical: []string{"big"}},
		{Label: "label", Missing: MissingDrop, Drop: []string{"u"}},
		{Label: "big", Missing: MissingMean},
	} {
		want, _, err := LoadCSV(cs, opts)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := LoadParquet(pq, opts)
		if err != nil {
			t.Fatal(err)
		}
		if opts.Missing == MissingMean {
			if err := errors.Join(imputeAll(want), imputeAll(got)); err != nil {
				t.Fatal(err)
			}
		}
		sameDataset(t, "hyparquet "+opts.Label, got, want)
	}
	// Independently of LoadCSV: the first record and the decimal and unsigned columns.
	d, _, err := LoadParquet(pq, TabularOptions{Label: "label", Missing: MissingDrop})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"colour=blue", "colour=green", "colour=red", "n", "big", "h", "r", "flag", "u", "price"}
	if !slices.Equal(d.FeatureNames, want) {
		t.Fatalf("features %q, want %q", d.FeatureNames, want)
	}
	if d.Len() != 7 {
		t.Fatalf("%d records, want 7 (12 less 2 null colours, 1 \"?\" and 2 null h)", d.Len())
	}
	sameFloats(t, "record 0", d.Row(0), []float32{0, 0, 1, 3, 10, 1.5, 0.1, 1, 4e9, 12.34})
	sameFloats(t, "record 6", d.Row(6), []float32{0, 0, 1, 12, 9, 0.125, 3, 1, 11, 1})
	sameInts(t, "labels", d.Y, []int{1, 2, 1, 0, 1, 2, 1}) // rows 0, 1, 5, 6, 8, 9, 11: bird 0, cat 1, dog 2
}

// TestLoadParquetOptions checks the options that pmeter's data section exposes on a Parquet file:
// errors name the file, record, row group, row and column with the caller's option names, and the
// happy paths give the expected numbers.
func TestLoadParquetOptions(t *testing.T) {
	dir := t.TempDir()
	pq, _ := writeParquet(t, dir, "opts", []pqCol{
		{"x", parquet.Optional(parquet.Leaf(parquet.DoubleType)), []any{1.0, nil, 3.0, 5.0, 7.0}},
		{"n", parquet.Int(32), []any{int32(10), int32(2), int32(10), int32(2), int32(30)}},
		{"code", parquet.Optional(parquet.String()), []any{"p", "q", "r", nil, "p"}},
		{"y", parquet.String(), []any{"a", "b", "a", "b", "a"}},
	}, parquet.MaxRowsPerRowGroup(2))
	for _, tt := range []struct {
		name string
		opts TabularOptions
		want string
	}{
		{"missing", TabularOptions{}, `: record 1 (row group 0, row 1): column "x": missing value null; set data.missing to drop (to drop such records) or to mean (to impute the training rows' mean), or list x in data.drop_columns to ignore the column`},
		{"max categories", TabularOptions{Missing: MissingMean, MaxCategories: 2}, `: record 2 (row group 1, row 0): column "code": categorical column with 3 distinct values, more than the 2 that data.max_categories allows (value "r" here is the first too many); list code in data.drop_columns if it is an identifier or free text, or raise data.max_categories`},
		{"forced categories", TabularOptions{Missing: MissingMean, Categorical: []string{"n"}, Drop: []string{"code"}, MaxCategories: 2}, `: record 4 (row group 2, row 0): column "n": categorical column with 3 distinct values, more than the 2 that data.max_categories allows (value "30" here is the first too many); list n in data.drop_columns if it is an identifier or free text, or raise data.max_categories`},
		{"unknown column", TabularOptions{Drop: []string{"code", "z"}}, `: data.drop_columns names column "z", which the file lacks (its columns: code, n, x, y)`},
		{"no label", TabularOptions{Label: "label"}, `: no label column "label", which data.label_column names (the file's columns: code, n, x, y)`},
	} {
		tt.opts.Names = yamlNames
		_, _, err := LoadParquet(pq, tt.opts)
		if err == nil || err.Error() != pq+tt.want {
			t.Errorf("%s: error\n  %v\nwant\n  %s%s", tt.name, err, pq, tt.want)
		}
	}

	// Drop: records 1 (x null) and 3 (code null) go; n forced categorical, in numeric order 2 < 10 < 30.
	d, st, err := LoadParquet(pq, TabularOptions{Missing: MissingDrop, Categorical: []string{"n"}})
	if err != nil {
		t.Fatal(err)
	}
	if st != (TableStats{Records: 5, Dropped: 2}) {
		t.Errorf("drop: stats %+v", st)
	}
	if want := []string{"code=p", "code=r", "n=10", "n=30", "x"}; !slices.Equal(d.FeatureNames, want) {
		t.Fatalf("drop: features %q, want %q", d.FeatureNames, want)
	}
	sameFloats(t, "drop", d.X, []float32{1, 0, 1, 0, 1, 0, 1, 1, 0, 3, 1, 0, 0, 1, 7})
	sameInts(t, "drop labels", d.Y, []int{0, 0, 0})

	// Mean: x of record 1 is NaN until imputed with the mean of the training rows 0, 2 and 3 (3, not
	// the 4 of all present values); code of record 3 is all zeros.
	d, st, err = LoadParquet(pq, TabularOptions{Missing: MissingMean, Drop: []string{"n"}})
	if err != nil {
		t.Fatal(err)
	}
	if st != (TableStats{Records: 5, Missing: 2}) {
		t.Errorf("mean: stats %+v", st)
	}
	m, err := FitMeanImputer(d, []int{0, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Apply(d); err != nil {
		t.Fatal(err)
	}
	sameFloats(t, "mean", d.X, []float32{
		1, 0, 0, 1,
		0, 1, 0, 3,
		0, 0, 1, 3,
		0, 0, 0, 5,
		1, 0, 0, 7,
	})
}
