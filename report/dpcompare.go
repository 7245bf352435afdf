package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/pmeter/pmeter/metric"
)

// DP comparison: several runs' reports side by side (for example one model trained without DP-SGD and
// with DP-SGD at several ε), each run's claimed ε (the accountant's) next to the empirical lower bounds
// its audits proved. It reads what each run's summary.json holds; nothing is recomputed.

// DPRun is one run of a DP comparison: a name for it and its report's summary.
type DPRun struct {
	Name    string
	Summary *Summary
}

// DPCompareRow is one run of a DP comparison.
type DPCompareRow struct {
	Run string `json:"run"`
	// Claimed is the accountant's ε at Delta; nil when the run trained without DP-SGD (no claim: ε = ∞).
	Claimed         *float64 `json:"claimed_epsilon"`
	Delta           float64  `json:"delta"`
	NoiseMultiplier float64  `json:"noise_multiplier,omitempty"`
	Sampling        string   `json:"sampling,omitempty"`
	// Caveat says why the accountant does not analyse the run's training (shuffled batches).
	Caveat       string   `json:"caveat,omitempty"`
	TestAccuracy *float64 `json:"test_accuracy"`
	// Bounds are the run's ε lower bounds that are DP bounds (the DP games' audits, the attacks' holdout
	// bounds on independently drawn memberships); Best is the largest that holds for every mechanism
	// (f-DP bounds of the Gaussian family excluded), 0 without one.
	Bounds    []DPCompareBound `json:"bounds"`
	Best      float64          `json:"best_lower_bound"`
	BestName  string           `json:"best_audit,omitempty"`
	Violation bool             `json:"violation"` // the run's red flag
}

// DPCompareBound is one ε lower bound of a run.
type DPCompareBound struct {
	Audit    string  `json:"audit"`
	Method   string  `json:"method"`
	Value    float64 `json:"epsilon_lower_bound"`
	Alpha    float64 `json:"alpha"`
	Delta    float64 `json:"delta"`
	Gaussian bool    `json:"gaussian_family_only,omitempty"` // f-DP: holds within the Gaussian-DP family only
}

