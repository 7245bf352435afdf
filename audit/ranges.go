package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/dataset"
	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/nn"
	"github.com/pmeter/pmeter/npy"
	"github.com/pmeter/pmeter/ramia"
	"github.com/pmeter/pmeter/report"
	"github.com/pmeter/pmeter/signal"
)

// rangeGame is the privacy game of range membership inference.
const rangeGame = "range_membership"

// RangeConfig (pmeter) is the range section of privacy_game range_membership (RaMIA, package ramia): how
// the range around every audited record is sampled and how its points' scores become the range's.
// Field names follow Privacy Meter's ramia section where it has the setting (range_function,
// sample_size, radius, num_missing_feats, col_ranges, is_categorical, transformations, trim_ratio,
// trim_direction).
type RangeConfig struct {
	// Sampler is l2, missing_values or geometric (Privacy Meter's range_function, accepted as well).
	Sampler       string `yaml:"sampler"`
	RangeFunction string `yaml:"range_function"`
	// Size is S, the points sampled per range (Privacy Meter's sample_size, accepted as well).
	Size       int `yaml:"size"`
	SampleSize int `yaml:"sample_size"`
	// Radius is the L2 radius of sampler l2.
	Radius float64 `yaml:"radius"`
	// Columns (missing_values, pmeter) names the dataset's columns whose values are missing: a
	// continuous column takes any value between its smallest and largest in the training pool, a one-hot
	// encoded categorical column (features named column=value) any of its categories in the pool.
	Columns []string `yaml:"columns"`
	// NumMissingFeats, ColRanges and IsCategorical (missing_values, Privacy Meter): the last k features
	// are missing, each uniform in its [low, high] (integers when categorical).
	NumMissingFeats int         `yaml:"num_missing_feats"`
	ColRanges       [][]float64 `yaml:"col_ranges"`
	IsCategorical   bool        `yaml:"is_categorical"`
	// Transformations (geometric): horizontal_flip, vertical_flip, rotate:DEGREES, shift:DX,DY.
	Transformations []string `yaml:"transformations"`
	// TrimRatio and TrimDirection fix the trimmed mean (direction none, top or bottom); without them it
	// is tuned on a reference model.
	TrimRatio     *float64 `yaml:"trim_ratio"`
	TrimDirection string   `yaml:"trim_direction"`
	// Compat privacy-meter reproduces Privacy Meter v2's run_range_mia.py (its per-sample RMIA, its trim
	// and the per-sample result it reports).
	Compat string `yaml:"compat"`
}

// wordReplaceRefusal says why range function word_replace is refused.
const wordReplaceRefusal = "word_replace needs a masked language model (Privacy Meter's mask_model, e.g. bert-base-uncased) to write each range's texts, which pmeter does not run: generate the neighbour texts yourself and audit their signals with package ramia (ramia.TextRanges, ramia.FromSignals, ramia.Audit)"

// rangeSpec is the range section, validated.
type rangeSpec struct {
	sampler     string
	size        int // 0: the sampler's default (geometric)
	radius      float64
	columns     []string
	lastK       int
	colRanges   [][2]float64
	categorical bool
	transforms  []ramia.Transform
	trim        *rangeTrim
	compat      attack.Compat
}

type rangeTrim struct {
	ratio float64
	dir   ramia.Direction
}

