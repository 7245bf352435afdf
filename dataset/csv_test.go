package dataset

import (
	"os"
	"path/filepath"
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
		d, err := LoadCSV(p, CSVOptions{Label: "class", Drop: []string{"id"}})
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
	d, err := LoadCSV(p, CSVOptions{Comma: ';', Categorical: []string{"k"}, Classes: []string{"b", "a", "c"}})
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
	d, err = LoadCSV(p, CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sameInts(t, "numeric labels", d.Y, []int{1, 0})
}

func TestLoadCSVMissing(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "m.csv", []byte("a,c,y\n1,u,0\n?,v,1\n3,,0\n5,u,1\n"))
	_, err := LoadCSV(p, CSVOptions{})
	wantParseError(t, "missing, default policy", err, 3, 1, `missing value "?"`, "m.csv")

	d, err := LoadCSV(p, CSVOptions{Missing: MissingDrop})
	if err != nil {
		t.Fatal(err)
	}
	sameFloats(t, "drop", d.X, []float32{1, 1, 5, 1})
	sameInts(t, "drop labels", d.Y, []int{0, 1})

	d, err = LoadCSV(p, CSVOptions{Missing: MissingImpute})
	if err != nil {
		t.Fatal(err)
	}
	// a: mean of 1, 3, 5 = 3; c: categories u, v; the missing one is all zeros.
	sameFloats(t, "impute", d.X, []float32{1, 1, 0, 3, 0, 1, 3, 0, 0, 5, 1, 0})

	p = write(t, dir, "ml.csv", []byte("a,y\n1,0\n2,NA\n"))
	_, err = LoadCSV(p, CSVOptions{Missing: MissingImpute})
	wantParseError(t, "missing label", err, 3, 2, "missing label")
	d, err = LoadCSV(p, CSVOptions{Missing: MissingDrop})
	if err != nil || d.Len() != 1 {
		t.Errorf("dropping a missing label: %v %v", d, err)
	}
}

func TestLoadCSVErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, text  string
		opts        CSVOptions
		line, field int
		want        string
	}{
		{"ragged", "a,b,y\n1,2,0\n1,2\n", CSVOptions{}, 3, 0, "2 fields, want 3"},
		{"too many fields", "a,b,y\n1,2,0,9\n", CSVOptions{}, 2, 0, "4 fields, want 3"},
		{"unknown label", "a,y\n1,x\n2,z\n", CSVOptions{Classes: []string{"x"}}, 3, 2, `label "z" is not one of the classes`},
		{"bad quote", "a,y\n1,\"x\n", CSVOptions{}, 2, 0, "extraneous or missing"},
		{"duplicate column", "a,a,y\n1,2,0\n", CSVOptions{}, 1, 2, "duplicate column"},
		{"too many categories", "a,y\nq,0\nr,1\ns,0\n", CSVOptions{MaxCategories: 2}, 4, 1, "more than 2 distinct values"},
	}
	for _, tt := range tests {
		p := write(t, dir, "e.csv", []byte(tt.text))
		_, err := LoadCSV(p, tt.opts)
		wantParseError(t, tt.name, err, tt.line, tt.field, tt.want, "e.csv")
	}
	for _, tt := range []struct {
		name, text string
		opts       CSVOptions
		want       string
	}{
		{"no label column", "a,b\n1,2\n", CSVOptions{Label: "y"}, `no label column "y"`},
		{"unknown drop", "a,y\n1,2\n", CSVOptions{Drop: []string{"z"}}, `names column "z"`},
		{"label dropped", "a,y\n1,2\n", CSVOptions{Drop: []string{"y"}}, "also listed in Drop"},
		{"empty", "", CSVOptions{}, "empty file"},
		{"header only", "a,y\n", CSVOptions{}, "no records"},
		{"no features", "y\n1\n", CSVOptions{}, "no feature columns"},
	} {
		p := write(t, dir, "f.csv", []byte(tt.text))
		_, err := LoadCSV(p, tt.opts)
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
	opts := CSVOptions{Label: "Class", Drop: []string{"Id"}}
	_, err := LoadCSV(bc, opts)
	wantParseError(t, "BreastCancer missing", err, 25, 7, "Bare.nuclei")
	opts.Missing = MissingDrop
	d, err := LoadCSV(bc, opts)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 683 || d.Dim() != 9 || d.Classes != 2 || d.ClassNames[0] != "benign" {
		t.Errorf("BreastCancer: %d × %d, classes %q", d.Len(), d.Dim(), d.ClassNames)
	}
	if c := d.ClassCounts(); c[0] != 444 || c[1] != 239 {
		t.Errorf("BreastCancer class counts %v, want [444 239]", c)
	}
	g, err := LoadCSV(filepath.Join(dir, "Glass.csv"), CSVOptions{Label: "Type"})
	if err != nil {
		t.Fatal(err)
	}
	if g.Len() != 214 || g.Dim() != 9 || g.Classes != 6 || g.ClassNames[3] != "5" {
		t.Errorf("Glass: %d × %d, classes %q", g.Len(), g.Dim(), g.ClassNames)
	}
}
