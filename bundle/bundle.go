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
// signals may be left out when probs (or logits) and labels are given; it is then p(true label), or with
// logits the rescaled logit ℓ_y − log Σ_{j≠y} e^{ℓ_j} computed from them exactly (finite where a float32
// softmax saturates to 1).
//
// LiRA layout (models × records, as the LiRA reference code saves them):
//
//	keep           M × N                bool: record n in model m's training set
//	scores         M × N × Q or M × N   signals, by default rescaled logits (LiRA's score.py)
//	population     M × Z × Q or M × Z   optional: signals of records outside every training set
//
// LiRA arrays are transposed into records × models × queries. labels and probs may accompany them.
//
// In either layout a bundle may carry white-box signals (the gradient attacks, attack/gradient.go):
//
//	grad_norms             N × M or N × M × G   per-record gradient norms ‖∇θ ℓ‖₂, records × models (G:
//	                                            the whole model, then each layer with parameters)
//	population_grad_norms  Z × M (× G)          optional, likewise for the population records
//	loss_trajectory        N × M × T (or N × M) per-record losses at T training checkpoints, the last
//	                                            the final model (the trajectory attacks, trajectory.go);
//	                                            bundle.json's "trajectory_epochs" may name their epochs
//	population_loss_trajectory  Z × M × T       optional, likewise for the population records
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
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/npy"
	"github.com/pmeter/pmeter/signal"
)

// The bundle layouts.
const (
	LayoutPrivacyMeter = "privacy-meter"
	LayoutLiRA         = "lira"
)

// maxClasses bounds the class labels of a bundle without probabilities (which give the classes): the
// per-class attacks size their tables by the largest label, so that one label of 2^31 − 1 would have
// them allocate tens of gigabytes.
const maxClasses = 1 << 16

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
	// TrajectoryEpochs are the epochs of loss_trajectory's checkpoints, increasing and ≥ 0; empty means 1, 2, ….
	TrajectoryEpochs []int `json:"trajectory_epochs,omitempty"`
}

// Load reads the bundle at path, a directory or a .npz file, and returns its validated data.
//
// The shapes that the files' headers declare are checked against each other before any data are read,
// and each array is read into buffers of exactly its size (LiRA's arrays are transposed as they are
// read), so that loading takes little more memory than the arrays themselves.
func Load(path string) (*attack.Data, error) {
	src, err := open(path)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", path, err)
	}
	defer src.Close()
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
		sh, err := liraShapes(src)
		if err != nil {
			return nil, err
		}
		if err := loadLiRA(src, d, sh); err != nil {
			return nil, err
		}
	} else {
		if m.Signal != "" && kind != signal.ProbTrue && !src.has("signals") && (src.has("probs") || src.has("logits")) && src.has("labels") {
			return nil, fmt.Errorf("%s declares a %s signal, but there is no signals file (signals are derived from probabilities as prob_true)", ManifestFile, kind)
		}
		sh, err := pmShapes(src)
		if err != nil {
			return nil, err
		}
		sh.declared = m.Signal != ""
		if err := loadPrivacyMeter(src, d, sh); err != nil {
			return nil, err
		}
	}
	if err := loadGradNorms(src, d); err != nil {
		return nil, err
	}
	if err := loadTrajectories(src, d, m.TrajectoryEpochs); err != nil {
		return nil, err
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return d, nil
}

