package bundle

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/npy"
	"github.com/pmeter/pmeter/signal"
)

// rawNPY encodes a .npy file by hand: values (in C order, as float64) are stored with descr
// ("<f4", ">f8", "<i8", "|b1", "|u1", …) in C or Fortran order.
func rawNPY(t *testing.T, descr string, fortran bool, shape []int, values []float64) []byte {
	t.Helper()
	n := 1
	for _, d := range shape {
		n *= d
	}
	if n != len(values) {
		t.Fatalf("rawNPY: %d values for shape %v", len(values), shape)
	}
	order := map[bool]string{true: "True", false: "False"}[fortran]
	hdr := fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr, order, npy.ShapeString(shape))
	hdr += strings.Repeat(" ", (64-(10+len(hdr)+1)%64)%64) + "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(hdr)))
	b.WriteString(hdr)
	var bo binary.ByteOrder = binary.LittleEndian
	if descr[0] == '>' {
		bo = binary.BigEndian
	}
	for k := 0; k < n; k++ {
		c := k
		if fortran {
			c = fortranToC(k, shape)
		}
		v := values[c]
		switch descr[1:] {
		case "f8":
			binary.Write(&b, bo, v)
		case "f4":
			binary.Write(&b, bo, float32(v))
		case "i8":
			binary.Write(&b, bo, int64(v))
		case "i4":
			binary.Write(&b, bo, int32(v))
		case "b1", "u1":
			b.WriteByte(byte(v))
		default:
			t.Fatalf("rawNPY: dtype %s", descr)
		}
	}
	return b.Bytes()
}

// fortranToC maps the k-th element in Fortran storage order to its C-order flat index.
func fortranToC(k int, shape []int) int {
	idx := make([]int, len(shape))
	for d := range shape {
		idx[d] = k % shape[d]
		k /= shape[d]
	}
	c := 0
	for d := range shape {
		c = c*shape[d] + idx[d]
	}
	return c
}

type file struct {
	name string
	data []byte
}

func writeDir(t *testing.T, files ...file) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func writeNPZ(t *testing.T, files ...file) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bundle.npz")
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, f := range files {
		w, err := zw.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The fixture: 4 records × 3 models × 2 classes.
var (
	fxProbs = []float64{
		0.9, 0.1, 0.6, 0.4, 0.3, 0.7,
		0.2, 0.8, 0.5, 0.5, 0.75, 0.25,
		0.95, 0.05, 0.15, 0.85, 0.4, 0.6,
		0.35, 0.65, 0.55, 0.45, 0.1, 0.9,
	}
	fxLabels  = []float64{0, 1, 0, 1}
	fxMembers = []float64{1, 0, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0}
	// fxSignals is p(true label): fxProbs[i, m, label_i].
	fxSignals = []float64{0.9, 0.6, 0.3, 0.8, 0.5, 0.25, 0.95, 0.15, 0.4, 0.65, 0.45, 0.9}
	fxPop     = []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6}
)

func fxBools() []bool {
	b := make([]bool, len(fxMembers))
	for i, v := range fxMembers {
		b[i] = v == 1
	}
	return b
}

func fxData() *attack.Data {
	return &attack.Data{N: 4, M: 3, Q: 1, Kind: signal.ProbTrue, Signals: fxSignals, Members: fxBools(),
		Z: 2, Population: fxPop, Labels: []int{0, 1, 0, 1}, C: 2, Probs: fxProbs}
}

