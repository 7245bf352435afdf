package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// figure is one rendered plot.
type figure struct {
	Name    string // file name without extension, e.g. "roc_log"
	Title   string // accessible title
	Caption string
	SVG     []byte // standalone SVG file (fonts referenced by name, with generic fallbacks)
	PNG     []byte
}

// Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision
// deficiency. Yellow comes last: it is faint on white.
var okabeIto = [...]color.NRGBA{
	{0x00, 0x72, 0xB2, 0xFF}, // blue
	{0xD5, 0x5E, 0x00, 0xFF}, // vermillion
	{0x00, 0x9E, 0x73, 0xFF}, // bluish green
	{0xCC, 0x79, 0xA7, 0xFF}, // reddish purple
	{0xE6, 0x9F, 0x00, 0xFF}, // orange
	{0x56, 0xB4, 0xE9, 0xFF}, // sky blue
	{0x00, 0x00, 0x00, 0xFF}, // black
	{0xF0, 0xE4, 0x42, 0xFF}, // yellow
}

// dashes vary with the colour so that curves stay distinguishable in grey print.
var dashes = [...][]vg.Length{nil, {vg.Points(6), vg.Points(3)}, {vg.Points(2), vg.Points(2)}, {vg.Points(7), vg.Points(2), vg.Points(2), vg.Points(2)}}

func seriesStyle(k int) draw.LineStyle {
	return draw.LineStyle{Color: okabeIto[k%len(okabeIto)], Width: vg.Points(1.6), Dashes: dashes[k%len(dashes)]}
}

var (
	memberColor    = okabeIto[1] // vermillion
	nonMemberColor = okabeIto[0] // blue
	chanceStyle    = draw.LineStyle{Color: color.NRGBA{0x88, 0x88, 0x88, 0xFF}, Width: vg.Points(0.8), Dashes: []vg.Length{vg.Points(3), vg.Points(3)}}
)

// withAlpha returns c with opacity a (non-premultiplied, as fills need).
func withAlpha(c color.NRGBA, a uint8) color.NRGBA { c.A = a; return c }

// newPlot returns a plot with the report's fonts and grid.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	sans := func(size float64) font.Font {
		return font.Font{Typeface: "Liberation", Variant: "Sans", Size: vg.Points(size)}
	}
	p.Title.Text = title
	p.Title.TextStyle.Font = sans(12)
	p.Title.Padding = vg.Points(6)
	p.X.Label.Text, p.Y.Label.Text = xLabel, yLabel
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font = sans(10.5)
		ax.Tick.Label.Font = sans(9)
		ax.Tick.Color = color.Gray{0x55}
		ax.Color = color.Gray{0x55}
	}
	p.Legend.TextStyle.Font = sans(9)
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = color.Gray{0xE2}, color.Gray{0xE2}
	grid.Vertical.Width, grid.Horizontal.Width = vg.Points(0.5), vg.Points(0.5)
	p.Add(grid)
	return p
}

// percentTicks labels a linear [0, 1] axis in percent every 0.2, with minor ticks every 0.1.
type percentTicks struct{}

func (percentTicks) Ticks(lo, hi float64) []plot.Tick {
	var t []plot.Tick
	for i := 0; i <= 10; i++ {
		v := float64(i) / 10
		if v < lo-1e-12 || v > hi+1e-12 {
			continue
		}
		tick := plot.Tick{Value: v}
		if i%2 == 0 {
			tick.Label = strconv.Itoa(i*10) + "%"
		}
		t = append(t, tick)
	}
	return t
}

// niceTicks labels a linear axis at about five round values (steps of 1, 2 or 5 times a power of ten),
// with one unlabelled minor tick between labels.
type niceTicks struct{}

func (niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return nil
	}
	// The step of 1, 2 or 5 × 10^k that gives closest to five intervals.
	step, best := 0.0, math.Inf(1)
	k0 := math.Floor(math.Log10(hi - lo))
	for k := k0 - 1; k <= k0+1; k++ {
		for _, m := range []float64{1, 2, 5} {
			st := m * math.Pow(10, k)
			if d := math.Abs((hi-lo)/st - 5); d < best {
				step, best = st, d
			}
		}
	}
	var t []plot.Tick
	for i := math.Ceil(lo / step * 2); i <= math.Floor(hi/step*2); i++ {
		v := i * step / 2
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		tick := plot.Tick{Value: v}
		if math.Mod(i, 2) == 0 {
			tick.Label = strconv.FormatFloat(v, 'g', 6, 64)
		}
		t = append(t, tick)
	}
	return t
}