// CompareDP tabulates runs for a DP comparison, in the order given.
func CompareDP(runs []DPRun) ([]DPCompareRow, error) {
	var rows []DPCompareRow
	for _, r := range runs {
		s := r.Summary
		if s == nil {
			return nil, fmt.Errorf("report: DP comparison: run %q has no summary", r.Name)
		}
		row := DPCompareRow{Run: r.Name, Delta: s.Settings.EpsilonDelta, TestAccuracy: s.TargetModel.TestAccuracy, Bounds: []DPCompareBound{}}
		if d := s.DP; d != nil {
			e := d.Epsilon
			row.Claimed, row.Delta, row.NoiseMultiplier, row.Sampling, row.Caveat, row.Violation = &e, d.Delta, d.NoiseMultiplier, d.Sampling, d.Caveat, d.Violation
		}
		add := func(name string, b *metric.EpsilonBound) {
			g := b.Method == metric.FDPMethod // the Gaussian family only; one-run-fdp-approx holds for every mechanism
			row.Bounds = append(row.Bounds, DPCompareBound{Audit: name, Method: b.Method, Value: b.Value, Alpha: b.Alpha, Delta: b.Delta, Gaussian: g})
			if !g && b.Value > row.Best {
				row.Best, row.BestName = b.Value, name
			}
		}
		for _, a := range s.DPAudits {
			if a.Bound.DPBound {
				add(a.Name, &a.Bound)
			}
		}
		for _, a := range s.Attacks {
			if b := a.EpsilonLowerBound; b != nil && b.DPBound {
				add(a.Name+" (holdout)", b)
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func fmtClaim(r DPCompareRow) string {
	if r.Claimed == nil {
		return "∞ (no DP)"
	}
	return fmt.Sprintf("%.3g", *r.Claimed)
}

func fmtAcc(p *float64) string {
	if p == nil {
		return "–"
	}
	return fmt.Sprintf("%.3f", *p)
}

// WriteDPCompareText writes the comparison as a table: per run, the claimed ε, the test accuracy and
// each ε lower bound.
func WriteDPCompareText(w io.Writer, rows []DPCompareRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "run\tclaimed ε (accountant)\tσ\ttest acc.\tε lower bound (best)\taudit\tall bounds")
	for _, r := range rows {
		var all []string
		for _, b := range r.Bounds {
			s := fmt.Sprintf("%s %.3f", b.Audit, b.Value)
			if b.Gaussian {
				s += " (Gaussian-DP only)"
			}
			all = append(all, s)
		}
		sigma := "–"
		if r.Claimed != nil {
			sigma = fmt.Sprintf("%.4g", r.NoiseMultiplier)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.3f\t%s\t%s\n", r.Run, fmtClaim(r), sigma, fmtAcc(r.TestAccuracy), r.Best, r.BestName, strings.Join(all, "; "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rows {
		if r.Violation {
			fmt.Fprintf(w, "RED FLAG in %s: an audit lies above the accountant's ε: evidence of a bug in the DP training or its accounting.\n", r.Run)
		}
		if r.Caveat != "" {
			fmt.Fprintf(w, "%s: not the accountant's mechanism: %s.\n", r.Run, r.Caveat)
		}
	}
	if len(rows) > 0 {
		fmt.Fprintf(w, "Lower bounds hold with confidence 1 − α (α = %g) at δ = %g; an ε bound below the claim is consistent with it, one above it is a red flag.\n",
			firstAlpha(rows), rows[0].Delta)
	}
	return nil
}

func firstAlpha(rows []DPCompareRow) float64 {
	for _, r := range rows {
		for _, b := range r.Bounds {
			return b.Alpha
		}
	}
	return 0.05
}

// WriteDPCompareHTML writes the comparison as a self-contained page: the table and a chart of each run's
// claimed ε against its best lower bound.
func WriteDPCompareHTML(w io.Writer, rows []DPCompareRow) error {
	const width, height, left, bottom, top = 640, 320, 60, 50, 20
	hi := 1.0
	for _, r := range rows {
		hi = max(hi, r.Best)
		if r.Claimed != nil {
			hi = max(hi, *r.Claimed)
		}
	}
	hi = math.Ceil(hi*1.15 + 0.5)
	type bar struct {
		X, W, ClaimY, ClaimH, BestY, BestH float64
		Label, ClaimText, BestText         string
		Infinite                           bool
	}
	type tick struct {
		Y     float64
		Label string
	}
	plotH := float64(height - bottom - top)
	y := func(v float64) float64 { return float64(top) + plotH*(1-v/hi) }
	var bars []bar
	slot := float64(width-left-20) / float64(max(len(rows), 1))
	for i, r := range rows {
		b := bar{X: float64(left) + slot*float64(i) + slot*0.15, W: slot * 0.3, Label: r.Run, BestText: fmt.Sprintf("%.2f", r.Best)}
		if r.Claimed == nil {
			b.Infinite, b.ClaimY, b.ClaimH, b.ClaimText = true, float64(top), plotH, "∞"
		} else {
			b.ClaimY, b.ClaimH, b.ClaimText = y(*r.Claimed), plotH*(*r.Claimed)/hi, fmt.Sprintf("%.2f", *r.Claimed)
		}
		b.BestY, b.BestH = y(r.Best), plotH*r.Best/hi
		bars = append(bars, b)
	}
	var ticks []tick
	step := math.Max(1, math.Round(hi/5))
	for v := 0.0; v <= hi; v += step {
		ticks = append(ticks, tick{y(v), fmt.Sprintf("%g", v)})
	}
	var text strings.Builder
	if err := WriteDPCompareText(&text, rows); err != nil {
		return err
	}
	return dpCompareTemplate.Execute(w, map[string]any{"Rows": rows, "Bars": bars, "Ticks": ticks, "Width": width, "Height": height,
		"Left": left, "Base": height - bottom, "Right": width - 20, "Text": text.String(), "Claim": fmtClaim, "Acc": fmtAcc})
}

var dpCompareTemplate = template.Must(template.New("dpcompare").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>pmeter: DP training, claimed ε against audits</title>
<style>body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}.flag{color:#b00;font-weight:bold}pre{background:#f6f6f6;padding:1em;overflow:auto}</style></head>
<body><h1>Differential privacy: the accountant's ε against the audits' lower bounds</h1>
<p>Each run's claimed ε is the accountant's upper bound on the training's privacy loss (∞ without DP-SGD); the lower
bounds are what the run's audits proved with their stated confidence. A sound training has every lower bound below
its claim; the gap is the privacy the audits could not refute.</p>
<svg width="{{.Width}}" height="{{.Height}}" role="img" aria-label="claimed ε and best lower bound per run">
<line x1="{{.Left}}" y1="{{.Base}}" x2="{{.Right}}" y2="{{.Base}}" stroke="#333"/>
{{range .Ticks}}<line x1="{{$.Left}}" y1="{{.Y}}" x2="{{$.Right}}" y2="{{.Y}}" stroke="#eee"/><text x="{{$.Left}}" dx="-6" y="{{.Y}}" dy="4" text-anchor="end" font-size="11">{{.Label}}</text>
{{end}}{{range .Bars}}<rect x="{{.X}}" y="{{.ClaimY}}" width="{{.W}}" height="{{.ClaimH}}" fill="{{if .Infinite}}#ddd{{else}}#7aa6d8{{end}}"/>
<text x="{{.X}}" y="{{.ClaimY}}" dy="-3" font-size="11">claimed {{.ClaimText}}</text>
<rect x="{{.X}}" transform="translate({{.W}},0)" y="{{.BestY}}" width="{{.W}}" height="{{.BestH}}" fill="#e08a3c"/>
<text x="{{.X}}" transform="translate({{.W}},0)" y="{{.BestY}}" dy="-3" font-size="11">≥ {{.BestText}}</text>
<text x="{{.X}}" y="{{$.Base}}" dy="16" font-size="12">{{.Label}}</text>
{{end}}<text x="{{.Left}}" y="12" font-size="11">ε (nats): blue = claimed (accountant), orange = best lower bound (audits)</text>
</svg>
<table><tr><th>run</th><th>claimed ε</th><th>σ</th><th>sampling</th><th>test accuracy</th><th>best ε lower bound</th><th>all ε lower bounds</th></tr>
{{range .Rows}}<tr><td>{{.Run}}</td><td>{{call $.Claim .}}</td><td>{{if .Claimed}}{{printf "%.4g" .NoiseMultiplier}}{{else}}–{{end}}</td><td>{{.Sampling}}</td><td>{{call $.Acc .TestAccuracy}}</td>
<td>{{printf "%.3f" .Best}} {{.BestName}}{{if .Violation}} <span class="flag">RED FLAG: above the claim</span>{{end}}</td>
<td>{{range .Bounds}}{{.Audit}}: {{printf "%.3f" .Value}}{{if .Gaussian}} (Gaussian-DP family only){{end}}<br>{{end}}</td></tr>
{{end}}</table>
<pre>{{.Text}}</pre>
</body></html>
`))
