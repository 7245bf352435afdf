package report

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeUserFiles creates files (relative paths) holding their own name, as a user's files.
func writeUserFiles(t *testing.T, dir string, files ...string) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("user's "+f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkUserFiles fails unless every file still holds what writeUserFiles wrote.
func checkUserFiles(t *testing.T, dir string, files ...string) {
	t.Helper()
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
		if err != nil || string(b) != "user's "+f {
			t.Errorf("the user's %s: %q, %v", f, b, err)
		}
	}
}

func exists(dir, f string) bool {
	_, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(f)))
	return err == nil
}

// TestBuildOwnFilesOnly: Build removes the stale plots of its earlier build and nothing else, and
// refuses to overwrite a file that it did not write.
func TestBuildOwnFilesOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	user := []string{"plots/my_roc.png", "plots/notes.svg", "plots/hist_old.png", "plots/keep.txt", "README.txt"}
	writeUserFiles(t, dir, user...)

	in := fakeInput(3, 200, fakeNone)
	if _, err := Build(ctx, in, dir, testOptions); err != nil {
		t.Fatal(err)
	}
	checkUserFiles(t, dir, user...)
	hist := "plots/hist_" + fileSafe(in.Attacks[len(in.Attacks)-1].Name) + ".png"
	if !exists(dir, hist) || !exists(dir, reportManifest) {
		t.Fatalf("%s or the manifest was not written", hist)
	}
	listed, err := readManifest(filepath.Join(dir, reportManifest))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(listed, hist) || !slices.Contains(listed, HTMLFile) || slices.Contains(listed, "plots/my_roc.png") {
		t.Errorf("manifest lists %v", listed)
	}

	// One attack fewer: its plots go, the user's files stay.
	in.Attacks = in.Attacks[:len(in.Attacks)-1]
	if _, err := Build(ctx, in, dir, testOptions); err != nil {
		t.Fatal(err)
	}
	if exists(dir, hist) || exists(dir, strings.TrimSuffix(hist, ".png")+".svg") {
		t.Errorf("the stale %s was left behind", hist)
	}
	checkUserFiles(t, dir, user...)

	// A report written before manifests existed is rebuilt; nothing unlisted is removed.
	if err := os.Remove(filepath.Join(dir, reportManifest)); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(ctx, in, dir, testOptions); err != nil {
		t.Fatalf("rebuilding a report without a manifest: %v", err)
	}
	checkUserFiles(t, dir, user...)

	// A file of the user's where the report would go is never overwritten, and a refused build makes
	// nothing, not even the plots folder.
	for _, c := range []struct{ f, other string }{{HTMLFile, "plots/other.png"}, {"plots/roc.png", "plots/other.png"}, {RecordsFile, "plots/other.png"}, {HTMLFile, "notes.txt"}} {
		t.Run(c.f+" beside "+c.other, func(t *testing.T) {
			dir := t.TempDir()
			writeUserFiles(t, dir, c.f, c.other)
			_, err := Build(ctx, fakeInput(3, 200, fakeNone), dir, testOptions)
			if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, filepath.FromSlash(c.f))+" exists and was not written by pmeter") {
				t.Fatalf("error %v, want one naming %s", err, c.f)
			}
			checkUserFiles(t, dir, c.f, c.other)
			if exists(dir, SummaryFile) || exists(dir, reportManifest) {
				t.Error("Build wrote files before refusing")
			}
			if !strings.HasPrefix(c.f, PlotsDir+"/") && !strings.HasPrefix(c.other, PlotsDir+"/") && exists(dir, PlotsDir) {
				t.Error("Build made the plots folder before refusing")
			}
		})
	}

	// A damaged manifest stops the build: pmeter can no longer tell its files from the user's.
	if err := os.WriteFile(filepath.Join(dir, reportManifest), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(ctx, in, dir, testOptions); err == nil || !strings.Contains(err.Error(), reportManifest+", the list of files pmeter wrote there, is unreadable") {
		t.Errorf("damaged manifest: error %v", err)
	}
}

// TestBuildInterrupted: the manifest lists a file before it is written, so that the files of an
// interrupted build count as pmeter's, and an entry outside the directory is never removed.
func TestBuildInterrupted(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "outside.png")
	writeUserFiles(t, filepath.Dir(outside), "outside.png")
	writeUserFiles(t, dir, "plots/hist_gone.png", HTMLFile) // as left by an interrupted build
	rel, err := filepath.Rel(dir, outside)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeManifest(filepath.Join(dir, reportManifest), []string{"plots/hist_gone.png", HTMLFile, filepath.ToSlash(rel)}); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(context.Background(), fakeInput(3, 200, fakeNone), dir, testOptions); err != nil {
		t.Fatal(err)
	}
	if exists(dir, "plots/hist_gone.png") {
		t.Error("the interrupted build's plot was left behind")
	}
	checkUserFiles(t, filepath.Dir(outside), "outside.png")
}

// TestWriteInputOwnFilesOnly: WriteInput keeps a user's files, refuses to overwrite one, and still
// removes the stale media of a save made before manifests existed.
func TestWriteInputOwnFilesOnly(t *testing.T) {
	dir := t.TempDir()
	writeUserFiles(t, dir, imagesFile)
	err := WriteInput(dir, fakeInput(1, 50, fakeImages))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, imagesFile)+" exists and was not written by pmeter") {
		t.Fatalf("error %v, want one naming %s", err, imagesFile)
	}
	checkUserFiles(t, dir, imagesFile)
	if err := WriteInput(dir, fakeInput(1, 50, fakeNone)); err != nil {
		t.Fatal(err)
	}
	checkUserFiles(t, dir, imagesFile)

	legacy := t.TempDir()
	if err := WriteInput(legacy, fakeInput(1, 50, fakeImages)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(legacy, inputManifest)); err != nil {
		t.Fatal(err)
	}
	if err := WriteInput(legacy, fakeInput(1, 50, fakeNone)); err != nil {
		t.Fatal(err)
	}
	if exists(legacy, imagesFile) || exists(legacy, imageRowsFile) {
		t.Error("the stale images of a save without a manifest were left behind")
	}
}
