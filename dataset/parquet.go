package dataset

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// LoadParquet reads a Parquet file into a dataset with the rules of LoadCSV: the label column is
// opts.Label (the last column when empty), every other column not in opts.Drop becomes features,
// opts.Missing says what to do with missing values, opts.MaxCategories bounds the categories of a
// column, and labels map to classes exactly as LoadCSV maps them (opts.Classes, or the distinct
// labels sorted, numerically when they are all numbers). opts.Comma is ignored.
//
// The schema is read from the file. A column of a nested group is named by its path joined with
// dots ("a.b"). Column kinds follow the physical and logical types rather than the values:
//
//   - BOOLEAN (0 or 1), INT32, INT64 (signed or unsigned; dates, times and timestamps give their
//     integer count of days or units), FLOAT, DOUBLE and DECIMAL columns are numeric and give one
//     feature each, unless listed in opts.Categorical;
//   - BYTE_ARRAY columns that hold text (STRING, ENUM, JSON or no logical type; the bytes must be
//     UTF-8) are categorical: one 0/1 feature per distinct value, in the order of LoadCSV (numeric
//     when every value is a number, else by string), named "column=value", even when every value
//     is a number. String values are trimmed of surrounding spaces, as CSV fields are.
//
// A numeric column listed in opts.Categorical is one-hot encoded by the values' text: integers and
// booleans (0, 1) in decimal, floats in the shortest form that reads back exactly. The label column
// may have any supported type and is compared through the same text (opts.Classes ["0", "1"] for
// booleans).
//
// A value is missing when it is null, when it is a NaN float, or when it is a string listed in
// opts.MissingValues (by default "", "?", "NA", …, as for CSV). An infinite float in a numeric
// column is an error. Repeated (list or map) columns, INT96, FIXED_LEN_BYTE_ARRAY other than
// DECIMAL (UUID, FLOAT16) and the other logical types (BSON, geometry, variant) are an error unless
// listed in opts.Drop.
//
// The file is read twice, as a CSV file is. Errors name the file, the record (numbered from 0 across
// the file), its row group and row within the group (both from 0), and the column. A file that is
// truncated, corrupt or not Parquet gives an error, not a panic.
func LoadParquet(name string, opts TabularOptions) (d *Dataset, st TableStats, err error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, st, err
	}
	defer f.Close()
	defer func() {
		if r := recover(); r != nil {
			d, st, err = nil, TableStats{}, fmt.Errorf("%s: corrupt Parquet file: %v", name, r)
		}
	}()
	pf, err := openParquet(f, name)
	if err != nil {
		return nil, st, err
	}
	r, err := newParquetReader(pf, name)
	if err != nil {
		return nil, st, err
	}
	p, err := newTablePlan(name, r.header(), &opts, 0)
	if err != nil {
		return nil, st, err
	}
	if err := r.bind(p); err != nil {
		return nil, st, err
	}
	if err := r.each(p.scan); err != nil {
		return nil, st, err
	}
	if err := p.finish(name); err != nil {
		return nil, st, err
	}
	d = p.newDataset("parquet:" + filepath.Base(name))
	if err := r.each(func(rec []tableField, pos int64) error { return p.fill(d, rec, pos) }); err != nil {
		return nil, st, err
	}
	if d.Len() != p.rows {
		return nil, st, fmt.Errorf("%s: %d records on the second reading, want %d (did the file change?)", name, d.Len(), p.rows)
	}
	return d, p.stats, nil
}

var parquetMagic = []byte("PAR1")

// openParquet checks the magic bytes at both ends of f, for clear errors on files that are not
// Parquet or are truncated, then opens it.
func openParquet(f *os.File, name string) (*parquet.File, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	var head, tail [8]byte
	if _, err := f.ReadAt(head[:4], 0); err != nil {
		return nil, fmt.Errorf("%s: not a Parquet file (%d bytes, too short)", name, size)
	}
	switch {
	case bytes.HasPrefix(head[:4], gzipMagic):
		return nil, fmt.Errorf("%s: gzip-compressed, not a Parquet file (Parquet compresses its pages itself; decompress the file first)", name)
	case !bytes.Equal(head[:4], parquetMagic):
		return nil, fmt.Errorf("%s: not a Parquet file (starts with %q, want %q)", name, head[:4], parquetMagic)
	case size < 12:
		return nil, fmt.Errorf("%s: truncated Parquet file (%d bytes)", name, size)
	}
	if _, err := f.ReadAt(tail[:], size-8); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if !bytes.Equal(tail[4:], parquetMagic) {
		return nil, fmt.Errorf("%s: truncated Parquet file (it ends with %q, not the footer magic %q)", name, tail[4:], parquetMagic)
	}
	// The footer's length precedes the final magic. parquet-go allocates what it declares before
	// reading, so a corrupt length (up to 4 GiB) is refused here.
	if n := int64(binary.LittleEndian.Uint32(tail[:4])); n > size-12 {
		return nil, fmt.Errorf("%s: corrupt Parquet file: its footer declares %d bytes of metadata, but the file has %d bytes", name, n, size)
	}
	pf, err := parquet.OpenFile(f, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, fmt.Errorf("%s: reading the Parquet footer: %w", name, err)
	}
	if err := checkPageHeaders(f, size, pf); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return pf, nil
}