// loadGradNorms reads grad_norms (and population_grad_norms), records × models (× G), when present.
func loadGradNorms(src *source, d *attack.Data) error {
	read := func(name string, rows int) ([]float64, int, error) {
		a, file, err := src.getFloat64(name)
		if err != nil || a == nil {
			return nil, 0, err
		}
		g := 1
		switch {
		case len(a.Shape) == 3:
			g = a.Shape[2]
		case len(a.Shape) != 2:
			return nil, 0, fmt.Errorf("%s: shape %s; want %d records × %d models (× G norms)", file, npy.ShapeString(a.Shape), rows, d.M)
		}
		if a.Shape[0] != rows || a.Shape[1] != d.M || g < 1 {
			return nil, 0, fmt.Errorf("%s: shape %s; want %d records × %d models (× G norms), as the signals", file, npy.ShapeString(a.Shape), rows, d.M)
		}
		for k, v := range a.F64 {
			if !(v >= 0) || math.IsInf(v, 0) {
				return nil, 0, fmt.Errorf("%s: record %d, model %d: gradient norm %v; want a finite number ≥ 0", file, k/(d.M*g), k/g%d.M, v)
			}
		}
		return a.F64, g, nil
	}
	grad, g, err := read("grad_norms", d.N)
	if err != nil || grad == nil {
		if err == nil && src.has("population_grad_norms") {
			err = fmt.Errorf("%s without %s", src.name("population_grad_norms"), src.name("grad_norms"))
		}
		return err
	}
	d.Grad, d.G = grad, g
	pop, pg, err := read("population_grad_norms", d.Z)
	if err != nil {
		return err
	}
	if pop != nil && pg != g {
		return fmt.Errorf("%s: %d norms per record, but %s has %d", src.name("population_grad_norms"), pg, src.name("grad_norms"), g)
	}
	d.PopGrad = pop
	return nil
}

// loadTrajectories reads loss_trajectory (and population_loss_trajectory), records × models (× T), when
// present, with the checkpoints' epochs.
func loadTrajectories(src *source, d *attack.Data, epochs []int) error {
	read := func(name string, rows int) ([]float64, int, error) {
		a, file, err := src.getFloat64(name)
		if err != nil || a == nil {
			return nil, 0, err
		}
		t := 1
		switch {
		case len(a.Shape) == 3:
			t = a.Shape[2]
		case len(a.Shape) != 2:
			return nil, 0, fmt.Errorf("%s: shape %s; want %d records × %d models (× T checkpoints)", file, npy.ShapeString(a.Shape), rows, d.M)
		}
		if a.Shape[0] != rows || a.Shape[1] != d.M || t < 1 {
			return nil, 0, fmt.Errorf("%s: shape %s; want %d records × %d models (× T checkpoints), as the signals", file, npy.ShapeString(a.Shape), rows, d.M)
		}
		for k, v := range a.F64 {
			if !(v >= 0) || math.IsInf(v, 0) {
				return nil, 0, fmt.Errorf("%s: record %d, model %d, checkpoint %d: loss %v; want a finite number ≥ 0", file, k/(d.M*t), k/t%d.M, k%t, v)
			}
		}
		return a.F64, t, nil
	}
	traj, t, err := read("loss_trajectory", d.N)
	if err != nil || traj == nil {
		if err == nil && (src.has("population_loss_trajectory") || len(epochs) > 0) {
			err = fmt.Errorf("%s or %s \"trajectory_epochs\" without %s", src.name("population_loss_trajectory"), ManifestFile, src.name("loss_trajectory"))
		}
		return err
	}
	if len(epochs) > 0 && len(epochs) != t {
		return fmt.Errorf("%s: \"trajectory_epochs\" names %d epochs, but %s has %d checkpoints", ManifestFile, len(epochs), src.name("loss_trajectory"), t)
	}
	d.Traj, d.T, d.TrajEpochs = traj, t, epochs
	pop, pt, err := read("population_loss_trajectory", d.Z)
	if err != nil {
		return err
	}
	if pop != nil && pt != t {
		return fmt.Errorf("%s: %d checkpoints, but %s has %d", src.name("population_loss_trajectory"), pt, src.name("loss_trajectory"), t)
	}
	d.PopTraj = pop
	return nil
}

