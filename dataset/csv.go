package dataset

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// MissingPolicy says what LoadCSV does with a missing feature value.
type MissingPolicy int

const (
	// MissingError rejects the file at the first missing feature value, naming its line and column.
	MissingError MissingPolicy = iota
	// MissingDrop drops every record that has a missing feature value.
	MissingDrop
	// MissingImpute replaces a missing numeric value by the mean of the column's present values over
	// the whole file, and encodes a missing categorical value as all zeros (no category). The mean
	// uses every record of the file, test records included; to keep test statistics out of training,
	// use MissingDrop or impute before splitting.
	MissingImpute
)

// CSVOptions configure LoadCSV. The zero value reads a comma-separated file whose last column is the
// label, rejecting missing values.
type CSVOptions struct {
	// Label is the name of the label column; "" means the last column.
	Label string
	// Classes, if set, is the label vocabulary in class order: a label equal to Classes[k] is class k,
	// and any other label is an error. Use it to give several files the same label mapping.
	Classes []string
	// Comma is the field separator; 0 means ','.
	Comma rune
	// Categorical lists columns to one-hot encode even when all their values are numbers.
	Categorical []string
	// Drop lists columns to ignore (identifiers, leaky columns).
	Drop []string
	// Missing is the missing-value policy for feature columns. A missing label is always an error,
	// except under MissingDrop, which drops the record.
	Missing MissingPolicy
	// MissingValues are the field values (after trimming spaces) that mean "missing". nil means "",
	// "?", "NA", "N/A", "NaN", "nan", "null" and "NULL".
	MissingValues []string
	// MaxCategories bounds the number of distinct values of a categorical column (and of labels when
	// Classes is nil); 0 means 1,000. A column over the bound is an error, which usually means a
	// free-text or identifier column that belongs in Drop.
	MaxCategories int
}

var defaultMissing = []string{"", "?", "NA", "N/A", "NaN", "nan", "null", "NULL"}

// LoadCSV reads a delimited text file with a header line (gzipped or not) into a dataset.
//
// Every column other than the label and the dropped ones becomes features. A column whose present
// values all parse as finite numbers is numeric and gives one feature; any other column (or one
// listed in Categorical) is categorical and gives one 0/1 feature per distinct value, in sorted order
// (numeric order when every value is a number), named "column=value". Missing values follow
// opts.Missing. Labels map to classes through opts.Classes when given; otherwise the distinct label
// values, sorted (numerically when they are all numbers), are classes 0, 1, …, and ClassNames holds
// them. Fields are trimmed of surrounding spaces; quoting follows RFC 4180.
//
// The file is read twice: once to find column kinds, categories and means, once to fill the features.
// Errors name the file, line and column: a row with the wrong number of fields, a missing label, an
// unknown label, a missing value under MissingError.
func LoadCSV(name string, opts CSVOptions) (*Dataset, error) {
	if opts.Comma == 0 {
		opts.Comma = ','
	}
	p, err := scanCSV(name, &opts)
	if err != nil {
		return nil, err
	}
	return fillCSV(p, name, &opts)
}

func newCSVReader(r io.Reader, comma rune) *csv.Reader {
	cr := csv.NewReader(r)
	cr.Comma = comma
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	return cr
}

// csvRecords reads the records of a CSV file after its header as table fields, skipping blank lines.
type csvRecords struct {
	name   string
	cr     *csv.Reader
	ncols  int
	fields []tableField
}

// next returns the next record and its line, io.EOF after the last one. The fields are valid until
// the next call.
func (r *csvRecords) next() ([]tableField, int, error) {
	for {
		rec, err := r.cr.Read()
		if err == io.EOF {
			return nil, 0, err
		}
		if err != nil {
			return nil, 0, csvErr(r.name, err)
		}
		line, _ := r.cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" && r.ncols > 1 {
			continue // blank line
		}
		if len(rec) != r.ncols {
			return nil, line, &ParseError{File: r.name, Line: line, Err: fmt.Errorf("%d fields, want %d as in the header", len(rec), r.ncols)}
		}
		r.fields = r.fields[:0]
		for _, v := range rec {
			r.fields = append(r.fields, tableField{text: strings.TrimSpace(v)})
		}
		return r.fields, line, nil
	}
}

