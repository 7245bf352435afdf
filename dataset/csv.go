package dataset

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
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
	p, err := scanCSV(name, &opts)
	if err != nil {
		return nil, err
	}
	return p.fill(name, &opts)
}

// csvColumn is what the first pass learned about one column.
type csvColumn struct {
	name        string
	drop        bool
	categorical bool
	numeric     bool           // every present value is a number so far
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

type csvPlan struct {
	cols    []*csvColumn
	label   int
	rows    int // records kept
	dim     int
	classes []string
	classIx map[string]int
	missing map[string]bool
}

func newCSVReader(r io.Reader, comma rune) *csv.Reader {
	cr := csv.NewReader(r)
	cr.Comma = comma
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	return cr
}

func scanCSV(name string, opts *CSVOptions) (*csvPlan, error) {
	if opts.Comma == 0 {
		opts.Comma = ','
	}
	if opts.MaxCategories == 0 {
		opts.MaxCategories = 1000
	}
	s, err := openSource(name)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	cr := newCSVReader(s, opts.Comma)
	header, err := cr.Read()
	if err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("%s: empty file, want a header line", name)
		}
		return nil, csvErr(name, err)
	}
	p := &csvPlan{label: -1, missing: map[string]bool{}}
	mv := opts.MissingValues
	if mv == nil {
		mv = defaultMissing
	}
	for _, v := range mv {
		p.missing[v] = true
	}
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if seen[h] {
			return nil, &ParseError{File: name, Line: 1, Field: i + 1, Column: h, Err: errors.New("duplicate column name")}
		}
		seen[h] = true
		p.cols = append(p.cols, &csvColumn{name: h, numeric: true, distinct: map[string]int{}})
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
	labels := map[string]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvErr(name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" && len(p.cols) > 1 {
			continue // blank line
		}
		if len(rec) != len(p.cols) {
			return nil, &ParseError{File: name, Line: line, Err: fmt.Errorf("%d fields, want %d as in the header", len(rec), len(p.cols))}
		}
		lv := strings.TrimSpace(rec[p.label])
		rowMissing := false
		for i, c := range p.cols {
			if c.drop || i == p.label {
				continue
			}
			if p.missing[strings.TrimSpace(rec[i])] {
				rowMissing = true
			}
		}
		if p.missing[lv] {
			if opts.Missing == MissingDrop {
				continue
			}
			return nil, &ParseError{File: name, Line: line, Field: p.label + 1, Column: p.cols[p.label].name, Err: errors.New("missing label")}
		}
		if rowMissing {
			switch opts.Missing {
			case MissingDrop:
				continue
			case MissingError:
				for i, c := range p.cols {
					if !c.drop && i != p.label && p.missing[strings.TrimSpace(rec[i])] {
						return nil, &ParseError{File: name, Line: line, Field: i + 1, Column: c.name,
							Err: fmt.Errorf("missing value %q (set CSVOptions.Missing to drop or impute)", strings.TrimSpace(rec[i]))}
					}
				}
			}
		}
		p.rows++
		if opts.Classes == nil {
			if _, ok := labels[lv]; !ok && len(labels) >= max(opts.MaxCategories, 65536) {
				return nil, &ParseError{File: name, Line: line, Field: p.label + 1, Column: p.cols[p.label].name, Err: fmt.Errorf("more than %d distinct labels; is this a class label?", len(labels))}
			}
			labels[lv]++
		}
		for i, c := range p.cols {
			if c.drop || i == p.label {
				continue
			}
			v := strings.TrimSpace(rec[i])
			if p.missing[v] {
				c.missing++
				continue
			}
			c.present++
			if c.numeric {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil || f != f || f-f != 0 {
					c.numeric = false
				} else {
					c.sum += f
				}
			}
			if !c.overflow {
				if _, ok := c.distinct[v]; !ok && len(c.distinct) >= opts.MaxCategories {
					c.overflow = true
					c.distinct = nil
				} else {
					c.distinct[v]++
				}
			}
			if (c.categorical || !c.numeric) && c.overflow {
				return nil, &ParseError{File: name, Line: line, Field: i + 1, Column: c.name,
					Err: fmt.Errorf("categorical column has more than %d distinct values (list it in CSVOptions.Drop, or raise MaxCategories)", opts.MaxCategories)}
			}
		}
	}
	if p.rows == 0 {
		return nil, fmt.Errorf("%s: no records", name)
	}
	for _, c := range p.cols {
		if c.drop || c == p.cols[p.label] {
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
		if c.present > 0 {
			c.mean = c.sum / float64(c.present)
		}
		p.dim++
	}
	if p.dim == 0 {
		return nil, fmt.Errorf("%s: no feature columns", name)
	}
	if opts.Classes != nil {
		p.classes = opts.Classes
	} else {
		p.classes = sortedValues(labels)
	}
	p.classIx = make(map[string]int, len(p.classes))
	for k, v := range p.classes {
		p.classIx[v] = k
	}
	return p, nil
}

// fill is the second pass: it encodes every kept record.
func (p *csvPlan) fill(name string, opts *CSVOptions) (*Dataset, error) {
	s, err := openSource(name)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	cr := newCSVReader(s, opts.Comma)
	if _, err := cr.Read(); err != nil {
		return nil, csvErr(name, err)
	}
	d := &Dataset{
		Name:       "csv:" + filepath.Base(name),
		X:          make([]float32, p.rows*p.dim),
		Y:          make([]int, 0, p.rows),
		Shape:      []int{p.dim},
		Classes:    len(p.classes),
		ClassNames: p.classes,
	}
	d.FeatureNames = make([]string, 0, p.dim)
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
	for r := 0; r < p.rows; {
		rec, err := cr.Read()
		if err != nil {
			if err == io.EOF {
				return nil, fmt.Errorf("%s: file changed while reading (%d records, want %d)", name, r, p.rows)
			}
			return nil, csvErr(name, err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" && len(p.cols) > 1 {
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(p.cols) {
			return nil, &ParseError{File: name, Line: line, Err: fmt.Errorf("%d fields, want %d as in the header", len(rec), len(p.cols))}
		}
		if opts.Missing == MissingDrop && p.rowHasMissing(rec) {
			continue
		}
		lv := strings.TrimSpace(rec[p.label])
		y, ok := p.classIx[lv]
		if !ok {
			return nil, &ParseError{File: name, Line: line, Field: p.label + 1, Column: p.cols[p.label].name,
				Err: fmt.Errorf("label %q is not one of the classes %q", lv, p.classes)}
		}
		d.Y = append(d.Y, y)
		row := d.X[r*p.dim : (r+1)*p.dim]
		for i, c := range p.cols {
			if c.drop || i == p.label {
				continue
			}
			v := strings.TrimSpace(rec[i])
			miss := p.missing[v]
			switch {
			case c.categorical && miss:
			case c.categorical:
				k, ok := c.catIndex[v]
				if !ok {
					return nil, &ParseError{File: name, Line: line, Field: i + 1, Column: c.name, Err: fmt.Errorf("value %q appeared while reading", v)}
				}
				row[c.offset+k] = 1
			case miss:
				row[c.offset] = float32(c.mean)
			default:
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return nil, &ParseError{File: name, Line: line, Field: i + 1, Column: c.name, Err: fmt.Errorf("%q is not a number", v)}
				}
				row[c.offset] = float32(f)
			}
		}
		r++
	}
	return d, nil
}

func (p *csvPlan) rowHasMissing(rec []string) bool {
	for i, c := range p.cols {
		if !c.drop && p.missing[strings.TrimSpace(rec[i])] {
			return true
		}
	}
	return false
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