// shapes are the dimensions a bundle's headers declare, checked against each other before any data
// are read.
type shapes struct {
	n, m, q    int
	z          int    // population records; 0 without population signals
	c          int    // classes of the kept probabilities; 0 without
	sigFile    string // what the signals come from, for messages
	popFile    string
	derived    bool // signals are derived from probs (or logits) and labels
	declared   bool // bundle.json names the signal kind
	derivedPop bool // population signals likewise
	popPreds   bool // population labels and probabilities are kept
	sigDims    int  // dimensions of the LiRA layout's scores and population arrays
	popDims    int
}

// pmShapes checks the shapes of the records × models layout.
func pmShapes(src *source) (*shapes, error) {
	s := &shapes{}
	labels, err := labelRows(src, "labels")
	if err != nil {
		return nil, err
	}
	popLabels, err := labelRows(src, "population_labels")
	if err != nil {
		return nil, err
	}
	probs, popProbs, err := predShapes(src)
	if err != nil {
		return nil, err
	}
	sig, err := src.shape("signals")
	if err != nil {
		return nil, err
	}
	mem, err := src.shape("memberships")
	if err != nil {
		return nil, err
	}
	if mem == nil {
		return nil, fmt.Errorf("no memberships file: want %s", src.want("memberships", "N records × M models"))
	}
	switch {
	case sig != nil:
		s.sigFile = src.name("signals")
		if len(sig) != 2 && len(sig) != 3 {
			return nil, fmt.Errorf("%s: shape %s; want N records × M models (× Q queries)", s.sigFile, npy.ShapeString(sig))
		}
		s.n, s.m, s.q = sig[0], sig[1], 1
		if len(sig) == 3 {
			s.q = sig[2]
		}
	case probs != nil && labels >= 0:
		if labels != probs[0] {
			return nil, fmt.Errorf("%s: %d labels, but %s has %d records", src.name("labels"), labels, src.predName(""), probs[0])
		}
		s.n, s.m, s.q, s.derived = probs[0], probs[1], 1, true
		s.sigFile = src.predName("") + " and " + src.name("labels")
	default:
		return nil, fmt.Errorf("no signals file: want %s, or probs (or logits) and labels to derive p(true label)", src.want("signals", "N records × M models"))
	}
	if err := s.checkNonEmpty(); err != nil {
		return nil, err
	}
	if err := checkMembers(mem, src.name("memberships"), s.sigFile, s.n, s.m, false); err != nil {
		return nil, err
	}
	if err := s.checkPredictions(src, probs, labels); err != nil {
		return nil, err
	}

	pop, err := src.shape("population")
	if err != nil {
		return nil, err
	}
	if popProbs != nil {
		if err := checkPredShape(src, "population_", popProbs, -1, s.m, popProbs[2]); err != nil {
			return nil, err
		}
	}
	switch {
	case pop != nil:
		s.popFile = src.name("population")
		if err := popShape(pop, s.popFile, s, false); err != nil {
			return nil, err
		}
		s.z = pop[0]
	case s.derived && popProbs != nil && popLabels >= 0:
		if popLabels != popProbs[0] {
			return nil, fmt.Errorf("%s: %d labels, but %s has %d records", src.name("population_labels"), popLabels, src.predName("population_"), popProbs[0])
		}
		s.z, s.derivedPop = popLabels, true
		s.popFile = src.predName("population_") + " and " + src.name("population_labels")
	default:
		// Population labels or probabilities without population signals serve no attack.
		return s, nil
	}
	if popLabels >= 0 && popLabels != s.z {
		return nil, fmt.Errorf("%s: %d labels, but %s has %d records", src.name("population_labels"), popLabels, s.popFile, s.z)
	}
	if popProbs != nil && popProbs[0] != s.z {
		return nil, fmt.Errorf("%s: %d population records, but %s has %d", src.predName("population_"), popProbs[0], s.popFile, s.z)
	}
	s.popPreds = true
	if s.c == 0 && popProbs != nil {
		s.c = popProbs[2]
	}
	return s, nil
}

