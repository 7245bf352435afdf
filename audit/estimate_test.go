package audit

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEstimateMatchesPlan checks the estimate's counts against the plan MakePlan makes, for every
// design: models and targets, audited and population records, parameters of the built model.
func TestEstimateMatchesPlan(t *testing.T) {
	for _, tc := range []struct{ name, yaml string }{
		{"pairs, one target", "run:\n  num_experiments: 1\naudit:\n  num_ref_models: 4\n"},
		{"pairs, two targets", "run:\n  num_experiments: 2\naudit:\n  num_ref_models: 1\n  data_size: 100\n  population_size: 50\n"},
		{"pairs, five targets, no references", "run:\n  num_experiments: 5\naudit:\n  num_ref_models: 0\n  attacks: [{name: loss}]\n"},
		{"pairs, tuned RMIA", "audit:\n  num_ref_models: 1\n  attacks: [{name: rmia, params: {tune_offline_a: \"true\"}}]\n"},
		{"pairs, tuned RMIA as Privacy Meter", "audit:\n  num_ref_models: 1\n  attacks: [{name: rmia, params: {tune_offline_a: \"true\", compat: privacy-meter}}]\n"},
		{"lira", "audit:\n  split: lira\n  num_ref_models: 3\ntrain:\n  model_name: cnn\n"},
		{"lira, three targets", "run:\n  num_experiments: 3\naudit:\n  split: lira\n  num_ref_models: 0\n  attacks: [{name: loss}]\n"},
		{"lira, tuned RMIA", "audit:\n  split: lira\n  num_ref_models: 1\n  attacks: [{name: rmia, params: {tune_offline_a: \"true\"}}]\n"},
		{"bernoulli", "run:\n  num_experiments: 9\naudit:\n  split: bernoulli\n  num_ref_models: 2\n"},
		{"bernoulli, default attacks", "audit:\n  split: bernoulli\n  num_ref_models: 1\n"},
		{"custom model", "train:\n  model: [{kind: flatten}, {kind: dense, out: 16}, {kind: relu}, {kind: dense, out: 10}]\n"},
		{"external target", "target:\n  model: testdata/external/target.onnx\n  train_indices: testdata/external/target_train.npy\naudit:\n  num_ref_models: 2\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig([]byte("data:\n  dataset: fashion-mnist\n  train_size: 600\n" + tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			d, err := LoadData(c)
			if err != nil {
				t.Fatal(err)
			}
			e, err := EstimateRun(c, d)
			if err != nil {
				t.Fatal(err)
			}
			p, err := MakePlan(c, d)
			if err != nil {
				t.Fatal(err)
			}
			if e.Models != p.Models || e.Targets != p.Targets || e.AuditRecords != len(p.Audit) || e.PopulationRecords != len(p.PopulationIdx) {
				t.Errorf("estimate: %d models, %d targets, %d audited, %d population; plan: %d, %d, %d, %d",
					e.Models, e.Targets, e.AuditRecords, e.PopulationRecords, p.Models, p.Targets, len(p.Audit), len(p.PopulationIdx))
			}
			m, err := p.build("m", 1)
			if err != nil {
				t.Fatal(err)
			}
			if e.Params != int64(m.NumParams()) {
				t.Errorf("estimate: %d parameters per model, the built model has %d", e.Params, m.NumParams())
			}
			if e.External != len(p.external) {
				t.Errorf("estimate: %d external models, plan %d", e.External, len(p.external))
			}
			if e.PeakMemory <= 0 || e.Disk <= 0 {
				t.Errorf("peak memory %d, disk %d", e.PeakMemory, e.Disk)
			}
		})
	}
}

