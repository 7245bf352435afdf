package report

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/pmeter/pmeter/metric"
)

//go:embed template.html
var pageTemplate string

// page is what template.html renders.
type page struct {
	Title      string
	Subtitle   []string
	Level      string // CSS class suffix and Verdict.Level
	LevelLabel string
	Headline   string
	Paragraphs []string
	Figures    []keyFigure

	ConfLevel  string // "95%"
	Resamples  string
	FPRHeads   []string
	AttackRows []attackRow
	Evaluated  bool
	Delta      string // δ of the ε bounds, "1e-5"
	// EpsCaveat says why the ε column holds no DP bound ("" when it does): the caveat of the pooled bounds.
	EpsCaveat string
	// BelowRes is set when some TPR is below resolution; NonMembers is then the number of non-members.
	BelowRes   bool
	NonMembers string

	ROC, ROCLog *pageFigure
	Hists       []*pageFigure
	ClassFig    *pageFigure

	RankedBy    string
	TopMembers  bool // the top records are members (memberships known)
	TopRecords  []topView
	HasImages   bool
	HasFeatures bool
	// FeatureHeads names the feature columns when every shown record has at most maxFeatures features
	// (shown in their own order); otherwise each record lists its most unusual values.
	FeatureHeads []string

	ClassAttacks []string
	Classes      []classRow
	ManyClasses  bool
	ClassMargin  string

	Targets       int
	TargetAttacks []string
	TargetRows    []targetRow

	Setup  []kv
	Params []kv

	Fit *fitView // the target against its reference models; nil when the input has no comparison

	DP       *dpView      // the audits against the training's DP claim; nil without one
	DPAudits []dpAuditRow // the DP audit games' bounds
	Ranges   *rangesView  // the range membership audit; nil without one
	Access   *accessView  // attacks against the level of model access; nil without levels
	Slices   *slicesView  // attacks on subgroups; nil without slices
	Users    *usersView   // attacks at user level; nil without users

	Notes      []noteView
	Alpha      string
	Confidence string
	RiskConf   string // confidence of each risk statistic, "99.6%"
	Attacks    int
	LevelRules []string
	References []reference
	Ref        map[string]int
	Files      []string
}

type keyFigure struct{ Label, Value, Note string }

type cell struct {
	Value, CI string
	Best      bool
}

type attackRow struct {
	Name, Description, Color, Signal string
	Strongest                        bool
	AUC, BalAcc                      cell
	TPR                              []cell
	Eps                              string
	Level                            string
}

type pageFigure struct {
	ID, Title, Caption string
	SVG                template.HTML
	File               string // plots/NAME, without extension
}

type topView struct {
	Rank, ID, Target, Class, Member, Score, FPR string
	Image                                       template.URL
	Features                                    []featureView
}

type classRow struct {
	Name                         string
	Records, Members, NonMembers string
	AUC                          []cell // Best: notably above the attack's overall AUC
}

type targetRow struct {
	Target string
	Cells  []string // per attack: "AUC / TPR@1%"
}

type kv struct{ Key, Value string }

type noteView struct {
	Names       []string
	Title, Text string
	Refs        []int
	Configured  []string // the attacks' own descriptions
}

// writeHTML renders the report page.
func writeHTML(w io.Writer, a *analysis, figs map[string]*figure, histNames []string, files []string) error {
	tmpl, err := template.New("report").Parse(pageTemplate)
	if err != nil {
		return fmt.Errorf("parse template: %w", err)
	}
	p, err := a.page(figs, histNames, files)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, p); err != nil {
		return fmt.Errorf("render html: %w", err)
	}
	_, err = w.Write(b.Bytes())
	return err
}