// parseRange validates the range section of a range_membership config into c.ranges. Errors name the
// line and the field.
func (c *Config) parseRange() error {
	r := c.Range
	if !c.present(c.rangeSection(), "sampler") && !c.present(c.rangeSection(), "range_function") {
		return c.fieldError("audit", "privacy_game", "%s needs a %s section with a %s (l2, missing_values or geometric)", rangeGame, c.rangeSection(), c.rangeSamplerField())
	}
	s := &rangeSpec{sampler: r.Sampler}
	switch {
	case r.Sampler != "" && r.RangeFunction != "":
		return c.fieldError(c.rangeSection(), "range_function", "give sampler or Privacy Meter's range_function, not both")
	case r.RangeFunction != "":
		s.sampler = r.RangeFunction
	}
	field := "sampler"
	if r.RangeFunction != "" {
		field = "range_function"
	}
	switch s.sampler {
	case "l2", "missing_values", "geometric":
	case "word_replace":
		return c.fieldError(c.rangeSection(), field, "%s", wordReplaceRefusal)
	default:
		return c.fieldError(c.rangeSection(), field, "unknown sampler %q (want l2, missing_values or geometric)", s.sampler)
	}
	sizeField := "size"
	if c.ramia != nil {
		sizeField = "sample_size"
	}
	switch {
	case c.present(c.rangeSection(), "size") && c.present(c.rangeSection(), "sample_size"):
		return c.fieldError(c.rangeSection(), "sample_size", "give size or Privacy Meter's sample_size, not both")
	case c.present(c.rangeSection(), "sample_size"):
		s.size, sizeField = r.SampleSize, "sample_size"
	case c.present(c.rangeSection(), "size"):
		s.size = r.Size
	case s.sampler != "geometric":
		return c.fieldError(c.rangeSection(), sizeField, "is required: the number of points sampled per range (e.g. 10)")
	}
	if c.present(c.rangeSection(), sizeField) && (s.size < 1 || s.size > 10_000) {
		return c.fieldError(c.rangeSection(), sizeField, "must lie in [1, 10000], got %d", s.size)
	}
	// Each sampler's own parameters, and none of the others'.
	own := map[string][]string{"l2": {"radius"}, "missing_values": {"columns", "num_missing_feats", "col_ranges", "is_categorical"}, "geometric": {"transformations"}}
	for sampler, fields := range own {
		if sampler == s.sampler {
			continue
		}
		for _, f := range fields {
			if c.present(c.rangeSection(), f) {
				return c.fieldError(c.rangeSection(), f, "applies to %s %s, not %s", c.rangeSamplerField(), sampler, s.sampler)
			}
		}
	}
	switch s.sampler {
	case "l2":
		if !c.present(c.rangeSection(), "radius") {
			return c.fieldError(c.rangeSection(), "radius", "is required for sampler l2 (the L2 distance of the range's points from its record)")
		}
		if s.radius = r.Radius; !(s.radius > 0) {
			return c.fieldError(c.rangeSection(), "radius", "must be a positive number, got %v", s.radius)
		}
	case "missing_values":
		if err := c.parseMissing(s); err != nil {
			return err
		}
	case "geometric":
		if len(r.Transformations) == 0 {
			return c.fieldError(c.rangeSection(), "transformations", "is required for sampler geometric (e.g. [horizontal_flip, rotate:15, shift:2,0])")
		}
		for i, t := range r.Transformations {
			tr, err := ramia.ParseTransform(t)
			if err != nil {
				return c.fieldError(c.rangeSection(), "transformations", "element %d: %v", i, err)
			}
			s.transforms = append(s.transforms, tr)
		}
		n := len(s.transforms)
		if s.size == 0 {
			s.size = n + 1
		}
		if s.size != n && s.size != n+1 {
			return c.fieldError(c.rangeSection(), sizeField, "is %d with %d transformations; want %d (the image and its transforms) or %d (the transforms alone)", s.size, n, n+1, n)
		}
	}
	if r.TrimRatio != nil {
		if !(*r.TrimRatio >= 0 && *r.TrimRatio <= 1) {
			return c.fieldError(c.rangeSection(), "trim_ratio", "must lie in [0, 1], got %v", *r.TrimRatio)
		}
		if r.TrimDirection == "" {
			return c.fieldError(c.rangeSection(), "trim_ratio", "needs trim_direction (none, top: drop the highest scores, bottom: drop the lowest)")
		}
	}
	if r.TrimDirection != "" {
		dir, err := ramia.ParseDirection(r.TrimDirection)
		if err != nil {
			return c.fieldError(c.rangeSection(), "trim_direction", "%v", err)
		}
		ratio := 0.0
		switch {
		case r.TrimRatio != nil:
			ratio = *r.TrimRatio
		case dir != ramia.TrimNone:
			return c.fieldError(c.rangeSection(), "trim_direction", "needs trim_ratio, the fraction of each range's scores to drop (leave both out to tune them)")
		}
		s.trim = &rangeTrim{ratio: ratio, dir: dir}
	}
	switch r.Compat {
	case "", string(attack.CompatNone):
		s.compat = attack.CompatNone
	case string(attack.CompatPrivacyMeter):
		s.compat = attack.CompatPrivacyMeter
		if c.Audit.Split != "pairs" {
			return c.fieldError(c.rangeSection(), "compat", "privacy-meter needs audit.split: pairs (Privacy Meter tunes on the target's paired model)")
		}
	default:
		return c.fieldError(c.rangeSection(), "compat", "unknown value %q (want none or privacy-meter)", r.Compat)
	}
	if s.trim != nil && s.size > 0 && s.compat != attack.CompatPrivacyMeter {
		if _, err := ramia.FixedTrim(s.trim.ratio, s.trim.dir, s.size, s.compat); err != nil {
			return c.fieldError(c.rangeSection(), "trim_ratio", "%v", err)
		}
	}
	if c.Audit.NumQueries != 1 {
		return c.fieldError("audit", "num_queries", "must be 1 with privacy_game %s: a range's sampled points are its queries", rangeGame)
	}
	c.ranges = s
	return nil
}

