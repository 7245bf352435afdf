package audit

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pmeter/pmeter/dataset"
	"github.com/pmeter/pmeter/dataset/embedded"
)

// Data is the data of a run: the training pool that models draw their training sets from, and a disjoint
// population that no model trains on (Privacy Meter's population; RMIA's z).
type Data struct {
	Pool, Population *dataset.Dataset
	// Source says where the data came from, for reports.
	Source string
	// ClassNames names the classes when known.
	ClassNames []string
}

// Datasets lists the dataset names LoadData accepts.
func Datasets() []string {
	return []string{"fashion-mnist", "adult", "mnist", "cifar10", "cifar100", "purchase100", "texas100",
		"location", "csv", "parquet", "npz", "synthetic-purchase"}
}

// LoadData loads the dataset the config names. The embedded datasets (fashion-mnist, adult) need no
// files; fashion-mnist and mnist read IDX files from data_dir when it holds them. Tabular features are
// standardised with statistics of the training pool only.
func LoadData(c *Config) (*Data, error) {
	dir := c.Data.DataDir
	name := strings.ToLower(c.Data.Dataset)
	var d *Data
	var err error
	switch name {
	case "fashion-mnist", "fashion_mnist", "fmnist":
		if hasIDX(dir, "train") {
			d, err = loadIDXDir(dir, "Fashion-MNIST from "+dir)
		} else {
			d = &Data{Source: "Fashion-MNIST subset embedded in pmeter (first 6,000 training and 1,000 test images; MIT licence, Zalando Research)",
				ClassNames: embedded.FashionMNISTClasses()}
			d.Pool, d.Population, err = embedded.FashionMNISTSplit()
		}
	case "mnist":
		if !hasIDX(dir, "train") {
			return nil, fmt.Errorf("data.data_dir %q has no MNIST IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-…)", dir)
		}
		d, err = loadIDXDir(dir, "MNIST from "+dir)
	case "adult":
		d = &Data{Source: "UCI Adult embedded in pmeter (adult.data as pool, adult.test as population; CC BY 4.0)",
			ClassNames: []string{"<=50K", ">50K"}}
		d.Pool, d.Population, err = embedded.AdultSplit()
		if err == nil {
			err = standardize(d)
		}
	case "cifar10", "cifar100":
		d, err = loadCIFAR(dir, name)
	case "purchase100", "texas100", "location":
		d, err = loadPrivacyTrustLab(dir, name)
	case "synthetic-purchase":
		var all *dataset.Dataset
		all, err = dataset.GeneratePurchaseLike(40000, 600, 100, uint64(c.Run.RandomSeed))
		if err == nil {
			d, err = splitFraction(all, 0.75, "synthetic Purchase-like data (40,000 × 600, 100 k-means classes)")
		}
	case "csv", "parquet":
		if c.Data.File == "" || c.Data.LabelCol == "" {
			return nil, c.fieldError("data", "file", "dataset %s needs data.file and data.label_column", name)
		}
		d, err = c.loadTable(name)
	case "npz":
		if c.Data.File == "" {
			return nil, c.fieldError("data", "file", "dataset npz needs data.file (an .npz with arrays x and y)")
		}
		var all *dataset.Dataset
		all, err = dataset.LoadNPZ(c.Data.File, "", "")
		if err == nil {
			d, err = splitFraction(all, 0.75, "NPZ file "+c.Data.File)
		}
	default:
		return nil, c.fieldError("data", "dataset", "unknown dataset %q (known: %s)", c.Data.Dataset, strings.Join(Datasets(), ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("loading dataset %s: %w", c.Data.Dataset, err)
	}
	if c.regression() {
		if err := c.toRegression(d); err != nil {
			return nil, err
		}
	}
	if err := c.checkClasses(d, 0); err != nil {
		return nil, err
	}
	if n := c.Data.TrainSize; n > 0 {
		if n > d.Pool.Len() {
			return nil, c.fieldError("data", "train_size", "%d is larger than the %d records of the training pool", n, d.Pool.Len())
		}
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		if d.Pool, err = d.Pool.Subset(idx); err != nil {
			return nil, err
		}
		if err := c.checkClasses(d, n); err != nil {
			return nil, err
		}
	}
	if c.Data.UserColumn != "" {
		if err := c.separateUsers(d); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// maxCategoriesLimit bounds data.max_categories: a column with more values adds more one-hot features
// than a tabular model should have, and the loader stops counting values there.
const maxCategoriesLimit = 1 << 16

// tabularNames are the names of the data section's options, for the advice in the loaders' errors.
func tabularNames() dataset.OptionNames {
	return dataset.OptionNames{Label: "data.label_column", Categorical: "data.categorical_columns", Drop: "data.drop_columns",
		Missing: "data.missing", MaxCategories: "data.max_categories", Group: "data.user_column"}
}

// isTable reports whether data.dataset reads a table file (csv or parquet).
func (c *Config) isTable() bool {
	name := strings.ToLower(c.Data.Dataset)
	return name == "csv" || name == "parquet"
}

// validateData checks the table options of the data section, those that need no file: they apply to
// csv and parquet only; missing is a policy; max_categories is in range; the column lists name no
// column twice, not the label column, and not one column both to drop and to encode. Whether the
// columns exist is checked against the file's header when LoadData reads it, before any training.
func (c *Config) validateData() error {
	d := c.Data
	if !c.isTable() {
		for _, f := range []struct {
			field string
			set   bool
		}{{"drop_columns", d.DropColumns != nil}, {"categorical_columns", d.CategoricalColumns != nil},
			{"missing", d.Missing != ""}, {"max_categories", d.MaxCategories != 0}} {
			if f.set {
				return c.fieldError("data", f.field, "applies to dataset csv or parquet only, not %s", d.Dataset)
			}
		}
		return nil
	}
	if d.Missing != "" {
		if _, err := dataset.ParseMissingPolicy(d.Missing); err != nil {
			return c.fieldError("data", "missing", "%q is not a policy (want error, drop or mean)", d.Missing)
		}
	}
	if d.MaxCategories < 0 || d.MaxCategories > maxCategoriesLimit {
		return c.fieldError("data", "max_categories", "must lie in [1, %d], or be 0 for the default %d; got %d",
			maxCategoriesLimit, dataset.DefaultMaxCategories, d.MaxCategories)
	}
	for _, l := range []struct {
		field string
		cols  []string
	}{{"drop_columns", d.DropColumns}, {"categorical_columns", d.CategoricalColumns}} {
		for k, col := range l.cols {
			switch {
			case strings.TrimSpace(col) == "":
				return c.fieldError("data", l.field, "entry %d is an empty column name", k+1)
			case slices.Contains(l.cols[:k], col):
				return c.fieldError("data", l.field, "lists column %q twice", col)
			case col == d.LabelCol:
				return c.fieldError("data", l.field, "lists the label column %q (data.label_column); labels are always classes, never features", col)
			}
		}
	}
	for _, col := range d.CategoricalColumns {
		if slices.Contains(d.DropColumns, col) {
			return c.fieldError("data", "categorical_columns", "lists column %q, which data.drop_columns drops", col)
		}
	}
	return nil
}

// tableOptions returns the loader options of a csv or parquet dataset.
func (c *Config) tableOptions() (dataset.TabularOptions, error) {
	o := dataset.TabularOptions{Label: c.Data.LabelCol, Drop: c.Data.DropColumns, Categorical: c.Data.CategoricalColumns,
		MaxCategories: c.Data.MaxCategories, Group: c.Data.UserColumn, Names: tabularNames()}
	if c.Data.Missing != "" {
		m, err := dataset.ParseMissingPolicy(c.Data.Missing)
		if err != nil {
			return o, c.fieldError("data", "missing", "%v", err)
		}
		o.Missing = m
	}
	return o, nil
}

// loadTable reads the CSV or Parquet file of the data section and splits it as Privacy Meter v2 does
// (the first 75 % of the records are the training pool, the rest the population). Missing numbers
// (data.missing: mean) are imputed, and then every feature standardised, with statistics of the
// training pool only. The source says how many records were dropped or values imputed.
func (c *Config) loadTable(kind string) (*Data, error) {
	opts, err := c.tableOptions()
	if err != nil {
		return nil, err
	}
	load := dataset.LoadCSV
	if kind == "parquet" {
		load = dataset.LoadParquet
	}
	all, st, err := load(c.Data.File, opts)
	if err != nil {
		return nil, err
	}
	source := strings.ToUpper(kind) + " file " + c.Data.File
	switch {
	case st.Dropped > 0:
		source += fmt.Sprintf(" (%d of its %d records dropped for a missing value, data.missing: drop)", st.Dropped, st.Records)
	case st.Missing > 0:
		source += fmt.Sprintf(" (%d missing values: numbers imputed with the training pool's means, categories left all zero; data.missing: mean)", st.Missing)
	}
	d, err := splitFraction(all, 0.75, source)
	if err != nil {
		return nil, err
	}
	if opts.Missing == dataset.MissingMean {
		if err := imputeMeans(d); err != nil {
			return nil, err
		}
	}
	return d, standardize(d)
}

// imputeMeans replaces missing numbers (NaN) in pool and population by the pool's means.
func imputeMeans(d *Data) error {
	rows := make([]int, d.Pool.Len())
	for i := range rows {
		rows[i] = i
	}
	m, err := dataset.FitMeanImputer(d.Pool, rows)
	if err != nil {
		return err
	}
	if _, err := m.Apply(d.Pool); err != nil {
		return err
	}
	_, err = m.Apply(d.Population)
	return err
}

// checkClasses makes sure that the training pool holds at least two classes, with an error that blames
// the data (the file and label column, or the dataset) rather than the model: no classifier trains on
// one class. trainSize is data.train_size when the pool was cut to it, else 0.
func (c *Config) checkClasses(d *Data, trainSize int) error {
	if c.regression() {
		return nil
	}
	present := presentClasses(d.Pool)
	if len(present) >= 2 {
		return nil
	}
	if len(present) == 0 {
		return c.fieldError("data", "dataset", "%s: the training pool is empty", c.Data.Dataset)
	}
	class := dataClassName(d, present[0])
	field, what := "dataset", "dataset "+c.Data.Dataset
	if c.isTable() {
		field, what = "file", fmt.Sprintf("%s: label column %q", c.Data.File, c.Data.LabelCol)
	}
	if trainSize > 0 {
		return c.fieldError("data", "train_size", "the first %d records of the training pool all have class %s of %s; a classifier needs two classes or more (raise data.train_size, or shuffle the records)",
			trainSize, class, what)
	}
	all := len(presentClasses(d.Population)) == 0 || slices.Equal(presentClasses(d.Population), present)
	if all {
		return c.fieldError("data", field, "%s holds one class only, %s, in all %d records; a classifier needs two classes or more (is it the right label column?)",
			what, class, d.Pool.Len()+d.Population.Len())
	}
	return c.fieldError("data", field, "%s: the training pool (the first %d of the %d records) holds one class only, %s, and the population the others; a classifier needs two classes or more (are the records sorted by label? shuffle them)",
		what, d.Pool.Len(), d.Pool.Len()+d.Population.Len(), class)
}

// presentClasses returns the classes that d's records have, in order.
func presentClasses(d *dataset.Dataset) []int {
	var present []int
	for k, n := range d.ClassCounts() {
		if n > 0 {
			present = append(present, k)
		}
	}
	return present
}

// dataClassName quotes class k's name when known, else gives its index.
func dataClassName(d *Data, k int) string {
	names := d.ClassNames
	if names == nil {
		names = d.Pool.ClassNames
	}
	if k < len(names) {
		return fmt.Sprintf("%q", names[k])
	}
	return fmt.Sprintf("%d", k)
}

func hasIDX(dir, prefix string) bool {
	if dir == "" {
		return false
	}
	_, err := findFile(dir, prefix+"-images-idx3-ubyte")
	return err == nil
}

// findFile returns dir/name or dir/name.gz, whichever exists.
func findFile(dir, name string) (string, error) {
	for _, n := range []string{name, name + ".gz"} {
		p := filepath.Join(dir, n)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: no file %s or %s.gz", dir, name, name)
}

func loadIDXDir(dir, source string) (*Data, error) {
	load := func(prefix string) (*dataset.Dataset, error) {
		img, err := findFile(dir, prefix+"-images-idx3-ubyte")
		if err != nil {
			return nil, err
		}
		lab, err := findFile(dir, prefix+"-labels-idx1-ubyte")
		if err != nil {
			return nil, err
		}
		return dataset.LoadIDX(img, lab)
	}
	pool, err := load("train")
	if err != nil {
		return nil, err
	}
	pop, err := load("t10k")
	if err != nil {
		return nil, err
	}
	return &Data{Pool: pool, Population: pop, Source: source}, nil
}

func loadCIFAR(dir, name string) (*Data, error) {
	if dir == "" {
		return nil, fmt.Errorf("%s needs data.data_dir with the binary version of the dataset", name)
	}
	var pool, pop *dataset.Dataset
	var err error
	if name == "cifar10" {
		base := filepath.Join(dir, "cifar-10-batches-bin")
		if _, e := os.Stat(base); e != nil {
			base = dir
		}
		var train []string
		for i := 1; i <= 5; i++ {
			train = append(train, filepath.Join(base, fmt.Sprintf("data_batch_%d.bin", i)))
		}
		if pool, err = dataset.LoadCIFAR10(train...); err != nil {
			return nil, err
		}
		if pop, err = dataset.LoadCIFAR10(filepath.Join(base, "test_batch.bin")); err != nil {
			return nil, err
		}
	} else {
		base := filepath.Join(dir, "cifar-100-binary")
		if _, e := os.Stat(base); e != nil {
			base = dir
		}
		if pool, err = dataset.LoadCIFAR100(true, filepath.Join(base, "train.bin")); err != nil {
			return nil, err
		}
		if pop, err = dataset.LoadCIFAR100(true, filepath.Join(base, "test.bin")); err != nil {
			return nil, err
		}
	}
	// Privacy Meter normalises CIFAR images to [−1, 1]: Normalize(0.5, 0.5) per channel.
	half := []float32{0.5, 0.5, 0.5}
	if err := pool.NormalizeChannels(half, half); err != nil {
		return nil, err
	}
	if err := pop.NormalizeChannels(half, half); err != nil {
		return nil, err
	}
	return &Data{Pool: pool, Population: pop, Source: name + " from " + dir}, nil
}

// loadPrivacyTrustLab reads Purchase100, Texas100 or Location as privacytrustlab/datasets distributes them
// and splits them as Privacy Meter v2 does: the first 75 % of the file is the training pool, the last 25 %
// the population.
func loadPrivacyTrustLab(dir, name string) (*Data, error) {
	if dir == "" {
		return nil, fmt.Errorf("%s needs data.data_dir holding the privacytrustlab dataset file", name)
	}
	var all *dataset.Dataset
	var err error
	switch name {
	case "purchase100":
		p := filepath.Join(dir, "dataset_purchase")
		if _, e := os.Stat(p); e != nil {
			p += ".tgz"
		}
		all, err = dataset.LoadPurchase100(p)
	case "location":
		p := filepath.Join(dir, "bangkok")
		if _, e := os.Stat(p); e != nil {
			p = filepath.Join(dir, "dataset_location")
		}
		all, err = dataset.LoadLocation(p)
	case "texas100":
		feats := filepath.Join(dir, "dataset_texas", "feats")
		if _, e := os.Stat(feats); e == nil {
			all, err = dataset.LoadTexas100(feats, filepath.Join(dir, "dataset_texas", "labels"))
		} else {
			all, err = dataset.LoadTexas100Archive(filepath.Join(dir, "dataset_texas.tgz"))
		}
	}
	if err != nil {
		return nil, err
	}
	return splitFraction(all, 0.75, name+" from "+dir)
}

func splitFraction(all *dataset.Dataset, frac float64, source string) (*Data, error) {
	head, tail, err := dataset.SplitByFraction(all.Len(), frac)
	if err != nil {
		return nil, err
	}
	pool, err := all.Subset(head)
	if err != nil {
		return nil, err
	}
	pop, err := all.Subset(tail)
	if err != nil {
		return nil, err
	}
	return &Data{Pool: pool, Population: pop, Source: source, ClassNames: all.ClassNames}, nil
}

// standardize fits per-feature standardisation on the pool and applies it to pool and population.
func standardize(d *Data) error {
	rows := make([]int, d.Pool.Len())
	for i := range rows {
		rows[i] = i
	}
	s, err := dataset.FitStandardizer(d.Pool, rows)
	if err != nil {
		return err
	}
	if err := s.Apply(d.Pool); err != nil {
		return err
	}
	return s.Apply(d.Population)
}
