package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"math"
	"path/filepath"

	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/npy"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// LLMInput is what the language-model report shows: the per-attack table with the blind baselines, the
// ROC curves and the most exposed sequences. Package llm fills it (llm.ReportInput).
type LLMInput struct {
	Bundle    string
	Sequences int
	Mode      string // "pmeter's arithmetic" or "compat=mimir"
	// MimirNote describes MIMIR's conventions, shown above the table of the attacks with Mimir metrics.
	MimirNote string
	Attacks   []LLMAttack
	// Exposed are the sequences that the attack ExposedBy ranks highest, highest first; ExposedRule says
	// why that attack's are listed (the rule that chose it, llm.ReportInput), shown on the page.
	ExposedBy   string
	ExposedRule string
	Exposed     []LLMSequence
}

// LLMAttack is one row of the table (an attack, or a blind baseline when Blind).
type LLMAttack struct {
	Name, Paper string
	Blind       bool
	Metrics     metric.Result
	AUCCI       *metric.Interval // bootstrap interval, nil when not computed
	Epsilon     *metric.EpsilonBound
	Dropped     int
	Curve       metric.Curve
	// Mimir holds MIMIR's own metrics of the attack, under compat=mimir only.
	Mimir *LLMMimir
}

// LLMMimir are the metrics MIMIR reports for an attack (its conventions: TPR at FPR strictly below
// 1 % and 0.1 %, PR-AUC with the non-members as the positive class).
type LLMMimir struct {
	AUC   float64 `json:"auc"`
	TPR1  float64 `json:"tpr_at_fpr_below_1pct"`
	TPR01 float64 `json:"tpr_at_fpr_below_0_1pct"`
	PRAUC float64 `json:"pr_auc"`
}

// LLMSequence is one exposed sequence.
type LLMSequence struct {
	Index  int
	Member *bool
	Score  float64
	Text   string // "" when the bundle has no texts
}

// WriteLLM writes the language-model report, dir/llm.html, atomically.
func WriteLLM(dir string, in *LLMInput) error {
	var attacks []LLMAttack
	for _, a := range in.Attacks {
		if !a.Blind {
			attacks = append(attacks, a)
		}
	}
	roc, err := llmROC(in.Attacks)
	if err != nil {
		return fmt.Errorf("report: ROC figure: %w", err)
	}
	blindBest := math.NaN()
	for _, a := range in.Attacks {
		if a.Blind {
			blindBest = math.Max(blindBest, math.Max(a.Metrics.AUC, 1-a.Metrics.AUC))
			if math.IsNaN(blindBest) {
				blindBest = math.Max(a.Metrics.AUC, 1-a.Metrics.AUC)
			}
		}
	}
	var mimirRows []LLMAttack
	for _, a := range attacks {
		if a.Mimir != nil {
			mimirRows = append(mimirRows, a)
		}
	}
	var shifted []string
	for _, a := range attacks {
		lo := a.Metrics.AUC
		if a.AUCCI != nil {
			lo = a.AUCCI.Lo
		}
		if !math.IsNaN(blindBest) && lo <= blindBest {
			shifted = append(shifted, a.Name)
		}
	}
	page := struct {
		*LLMInput
		ROC       template.HTML
		BlindBest float64
		Shifted   []string
		MimirRows []LLMAttack
	}{in, inlineSVG(roc, "ROC curves of the language-model attacks"), blindBest, shifted, mimirRows}
	return npy.WriteAtomic(filepath.Join(dir, "llm.html"), func(w io.Writer) error {
		return llmTemplate.Execute(w, page)
	})
}