func (a *analysis) page(figs map[string]*figure, histNames []string, files []string) (*page, error) {
	s, in := a.summary, a.in
	p := &page{
		Title:      s.Title,
		Level:      s.Verdict.Level,
		LevelLabel: levelLabel(s.Verdict.Level),
		Headline:   s.Verdict.Headline,
		Paragraphs: strings.Split(s.Verdict.Text, "\n\n"),
		ConfLevel:  rate(s.Settings.ConfidenceLevel),
		Resamples:  thousands(s.Settings.BootstrapResamples),
		Evaluated:  a.strongest >= 0,
		RankedBy:   s.Settings.RankedBy,
		Targets:    s.Targets,
		Alpha:      fixed(a.opts.Alpha, 2),
		Confidence: rate(1 - a.opts.Alpha),
		RiskConf:   rate(1 - a.riskAlpha/2),
		Attacks:    len(in.Attacks),
		Delta:      metric.FormatDelta(a.opts.Delta),
		References: references,
		Ref:        map[string]int{},
		Files:      files,
	}
	for _, r := range references {
		p.Ref[r.Key] = refNumber(r.Key)
	}
	for _, x := range []string{in.Dataset, in.Model} {
		if x != "" {
			p.Subtitle = append(p.Subtitle, x)
		}
	}
	p.Subtitle = append(p.Subtitle, thousands(s.Records.Total)+" records")
	if s.Targets > 1 {
		p.Subtitle = append(p.Subtitle, fmt.Sprintf("%d target models", s.Targets))
	}
	if s.Created != "" {
		p.Subtitle = append(p.Subtitle, in.Created.UTC().Format("2 January 2006 15:04 UTC"))
	}

	// Key figures.
	if a.strongest >= 0 {
		as := s.Attacks[a.strongest]
		p.Figures = append(p.Figures, keyFigure{"Strongest attack", as.Name, levelLabel(a.attacks[a.strongest].level())})
		p.Figures = append(p.Figures, keyFigure{"AUC", f3(val(as.AUC.Value)), "0.5 = guessing"})
		if f, _, ok := quotedFPRs(as.NonMembers); ok { // the smallest FPR the verdict quotes, never one below resolution
			p.Figures = append(p.Figures, keyFigure{"Members identified", pct(tprOf(as, f)), "at " + rate(f) + " false positives"})
		}
		switch v := s.Verdict; {
		case v.Epsilon == nil:
		case !v.EpsilonDPBound:
			p.Figures = append(p.Figures, keyFigure{"ε lower bound", "n/a", "not a DP bound (see below)"})
		default:
			p.Figures = append(p.Figures, keyFigure{"ε lower bound", "≥ " + sig3(*v.Epsilon), "δ = " + p.Delta + ", " + p.Confidence + " confidence"})
		}
	}
	if tm := s.TargetModel; tm.TrainAccuracy != nil && tm.TestAccuracy != nil {
		p.Figures = append(p.Figures, keyFigure{"Train / test accuracy", pct(*tm.TrainAccuracy) + " / " + pct(*tm.TestAccuracy),
			"gap " + f1(100*val(tm.GeneralizationGap)) + " points"})
	} else if r := tm.Regression; r != nil && r.TrainMSE != nil && r.TestMSE != nil {
		p.Figures = append(p.Figures, keyFigure{"Train / test MSE", f3(*r.TrainMSE) + " / " + f3(*r.TestMSE),
			"R² " + optF3(r.TrainR2) + " / " + optF3(r.TestR2) + ", standardised target"})
	}

	// Attack table.
	shown := tableFPRs()
	for _, f := range shown {
		p.FPRHeads = append(p.FPRHeads, rate(f))
	}
	best := map[int]float64{} // column → best value
	for _, as := range s.Attacks {
		for c, f := range shown {
			if v := tprOf(as, f); !math.IsNaN(v) {
				best[c] = math.Max(best[c], v)
			}
		}
		best[-1] = math.Max(best[-1], val(as.AUC.Value))
	}
	for k, as := range s.Attacks {
		row := attackRow{
			Name: as.Name, Description: as.Description, Signal: as.Signal,
			Color:     colorHex(k),
			Strongest: k == a.strongest,
			Level:     levelLabel(a.attacks[k].level()),
		}
		row.AUC = estimateCell(as.AUC, f3)
		row.AUC.Best = a.strongest >= 0 && val(as.AUC.Value) == best[-1]
		row.BalAcc = estimateCell(as.BalancedAccuracy, pct)
		for c, f := range shown {
			var t TPREstimate
			for _, x := range as.TPRAtFPR {
				if x.FPR == f {
					t = x
				}
			}
			cl := estimateCell(Estimate{Value: t.TPR, Lo: t.Lo, Hi: t.Hi}, pct)
			cl.Best = t.TPR != nil && *t.TPR == best[c] && best[c] > 0
			if t.BelowResolution {
				cl = cell{Value: belowRes}
				p.BelowRes, p.NonMembers = true, thousands(as.NonMembers)
			}
			row.TPR = append(row.TPR, cl)
		}
		row.Eps = epsCell(as.EpsilonLowerBound)
		if e := as.EpsilonLowerBound; e != nil && !e.DPBound {
			p.EpsCaveat = e.Caveat
		}
		p.AttackRows = append(p.AttackRows, row)
	}

	// Figures.
	inline := func(name, id, caption string) *pageFigure {
		f := figs[name]
		if f == nil {
			return nil
		}
		return &pageFigure{ID: id, Title: f.Title, Caption: caption + f.Caption, SVG: inlineSVG(f.SVG, f.Title), File: "plots/" + name}
	}
	p.ROC = inline("roc", "fig-roc", "")
	p.ROCLog = inline("roc_log", "fig-roc-log", "")
	for _, h := range histNames {
		p.Hists = append(p.Hists, inline(h, "fig-"+h, ""))
	}
	p.ClassFig = inline("per_class", "fig-per-class", "")
	p.Access = accessPage(s, inline("access", "fig-access", ""))
	p.DP, p.DPAudits = a.dpPage(inline)

	// Most vulnerable records.
	p.TopMembers = s.Records.Members > 0
	feats := featureViews(in, a.top)
	for q, i := range a.top {
		r, t := in.Records[i], s.TopRecords[q]
		v := topView{
			Rank: thousands(t.Rank), ID: fmt.Sprint(r.ID), Target: fmt.Sprint(r.Target), Class: in.className(r.Label),
			Member: memberText(r.Member), Score: scoreText(float64(t.Score)), FPR: "–",
		}
		if t.FPR != nil {
			v.FPR = pct(*t.FPR)
		}
		if r.Image != nil {
			uri, err := imageDataURI(r.Image, in.ImageShape)
			if err != nil {
				return nil, fmt.Errorf("record %d (id %d): %w", i, r.ID, err)
			}
			v.Image = uri
			p.HasImages = true
		}
		if feats != nil && feats[q] != nil {
			v.Features = feats[q]
			p.HasFeatures = true
		}
		p.TopRecords = append(p.TopRecords, v)
	}

	if p.HasFeatures {
		d := 0
		for _, i := range a.top {
			d = max(d, len(in.Records[i].Features))
		}
		if d <= maxFeatures {
			for j := range d {
				p.FeatureHeads = append(p.FeatureHeads, in.featureName(j))
			}
			for q := range p.TopRecords {
				for len(p.TopRecords[q].Features) < d {
					p.TopRecords[q].Features = append(p.TopRecords[q].Features, featureView{Value: "–"})
				}
			}
		}
	}

	// Per-class and per-target tables.
	for _, at := range in.Attacks {
		p.ClassAttacks = append(p.ClassAttacks, at.Name)
	}
	for _, c := range s.Classes {
		row := classRow{Name: c.Name, Records: thousands(c.Records), Members: thousands(c.Members), NonMembers: thousands(c.NonMembers)}
		for k, at := range in.Attacks {
			v := val(c.AUC[at.Name])
			row.AUC = append(row.AUC, cell{Value: f3(v), Best: v >= val(s.Attacks[k].AUC.Value)+classMargin})
		}
		p.Classes = append(p.Classes, row)
	}
	p.ManyClasses = len(p.Classes) > 20
	p.ClassMargin = f2(classMargin)
	if s.Targets > 1 {
		p.TargetAttacks = p.ClassAttacks
		for t := 0; t < s.Targets; t++ {
			row := targetRow{Target: fmt.Sprint(t)}
			for _, as := range s.Attacks {
				if t < len(as.PerTarget) {
					pt := as.PerTarget[t]
					tpr := pct(val(pt.TPRAt1))
					if pt.TPRAt1BelowResolution {
						tpr = belowRes
					}
					row.Cells = append(row.Cells, f3(val(pt.AUC))+" / "+tpr+" / "+epsCell(pt.EpsilonLowerBound))
				} else {
					row.Cells = append(row.Cells, "–")
				}
			}
			p.TargetRows = append(p.TargetRows, row)
		}
	}

	// Audit setup and parameters.
	p.Setup = a.setup()
	p.Params = flattenParams(in.Params)
	p.Fit = a.fitView(figs)
	p.Ranges = a.rangesView()
	p.Slices = a.slicesView()
	p.Users = a.usersView()

	// Method notes: one per attack family present, in order of first appearance.
	seen := map[string]int{}
	for _, at := range in.Attacks {
		n, ok := noteFor(at.Name)
		if !ok {
			p.Notes = append(p.Notes, noteView{Title: at.Name, Text: orDefault(at.Description, "No description was given for this attack.")})
			continue
		}
		j, ok := seen[n.prefix]
		if !ok {
			j = len(p.Notes)
			seen[n.prefix] = j
			nv := noteView{Title: n.title, Text: n.text}
			for _, k := range n.refKeys {
				nv.Refs = append(nv.Refs, refNumber(k))
			}
			p.Notes = append(p.Notes, nv)
		}
		p.Notes[j].Names = append(p.Notes[j].Names, at.Name)
		if at.Description != "" {
			p.Notes[j].Configured = append(p.Notes[j].Configured, at.Name+" — "+at.Description+".")
		}
	}
	p.LevelRules = []string{
		fmt.Sprintf("High: the attack flags held-out members at least %d times as often as non-members (member-side ε ≥ ln %d = %s), or the AUC's lower bound is at least %s.",
			highRatio, highRatio, f2(math.Log(highRatio)), f2(highAUC)),
		fmt.Sprintf("Moderate: at least %d times as often (member-side ε ≥ ln %d = %s), or the AUC's lower bound is at least %s.",
			moderateRatio, moderateRatio, f2(math.Log(moderateRatio)), f2(moderateAUC)),
		fmt.Sprintf("Low: more often than non-members (member-side ε > 0), or the AUC's lower bound is above %s.", f1(lowAUC)),
		"Not detected: none of these.",
	}
	return p, nil
}

