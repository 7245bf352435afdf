// Package bundle loads a signal bundle, the arrays an attack runs on, into an attack.Data.
//
// A bundle is a directory of .npy (or .csv) files, or a .npz archive holding the same names. Two layouts
// are recognised:
//
// Privacy Meter layout (records × models, as Privacy Meter v2 hands them to its attacks):
//
//	signals        N × M or N × M × Q   float32/float64 signal of record i under model m (query q)
//	memberships    N × M                bool, or 0/1 integers or floats: record i in model m's training set
//	population     Z × M or Z × M × Q   optional: signals of records outside every training set
//	labels         N                    optional: class indices
//	probs | logits N × M × C            optional: full prediction vectors (logits go through a softmax)
//	population_labels, population_probs | population_logits   optional, likewise for the population
//	bundle.json    optional: {"signal": "prob_true", "layout": "privacy-meter", "design": "bernoulli"}
//
// signals may be left out when probs (or logits) and labels are given; it is then p(true label).
//
// LiRA layout (models × records, as the LiRA reference code saves them):
//
//	keep           M × N                bool: record n in model m's training set
//	scores         M × N × Q or M × N   signals, by default rescaled logits (LiRA's score.py)
//	population     M × Z × Q or M × Z   optional: signals of records outside every training set
//
// LiRA arrays are transposed into records × models × queries. labels and probs may accompany them.
//
// bundle.json's "signal" names what the signals measure (a signal.Kind: prob_true, loss, rescaled_logit,
// …; default prob_true, rescaled_logit in the LiRA layout) and "layout" chooses the layout when the
// files would allow both. "design" says how the memberships were drawn (bernoulli, pairs, lira or other;
// inferred when absent). A .npz bundle has no bundle.json and uses the defaults. CSV files hold 2-D
// arrays only (one row per record, an optional header row), so they serve signals, memberships,
// population and labels.
//
// Every error names the file (or .npz member) and, for shape errors, the shapes involved.
package bundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/npy"
	"github.com/pmeter/pmeter/signal"
)

// The bundle layouts.
const (
	LayoutPrivacyMeter = "privacy-meter"
	LayoutLiRA         = "lira"
)

// ManifestFile is the name of a bundle directory's optional manifest.
const ManifestFile = "bundle.json"

// Manifest is the content of bundle.json.
type Manifest struct {
	// Signal is the signal.Kind of signals (or scores); empty means the layout's default.
	Signal string `json:"signal,omitempty"`
	// Layout is LayoutPrivacyMeter or LayoutLiRA; empty means detect it from the files present.
	Layout string `json:"layout,omitempty"`
	// Design says how the memberships were drawn (attack.ParseDesign: bernoulli, pairs, lira, other);
	// empty means infer it (attack.InferDesign). Only declared bernoulli or lira memberships allow an ε
	// bound on differential privacy (attack.CheckDPDesign).
	Design string `json:"design,omitempty"`
}

// Load reads the bundle at path, a directory or a .npz file, and returns its validated data.
func Load(path string) (*attack.Data, error) {
	src, err := open(path)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", path, err)
	}
	d, err := load(src)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", path, err)
	}
	return d, nil
}

