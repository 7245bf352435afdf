package report

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/metric"
)

// buildFiles builds the report of in and returns its three main files.
func buildFiles(t *testing.T, in *Input, opts Options) map[string][]byte {
	t.Helper()
	dir := t.TempDir()
	if _, err := Build(context.Background(), in, dir, opts); err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range []string{HTMLFile, SummaryFile, RecordsFile} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		out[f] = b
	}
	return out
}

// TestInputRoundTrip: a report rebuilt from a saved input is byte for byte the report of the original.
func TestInputRoundTrip(t *testing.T) {
	for _, kind := range []fakeKind{fakeImages, fakeTabular} {
		in := fakeInput(21, 300, kind)
		if kind == fakeTabular {
			in.DPCaveat = "the pairs design"
		}
		in.Records[2].Member = nil
		in.Attacks[2].Signal = make([]float64, len(in.Records)) // a signal with a missing value
		for i := range in.Attacks[2].Signal {
			in.Attacks[2].Signal[i] = float64(i % 17)
		}
		in.Attacks[2].Signal[5] = math.NaN()
		in.Attacks[2].SignalName = "ratio"
		dir := t.TempDir()
		if err := WriteInput(dir, in); err != nil {
			t.Fatal(err)
		}
		back, err := ReadInput(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !back.Created.Equal(in.Created) || back.Title != in.Title || len(back.Records) != len(in.Records) || back.DPCaveat != in.DPCaveat {
			t.Fatalf("read back %q created %v with %d records, DP caveat %q", back.Title, back.Created, len(back.Records), back.DPCaveat)
		}
		want, got := buildFiles(t, in, testOptions), buildFiles(t, back, testOptions)
		for f := range want {
			if !bytes.Equal(want[f], got[f]) {
				t.Errorf("kind %d: %s differs after WriteInput/ReadInput", kind, f)
			}
		}
	}
}

// TestReadInputWithoutCaveat: results saved before the DP caveat was recorded read back with a caveat
// that allows no DP bound.
func TestReadInputWithoutCaveat(t *testing.T) {
	dir := t.TempDir()
	if err := WriteInput(dir, fakeInput(1, 30, fakeNone)); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, InputFile)
	b, _ := os.ReadFile(p)
	old := strings.Replace(string(b), `"dp_caveat": "",`, "", 1)
	if old == string(b) {
		t.Fatalf("%s does not record the caveat:\n%s", InputFile, b)
	}
	os.WriteFile(p, []byte(old), 0o644)
	in, err := ReadInput(dir)
	if err != nil {
		t.Fatal(err)
	}
	if in.DPCaveat != NoDesignCaveat {
		t.Errorf("caveat %q, want %q", in.DPCaveat, NoDesignCaveat)
	}
}

