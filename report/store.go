package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/npy"
)

// Files of a saved Input (WriteInput) inside its directory.
const (
	InputFile        = "results.json"     // everything but the bulk arrays (storedInput)
	scoresFile       = "scores.npy"       // float64, attacks × records
	signalsFile      = "signals.npy"      // float64, attacks × records, NaN where an attack has no signal
	imagesFile       = "images.npy"       // float32, k × ImageShape: the images of k records
	imageRowsFile    = "image_rows.npy"   // int64, k: the record (row) of each image
	featuresFile     = "features.npy"     // float64, k × features
	featureRowsFile  = "feature_rows.npy" // int64, k: the record (row) of each feature vector
	inputFormat      = "pmeter.report.input"
	inputFormatMajor = 1
)

// NoDesignCaveat is the DPCaveat of saved results that do not record whether their memberships allow
// a DP bound (saved by an earlier pmeter).
const NoDesignCaveat = "the saved results do not record how the memberships were drawn (saved by an earlier pmeter)"

// storedInput is the JSON part of a saved Input.
type storedInput struct {
	Format        string         `json:"format"`
	Version       int            `json:"version"`
	Title         string         `json:"title,omitempty"`
	Dataset       string         `json:"dataset,omitempty"`
	Model         string         `json:"model,omitempty"`
	Game          string         `json:"game,omitempty"`
	Created       *time.Time     `json:"created,omitempty"`
	Params        map[string]any `json:"params,omitempty"`
	Targets       int            `json:"targets"`
	DPCaveat      *string        `json:"dp_caveat,omitempty"` // nil in results saved before it was recorded
	TrainAccuracy *float64       `json:"train_accuracy,omitempty"`
	TestAccuracy  *float64       `json:"test_accuracy,omitempty"`
	ClassNames    []string       `json:"class_names,omitempty"`
	FeatureNames  []string       `json:"feature_names,omitempty"`
	ImageShape    []int          `json:"image_shape,omitempty"`
	Records       storedRecords  `json:"records"`
	Attacks       []storedAttack `json:"attacks"`
	ReferenceFit  *ReferenceFit  `json:"reference_fit,omitempty"`
	DP            *DPClaim       `json:"dp,omitempty"`
	DPAudits      []DPAudit      `json:"dp_audits,omitempty"`
	Ranges        *Ranges        `json:"ranges,omitempty"`
	Slices        []Slice        `json:"slices,omitempty"`
	Users         []UserLevel    `json:"users,omitempty"`
	Regression    *RegressionFit `json:"regression,omitempty"`
}

// storedRecords holds the records' scalar fields column by column.
type storedRecords struct {
	ID     []int   `json:"id"`
	Target []int   `json:"target"`
	Label  []int   `json:"label"`
	Member []*bool `json:"member"` // null = unknown
}

type storedAttack struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	SignalName  string `json:"signal_name,omitempty"`
	HasSignal   bool   `json:"has_signal"`
	Access      string `json:"access,omitempty"`
}