// checkNonEmpty rejects signals without records, models or queries.
func (s *shapes) checkNonEmpty() error {
	if s.n < 1 || s.m < 1 || s.q < 1 {
		return fmt.Errorf("%s: %d records × %d models × %d queries; want at least one of each", s.sigFile, s.n, s.m, s.q)
	}
	return nil
}

// checkPredictions checks the shape of the records' probs (or logits) and the number of labels (−1: no
// labels file) against the signals', and sets the number of classes.
func (s *shapes) checkPredictions(src *source, probs []int, labels int) error {
	if probs != nil {
		s.c = probs[2]
		if err := checkPredShape(src, "", probs, s.n, s.m, s.c); err != nil {
			return err
		}
	}
	if labels >= 0 && labels != s.n {
		return fmt.Errorf("%s: %d labels, but %s has %d records", src.name("labels"), labels, s.sigFile, s.n)
	}
	return nil
}

// liraShapes checks the shapes of the models × records layout.
func liraShapes(src *source) (*shapes, error) {
	sc, err := src.shape("scores")
	if err != nil {
		return nil, err
	}
	keep, err := src.shape("keep")
	if err != nil {
		return nil, err
	}
	if sc == nil || keep == nil {
		return nil, fmt.Errorf("the LiRA layout needs both %s (M models × N records) and %s (M models × N records × Q queries)", src.want("keep", ""), src.want("scores", ""))
	}
	s := &shapes{sigFile: src.name("scores")}
	if len(sc) != 2 && len(sc) != 3 {
		return nil, fmt.Errorf("%s: shape %s; want M models × N records × Q queries", s.sigFile, npy.ShapeString(sc))
	}
	s.m, s.n, s.q, s.sigDims = sc[0], sc[1], 1, len(sc)
	if len(sc) == 3 {
		s.q = sc[2]
	}
	if err := s.checkNonEmpty(); err != nil {
		return nil, err
	}
	if err := checkMembers(keep, src.name("keep"), s.sigFile, s.m, s.n, true); err != nil {
		return nil, err
	}
	pop, err := src.shape("population")
	if err != nil {
		return nil, err
	}
	if pop != nil {
		s.popFile = src.name("population")
		if err := popShape(pop, s.popFile, s, true); err != nil {
			return nil, err
		}
		s.z, s.popDims = pop[1], len(pop)
	}
	labels, err := labelRows(src, "labels")
	if err != nil {
		return nil, err
	}
	if _, err := labelRows(src, "population_labels"); err != nil {
		return nil, err
	}
	probs, _, err := predShapes(src)
	if err != nil {
		return nil, err
	}
	if err := s.checkPredictions(src, probs, labels); err != nil {
		return nil, err
	}
	return s, nil
}

// popShape checks the population signals' shape against s: Z × M (× Q), or M × Z (× Q) in the LiRA
// layout. A trailing query dimension of 1 is accepted when Q is 1.
func popShape(shape []int, file string, s *shapes, lira bool) error {
	want := []int{-1, s.m}
	if lira {
		want = []int{s.m, -1}
	}
	if s.q > 1 {
		want = append(want, s.q)
	}
	got := shape
	if len(got) == 3 && s.q == 1 && got[2] == 1 {
		got = got[:2]
	}
	if shapeMatches(got, want) {
		return nil
	}
	if lira {
		return fmt.Errorf("%s: shape %s; want %d models × Z population records%s, to match %s", file, npy.ShapeString(shape), s.m, queriesText(s.q), s.sigFile)
	}
	return fmt.Errorf("%s: shape %s; want Z population records × %d models%s, to match %s", file, npy.ShapeString(shape), s.m, queriesText(s.q), s.sigFile)
}

// labelRows returns the number of records of the label vector called name (N or N × 1), or −1 when
// the bundle has none.
func labelRows(src *source, name string) (int, error) {
	shape, err := src.shape(name)
	if shape == nil || err != nil {
		return -1, err
	}
	if !(len(shape) == 1 || (len(shape) == 2 && shape[1] == 1)) {
		return -1, fmt.Errorf("%s: shape %s; want one class index per record", src.name(name), npy.ShapeString(shape))
	}
	return shape[0], nil
}

