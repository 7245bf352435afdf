package audit

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/report"
)

// audit.slices: who is at risk. The entry "outliers" is the records farthest from their class (see
// outliers). Each listed column splits the audited records into slices: a
// categorical column (one-hot features "column=value") one slice per value, the records whose indicator
// is set (above 0 after standardisation); a numeric column (a feature named as the column) its quartiles
// over the training pool. Every attack's scores, pooled over targets, are evaluated on each slice —
// AUC and TPR at 1 % FPR with percentile bootstrap intervals (metric.Bootstrap) — and the slice's AUC is
// compared with its complement's (metric.CompareSlice, one-sided, DeLong standard errors), Holm-adjusted
// over the attack's slices (metric.Holm); a slice significantly above its complement at α = 0.05 is
// flagged at risk. A slice with fewer than audit.slice_min_size members or non-members (default 20) is
// listed without statistics.

const (
	sliceAlpha        = 0.05
	sliceLevel        = 0.95
	sliceResamples    = 300
	defaultSliceMinIn = 20
)

// sliceDef is one slice: a column, a value and which audited records it holds.
type sliceDef struct {
	column, value string
	in            []bool // per audited record
}

// outlierSlice is the slices entry of the outliers, which any data set has.
const outlierSlice = "outliers"

// outliers returns the slice of the audited records farthest from their class: the Euclidean distance
// from the record's features (standardised for tabular data, pixel values for images) to the mean of its
// class over the training pool, the top 10 % of the pool's distances (the record's own class mean
// includes it, as a model's training data would). Regression data have one class: the pool's mean.
func outliers(d *Data, p *Plan) sliceDef {
	pool := d.Pool
	dim, k := pool.Dim(), max(pool.Classes, 1)
	mean := make([]float64, k*dim)
	count := make([]int, k)
	for i, y := range pool.Y {
		count[y]++
		for j, v := range pool.Row(i) {
			mean[y*dim+j] += float64(v)
		}
	}
	for y := 0; y < k; y++ {
		for j := 0; j < dim; j++ {
			mean[y*dim+j] /= float64(max(count[y], 1))
		}
	}
	dist := func(i int) float64 {
		y, s := pool.Y[i], 0.0
		for j, v := range pool.Row(i) {
			e := float64(v) - mean[y*dim+j]
			s += e * e
		}
		return math.Sqrt(s)
	}
	all := make([]float64, pool.Len())
	for i := range all {
		all[i] = dist(i)
	}
	cut := slices.Clone(all)
	slices.Sort(cut)
	threshold := cut[min(len(cut)-1, int(0.9*float64(len(cut))))]
	s := sliceDef{column: outlierSlice, value: "top 10% distance to class mean", in: make([]bool, len(p.Audit))}
	for i, r := range p.Audit {
		s.in[i] = all[r] >= threshold
	}
	return s
}

// sliceDefs returns the slices of the listed columns over the audited records.
func (c *Config) sliceDefs(d *Data, p *Plan) ([]sliceDef, error) {
	names := d.Pool.FeatureNames
	dim := d.Pool.Dim()
	var out []sliceDef
	for _, col := range c.Audit.Slices {
		if col == outlierSlice {
			out = append(out, outliers(d, p))
			continue
		}
		if len(d.Pool.Shape) != 1 || names == nil {
			return nil, fmt.Errorf("audit.slices: dataset %s has no named columns (column slices need tabular data: csv, parquet or adult; %q works on any)", c.Data.Dataset, outlierSlice)
		}
		if j := slices.Index(names, col); j >= 0 { // numeric: quartiles of the pool
			vals := make([]float64, d.Pool.Len())
			for i := range vals {
				vals[i] = float64(d.Pool.X[i*dim+j])
			}
			slices.Sort(vals)
			q := func(f float64) float64 { return vals[min(len(vals)-1, int(f*float64(len(vals))))] }
			edges := []float64{math.Inf(-1), q(0.25), q(0.5), q(0.75), math.Inf(1)}
			for k := 0; k < 4; k++ {
				if edges[k] == edges[k+1] {
					continue // a tied quartile: merged into the next
				}
				s := sliceDef{column: col, value: fmt.Sprintf("quartile %d", k+1), in: make([]bool, len(p.Audit))}
				for i, r := range p.Audit {
					v := float64(d.Pool.X[r*dim+j])
					s.in[i] = v > edges[k] && v <= edges[k+1]
				}
				out = append(out, s)
			}
			continue
		}
		found := false
		for j, n := range names {
			value, ok := strings.CutPrefix(n, col+"=")
			if !ok {
				continue
			}
			found = true
			s := sliceDef{column: col, value: value, in: make([]bool, len(p.Audit))}
			for i, r := range p.Audit {
				s.in[i] = d.Pool.X[r*dim+j] > 0
			}
			out = append(out, s)
		}
		if !found {
			return nil, fmt.Errorf("audit.slices: dataset %s has no column %q (numeric feature, or one-hot features %q)", c.Data.Dataset, col, col+"=…")
		}
	}
	return out, nil
}