// logPercentTicks labels the decades of a log axis of rates in percent ("0.01%", "1%", "100%") and adds
// unlabelled minor ticks at 2…9 times each decade. (plot.LogTicks labels 1e-4 as 9.999999999999999e-05.)
type logPercentTicks struct{}

func (logPercentTicks) Ticks(lo, hi float64) []plot.Tick {
	var t []plot.Tick
	if !(lo > 0) || !(hi >= lo) {
		return nil
	}
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		v := math.Pow(10, e)
		if v >= lo*(1-1e-9) && v <= hi*(1+1e-9) {
			t = append(t, plot.Tick{Value: v, Label: decadePercent(int(e))})
		}
		for m := 2.0; m < 10; m++ {
			if mv := m * v; mv >= lo && mv <= hi {
				t = append(t, plot.Tick{Value: mv})
			}
		}
	}
	return t
}

// decadePercent formats 10^e as a percentage without rounding noise: -3 → "0.1%", 0 → "100%".
func decadePercent(e int) string {
	p := e + 2 // 10^e = 10^(e+2) %
	if p >= 0 {
		return "1" + string(bytes.Repeat([]byte{'0'}, p)) + "%"
	}
	return "0." + string(bytes.Repeat([]byte{'0'}, -p-1)) + "1%"
}

// thin keeps the points of a curve that move at least step from the last kept point in either
// coordinate (after transform), and always the first and the last: a few hundred points draw a ROC curve
// of a million records without visible change.
func thin(xs, ys []float64, step float64, transform func(float64) float64) plotter.XYs {
	var out plotter.XYs
	lx, ly := math.Inf(-1), math.Inf(-1)
	for i := range xs {
		tx, ty := transform(xs[i]), transform(ys[i])
		if i == 0 || i == len(xs)-1 || math.Abs(tx-lx) >= step || math.Abs(ty-ly) >= step {
			out = append(out, plotter.XY{X: xs[i], Y: ys[i]})
			lx, ly = tx, ty
		}
	}
	return out
}

func identity(x float64) float64 { return x }

// rocFigure plots the ROC curves of all evaluated attacks, on linear axes or on log-log axes.
func (a *analysis) rocFigure(logScale bool) (*plot.Plot, error) {
	title := "ROC curves"
	if logScale {
		title = "ROC curves, log scale"
	}
	p := newPlot(title, "False positive rate", "True positive rate")
	lo := 0.0
	if logScale {
		nNeg, nPos := 0, 0
		for _, m := range a.members {
			if m {
				nPos++
			} else {
				nNeg++
			}
		}
		// One decade below the smallest resolvable rate, and at least two decades in all.
		lo = math.Pow(10, math.Floor(math.Log10(1/float64(max(nNeg, nPos, 1)))))
		lo = math.Min(math.Max(lo, 1e-6), 1e-2)
		p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
		p.X.Tick.Marker, p.Y.Tick.Marker = logPercentTicks{}, logPercentTicks{}
	} else {
		p.X.Tick.Marker, p.Y.Tick.Marker = percentTicks{}, percentTicks{}
	}
	p.X.Min, p.Y.Min, p.X.Max, p.Y.Max = lo, lo, 1, 1
	chanceLo := math.Max(lo, 1e-9)
	chance, err := plotter.NewLine(plotter.XYs{{X: chanceLo, Y: chanceLo}, {X: 1, Y: 1}})
	if err != nil {
		return nil, err
	}
	chance.LineStyle = chanceStyle
	p.Add(chance)
	for k := range a.attacks {
		an := &a.attacks[k]
		if !an.evaluated {
			continue
		}
		var xys plotter.XYs
		if logScale {
			var xs, ys []float64
			for i := range an.curve.FPR {
				if an.curve.FPR[i] > 0 && an.curve.TPR[i] > 0 {
					xs, ys = append(xs, an.curve.FPR[i]), append(ys, an.curve.TPR[i])
				}
			}
			xys = thin(xs, ys, 0.004, math.Log10)
		} else {
			xys = thin(an.curve.FPR, an.curve.TPR, 0.0025, identity)
		}
		if len(xys) == 0 {
			continue
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("attack %q: %w", a.in.Attacks[k].Name, err)
		}
		line.LineStyle = seriesStyle(k)
		p.Add(line)
		label := fmt.Sprintf("%s (AUC %s)", a.in.Attacks[k].Name, f3(an.result.AUC))
		if logScale {
			t, _ := an.result.TPR(verdictFPR)
			label = fmt.Sprintf("%s (%s at 0.1%%)", a.in.Attacks[k].Name, pct(t))
		}
		p.Legend.Add(label, line)
	}
	p.Legend.Add("chance", chance)
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.XOffs, p.Legend.YOffs = -vg.Points(4), vg.Points(4)
	p.Legend.ThumbnailWidth = vg.Points(22)
	p.Legend.Padding = vg.Points(2)
	return p, nil
}