func load(src *source) (*attack.Data, error) {
	m := src.manifest
	layout := m.Layout
	pm := src.has("signals") || src.has("memberships")
	lira := src.has("keep") || src.has("scores")
	switch {
	case layout != "":
	case pm && lira:
		return nil, errors.New("holds both Privacy Meter files (signals, memberships) and LiRA files (keep, scores); set \"layout\" in bundle.json")
	case lira:
		layout = LayoutLiRA
	case pm || src.has("probs") || src.has("logits"):
		layout = LayoutPrivacyMeter
	default:
		return nil, errors.New("no signal arrays found: want memberships plus signals (or probs/logits and labels) in records × models, or keep and scores in models × records")
	}
	kind := signal.ProbTrue
	if layout == LayoutLiRA {
		kind = signal.RescaledLogit
	}
	if m.Signal != "" {
		k, err := signal.ParseKind(m.Signal)
		if err != nil {
			return nil, fmt.Errorf("%s: \"signal\": %w", ManifestFile, err)
		}
		kind = k
	}
	design, err := attack.ParseDesign(m.Design)
	if err != nil {
		return nil, fmt.Errorf("%s: \"design\": %w", ManifestFile, err)
	}
	d := &attack.Data{Kind: kind, Design: design}
	if layout == LayoutLiRA {
		err = loadLiRA(src, d)
	} else {
		err = loadPrivacyMeter(src, d, m.Signal != "")
	}
	if err != nil {
		return nil, err
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return d, nil
}

// loadPrivacyMeter reads the records × models layout.
func loadPrivacyMeter(src *source, d *attack.Data, declared bool) error {
	if err := loadPredictions(src, d); err != nil {
		return err
	}
	sig, sigFile, err := src.get("signals")
	if err != nil {
		return err
	}
	mem, memFile, err := src.get("memberships")
	if err != nil {
		return err
	}
	if mem == nil {
		return fmt.Errorf("no memberships file: want %s", src.want("memberships", "N records × M models"))
	}
	switch {
	case sig != nil:
		if len(sig.Shape) != 2 && len(sig.Shape) != 3 {
			return fmt.Errorf("%s: shape %s; want N records × M models (× Q queries)", sigFile, npy.ShapeString(sig.Shape))
		}
		d.N, d.M, d.Q = sig.Shape[0], sig.Shape[1], 1
		if len(sig.Shape) == 3 {
			d.Q = sig.Shape[2]
		}
		d.Signals = sig.Float64s()
	case d.Probs != nil && d.Labels != nil:
		if declared && d.Kind != signal.ProbTrue {
			return fmt.Errorf("%s declares a %s signal, but there is no signals file (signals are derived from probabilities as prob_true)", ManifestFile, d.Kind)
		}
		shape := src.predShape("")
		if shape[0] != len(d.Labels) {
			return fmt.Errorf("%s: %d labels, but %s has %d records", src.name("labels"), len(d.Labels), src.predName(""), shape[0])
		}
		d.N, d.M, d.Q, d.Kind = shape[0], shape[1], 1, signal.ProbTrue
		d.Signals = probTrue(d.Probs, d.Labels, d.M, d.C)
		sigFile = src.name("probs") + " and " + src.name("labels")
	default:
		return fmt.Errorf("no signals file: want %s, or probs (or logits) and labels to derive p(true label)", src.want("signals", "N records × M models"))
	}
	if err := checkMembers(mem, memFile, sigFile, d.N, d.M, false); err != nil {
		return err
	}
	if d.Members, err = mem.Bools(); err != nil {
		return fmt.Errorf("%s: %w", memFile, err)
	}
	if err := checkSignals(sigFile, d.Signals, d.Kind, positions("record", "model", d.M, d.Q)); err != nil {
		return err
	}
	if d.Probs != nil {
		if err := checkPredShape(src, "", d.N, d.M, d.C); err != nil {
			return err
		}
	}
	if d.Labels != nil && len(d.Labels) != d.N {
		return fmt.Errorf("%s: %d labels, but %s has %d records", src.name("labels"), len(d.Labels), sigFile, d.N)
	}
	return loadPopulation(src, d, sigFile, sig == nil)
}

// loadPopulation reads the optional population arrays. When the signals were derived from
// probabilities, population signals may be derived likewise.
func loadPopulation(src *source, d *attack.Data, sigFile string, derived bool) error {
	pop, popFile, err := src.get("population")
	if err != nil {
		return err
	}
	if d.PopProbs != nil {
		if err := checkPredShape(src, "population_", -1, d.M, d.C); err != nil {
			return err
		}
	}
	switch {
	case pop != nil:
		want := []int{-1, d.M}
		if d.Q > 1 {
			want = append(want, d.Q)
		}
		shape := pop.Shape
		if len(shape) == 3 && d.Q == 1 && shape[2] == 1 {
			shape = shape[:2]
		}
		if !shapeMatches(shape, want) {
			return fmt.Errorf("%s: shape %s; want Z population records × %d models%s, to match %s", popFile, npy.ShapeString(pop.Shape), d.M, queriesText(d.Q), sigFile)
		}
		d.Z = pop.Shape[0]
		d.Population = pop.Float64s()
		if err := checkSignals(popFile, d.Population, d.Kind, positions("record", "model", d.M, d.Q)); err != nil {
			return err
		}
	case derived && d.PopProbs != nil && d.PopLabels != nil:
		if rows := src.predShape("population_")[0]; rows != len(d.PopLabels) {
			return fmt.Errorf("%s: %d labels, but %s has %d records", src.name("population_labels"), len(d.PopLabels), src.predName("population_"), rows)
		}
		d.Z = len(d.PopLabels)
		d.Population = probTrue(d.PopProbs, d.PopLabels, d.M, d.C)
		popFile = src.predName("population_") + " and " + src.name("population_labels")
	}
	if d.PopLabels != nil && d.Population != nil && len(d.PopLabels) != d.Z {
		return fmt.Errorf("%s: %d labels, but %s has %d records", src.name("population_labels"), len(d.PopLabels), popFile, d.Z)
	}
	if d.PopProbs != nil && d.Population != nil && len(d.PopProbs) != d.Z*d.M*d.C {
		return fmt.Errorf("%s: %d population records, but %s has %d", src.predName("population_"), len(d.PopProbs)/(d.M*d.C), popFile, d.Z)
	}
	if d.Population == nil {
		// Population labels or probabilities without population signals serve no attack.
		dropPopulation(d)
	}
	return nil
}

// loadLiRA reads keep (M × N) and scores (M × N × Q) and transposes them into records × models.
func loadLiRA(src *source, d *attack.Data) error {
	sc, scFile, err := src.get("scores")
	if err != nil {
		return err
	}
	keep, keepFile, err := src.get("keep")
	if err != nil {
		return err
	}
	if sc == nil || keep == nil {
		return fmt.Errorf("the LiRA layout needs both %s (M models × N records) and %s (M models × N records × Q queries)", src.want("keep", ""), src.want("scores", ""))
	}
	if len(sc.Shape) != 2 && len(sc.Shape) != 3 {
		return fmt.Errorf("%s: shape %s; want M models × N records × Q queries", scFile, npy.ShapeString(sc.Shape))
	}
	m, n, q := sc.Shape[0], sc.Shape[1], 1
	if len(sc.Shape) == 3 {
		q = sc.Shape[2]
	}
	if err := checkMembers(keep, keepFile, scFile, m, n, true); err != nil {
		return err
	}
	kb, err := keep.Bools()
	if err != nil {
		return fmt.Errorf("%s: %w", keepFile, err)
	}
	s := sc.Float64s()
	if err := checkSignals(scFile, s, d.Kind, positions("model", "record", n, q)); err != nil {
		return err
	}
	d.N, d.M, d.Q = n, m, q
	d.Signals = make([]float64, n*m*q)
	d.Members = make([]bool, n*m)
	for k := 0; k < m; k++ {
		for i := 0; i < n; i++ {
			copy(d.Signals[(i*m+k)*q:(i*m+k+1)*q], s[(k*n+i)*q:(k*n+i+1)*q])
			d.Members[i*m+k] = kb[k*n+i]
		}
	}
	if err := loadLiRAPopulation(src, d, scFile); err != nil {
		return err
	}
	if err := loadPredictions(src, d); err != nil {
		return err
	}
	if d.Probs != nil {
		if err := checkPredShape(src, "", d.N, d.M, d.C); err != nil {
			return err
		}
	}
	if d.Labels != nil && len(d.Labels) != d.N {
		return fmt.Errorf("%s: %d labels, but %s has %d records", src.name("labels"), len(d.Labels), scFile, d.N)
	}
	dropPopulation(d)
	return nil
}

// loadLiRAPopulation reads the optional population signals of the LiRA layout, M models × Z records
// (× Q queries), into Z × M × Q.
func loadLiRAPopulation(src *source, d *attack.Data, scFile string) error {
	pop, popFile, err := src.get("population")
	if pop == nil || err != nil {
		return err
	}
	want := []int{d.M, -1}
	if d.Q > 1 {
		want = append(want, d.Q)
	}
	shape := pop.Shape
	if len(shape) == 3 && d.Q == 1 && shape[2] == 1 {
		shape = shape[:2]
	}
	if !shapeMatches(shape, want) {
		return fmt.Errorf("%s: shape %s; want %d models × Z population records%s, to match %s", popFile, npy.ShapeString(pop.Shape), d.M, queriesText(d.Q), scFile)
	}
	m, z, q := d.M, pop.Shape[1], d.Q
	s := pop.Float64s()
	if err := checkSignals(popFile, s, d.Kind, positions("model", "record", z, q)); err != nil {
		return err
	}
	d.Z = z
	d.Population = make([]float64, z*m*q)
	for k := 0; k < m; k++ {
		for i := 0; i < z; i++ {
			copy(d.Population[(i*m+k)*q:(i*m+k+1)*q], s[(k*z+i)*q:(k*z+i+1)*q])
		}
	}
	return nil
}

// dropPopulation forgets population labels and probabilities (and the number of classes they alone
// gave).
func dropPopulation(d *attack.Data) {
	d.PopLabels, d.PopProbs = nil, nil
	if d.Probs == nil {
		d.C = 0
	}
}

// checkMembers checks that the membership array mem has shape rows × cols, and recognises the
// transposed shape. lira says which orientation is expected.
func checkMembers(mem *npy.Array, memFile, sigFile string, rows, cols int, lira bool) error {
	if shapeMatches(mem.Shape, []int{rows, cols}) {
		return nil
	}
	want, other := "N records × M models", "models × records"
	if lira {
		want, other = "M models × N records", "records × models"
	}
	if shapeMatches(mem.Shape, []int{cols, rows}) {
		return fmt.Errorf("%s: shape %s, but %s implies (%d, %d): memberships must be %s; this one looks transposed (%s)", memFile, npy.ShapeString(mem.Shape), sigFile, rows, cols, want, other)
	}
	return fmt.Errorf("%s: shape %s, want (%d, %d) (%s) to match %s", memFile, npy.ShapeString(mem.Shape), rows, cols, want, sigFile)
}

// loadPredictions reads labels, probs/logits and their population counterparts. Shapes are checked
// against N and M later, once those are known.
func loadPredictions(src *source, d *attack.Data) error {
	var err error
	if d.Labels, err = readLabels(src, "labels"); err != nil {
		return err
	}
	if d.PopLabels, err = readLabels(src, "population_labels"); err != nil {
		return err
	}
	var pc int
	if d.Probs, d.C, err = readPredictions(src, ""); err != nil {
		return err
	}
	if d.PopProbs, pc, err = readPredictions(src, "population_"); err != nil {
		return err
	}
	switch {
	case d.Probs != nil && d.PopProbs != nil && pc != d.C:
		return fmt.Errorf("%s has %d classes but %s has %d", src.predName(""), d.C, src.predName("population_"), pc)
	case d.Probs == nil:
		d.C = pc
	}
	if err := checkLabels(src, "", d.Labels, d.C); err != nil {
		return err
	}
	return checkLabels(src, "population_", d.PopLabels, d.C)
}

// checkLabels checks that labels lie below the number of classes c, when known.
func checkLabels(src *source, prefix string, labels []int, c int) error {
	for i, y := range labels {
		if c > 0 && y >= c {
			return fmt.Errorf("%s: label %d of record %d is not below the %d classes of %s", src.name(prefix+"labels"), y, i, c, src.predName(prefix))
		}
	}
	return nil
}

// readLabels reads a label vector (N or N × 1) of non-negative integers.
func readLabels(src *source, name string) ([]int, error) {
	a, file, err := src.get(name)
	if a == nil || err != nil {
		return nil, err
	}
	if !(len(a.Shape) == 1 || (len(a.Shape) == 2 && a.Shape[1] == 1)) {
		return nil, fmt.Errorf("%s: shape %s; want one class index per record", file, npy.ShapeString(a.Shape))
	}
	v, err := a.Int64s()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	out := make([]int, len(v))
	for i, y := range v {
		if y < 0 || y > math.MaxInt32 {
			return nil, fmt.Errorf("%s: label %d of record %d is not a class index", file, y, i)
		}
		out[i] = int(y)
	}
	return out, nil
}

// readPredictions reads prefix+"probs" or prefix+"logits" (rows × M × C), applying a softmax to logits,
// checks the probabilities and returns them with C.
func readPredictions(src *source, prefix string) (p []float64, c int, err error) {
	probs, pf, err := src.get(prefix + "probs")
	if err != nil {
		return nil, 0, err
	}
	logits, lf, err := src.get(prefix + "logits")
	if err != nil {
		return nil, 0, err
	}
	a, file := probs, pf
	switch {
	case probs != nil && logits != nil:
		return nil, 0, fmt.Errorf("both %s and %s are present; give one", pf, lf)
	case logits != nil:
		a, file = logits, lf
	case probs == nil:
		return nil, 0, nil
	}
	if len(a.Shape) != 3 || a.Shape[2] < 2 {
		return nil, 0, fmt.Errorf("%s: shape %s; want records × M models × C ≥ 2 classes", file, npy.ShapeString(a.Shape))
	}
	m, c := a.Shape[1], a.Shape[2]
	p = a.Float64s()
	if logits != nil {
		for k, v := range p {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, 0, fmt.Errorf("%s: record %d, model %d, class %d is %v; logits must be finite", file, k/c/m, k/c%m, k%c, v)
			}
		}
		if p, err = signal.Softmax(p, c, 1); err != nil {
			return nil, 0, fmt.Errorf("%s: %w", file, err)
		}
		return p, c, nil
	}
	for r := 0; r < len(p); r += c {
		sum := 0.0
		for k, v := range p[r : r+c] {
			if !(v >= 0 && v <= 1) {
				return nil, 0, fmt.Errorf("%s: record %d, model %d, class %d is %v; probabilities lie in [0, 1] (logits belong in %slogits)", file, r/c/m, r/c%m, k, v, prefix)
			}
			sum += v
		}
		if math.Abs(sum-1) > 1e-3 {
			return nil, 0, fmt.Errorf("%s: record %d, model %d: probabilities sum to %v, not 1", file, r/c/m, r/c%m, sum)
		}
	}
	return p, c, nil
}