// predShapes returns the shapes of probs (or logits) and of population_probs (or population_logits),
// nil when absent, checking that each is records × M models × C ≥ 2 classes and that both have the
// same classes.
func predShapes(src *source) (probs, popProbs []int, err error) {
	if probs, err = predShape(src, ""); err != nil {
		return nil, nil, err
	}
	if popProbs, err = predShape(src, "population_"); err != nil {
		return nil, nil, err
	}
	if probs != nil && popProbs != nil && probs[2] != popProbs[2] {
		return nil, nil, fmt.Errorf("%s has %d classes but %s has %d", src.predName(""), probs[2], src.predName("population_"), popProbs[2])
	}
	return probs, popProbs, nil
}

func predShape(src *source, prefix string) ([]int, error) {
	probs, err := src.shape(prefix + "probs")
	if err != nil {
		return nil, err
	}
	logits, err := src.shape(prefix + "logits")
	if err != nil {
		return nil, err
	}
	shape, file := probs, src.name(prefix+"probs")
	switch {
	case probs != nil && logits != nil:
		return nil, fmt.Errorf("both %s and %s are present; give one", file, src.name(prefix+"logits"))
	case logits != nil:
		shape, file = logits, src.name(prefix+"logits")
	case probs == nil:
		return nil, nil
	}
	if len(shape) != 3 || shape[2] < 2 {
		return nil, fmt.Errorf("%s: shape %s; want records × M models × C ≥ 2 classes", file, npy.ShapeString(shape))
	}
	return shape, nil
}

// loadPrivacyMeter reads the records × models layout, whose shapes s has checked.
func loadPrivacyMeter(src *source, d *attack.Data, s *shapes) error {
	d.N, d.M, d.Q, d.C = s.n, s.m, s.q, s.c
	var err error
	if d.Labels, err = readLabels(src, "labels", d.C); err != nil {
		return err
	}
	var logits []float64
	if d.Probs, logits, err = readPredictions(src, "", d.C); err != nil {
		return err
	}
	if s.derivedPop && !src.has("population_logits") {
		logits = nil // the population's signals come from probabilities: the records' must be of the same kind
	}
	if s.derived {
		if d.Signals, d.Kind, err = derivedSignals(d.Probs, logits, d.Labels, d.M, d.C, s.declared); err != nil {
			return fmt.Errorf("%s: %w", src.predName(""), err)
		}
	} else {
		sig, sigFile, err := src.getFloat64("signals")
		if err != nil {
			return err
		}
		d.Signals = sig.F64
		if err := checkSignals(sigFile, d.Signals, d.Kind, positions("record", "model", d.M, d.Q)); err != nil {
			return err
		}
	}
	if d.Members, err = readMembers(src, "memberships", positions("record", "model", d.M, 1)); err != nil {
		return err
	}
	if !s.popPreds {
		return nil
	}
	if d.PopLabels, err = readLabels(src, "population_labels", d.C); err != nil {
		return err
	}
	var popLogits []float64
	if d.PopProbs, popLogits, err = readPredictions(src, "population_", d.C); err != nil {
		return err
	}
	d.Z = s.z
	if s.derivedPop {
		if d.Kind != signal.RescaledLogit {
			popLogits = nil // the records' signals are p(true label): the population's must be too
		}
		if d.Population, _, err = derivedSignals(d.PopProbs, popLogits, d.PopLabels, d.M, d.C, s.declared); err != nil {
			return fmt.Errorf("%s: %w", src.predName("population_"), err)
		}
		return nil
	}
	pop, popFile, err := src.getFloat64("population")
	if err != nil {
		return err
	}
	d.Population = pop.F64
	return checkSignals(popFile, d.Population, d.Kind, positions("record", "model", d.M, d.Q))
}