// parseMissing validates the parameters of sampler missing_values.
func (c *Config) parseMissing(s *rangeSpec) error {
	r := c.Range
	pm := c.present(c.rangeSection(), "num_missing_feats")
	switch {
	case len(r.Columns) > 0 && pm:
		return c.fieldError(c.rangeSection(), "columns", "give columns or Privacy Meter's num_missing_feats, not both")
	case len(r.Columns) > 0:
		if c.present(c.rangeSection(), "col_ranges") || c.present(c.rangeSection(), "is_categorical") {
			return c.fieldError(c.rangeSection(), "columns", "takes each column's values from the training pool; col_ranges and is_categorical go with num_missing_feats")
		}
		seen := map[string]bool{}
		for i, name := range r.Columns {
			if name == "" || seen[name] {
				return c.fieldError(c.rangeSection(), "columns", "element %d is empty or repeated", i)
			}
			seen[name] = true
		}
		s.columns = r.Columns
		return nil
	case !pm:
		return c.fieldError(c.rangeSection(), "columns", "sampler missing_values needs the missing columns: columns (names) or num_missing_feats with col_ranges")
	}
	if s.lastK = r.NumMissingFeats; s.lastK < 1 {
		return c.fieldError(c.rangeSection(), "num_missing_feats", "must be at least 1, got %d (Privacy Meter reads 0 as every feature)", s.lastK)
	}
	if len(r.ColRanges) != s.lastK {
		return c.fieldError(c.rangeSection(), "col_ranges", "has %d ranges; want one [low, high] per missing feature (%d)", len(r.ColRanges), s.lastK)
	}
	for i, cr := range r.ColRanges {
		if len(cr) != 2 || !(cr[0] <= cr[1]) {
			return c.fieldError(c.rangeSection(), "col_ranges", "element %d is %v; want [low, high] with low ≤ high", i, cr)
		}
		if r.IsCategorical && (cr[0] != math.Trunc(cr[0]) || cr[1] != math.Trunc(cr[1]) || cr[1]-cr[0] > 1<<16) {
			return c.fieldError(c.rangeSection(), "col_ranges", "element %d is %v; a categorical column's values are the integers from low to high (at most 65,537 of them)", i, cr)
		}
		s.colRanges = append(s.colRanges, [2]float64{cr[0], cr[1]})
	}
	s.categorical = r.IsCategorical
	return nil
}