func llmROC(attacks []LLMAttack) ([]byte, error) {
	p := newPlot("ROC curves", "False positive rate", "True positive rate")
	p.X.Tick.Marker, p.Y.Tick.Marker = percentTicks{}, percentTicks{}
	p.X.Min, p.Y.Min, p.X.Max, p.Y.Max = 0, 0, 1, 1
	chance, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	if err != nil {
		return nil, err
	}
	chance.LineStyle = chanceStyle
	p.Add(chance)
	for k, a := range attacks {
		xys := thin(a.Curve.FPR, a.Curve.TPR, 0.0025, identity)
		if len(xys) == 0 {
			continue
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		line.LineStyle = seriesStyle(k)
		p.Add(line)
		p.Legend.Add(fmt.Sprintf("%s (AUC %.3f)", a.Name, a.Metrics.AUC), line)
	}
	p.Legend.Add("chance", chance)
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.ThumbnailWidth = vg.Points(22)
	return renderSVG(p, 6*vg.Inch, 4.5*vg.Inch)
}

var llmTemplate = template.Must(template.New("llm").Funcs(template.FuncMap{
	"f3": func(x float64) string {
		if math.IsNaN(x) {
			return "—"
		}
		return fmt.Sprintf("%.3f", x)
	},
	"tpr": func(r metric.Result, f float64) string {
		e, ok := r.Entry(f)
		switch {
		case !ok:
			return "—"
		case e.BelowResolution:
			return "below resolution"
		}
		return fmt.Sprintf("%.1f %%", 100*e.TPR)
	},
	"member": func(m *bool) string {
		switch {
		case m == nil:
			return "?"
		case *m:
			return "member"
		}
		return "non-member"
	},
	"add1": func(i int) int { return i + 1 },
	"join": func(s []string) string {
		var b bytes.Buffer
		for i, x := range s {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(x)
		}
		return b.String()
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>pmeter: language-model membership audit</title>
<style>body{font-family:Liberation Sans,Arial,sans-serif;max-width:1000px;margin:2em auto;color:#222}
table{border-collapse:collapse}td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}
td:first-child,th:first-child{text-align:left}tr.blind{color:#555;font-style:italic}.warn{background:#fff3cd;padding:8px}
td.text{text-align:left;font-family:Liberation Mono,monospace;font-size:90%;max-width:600px;overflow-wrap:anywhere}</style></head>
<body><h1>Language-model membership audit</h1>
<p>{{.Sequences}} sequences from <code>{{.Bundle}}</code>, {{.Mode}}. Scores: higher = more likely a member.</p>
<h2>Attacks</h2>
<table><tr><th>attack</th><th>AUC</th><th>95 % CI</th><th>TPR at 1 % FPR</th><th>TPR at 0.1 % FPR</th><th>ε bound</th><th>left out</th><th>paper</th></tr>
{{range .Attacks}}<tr{{if .Blind}} class="blind"{{end}}><td>{{.Name}}</td><td>{{f3 .Metrics.AUC}}</td><td>{{with .AUCCI}}[{{f3 .Lo}}, {{f3 .Hi}}]{{end}}</td>
<td>{{tpr .Metrics 0.01}}</td><td>{{tpr .Metrics 0.001}}</td><td>{{with .Epsilon}}{{f3 .Value}}{{else}}—{{end}}</td><td>{{.Dropped}}</td><td>{{.Paper}}</td></tr>
{{end}}</table>
<p>Rows in italics are <b>blind baselines</b>: they never see the model, only the texts' lengths and tokens.
The main threat to an LLM membership result is a distribution shift between the member and non-member texts
(other dates or sources): an attack that does no better than the blind baselines measures that shift, not the model's memory.</p>
{{if .Shifted}}<p class="warn">The AUC of {{join .Shifted}} is not above the best blind baseline ({{f3 .BlindBest}}, or its mirror):
their results are explained by the texts alone.</p>{{end}}
<p>The ε bounds are holdout Clopper–Pearson bounds (α as stated in llm_metrics.json); member and non-member texts of an LLM audit are
rarely drawn at random from one population, so they measure separation of these texts, not the training algorithm's ε.</p>
{{if .MimirRows}}<h2>MIMIR's metrics (compat=mimir)</h2>
<table><tr><th>attack</th><th>AUC</th><th>TPR at FPR &lt; 1 %</th><th>TPR at FPR &lt; 0.1 %</th><th>PR-AUC</th></tr>
{{range .MimirRows}}<tr><td>{{.Name}}</td><td>{{f3 .Mimir.AUC}}</td><td>{{f3 .Mimir.TPR1}}</td><td>{{f3 .Mimir.TPR01}}</td><td>{{f3 .Mimir.PRAUC}}</td></tr>
{{end}}</table>
<p>{{.MimirNote}}.</p>{{end}}
<h2>ROC curves</h2>
{{.ROC}}
<h2>Most exposed sequences{{with .ExposedBy}} ({{.}}){{end}}</h2>
{{if .ExposedBy}}{{with .ExposedRule}}<p>The sequences that {{$.ExposedBy}} ranks highest: {{.}}.</p>{{end}}
<table><tr><th>rank</th><th>sequence</th><th>truth</th><th>score</th><th>text</th></tr>
{{range $i, $s := .Exposed}}<tr><td>{{add1 $i}}</td><td>{{$s.Index}}</td><td>{{member $s.Member}}</td><td>{{printf "%.4g" $s.Score}}</td><td class="text">{{$s.Text}}</td></tr>
{{end}}</table>{{else}}<p>No attack scored any sequence.</p>{{end}}
</body></html>
`))
