package dataset

import (
	"bytes"
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

// MissingPolicy says what LoadCSV and LoadParquet do with a missing value.
type MissingPolicy int

const (
	// MissingError rejects the file at the first missing value, naming its line (or record) and column.
	MissingError MissingPolicy = iota
	// MissingDrop drops every record that has a missing value in a kept column, label included;
	// TableStats.Dropped counts them.
	MissingDrop
	// MissingMean keeps records whose features have missing values, for imputation with statistics
	// of the training rows only: a missing numeric value is loaded as NaN, to be replaced by the
	// training rows' mean with FitMeanImputer and MeanImputer.Apply before any other use (Validate
	// rejects NaN); a missing categorical value is encoded as all zeros (no category). A missing
	// label is still an error.
	MissingMean
)

var missingPolicyNames = [...]string{MissingError: "error", MissingDrop: "drop", MissingMean: "mean"}

// String returns the policy's name: error, drop or mean.
func (m MissingPolicy) String() string {
	if m >= 0 && int(m) < len(missingPolicyNames) {
		return missingPolicyNames[m]
	}
	return fmt.Sprintf("MissingPolicy(%d)", int(m))
}

// ParseMissingPolicy returns the policy named error, drop or mean.
func ParseMissingPolicy(s string) (MissingPolicy, error) {
	for m, name := range missingPolicyNames {
		if s == name {
			return MissingPolicy(m), nil
		}
	}
	return 0, fmt.Errorf("unknown missing-value policy %q (want error, drop or mean)", s)
}

const (
	// DefaultMaxCategories is the bound on the distinct values of a categorical column when
	// TabularOptions.MaxCategories is 0. A column with more is more likely an identifier, a
	// free-text field or a mistyped numeric column than a category, and would add that many
	// features.
	DefaultMaxCategories = 100
	// countCap bounds the distinct values counted per column for the error message, unless twice
	// MaxCategories is larger, so that an identifier or free-text column costs bounded memory; beyond
	// it the error says "more than".
	countCap = 10000
	// labelCap bounds the distinct labels, unless MaxCategories is larger.
	labelCap = 1 << 16
)

// TabularOptions configure LoadCSV and LoadParquet. The zero value reads a comma-separated file whose
// last column is the label, rejecting missing values and allowing DefaultMaxCategories values per
// categorical column.
type TabularOptions struct {
	// Label is the name of the label column; "" means the last column.
	Label string
	// Classes, if set, is the label vocabulary in class order: a label equal to Classes[k] is class k,
	// and any other label is an error. Use it to give several files the same label mapping.
	Classes []string
	// Comma is the CSV field separator; 0 means ','.
	Comma rune
	// Categorical lists columns to one-hot encode even when all their values are numbers.
	Categorical []string
	// Drop lists columns to ignore (identifiers, leaky columns).
	Drop []string
	// Group, if set, names a column that identifies each record's group (a user id): not a feature;
	// its text per record goes to Dataset.Groups. A missing group is a missing value.
	Group string
	// Missing is the missing-value policy (MissingError by default).
	Missing MissingPolicy
	// MissingValues are the field values (after trimming spaces) that mean "missing". nil means "",
	// "?", "NA", "N/A", "NaN", "nan", "null" and "NULL".
	MissingValues []string
	// MaxCategories bounds the number of distinct values of a categorical column; 0 means
	// DefaultMaxCategories. A column over the bound is an error that names it and its count (counted up
	// to 10,000, or twice MaxCategories). Labels have their own bound, max(MaxCategories, 65,536), when
	// Classes is nil.
	MaxCategories int
	// Names is how error messages refer to these options, so that their advice names what the
	// caller's user can change (keys of a config file, flags); an empty name is the Go field's.
	Names OptionNames
}

// OptionNames are the names of TabularOptions' fields in error messages.
type OptionNames struct {
	Label, Categorical, Drop, Missing, MaxCategories, Group string
}

// withDefaults fills the empty names with the Go field names.
func (n OptionNames) withDefaults() OptionNames {
	def := func(s *string, v string) {
		if *s == "" {
			*s = "TabularOptions." + v
		}
	}
	def(&n.Label, "Label")
	def(&n.Categorical, "Categorical")
	def(&n.Group, "Group")
	def(&n.Drop, "Drop")
	def(&n.Missing, "Missing")
	def(&n.MaxCategories, "MaxCategories")
	return n
}

// TableStats says what LoadCSV or LoadParquet did with the file's records.
type TableStats struct {
	Records int // data records in the file (blank CSV lines are not records)
	Dropped int // records dropped for a missing value (MissingDrop)
	Missing int // missing feature values kept for imputation (MissingMean): NaN numbers, all-zero categories
}

var defaultMissing = []string{"", "?", "NA", "N/A", "NaN", "nan", "null", "NULL"}

// utf8BOM is the byte order mark that some spreadsheet programs write at the start of a UTF-8 file.
var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// LoadCSV reads a delimited text file with a header line (gzipped or not) into a dataset. A UTF-8
// byte order mark before the header is ignored.
//
// Every column other than the label and the dropped ones becomes features. A column whose present
// values all parse as finite numbers is numeric and gives one feature; a column whose present values
// are all text, or one listed in opts.Categorical, is categorical and gives one 0/1 feature per
// distinct value, in sorted order (numeric order when every value is a number), named
// "column=value". A column that mixes numbers and text is an error naming the first cell of the
// minority kind (usually a typo in a numeric column) and saying how to declare the column
// categorical or drop it: a numeric column is never silently one-hot encoded. Missing values follow
// opts.Missing. Labels map to classes through opts.Classes when given; otherwise the distinct label
// values, sorted (numerically when they are all numbers), are classes 0, 1, …, and ClassNames holds
// them. Fields are trimmed of surrounding spaces; quoting follows RFC 4180.
//
// The file is read twice: once to find column kinds, categories and classes, once to fill the
// features. Errors name the file, line and column: a row with the wrong number of fields, a missing
// label, an unknown label, a missing value under MissingError, a mixed column, a categorical column
// with more than opts.MaxCategories values.
func LoadCSV(name string, opts TabularOptions) (*Dataset, TableStats, error) {
	if opts.Comma == 0 {
		opts.Comma = ','
	}
	p, err := scanCSV(name, &opts)
	if err != nil {
		return nil, TableStats{}, err
	}
	d, err := fillCSV(p, name, &opts)
	if err != nil {
		return nil, TableStats{}, err
	}
	return d, p.stats, nil
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

// openCSV opens name, skips a UTF-8 byte order mark and reads the header.
func openCSV(name string, opts *TabularOptions) (*source, []string, *csvRecords, error) {
	s, err := openSource(name)
	if err != nil {
		return nil, nil, nil, err
	}
	if b, _ := s.Peek(len(utf8BOM)); bytes.Equal(b, utf8BOM) {
		s.Discard(len(utf8BOM))
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

// scanCSV is the first pass: it finds column kinds, categories and classes.
func scanCSV(name string, opts *TabularOptions) (*tablePlan, error) {
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
func fillCSV(p *tablePlan, name string, opts *TabularOptions) (*Dataset, error) {
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

// cell is the place and text of a field, kept for an error message after the first pass.
type cell struct {
	pos  int64
	text string // quoted as tableField.describe quotes it
	inf  bool   // a number, but infinite
}

// tableColumn is what the first pass learned about one column.
type tableColumn struct {
	name        string
	drop        bool
	categorical bool           // listed in Categorical, or a Parquet string column
	numbers     int            // present values that are finite numbers (typed, or text that parses)
	texts       int            // present text values that are not
	firstNumber cell           // the first number given as text
	firstText   cell           // the first text value that is not a number
	distinct    map[string]int // value → count, while the column may be categorical and under countLimit
	overflow    bool           // more than countLimit distinct values
	overMax     cell           // the first value beyond MaxCategories distinct ones
	missing     int            // missing values in kept records
	categories  []string       // final one-hot vocabulary
	catIndex    map[string]int
	offset      int // first feature of this column
}

// tablePlan is the encoding of a table, built by the first pass and used by the second.
type tablePlan struct {
	cols    []*tableColumn
	label   int
	group   int // the group column (opts.Group), −1 without one
	rows    int // records kept
	dim     int
	labels  map[string]int // label → count during the first pass
	classes []string
	classIx map[string]int
	missing map[string]bool
	opts    *TabularOptions
	names   OptionNames // opts.Names with defaults
	stats   TableStats
	// at names the record at pos (a line, a row) and column col (0-based) in an error.
	at func(pos int64, col int, err error) error
}

// newTablePlan checks the header (column names) and the options. A duplicate column name is a
// *ParseError at line headerLine.
func newTablePlan(name string, header []string, opts *TabularOptions, headerLine int) (*tablePlan, error) {
	n := opts.Names.withDefaults()
	if opts.MaxCategories < 0 {
		return nil, fmt.Errorf("%s: %s is %d, must not be negative", name, n.MaxCategories, opts.MaxCategories)
	}
	if opts.MaxCategories == 0 {
		opts.MaxCategories = DefaultMaxCategories
	}
	if opts.Missing < MissingError || opts.Missing > MissingMean {
		return nil, fmt.Errorf("%s: %s is %v, want error, drop or mean", name, n.Missing, opts.Missing)
	}
	p := &tablePlan{label: -1, group: -1, missing: map[string]bool{}, labels: map[string]int{}, opts: opts, names: n}
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
		p.cols = append(p.cols, &tableColumn{name: h, distinct: map[string]int{}})
	}
	columns := strings.Join(header, ", ")
	if opts.Label == "" {
		p.label = len(p.cols) - 1
	}
	for i, c := range p.cols {
		if opts.Label != "" && c.name == opts.Label {
			p.label = i
		}
		c.drop = slices.Contains(opts.Drop, c.name)
		c.categorical = slices.Contains(opts.Categorical, c.name)
		if opts.Group != "" && c.name == opts.Group {
			p.group = i
		}
	}
	if opts.Group != "" {
		switch {
		case p.group < 0:
			return nil, fmt.Errorf("%s: no group column %q, which %s names (the file's columns: %s)", name, opts.Group, n.Group, columns)
		case p.group == p.label:
			return nil, fmt.Errorf("%s: the group column %q (%s) is the label column", name, opts.Group, n.Group)
		case p.cols[p.group].drop || p.cols[p.group].categorical:
			return nil, fmt.Errorf("%s: the group column %q (%s) is also listed in %s or %s", name, opts.Group, n.Group, n.Drop, n.Categorical)
		}
	}
	if p.label < 0 {
		return nil, fmt.Errorf("%s: no label column %q, which %s names (the file's columns: %s)", name, opts.Label, n.Label, columns)
	}
	if p.cols[p.label].drop {
		return nil, fmt.Errorf("%s: the label column %q is also listed in %s", name, p.cols[p.label].name, n.Drop)
	}
	for _, o := range []struct {
		option string
		list   []string
	}{{n.Drop, opts.Drop}, {n.Categorical, opts.Categorical}} {
		for _, c := range o.list {
			if !seen[c] {
				return nil, fmt.Errorf("%s: %s names column %q, which the file lacks (its columns: %s)", name, o.option, c, columns)
			}
		}
	}
	for _, c := range p.cols {
		if c.drop && c.categorical {
			return nil, fmt.Errorf("%s: column %q is listed in both %s and %s", name, c.name, n.Drop, n.Categorical)
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
	p.stats.Records++
	if opts.Missing == MissingDrop && p.rowHasMissing(rec) {
		p.stats.Dropped++
		return nil
	}
	lf := &rec[p.label]
	if p.isMissing(lf) {
		return p.at(pos, p.label, fmt.Errorf("missing label %s (set %s to drop to drop the records without a label)", lf.describe(), p.names.Missing))
	}
	if p.group >= 0 && p.isMissing(&rec[p.group]) {
		return p.at(pos, p.group, fmt.Errorf("missing group %s (%s; set %s to drop to drop such records)", rec[p.group].describe(), p.names.Group, p.names.Missing))
	}
	if opts.Missing == MissingError {
		for i, c := range p.cols {
			if !c.drop && p.isMissing(&rec[i]) {
				return p.at(pos, i, fmt.Errorf("missing value %s; set %s to drop (to drop such records) or to mean (to impute the training rows' mean), or list %s in %s to ignore the column",
					rec[i].describe(), p.names.Missing, c.name, p.names.Drop))
			}
		}
	}
	p.rows++
	if opts.Classes == nil {
		if n, ok := p.labels[lf.text]; ok {
			p.labels[lf.text] = n + 1
		} else if len(p.labels) >= max(opts.MaxCategories, labelCap) {
			return p.at(pos, p.label, fmt.Errorf("more than %d distinct labels; is this a class label?", len(p.labels)))
		} else {
			p.labels[strings.Clone(lf.text)] = 1 // a copy: the field may share its memory with the whole line
		}
	}
	for i, c := range p.cols {
		if c.drop || i == p.label || i == p.group {
			continue
		}
		f := &rec[i]
		if p.isMissing(f) {
			c.missing++
			continue
		}
		if f.kind == fieldNumber {
			if math.IsInf(f.num, 0) {
				return p.at(pos, i, fmt.Errorf("value %v is infinite", f.num))
			}
			if !c.categorical {
				if _, err := toFloat32(f.num, f.describe); err != nil {
					return p.at(pos, i, fmt.Errorf("%w; correct the value, or list %s in %s to one-hot encode the column, or in %s to ignore it", err, c.name, p.names.Categorical, p.names.Drop))
				}
			}
			c.numbers++
			if c.categorical {
				p.count(c, f.text, pos)
			}
			continue
		}
		if c.categorical {
			p.count(c, f.text, pos)
			continue
		}
		// An undeclared text column: numeric if every value is a finite number, categorical if none
		// is, and an error (in finish) if it mixes the two. Its distinct values are counted only while
		// it holds no number.
		v, err := strconv.ParseFloat(f.text, 64)
		if err == nil && !math.IsInf(v, 0) && v == v {
			if _, err := toFloat32(v, f.describe); err != nil {
				return p.at(pos, i, fmt.Errorf("%w; correct the cell, or list %s in %s to one-hot encode the column, or in %s to ignore it", err, c.name, p.names.Categorical, p.names.Drop))
			}
			if c.numbers == 0 {
				c.firstNumber = cell{pos: pos, text: f.describe()}
				c.distinct = nil
			}
			c.numbers++
			continue
		}
		if c.texts == 0 {
			c.firstText = cell{pos: pos, text: f.describe(), inf: err == nil && math.IsInf(v, 0)}
		}
		c.texts++
		if c.numbers == 0 {
			p.count(c, f.text, pos)
		}
	}
	return nil
}

// count adds a value of a categorical column to its distinct values.
func (p *tablePlan) count(c *tableColumn, v string, pos int64) {
	if c.overflow {
		return
	}
	if n, ok := c.distinct[v]; ok {
		c.distinct[v] = n + 1
		return
	}
	if len(c.distinct) == p.opts.MaxCategories {
		c.overMax = cell{pos: pos, text: strconv.Quote(v)}
	}
	if len(c.distinct) >= p.countLimit() {
		c.overflow, c.distinct = true, nil
		return
	}
	c.distinct[strings.Clone(v)] = 1 // a copy: the field may share its memory with the whole line
}

// countLimit is the number of distinct values counted per column for the error message.
func (p *tablePlan) countLimit() int { return max(2*p.opts.MaxCategories, countCap) }

// mixedError reports a column that holds numbers and text, at the first cell of the minority kind.
func (p *tablePlan) mixedError(i int) error {
	c := p.cols[i]
	advice := fmt.Sprintf("list %s in %s to one-hot encode the column, or in %s to ignore it", c.name, p.names.Categorical, p.names.Drop)
	total := c.numbers + c.texts
	if c.numbers >= c.texts {
		what := "is not a number"
		if c.firstText.inf {
			what = "is not a finite number"
		}
		if c.texts > 1 {
			what += fmt.Sprintf(" (the first of %d such values)", c.texts)
		}
		return p.at(c.firstText.pos, i, fmt.Errorf("%s %s, but %d of the column's %d values are numbers; correct the cell, or %s",
			c.firstText.text, what, c.numbers, total, advice))
	}
	what := "is a number"
	if c.numbers > 1 {
		what += fmt.Sprintf(" (the first of %d)", c.numbers)
	}
	return p.at(c.firstNumber.pos, i, fmt.Errorf("%s %s, but %d of the column's %d values are text; %s", c.firstNumber.text, what, c.texts, total, advice))
}

// tooManyError reports a categorical column with more than MaxCategories distinct values, at the
// first value beyond the bound.
func (p *tablePlan) tooManyError(i int) error {
	c := p.cols[i]
	count := strconv.Itoa(len(c.distinct))
	if c.overflow {
		count = fmt.Sprintf("more than %d", p.countLimit())
	}
	return p.at(c.overMax.pos, i, fmt.Errorf("categorical column with %s distinct values, more than the %d that %s allows (value %s here is the first too many); list %s in %s if it is an identifier or free text, or raise %s",
		count, p.opts.MaxCategories, p.names.MaxCategories, c.overMax.text, c.name, p.names.Drop, p.names.MaxCategories))
}

// finish ends the first pass: it fixes the column kinds, categories, feature offsets and classes.
func (p *tablePlan) finish(name string) error {
	if p.rows == 0 {
		if p.stats.Dropped > 0 {
			return fmt.Errorf("%s: no records left: each of the %d has a missing value, and %s is drop", name, p.stats.Dropped, p.names.Missing)
		}
		return fmt.Errorf("%s: no records", name)
	}
	for i, c := range p.cols {
		if c.drop || i == p.label || i == p.group {
			continue
		}
		if !c.categorical && c.numbers > 0 && c.texts > 0 {
			return p.mixedError(i)
		}
		if p.opts.Missing == MissingMean {
			p.stats.Missing += c.missing
		}
		c.offset = p.dim
		if c.categorical || c.texts > 0 {
			c.categorical = true
			if c.overflow || len(c.distinct) > p.opts.MaxCategories {
				return p.tooManyError(i)
			}
			c.categories = sortedValues(c.distinct)
			c.catIndex = make(map[string]int, len(c.categories))
			for k, v := range c.categories {
				c.catIndex[v] = k
			}
			p.dim += len(c.categories)
			continue
		}
		c.distinct = nil
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
	if p.group >= 0 {
		d.Groups = make([]string, 0, p.rows)
	}
	for i, c := range p.cols {
		switch {
		case c.drop || i == p.label || i == p.group:
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
// policy drops it. The first pass must have accepted the same records. A missing numeric value (kept
// only under MissingMean) becomes NaN.
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
		if c.drop || i == p.label || i == p.group {
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
			row[c.offset] = float32(math.NaN())
		case f.kind == fieldNumber:
			row[c.offset] = float32(f.num)
		default:
			v, err := strconv.ParseFloat(f.text, 64)
			if err != nil || math.IsInf(v, 0) || v != v {
				return p.at(pos, i, fmt.Errorf("%s is not a finite number (did the file change?)", f.describe()))
			}
			row[c.offset] = float32(v)
		}
	}
	if p.group >= 0 {
		d.Groups = append(d.Groups, strings.Clone(rec[p.group].text))
	}
	d.Y = append(d.Y, y)
	return nil
}
