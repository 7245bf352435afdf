package dataset

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const csvText = `id, height, colour, weight, class
1, 1.5, red, 10, cat
2, 2.5, "blue", 20, dog
3, 3.5, red, 30, cat
4, 4.5, green, 40, bird
`

func TestLoadCSV(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a.csv", "a.csv.gz"} {
		p := write(t, dir, name, []byte(csvText))
		d, _, err := LoadCSV(p, TabularOptions{Label: "class", Drop: []string{"id"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
		wantNames := []string{"height", "colour=blue", "colour=green", "colour=red", "weight"}
		if len(d.FeatureNames) != len(wantNames) {
			t.Fatalf("features %q", d.FeatureNames)
		}
		for i := range wantNames {
			if d.FeatureNames[i] != wantNames[i] {
				t.Fatalf("features %q, want %q", d.FeatureNames, wantNames)
			}
		}
		sameFloats(t, name, d.X, []float32{
			1.5, 0, 0, 1, 10,
			2.5, 1, 0, 0, 20,
			3.5, 0, 0, 1, 30,
			4.5, 0, 1, 0, 40,
		})
		// Classes are the sorted distinct labels.
		sameInts(t, "labels", d.Y, []int{1, 2, 1, 0})
		if d.Classes != 3 || d.ClassNames[0] != "bird" || d.ClassNames[2] != "dog" {
			t.Errorf("classes %d %q", d.Classes, d.ClassNames)
		}
	}

	// Default label is the last column; Categorical forces one-hot on a numeric column, in numeric
	// order; Classes fixes the label mapping.
	p := write(t, dir, "b.csv", []byte("x;k;y\n1;10;b\n2;9;a\n3;10;b\n"))
	d, _, err := LoadCSV(p, TabularOptions{Comma: ';', Categorical: []string{"k"}, Classes: []string{"b", "a", "c"}})
	if err != nil {
		t.Fatal(err)
	}
	sameFloats(t, "categorical", d.X, []float32{1, 0, 1, 2, 1, 0, 3, 0, 1})
	sameInts(t, "fixed classes", d.Y, []int{0, 1, 0})
	if d.Classes != 3 || d.FeatureNames[1] != "k=9" {
		t.Errorf("classes %d names %q", d.Classes, d.FeatureNames)
	}

	// Numeric labels sort numerically: 2 < 10.
	p = write(t, dir, "c.csv", []byte("x,y\n1,10\n2,2\n"))
	d, _, err = LoadCSV(p, TabularOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sameInts(t, "numeric labels", d.Y, []int{1, 0})
}

func TestLoadCSVMissing(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "m.csv", []byte("a,c,y\n1,u,0\n?,v,1\n3,,0\n5,u,1\n"))
	_, _, err := LoadCSV(p, TabularOptions{})
	wantParseError(t, "missing, default policy", err, 3, 1, `m.csv: line 3: field 1 (a): missing value "?"; set TabularOptions.Missing to drop`, "list a in TabularOptions.Drop")

	d, st, err := LoadCSV(p, TabularOptions{Missing: MissingDrop})
	if err != nil {
		t.Fatal(err)
	}
	sameFloats(t, "drop", d.X, []float32{1, 1, 5, 1})
	sameInts(t, "drop labels", d.Y, []int{0, 1})
	if st != (TableStats{Records: 4, Dropped: 2}) {
		t.Errorf("drop: stats %+v, want 4 records, 2 dropped", st)
	}

	// MissingMean leaves the missing number as NaN and the missing category as all zeros; the
	// imputer fitted on rows 0 and 2 fills in their mean, 2, not the whole file's 3.
	d, st, err = LoadCSV(p, TabularOptions{Missing: MissingMean})
	if err != nil {
		t.Fatal(err)
	}
	if st != (TableStats{Records: 4, Missing: 2}) {
		t.Errorf("mean: stats %+v, want 4 records, 2 missing", st)
	}
	if v := d.Row(1)[0]; !math.IsNaN(float64(v)) {
		t.Errorf("mean: missing a loaded as %v, want NaN", v)
	}
	m, err := FitMeanImputer(d, []int{0, 2})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := m.Apply(d); n != 1 || err != nil {
		t.Fatalf("imputer replaced %d values (%v), want 1", n, err)
	}
	sameFloats(t, "mean", d.X, []float32{1, 1, 0, 2, 0, 1, 3, 0, 0, 5, 1, 0})

	p = write(t, dir, "ml.csv", []byte("a,y\n1,0\n2,NA\n"))
	_, _, err = LoadCSV(p, TabularOptions{Missing: MissingMean})
	wantParseError(t, "missing label", err, 3, 2, `missing label "NA" (set TabularOptions.Missing to drop`)
	d, st, err = LoadCSV(p, TabularOptions{Missing: MissingDrop})
	if err != nil || d.Len() != 1 || st.Dropped != 1 {
		t.Errorf("dropping a missing label: %v %+v %v", d, st, err)
	}
	p = write(t, dir, "all.csv", []byte("a,y\n?,0\n2,NA\n"))
	_, _, err = LoadCSV(p, TabularOptions{Missing: MissingDrop})
	wantErr(t, "all dropped", err, "all.csv: no records left: each of the 2 has a missing value")
}

func TestLoadCSVErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, text  string
		opts        TabularOptions
		line, field int
		want        string
	}{
		{"ragged", "a,b,y\n1,2,0\n1,2\n", TabularOptions{}, 3, 0, "2 fields, want 3"},
		{"too many fields", "a,b,y\n1,2,0,9\n", TabularOptions{}, 2, 0, "4 fields, want 3"},
		{"unknown label", "a,y\n1,x\n2,z\n", TabularOptions{Classes: []string{"x"}}, 3, 2, `label "z" is not one of the classes`},
		{"bad quote", "a,y\n1,\"x\n", TabularOptions{}, 2, 0, "extraneous or missing"},
		{"duplicate column", "a,a,y\n1,2,0\n", TabularOptions{}, 1, 2, "duplicate column"},
		{"beyond float32", "a,b,y\n1,2,0\n1,-4e38,0\n", TabularOptions{}, 3, 2, `"-4e38" is beyond the range of a float32 feature`},
		{"too many categories", "a,y\nq,0\nr,1\ns,0\n", TabularOptions{MaxCategories: 2}, 4, 1, `categorical column with 3 distinct values, more than the 2 that TabularOptions.MaxCategories allows (value "s" here is the first too many)`},
	}
	for _, tt := range tests {
		p := write(t, dir, "e.csv", []byte(tt.text))
		_, _, err := LoadCSV(p, tt.opts)
		wantParseError(t, tt.name, err, tt.line, tt.field, tt.want, "e.csv")
	}
	for _, tt := range []struct {
		name, text string
		opts       TabularOptions
		want       string
	}{
		{"no label column", "a,b\n1,2\n", TabularOptions{Label: "y"}, `f.csv: no label column "y", which TabularOptions.Label names (the file's columns: a, b)`},
		{"unknown drop", "a,y\n1,2\n", TabularOptions{Drop: []string{"z"}}, `f.csv: TabularOptions.Drop names column "z", which the file lacks (its columns: a, y)`},
		{"unknown categorical", "a,y\n1,2\n", TabularOptions{Categorical: []string{"b"}}, `f.csv: TabularOptions.Categorical names column "b", which the file lacks (its columns: a, y)`},
		{"label dropped", "a,y\n1,2\n", TabularOptions{Drop: []string{"y"}}, `f.csv: the label column "y" is also listed in TabularOptions.Drop`},
		{"drop and categorical", "a,b,y\n1,2,3\n", TabularOptions{Drop: []string{"a"}, Categorical: []string{"a"}}, `f.csv: column "a" is listed in both TabularOptions.Drop and TabularOptions.Categorical`},
		{"negative max categories", "a,y\n1,2\n", TabularOptions{MaxCategories: -1}, "TabularOptions.MaxCategories is -1, must not be negative"},
		{"bad policy", "a,y\n1,2\n", TabularOptions{Missing: 7}, "TabularOptions.Missing is MissingPolicy(7), want error, drop or mean"},
		{"empty", "", TabularOptions{}, "empty file"},
		{"header only", "a,y\n", TabularOptions{}, "no records"},
		{"no features", "y\n1\n", TabularOptions{}, "no feature columns"},
	} {
		p := write(t, dir, "f.csv", []byte(tt.text))
		_, _, err := LoadCSV(p, tt.opts)
		wantErr(t, tt.name, err, tt.want)
	}
}

