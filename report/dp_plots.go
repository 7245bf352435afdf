package report

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/pmeter/pmeter/metric"
)

// The colours of the DP check's marks: an offending audit in vermillion, a checked one in blue, one
// that does not enter the check in grey.
var (
	dpOffendingColor = okabeIto[1]
	dpCheckedColor   = okabeIto[0]
	dpUncheckedColor = color.NRGBA{0x99, 0x99, 0x99, 0xFF}
	dpClaimStyle     = draw.LineStyle{Color: color.NRGBA{0x00, 0x00, 0x00, 0xFF}, Width: vg.Points(1.6)}
)

func dpColor(c DPComparison) color.NRGBA {
	switch {
	case c.Offending:
		return dpOffendingColor
	case c.Checked:
		return dpCheckedColor
	}
	return dpUncheckedColor
}

// dpEpsilonFigure plots every audit's ε lower bound (one row each, in the table's order) against the
// accountant's ε (a vertical line): a point right of the line lies outside the claim. nil without audits.
func dpEpsilonFigure(chk *DPCheck) (*plot.Plot, error) {
	if len(chk.Audits) == 0 {
		return nil, nil
	}
	p := newPlot("Empirical ε lower bounds against the accountant's ε", "ε", "")
	n := len(chk.Audits)
	names := make([]string, n)
	groups := map[color.NRGBA]plotter.XYs{}
	top := chk.Epsilon
	for i, c := range chk.Audits {
		y := float64(n - 1 - i) // the first audit on top
		names[n-1-i] = c.Audit
		groups[dpColor(c)] = append(groups[dpColor(c)], plotter.XY{X: c.Value, Y: y})
		top = max(top, c.Value)
	}
	for _, col := range []color.NRGBA{dpUncheckedColor, dpCheckedColor, dpOffendingColor} {
		xys := groups[col]
		if len(xys) == 0 {
			continue
		}
		// A stem from 0 to each bound, then its point.
		for _, xy := range xys {
			stem, err := plotter.NewLine(plotter.XYs{{X: 0, Y: xy.Y}, xy})
			if err != nil {
				return nil, err
			}
			stem.LineStyle = draw.LineStyle{Color: withAlpha(col, 0x99), Width: vg.Points(2.5)}
			p.Add(stem)
		}
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(3.6), Shape: draw.CircleGlyph{}}
		p.Add(sc)
		switch col {
		case dpOffendingColor:
			p.Legend.Add("outside the claim", sc)
		case dpCheckedColor:
			p.Legend.Add("within the claim", sc)
		default:
			p.Legend.Add("not checked", sc)
		}
	}
	claim, err := plotter.NewLine(plotter.XYs{{X: chk.Epsilon, Y: -0.5}, {X: chk.Epsilon, Y: float64(n) - 0.5}})
	if err != nil {
		return nil, err
	}
	claim.LineStyle = dpClaimStyle
	p.Add(claim)
	p.Legend.Add(fmt.Sprintf("accountant: ε = %s (δ = %s)", sig3(chk.Epsilon), metric.FormatDelta(chk.Delta)), claim)
	p.NominalY(names...)
	p.X.Min, p.X.Max = 0, top*1.08+0.05
	p.X.Tick.Marker = niceTicks{}
	p.Y.Min, p.Y.Max = -0.7, float64(n)+0.2+0.35*4 // room for the legend above the rows
	p.Legend.Top, p.Legend.Left = true, false
	p.Legend.ThumbnailWidth = vg.Points(16)
	p.Legend.Padding = vg.Points(1.5)
	return p, nil
}