// rangeAttack is the RMIA of a range game, as an attack entry: it also scores the audited records
// themselves (the record-level result beside the range-level one).
func (c *Config) rangeAttack() AttackConfig {
	p := map[string]string{"tune_offline_a": "true"}
	if c.Audit.OfflineA != nil {
		p = map[string]string{"offline_a": fmt.Sprint(*c.Audit.OfflineA)}
	}
	if c.Range.Compat == string(attack.CompatPrivacyMeter) {
		p["compat"] = c.Range.Compat
	}
	return AttackConfig{Name: "rmia", Params: p}
}

// sampler builds the sampler of the spec for the records of pool, and describes it.
func (s *rangeSpec) build(c *Config, pool *dataset.Dataset) (ramia.Sampler, string, error) {
	dim := pool.Dim()
	switch s.sampler {
	case "l2":
		l2, err := ramia.NewL2(s.radius, s.size, s.compat)
		return l2, fmt.Sprintf("l2 (radius %v)", s.radius), err
	case "geometric":
		g, err := ramia.NewGeometric(pool.Shape, s.transforms, s.size)
		if err != nil {
			return nil, "", c.fieldError(c.rangeSection(), c.rangeSamplerField(), "%v", err)
		}
		names := make([]string, len(s.transforms))
		for i, t := range s.transforms {
			names[i] = t.String()
		}
		incl := "the image included"
		if !g.IncludeCentre {
			incl = "the image itself not sampled"
		}
		return g, fmt.Sprintf("geometric (%s; %s)", strings.Join(names, ", "), incl), nil
	}
	var cols []ramia.MissingColumn
	if s.lastK > 0 {
		if s.lastK > dim {
			return nil, "", c.fieldError(c.rangeSection(), "num_missing_feats", "is %d, but records have %d features", s.lastK, dim)
		}
		for j, cr := range s.colRanges {
			f := dim - s.lastK + j
			col := ramia.MissingColumn{Name: fmt.Sprintf("feature %d", f), Features: []int{f}, Low: cr[0], High: cr[1]}
			if s.categorical {
				for v := cr[0]; v <= cr[1]; v++ {
					col.Values = append(col.Values, []float32{float32(v)})
				}
			}
			cols = append(cols, col)
		}
	} else {
		for i, name := range s.columns {
			col, err := poolColumn(pool, name)
			if err != nil {
				return nil, "", c.fieldError(c.rangeSection(), "columns", "element %d: %v", i, err)
			}
			cols = append(cols, col)
		}
	}
	m, err := ramia.NewMissing(cols, s.size, dim)
	if err != nil {
		return nil, "", c.fieldError(c.rangeSection(), c.rangeSamplerField(), "%v", err)
	}
	names := make([]string, len(cols))
	for i, col := range cols {
		names[i] = col.Name
	}
	return m, fmt.Sprintf("missing values (%s)", strings.Join(names, ", ")), nil
}

// poolColumn returns the missing column called name of the pool's features: the feature of that name
// (continuous: between its smallest and largest value in the pool), or the one-hot group of features
// named name=value (categorical: its distinct values in the pool).
func poolColumn(pool *dataset.Dataset, name string) (ramia.MissingColumn, error) {
	col := ramia.MissingColumn{Name: name}
	for j, f := range pool.FeatureNames {
		if f == name || strings.HasPrefix(f, name+"=") {
			col.Features = append(col.Features, j)
		}
	}
	if len(col.Features) == 0 {
		if len(pool.FeatureNames) == 0 {
			return col, fmt.Errorf("column %q: the dataset names no features; use num_missing_feats with col_ranges", name)
		}
		return col, fmt.Errorf("column %q is not among the dataset's columns (features %s)", name, strings.Join(firstN(pool.FeatureNames, 8), ", "))
	}
	d := pool.Dim()
	if len(col.Features) == 1 && pool.FeatureNames[col.Features[0]] == name {
		f := col.Features[0]
		col.Low, col.High = math.Inf(1), math.Inf(-1)
		for i := range pool.Len() {
			v := float64(pool.X[i*d+f])
			col.Low, col.High = min(col.Low, v), max(col.High, v)
		}
		return col, nil
	}
	seen := map[string]bool{}
	for i := range pool.Len() {
		v := make([]float32, len(col.Features))
		for k, f := range col.Features {
			v[k] = pool.X[i*d+f]
		}
		key := fmt.Sprint(v)
		if !seen[key] {
			seen[key] = true
			col.Values = append(col.Values, v)
		}
	}
	slices.SortFunc(col.Values, func(a, b []float32) int { return slices.Compare(b, a) })
	return col, nil
}