// TestLoadCSVReal reads mlbench's BreastCancer export (699 records, 16 with an empty Bare.nuclei) and
// Glass (214 records, classes 1, 2, 3, 5, 6, 7) from ../shared/data when present. The counts are
// those documented for the data sets (mlbench's help pages) and were checked with awk.
func TestLoadCSVReal(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "data", "mlbench")
	bc := filepath.Join(dir, "BreastCancer.csv")
	if _, err := os.Stat(bc); err != nil {
		t.Skipf("%s absent", bc)
	}
	opts := TabularOptions{Label: "Class", Drop: []string{"Id"}}
	_, _, err := LoadCSV(bc, opts)
	wantParseError(t, "BreastCancer missing", err, 25, 7, "Bare.nuclei")
	opts.Missing = MissingDrop
	d, _, err := LoadCSV(bc, opts)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 683 || d.Dim() != 9 || d.Classes != 2 || d.ClassNames[0] != "benign" {
		t.Errorf("BreastCancer: %d × %d, classes %q", d.Len(), d.Dim(), d.ClassNames)
	}
	if c := d.ClassCounts(); c[0] != 444 || c[1] != 239 {
		t.Errorf("BreastCancer class counts %v, want [444 239]", c)
	}
	g, _, err := LoadCSV(filepath.Join(dir, "Glass.csv"), TabularOptions{Label: "Type"})
	if err != nil {
		t.Fatal(err)
	}
	if g.Len() != 214 || g.Dim() != 9 || g.Classes != 6 || g.ClassNames[3] != "5" {
		t.Errorf("Glass: %d × %d, classes %q", g.Len(), g.Dim(), g.ClassNames)
	}
}