// TestLoadPrivacyMeter reads the same fixture stored with several dtypes and orders, as a directory
// and as a .npz.
func TestLoadPrivacyMeter(t *testing.T) {
	want := fxData()
	for _, tc := range []struct {
		name    string
		sig     string
		fortran bool
		mem     string
	}{
		{"f8 C bool", "<f8", false, "|b1"},
		{"f4 C int", "<f4", false, "<i8"},
		{"f4 F uint8", "<f4", true, "|u1"},
		{"f8 F big-endian int32", ">f8", true, ">i4"},
	} {
		files := []file{
			{"signals.npy", rawNPY(t, tc.sig, tc.fortran, []int{4, 3}, fxSignals)},
			{"memberships.npy", rawNPY(t, tc.mem, tc.fortran, []int{4, 3}, fxMembers)},
			{"population.npy", rawNPY(t, tc.sig, tc.fortran, []int{2, 3}, fxPop)},
			{"labels.npy", rawNPY(t, "<i8", false, []int{4}, fxLabels)},
			{"probs.npy", rawNPY(t, tc.sig, tc.fortran, []int{4, 3, 2}, fxProbs)},
		}
		for _, container := range []string{"dir", "npz"} {
			t.Run(tc.name+" "+container, func(t *testing.T) {
				path := ""
				if container == "dir" {
					path = writeDir(t, files...)
				} else {
					path = writeNPZ(t, files...)
				}
				got, err := Load(path)
				if err != nil {
					t.Fatal(err)
				}
				w := *want
				if tc.sig == "<f4" {
					w.Signals, w.Population, w.Probs = f32(fxSignals), f32(fxPop), f32(fxProbs)
				}
				if !reflect.DeepEqual(got, &w) {
					t.Errorf("Load = %+v\nwant  %+v", got, &w)
				}
			})
		}
	}
}

func f32(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(float32(x))
	}
	return out
}

// TestLoadDerived: without signals, p(true label) comes from the probabilities (or the softmax of the
// logits) and the labels; the population likewise.
func TestLoadDerived(t *testing.T) {
	logits := make([]float64, len(fxProbs))
	for i, p := range fxProbs {
		logits[i] = math.Log(p) + 3 // softmax is invariant to the shift
	}
	popProbs := []float64{0.1, 0.9, 0.2, 0.8, 0.3, 0.7, 0.6, 0.4, 0.5, 0.5, 0.4, 0.6}
	dir := writeDir(t,
		file{"memberships.npy", rawNPY(t, "|b1", false, []int{4, 3}, fxMembers)},
		file{"labels.npy", rawNPY(t, "<i8", false, []int{4}, fxLabels)},
		file{"logits.npy", rawNPY(t, "<f8", false, []int{4, 3, 2}, logits)},
		file{"population_labels.npy", rawNPY(t, "<i8", false, []int{2}, []float64{0, 1})},
		file{"population_probs.npy", rawNPY(t, "<f8", true, []int{2, 3, 2}, popProbs)},
	)
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != signal.ProbTrue || d.N != 4 || d.M != 3 || d.Q != 1 || d.C != 2 || d.Z != 2 {
		t.Fatalf("got kind %s, N %d, M %d, Q %d, C %d, Z %d", d.Kind, d.N, d.M, d.Q, d.C, d.Z)
	}
	for i := range fxSignals {
		if math.Abs(d.Signals[i]-fxSignals[i]) > 1e-15 {
			t.Errorf("signal %d = %v, want %v", i, d.Signals[i], fxSignals[i])
		}
	}
	wantPop := []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6} // population_probs[z, m, label_z]

	for i := range wantPop {
		if d.Population[i] != wantPop[i] {
			t.Errorf("population %d = %v, want %v", i, d.Population[i], wantPop[i])
		}
	}
}

