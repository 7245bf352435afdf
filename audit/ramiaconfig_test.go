package audit

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/ramia"
)

// writePurchaseFile writes n records in Privacy Meter's Purchase100 format (dataset_purchase: lines
// "label,f1,…,f600", labels 1..100, binary features) into dir.
func writePurchaseFile(t *testing.T, dir string, n int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		feats := make([]string, 600)
		label := 0
		for j := range feats {
			bit := rng.IntN(2)
			feats[j] = fmt.Sprint(bit)
			if j < 5 {
				label = label<<1 | bit // a label the features decide, so that models learn something
			}
		}
		fmt.Fprintf(&b, "%d,%s\n", 1+label%100, strings.Join(feats, ","))
	}
	if err := os.WriteFile(filepath.Join(dir, "dataset_purchase"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// shrink replaces each old value of a config by the new one, failing unless it occurs exactly once.
func shrink(t *testing.T, yaml string, pairs ...string) string {
	t.Helper()
	for i := 0; i+1 < len(pairs); i += 2 {
		if n := strings.Count(yaml, pairs[i]); n != 1 {
			t.Fatalf("%q occurs %d times in the config", pairs[i], n)
		}
		yaml = strings.Replace(yaml, pairs[i], pairs[i+1], 1)
	}
	return yaml
}

// TestRamiaSection runs Privacy Meter's configs/ramia/purchase.yaml, in its exact layout (a top-level
// ramia section, privacy_game privacy_loss_model), on a small file in Purchase100's format: it is the
// range_membership audit that pmeter's range section with the same settings describes.
func TestRamiaSection(t *testing.T) {
	pm, err := os.ReadFile("testdata/ramia/purchase.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig(pm)
	if err != nil {
		t.Fatalf("Privacy Meter's ramia/purchase.yaml: %v", err)
	}
	if c.Audit.PrivacyGame != rangeGame || c.ranges == nil || c.ranges.sampler != "l2" || c.ranges.size != 10 || c.ranges.radius != 10 || c.ranges.trim != nil {
		t.Fatalf("game %q, range %+v; want range_membership, l2 with 10 points of radius 10, trim tuned", c.Audit.PrivacyGame, c.ranges)
	}
	warnings := strings.Join(c.Warnings(), "\n")
	for _, w := range []string{"the ramia section (Privacy Meter's run_range_mia.py) makes this a range_membership audit", "device settings are ignored"} {
		if !strings.Contains(warnings, w) {
			t.Errorf("warnings lack %q:\n%s", w, warnings)
		}
	}
	// The same audit in pmeter's layout: the same configuration hash, hence the same run directory files.
	native := strings.Replace(strings.Replace(string(pm), "privacy_game: privacy_loss_model", "privacy_game: range_membership", 1),
		"ramia:\n    range_function: l2\n    sample_size: 10\n    radius: 10\n", "range:\n    range_function: l2\n    sample_size: 10\n    radius: 10\n", 1)
	n, err := ParseConfig([]byte(native))
	if err != nil {
		t.Fatal(err)
	}
	if c.Hash() != n.Hash() {
		t.Errorf("the ramia config hashes to %s…, its range equivalent to %s…", c.Hash()[:12], n.Hash()[:12])
	}
	// A run snapshot (pmeter submit) reads back as the same configuration.
	y, err := snapshotYAML(c)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseConfig(y)
	if err != nil || back.Hash() != c.Hash() {
		t.Errorf("snapshot reads back: %v (hash equal: %v)\n%s", err, err == nil && back.Hash() == c.Hash(), y)
	}

	// Run it, shrunk to a few hundred records and two epochs.
	dir := t.TempDir()
	writePurchaseFile(t, dir, 800) // 600 in the training pool, 200 in the population
	small := shrink(t, string(pm), "data_size: 10000", "data_size: 200", "population_size: 10000", "population_size: 100",
		"epochs: 100", "epochs: 2", "data_dir: data", "data_dir: "+dir, "log_dir: demo_purchase", "log_dir: "+filepath.Join(dir, "run"),
		"batch_size: 5 ", "batch_size: 500 ")
	c, err = ParseConfig([]byte(small))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Ranges
	if r == nil {
		t.Fatal("no range result")
	}
	if r.SamplesPerRange != 10 || r.Ranges+r.Dropped != 200 || r.Reported != "range" || len(r.Targets) != 1 {
		t.Fatalf("range result %+v", r)
	}
	if tr := r.Targets[0]; tr.Range == nil || tr.Range.Members+tr.Range.NonMembers != r.Ranges || tr.Sample.Members+tr.Sample.NonMembers != 10*r.Ranges {
		t.Errorf("target result %+v", tr)
	}
	var out bytes.Buffer
	res.WriteSummary(&out)
	if !strings.Contains(out.String(), "range membership: l2 (radius 10), 10 points per range") {
		t.Errorf("summary:\n%s", out.String())
	}
}

// TestRamiaSectionFields maps each field of Privacy Meter's ramia section, or refuses it naming the field.
func TestRamiaSectionFields(t *testing.T) {
	const base = "run:\n  random_seed: 1\naudit:\n  privacy_game: privacy_loss_model\ndata:\n  dataset: fashion-mnist\n"
	c, err := ParseConfig([]byte(base + "ramia:\n  range_function: missing_values\n  sample_size: 10\n  num_missing_feats: 2\n  col_ranges: [[0, 1], [0, 3]]\n  is_categorical: True\n  trim_ratio: 0.5\n  trim_direction: bottom\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s := c.ranges; s.sampler != "missing_values" || s.size != 10 || s.lastK != 2 || !s.categorical || s.colRanges[1] != [2]float64{0, 3} || *s.trim != (rangeTrim{0.5, ramia.TrimBottom}) {
		t.Errorf("missing_values: %+v", s)
	}
	c, err = ParseConfig([]byte(base + "ramia:\n  range_function: geometric\n  sample_size: 3\n  transformations: [horizontal_flip, vertical_flip]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s := c.ranges; s.sampler != "geometric" || s.size != 3 || len(s.transforms) != 2 {
		t.Errorf("geometric: %+v", s)
	}
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"word_replace", "ramia:\n  range_function: word_replace\n  sample_size: 10\n  mask_model: bert-base-uncased\n  num_masks: 5\n",
			[]string{"line 8", "ramia.range_function", "masked language model", "mask_model"}},
		{"mask model without word_replace", "ramia:\n  range_function: l2\n  sample_size: 10\n  radius: 10\n  mask_model: bert-base-uncased\n",
			[]string{"line 11", "ramia.mask_model", "word_replace only"}},
		{"random rotation", "ramia:\n  range_function: geometric\n  sample_size: 4\n  transformations: [horizontal_flip, vertical_flip, rotate]\n",
			[]string{"line 10", "ramia.transformations", "element 2", "rotate:DEGREES", "random angle"}},
		{"no sample size", "ramia:\n  range_function: l2\n  radius: 10\n", []string{"ramia.sample_size", "is required"}},
		{"no radius", "ramia:\n  range_function: l2\n  sample_size: 10\n", []string{"ramia.radius", "is required"}},
		{"another function's field", "ramia:\n  range_function: l2\n  sample_size: 10\n  radius: 1\n  num_missing_feats: 2\n",
			[]string{"line 11", "ramia.num_missing_feats", "applies to range_function missing_values, not l2"}},
		{"unknown function", "ramia:\n  range_function: ball\n  sample_size: 10\n", []string{"line 8", "ramia.range_function", `"ball"`}},
		{"pmeter's name", "ramia:\n  sampler: l2\n", []string{"line 8", "sampler", "section ramia"}},
		{"both sections", "ramia:\n  range_function: l2\n  sample_size: 10\n  radius: 1\nrange:\n  sampler: l2\n", []string{"ramia.range_function", "not both"}},
		{"too many missing", "ramia:\n  range_function: missing_values\n  sample_size: 10\n  num_missing_feats: 1\n  col_ranges: [[0, 1]]\n  trim_ratio: 2\n  trim_direction: top\n",
			[]string{"line 12", "ramia.trim_ratio", "[0, 1]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(base + tc.yaml))
			if err == nil {
				t.Fatalf("accepted:\n%s", base+tc.yaml)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	_, err = ParseConfig([]byte(strings.Replace(base, "privacy_loss_model", "privacy_loss_sample", 1) + "ramia:\n  range_function: l2\n  sample_size: 10\n  radius: 1\n"))
	if err == nil || !strings.Contains(err.Error(), "audit.privacy_game") || !strings.Contains(err.Error(), "ramia section") {
		t.Errorf("ramia with privacy_loss_sample: %v", err)
	}
}