// loadLiRA reads keep (M × N) and scores (M × N × Q), whose shapes s has checked, transposed into
// records × models (× queries) as they are read.
func loadLiRA(src *source, d *attack.Data, s *shapes) error {
	d.N, d.M, d.Q, d.Z, d.C = s.n, s.m, s.q, s.z, s.c
	sc, scFile, err := src.read("scores", npy.ReadOptions{Float64: true, Axes: swapFirst(s.sigDims)})
	if err != nil {
		return err
	}
	d.Signals = sc.F64
	if err := checkSignals(scFile, d.Signals, d.Kind, liraPositions(d.M, d.Q)); err != nil {
		return err
	}
	keep, keepFile, err := src.read("keep", npy.ReadOptions{Axes: []int{1, 0}})
	if err != nil {
		return err
	}
	if d.Members, err = members(keep, keepFile, liraPositions(d.M, 1)); err != nil {
		return err
	}
	if src.has("population") {
		pop, popFile, err := src.read("population", npy.ReadOptions{Float64: true, Axes: swapFirst(s.popDims)})
		if err != nil {
			return err
		}
		d.Population = pop.F64
		if err := checkSignals(popFile, d.Population, d.Kind, liraPositions(d.M, d.Q)); err != nil {
			return err
		}
	}
	if d.Labels, err = readLabels(src, "labels", d.C); err != nil {
		return err
	}
	d.Probs, _, err = readPredictions(src, "", d.C)
	return err
}

// swapFirst returns the axes that swap the first two of nd.
func swapFirst(nd int) []int {
	axes := []int{1, 0, 2}
	return axes[:nd]
}

// liraPositions names flat index i of a records × models (× queries) array read from the LiRA layout
// by the position in its file: "model m, record r[, query k]".
func liraPositions(m, q int) func(int) string {
	return func(i int) string {
		if q == 1 {
			return fmt.Sprintf("model %d, record %d", i%m, i/m)
		}
		return fmt.Sprintf("model %d, record %d, query %d", i/q%m, i/(m*q), i%q)
	}
}

// readMembers reads a membership array; pos names the position of a flat index in messages.
func readMembers(src *source, name string, pos func(int) string) ([]bool, error) {
	a, file, err := src.get(name)
	if err != nil {
		return nil, err
	}
	return members(a, file, pos)
}