func firstN(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(slices.Clone(s[:n]), "…")
}

// runRanges is the range stage of a range_membership run: the range around every audited record,
// sampled; the ranges that contain another pool record left out; every model's signals on the sampled
// points (reused from the run directory when saved); RaMIA against every target.
func runRanges(ctx context.Context, c *Config, d *Data, p *Plan, data *attack.Data, opt Options) (*report.Ranges, error) {
	s := c.ranges
	sampler, desc, centres, err := prepareRanges(c, d, p)
	if err != nil {
		return nil, err
	}
	dim, size := d.Pool.Dim(), sampler.Size()
	// A range's membership is its record's only when it contains no other record a model may train on.
	inside, err := ramia.Contained(ctx, sampler, centres, d.Pool.X, dim, p.Audit)
	if err != nil {
		return nil, err
	}
	var kept []int // indices into p.Audit
	example := ""
	for i, in := range inside {
		if len(in) == 0 {
			kept = append(kept, i)
		} else if example == "" {
			example = fmt.Sprintf("the range around pool record %d contains pool record %d", p.Audit[i], in[0])
		}
	}
	if dropped := len(p.Audit) - len(kept); dropped > 0 {
		opt.logf("ranges: %d of %d ranges left out because they contain another pool record, so that their membership would not be their record's (%s)", dropped, len(p.Audit), example)
	}
	if len(kept) == 0 {
		return nil, fmt.Errorf("range: every range contains another pool record (%s); make the ranges smaller", example)
	}
	seed := uint64(c.Run.RandomSeed)
	points := make([]float32, 0, len(kept)*size*dim)
	labels := make([]int, 0, len(kept)*size)
	for _, i := range kept {
		r := p.Audit[i]
		if points, err = sampler.Sample(points, d.Pool.Row(r), ramia.NewDraws(derive(seed, fmt.Sprintf("range-%d", r)))); err != nil {
			return nil, fmt.Errorf("range: the range around pool record %d: %w", r, err)
		}
		for range size {
			labels = append(labels, d.Pool.Y[r])
		}
	}
	logits, err := rangeSignals(ctx, c, d, p, points, labels, opt)
	if err != nil {
		return nil, err
	}
	n, m := len(labels), p.Models
	rd := &attack.Data{N: n, M: m, Q: 1, Kind: signal.RescaledLogit, Signals: make([]float64, n*m), Members: make([]bool, 0, n*m),
		Design: data.Design, Z: data.Z, Population: data.Population}
	for _, i := range kept {
		for range size {
			rd.Members = append(rd.Members, data.Members[i*m:(i+1)*m]...)
		}
	}
	classes := d.Pool.Classes
	for j, l := range logits {
		l64 := make([]float64, len(l))
		for k, v := range l {
			l64[k] = float64(v)
		}
		phi, err := signal.FromLogits(signal.RescaledLogit, l64, classes, labels, signal.Options{Queries: 1})
		if err != nil {
			return nil, fmt.Errorf("range signals of model %d: %w", j, err)
		}
		for i, v := range phi {
			rd.Signals[i*m+j] = v
		}
	}
	ranges, err := ramia.NewRanges(rd, size)
	if err != nil {
		return nil, err
	}
	cfg := ramia.Config{RMIA: attack.RMIAConfig{NumRef: p.NumRef, Compat: s.compat}, TuneOfflineA: c.Audit.OfflineA == nil, Compat: s.compat}
	if c.Audit.OfflineA != nil {
		cfg.RMIA.OfflineA = *c.Audit.OfflineA
	}
	if s.trim != nil {
		t, err := ramia.FixedTrim(s.trim.ratio, s.trim.dir, size, s.compat)
		if err != nil {
			return nil, c.fieldError(c.rangeSection(), "trim_ratio", "%v", err)
		}
		cfg.Trim = &t
	}
	targets := make([]int, p.Targets)
	for t := range targets {
		targets[t] = t
	}
	res, err := ramia.Audit(ctx, ranges, targets, cfg)
	if err != nil {
		return nil, err
	}
	out := &report.Ranges{Sampler: desc, SamplesPerRange: size, Ranges: len(kept), Dropped: len(p.Audit) - len(kept),
		Reported: "range", Pooled: res.Pooled, PooledError: res.PooledError}
	if s.compat == attack.CompatPrivacyMeter {
		out.Compat, out.Reported = string(s.compat), "sample"
	}
	for _, t := range res.Targets {
		out.Targets = append(out.Targets, report.RangeTarget{Target: t.Target, TuningModel: t.TuningModel, OfflineA: t.OfflineA,
			TrimDirection: string(t.Trim.Direction), TrimRatio: t.Trim.Ratio, TrimKeep: t.Trim.Keep, Range: t.Range, RangeError: t.RangeError, Sample: t.Sample})
	}
	return out, nil
}