// checkPredShape checks that prefix+probs (or logits) has rows (−1: any) × m × c.
func checkPredShape(src *source, prefix string, rows, m, c int) error {
	if shape := src.predShape(prefix); !shapeMatches(shape, []int{rows, m, c}) {
		file := src.predName(prefix)
		r := "records"
		if rows >= 0 {
			r = fmt.Sprint(rows)
		}
		return fmt.Errorf("%s: shape %s; want (%s, %d, %d) to match the signals' records × models", file, npy.ShapeString(shape), r, m, c)
	}
	return nil
}

// checkSignals rejects NaN, ±Inf and values outside the domain of kind; pos names the position of a
// flat index.
func checkSignals(file string, v []float64, kind signal.Kind, pos func(int) string) error {
	for i, x := range v {
		bad := ""
		switch {
		case math.IsNaN(x) || math.IsInf(x, 0):
			bad = "signals must be finite"
		case kind == signal.ProbTrue && (x < 0 || x > 1):
			bad = "a prob_true signal lies in [0, 1] (set \"signal\" in " + ManifestFile + " if it measures something else)"
		case kind == signal.Loss && x < 0:
			bad = "a loss is never negative"
		}
		if bad != "" {
			return fmt.Errorf("%s: %s is %v; %s", file, pos(i), x, bad)
		}
	}
	return nil
}