// TestEstimateBoundsWhatARunWrites runs a small audit and checks that the disk estimate lies above what
// the run writes, and not absurdly far.
func TestEstimateBoundsWhatARunWrites(t *testing.T) {
	dir := t.TempDir()
	c := tinyConfig(t, dir, 0)
	d, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	e, err := EstimateRun(c, d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), c, Options{}); err != nil {
		t.Fatal(err)
	}
	size := func(sub string) (n int64) {
		filepath.WalkDir(filepath.Join(dir, sub), func(_ string, de fs.DirEntry, err error) error {
			if err == nil && de.Type().IsRegular() {
				info, _ := de.Info()
				n += info.Size()
			}
			return nil
		})
		return n
	}
	for _, tc := range []struct {
		name       string
		got, est   int64
		slackBytes int64
	}{
		{"models", size("models"), e.ModelDisk, 0},
		{"signals", size("signals"), e.SignalDisk, 0},
		{"whole run", size("."), e.Disk, 4 << 20},
	} {
		if tc.got > tc.est || tc.est > 3*tc.got+tc.slackBytes {
			t.Errorf("%s: the run wrote %d bytes, the estimate is %d", tc.name, tc.got, tc.est)
		}
	}
}

// TestOversizedPlansAreRefused: plans that cannot fit are refused before anything is allocated or
// written, with the estimate and the machine's limits. (Before, these ended in "fatal error: runtime:
// out of memory"; a dense layer of 2e9 outputs would need 6 TB, so this test would crash, not fail, if
// anything were allocated.)
func TestOversizedPlansAreRefused(t *testing.T) {
	limits := &Limits{Memory: 16 << 30, MemorySource: "test machine", Disk: 100 << 30, DiskPath: "/test"}
	for _, tc := range []struct {
		name, yaml string
		limits     *Limits
		want       []string
	}{
		{"many reference models", "audit:\n  num_ref_models: 100000\n", limits,
			[]string{"does not fit this machine", "GiB of memory at its peak", "16.0 GiB (test machine)", "audit.num_ref_models", "pmeter plan"}},
		{"dense layer with 2e9 outputs", "train:\n  model: [{kind: flatten}, {kind: dense, out: 2000000000}, {kind: relu}, {kind: dense, out: 10}]\n", limits,
			[]string{"TiB of memory at its peak", "1,590,000,000,010 parameters", "train.model"}},
		{"full disk", "audit:\n  num_ref_models: 2\n", &Limits{Memory: 16 << 30, MemorySource: "test machine", Disk: 1 << 10, DiskPath: "/test"},
			[]string{"it writes about", "/test has 1.0 KiB free"}},
		{"real machine", "audit:\n  num_ref_models: 100000\n  num_queries: 2\n", nil, []string{"does not fit this machine", "memory"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			c, err := ParseConfig([]byte("data:\n  dataset: fashion-mnist\n" + tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			c.Run.LogDir = dir
			if tc.limits == nil {
				// Only on a machine that this plan cannot fit (about 200 GiB at the peak).
				d, err := LoadData(c)
				if err != nil {
					t.Fatal(err)
				}
				e, err := EstimateRun(c, d)
				if err != nil {
					t.Fatal(err)
				}
				if l := MachineLimits(dir); l.Memory == 0 || e.Check(l) == nil {
					t.Skipf("this machine (%s) fits a plan of %s", l, FormatBytes(e.PeakMemory))
				}
			}
			_, err = Run(context.Background(), c, Options{Limits: tc.limits})
			if !errors.Is(err, ErrDoesNotFit) {
				t.Fatalf("error %v, want ErrDoesNotFit", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Error("the refused run created its run directory")
			}
		})
	}
}

// TestSampleRecordsCheckedBeforeTraining: a record outside the pool in audit.records is reported before
// any model trains (with a cancelled context, training would fail with context.Canceled instead).
func TestSampleRecordsCheckedBeforeTraining(t *testing.T) {
	c := tinyConfig(t, t.TempDir(), 0)
	c.Audit.PrivacyGame = "privacy_loss_sample"
	c.Audit.Records = []int{3, 10, 100000}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, c, Options{})
	if err == nil || !strings.Contains(err.Error(), "audit.records: element 2 is record 100000, outside the training pool 0..399") {
		t.Errorf("error %v, want one naming element 2 of audit.records", err)
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{FormatBytes(512), "512 B"}, {FormatBytes(1536), "1.5 KiB"}, {FormatBytes(16 << 30), "16.0 GiB"},
		{FormatCount(1467610), "1,467,610"}, {FormatCount(999), "999"}, {FormatCount(1000), "1,000"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