// TestLoadDerivedFromLogits: with logits for records and population and no signals file, the signals are
// rescaled logits computed from the logits exactly, finite even where the softmax saturates to 1.
func TestLoadDerivedFromLogits(t *testing.T) {
	logits := make([]float64, len(fxProbs))
	for i, p := range fxProbs {
		logits[i] = math.Log(p)
	}
	logits[0], logits[1] = 60, -60 // record 0, model 0: p(class 0) rounds to 1
	popLogits := []float64{0, 1, 2, 0, 0, 3, 1, 1, -1, 2, 0, 0}
	d, err := Load(writeDir(t,
		file{"memberships.npy", rawNPY(t, "|b1", false, []int{4, 3}, fxMembers)},
		file{"labels.npy", rawNPY(t, "<i8", false, []int{4}, fxLabels)},
		file{"logits.npy", rawNPY(t, "<f8", false, []int{4, 3, 2}, logits)},
		file{"population_labels.npy", rawNPY(t, "<i8", false, []int{2}, []float64{0, 1})},
		file{"population_logits.npy", rawNPY(t, "<f8", false, []int{2, 3, 2}, popLogits)},
	))
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != signal.RescaledLogit {
		t.Fatalf("kind %s, want rescaled_logit", d.Kind)
	}
	for i := range d.N {
		for m := range d.M {
			y := fxLabels[i]
			z := logits[(i*d.M+m)*2 : (i*d.M+m)*2+2]
			want := z[int(y)] - z[1-int(y)] // two classes: φ = ℓ_y − ℓ_other
			if got := d.Signals[i*d.M+m]; math.Abs(got-want) > 1e-12 {
				t.Errorf("record %d, model %d: φ = %v, want %v", i, m, got, want)
			}
		}
	}
	if got := d.Population[0]; got != popLogits[0]-popLogits[1] {
		t.Errorf("population φ = %v, want %v", got, popLogits[0]-popLogits[1])
	}
}

// TestLoadNoDerivedPopulation: with a signals file, population probabilities do not stand in for
// population signals (they might not measure the same thing), and without population signals the
// population labels and probabilities are dropped.
func TestLoadNoDerivedPopulation(t *testing.T) {
	d, err := Load(writeDir(t,
		file{"signals.npy", rawNPY(t, "<f8", false, []int{4, 3}, fxSignals)},
		file{"memberships.npy", rawNPY(t, "|b1", false, []int{4, 3}, fxMembers)},
		file{"population_probs.npy", rawNPY(t, "<f8", false, []int{1, 3, 2}, fxProbs[:6])},
		file{"population_labels.npy", rawNPY(t, "<i8", false, []int{1}, []float64{0})}))
	if err != nil {
		t.Fatal(err)
	}
	if d.Z != 0 || d.Population != nil || d.PopProbs != nil || d.PopLabels != nil || d.C != 0 {
		t.Errorf("got Z %d, population %v, probs %v, labels %v; want none", d.Z, d.Population, d.PopProbs, d.PopLabels)
	}
}

// TestLoadLiRA: keep (M × N) and scores (M × N × Q) are transposed into records × models × queries.
func TestLoadLiRA(t *testing.T) {
	const m, n, q = 3, 4, 2
	keep := make([]float64, m*n)
	scores := make([]float64, m*n*q)
	for k := 0; k < m; k++ {
		for i := 0; i < n; i++ {
			if (i+k)%2 == 0 {
				keep[k*n+i] = 1
			}
			for j := 0; j < q; j++ {
				scores[(k*n+i)*q+j] = float64(100*k+10*i+j) - 50.5
			}
		}
	}
	check := func(t *testing.T, d *attack.Data, q int) {
		t.Helper()
		if d.N != n || d.M != m || d.Q != q || d.Kind != signal.RescaledLogit {
			t.Fatalf("got N %d, M %d, Q %d, kind %s", d.N, d.M, d.Q, d.Kind)
		}
		for i := 0; i < n; i++ {
			for k := 0; k < m; k++ {
				if d.Member(i, k) != ((i+k)%2 == 0) {
					t.Fatalf("member(%d, %d) = %v", i, k, d.Member(i, k))
				}
				for j := 0; j < q; j++ {
					if want := float64(100*k+10*i+j) - 50.5; d.Signal(i, k, j) != want {
						t.Fatalf("signal(%d, %d, %d) = %v, want %v", i, k, j, d.Signal(i, k, j), want)
					}
				}
			}
		}
	}
	const z = 2
	pop := make([]float64, m*z*q) // models × population records × queries
	for k := range pop {
		pop[k] = float64(k) / 4
	}
	for _, fortran := range []bool{false, true} {
		files := []file{
			{"keep.npy", rawNPY(t, "|b1", fortran, []int{m, n}, keep)},
			{"scores.npy", rawNPY(t, "<f4", fortran, []int{m, n, q}, scores)},
			{"population.npy", rawNPY(t, "<f8", fortran, []int{m, z, q}, pop)},
		}
		for _, path := range []string{writeDir(t, files...), writeNPZ(t, files...)} {
			d, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			check(t, d, q)
			if d.Z != z {
				t.Fatalf("Z = %d, want %d", d.Z, z)
			}
			for i := 0; i < z; i++ {
				for k := 0; k < m; k++ {
					for j := 0; j < q; j++ {
						if got, want := d.PopSignal(i, k, j), pop[(k*z+i)*q+j]; got != want {
							t.Fatalf("population (%d, %d, %d) = %v, want %v", i, k, j, got, want)
						}
					}
				}
			}
		}
	}
	// Q = 1 as a 2-D scores array (query 0 of the above).
	s1 := make([]float64, m*n)
	for k := range s1 {
		s1[k] = scores[2*k]
	}
	d, err := Load(writeDir(t, file{"keep.npy", rawNPY(t, "<i8", false, []int{m, n}, keep)}, file{"scores.npy", rawNPY(t, "<f8", false, []int{m, n}, s1)}))
	if err != nil {
		t.Fatal(err)
	}
	check(t, d, 1)
}