// WriteInput saves in into dir (created if needed) so that ReadInput, and `pmeter report`, can rebuild the
// report later: results.json holds the metadata and the records' ids, labels and memberships; scores.npy
// (float64, attacks × records) the scores; signals.npy the signals, when an attack has one; images.npy
// with image_rows.npy, and features.npy with feature_rows.npy, the records' images and feature values,
// for the records that have them. Every file is written atomically; files of an earlier save that this
// input does not need are removed. As Build does, WriteInput overwrites and removes only files it wrote
// itself, listed in dir's .pmeter-results-manifest.json. Call PruneMedia first to keep only the images
// the report can show.
func WriteInput(dir string, in *Input) error {
	if err := in.Validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report: save input: %w", err)
	}
	n := len(in.Records)
	st := storedInput{
		Format: inputFormat, Version: inputFormatMajor,
		Title: in.Title, Dataset: in.Dataset, Model: in.Model, Game: in.Game,
		Params: in.Params, Targets: in.Targets, DPCaveat: &in.DPCaveat, TrainAccuracy: in.TrainAccuracy, TestAccuracy: in.TestAccuracy,
		ClassNames: in.ClassNames, FeatureNames: in.FeatureNames, ImageShape: in.ImageShape, ReferenceFit: in.ReferenceFit,
		DP: in.DP, DPAudits: in.DPAudits, Ranges: in.Ranges, Slices: in.Slices, Users: in.Users, Regression: in.Regression,
		Records: storedRecords{ID: make([]int, n), Target: make([]int, n), Label: make([]int, n), Member: make([]*bool, n)},
	}
	if !in.Created.IsZero() {
		t := in.Created
		st.Created = &t
	}
	var images []float32
	var imageRows []int64
	var features []float64
	var featureRows []int64
	nFeatures := 0
	for i, r := range in.Records {
		st.Records.ID[i], st.Records.Target[i], st.Records.Label[i], st.Records.Member[i] = r.ID, r.Target, r.Label, r.Member
		if r.Image != nil {
			images = append(images, r.Image...)
			imageRows = append(imageRows, int64(i))
		}
		if r.Features != nil {
			features = append(features, r.Features...)
			featureRows = append(featureRows, int64(i))
			nFeatures = len(r.Features)
		}
	}
	scores := make([]float64, 0, len(in.Attacks)*n)
	var signals []float64
	for _, at := range in.Attacks {
		st.Attacks = append(st.Attacks, storedAttack{Name: at.Name, Description: at.Description, SignalName: at.SignalName, HasSignal: at.Signal != nil, Access: at.Access})
		scores = append(scores, at.Scores...)
		if at.Signal != nil && signals == nil {
			signals = make([]float64, 0, len(in.Attacks)*n)
		}
	}
	if signals != nil {
		for _, at := range in.Attacks {
			if at.Signal != nil {
				signals = append(signals, at.Signal...)
			} else {
				for range n {
					signals = append(signals, math.NaN())
				}
			}
		}
	}
	files := map[string]*npy.Array{scoresFile: npy.NewFloat64(scores, len(in.Attacks), n)}
	if signals != nil {
		files[signalsFile] = npy.NewFloat64(signals, len(in.Attacks), n)
	}
	if imageRows != nil {
		files[imagesFile] = npy.NewFloat32(images, append([]int{len(imageRows)}, in.ImageShape...)...)
		files[imageRowsFile] = npy.NewInt64(imageRows, len(imageRows))
	}
	if featureRows != nil {
		files[featuresFile] = npy.NewFloat64(features, len(featureRows), nFeatures)
		files[featureRowsFile] = npy.NewInt64(featureRows, len(featureRows))
	}
	all := []string{scoresFile, signalsFile, imagesFile, imageRowsFile, featuresFile, featureRowsFile}
	names := []string{InputFile}
	for _, name := range all {
		if files[name] != nil {
			names = append(names, name)
		}
	}
	js, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("report: save input: %s: %w", InputFile, err)
	}
	js = append(js, '\n')
	legacy := func() bool { // an input saved before manifests existed
		var prev storedInput
		b, err := os.ReadFile(filepath.Join(dir, InputFile))
		return err == nil && json.Unmarshal(b, &prev) == nil && prev.Format == inputFormat
	}
	commit, err := claim(dir, inputManifest, names, legacy, append(all, InputFile))
	if err != nil {
		return fmt.Errorf("report: save input: %w", err)
	}
	for _, name := range names[1:] {
		if err := npy.WriteFile(filepath.Join(dir, name), files[name]); err != nil {
			return fmt.Errorf("report: save input: %w", err)
		}
	}
	if err := npy.WriteAtomic(filepath.Join(dir, InputFile), func(w io.Writer) error {
		_, err := w.Write(js)
		return err
	}); err != nil {
		return err
	}
	if err := commit(); err != nil {
		return fmt.Errorf("report: save input: %w", err)
	}
	return nil
}