// members converts a membership array to bool.
func members(a *npy.Array, file string, pos func(int) string) ([]bool, error) {
	b, err := a.Bools()
	if ee := (*npy.ElementError)(nil); errors.As(err, &ee) {
		return nil, fmt.Errorf("%s: %s is %s; %s", file, pos(ee.Index), ee.Value, ee.Want)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return b, nil
}

// checkMembers checks that the membership array of shape mem has shape rows × cols, and recognises the
// transposed shape. lira says which orientation is expected.
func checkMembers(mem []int, memFile, sigFile string, rows, cols int, lira bool) error {
	if shapeMatches(mem, []int{rows, cols}) {
		return nil
	}
	want, other := "N records × M models", "models × records"
	if lira {
		want, other = "M models × N records", "records × models"
	}
	if shapeMatches(mem, []int{cols, rows}) {
		return fmt.Errorf("%s: shape %s, but %s implies (%d, %d): memberships must be %s; this one looks transposed (%s)", memFile, npy.ShapeString(mem), sigFile, rows, cols, want, other)
	}
	return fmt.Errorf("%s: shape %s, want (%d, %d) (%s) to match %s", memFile, npy.ShapeString(mem), rows, cols, want, sigFile)
}

// readLabels reads a label vector (N or N × 1) of non-negative integers, below c when c > 0 and below
// maxClasses always, or returns nil when the bundle has none.
func readLabels(src *source, name string, c int) ([]int, error) {
	a, file, err := src.get(name)
	if a == nil || err != nil {
		return nil, err
	}
	v, err := a.Int64s()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	out := make([]int, len(v))
	for i, y := range v {
		if y < 0 || y >= maxClasses {
			return nil, fmt.Errorf("%s: label %d of record %d is not a class index (want 0 to %d)", file, y, i, maxClasses-1)
		}
		if c > 0 && int(y) >= c {
			return nil, fmt.Errorf("%s: label %d of record %d is not below the %d classes of %s", file, y, i, c, src.predName(strings.TrimSuffix(name, "labels")))
		}
		out[i] = int(y)
	}
	return out, nil
}

// readPredictions reads prefix+"probs" or prefix+"logits" (rows × M × c, checked), applying a softmax
// to logits, and checks the probabilities. It returns nil when the bundle has neither; logits are the raw
// logits when the bundle gives them.
func readPredictions(src *source, prefix string, c int) (probs, logits []float64, err error) {
	name := prefix + "probs"
	isLogits := src.has(prefix + "logits")
	if isLogits {
		name = prefix + "logits"
	}
	a, file, err := src.getFloat64(name)
	if a == nil || err != nil {
		return nil, nil, err
	}
	m := a.Shape[1]
	p := a.F64
	if isLogits {
		for k, v := range p {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, nil, fmt.Errorf("%s: record %d, model %d, class %d is %v; logits must be finite", file, k/c/m, k/c%m, k%c, v)
			}
		}
		if probs, err = signal.Softmax(p, c, 1); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", file, err)
		}
		return probs, p, nil
	}
	for r := 0; r < len(p); r += c {
		sum := 0.0
		for k, v := range p[r : r+c] {
			if !(v >= 0 && v <= 1) {
				return nil, nil, fmt.Errorf("%s: record %d, model %d, class %d is %v; probabilities lie in [0, 1] (logits belong in %slogits)", file, r/c/m, r/c%m, k, v, prefix)
			}
			sum += v
		}
		if math.Abs(sum-1) > 1e-3 {
			return nil, nil, fmt.Errorf("%s: record %d, model %d: probabilities sum to %v, not 1", file, r/c/m, r/c%m, sum)
		}
	}
	return p, nil, nil
}

// checkPredShape checks that the shape of prefix+probs (or logits) is rows (−1: any) × m × c.
func checkPredShape(src *source, prefix string, shape []int, rows, m, c int) error {
	if !shapeMatches(shape, []int{rows, m, c}) {
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

// derivedSignals returns the signals of a bundle without a signals file: the rescaled logit
// φ = ℓ_y − log Σ_{j≠y} e^{ℓ_j}, computed exactly from the logits when the bundle gives them (a float32
// softmax saturates at p = 1 for confident models, where φ stays finite), else p(true label). declared
// (bundle.json names prob_true) keeps p(true label) in either case.
func derivedSignals(probs, logits []float64, labels []int, m, c int, declared bool) ([]float64, signal.Kind, error) {
	if logits == nil || declared {
		return probTrue(probs, labels, m, c), signal.ProbTrue, nil
	}
	phi, err := signal.FromLogits(signal.RescaledLogit, logits, c, labels, signal.Options{Queries: m})
	return phi, signal.RescaledLogit, err
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
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		return m, fmt.Errorf("%s: more after the JSON object, which ends at byte %d; want one object", filepath.Base(path), end)
	}
	for k, e := range m.TrajectoryEpochs {
		if e < 0 || (k > 0 && e <= m.TrajectoryEpochs[k-1]) {
			return m, fmt.Errorf("%s: \"trajectory_epochs\" %v: epoch %d (entry %d) does not follow the previous one; want increasing epochs ≥ 0", filepath.Base(path), m.TrajectoryEpochs, e, k+1)
		}
	}
	switch m.Layout {
	case "", LayoutPrivacyMeter, LayoutLiRA:
	default:
		return m, fmt.Errorf("%s: unknown layout %q (want %q or %q)", filepath.Base(path), m.Layout, LayoutPrivacyMeter, LayoutLiRA)
	}
	return m, nil
}