func TestLoadCSV(t *testing.T) {
	var sig, mem strings.Builder
	sig.WriteString("model0,model1,model2\n")
	for i := 0; i < 4; i++ {
		for k := 0; k < 3; k++ {
			sep := ","
			if k == 2 {
				sep = "\n"
			}
			fmt.Fprintf(&sig, "%v%s", fxSignals[i*3+k], sep)
			fmt.Fprintf(&mem, "%v%s", map[float64]string{0: "False", 1: "true"}[fxMembers[i*3+k]], sep)
		}
	}
	dir := writeDir(t, file{"signals.csv", []byte(sig.String())}, file{"memberships.csv", []byte(mem.String())},
		file{"labels.csv", []byte("label\n0\n1\n0\n1\n")},
		file{ManifestFile, []byte(`{"signal": "prob_true", "layout": "privacy-meter"}`)})
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := &attack.Data{N: 4, M: 3, Q: 1, Kind: signal.ProbTrue, Signals: fxSignals, Members: fxBools(), Labels: []int{0, 1, 0, 1}}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("Load = %+v\nwant  %+v", d, want)
	}
}

func TestLoadManifest(t *testing.T) {
	loss := []float64{0.1, 2, 0.3, 0.4, 5, 0.6}
	d, err := Load(writeDir(t,
		file{"signals.npy", rawNPY(t, "<f8", false, []int{2, 3}, loss)},
		file{"memberships.npy", rawNPY(t, "|b1", false, []int{2, 3}, []float64{1, 0, 1, 0, 1, 0})},
		file{ManifestFile, []byte(`{"signal": "loss"}`)}))
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != signal.Loss || !reflect.DeepEqual(d.Signals, loss) {
		t.Errorf("got kind %s, signals %v", d.Kind, d.Signals)
	}
	// "layout" resolves a bundle that holds both layouts' files.
	d, err = Load(writeDir(t,
		file{"signals.npy", rawNPY(t, "<f8", false, []int{2, 3}, loss)},
		file{"memberships.npy", rawNPY(t, "|b1", false, []int{2, 3}, []float64{1, 0, 1, 0, 1, 0})},
		file{"keep.npy", rawNPY(t, "|b1", false, []int{1, 2}, []float64{1, 0})},
		file{"scores.npy", rawNPY(t, "<f8", false, []int{1, 2}, []float64{3, -3})},
		file{ManifestFile, []byte(`{"layout": "lira"}`)}))
	if err != nil {
		t.Fatal(err)
	}
	if d.N != 2 || d.M != 1 || d.Kind != signal.RescaledLogit {
		t.Errorf("got N %d, M %d, kind %s; want the LiRA arrays", d.N, d.M, d.Kind)
	}
	// "design" declares how the memberships were drawn; without it the design is inferred.
	for manifest, want := range map[string]attack.Design{`{"signal": "loss", "design": "bernoulli"}`: attack.DesignBernoulli, `{"signal": "loss", "design": "pairs"}`: attack.DesignPairs, `{"signal": "loss"}`: attack.DesignAuto} {
		d, err = Load(writeDir(t,
			file{"signals.npy", rawNPY(t, "<f8", false, []int{2, 3}, loss)},
			file{"memberships.npy", rawNPY(t, "|b1", false, []int{2, 3}, []float64{1, 0, 1, 0, 1, 0})},
			file{ManifestFile, []byte(manifest)}))
		if err != nil {
			t.Fatal(err)
		}
		if d.Design != want {
			t.Errorf("%s: design %s, want %s", manifest, d.Design, want)
		}
	}
}

