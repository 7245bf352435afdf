package dataset

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
)

// adultColumn is one input column of UCI Adult: continuous when values is nil, otherwise categorical
// with this fixed vocabulary (from adult.names), one-hot encoded in this order.
type adultColumn struct {
	name   string
	values []string
}

var adultColumns = []adultColumn{
	{"age", nil},
	{"workclass", []string{"Private", "Self-emp-not-inc", "Self-emp-inc", "Federal-gov", "Local-gov", "State-gov", "Without-pay", "Never-worked"}},
	{"fnlwgt", nil},
	{"education", []string{"Bachelors", "Some-college", "11th", "HS-grad", "Prof-school", "Assoc-acdm", "Assoc-voc", "9th", "7th-8th", "12th", "Masters", "1st-4th", "10th", "Doctorate", "5th-6th", "Preschool"}},
	{"education-num", nil},
	{"marital-status", []string{"Married-civ-spouse", "Divorced", "Never-married", "Separated", "Widowed", "Married-spouse-absent", "Married-AF-spouse"}},
	{"occupation", []string{"Tech-support", "Craft-repair", "Other-service", "Sales", "Exec-managerial", "Prof-specialty", "Handlers-cleaners", "Machine-op-inspct", "Adm-clerical", "Farming-fishing", "Transport-moving", "Priv-house-serv", "Protective-serv", "Armed-Forces"}},
	{"relationship", []string{"Wife", "Own-child", "Husband", "Not-in-family", "Other-relative", "Unmarried"}},
	{"race", []string{"White", "Asian-Pac-Islander", "Amer-Indian-Eskimo", "Other", "Black"}},
	{"sex", []string{"Female", "Male"}},
	{"capital-gain", nil},
	{"capital-loss", nil},
	{"hours-per-week", nil},
	{"native-country", []string{"United-States", "Cambodia", "England", "Puerto-Rico", "Canada", "Germany", "Outlying-US(Guam-USVI-etc)", "India", "Japan", "Greece", "South", "China", "Cuba", "Iran", "Honduras", "Philippines", "Italy", "Poland", "Jamaica", "Vietnam", "Mexico", "Portugal", "Ireland", "France", "Dominican-Republic", "Laos", "Ecuador", "Taiwan", "Haiti", "Columbia", "Hungary", "Guatemala", "Nicaragua", "Scotland", "Thailand", "Yugoslavia", "El-Salvador", "Trinadad&Tobago", "Peru", "Hong", "Holand-Netherlands"}},
}

// AdultFeatures is the number of features LoadAdult produces: 6 continuous columns and the one-hot
// encodings of 8 categorical columns (99 categories).
const AdultFeatures = 105

var adultFeatureNames = func() []string {
	var names []string
	for _, c := range adultColumns {
		if c.values == nil {
			names = append(names, c.name)
			continue
		}
		for _, v := range c.values {
			names = append(names, c.name+"="+v)
		}
	}
	return names
}()

// LoadAdult reads one file of the UCI Adult (Census Income) data set, adult.data or adult.test, gzipped
// or not. Lines hold 14 attributes and the income class, separated by ", ".
//
// The features are, in column order, the six continuous attributes as they are (age, fnlwgt,
// education-num, capital-gain, capital-loss, hours-per-week: not scaled; fit a Standardizer on the
// training rows) and a one-hot encoding of each categorical attribute over the fixed vocabulary of
// adult.names, so that adult.data and adult.test always have the same 105 features (adult.test lacks
// one native-country). A missing categorical value ("?", in workclass, occupation and native-country)
// encodes as all zeros; the record is kept. Labels: "<=50K" is 0 and ">50K" is 1; adult.test's
// trailing "." on labels and its first line ("|1x3 Cross validator") are accepted, as are blank
// lines. An unknown category, a non-numeric continuous value or a wrong field count is an error naming
// the file, line and field. adult.data gives 32,561 records, adult.test 16,281.
func LoadAdult(name string) (*Dataset, error) {
	s, err := openSource(name)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return ReadAdult(s, name)
}

// ReadAdult reads Adult records from r (see LoadAdult); name identifies the input in errors and in the
// dataset's Name.
func ReadAdult(r io.Reader, name string) (*Dataset, error) {
	index := make([]map[string]int, len(adultColumns))
	for k, c := range adultColumns {
		if c.values != nil {
			index[k] = make(map[string]int, len(c.values))
			for j, v := range c.values {
				index[k][v] = j
			}
		}
	}
	d := &Dataset{
		Name:         "adult:" + filepath.Base(name),
		Shape:        []int{AdultFeatures},
		Classes:      2,
		FeatureNames: adultFeatureNames,
		ClassNames:   []string{"<=50K", ">50K"},
	}
	lr := newLineReader(r)
	row := make([]float32, AdultFeatures)
	for {
		line, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(bytes.TrimSpace(line)) == 0 || line[0] == '|' {
			continue
		}
		fields := bytes.Split(line, []byte{','})
		if len(fields) != len(adultColumns)+1 {
			return nil, &ParseError{File: name, Line: lr.line, Err: fmt.Errorf("%d fields, want %d", len(fields), len(adultColumns)+1)}
		}
		clear(row)
		j := 0
		for k, c := range adultColumns {
			f := bytes.TrimSpace(fields[k])
			if c.values == nil {
				v, err := parseFeature(f)
				if err != nil {
					return nil, &ParseError{File: name, Line: lr.line, Field: k + 1, Column: c.name, Err: err}
				}
				row[j] = v
				j++
				continue
			}
			if string(f) != "?" {
				h, ok := index[k][string(f)]
				if !ok {
					return nil, &ParseError{File: name, Line: lr.line, Field: k + 1, Column: c.name, Err: fmt.Errorf("unknown category %q", f)}
				}
				row[j+h] = 1
			}
			j += len(c.values)
		}
		label := bytes.TrimSuffix(bytes.TrimSpace(fields[len(adultColumns)]), []byte{'.'})
		switch string(label) {
		case "<=50K":
			d.Y = append(d.Y, 0)
		case ">50K":
			d.Y = append(d.Y, 1)
		default:
			return nil, &ParseError{File: name, Line: lr.line, Field: len(adultColumns) + 1, Column: "income", Err: fmt.Errorf("label %q is neither <=50K nor >50K", label)}
		}
		d.X = append(d.X, row...)
	}
	if len(d.Y) == 0 {
		return nil, fmt.Errorf("%s: no records", name)
	}
	return d, nil
}
