package audit

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// TestDataTableOptionsValidation: the table options of the data section are checked where the config
// is parsed, with the line and field.
func TestDataTableOptionsValidation(t *testing.T) {
	const csv = "data:\n  dataset: csv\n  file: d.csv\n  label_column: y\n"
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown policy", csv + "  missing: sometimes\n", `line 5: data.missing: "sometimes" is not a policy (want error, drop or mean)`},
		{"negative bound", csv + "  max_categories: -1\n", "line 5: data.max_categories: must lie in [1, 65536], or be 0 for the default 100; got -1"},
		{"huge bound", csv + "  max_categories: 1000000\n", "line 5: data.max_categories: must lie in [1, 65536]"},
		{"label dropped", csv + "  drop_columns: [id, y]\n", `line 5: data.drop_columns: lists the label column "y" (data.label_column); labels are always classes, never features`},
		{"label categorical", csv + "  categorical_columns: [y]\n", `line 5: data.categorical_columns: lists the label column "y"`},
		{"twice", csv + "  drop_columns: [id, name, id]\n", `line 5: data.drop_columns: lists column "id" twice`},
		{"empty name", csv + "  categorical_columns: [a, \"\"]\n", "line 5: data.categorical_columns: entry 2 is an empty column name"},
		{"both", csv + "  drop_columns: [a]\n  categorical_columns: [b, a]\n", `line 6: data.categorical_columns: lists column "a", which data.drop_columns drops`},
		{"not a list", csv + "  drop_columns: id\n", "line 5"},
		{"not a table", "data:\n  dataset: fashion-mnist\n  missing: drop\n", "line 3: data.missing: applies to dataset csv or parquet only, not fashion-mnist"},
		{"not a table, columns", "data:\n  dataset: npz\n  file: a.npz\n  drop_columns: [a]\n", "line 4: data.drop_columns: applies to dataset csv or parquet only, not npz"},
	} {
		_, err := ParseConfig([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	c, err := ParseConfig([]byte(csv + "  drop_columns: [id]\n  categorical_columns: [zip]\n  missing: mean\n  max_categories: 20\n"))
	if err != nil {
		t.Fatal(err)
	}
	o, err := c.tableOptions()
	if err != nil {
		t.Fatal(err)
	}
	if o.Label != "y" || !slices.Equal(o.Drop, []string{"id"}) || !slices.Equal(o.Categorical, []string{"zip"}) ||
		o.Missing.String() != "mean" || o.MaxCategories != 20 || o.Names.Categorical != "data.categorical_columns" {
		t.Errorf("options %+v", o)
	}
}

// tableConfig writes text as dir/name and parses a config that reads it with the extra data lines.
func tableConfig(t *testing.T, name, text, extra string) (*Config, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	kind := strings.TrimPrefix(filepath.Ext(name), ".")
	c, err := ParseConfig([]byte(fmt.Sprintf("data:\n  dataset: %s\n  file: %s\n  label_column: y\n%s", kind, path, extra)))
	if err != nil {
		t.Fatal(err)
	}
	return c, path
}

// TestTableDataErrors: what goes wrong with a CSV file is blamed on the file, with advice in the
// data section's terms, before any training.
func TestTableDataErrors(t *testing.T) {
	var text strings.Builder
	text.WriteString("id,age,colour,y\n")
	for i := range 40 {
		age := fmt.Sprint(20 + i)
		if i == 17 {
			age = "n/a"
		}
		fmt.Fprintf(&text, "%d,%s,%s,%s\n", i, age, []string{"red", "blue"}[i%2], []string{"no", "yes"}[i%3%2])
	}
	for _, tc := range []struct {
		name, extra string
		want        []string
	}{
		{"mixed column", "", []string{`loading dataset csv: `, `d.csv: line 19: field 2 (age): "n/a" is not a number, but 39 of the column's 40 values are numbers; correct the cell, or list age in data.categorical_columns to one-hot encode the column, or in data.drop_columns to ignore it`}},
		{"unknown column", "  drop_columns: [age, Colour]\n", []string{`d.csv: data.drop_columns names column "Colour", which the file lacks (its columns: id, age, colour, y)`}},
		{"unknown categorical", "  categorical_columns: [agee]\n", []string{`d.csv: data.categorical_columns names column "agee", which the file lacks (its columns: id, age, colour, y)`}},
		{"too many categories", "  categorical_columns: [age, id]\n  max_categories: 30\n", []string{`d.csv: line 32: field 1 (id): categorical column with 40 distinct values, more than the 30 that data.max_categories allows (value "30" here is the first too many); list id in data.drop_columns if it is an identifier or free text, or raise data.max_categories`}},
	} {
		c, _ := tableConfig(t, "d.csv", text.String(), tc.extra)
		_, err := LoadData(c)
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %v, want one containing %q", tc.name, err, w)
			}
		}
	}
	// Following the first advice works: age one-hot, 40 values (39 numbers and "n/a").
	c, _ := tableConfig(t, "d.csv", text.String(), "  categorical_columns: [age]\n  drop_columns: [id]\n")
	d, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	if d.Pool.Dim() != 42 || !slices.Contains(d.Pool.FeatureNames, "age=n/a") || !slices.Contains(d.Pool.FeatureNames, "colour=red") {
		t.Errorf("categorical age: %d features %q", d.Pool.Dim(), d.Pool.FeatureNames)
	}
}