func TestWriteRoundTrip(t *testing.T) {
	d2 := fxData()
	d2.PopLabels = []int{1, 0}
	d2.PopProbs = []float64{0.1, 0.9, 0.2, 0.8, 0.3, 0.7, 0.6, 0.4, 0.5, 0.5, 0.4, 0.6}
	q2 := &attack.Data{N: 2, M: 2, Q: 3, Kind: signal.RescaledLogit, Signals: []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
		Members: []bool{true, false, false, true}, Z: 1, Population: []float64{-1, -2, -3, -4, -5, -6}, Design: attack.DesignBernoulli}
	for i, d := range []*attack.Data{fxData(), d2, q2} {
		dir := filepath.Join(t.TempDir(), "out")
		if err := Write(dir, d); err != nil {
			t.Fatal(err)
		}
		got, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, d) {
			t.Errorf("case %d: round trip = %+v\nwant %+v", i, got, d)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	sig := file{"signals.npy", rawNPY(t, "<f8", false, []int{4, 3}, fxSignals)}
	mem := file{"memberships.npy", rawNPY(t, "|b1", false, []int{4, 3}, fxMembers)}
	labels := file{"labels.npy", rawNPY(t, "<i8", false, []int{4}, fxLabels)}
	probs := file{"probs.npy", rawNPY(t, "<f8", false, []int{4, 3, 2}, fxProbs)}
	bad := func(v []float64, i int, x float64) []float64 {
		v = append([]float64(nil), v...)
		v[i] = x
		return v
	}
	thirds := make([]float64, 24)
	for i := range thirds {
		thirds[i] = []float64{0.2, 0.3, 0.5}[i%3]
	}
	keep := file{"keep.npy", rawNPY(t, "|b1", false, []int{3, 4}, fxMembers)}
	scores := file{"scores.npy", rawNPY(t, "<f8", false, []int{3, 4, 1}, fxSignals)}
	notNPZ := filepath.Join(t.TempDir(), "signals.txt")
	os.WriteFile(notNPZ, []byte("x"), 0o644)

	for _, tc := range []struct {
		name  string
		path  string
		wants []string
	}{
		{"empty", writeDir(t), []string{"no signal arrays found"}},
		{"not a bundle", notNPZ, []string{"not a bundle"}},
		{"missing", filepath.Join(t.TempDir(), "nope"), []string{"no such file"}},
		{"no memberships", writeDir(t, sig), []string{"no memberships file", "memberships.npy or memberships.csv", "holds signals.npy"}},
		{"no signals", writeDir(t, mem), []string{"no signals file", "probs (or logits) and labels"}},
		{"transposed", writeDir(t, sig, file{"memberships.npy", rawNPY(t, "|b1", false, []int{3, 4}, fxMembers)}),
			[]string{"memberships.npy: shape (3, 4)", "signals.npy implies (4, 3)", "looks transposed"}},
		{"mismatched", writeDir(t, sig, file{"memberships.npy", rawNPY(t, "|b1", false, []int{4, 2}, fxMembers[:8])}),
			[]string{"memberships.npy: shape (4, 2), want (4, 3)"}},
		{"signals 1-D", writeDir(t, mem, file{"signals.npy", rawNPY(t, "<f8", false, []int{12}, fxSignals)}),
			[]string{"signals.npy: shape (12,)"}},
		{"NaN", writeDir(t, mem, file{"signals.npy", rawNPY(t, "<f8", false, []int{4, 3}, bad(fxSignals, 7, math.NaN()))}),
			[]string{"signals.npy: record 2, model 1 is NaN"}},
		{"Inf population", writeDir(t, sig, mem, file{"population.npy", rawNPY(t, "<f8", false, []int{2, 3}, bad(fxPop, 5, math.Inf(1)))}),
			[]string{"population.npy: record 1, model 2 is +Inf"}},
		{"prob range", writeDir(t, mem, file{"signals.npy", rawNPY(t, "<f8", false, []int{4, 3}, bad(fxSignals, 0, 1.5))}),
			[]string{"signals.npy: record 0, model 0 is 1.5", "[0, 1]"}},
		{"negative loss", writeDir(t, sig, mem, file{ManifestFile, []byte(`{"signal": "loss"}`)}, file{"signals.npy", rawNPY(t, "<f8", false, []int{4, 3}, bad(fxSignals, 4, -1))}),
			[]string{"record 1, model 1 is -1", "never negative"}},
		{"membership values", writeDir(t, sig, file{"memberships.npy", rawNPY(t, "<i8", false, []int{4, 3}, bad(fxMembers, 3, 2))}),
			[]string{"memberships.npy: record 1, model 0 is 2; a membership array must hold only 0 and 1"}},
		{"keep values", writeDir(t, scores, file{"keep.npy", rawNPY(t, "|u1", false, []int{3, 4}, bad(fxMembers, 5, 2))}),
			[]string{"keep.npy: model 1, record 1 is 2; a membership array must hold only 0 and 1"}},
		{"shapes before data", writeDir(t, file{"signals.npy", rawNPY(t, "<f8", false, []int{4, 3}, bad(fxSignals, 0, math.NaN()))}, file{"memberships.npy", rawNPY(t, "|b1", false, []int{4, 2}, fxMembers[:8])}),
			[]string{"memberships.npy: shape (4, 2), want (4, 3)"}},
		{"npz member", writeNPZ(t, sig, file{"memberships.npy", rawNPY(t, "|b1", false, []int{4, 3}, fxMembers)[:130]}),
			[]string{"bundle.npz: member memberships.npy: its header declares shape (4, 3) dtype |b1 (140 bytes with the header), but the archive declares 130 bytes uncompressed"}},
		{"population models", writeDir(t, sig, mem, file{"population.npy", rawNPY(t, "<f8", false, []int{3, 2}, fxPop)}),
			[]string{"population.npy: shape (3, 2)", "× 3 models"}},
		{"labels length", writeDir(t, sig, mem, file{"labels.npy", rawNPY(t, "<i8", false, []int{3}, fxLabels[:3])}),
			[]string{"labels.npy: 3 labels", "signals.npy has 4 records"}},
		{"labels negative", writeDir(t, sig, mem, file{"labels.npy", rawNPY(t, "<i8", false, []int{4}, bad(fxLabels, 2, -1))}),
			[]string{"labels.npy: label -1 of record 2"}},
		{"no records", writeDir(t, file{"signals.npy", rawNPY(t, "<f8", false, []int{0, 3}, nil)}, file{"memberships.npy", rawNPY(t, "|b1", false, []int{0, 3}, nil)}),
			[]string{"signals.npy: 0 records × 3 models × 1 queries; want at least one of each"}},
		{"no models", writeDir(t, keep, file{"scores.npy", rawNPY(t, "<f8", false, []int{0, 4}, nil)}),
			[]string{"scores.npy: 4 records × 0 models × 1 queries"}},
		{"no queries", writeDir(t, mem, file{"signals.npy", rawNPY(t, "<f8", false, []int{4, 3, 0}, nil)}),
			[]string{"signals.npy: 4 records × 3 models × 0 queries"}},
		{"labels huge", writeDir(t, sig, mem, file{"labels.npy", rawNPY(t, "<i8", false, []int{4}, bad(fxLabels, 3, 1<<20))}),
			[]string{"labels.npy: label 1048576 of record 3 is not a class index (want 0 to 65535)"}},
		{"labels fraction", writeDir(t, sig, mem, file{"labels.npy", rawNPY(t, "<f8", false, []int{4}, bad(fxLabels, 2, 0.5))}),
			[]string{"labels.npy: element 2 is 0.5"}},
		{"labels range", writeDir(t, sig, mem, probs, file{"labels.npy", rawNPY(t, "<i8", false, []int{4}, bad(fxLabels, 1, 2))}),
			[]string{"labels.npy: label 2 of record 1 is not below the 2 classes of probs.npy"}},
		{"probs shape", writeDir(t, sig, mem, labels, file{"probs.npy", rawNPY(t, "<f8", false, []int{4, 2, 3}, thirds)}),
			[]string{"probs.npy: shape (4, 2, 3); want (4, 3, 3)"}},
		{"probs range", writeDir(t, sig, mem, labels, file{"probs.npy", rawNPY(t, "<f8", false, []int{4, 3, 2}, bad(fxProbs, 3, -0.5))}),
			[]string{"probs.npy: record 0, model 1, class 1 is -0.5", "logits belong in logits"}},
		{"probs sum", writeDir(t, sig, mem, labels, file{"probs.npy", rawNPY(t, "<f8", false, []int{4, 3, 2}, bad(fxProbs, 6, 0.5))}),
			[]string{"probs.npy: record 1, model 0: probabilities sum to 1.3"}},
		{"probs and logits", writeDir(t, sig, mem, probs, file{"logits.npy", rawNPY(t, "<f8", false, []int{4, 3, 2}, fxProbs)}),
			[]string{"both probs.npy and logits.npy"}},
		{"npy and csv", writeDir(t, sig, mem, file{"signals.csv", []byte("0.5\n")}),
			[]string{"signals.csv", "signals.npy", "keep one"}},
		{"csv ragged", writeDir(t, mem, file{"signals.csv", []byte("0.1,0.2,0.3\n0.4,0.5\n")}),
			[]string{"signals.csv", "wrong number of fields"}},
		{"csv text", writeDir(t, mem, file{"signals.csv", []byte("0.1,0.2,0.3\n0.4,x,0.5\n")}),
			[]string{"signals.csv: line 2: field 2: \"x\" is not a number"}},
		{"truncated", writeDir(t, mem, file{"signals.npy", rawNPY(t, "<f8", false, []int{4, 3}, fxSignals)[:150]}),
			[]string{"signals.npy: data of shape (4, 3)", "truncated"}},
		{"both layouts", writeDir(t, sig, mem, keep, scores), []string{"both Privacy Meter files", "\"layout\""}},
		{"keep only", writeDir(t, keep), []string{"needs both keep.npy"}},
		{"keep transposed", writeDir(t, scores, file{"keep.npy", rawNPY(t, "|b1", false, []int{4, 3}, fxMembers)}),
			[]string{"keep.npy: shape (4, 3)", "scores.npy implies (3, 4)", "M models × N records", "looks transposed"}},
		{"lira NaN", writeDir(t, keep, file{"scores.npy", rawNPY(t, "<f8", false, []int{3, 4}, bad(fxSignals, 5, math.NaN()))}),
			[]string{"scores.npy: model 1, record 1 is NaN"}},
		{"lira population", writeDir(t, keep, scores, file{"population.npy", rawNPY(t, "<f8", false, []int{2, 3}, fxPop)}),
			[]string{"population.npy: shape (2, 3); want 3 models × Z population records, to match scores.npy"}},
		{"manifest field", writeDir(t, sig, mem, file{ManifestFile, []byte(`{"signals": "loss"}`)}),
			[]string{"bundle.json", "unknown field \"signals\""}},
		{"manifest second object", writeDir(t, sig, mem, file{ManifestFile, []byte(`{"signal": "loss"} {"layout": "lira"}`)}),
			[]string{"bundle.json: more after the JSON object, which ends at byte 18; want one object"}},
		{"manifest trailing text", writeDir(t, sig, mem, file{ManifestFile, []byte(`{"signal": "loss"},`)}),
			[]string{"bundle.json: more after the JSON object"}},
		{"manifest epochs", writeDir(t, sig, mem, file{ManifestFile, []byte(`{"trajectory_epochs": [2, 5, 5]}`)}),
			[]string{"bundle.json: \"trajectory_epochs\" [2 5 5]: epoch 5 (entry 3) does not follow the previous one; want increasing epochs ≥ 0"}},
		{"manifest negative epoch", writeDir(t, sig, mem, file{ManifestFile, []byte(`{"trajectory_epochs": [-1]}`)}),
			[]string{"bundle.json: \"trajectory_epochs\" [-1]: epoch -1 (entry 1)"}},
		{"manifest kind", writeDir(t, sig, mem, file{ManifestFile, []byte(`{"signal": "logit"}`)}),
			[]string{"bundle.json: \"signal\"", "unknown signal kind \"logit\""}},
		{"manifest layout", writeDir(t, sig, mem, file{ManifestFile, []byte(`{"layout": "pm"}`)}),
			[]string{"bundle.json: unknown layout \"pm\""}},
		{"manifest design", writeDir(t, sig, mem, file{ManifestFile, []byte(`{"design": "iid"}`)}),
			[]string{"bundle.json: \"design\"", "unknown membership design \"iid\"", "bernoulli"}},
		{"logits NaN", writeDir(t, sig, mem, labels, file{"logits.npy", rawNPY(t, "<f8", false, []int{4, 3, 2}, bad(fxProbs, 9, math.NaN()))}),
			[]string{"logits.npy: record 1, model 1, class 1 is NaN"}},
		{"population classes", writeDir(t, sig, mem, probs, file{"population_probs.npy", rawNPY(t, "<f8", false, []int{2, 1, 3}, thirds[:6])}),
			[]string{"probs.npy has 2 classes but population_probs.npy has 3"}},
		{"population queries", writeDir(t, mem, file{"signals.npy", rawNPY(t, "<f8", false, []int{4, 3, 2}, append(fxSignals, fxSignals...))},
			file{"population.npy", rawNPY(t, "<f8", false, []int{2, 3}, fxPop)}),
			[]string{"population.npy: shape (2, 3); want Z population records × 3 models × 2 queries"}},
		{"derived labels", writeDir(t, mem, probs, file{"labels.npy", rawNPY(t, "<i8", false, []int{3}, fxLabels[:3])}),
			[]string{"labels.npy: 3 labels, but probs.npy has 4 records"}},
		{"derived population labels", writeDir(t, mem, probs, labels,
			file{"population_probs.npy", rawNPY(t, "<f8", false, []int{1, 3, 2}, fxProbs[:6])},
			file{"population_labels.npy", rawNPY(t, "<i8", false, []int{2}, []float64{0, 1})}),
			[]string{"population_labels.npy: 2 labels, but population_probs.npy has 1 records"}},
		{"lira labels", writeDir(t, keep, scores, file{"labels.npy", rawNPY(t, "<i8", false, []int{3}, fxLabels[:3])}),
			[]string{"labels.npy: 3 labels, but scores.npy has 4 records"}},
		{"derived kind", writeDir(t, mem, labels, probs, file{ManifestFile, []byte(`{"signal": "loss"}`)}),
			[]string{"declares a loss signal, but there is no signals file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.path)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if !strings.HasPrefix(err.Error(), "bundle "+tc.path) {
				t.Errorf("error %q does not name the bundle", err)
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
