package bundle

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/npy"
)

// fuzzExtras are the names an extra array of FuzzLoad may take.
var fuzzExtras = []string{"labels", "population", "probs", "logits", "grad_norms", "loss_trajectory", "population_labels", "population_probs"}

// FuzzLoad: a bundle directory built from arbitrary bytes: bundle.json, the signals and memberships
// (or, in the LiRA layout, scores and keep) as .npy or .csv files, and two more arrays whose names the
// selectors pick (labels, population, probs, logits, gradient norms, loss trajectories, …). An empty
// input leaves its file out. An error names the bundle; a bundle that loads is valid (attack.Data's
// Validate), with labels below the number of classes.
//
// sel: bit 0 a CSV signals file, bit 1 a CSV memberships file, bits 2–4 the first extra's name, bit 5
// the LiRA layout's names, bit 6 a CSV first extra; more: bits 0–2 the second extra's name, bit 3 a
// .npz bundle instead of a directory (the arrays as stored .npy members, CSV files and bundle.json left
// out).
func FuzzLoad(f *testing.F) {
	enc := func(a *npy.Array) []byte {
		var b bytes.Buffer
		if err := npy.Encode(&b, a); err != nil {
			f.Fatal(err)
		}
		return b.Bytes()
	}
	sig := enc(npy.NewFloat64(fxSignals, 4, 3))
	mem := enc(npy.NewBool(fxBools(), 4, 3))
	labels := enc(npy.NewFloat64(fxLabels, 4))
	probs := enc(npy.NewFloat64(fxProbs, 4, 3, 2))
	pop := enc(npy.NewFloat64(fxPop, 2, 3))
	extra := func(name string) uint8 {
		for i, n := range fuzzExtras {
			if n == name {
				return uint8(i)
			}
		}
		panic(name)
	}
	f.Add([]byte(`{"signal": "prob_true", "design": "bernoulli"}`), sig, mem, labels, probs, extra("labels")<<2, extra("probs"))
	f.Add([]byte(nil), sig, mem, pop, []byte(nil), extra("population")<<2, uint8(0))
	f.Add([]byte(nil), []byte(nil), mem, labels, probs, extra("labels")<<2, extra("probs"))
	f.Add([]byte(nil), []byte(nil), mem, labels, probs, extra("labels")<<2, extra("logits"))
	f.Add([]byte("{\"signal\": \"loss\"}"), []byte("m0,m1,m2\n0.1,2,0.3\n0.4,5,0.6\n"), []byte("true,false,1\n0,FALSE,True\n"),
		[]byte("label\n0\n1\n"), []byte(nil), 1|2|1<<6|extra("labels")<<2, uint8(0))
	f.Add([]byte(`{"layout": "lira"}`), enc(npy.NewFloat64([]float64{3, -3, 0.5, 1, 2, 3}, 2, 3)), enc(npy.NewBool([]bool{true, false, true, false, true, false}, 2, 3)),
		enc(npy.NewFloat64([]float64{1, 2, 3, 4}, 2, 2)), []byte(nil), 1<<5|extra("population")<<2, uint8(0))
	f.Add([]byte(`{"trajectory_epochs": [1, 5]}`), sig, mem, enc(npy.NewFloat64(make([]float64, 24), 4, 3, 2)),
		enc(npy.NewFloat64(make([]float64, 12), 4, 3)), extra("loss_trajectory")<<2, extra("grad_norms"))
	f.Add([]byte(nil), sig, mem, labels, probs, extra("labels")<<2, extra("probs")|8)
	f.Fuzz(func(t *testing.T, manifest, signals, members, extra1, extra2 []byte, sel, more uint8) {
		dir := t.TempDir()
		var zw *zip.Writer
		var zbuf bytes.Buffer
		if more&8 != 0 {
			zw = zip.NewWriter(&zbuf) // a .npz bundle: every array a stored .npy member, no bundle.json
		}
		put := func(name string, csv bool, data []byte) {
			if len(data) == 0 {
				return
			}
			if zw != nil {
				w, err := zw.CreateHeader(&zip.FileHeader{Name: name + ".npy", Method: zip.Store})
				if err == nil {
					_, err = w.Write(data)
				}
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			name += map[bool]string{false: ".npy", true: ".csv"}[csv]
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		sigName, memName := "signals", "memberships"
		if sel&(1<<5) != 0 {
			sigName, memName = "scores", "keep"
		}
		e1, e2 := fuzzExtras[sel>>2&7], fuzzExtras[more&7]
		put(sigName, sel&1 != 0, signals)
		put(memName, sel&2 != 0, members)
		put(e1, sel&(1<<6) != 0, extra1)
		if e2 != e1 {
			put(e2, false, extra2)
		}
		path := dir
		if zw != nil {
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			path = filepath.Join(dir, "bundle.npz")
			if err := os.WriteFile(path, zbuf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			manifest = nil
		} else if len(manifest) > 0 {
			if err := os.WriteFile(filepath.Join(dir, ManifestFile), manifest, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		d, err := Load(path)
		if err != nil {
			msg, ok := strings.CutPrefix(err.Error(), "bundle "+path+": ")
			if !ok {
				t.Fatalf("error does not name the bundle: %v", err)
			}
			// Past the bundle, an error names the file (or bundle.json's field) at fault; only a bundle
			// without any signal array has no file to name.
			if !strings.Contains(msg, ".npy") && !strings.Contains(msg, ".csv") && !strings.Contains(msg, ManifestFile) &&
				!strings.HasPrefix(msg, "no signal arrays found") {
				t.Fatalf("error names no file: %v", err)
			}
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("loaded data that are not valid: %v", err)
		}
		if len(manifest) > 0 && !json.Valid(manifest) {
			t.Fatalf("loaded a bundle whose %s is not one JSON value: %q", ManifestFile, manifest)
		}
		for _, ls := range [][]int{d.Labels, d.PopLabels} {
			for i, y := range ls {
				// Per-class attacks size their tables by the largest label when there are no classes.
				if y < 0 || (d.C > 0 && y >= d.C) || y >= maxClasses {
					t.Fatalf("label %d of record %d outside [0, %d) (at most %d classes)", y, i, d.C, maxClasses)
				}
			}
		}
	})
}