// openCSV opens name and reads its header.
func openCSV(name string, opts *CSVOptions) (*source, []string, *csvRecords, error) {
	s, err := openSource(name)
	if err != nil {
		return nil, nil, nil, err
	}
	cr := newCSVReader(s, opts.Comma)
	header, err := cr.Read()
	if err != nil {
		s.Close()
		if err == io.EOF {
			return nil, nil, nil, fmt.Errorf("%s: empty file, want a header line", name)
		}
		return nil, nil, nil, csvErr(name, err)
	}
	header = slices.Clone(header)
	for i, h := range header {
		header[i] = strings.TrimSpace(h)
	}
	return s, header, &csvRecords{name: name, cr: cr, ncols: len(header)}, nil
}

func csvAt(name string, cols []*tableColumn) func(pos int64, col int, err error) error {
	return func(pos int64, col int, err error) error {
		return &ParseError{File: name, Line: int(pos), Field: col + 1, Column: cols[col].name, Err: err}
	}
}

// scanCSV is the first pass: it finds column kinds, categories, means and classes.
func scanCSV(name string, opts *CSVOptions) (*tablePlan, error) {
	s, header, recs, err := openCSV(name, opts)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	p, err := newTablePlan(name, header, opts, 1)
	if err != nil {
		return nil, err
	}
	p.at = csvAt(name, p.cols)
	for {
		rec, line, err := recs.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := p.scan(rec, int64(line)); err != nil {
			return nil, err
		}
	}
	if err := p.finish(name); err != nil {
		return nil, err
	}
	return p, nil
}