// positions returns a function naming flat index i of an array of rows × cols × q as
// "<rowName> r, <colName> c[, query k]".
func positions(rowName, colName string, cols, q int) func(int) string {
	return func(i int) string {
		if q == 1 {
			return fmt.Sprintf("%s %d, %s %d", rowName, i/cols, colName, i%cols)
		}
		return fmt.Sprintf("%s %d, %s %d, query %d", rowName, i/(cols*q), colName, i/q%cols, i%q)
	}
}

func queriesText(q int) string {
	if q == 1 {
		return ""
	}
	return fmt.Sprintf(" × %d queries", q)
}

// shapeMatches compares shapes; −1 in want matches any size.
func shapeMatches(got, want []int) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if want[i] >= 0 && got[i] != want[i] {
			return false
		}
	}
	return true
}

// probTrue returns p[i, m, y_i] for every record and model (rows × M).
func probTrue(p []float64, labels []int, m, c int) []float64 {
	out := make([]float64, len(labels)*m)
	for i, y := range labels {
		for k := 0; k < m; k++ {
			out[i*m+k] = p[(i*m+k)*c+y]
		}
	}
	return out
}

// readManifest reads bundle.json, rejecting unknown fields and values.
func readManifest(path string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return m, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	switch m.Layout {
	case "", LayoutPrivacyMeter, LayoutLiRA:
	default:
		return m, fmt.Errorf("%s: unknown layout %q (want %q or %q)", filepath.Base(path), m.Layout, LayoutPrivacyMeter, LayoutLiRA)
	}
	return m, nil
}