// parquetConv says how a column's values become table fields.
type parquetConv uint8

const (
	convUnsupported parquetConv = iota
	convBool
	convInt    // INT32 or INT64, signed
	convUint   // INT32 or INT64, unsigned
	convFloat  // FLOAT
	convDouble // DOUBLE
	convDecimalInt
	convDecimalBytes // BYTE_ARRAY or FIXED_LEN_BYTE_ARRAY decimal: big-endian two's complement
	convText
)

type parquetColumn struct {
	name     string
	conv     parquetConv
	why      string  // for convUnsupported: the type, for the error
	scale    float64 // DECIMAL: 10^scale
	drop     bool
	needText bool // fieldNumber values need their text (label, categorical)
	// intern holds the distinct strings of a text column, so that repeated values share one string.
	intern map[string]string
}

// parquetReader yields the records of a Parquet file as table fields.
type parquetReader struct {
	f      *parquet.File
	name   string
	cols   []*parquetColumn // one per leaf column, in leaf order
	starts []int64          // first record of each row group, and the total
	rec    []tableField
}

func newParquetReader(f *parquet.File, name string) (*parquetReader, error) {
	r := &parquetReader{f: f, name: name}
	var leaves []*parquet.Column
	var walk func(c *parquet.Column)
	walk = func(c *parquet.Column) {
		for _, k := range c.Columns() {
			if k.Leaf() {
				leaves = append(leaves, k)
			} else {
				walk(k)
			}
		}
	}
	walk(f.Root())
	seen := map[string]bool{}
	for i, c := range leaves {
		if c.Index() != i {
			return nil, fmt.Errorf("%s: column %q has index %d, want %d", name, c.Name(), c.Index(), i)
		}
		pc := parquetColumnOf(c)
		if seen[pc.name] {
			return nil, fmt.Errorf("%s: two columns are named %q", name, pc.name)
		}
		seen[pc.name] = true
		r.cols = append(r.cols, pc)
	}
	if len(r.cols) == 0 {
		return nil, fmt.Errorf("%s: the Parquet schema has no columns", name)
	}
	var n int64
	for _, g := range f.RowGroups() {
		r.starts = append(r.starts, n)
		n += g.NumRows()
	}
	r.starts = append(r.starts, n)
	r.rec = make([]tableField, len(r.cols))
	return r, nil
}

// parquetColumnOf classifies a leaf column by its physical and logical type.
func parquetColumnOf(c *parquet.Column) *parquetColumn {
	pc := &parquetColumn{name: strings.Join(c.Path(), ".")}
	if c.MaxRepetitionLevel() > 0 {
		pc.why = "repeated (list or map)"
		return pc
	}
	t := c.Type()
	var lt format.LogicalTypeValue
	if l := t.LogicalType(); l != nil {
		lt = l.Value
	}
	if dec, ok := lt.(*format.DecimalType); ok {
		if dec.Scale < 0 || dec.Precision < 1 || dec.Scale > dec.Precision {
			// The format requires 0 ≤ scale ≤ precision. A file outside it is corrupt, and a scale below
			// −323 made 10^scale 0 and so every 0 a NaN, read as a missing value.
			pc.why = fmt.Sprintf("DECIMAL(%d, %d) (precision, scale: the scale must lie in 0..precision)", dec.Precision, dec.Scale)
			return pc
		}
		pc.scale = math.Pow10(int(dec.Scale))
		switch t.Kind() {
		case parquet.Int32, parquet.Int64:
			pc.conv = convDecimalInt
		case parquet.ByteArray, parquet.FixedLenByteArray:
			pc.conv = convDecimalBytes
		}
		return pc
	}
	switch t.Kind() {
	case parquet.Boolean:
		pc.conv = convBool
	case parquet.Int32, parquet.Int64:
		pc.conv = convInt
		if it, ok := lt.(*format.IntType); ok && !it.IsSigned {
			pc.conv = convUint
		}
	case parquet.Float:
		pc.conv = convFloat
	case parquet.Double:
		pc.conv = convDouble
	case parquet.ByteArray:
		switch lt.(type) {
		case nil, *format.StringType, *format.EnumType, *format.JsonType:
			pc.conv = convText
		}
	}
	if pc.conv == convUnsupported {
		pc.why = t.String()
	}
	return pc
}

func (r *parquetReader) header() []string {
	h := make([]string, len(r.cols))
	for i, c := range r.cols {
		h[i] = c.name
	}
	return h
}

