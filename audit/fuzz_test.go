package audit

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseConfig checks that ParseConfig never panics: any bytes give a validated config or an error,
// and a config it accepts yields its warnings. Seeds: the default config and the example configs.
func FuzzParseConfig(f *testing.F) {
	f.Add(DefaultConfigYAML())
	for _, pattern := range []string{"testdata/*.yaml", "../examples/*/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte("run: {random_seed: 1}\naudit: &a {algorithm: RMIA}\ntrain: *a\n"))
	f.Add([]byte("data:\n  dataset: csv\n  file: x.csv\n  label_column: y\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			if c != nil {
				t.Fatalf("ParseConfig returned a config with the error %v", err)
			}
			return
		}
		_ = c.Warnings()
	})
}