// TestPruneMedia: pruning keeps every image the report shows, and drops the others.
func TestPruneMedia(t *testing.T) {
	in := fakeInput(22, 300, fakeImages)
	want := buildFiles(t, in, testOptions)
	in.PruneMedia(testOptions.TopK)
	kept := 0
	for _, r := range in.Records {
		if r.Image != nil {
			kept++
		}
	}
	if kept == 0 || kept > 2*len(in.Attacks)*testOptions.TopK {
		t.Errorf("%d images kept, want between 1 and %d", kept, 2*len(in.Attacks)*testOptions.TopK)
	}
	dir := t.TempDir()
	if err := WriteInput(dir, in); err != nil {
		t.Fatal(err)
	}
	back, err := ReadInput(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, rankBy := range []string{"", "entropy"} {
		opts := testOptions
		opts.RankBy = rankBy
		if rankBy != "" {
			want = buildFiles(t, fakeInput(22, 300, fakeImages), opts)
		}
		if got := buildFiles(t, back, opts); !bytes.Equal(got[HTMLFile], want[HTMLFile]) {
			t.Errorf("rank by %q: pruned input gives a different page", rankBy)
		}
	}
}

// TestWriteInputRemovesStale: saving an input without images removes the images of an earlier save.
func TestWriteInputRemovesStale(t *testing.T) {
	dir := t.TempDir()
	if err := WriteInput(dir, fakeInput(1, 50, fakeImages)); err != nil {
		t.Fatal(err)
	}
	if err := WriteInput(dir, fakeInput(1, 50, fakeNone)); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{imagesFile, imageRowsFile, signalsFile} {
		_, err := os.Stat(filepath.Join(dir, f))
		if f == signalsFile && err != nil {
			t.Errorf("%s: %v", f, err) // the loss attack still has a signal
		}
		if f != signalsFile && err == nil {
			t.Errorf("stale %s left behind", f)
		}
	}
	back, err := ReadInput(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.Records[0].Image != nil {
		t.Error("image read back after it was removed")
	}
}

func TestReadInputErrors(t *testing.T) {
	write := func(t *testing.T, edit func(dir string)) string {
		dir := t.TempDir()
		if err := WriteInput(dir, fakeInput(1, 30, fakeImages)); err != nil {
			t.Fatal(err)
		}
		edit(dir)
		return dir
	}
	replaceJSON := func(old, new string) func(string) {
		return func(dir string) {
			p := filepath.Join(dir, InputFile)
			b, _ := os.ReadFile(p)
			if !strings.Contains(string(b), old) {
				panic("test setup: " + old + " not in " + InputFile)
			}
			os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644)
		}
	}
	tests := []struct {
		name, want string
		edit       func(dir string)
	}{
		{"missing", "no such file", func(dir string) { os.Remove(filepath.Join(dir, InputFile)) }},
		{"format", "format", replaceJSON(`"pmeter.report.input"`, `"other"`)},
		{"version", "version 9", replaceJSON(`"version": 1`, `"version": 9`)},
		{"unknown field", "unknown field", replaceJSON(`"targets"`, `"targetz"`)},
		{"scores shape", "scores.npy", func(dir string) {
			WriteInput(filepath.Join(dir, "other"), fakeInput(1, 31, fakeNone))
			os.Rename(filepath.Join(dir, "other", scoresFile), filepath.Join(dir, scoresFile))
		}},
		{"image rows", "image_rows.npy", func(dir string) {
			WriteInput(filepath.Join(dir, "other"), fakeInput(1, 60, fakeImages))
			os.Rename(filepath.Join(dir, "other", imageRowsFile), filepath.Join(dir, imageRowsFile))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadInput(write(t, tt.edit))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// TestOptionsOf: rebuilding with the options read back from a summary reproduces the summary.
func TestOptionsOf(t *testing.T) {
	in := fakeInput(23, 300, fakeNone)
	for _, opts := range []Options{
		testOptions,
		{TopK: -1, Alpha: 0.1, Delta: 1e-3, EpsilonSeed: 11, RankBy: "entropy", Bootstrap: metricOpts(150, 0.9, 7)},
	} {
		dir := t.TempDir()
		if _, err := Build(context.Background(), in, dir, opts); err != nil {
			t.Fatal(err)
		}
		prev, err := ReadSummary(filepath.Join(dir, SummaryFile))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := os.ReadFile(filepath.Join(dir, SummaryFile))
		dir2 := t.TempDir()
		if _, err := Build(context.Background(), in, dir2, OptionsOf(prev)); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(filepath.Join(dir2, SummaryFile)); !bytes.Equal(got, want) {
			t.Errorf("options %+v: rebuild with OptionsOf differs", opts)
		}
	}
	bad := filepath.Join(t.TempDir(), "s.json")
	os.WriteFile(bad, []byte(`{"schema": "other", "schema_version": 1}`), 0o644)
	if _, err := ReadSummary(bad); err == nil {
		t.Error("ReadSummary accepted another schema")
	}
}

func metricOpts(resamples int, level float64, seed uint64) metric.BootstrapOptions {
	return metric.BootstrapOptions{Resamples: resamples, Level: level, Seed: seed}
}
