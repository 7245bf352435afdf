package nnbench

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/pmeter/pmeter/dataset"
	"github.com/pmeter/pmeter/dataset/embedded"
)

// loadFashion returns Fashion-MNIST's training and test sets from dir, or the embedded subset when dir
// is empty, and a description of the source.
func loadFashion(dir string) (train, test *dataset.Dataset, source string, err error) {
	if dir == "" {
		train, test, err = embedded.FashionMNISTSplit()
		if err != nil {
			return nil, nil, "", fmt.Errorf("nnbench: fashion: %w", err)
		}
		return train, test, "embedded Fashion-MNIST subset", nil
	}
	find := func(base string) (string, error) {
		for _, name := range []string{base, base + ".gz"} {
			p := filepath.Join(dir, name)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
		return "", fmt.Errorf("nnbench: fashion: %s(.gz) not found in %s", base, dir)
	}
	var paths [4]string
	for i, base := range []string{"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"} {
		if paths[i], err = find(base); err != nil {
			return nil, nil, "", err
		}
	}
	if train, err = dataset.LoadIDX(paths[0], paths[1]); err != nil {
		return nil, nil, "", fmt.Errorf("nnbench: fashion: %w", err)
	}
	if test, err = dataset.LoadIDX(paths[2], paths[3]); err != nil {
		return nil, nil, "", fmt.Errorf("nnbench: fashion: %w", err)
	}
	return train, test, "Fashion-MNIST from " + dir, nil
}
