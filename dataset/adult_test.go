package dataset

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const adultLine = "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, 2174, 0, 40, United-States, <=50K"

func feature(t *testing.T, d *Dataset, i int, name string) float32 {
	t.Helper()
	j := slices.Index(d.FeatureNames, name)
	if j < 0 {
		t.Fatalf("no feature %q", name)
	}
	return d.X[i*d.Dim()+j]
}

func TestReadAdult(t *testing.T) {
	text := "|1x3 Cross validator\n" + adultLine + "\n" +
		"50, ?, 83311, HS-grad, 9, Divorced, ?, Husband, Black, Female, 0, 0, 13, ?, >50K.\n\n"
	d, err := ReadAdult(strings.NewReader(text), "adult.test")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(adultFeatureNames) != AdultFeatures || d.Dim() != AdultFeatures {
		t.Fatalf("%d feature names, dim %d", len(adultFeatureNames), d.Dim())
	}
	sameInts(t, "labels", d.Y, []int{0, 1})
	for _, c := range []struct {
		i    int
		name string
		want float32
	}{
		{0, "age", 39}, {0, "fnlwgt", 77516}, {0, "education-num", 13}, {0, "capital-gain", 2174},
		{0, "hours-per-week", 40}, {0, "workclass=State-gov", 1}, {0, "workclass=Private", 0},
		{0, "native-country=United-States", 1}, {0, "sex=Male", 1}, {0, "sex=Female", 0},
		{1, "age", 50}, {1, "sex=Female", 1}, {1, "education=HS-grad", 1}, {1, "race=Black", 1},
	} {
		if got := feature(t, d, c.i, c.name); got != c.want {
			t.Errorf("record %d %s = %v, want %v", c.i, c.name, got, c.want)
		}
	}
	// Each present categorical attribute sets exactly one feature; a missing one ("?") sets none.
	ones := func(i int) int {
		n := 0
		for j, v := range d.Row(i) {
			if strings.Contains(adultFeatureNames[j], "=") && v == 1 {
				n++
			}
		}
		return n
	}
	if ones(0) != 8 || ones(1) != 5 {
		t.Errorf("one-hot counts %d and %d, want 8 and 5", ones(0), ones(1))
	}
}

func TestReadAdultErrors(t *testing.T) {
	tests := []struct {
		name  string
		line  string
		field int
		want  string
	}{
		{"unknown category", strings.Replace(adultLine, "State-gov", "Space-gov", 1), 2, `workclass): unknown category "Space-gov"`},
		{"non-numeric age", strings.Replace(adultLine, "39", "old", 1), 1, `(age): "old" is not a number`},
		{"age beyond float32", strings.Replace(adultLine, "39", "1e39", 1), 1, `(age): "1e39" is beyond the range of a float32 feature`},
		{"bad label", strings.Replace(adultLine, "<=50K", "50K", 1), 15, `label "50K"`},
		{"short", adultLine[:strings.LastIndex(adultLine, ",")], 0, "14 fields, want 15"},
	}
	for _, tt := range tests {
		_, err := ReadAdult(strings.NewReader(adultLine+"\n"+tt.line+"\n"), "adult.data")
		wantParseError(t, tt.name, err, 2, tt.field, tt.want, "adult.data")
	}
	_, err := ReadAdult(strings.NewReader("|header only\n"), "adult.test")
	wantErr(t, "empty", err, "no records")
}

// TestLoadAdultReal reads ../shared/data/adult when present. The expected values were computed with
// plain Python from the raw files (split on ",", strip, skip the "|" line and blank lines): record
// counts, ">50K" counts, sums of age, fnlwgt and hours-per-week, the number of workclass=Private, of
// "?" workclass, of Holand-Netherlands, and of records with any "?".
func TestLoadAdultReal(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "data", "adult")
	if _, err := os.Stat(filepath.Join(dir, "adult.data")); err != nil {
		t.Skipf("adult data absent: %v", err)
	}
	for _, c := range []struct {
		file                          string
		n, pos                        int
		age, fnlwgt, hours            float64
		private, noWork, holand, miss int
	}{
		{"adult.data", 32561, 7841, 1256257, 6179373392, 1316684, 22696, 1836, 1, 2399},
		{"adult.test", 16281, 3846, 631173, 3084202270, 657626, 11210, 963, 0, 1221},
	} {
		d, err := LoadAdult(filepath.Join(dir, c.file))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
		if d.Len() != c.n || d.ClassCounts()[1] != c.pos {
			t.Errorf("%s: %d records, %d positive; want %d, %d", c.file, d.Len(), d.ClassCounts()[1], c.n, c.pos)
		}
		sum := func(name string) float64 {
			j := slices.Index(d.FeatureNames, name)
			s := 0.0
			for i := range d.Len() {
				s += float64(d.X[i*d.Dim()+j])
			}
			return s
		}
		if sum("age") != c.age || sum("fnlwgt") != c.fnlwgt || sum("hours-per-week") != c.hours {
			t.Errorf("%s: sums %v %v %v", c.file, sum("age"), sum("fnlwgt"), sum("hours-per-week"))
		}
		if int(sum("workclass=Private")) != c.private || int(sum("native-country=Holand-Netherlands")) != c.holand {
			t.Errorf("%s: Private %v Holand %v", c.file, sum("workclass=Private"), sum("native-country=Holand-Netherlands"))
		}
		// Records with a missing workclass have no workclass feature set; records with any missing
		// value have fewer than 8 one-hot features set.
		noWork, miss := 0, 0
		for i := range d.Len() {
			w, all := 0, 0
			for j, v := range d.Row(i) {
				if v == 1 && strings.Contains(adultFeatureNames[j], "=") {
					all++
					if strings.HasPrefix(adultFeatureNames[j], "workclass=") {
						w++
					}
				}
			}
			if w == 0 {
				noWork++
			}
			if all < 8 {
				miss++
			}
		}
		if noWork != c.noWork || miss != c.miss {
			t.Errorf("%s: %d without workclass, %d with a missing value; want %d, %d", c.file, noWork, miss, c.noWork, c.miss)
		}
	}
}