// dpTradeOffFigure plots the claim's trade-off curve (the largest TPR at each FPR that the claimed
// guarantee allows) with every checked audit's operating point and its Clopper–Pearson box at the
// check's significance; a box entirely above the curve's value at its right edge is outside the claim.
// On log axes the boxes' and points' zeros are drawn at the axis' lower end.
func dpTradeOffFigure(chk *DPCheck, logScale bool) (*plot.Plot, error) {
	title := "Claimed trade-off curve and audit points"
	if logScale {
		title += ", log scale"
	}
	p := newPlot(title, "False positive rate", "True positive rate")
	lo := 0.0
	var xs []float64
	if logScale {
		lo = 1e-4
		for _, c := range chk.Audits {
			if pt := c.Point; pt != nil {
				for _, v := range []float64{pt.FPRLower, pt.FPR, pt.TPRLower} {
					if v > 0 {
						lo = min(lo, v)
					}
				}
			}
		}
		lo = math.Max(math.Pow(10, math.Floor(math.Log10(lo))), 1e-6)
		for k := 0; k <= 200; k++ {
			xs = append(xs, lo*math.Pow(1/lo, float64(k)/200))
		}
		p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
		p.X.Tick.Marker, p.Y.Tick.Marker = logPercentTicks{}, logPercentTicks{}
	} else {
		for k := 0; k <= 400; k++ {
			f := float64(k) / 400
			xs = append(xs, f*f) // denser near 0, where the curve rises steeply
		}
		p.X.Tick.Marker, p.Y.Tick.Marker = percentTicks{}, percentTicks{}
	}
	p.X.Min, p.Y.Min, p.X.Max, p.Y.Max = lo, lo, 1, 1
	clamp := func(v float64) float64 { return math.Max(v, lo) }
	chance, err := plotter.NewLine(plotter.XYs{{X: math.Max(lo, 1e-9), Y: math.Max(lo, 1e-9)}, {X: 1, Y: 1}})
	if err != nil {
		return nil, err
	}
	chance.LineStyle = chanceStyle
	p.Add(chance)
	var curve plotter.XYs
	for _, f := range xs {
		curve = append(curve, plotter.XY{X: f, Y: clamp(chk.TradeOff(f))})
	}
	line, err := plotter.NewLine(curve)
	if err != nil {
		return nil, err
	}
	line.LineStyle = dpClaimStyle
	p.Add(line)
	p.Legend.Add(fmt.Sprintf("claimed (ε = %s, δ = %s)", sig3(chk.Epsilon), metric.FormatDelta(chk.Delta)), line)
	shown := map[color.NRGBA]bool{}
	for _, c := range chk.Audits {
		pt := c.Point
		if pt == nil || !c.Checked {
			continue
		}
		col := dpColor(c)
		x0, x1, y0, y1 := clamp(pt.FPRLower), clamp(pt.FPRUpper), clamp(pt.TPRLower), clamp(pt.TPRUpper)
		box, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
		if err != nil {
			return nil, err
		}
		box.Color = withAlpha(col, 0x30)
		box.LineStyle = draw.LineStyle{Color: withAlpha(col, 0xC0), Width: vg.Points(0.8)}
		p.Add(box)
		sc, err := plotter.NewScatter(plotter.XYs{{X: clamp(pt.FPR), Y: clamp(pt.TPR)}})
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
		p.Add(sc)
		if !shown[col] {
			shown[col] = true
			if c.Offending {
				p.Legend.Add("audit outside the claim", sc)
			} else {
				p.Legend.Add("audit (box: "+rate(1-chk.Alpha)+" joint)", sc)
			}
		}
	}
	p.Legend.Add("chance", chance)
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.XOffs, p.Legend.YOffs = -vg.Points(4), vg.Points(4)
	p.Legend.ThumbnailWidth = vg.Points(22)
	p.Legend.Padding = vg.Points(2)
	return p, nil
}

// dpFigures renders the DP check's plots: dp_epsilon, dp_tradeoff and dp_tradeoff_log.
func dpFigures(chk *DPCheck, render func(name, title, caption string, p *plot.Plot, w, h vg.Length) error) error {
	p, err := dpEpsilonFigure(chk)
	if err != nil {
		return fmt.Errorf("report: DP ε plot: %w", err)
	}
	if p != nil {
		h := vg.Length(len(chk.Audits))*0.28*vg.Inch + 1.6*vg.Inch
		if err := render("dp_epsilon", p.Title.Text, "", p, 6*vg.Inch, h); err != nil {
			return err
		}
	}
	for _, logScale := range []bool{false, true} {
		p, err := dpTradeOffFigure(chk, logScale)
		if err != nil {
			return fmt.Errorf("report: DP trade-off plot: %w", err)
		}
		name := "dp_tradeoff"
		if logScale {
			name += "_log"
		}
		if err := render(name, p.Title.Text, "", p, 5*vg.Inch, 4.4*vg.Inch); err != nil {
			return err
		}
	}
	return nil
}