// ReadInput loads an Input saved by WriteInput from dir and validates it. Numbers in Params come back as
// json.Number, which keeps their text.
func ReadInput(dir string) (*Input, error) {
	path := filepath.Join(dir, InputFile)
	js, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("report: read input: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	var st storedInput
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("report: read input %s: %w", path, err)
	}
	if st.Format != inputFormat {
		return nil, fmt.Errorf("report: read input %s: format %q, want %q", path, st.Format, inputFormat)
	}
	if st.Version != inputFormatMajor {
		return nil, fmt.Errorf("report: read input %s: version %d, this pmeter reads version %d", path, st.Version, inputFormatMajor)
	}
	n := len(st.Records.ID)
	rec := st.Records
	if len(rec.Target) != n || len(rec.Label) != n || len(rec.Member) != n {
		return nil, fmt.Errorf("report: read input %s: records: %d ids, %d targets, %d labels, %d memberships; want equal lengths",
			path, n, len(rec.Target), len(rec.Label), len(rec.Member))
	}
	in := &Input{
		Title: st.Title, Dataset: st.Dataset, Model: st.Model, Game: st.Game, Params: st.Params,
		Targets: st.Targets, TrainAccuracy: st.TrainAccuracy, TestAccuracy: st.TestAccuracy,
		ClassNames: st.ClassNames, FeatureNames: st.FeatureNames, ImageShape: st.ImageShape, ReferenceFit: st.ReferenceFit,
		DP: st.DP, DPAudits: st.DPAudits, Ranges: st.Ranges, Slices: st.Slices, Users: st.Users, Regression: st.Regression,
		Records: make([]Record, n),
	}
	if st.Created != nil {
		in.Created = *st.Created
	}
	in.DPCaveat = NoDesignCaveat
	if st.DPCaveat != nil {
		in.DPCaveat = *st.DPCaveat
	}
	for i := range n {
		in.Records[i] = Record{ID: rec.ID[i], Target: rec.Target[i], Label: rec.Label[i], Member: rec.Member[i]}
	}
	nA := len(st.Attacks)
	scores, err := readMatrix(dir, scoresFile, nA, n)
	if err != nil {
		return nil, err
	}
	var signals []float64
	if slices.ContainsFunc(st.Attacks, func(a storedAttack) bool { return a.HasSignal }) {
		if signals, err = readMatrix(dir, signalsFile, nA, n); err != nil {
			return nil, err
		}
	}
	for k, sa := range st.Attacks {
		at := AttackResult{Name: sa.Name, Description: sa.Description, SignalName: sa.SignalName, Scores: scores[k*n : (k+1)*n], Access: sa.Access}
		if sa.HasSignal {
			at.Signal = signals[k*n : (k+1)*n]
		}
		in.Attacks = append(in.Attacks, at)
	}
	if err := readMedia(dir, imagesFile, imageRowsFile, n, func(rows []int64, a *npy.Array) error {
		size := 1
		for _, d := range in.ImageShape {
			size *= d
		}
		if len(in.ImageShape) == 0 || a.Kind != npy.Float32 || !slices.Equal(a.Shape, append([]int{len(rows)}, in.ImageShape...)) {
			return fmt.Errorf("%s is %v %s, want float32 %v", imagesFile, a.Shape, a.Kind, append([]int{len(rows)}, in.ImageShape...))
		}
		for q, i := range rows {
			in.Records[i].Image = a.F32[q*size : (q+1)*size : (q+1)*size]
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := readMedia(dir, featuresFile, featureRowsFile, n, func(rows []int64, a *npy.Array) error {
		if len(a.Shape) != 2 || a.Shape[0] != len(rows) {
			return fmt.Errorf("%s has shape %v, want %d × features", featuresFile, a.Shape, len(rows))
		}
		f, d := a.Float64s(), a.Shape[1]
		for q, i := range rows {
			in.Records[i].Features = f[q*d : (q+1)*d : (q+1)*d]
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, fmt.Errorf("report: read input %s: %w", dir, err)
	}
	return in, nil
}

// readMatrix reads dir/name as a float64 rows × cols matrix.
func readMatrix(dir, name string, rows, cols int) ([]float64, error) {
	a, err := npy.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, fmt.Errorf("report: read input: %w", err)
	}
	if !slices.Equal(a.Shape, []int{rows, cols}) {
		return nil, fmt.Errorf("report: read input: %s has shape %v, want attacks × records = [%d %d]", name, a.Shape, rows, cols)
	}
	return a.Float64s(), nil
}

// readMedia reads an optional media array and its row index, and hands them to set after checking the
// rows.
func readMedia(dir, dataName, rowsName string, n int, set func(rows []int64, a *npy.Array) error) error {
	rowsPath := filepath.Join(dir, rowsName)
	if _, err := os.Stat(rowsPath); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	ra, err := npy.ReadFile(rowsPath)
	if err != nil {
		return fmt.Errorf("report: read input: %w", err)
	}
	rows, err := ra.Int64s()
	if err != nil || len(ra.Shape) != 1 {
		return fmt.Errorf("report: read input: %s: want a 1-d integer array (%v)", rowsName, err)
	}
	for q, i := range rows {
		if i < 0 || i >= int64(n) {
			return fmt.Errorf("report: read input: %s[%d] = %d, want a record index in [0, %d)", rowsName, q, i, n)
		}
	}
	a, err := npy.ReadFile(filepath.Join(dir, dataName))
	if err != nil {
		return fmt.Errorf("report: read input: %w", err)
	}
	if err := set(rows, a); err != nil {
		return fmt.Errorf("report: read input: %w", err)
	}
	return nil
}

// PruneMedia drops the images and feature values of every record except the k highest-scoring records of
// each attack, overall and among the members, so that a saved input keeps all a report with TopK <= k
// can show, whichever attack ranks the records. It changes in's records in place.
func (in *Input) PruneMedia(k int) {
	keep := make([]bool, len(in.Records))
	for _, at := range in.Attacks {
		for _, membersOnly := range []bool{false, true} {
			var rows []int
			for i, r := range in.Records {
				if !membersOnly || (r.Member != nil && *r.Member) {
					rows = append(rows, i)
				}
			}
			slices.SortStableFunc(rows, func(x, y int) int {
				switch sx, sy := at.Scores[x], at.Scores[y]; {
				case sx > sy:
					return -1
				case sx < sy:
					return 1
				}
				return 0
			})
			for _, i := range rows[:min(k, len(rows))] {
				keep[i] = true
			}
		}
	}
	for i := range in.Records {
		if !keep[i] {
			in.Records[i].Image, in.Records[i].Features = nil, nil
		}
	}
}

// The layout of a run directory that `pmeter report RUN_DIR` rebuilds: the saved input (WriteInput) in
// RUN_DIR/results, the report (Build) in RUN_DIR/report.
const (
	ResultsDir = "results"
	ReportDir  = "report"
)

// ReadSummary reads a summary.json written by Build. It rejects another schema, or a version it cannot
// read back (readableVersions).
func ReadSummary(path string) (*Summary, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var s Summary
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("report: read %s: %w", path, err)
	}
	if s.Schema != SchemaName || !slices.Contains(readableVersions, s.SchemaVersion) {
		return nil, fmt.Errorf("report: read %s: schema %q version %d, want %q version %v", path, s.Schema, s.SchemaVersion, SchemaName, readableVersions)
	}
	return &s, nil
}

// OptionsOf returns the options that produced s, so that a rebuild reproduces it: the bootstrap
// settings, alpha, the number of top records and, when it was not the strongest attack (the default),
// the ranking attack.
func OptionsOf(s *Summary) Options {
	o := Options{
		TopK:        s.Settings.TopK,
		Bootstrap:   metric.BootstrapOptions{Resamples: s.Settings.BootstrapResamples, Level: s.Settings.ConfidenceLevel, Seed: s.Settings.BootstrapSeed},
		Alpha:       s.Settings.EpsilonAlpha,
		Delta:       s.Settings.EpsilonDelta,
		EpsilonSeed: s.Settings.EpsilonSeed,
	}
	if o.TopK == 0 {
		o.TopK = -1 // no top records were asked for
	}
	if s.Settings.RankedBy != s.Verdict.StrongestAttack && s.Verdict.StrongestAttack != "" {
		o.RankBy = s.Settings.RankedBy
	}
	// The listed users' aggregate, when it was not the default for the ranking attack.
	if l := s.Settings.UsersListed; l != nil {
		if k, err := listedUsers(s.Users, s.Settings.RankedBy, ""); err == nil && k >= 0 && s.Users[k].Aggregate != l.Aggregate {
			o.UsersAggregate = l.Aggregate
		}
	}
	return o
}