// setup lists what was audited.
func (a *analysis) setup() []kv {
	s, in := a.summary, a.in
	var out []kv
	add := func(k, v string) {
		if v != "" {
			out = append(out, kv{k, v})
		}
	}
	add("Dataset", in.Dataset)
	add("Target model", in.Model)
	add("Privacy game", in.Game)
	add("Target models", fmt.Sprint(s.Targets))
	add("Audited records", thousands(s.Records.Total))
	add("Members (trained on)", thousands(s.Records.Members))
	add("Non-members", thousands(s.Records.NonMembers))
	if s.Records.Unknown > 0 {
		add("Unknown membership", thousands(s.Records.Unknown))
	}
	if s.Records.Classes > 0 {
		add("Classes", fmt.Sprint(s.Records.Classes))
	}
	tm := s.TargetModel
	if tm.TrainAccuracy != nil {
		add("Train accuracy", pct(*tm.TrainAccuracy))
	}
	if tm.TestAccuracy != nil {
		add("Test accuracy", pct(*tm.TestAccuracy))
	}
	if tm.GeneralizationGap != nil {
		add("Generalisation gap", f1(100*(*tm.GeneralizationGap))+" percentage points")
	}
	if r := tm.Regression; r != nil {
		add("Train / test MSE", optF3(r.TrainMSE)+" / "+optF3(r.TestMSE)+" (standardised target)")
		add("Train / test MAE", optF3(r.TrainMAE)+" / "+optF3(r.TestMAE))
		add("Train / test R²", optF3(r.TrainR2)+" / "+optF3(r.TestR2))
	}
	add("Bootstrap", fmt.Sprintf("%s resamples, %s intervals, seed %d", thousands(s.Settings.BootstrapResamples), rate(s.Settings.ConfidenceLevel), s.Settings.BootstrapSeed))
	add("ε lower bound", fmt.Sprintf("%s, α = %s, δ = %s, split seed %d", s.Settings.EpsilonMethod, fixed(s.Settings.EpsilonAlpha, 2),
		metric.FormatDelta(s.Settings.EpsilonDelta), s.Settings.EpsilonSeed))
	if a.in.DPCaveat != "" {
		add("Not a DP audit", a.in.DPCaveat)
	}
	add("Records ranked by", s.Settings.RankedBy)
	add("Created", s.Created)
	return out
}