// histFigure plots the distribution of attack k's signal for members and for non-members, as densities
// over shared bins; the outer 0.5 % on each side are left out so that a few extreme values do not squash
// the rest. It returns nil when there is nothing to plot.
func (a *analysis) histFigure(k int) (*plot.Plot, string, error) {
	at := &a.in.Attacks[k]
	values := at.Scores
	if at.Signal != nil {
		values = at.Signal
	}
	var mem, non, all []float64
	nonFinite := 0
	for j, i := range a.known {
		v := values[i]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			nonFinite++
			continue
		}
		all = append(all, v)
		if a.members[j] {
			mem = append(mem, v)
		} else {
			non = append(non, v)
		}
	}
	if len(mem) == 0 || len(non) == 0 {
		return nil, "", nil
	}
	slices.Sort(all)
	// Show the full range unless a few extreme values would squash the rest: then leave out the outer
	// 0.5 % on each side.
	lo, hi := all[0], all[len(all)-1]
	if qlo, qhi := quantile(all, 0.005), quantile(all, 0.995); qhi > qlo && hi-lo > 1.5*(qhi-qlo) {
		lo, hi = qlo, qhi
	}
	if !(hi > lo) {
		lo, hi = lo-0.5, hi+0.5
	}
	const nBins = 50
	width := (hi - lo) / nBins
	clipped, top := 0, 0.0
	hist := func(vs []float64, c color.NRGBA) *plotter.Histogram {
		bins := make([]plotter.HistogramBin, nBins)
		for b := range bins {
			bins[b].Min, bins[b].Max = lo+float64(b)*width, lo+float64(b+1)*width
		}
		for _, v := range vs {
			if v < lo || v > hi {
				clipped++
				continue
			}
			b := min(int((v-lo)/width), nBins-1)
			bins[b].Weight++
		}
		for b := range bins { // density of the group: the bars' area is the fraction shown
			bins[b].Weight /= float64(len(vs)) * width
			top = math.Max(top, bins[b].Weight)
		}
		h := &plotter.Histogram{Bins: bins, Width: width, FillColor: withAlpha(c, 0x8C)}
		h.LineStyle.Width = 0
		return h
	}
	p := newPlot(at.Name, at.signalName(), "density")
	hn, hm := hist(non, nonMemberColor), hist(mem, memberColor)
	p.Add(hn, hm)
	p.Legend.Add(fmt.Sprintf("non-members (%s)", thousands(len(non))), hn)
	p.Legend.Add(fmt.Sprintf("members (%s)", thousands(len(mem))), hm)
	p.Legend.Top = true
	p.Legend.ThumbnailWidth = vg.Points(14)
	p.Legend.Padding = vg.Points(2)
	p.Y.Min, p.Y.Max = 0, top*1.3 // headroom for the legend
	p.X.Tick.Marker, p.Y.Tick.Marker = niceTicks{}, niceTicks{}
	var note []string
	if clipped > 0 {
		note = append(note, fmt.Sprintf("%s extreme values (%s) lie outside the plotted range", thousands(clipped),
			pct(float64(clipped)/float64(len(all)))))
	}
	if nonFinite > 0 {
		note = append(note, fmt.Sprintf("%s infinite or missing values are not shown", thousands(nonFinite)))
	}
	caption := strings.Join(note, "; ")
	if caption != "" {
		caption += "."
	}
	return p, caption, nil
}