// TestTableDataMissing: drop says how many records went; mean imputes with the training pool's mean
// (the first 30 of 40 records), not the population's, before standardising.
func TestTableDataMissing(t *testing.T) {
	var text strings.Builder
	text.WriteString("\ufeffy,x,z\n") // a byte order mark before the label column's name
	for i := range 40 {
		x := fmt.Sprint(i % 10)
		if i >= 30 {
			x = "1000" // population values far from the pool's
		}
		if i == 5 || i == 35 {
			x = "?"
		}
		fmt.Fprintf(&text, "%d,%s,%d\n", i%2, x, i%3)
	}
	c, _ := tableConfig(t, "m.csv", text.String(), "")
	_, err := LoadData(c)
	if err == nil || !strings.Contains(err.Error(), `m.csv: line 7: field 2 (x): missing value "?"; set data.missing to drop (to drop such records) or to mean (to impute the training rows' mean), or list x in data.drop_columns to ignore the column`) {
		t.Errorf("missing, default: error %v", err)
	}

	c, _ = tableConfig(t, "m.csv", text.String(), "  missing: drop\n")
	d, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	// 38 records left: pool round(0.75·38) = 28 (was 30), population 10.
	if d.Pool.Len()+d.Population.Len() != 38 || !strings.Contains(d.Source, "(2 of its 40 records dropped for a missing value, data.missing: drop)") {
		t.Errorf("drop: %d + %d records, source %q", d.Pool.Len(), d.Population.Len(), d.Source)
	}

	c, _ = tableConfig(t, "m.csv", text.String(), "  missing: mean\n")
	d, err = LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	if d.Pool.Len() != 30 || d.Population.Len() != 10 || !strings.Contains(d.Source, "(2 missing values: numbers imputed with the training pool's means") {
		t.Fatalf("mean: %d + %d records, source %q", d.Pool.Len(), d.Population.Len(), d.Source)
	}
	// Pool x: 0..9 three times less the 5 of record 5, so its mean is 130/29, and standardised with
	// the imputed column's own mean and deviation. Both missing cells (pool record 5 and population
	// record 35) get the pool mean, so both standardise to exactly the pool mean's 0; the whole file's
	// mean (over the population's 1000s too) would put them far from 0.
	if d.Pool.FeatureNames[0] != "x" {
		t.Fatalf("features %q", d.Pool.FeatureNames)
	}
	pm := 130.0 / 29
	ss := 0.0
	for i := range 30 {
		v := pm
		if i != 5 {
			v = float64(i % 10)
		}
		ss += (v - pm) * (v - pm)
	}
	std := math.Sqrt(ss / 30)
	for _, tc := range []struct {
		what string
		got  float32
		want float64
	}{
		{"pool record 5 (imputed)", d.Pool.Row(5)[0], 0},
		{"population record 35 (imputed)", d.Population.Row(5)[0], 0},
		{"pool record 7", d.Pool.Row(7)[0], (7 - pm) / std},
		{"population record 30", d.Population.Row(0)[0], (1000 - pm) / std},
	} {
		if math.Abs(float64(tc.got)-tc.want) > 1e-5*math.Max(1, math.Abs(tc.want)) {
			t.Errorf("%s: x standardised is %v, want %v", tc.what, tc.got, tc.want)
		}
	}
}

