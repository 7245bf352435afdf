package report

import (
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// accessView is the page's section on levels of model access: one row per attack, one column per level.
type accessView struct {
	Levels []string
	Rows   []accessRow
	Fig    *pageFigure
}

type accessRow struct {
	Name  string
	Cells []string
}

// accessGrid groups the summary's attacks by attack (the name without " @ level") and level, in order
// of first appearance; cell[i][j] indexes s.Attacks, −1 where attack i did not run at level j. It returns
// nothing when no attack has an access level.
func accessGrid(s *Summary) (names, levels []string, cell [][]int) {
	for k, a := range s.Attacks {
		if a.Access == "" {
			continue
		}
		name := strings.TrimSuffix(a.Name, " @ "+a.Access)
		i, j := slices.Index(names, name), slices.Index(levels, a.Access)
		if i < 0 {
			names = append(names, name)
			cell = append(cell, nil)
			i = len(names) - 1
		}
		if j < 0 {
			levels = append(levels, a.Access)
			j = len(levels) - 1
		}
		for len(cell[i]) < len(levels) {
			cell[i] = append(cell[i], -1)
		}
		cell[i][j] = k
	}
	for i := range cell {
		for len(cell[i]) < len(levels) {
			cell[i] = append(cell[i], -1)
		}
	}
	return names, levels, cell
}

// accessPage builds the section; nil without access levels.
func accessPage(s *Summary, fig *pageFigure) *accessView {
	names, levels, cell := accessGrid(s)
	if len(names) == 0 {
		return nil
	}
	v := &accessView{Levels: levels, Fig: fig}
	for i, n := range names {
		row := accessRow{Name: n}
		for _, k := range cell[i] {
			if k < 0 {
				row.Cells = append(row.Cells, "–")
				continue
			}
			as := s.Attacks[k]
			tpr := belowRes
			if e, ok := tprEntry(as, 0.01); ok && !e.BelowResolution {
				tpr = pct(val(e.TPR))
			}
			row.Cells = append(row.Cells, f3(val(as.AUC.Value))+" / "+tpr)
		}
		v.Rows = append(v.Rows, row)
	}
	return v
}

func tprEntry(as AttackSummary, f float64) (TPREstimate, bool) {
	for _, e := range as.TPRAtFPR {
		if e.FPR == f {
			return e, true
		}
	}
	return TPREstimate{}, false
}

// accessFigure plots each attack's AUC against the access level; nil with fewer than 2 levels.
func accessFigure(s *Summary) (*plot.Plot, error) {
	names, levels, cell := accessGrid(s)
	if len(levels) < 2 {
		return nil, nil
	}
	p := newPlot("Attack strength against the level of model access", "access level", "AUC")
	lo, hi := 0.45, 0.55
	for i, n := range names {
		var pts plotter.XYs
		for j, k := range cell[i] {
			if k < 0 || s.Attacks[k].AUC.Value == nil {
				continue
			}
			auc := *s.Attacks[k].AUC.Value
			lo, hi = min(lo, auc), max(hi, auc)
			pts = append(pts, plotter.XY{X: float64(j), Y: auc})
		}
		if len(pts) == 0 {
			continue
		}
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, err
		}
		l.LineStyle = seriesStyle(i)
		sc.Color = l.LineStyle.Color
		p.Add(l, sc)
		p.Legend.Add(n, l)
	}
	ref, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0.5}, {X: float64(len(levels) - 1), Y: 0.5}})
	if err != nil {
		return nil, err
	}
	ref.LineStyle = chanceStyle
	p.Add(ref)
	p.NominalX(levels...)
	p.Y.Min, p.Y.Max = lo-0.02, hi+0.02
	p.Legend.Top, p.Legend.Left = false, true
	return p, nil
}
