package dataset_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/pmeter/pmeter/dataset"
)

// A CSV table with an identifier column to drop, a numeric column to one-hot encode, and a missing
// value imputed with the mean of the training rows only (the first three records here).
func ExampleLoadCSV() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "patients.csv")
	os.WriteFile(path, []byte("id,age,ward,outcome\n17,40,2,ok\n18,?,1,ok\n19,60,2,bad\n20,99,1,bad\n"), 0o644)

	d, stats, err := dataset.LoadCSV(path, dataset.TabularOptions{
		Label:       "outcome",
		Drop:        []string{"id"},
		Categorical: []string{"ward"},
		Missing:     dataset.MissingMean,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	imp, _ := dataset.FitMeanImputer(d, []int{0, 1, 2})
	imp.Apply(d)
	fmt.Println(stats.Records, "records,", stats.Missing, "missing value; features", d.FeatureNames, "classes", d.ClassNames)
	fmt.Println("record 1:", d.Row(1))
	// Output:
	// 4 records, 1 missing value; features [age ward=1 ward=2] classes [bad ok]
	// record 1: [50 1 0]
}
