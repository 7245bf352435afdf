package dataset

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"path/filepath"
	"strings"
)

// Shapes of the privacytrustlab tabular datasets (Shokri et al., "Membership Inference Attacks against
// Machine Learning Models", IEEE S&P 2017).
const (
	PurchaseFeatures = 600  // binary "bought this item" features
	PurchaseClasses  = 100  // k-means clusters of shopping profiles
	TexasFeatures    = 6169 // binary hospital-discharge features
	TexasClasses     = 100  // most frequent procedures
	LocationFeatures = 446  // binary "visited this region / venue type" features
	LocationClasses  = 30   // geosocial clusters
)

// LoadPurchase100 reads Purchase100 as privacytrustlab distributes it (dataset_purchase, inside
// dataset_purchase.tgz): a CSV file without header whose lines are "label,f1,…,f600", the label in
// 1..100 (mapped to 0..99) and 600 binary features. name may be the extracted file, a gzipped copy, or
// the .tgz archive itself (its member named dataset_purchase is read). Errors name the file, line and
// field. The records keep file order; Privacy Meter v2 uses the first 75 % as the training pool and
// the rest as population (see SplitByFraction).
func LoadPurchase100(name string) (*Dataset, error) {
	d, err := loadLabelFirst(name, "dataset_purchase", PurchaseFeatures, PurchaseClasses)
	if err != nil {
		return nil, err
	}
	d.Name = "purchase100:" + filepath.Base(name)
	return d, nil
}

// LoadLocation reads the Location dataset as privacytrustlab distributes it (the file bangkok inside
// dataset_location.tgz): CSV lines whose first field is the label 1..30, written in double quotes
// ("\"12\""), followed by 446 binary features. Labels map to 0..29. name may be the file, a gzipped
// copy or the .tgz archive.
func LoadLocation(name string) (*Dataset, error) {
	d, err := loadLabelFirst(name, "bangkok", LocationFeatures, LocationClasses)
	if err != nil {
		return nil, err
	}
	d.Name = "location:" + filepath.Base(name)
	return d, nil
}

// LoadTexas100 reads Texas100 as privacytrustlab distributes it (texas/100/feats and texas/100/labels
// in dataset_texas.tgz): feats holds one CSV line of 6,169 binary features per record, labels one label
// 1..100 per line (mapped to 0..99). The two files must have the same number of records. Either may
// be gzipped.
func LoadTexas100(featsPath, labelsPath string) (*Dataset, error) {
	ls, err := openSource(labelsPath)
	if err != nil {
		return nil, err
	}
	y, err := readLabelLines(ls, labelsPath, TexasClasses)
	ls.Close()
	if err != nil {
		return nil, err
	}
	fs, err := openSource(featsPath)
	if err != nil {
		return nil, err
	}
	defer fs.Close()
	return texasFrom(fs, featsPath, labelsPath, y, "texas100:"+filepath.Base(featsPath))
}

// LoadTexas100Archive reads Texas100 from dataset_texas.tgz directly: the first regular member named
// feats and the member labels in the same directory (texas/100/feats and texas/100/labels).
func LoadTexas100Archive(tgz string) (*Dataset, error) {
	_, feats, fc, err := openMember(tgz, baseIs("feats"))
	if err != nil {
		return nil, err
	}
	fc.Close()
	if feats == "" {
		return nil, fmt.Errorf("%s: not a tar archive", tgz)
	}
	labels := path.Join(path.Dir(feats), "labels")
	lr, _, lc, err := openMember(tgz, func(m string) bool { return m == labels })
	if err != nil {
		return nil, err
	}
	y, err := readLabelLines(lr, tgz+":"+labels, TexasClasses)
	lc.Close()
	if err != nil {
		return nil, err
	}
	fr, _, fc, err := openMember(tgz, func(m string) bool { return m == feats })
	if err != nil {
		return nil, err
	}
	defer fc.Close()
	return texasFrom(fr, tgz+":"+feats, tgz+":"+labels, y, "texas100:"+filepath.Base(tgz))
}

