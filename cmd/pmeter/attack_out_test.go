package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/bundle"
	"github.com/pmeter/pmeter/npy"
)

// snapshot returns the SHA-256 of every file under dir, by relative path.
func snapshot(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = sha256.Sum256(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAttackOutKeepsInputs: --out never overwrites or adds to the bundle's files, in either layout,
// however the directory is named; a subdirectory of the bundle, or the directory of a .npz, is fine;
// an existing scores.npy or metrics.json is overwritten only when 'pmeter attack' wrote it.
func TestAttackOutKeepsInputs(t *testing.T) {
	pm := attackSmallBundle(t)
	lira := attackBundle(t, map[string]*npy.Array{
		"keep":   npy.NewBool([]bool{true, false, true, false, false, true, false, true}, 2, 4),
		"scores": npy.NewFloat64([]float64{3, -1, 2, 0.5, -2, 1, -0.5, 2.5}, 2, 4),
	})
	npzDir := t.TempDir()
	npzPath := filepath.Join(npzDir, "bundle.npz")
	if err := os.WriteFile(npzPath, mustNPZ(t, lira), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(lira, link); err != nil {
		t.Fatal(err)
	}
	foreign := t.TempDir()
	writeFile(t, filepath.Join(foreign, "scores.npy"), "the user's scores")
	linked := t.TempDir()
	if err := os.Symlink(filepath.Join(lira, "scores.npy"), filepath.Join(linked, "scores.npy")); err != nil {
		t.Fatal(err)
	}
	notOurs := t.TempDir()
	writeFile(t, filepath.Join(notOurs, "metrics.json"), `{"accuracy": 1}`)

	for _, tc := range []struct {
		name, bundle, out string
		attack            string
		want              string // "" for success
	}{
		{"privacy-meter bundle", pm, pm, "loss", "is the bundle's own directory"},
		{"lira bundle", lira, lira, "lira", "is the bundle's own directory"},
		{"lira bundle, trailing dot", lira, lira + string(filepath.Separator) + ".", "lira", "is the bundle's own directory"},
		{"lira bundle through a link", lira, link, "lira", "is the bundle's own directory"},
		{"lira bundle named through a link", link, lira, "lira", "is the bundle's own directory"},
		{"link to an input", lira, linked, "lira", "is the bundle's " + filepath.Join(lira, "scores.npy")},
		{"foreign scores", pm, foreign, "loss", filepath.Join(foreign, "scores.npy") + " exists and was not written by 'pmeter attack'"},
		{"foreign metrics", pm, notOurs, "loss", filepath.Join(notOurs, "metrics.json") + " exists and was not written by 'pmeter attack'"},
		{"subdirectory", lira, filepath.Join(lira, "out"), "loss", ""},
		{"npz directory", npzPath, npzDir, "loss", ""},
		{"again", npzPath, npzDir, "loss", ""}, // overwrites its own outputs
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := map[string]map[string][32]byte{}
			for _, d := range []string{pm, lira, npzDir, foreign, linked, notOurs} {
				before[d] = snapshot(t, d)
			}
			code, _, stderr := attackCLI(t, "attack", tc.bundle, "--attack", tc.attack, "--out", tc.out)
			if tc.want != "" {
				if code != 2 || !strings.Contains(stderr, tc.want) {
					t.Fatalf("exit %d, stderr %q; want exit 2 and %q", code, stderr, tc.want)
				}
			} else if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			outputs := map[string]bool{}
			for _, name := range attackOutputs {
				outputs[filepath.Join(tc.out, name)] = tc.want == ""
			}
			for d, snap := range before {
				after := snapshot(t, d)
				for k, v := range snap {
					if w, ok := after[k]; (!ok || w != v) && !outputs[filepath.Join(d, k)] {
						t.Errorf("%s changed", filepath.Join(d, k))
					}
				}
				for k := range after {
					if _, ok := snap[k]; !ok && !outputs[filepath.Join(d, k)] {
						t.Errorf("%s appeared", filepath.Join(d, k))
					}
				}
			}
		})
	}
	// The bundle still loads as it did.
	for _, b := range []string{lira, npzPath} {
		if d, err := bundle.Load(b); err != nil || d.N != 4 || d.M != 2 {
			t.Errorf("bundle %s after the runs: %v", b, err)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// mustNPZ packs the .npy files of dir into a .npz archive.
func mustNPZ(t *testing.T, dir string) []byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(e.Name())
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