// belowRes is what the tables show for a TPR at an FPR the audit cannot resolve.
const belowRes = "below res."

// epsCell formats an ε lower bound for a table: the value when it is a DP bound, "n/a" when not, "–"
// when there is none.
func epsCell(e *metric.EpsilonBound) string {
	switch {
	case e == nil:
		return "–"
	case !e.DPBound:
		return "n/a"
	}
	return sig3(e.Value)
}

// classMargin is how far above an attack's overall AUC a class's AUC must be to be highlighted.
const classMargin = 0.05

// tableFPRs are the FPRs of the attack table: 10 %, 1 %, 0.1 %, 0.01 % and 0 %.
func tableFPRs() []float64 {
	return slices.DeleteFunc(metric.StandardFPRs(), func(f float64) bool { return f == 1e-5 })
}

func tprOf(as AttackSummary, f float64) float64 {
	for _, t := range as.TPRAtFPR {
		if t.FPR == f {
			return val(t.TPR)
		}
	}
	return math.NaN()
}

func estimateCell(e Estimate, format func(float64) string) cell {
	c := cell{Value: format(val(e.Value))}
	if e.Lo != nil && e.Hi != nil {
		c.CI = format(*e.Lo) + "–" + format(*e.Hi)
	}
	return c
}

func levelLabel(l string) string {
	switch l {
	case levelHigh:
		return "High risk"
	case levelModerate:
		return "Moderate risk"
	case levelLow:
		return "Low risk"
	case levelNone:
		return "Not detected"
	}
	return "Not measured"
}