// runSlices evaluates every attack result of res on every slice.
func runSlices(ctx context.Context, c *Config, d *Data, p *Plan, res *Result) ([]report.Slice, error) {
	defs, err := c.sliceDefs(d, p)
	if err != nil {
		return nil, err
	}
	minIn := c.Audit.SliceMinSize
	if minIn == 0 {
		minIn = defaultSliceMinIn
	}
	var out []report.Slice
	for _, a := range res.Attacks {
		var scores []float64
		var members []bool
		for t, s := range a.Scores {
			scores = append(scores, s...)
			members = append(members, res.Members[t]...)
		}
		var rows []report.Slice
		var ps []float64
		for _, def := range defs {
			s := report.Slice{Attack: a.Label, Column: def.column, Value: def.value, Level: sliceLevel, Alpha: sliceAlpha}
			in := make([]bool, len(scores))
			var ss []float64
			var sm []bool
			for k := range scores {
				in[k] = def.in[k%len(def.in)]
				if in[k] {
					ss, sm = append(ss, scores[k]), append(sm, members[k])
					if members[k] {
						s.Members++
					} else {
						s.NonMembers++
					}
				}
			}
			s.Records = len(ss)
			p := math.NaN()
			if s.Members < minIn || s.NonMembers < minIn {
				s.Note = fmt.Sprintf("too small (fewer than %d members or non-members)", minIn)
			} else {
				r, err := metric.Evaluate(ss, sm)
				if err != nil {
					return nil, fmt.Errorf("slice %s = %s: %w", def.column, def.value, err)
				}
				b, err := metric.Bootstrap(ctx, ss, sm, metric.BootstrapOptions{Resamples: sliceResamples, Level: sliceLevel})
				if err != nil {
					return nil, fmt.Errorf("slice %s = %s: %w", def.column, def.value, err)
				}
				s.AUC = &report.Estimate{Value: report.Float(r.AUC), Lo: report.Float(b.AUC.Lo), Hi: report.Float(b.AUC.Hi)}
				if e, ok := r.Entry(0.01); ok && !e.BelowResolution {
					s.TPR1 = &report.Estimate{Value: report.Float(e.TPR)}
					for _, iv := range b.TPRAtFPR {
						if iv.FPR == 0.01 {
							s.TPR1.Lo, s.TPR1.Hi = report.Float(iv.Lo), report.Float(iv.Hi)
						}
					}
				}
				if cmpRes, err := metric.CompareSlice(scores, members, in); err == nil {
					s.ComplementAUC, s.P = report.Float(cmpRes.ComplementAUC), report.Float(cmpRes.P)
					p = cmpRes.P
				} else {
					s.Note = err.Error()
				}
			}
			rows = append(rows, s)
			ps = append(ps, p)
		}
		rej, adj := metric.Holm(ps, sliceAlpha)
		for k := range rows {
			if !math.IsNaN(adj[k]) {
				rows[k].PHolm = report.Float(adj[k])
			}
			rows[k].AtRisk = rej[k]
		}
		out = append(out, rows...)
	}
	return out, nil
}

// validateSlices checks audit.slices and audit.slice_min_size.
func (c *Config) validateSlices() error {
	if c.Audit.SliceMinSize < 0 {
		return c.fieldError("audit", "slice_min_size", "must be 0 (the default, %d) or a positive count, got %d", defaultSliceMinIn, c.Audit.SliceMinSize)
	}
	if len(c.Audit.Slices) == 0 {
		return nil
	}
	switch c.Audit.PrivacyGame {
	case "privacy_loss_model", "avg_privacy_loss_training_algo":
	default:
		return c.fieldError("audit", "slices", "applies to privacy_game privacy_loss_model and avg_privacy_loss_training_algo, not %s", c.Audit.PrivacyGame)
	}
	for k, s := range c.Audit.Slices {
		if strings.TrimSpace(s) == "" {
			return c.fieldError("audit", "slices", "entry %d is an empty column name", k+1)
		}
		if slices.Contains(c.Audit.Slices[:k], s) {
			return c.fieldError("audit", "slices", "lists column %q twice", s)
		}
	}
	return nil
}

// writeSlices prints the slices at risk.
func writeSlices(w io.Writer, ss []report.Slice) {
	n := 0
	for _, s := range ss {
		if s.AtRisk {
			fmt.Fprintf(w, "at risk: %s on %s = %s (%d records): AUC %.4f against %.4f on the rest, Holm-adjusted p %.3g\n",
				s.Attack, s.Column, s.Value, s.Records, *s.AUC.Value, *s.ComplementAUC, *s.PHolm)
			n++
		}
	}
	if n == 0 {
		fmt.Fprintf(w, "slices: no subgroup's AUC is significantly above the rest's (%d attack × slice pairs, Holm at α = %v per attack)\n", len(ss), sliceAlpha)
	}
}