func texasFrom(r io.Reader, featsName, labelsName string, y []int, name string) (*Dataset, error) {
	d := &Dataset{
		Name:    name,
		X:       make([]float32, 0, len(y)*TexasFeatures),
		Y:       y,
		Shape:   []int{TexasFeatures},
		Classes: TexasClasses,
	}
	lr := newLineReader(r)
	n := 0
	for {
		line, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", featsName, err)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if n == len(y) {
			return nil, &ParseError{File: featsName, Line: lr.line, Err: fmt.Errorf("more feature rows than the %d labels in %s", len(y), labelsName)}
		}
		if d.X, err = appendFeatures(d.X, line, 0, TexasFeatures); err != nil {
			return nil, at(err, featsName, lr.line)
		}
		n++
	}
	if n != len(y) {
		return nil, fmt.Errorf("%s has %d feature rows but %s has %d labels", featsName, n, labelsName, len(y))
	}
	return d, nil
}

// loadLabelFirst reads "label,f1,…,fD" lines (labels 1..classes), from name or its archive member.
func loadLabelFirst(name, member string, dim, classes int) (*Dataset, error) {
	r, m, c, err := openMember(name, baseIs(member))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if m != "" {
		name += ":" + m
	}
	d := &Dataset{Shape: []int{dim}, Classes: classes}
	lr := newLineReader(r)
	for {
		line, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		comma := bytes.IndexByte(line, ',')
		if comma < 0 {
			return nil, &ParseError{File: name, Line: lr.line, Err: fmt.Errorf("one field, want a label and %d features", dim)}
		}
		y, err := parseLabel(line[:comma], classes)
		if err != nil {
			return nil, &ParseError{File: name, Line: lr.line, Field: 1, Column: "label", Err: err}
		}
		if d.X, err = appendFeatures(d.X, line[comma+1:], 1, dim); err != nil {
			return nil, at(err, name, lr.line)
		}
		d.Y = append(d.Y, y)
	}
	if len(d.Y) == 0 {
		return nil, fmt.Errorf("%s: no records", name)
	}
	return d, nil
}

// readLabelLines reads one label (1..classes) per non-blank line and returns them mapped to 0-based.
func readLabelLines(r io.Reader, name string, classes int) ([]int, error) {
	lr := newLineReader(r)
	var y []int
	for {
		line, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		v, err := parseLabel(line, classes)
		if err != nil {
			return nil, &ParseError{File: name, Line: lr.line, Field: 1, Column: "label", Err: err}
		}
		y = append(y, v)
	}
	if len(y) == 0 {
		return nil, fmt.Errorf("%s: no labels", name)
	}
	return y, nil
}

// parseLabel parses a 1-based class label (optionally quoted, integral) and returns it 0-based.
func parseLabel(b []byte, classes int) (int, error) {
	b = trimField(b)
	v, err := parseInt(b)
	if err != nil {
		f, ferr := parseFloat(b)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<31 {
			return 0, fmt.Errorf("label %q is not an integer", b)
		}
		v = int(f)
	}
	if v < 1 || v > classes {
		return 0, fmt.Errorf("label %d outside 1..%d", v, classes)
	}
	return v - 1, nil
}

// fieldError is a problem with one comma-separated field of a line; at turns it into a ParseError.
type fieldError struct {
	field int // 1-based
	err   error
}

func (e *fieldError) Error() string { return fmt.Sprintf("field %d: %v", e.field, e.err) }

func at(err error, name string, line int) error {
	var fe *fieldError
	if errors.As(err, &fe) {
		return &ParseError{File: name, Line: line, Field: fe.field, Err: fe.err}
	}
	return &ParseError{File: name, Line: line, Err: err}
}

// appendFeatures parses exactly dim comma-separated numbers from line and appends them to x. offset
// is the number of fields before line (for 1-based field numbers in errors).
func appendFeatures(x []float32, line []byte, offset, dim int) ([]float32, error) {
	start := len(x)
	for k := 0; ; k++ {
		comma := bytes.IndexByte(line, ',')
		f := line
		if comma >= 0 {
			f = line[:comma]
		}
		if k == dim {
			return x[:start], fmt.Errorf("more than %d features (%d fields in all, want %d)", dim, offset+k+1+strings.Count(string(line), ","), offset+dim)
		}
		v, err := parseFeature(trimField(f))
		if err != nil {
			return x[:start], &fieldError{field: offset + k + 1, err: err}
		}
		x = append(x, v)
		if comma < 0 {
			if k+1 != dim {
				return x[:start], fmt.Errorf("%d features, want %d (%d fields in all, want %d)", k+1, dim, offset+k+1, offset+dim)
			}
			return x, nil
		}
		line = line[comma+1:]
	}
}