// quantile returns the q-quantile of ascending xs by linear interpolation (numpy's default).
func quantile(xs []float64, q float64) float64 {
	pos := q * float64(len(xs)-1)
	i := int(math.Floor(pos))
	if i >= len(xs)-1 {
		return xs[len(xs)-1]
	}
	return xs[i] + (pos-float64(i))*(xs[i+1]-xs[i])
}

// classFigure plots the strongest attack's AUC per class as horizontal bars; nil when there are fewer
// than 2 or more than maxClassBars classes with an AUC.
func (a *analysis) classFigure(s *Summary) (*plot.Plot, error) {
	if a.strongest < 0 {
		return nil, nil
	}
	name := a.in.Attacks[a.strongest].Name
	var names []string
	var aucs plotter.Values
	for _, c := range s.Classes {
		if v := c.AUC[name]; v != nil {
			names = append(names, c.Name)
			aucs = append(aucs, *v)
		}
	}
	if len(aucs) < 2 || len(aucs) > maxClassBars {
		return nil, nil
	}
	// Bars are drawn bottom-up; reverse so that the first class is on top.
	slices.Reverse(names)
	slices.Reverse(aucs)
	p := newPlot("AUC per class ("+name+")", "AUC", "")
	bars, err := plotter.NewBarChart(aucs, vg.Points(10))
	if err != nil {
		return nil, err
	}
	bars.Horizontal = true
	bars.Color = withAlpha(okabeIto[a.strongest%len(okabeIto)], 0xC0)
	bars.LineStyle.Width = 0
	p.Add(bars)
	p.NominalY(names...)
	p.X.Min = math.Min(0.4, slices.Min(aucs)-0.02)
	p.X.Max = math.Max(0.6, slices.Max(aucs)+0.02)
	ref, err := plotter.NewLine(plotter.XYs{{X: 0.5, Y: -0.5}, {X: 0.5, Y: float64(len(aucs)) - 0.5}})
	if err != nil {
		return nil, err
	}
	ref.LineStyle = chanceStyle
	p.Add(ref)
	return p, nil
}

// maxClassBars is the most classes the per-class plot shows; more are left to the table.
const maxClassBars = 30

// renderSVG draws p as an SVG of w × h.
func renderSVG(p *plot.Plot, w, h vg.Length) (svg []byte, err error) {
	defer recoverPlot(&err)
	c := vgsvg.NewWith(vgsvg.UseWH(w, h))
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, err
	}
	return withFontFallback(b.Bytes()), nil
}

// fontFamily matches the font references of gonum's SVG output.
var fontFamily = regexp.MustCompile(`font-family:Liberation (Sans|Serif|Mono)\b`)

// withFontFallback makes the SVG's font references fall back to the metric-compatible Arial, Times New
// Roman or Courier New, then to a generic family, for viewers without the Liberation fonts: the SVG stays
// small (no embedded fonts) and its text keeps its measured width.
func withFontFallback(svg []byte) []byte {
	return fontFamily.ReplaceAllFunc(svg, func(m []byte) []byte {
		switch string(fontFamily.FindSubmatch(m)[1]) {
		case "Sans":
			return []byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif")
		case "Serif":
			return []byte("font-family:'Liberation Serif','Times New Roman',Times,serif")
		}
		return []byte("font-family:'Liberation Mono','Courier New',monospace")
	})
}

// renderPNG draws p as a PNG of w × h at dpi dots per inch.
func renderPNG(p *plot.Plot, w, h vg.Length, dpi int) (png []byte, err error) {
	defer recoverPlot(&err)
	c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(dpi))
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// recoverPlot turns a panic of gonum/plot (it panics on some degenerate data, e.g. a log axis whose
// range collapses) into an error, so that bad data never crashes the caller.
func recoverPlot(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("drawing failed: %v", r)
	}
}