// TestOneClassIsTheDataFault: a file with one class, or one whose training pool has one class, is
// blamed on the data, not on train.model_name.
func TestOneClassIsTheDataFault(t *testing.T) {
	table := func(label func(i int) string) string {
		var b strings.Builder
		b.WriteString("x,y\n")
		for i := range 40 {
			fmt.Fprintf(&b, "%d,%s\n", i, label(i))
		}
		return b.String()
	}
	for _, tc := range []struct {
		name, text, extra, want string
	}{
		{"one class", table(func(int) string { return "spam" }), "",
			`line 3: data.file: %s: label column "y" holds one class only, "spam", in all 40 records; a classifier needs two classes or more (is it the right label column?)`},
		{"sorted by label", table(func(i int) string { return []string{"ham", "spam"}[i/30] }), "",
			`line 3: data.file: %s: label column "y": the training pool (the first 30 of the 40 records) holds one class only, "ham", and the population the others; a classifier needs two classes or more (are the records sorted by label? shuffle them)`},
		{"train_size", table(func(i int) string { return []string{"ham", "spam"}[i/10%2] }), "  train_size: 8\n",
			`line 5: data.train_size: the first 8 records of the training pool all have class "ham" of %s: label column "y"; a classifier needs two classes or more`},
	} {
		c, path := tableConfig(t, "one.csv", tc.text, tc.extra)
		_, err := LoadData(c)
		want := fmt.Sprintf(tc.want, path)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "model_name") {
			t.Errorf("%s: error\n  %v\nwant one containing\n  %s", tc.name, err, want)
		}
	}
}

// TestParquetDataOptions: the data section's options reach the Parquet loader.
func TestParquetDataOptions(t *testing.T) {
	type row struct {
		ID   int64    `parquet:"id"`
		Size int32    `parquet:"size"`
		H    *float64 `parquet:"h,optional"`
		Y    string   `parquet:"y"`
	}
	var rows []row
	for i := range 40 {
		r := row{ID: int64(i), Size: int32(i % 3), Y: []string{"a", "b"}[i%2]}
		if i != 4 {
			h := float64(i % 5)
			r.H = &h
		}
		rows = append(rows, r)
	}
	path := filepath.Join(t.TempDir(), "t.parquet")
	if err := parquet.WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig([]byte("data:\n  dataset: parquet\n  file: " + path + "\n  label_column: y\n  drop_columns: [id]\n  categorical_columns: [size]\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = LoadData(c)
	if err == nil || !strings.Contains(err.Error(), `t.parquet: record 4 (row group 0, row 4): column "h": missing value null; set data.missing to drop`) {
		t.Errorf("missing value: %v", err)
	}
	c.Data.Missing = "drop"
	d, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"size=0", "size=1", "size=2", "h"}; !slices.Equal(d.Pool.FeatureNames, want) {
		t.Errorf("features %q, want %q", d.Pool.FeatureNames, want)
	}
	if !strings.Contains(d.Source, "PARQUET file "+path+" (1 of its 40 records dropped") {
		t.Errorf("source %q", d.Source)
	}
}

// TestDefaultYAMLTableExample: the commented table options of `pmeter init`'s config parse once
// uncommented (in place of the default dataset) and mean what the comments say.
func TestDefaultYAMLTableExample(t *testing.T) {
	var out []string
	for _, line := range strings.Split(string(DefaultConfigYAML()), "\n") {
		switch {
		case strings.HasPrefix(line, "  dataset: fashion-mnist"), strings.HasPrefix(line, "  data_dir:"):
			continue
		case strings.HasPrefix(line, "  # ") && strings.Contains(line, ": ") && !strings.HasPrefix(line, "  #  "):
			if k := strings.Index(line[4:], ":"); k > 0 && !strings.Contains(line[4:4+k], " ") {
				line = "  " + line[4:]
			}
		}
		out = append(out, line)
	}
	c, err := ParseConfig([]byte(strings.Join(out, "\n")))
	if err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(out, "\n"))
	}
	d := c.Data
	if d.Dataset != "csv" || d.File != "my_data.csv" || d.LabelCol != "label" || !slices.Equal(d.DropColumns, []string{"id"}) ||
		!slices.Equal(d.CategoricalColumns, []string{"zip"}) || d.Missing != "error" || d.MaxCategories != 100 {
		t.Errorf("uncommented example: %+v", d)
	}
}