// yamlNames are the names pmeter's config gives the options, to check that errors use them.
var yamlNames = OptionNames{Label: "data.label_column", Categorical: "data.categorical_columns", Drop: "data.drop_columns",
	Missing: "data.missing", MaxCategories: "data.max_categories"}

// TestLoadCSVMixedColumn: a column that mixes numbers and text is an error at the first cell of the
// minority kind, naming file, line, field, column and value, and saying how to declare the column
// categorical or drop it; it is never one-hot encoded silently.
func TestLoadCSVMixedColumn(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, text  string
		line, field int
		want        string
	}{
		{"one bad cell", "id,age,y\n1,31,a\n2,45,b\n3,4O,a\n4,52,b\n", 4, 2,
			`mixed.csv: line 4: field 2 (age): "4O" is not a number, but 3 of the column's 4 values are numbers; correct the cell, or list age in data.categorical_columns to one-hot encode the column, or in data.drop_columns to ignore it`},
		{"several bad cells", "age,y\n1,a\n2,b\nx,a\n3,b\nz,a\n", 4, 1,
			`mixed.csv: line 4: field 1 (age): "x" is not a number (the first of 2 such values), but 3 of the column's 5 values are numbers`},
		{"infinite", "age,y\n1,a\ninf,b\n3,a\n", 3, 1,
			`mixed.csv: line 3: field 1 (age): "inf" is not a finite number, but 2 of the column's 3 values are numbers`},
		{"a number among text", "colour,y\nred,a\nblue,b\n7,a\nred,b\n", 4, 1,
			`mixed.csv: line 4: field 1 (colour): "7" is a number, but 3 of the column's 4 values are text; list colour in data.categorical_columns to one-hot encode the column, or in data.drop_columns to ignore it`},
		{"missing values do not count", "age,y\n1,a\n?,b\nx,a\n", 4, 1,
			`"x" is not a number, but 1 of the column's 2 values are numbers`},
	}
	for _, tt := range tests {
		p := write(t, dir, "mixed.csv", []byte(tt.text))
		_, _, err := LoadCSV(p, TabularOptions{Names: yamlNames, Missing: MissingMean})
		wantParseError(t, tt.name, err, tt.line, tt.field, tt.want)
	}

	// Following the advice: declared categorical, the column is one-hot encoded in numeric-then-text
	// order ("4O" sorts after the numbers); dropped, it is gone.
	p := write(t, dir, "fix.csv", []byte(tests[0].text))
	d, _, err := LoadCSV(p, TabularOptions{Categorical: []string{"age"}, Drop: []string{"id"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"age=31", "age=45", "age=4O", "age=52"}; !slices.Equal(d.FeatureNames, want) {
		t.Fatalf("categorical: features %q, want %q", d.FeatureNames, want)
	}
	sameFloats(t, "categorical", d.X, []float32{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1})
	d, _, err = LoadCSV(p, TabularOptions{Drop: []string{"age"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.FeatureNames, []string{"id"}) {
		t.Fatalf("dropped: features %q", d.FeatureNames)
	}
	sameFloats(t, "dropped", d.X, []float32{1, 2, 3, 4})
}

// TestLoadCSVMaxCategories: a categorical column may have up to MaxCategories (default 100) distinct
// values; beyond that the error gives the column, its count and the first value too many.
func TestLoadCSVMaxCategories(t *testing.T) {
	dir := t.TempDir()
	table := func(n int) string {
		var b strings.Builder
		b.WriteString("x,code,y\n")
		for i := range n {
			fmt.Fprintf(&b, "%d,c%d,%d\n", i, i, i%2)
		}
		return b.String()
	}
	p := write(t, dir, "cats.csv", []byte(table(100)))
	d, _, err := LoadCSV(p, TabularOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Dim() != 101 {
		t.Errorf("100 categories: %d features, want 101", d.Dim())
	}
	p = write(t, dir, "cats.csv", []byte(table(130)))
	_, _, err = LoadCSV(p, TabularOptions{Names: yamlNames})
	wantParseError(t, "default bound", err, 102, 2, `cats.csv: line 102: field 2 (code): categorical column with 130 distinct values, more than the 100 that data.max_categories allows (value "c100" here is the first too many); list code in data.drop_columns if it is an identifier or free text, or raise data.max_categories`)
	if _, _, err := LoadCSV(p, TabularOptions{MaxCategories: 130}); err != nil {
		t.Errorf("MaxCategories 130: %v", err)
	}
	// Counting stops at 10,000 distinct values, or MaxCategories when that is larger.
	p = write(t, dir, "ids.csv.gz", []byte(table(countCap+5)))
	_, _, err = LoadCSV(p, TabularOptions{MaxCategories: 10})
	wantParseError(t, "count capped", err, 12, 2, "categorical column with more than 10000 distinct values, more than the 10 that TabularOptions.MaxCategories allows")
	_, _, err = LoadCSV(p, TabularOptions{MaxCategories: countCap + 2})
	wantParseError(t, "count above the cap", err, countCap+4, 2, "categorical column with 10005 distinct values, more than the 10002 that")
}

// TestLoadCSVBOM: a UTF-8 byte order mark before the header is not part of the first column's name.
func TestLoadCSVBOM(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"bom.csv", "bom.csv.gz"} {
		p := write(t, dir, name, []byte("\ufeffid,x,y\n1,2.5,a\n2,3.5,b\n"))
		d, _, err := LoadCSV(p, TabularOptions{Label: "y", Drop: []string{"id"}})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sameFloats(t, name, d.X, []float32{2.5, 3.5})
		d, _, err = LoadCSV(p, TabularOptions{Label: "y"})
		if err != nil {
			t.Fatal(err)
		}
		if d.FeatureNames[0] != "id" {
			t.Errorf("%s: first column %q, want \"id\"", name, d.FeatureNames[0])
		}
	}
	// Only a leading mark is removed: one inside a value stays (and makes that value text).
	p := write(t, dir, "inner.csv", []byte("x,y\n1,a\n\ufeff2,b\n"))
	_, _, err := LoadCSV(p, TabularOptions{})
	wantParseError(t, "inner mark", err, 3, 1, `"\ufeff2" is not a number`)
}

// TestLoadCSVGroup: the group column (a user id) is no feature, its text per record is in Groups and
// follows the records through Subset and a dropped record; a missing group is an error that names it.
func TestLoadCSVGroup(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "g.csv", []byte("x,user,y\n1,a,0\n2,b,1\n?,b,0\n3,a,1\n"))
	d, st, err := LoadCSV(p, TabularOptions{Label: "y", Group: "user", Missing: MissingDrop})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.FeatureNames, []string{"x"}) || !slices.Equal(d.Groups, []string{"a", "b", "a"}) || st.Dropped != 1 {
		t.Fatalf("features %v, groups %v, dropped %d", d.FeatureNames, d.Groups, st.Dropped)
	}
	s, _ := d.Subset([]int{2, 1})
	if !slices.Equal(s.Groups, []string{"a", "b"}) {
		t.Errorf("subset groups %v", s.Groups)
	}
	p = write(t, dir, "m.csv", []byte("x,user,y\n1,a,0\n2,,1\n"))
	if _, _, err := LoadCSV(p, TabularOptions{Label: "y", Group: "user"}); err == nil || !strings.Contains(err.Error(), "missing group") {
		t.Errorf("missing group: %v", err)
	}
	if _, _, err := LoadCSV(p, TabularOptions{Label: "y", Group: "y"}); err == nil || !strings.Contains(err.Error(), "is the label column") {
		t.Errorf("group = label: %v", err)
	}
}
