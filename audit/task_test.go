package audit

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestTasksEqualRun splits the tiny run into its model tasks and the finish task, and checks that the
// scores are bit-identical to a local run's, that finishing early names the missing models, that a
// repeated task does nothing, and that a config edited after submit is ignored in favour of the snapshot.
func TestTasksEqualRun(t *testing.T) {
	ctx := context.Background()
	local, err := Run(ctx, tinyConfig(t, t.TempDir(), 1), Options{})
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	c := tinyConfig(t, dir, 1)
	r, err := OpenTaskRun(ctx, c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WriteSnapshot(ctx); err != nil {
		t.Fatal(err)
	}
	tasks := r.Plan.Tasks(dir)
	if len(tasks) != 6 || !tasks[1].Target || tasks[2].Target || tasks[0].Done {
		t.Fatalf("tasks %+v: want 6, models 0 and 1 targets, none done", tasks)
	}

	// An edited config: the tasks still run the snapshot's.
	edited := tinyConfig(t, dir, 1)
	edited.Train.Epochs = 9
	var log strings.Builder
	for i := 0; i < 5; i++ {
		info, err := TrainTask(ctx, edited, i, Options{Log: &log})
		if err != nil {
			t.Fatal(err)
		}
		if info.Model != i || info.Cached || info.Key != tasks[i].ModelKey {
			t.Errorf("task %d: %+v, want model %d trained, key %s", i, info, i, tasks[i].ModelKey)
		}
	}
	if !strings.Contains(log.String(), "the tasks use the snapshot") {
		t.Errorf("no warning about the edited config in the log:\n%s", log.String())
	}
	_, err = FinishTask(ctx, c, Options{}, FinishOptions{})
	var me *MissingModelsError
	if !errors.As(err, &me) || !slices.Equal(me.Missing, []int{5}) || !strings.Contains(err.Error(), "model 5") {
		t.Fatalf("finish with model 5 missing: %v", err)
	}
	_, err = FinishTask(ctx, c, Options{}, FinishOptions{Wait: true, Poll: 10 * time.Millisecond, Timeout: 50 * time.Millisecond})
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("finish --wait with model 5 missing: %v", err)
	}
	if _, err := TrainTask(ctx, c, 5, Options{}); err != nil {
		t.Fatal(err)
	}
	info, err := TrainTask(ctx, c, 2, Options{}) // done already: nothing to do
	if err != nil || !info.Cached {
		t.Fatalf("repeated task 2: %+v, %v; want it reused", info, err)
	}
	if _, err := TrainTask(ctx, c, 6, Options{}); err == nil || !strings.Contains(err.Error(), "6 models") {
		t.Errorf("task 6 of 6: %v", err)
	}
	res, err := FinishTask(ctx, c, Options{}, FinishOptions{Wait: true, Poll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Trained != 0 || res.Reused != 6 {
		t.Errorf("finish trained %d, reused %d; want 0 and 6", res.Trained, res.Reused)
	}
	sameScores(t, local, res)
	if _, err := os.Stat(filepath.Join(dir, "report", "index.html")); err != nil {
		t.Error(err)
	}

	// Other data in the same run directory is refused.
	other := tinyConfig(t, dir, 1)
	other.Data.TrainSize = 300
	other.file = "other.yaml"
	r2, err := OpenTaskRun(ctx, other, Options{})
	if err != nil { // the snapshot's config is used: same data
		t.Fatal(err)
	}
	if !r2.Edited {
		t.Error("a config other than the snapshot's is not reported as edited")
	}
}

func sameScores(t *testing.T, want, got *Result) {
	t.Helper()
	if len(want.Attacks) != len(got.Attacks) {
		t.Fatalf("%d attacks, want %d", len(got.Attacks), len(want.Attacks))
	}
	for i, a := range want.Attacks {
		for tg := range a.Scores {
			for k, s := range a.Scores[tg] {
				if g := got.Attacks[i].Scores[tg][k]; math.Float64bits(g) != math.Float64bits(s) {
					t.Fatalf("%s target %d record %d: score %v, local run %v", a.Label, tg, k, g, s)
				}
			}
		}
	}
}

func TestArrayRange(t *testing.T) {
	for _, c := range []struct {
		in   []int
		want string
	}{{[]int{3}, "3"}, {[]int{0, 1, 2, 3, 7, 9, 10}, "0-3,7,9-10"}} {
		if got := ArrayRange(c.in); got != c.want {
			t.Errorf("ArrayRange(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestSnapshotRoundTrip: every example config's snapshot parses back to the same configuration.
func TestSnapshotRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("../examples/*/*.yaml")
	more, _ := filepath.Glob("../examples/*.yaml")
	files = append(files, more...)
	def, err := DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfgs := map[string]*Config{"default": def}
	for _, f := range files {
		c, err := LoadConfig(f)
		if err != nil {
			continue // examples of errors, or needing files
		}
		cfgs[f] = c
	}
	if len(cfgs) < 3 {
		t.Fatalf("only %d configs to check", len(cfgs))
	}
	for name, c := range cfgs {
		y, err := snapshotYAML(c)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		back, err := ParseConfig(y)
		if err != nil {
			t.Errorf("%s: the snapshot does not parse: %v\n%s", name, err, y)
			continue
		}
		if back.Hash() != c.Hash() {
			t.Errorf("%s: the snapshot parses to another configuration:\n%s", name, y)
		}
	}
}

func TestRunRefusesURL(t *testing.T) {
	c := tinyConfig(t, "s3://bucket/run", 1)
	if _, err := Run(context.Background(), c, Options{}); err == nil || !strings.Contains(err.Error(), "needs a path") {
		t.Errorf("pmeter run into s3://: %v", err)
	}
}

// TestSnapshotChecksum damages a submitted run's submit/snapshot.json in each way a file gets damaged:
// every one is refused with an error naming the file, before any task works. A snapshot from before
// snapshots recorded their SHA-256 is kept when every field matches the run, and rewritten with one.
func TestSnapshotChecksum(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r, err := OpenTaskRun(ctx, tinyConfig(t, dir, 1), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WriteSnapshot(ctx); err != nil {
		t.Fatal(err)
	}
	_, path := snapshotPaths(dir)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	orig := string(b)
	snap := r.Snapshot
	if len(snap.SHA256) != 64 || !strings.Contains(orig, `"sha256": "`+snap.SHA256+`"`) {
		t.Fatalf("the snapshot records no SHA-256:\n%s", orig)
	}
	flip := func(s string) string { // s with its last hex digit changed
		last := "0"
		if strings.HasSuffix(s, "0") {
			last = "1"
		}
		return s[:len(s)-1] + last
	}
	unsummed := strings.Replace(orig, ",\n  \"sha256\": \""+snap.SHA256+"\"", "", 1)
	key := snap.Tasks[1].ModelKey
	for _, c := range []struct {
		name, file string
		want       string // in the error; empty: opened
		log        string // in the log
	}{
		{name: "intact", file: orig},
		{name: "data hash edited", file: strings.Replace(orig, snap.DataHash, flip(snap.DataHash), 1), want: "damaged: its contents do not match the SHA-256 it records"},
		{name: "task key edited", file: strings.Replace(orig, key, flip(key), 1), want: "damaged: its contents do not match the SHA-256 it records"},
		{name: "checksum edited", file: strings.Replace(orig, snap.SHA256, flip(snap.SHA256), 1), want: "damaged: its contents do not match the SHA-256 it records"},
		{name: "truncated", file: orig[:len(orig)/2], want: "damaged: unexpected EOF"},
		{name: "field added", file: strings.Replace(orig, "{", `{"note": 1,`, 1), want: `damaged: json: unknown field "note"`},
		{name: "older pmeter, no checksum", file: unsummed, log: "snapshot without a checksum (written by an older pmeter); every field matches the run's configuration and data, so it is kept and now records one"},
		{name: "older pmeter, task key edited", file: strings.Replace(unsummed, key, flip(key), 1), want: "damaged: its models and task keys are not those that this pmeter computes from the configuration and data it records"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := os.WriteFile(path, []byte(c.file), 0o644); err != nil {
				t.Fatal(err)
			}
			var log strings.Builder
			r, err := OpenTaskRun(ctx, tinyConfig(t, dir, 1), Options{Log: &log})
			if c.want != "" {
				if err == nil || !strings.Contains(err.Error(), path+": "+c.want) {
					t.Fatalf("error %v, want one naming %s: %s", err, path, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(log.String(), c.log) {
				t.Errorf("the log lacks %q:\n%s", c.log, log.String())
			}
			if r.Snapshot.SHA256 != snap.SHA256 {
				t.Errorf("snapshot SHA-256 %q, want %q", r.Snapshot.SHA256, snap.SHA256)
			}
			if b, err := os.ReadFile(path); err != nil || string(b) != orig {
				t.Errorf("the snapshot is not the submitted one after opening (%v):\n%s", err, b)
			}
		})
	}
}