// bind takes the plan's view of the columns: which are dropped, which need text, and which are
// categorical because they hold strings. It rejects kept columns of unsupported types.
func (r *parquetReader) bind(p *tablePlan) error {
	p.at = r.at
	for i, c := range r.cols {
		pc := p.cols[i]
		c.drop = pc.drop
		if c.drop {
			continue
		}
		if c.conv == convUnsupported {
			return fmt.Errorf("%s: column %q: type %s is not supported (list the column in %s)", r.name, c.name, c.why, p.names.Drop)
		}
		if c.conv == convText {
			pc.categorical = i != p.label && i != p.group
			c.intern = map[string]string{}
		}
		c.needText = pc.categorical || i == p.label || i == p.group
	}
	return nil
}

// at names record pos and column col in an error.
func (r *parquetReader) at(pos int64, col int, err error) error {
	g := 0
	for g+1 < len(r.starts)-1 && r.starts[g+1] <= pos {
		g++
	}
	return fmt.Errorf("%s: record %d (row group %d, row %d): column %q: %w", r.name, pos, g, pos-r.starts[g], r.cols[col].name, err)
}

// each calls fn on every record, in file order. The fields are valid until fn returns.
func (r *parquetReader) each(fn func(rec []tableField, pos int64) error) error {
	buf := make([]parquet.Row, 256)
	for g, rg := range r.f.RowGroups() {
		if err := r.eachInGroup(g, rg, buf, fn); err != nil {
			return err
		}
	}
	return nil
}

func (r *parquetReader) eachInGroup(g int, rg parquet.RowGroup, buf []parquet.Row, fn func([]tableField, int64) error) error {
	rows := rg.Rows()
	defer rows.Close()
	pos := r.starts[g]
	for {
		n, err := rows.ReadRows(buf)
		for _, row := range buf[:n] {
			if pos >= r.starts[g+1] {
				return fmt.Errorf("%s: row group %d has more rows than the %d its metadata declares", r.name, g, r.starts[g+1]-r.starts[g])
			}
			for i := range r.rec {
				r.rec[i] = tableField{kind: fieldNull}
			}
			for _, v := range row {
				i := v.Column()
				if i < 0 || i >= len(r.cols) {
					return fmt.Errorf("%s: record %d (row group %d, row %d): value of column %d, but the schema has %d columns", r.name, pos, g, pos-r.starts[g], i, len(r.cols))
				}
				c := r.cols[i]
				if c.drop || v.IsNull() {
					continue
				}
				if err := c.field(&r.rec[i], v); err != nil {
					return r.at(pos, i, err)
				}
			}
			if err := fn(r.rec, pos); err != nil {
				return err
			}
			pos++
		}
		if err == io.EOF {
			break
		}
		if err != nil || n == 0 {
			if err == nil {
				err = errors.New("no rows read")
			}
			from := pos - r.starts[g]
			to := min(from+int64(len(buf)), r.starts[g+1]-r.starts[g]) - 1
			return fmt.Errorf("%s: row group %d, rows %d to %d: %w", r.name, g, from, to, err)
		}
	}
	if pos != r.starts[g+1] {
		return fmt.Errorf("%s: row group %d has %d rows, but its metadata declares %d", r.name, g, pos-r.starts[g], r.starts[g+1]-r.starts[g])
	}
	return nil
}

// field converts a non-null value of column c.
func (c *parquetColumn) field(f *tableField, v parquet.Value) error {
	f.kind = fieldNumber
	bits := 64
	switch c.conv {
	case convBool:
		f.num = 0
		if v.Boolean() {
			f.num = 1
		}
		if c.needText {
			f.text = strconv.Itoa(int(f.num))
		}
		return nil
	case convInt, convDecimalInt:
		var x int64
		if v.Kind() == parquet.Int32 {
			x = int64(v.Int32())
		} else {
			x = v.Int64()
		}
		f.num = float64(x)
		if c.conv == convDecimalInt {
			f.num /= c.scale
			break
		}
		if c.needText {
			f.text = strconv.FormatInt(x, 10)
		}
		return nil
	case convUint:
		var x uint64
		if v.Kind() == parquet.Int32 {
			x = uint64(v.Uint32())
		} else {
			x = v.Uint64()
		}
		f.num = float64(x)
		if c.needText {
			f.text = strconv.FormatUint(x, 10)
		}
		return nil
	case convFloat:
		f.num = float64(v.Float())
		bits = 32
	case convDouble:
		f.num = v.Double()
	case convDecimalBytes:
		f.num = decimalFromBytes(v.ByteArray()) / c.scale
	case convText:
		b := bytes.TrimSpace(v.ByteArray())
		if !utf8.Valid(b) {
			return errors.New("string value is not valid UTF-8")
		}
		s, ok := c.intern[string(b)]
		if !ok {
			s = string(b)
			if len(c.intern) < 1<<16 {
				c.intern[s] = s
			}
		}
		*f = tableField{kind: fieldText, text: s}
		return nil
	default:
		return fmt.Errorf("unsupported value of kind %s", v.Kind())
	}
	if c.needText {
		f.text = strconv.FormatFloat(f.num, 'g', -1, bits)
	}
	return nil
}

// decimalFromBytes reads a big-endian two's complement integer.
func decimalFromBytes(b []byte) float64 {
	x := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	f, _ := new(big.Float).SetInt(x).Float64()
	return f
}