// fillCSV is the second pass: it encodes every kept record.
func fillCSV(p *tablePlan, name string, opts *CSVOptions) (*Dataset, error) {
	s, _, recs, err := openCSV(name, opts)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	d := p.newDataset("csv:" + filepath.Base(name))
	for d.Len() < p.rows {
		rec, line, err := recs.next()
		if err == io.EOF {
			return nil, fmt.Errorf("%s: file changed while reading (%d records, want %d)", name, d.Len(), p.rows)
		}
		if err != nil {
			return nil, err
		}
		if err := p.fill(d, rec, int64(line)); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// sortedValues returns the keys of m in numeric order when they all parse as numbers, else in string
// order.
func sortedValues(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	nums := make(map[string]float64, len(m))
	numeric := true
	for k := range m {
		keys = append(keys, k)
		f, err := strconv.ParseFloat(k, 64)
		if err != nil {
			numeric = false
		}
		nums[k] = f
	}
	if numeric {
		slices.SortFunc(keys, func(a, b string) int {
			return cmp.Or(cmp.Compare(nums[a], nums[b]), strings.Compare(a, b))
		})
	} else {
		slices.Sort(keys)
	}
	return keys
}

func csvErr(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &ParseError{File: name, Line: pe.Line, Err: fmt.Errorf("byte %d: %w", pe.Column, pe.Err)}
	}
	return fmt.Errorf("%s: %w", name, err)
}

// The table engine below turns the records of a table with a header (a CSV file, a Parquet file) into
// a Dataset, in two passes over the records: tablePlan.scan learns column kinds, categories, means
// and classes; tablePlan.fill encodes each kept record. The loaders supply the records as tableFields
// and a function that names a record and column in errors.

// fieldKind says what a tableField holds.
type fieldKind uint8

const (
	fieldText   fieldKind = iota // text, classified by the engine (a CSV field, a Parquet string)
	fieldNumber                  // a typed number (Parquet numeric and boolean values)
	fieldNull                    // a typed null: always missing
)

// tableField is one field of a record. A text field is missing when its text is one of the missing
// values; a number is missing when it is NaN.
type tableField struct {
	kind fieldKind
	text string  // fieldText; for fieldNumber, the number's text where the column needs it (label, categorical)
	num  float64 // fieldNumber
}

// describe quotes the field for error messages.
func (f *tableField) describe() string {
	switch f.kind {
	case fieldNull:
		return "null"
	case fieldNumber:
		return strconv.FormatFloat(f.num, 'g', -1, 64)
	}
	return strconv.Quote(f.text)
}

// tableColumn is what the first pass learned about one column.
type tableColumn struct {
	name        string
	drop        bool
	categorical bool
	numeric     bool           // every present text value is a number so far
	distinct    map[string]int // value → count, while under the category bound
	overflow    bool           // more than MaxCategories distinct values
	sum         float64        // of numeric values
	present     int
	missing     int
	categories  []string // final one-hot vocabulary
	catIndex    map[string]int
	mean        float64
	offset      int // first feature of this column
}

// tablePlan is the encoding of a table, built by the first pass and used by the second.
type tablePlan struct {
	cols    []*tableColumn
	label   int
	rows    int // records kept
	dim     int
	labels  map[string]int // label → count during the first pass
	classes []string
	classIx map[string]int
	missing map[string]bool
	opts    *CSVOptions
	// at names the record at pos (a line, a row) and column col (0-based) in an error.
	at func(pos int64, col int, err error) error
}

// newTablePlan checks the header (column names) and the options. A duplicate column name is a
// *ParseError at line headerLine.
func newTablePlan(name string, header []string, opts *CSVOptions, headerLine int) (*tablePlan, error) {
	if opts.MaxCategories == 0 {
		opts.MaxCategories = 1000
	}
	p := &tablePlan{label: -1, missing: map[string]bool{}, labels: map[string]int{}, opts: opts}
	mv := opts.MissingValues
	if mv == nil {
		mv = defaultMissing
	}
	for _, v := range mv {
		p.missing[v] = true
	}
	seen := map[string]bool{}
	for i, h := range header {
		if seen[h] {
			return nil, &ParseError{File: name, Line: headerLine, Field: i + 1, Column: h, Err: errors.New("duplicate column name")}
		}
		seen[h] = true
		p.cols = append(p.cols, &tableColumn{name: h, numeric: true, distinct: map[string]int{}})
	}
	if opts.Label == "" {
		p.label = len(p.cols) - 1
	}
	for i, c := range p.cols {
		if opts.Label != "" && c.name == opts.Label {
			p.label = i
		}
		c.drop = slices.Contains(opts.Drop, c.name)
		c.categorical = slices.Contains(opts.Categorical, c.name)
	}
	if p.label < 0 {
		return nil, fmt.Errorf("%s: no label column %q (columns: %s)", name, opts.Label, strings.Join(header, ", "))
	}
	if p.cols[p.label].drop {
		return nil, fmt.Errorf("%s: the label column %q is also listed in Drop", name, p.cols[p.label].name)
	}
	for _, list := range [][]string{opts.Drop, opts.Categorical} {
		for _, n := range list {
			if !seen[n] {
				return nil, fmt.Errorf("%s: option names column %q, which the header lacks", name, n)
			}
		}
	}
	return p, nil
}

func (p *tablePlan) isMissing(f *tableField) bool {
	switch f.kind {
	case fieldNull:
		return true
	case fieldNumber:
		return f.num != f.num
	}
	return p.missing[f.text]
}

// rowHasMissing reports whether a field of a kept column (label included) is missing.
func (p *tablePlan) rowHasMissing(rec []tableField) bool {
	for i, c := range p.cols {
		if !c.drop && p.isMissing(&rec[i]) {
			return true
		}
	}
	return false
}

// scan is the first pass over one record.
func (p *tablePlan) scan(rec []tableField, pos int64) error {
	opts := p.opts
	lf := &rec[p.label]
	if p.isMissing(lf) {
		if opts.Missing == MissingDrop {
			return nil
		}
		return p.at(pos, p.label, errors.New("missing label"))
	}
	if opts.Missing != MissingImpute && p.rowHasMissing(rec) {
		if opts.Missing == MissingDrop {
			return nil
		}
		for i, c := range p.cols {
			if !c.drop && p.isMissing(&rec[i]) {
				return p.at(pos, i, fmt.Errorf("missing value %s (set CSVOptions.Missing to drop or impute)", rec[i].describe()))
			}
		}
	}
	p.rows++
	if opts.Classes == nil {
		if _, ok := p.labels[lf.text]; !ok && len(p.labels) >= max(opts.MaxCategories, 65536) {
			return p.at(pos, p.label, fmt.Errorf("more than %d distinct labels; is this a class label?", len(p.labels)))
		}
		p.labels[lf.text]++
	}
	for i, c := range p.cols {
		if c.drop || i == p.label {
			continue
		}
		f := &rec[i]
		if p.isMissing(f) {
			c.missing++
			continue
		}
		c.present++
		if f.kind == fieldNumber && !c.categorical {
			if math.IsInf(f.num, 0) {
				return p.at(pos, i, fmt.Errorf("value %v is infinite", f.num))
			}
			c.sum += f.num
			continue // a typed number column stays numeric: no categories to track
		}
		if c.numeric && !c.categorical {
			v, err := strconv.ParseFloat(f.text, 64)
			if err != nil || math.IsInf(v, 0) || v != v {
				c.numeric = false
			} else {
				c.sum += v
			}
		}
		if !c.overflow {
			if _, ok := c.distinct[f.text]; !ok && len(c.distinct) >= opts.MaxCategories {
				c.overflow = true
				c.distinct = nil
			} else {
				c.distinct[f.text]++
			}
		}
		if (c.categorical || !c.numeric) && c.overflow {
			return p.at(pos, i, fmt.Errorf("categorical column has more than %d distinct values (list it in CSVOptions.Drop, or raise MaxCategories)", opts.MaxCategories))
		}
	}
	return nil
}

// finish ends the first pass: it fixes the categories, the feature offsets, the means and the classes.
func (p *tablePlan) finish(name string) error {
	if p.rows == 0 {
		return fmt.Errorf("%s: no records", name)
	}
	for i, c := range p.cols {
		if c.drop || i == p.label {
			continue
		}
		c.offset = p.dim
		if c.categorical || !c.numeric {
			c.categorical = true
			c.categories = sortedValues(c.distinct)
			c.catIndex = make(map[string]int, len(c.categories))
			for k, v := range c.categories {
				c.catIndex[v] = k
			}
			p.dim += len(c.categories)
			continue
		}
		c.distinct = nil
		if c.present > 0 {
			c.mean = c.sum / float64(c.present)
		}
		p.dim++
	}
	if p.dim == 0 {
		return fmt.Errorf("%s: no feature columns", name)
	}
	if p.opts.Classes != nil {
		p.classes = p.opts.Classes
	} else {
		p.classes = sortedValues(p.labels)
	}
	p.labels = nil
	p.classIx = make(map[string]int, len(p.classes))
	for k, v := range p.classes {
		p.classIx[v] = k
	}
	return nil
}

// newDataset allocates the dataset of the second pass, with its feature and class names and no
// records yet (d.X has room for all of them; d.Len() counts those filled).
func (p *tablePlan) newDataset(name string) *Dataset {
	d := &Dataset{
		Name:         name,
		X:            make([]float32, p.rows*p.dim),
		Y:            make([]int, 0, p.rows),
		Shape:        []int{p.dim},
		Classes:      len(p.classes),
		FeatureNames: make([]string, 0, p.dim),
		ClassNames:   p.classes,
	}
	for i, c := range p.cols {
		switch {
		case c.drop || i == p.label:
		case c.categorical:
			for _, v := range c.categories {
				d.FeatureNames = append(d.FeatureNames, c.name+"="+v)
			}
		default:
			d.FeatureNames = append(d.FeatureNames, c.name)
		}
	}
	return d
}

// fill is the second pass over one record: it appends the record to d unless the missing-value
// policy drops it. The first pass must have accepted the same records.
func (p *tablePlan) fill(d *Dataset, rec []tableField, pos int64) error {
	if p.opts.Missing == MissingDrop && p.rowHasMissing(rec) {
		return nil
	}
	r := d.Len()
	if r == p.rows {
		return p.at(pos, p.label, errors.New("more records than in the first pass (did the file change?)"))
	}
	lf := &rec[p.label]
	y, ok := p.classIx[lf.text]
	if !ok {
		return p.at(pos, p.label, fmt.Errorf("label %s is not one of the classes %q", lf.describe(), p.classes))
	}
	row := d.X[r*p.dim : (r+1)*p.dim]
	for i, c := range p.cols {
		if c.drop || i == p.label {
			continue
		}
		f := &rec[i]
		miss := p.isMissing(f)
		switch {
		case c.categorical && miss:
		case c.categorical:
			k, ok := c.catIndex[f.text]
			if !ok {
				return p.at(pos, i, fmt.Errorf("value %s appeared while reading", f.describe()))
			}
			row[c.offset+k] = 1
		case miss:
			row[c.offset] = float32(c.mean)
		case f.kind == fieldNumber:
			row[c.offset] = float32(f.num)
		default:
			v, err := strconv.ParseFloat(f.text, 64)
			if err != nil {
				return p.at(pos, i, fmt.Errorf("%s is not a number", f.describe()))
			}
			row[c.offset] = float32(v)
		}
	}
	d.Y = append(d.Y, y)
	return nil
}