// prepareRanges builds the run's sampler, checks the range around every audited record, and returns the
// sampler, its description and the audited records (the ranges' centres, row after row). A run calls it
// before training too, so that a bad range section fails before any model is trained.
func prepareRanges(c *Config, d *Data, p *Plan) (ramia.Sampler, string, []float32, error) {
	sampler, desc, err := c.ranges.build(c, d.Pool)
	if err != nil {
		return nil, "", nil, err
	}
	centres := make([]float32, 0, len(p.Audit)*d.Pool.Dim())
	for i, r := range p.Audit {
		row := d.Pool.Row(r)
		if err := sampler.Check(row); err != nil {
			return nil, "", nil, fmt.Errorf("range: the range around audited record %d (pool record %d): %w", i, r, err)
		}
		centres = append(centres, row...)
	}
	return sampler, desc, centres, nil
}

// rangeSignals returns every model's logits on the sampled points (points × classes, model order): read
// from the run directory when a verified copy is saved, else computed from the model's saved weights
// (or its file, for an external model) and saved.
func rangeSignals(ctx context.Context, c *Config, d *Data, p *Plan, points []float32, labels []int, opt Options) ([][]float32, error) {
	x, err := nn.FromSlice(points, append([]int{len(labels)}, d.Pool.Shape...)...)
	if err != nil {
		return nil, err
	}
	key := hashFloats(points)
	out := make([][]float32, len(p.Jobs))
	bar := opt.bar(fmt.Sprintf("range signals of %d models", len(p.Jobs)), len(p.Jobs))
	defer bar.Finish()
	for _, j := range p.Jobs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		base := filepath.Join(c.Run.LogDir, "signals", j.SignalKey+"-range-"+key)
		if l, err := loadRangeSignals(base, len(labels)); err == nil {
			out[j.Model] = l
			bar.Add(1)
			continue
		} else if !errors.Is(err, os.ErrNotExist) {
			opt.logf("model %d: recomputing its range signals: %v", j.Model, err)
		}
		var m *nn.Sequential
		if em := p.external[j.Model]; em != nil {
			m = em.net
		} else if m, _, err = loadCached(weightsPath(c.Run.LogDir, j), nn.Expect{IndicesHash: nn.HashIndices(j.Train), InputShape: d.Pool.Shape, Layers: p.Specs}, opt); err != nil {
			return nil, fmt.Errorf("range signals of model %d need its saved weights: %w", j.Model, err)
		}
		o, err := nn.Evaluate(ctx, m, nn.Data{X: x, Labels: labels}, nn.EvalConfig{BatchSize: c.Audit.BatchSize})
		if err != nil {
			return nil, fmt.Errorf("range signals of model %d: %w", j.Model, err)
		}
		if err := saveRangeSignals(base, npy.NewFloat32(o.Logits.Data, len(labels), o.Logits.RowLen())); err != nil {
			return nil, err
		}
		out[j.Model] = o.Logits.Data
		bar.Add(1)
	}
	return out, nil
}

