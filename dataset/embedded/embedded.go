// Package embedded ships two small data sets inside the binary, so that pmeter can run an audit with
// no download: a 7,000-image subset of Fashion-MNIST (MIT licence, Zalando) and UCI Adult (CC BY 4.0).
// data/NOTICE states their provenance and licences; the files are made by the generator in gen/
// (go run ./dataset/embedded/gen) from the full data sets.
//
// Every function decodes the compressed files afresh and returns new datasets, which the caller owns.
package embedded

import (
	"bytes"
	"compress/gzip"
	"embed"
	"fmt"
	"io"

	"github.com/pmeter/pmeter/dataset"
)

//go:embed data/*.gz data/NOTICE
var files embed.FS

// Sizes of the embedded Fashion-MNIST subset.
const (
	FashionMNISTTrain = 6000 // first images of train-images-idx3-ubyte
	FashionMNISTTest  = 1000 // first images of t10k-images-idx3-ubyte
)

// FashionMNISTClasses are the class names of Fashion-MNIST, in label order.
func FashionMNISTClasses() []string {
	return []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
}

// Notice returns the provenance and licence text of the embedded data (data/NOTICE).
func Notice() string {
	b, err := files.ReadFile("data/NOTICE")
	if err != nil {
		return ""
	}
	return string(b)
}

// FashionMNIST returns the embedded Fashion-MNIST subset as one dataset of 7,000 records: the 6,000
// training images first, then the 1,000 test images. Images are 1 × 28 × 28, pixels in [0, 1]; 10
// classes.
func FashionMNIST() (*dataset.Dataset, error) {
	train, test, err := FashionMNISTSplit()
	if err != nil {
		return nil, err
	}
	d, err := dataset.Concat(train, test)
	if err != nil {
		return nil, err
	}
	d.Name = fmt.Sprintf("fashion-mnist (embedded: first %d train + first %d test images; Zalando, MIT)", FashionMNISTTrain, FashionMNISTTest)
	return d, nil
}

// FashionMNISTSplit returns the embedded Fashion-MNIST subset as its 6,000 training and 1,000 test
// images.
func FashionMNISTSplit() (train, test *dataset.Dataset, err error) {
	if train, err = fashion("train"); err != nil {
		return nil, nil, err
	}
	if test, err = fashion("t10k"); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

func fashion(part string) (*dataset.Dataset, error) {
	imgName := "data/fashion-mnist-" + part + "-images-idx3-ubyte.gz"
	labName := "data/fashion-mnist-" + part + "-labels-idx1-ubyte.gz"
	img, err := readIDX(imgName)
	if err != nil {
		return nil, err
	}
	lab, err := readIDX(labName)
	if err != nil {
		return nil, err
	}
	d, err := dataset.FromIDX(img, lab, "fashion-mnist-"+part+" (embedded)", imgName, labName)
	if err != nil {
		return nil, err
	}
	d.Classes = 10
	d.ClassNames = FashionMNISTClasses()
	return d, d.Validate()
}

func readIDX(name string) (*dataset.IDX, error) {
	r, err := open(name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	a, err := dataset.DecodeIDX(r)
	if err != nil {
		return nil, fmt.Errorf("embedded %s: %w", name, err)
	}
	return a, nil
}

// Adult returns UCI Adult as one dataset of 48,842 records, adult.data's 32,561 then adult.test's
// 16,281, encoded as dataset.LoadAdult does (105 features: 6 continuous, unscaled, and one-hot
// categories; label 1 for income >50K).
func Adult() (*dataset.Dataset, error) {
	train, test, err := AdultSplit()
	if err != nil {
		return nil, err
	}
	d, err := dataset.Concat(train, test)
	if err != nil {
		return nil, err
	}
	d.Name = "adult (embedded: adult.data + adult.test; UCI, CC BY 4.0)"
	return d, nil
}

// AdultSplit returns UCI Adult as its original training (adult.data) and test (adult.test) files.
func AdultSplit() (train, test *dataset.Dataset, err error) {
	if train, err = adult("data/adult.data.gz"); err != nil {
		return nil, nil, err
	}
	if test, err = adult("data/adult.test.gz"); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

func adult(name string) (*dataset.Dataset, error) {
	r, err := open(name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return dataset.ReadAdult(r, "embedded "+name)
}

func open(name string) (io.ReadCloser, error) {
	b, err := files.ReadFile(name)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("embedded %s: %w", name, err)
	}
	return zr, nil
}