func colorHex(k int) string {
	c := okabeIto[k%len(okabeIto)]
	return fmt.Sprintf("#%02X%02X%02X", c.R, c.G, c.B)
}

func memberText(m *bool) string {
	switch {
	case m == nil:
		return "unknown"
	case *m:
		return "member"
	}
	return "non-member"
}

func scoreText(x float64) string {
	switch {
	case math.IsInf(x, 1):
		return "+∞"
	case math.IsInf(x, -1):
		return "−∞"
	}
	return fmt.Sprintf("%.4g", x)
}

// flattenParams lists nested parameters as dotted keys in sorted order, with JSON-like values.
func flattenParams(params map[string]any) []kv {
	var out []kv
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				name := k
				if prefix != "" {
					name = prefix + "." + k
				}
				walk(name, x[k])
			}
		case string:
			out = append(out, kv{prefix, x})
		case nil:
			out = append(out, kv{prefix, "null"})
		default:
			b, err := json.Marshal(x)
			if err != nil {
				out = append(out, kv{prefix, fmt.Sprint(x)})
			} else {
				out = append(out, kv{prefix, string(b)})
			}
		}
	}
	walk("", params)
	return out
}

var svgProlog = regexp.MustCompile(`(?s)^\s*<\?xml[^>]*\?>\s*(<!--.*?-->\s*)?`)

// inlineSVG prepares a standalone SVG for inclusion in the page: no XML prolog, an accessible name.
func inlineSVG(svg []byte, title string) template.HTML {
	s := svgProlog.ReplaceAllString(string(svg), "")
	s = strings.Replace(s, "<svg ", `<svg role="img" aria-label="`+template.HTMLEscapeString(title)+`" `, 1)
	return template.HTML(s)
}

// optF3 formats an optional number with three decimals, "–" when absent.
func optF3(x *float64) string {
	if x == nil {
		return "–"
	}
	return f3(*x)
}