// rangeSignalFormat identifies the sidecar of a model's range signals.
const rangeSignalFormat = "pmeter.audit.range-signals/v1"

// rangeSidecar completes a model's range signal file (written after it), recording its SHA-256.
type rangeSidecar struct {
	Format string     `json:"format"`
	File   signalFile `json:"file"`
}

func saveRangeSignals(base string, a *npy.Array) error {
	f, err := writeSignalFile(base+".npy", a)
	if err != nil {
		return err
	}
	return writeJSON(base+".json", rangeSidecar{Format: rangeSignalFormat, File: f})
}

// loadRangeSignals reads a model's saved range signals, verified against their sidecar, for rows points.
func loadRangeSignals(base string, rows int) ([]float32, error) {
	b, err := os.ReadFile(base + ".json")
	if err != nil {
		return nil, err
	}
	var sc rangeSidecar
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil || sc.Format != rangeSignalFormat {
		return nil, fmt.Errorf("%s.json: damaged or of another format", base)
	}
	a, err := readSignalFile(base+".npy", sc.File)
	if err != nil {
		return nil, err
	}
	if len(a.Shape) != 2 || a.Shape[0] != rows {
		return nil, fmt.Errorf("%s.npy: shape %v, want %d rows", base, a.Shape, rows)
	}
	return a.F32, nil
}

// hashFloats hashes float32 values (the sampled points, which name their signal files).
func hashFloats(v []float32) string {
	h := sha256.New()
	var b [4]byte
	for _, x := range v {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil))[:20]
}

// writeRanges prints the range audit's table.
func writeRanges(w io.Writer, r *report.Ranges) {
	fmt.Fprintf(w, "\nrange membership: %s, %d points per range; %d ranges", r.Sampler, r.SamplesPerRange, r.Ranges)
	if r.Dropped > 0 {
		fmt.Fprintf(w, " (%d left out: they contain another pool record)", r.Dropped)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	io.WriteString(tw, "target\trange AUC\tTPR@10%FPR\tTPR@1%FPR\tTPR@0.1%FPR\tTPR@0%FPR\ttrimmed mean\toffline a\tper-sample AUC\n")
	row := func(name string, m *metric.Result, rest string) {
		if m == nil {
			fmt.Fprintf(tw, "%s\t–\t–\t–\t–\t–\t%s\n", name, rest)
			return
		}
		fmt.Fprintf(tw, "%s\t%.4f", name, m.AUC)
		for _, f := range []float64{0.1, 0.01, 0.001, 0} {
			if e, _ := m.Entry(f); e.BelowResolution {
				io.WriteString(tw, "\tbelow res.")
			} else {
				fmt.Fprintf(tw, "\t%.4f", e.TPR)
			}
		}
		fmt.Fprintf(tw, "\t%s\n", rest)
	}
	for _, t := range r.Targets {
		trim := fmt.Sprintf("%s %d of %d", t.TrimDirection, t.TrimKeep, r.SamplesPerRange)
		row(strconv.Itoa(t.Target), t.Range, fmt.Sprintf("%s\t%.2f\t%.4f", trim, t.OfflineA, t.Sample.AUC))
	}
	if r.Pooled != nil {
		row("pooled", r.Pooled, "\t\t")
	}
	tw.Flush()
	for _, t := range r.Targets {
		if t.RangeError != "" {
			fmt.Fprintf(w, "target %d: no range result: %s\n", t.Target, t.RangeError)
		}
	}
	if r.PooledError != "" {
		fmt.Fprintf(w, "no pooled range result: %s\n", r.PooledError)
	}
	if r.Reported == "sample" {
		fmt.Fprintln(w, "compat privacy-meter: Privacy Meter reports the per-sample AUC (last column) as RaMIA's result; the range AUC answers the question")
	}
}
