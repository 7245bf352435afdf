package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/pmeter/pmeter/npy"
)

// Files Build writes into its directory.
const (
	HTMLFile    = "index.html"
	SummaryFile = "summary.json"
	RecordsFile = "records.csv"
	PlotsDir    = "plots"
)

// pngDPI is the resolution of the PNG plots.
const pngDPI = 150

// Build computes the report of in and writes it into dir (created if needed): index.html, summary.json,
// records.csv, and plots/NAME.png and plots/NAME.svg for every plot (roc, roc_log, hist_ATTACK per
// attack, per_class, reference_fit when the input compares the target with its references, and
// dp_epsilon, dp_tradeoff and dp_tradeoff_log when it has a DP claim). Every
// file is written atomically. It returns the summary (the content of summary.json).
//
// Build overwrites and removes only files that it wrote itself, as listed in dir's
// .pmeter-report-manifest.json: files of an earlier build that this one does not produce (the plots of
// an attack no longer run) are removed, and a file that would be overwritten but was not written by an
// earlier build is an error, before anything is written. A report written before manifests existed
// (no manifest, a readable summary.json) is taken as pmeter's for the files this build writes; its
// other files are left alone.
//
// Metrics are computed on the records of known membership; with none (or no member, or no non-member)
// the report still lists the records and scores, and its verdict is "unknown". Build stops with ctx's
// error when ctx is cancelled. The output depends only on in and opts.
func Build(ctx context.Context, in *Input, dir string, opts Options) (*Summary, error) {
	a, err := analyze(ctx, in, opts)
	if err != nil {
		return nil, err
	}
	figs, histNames, err := a.figures(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{} // every file, by slash-separated path relative to dir
	var plots []string
	for _, name := range sortedKeys(figs) {
		f := figs[name]
		out[PlotsDir+"/"+name+".png"], out[PlotsDir+"/"+name+".svg"] = f.PNG, f.SVG
		plots = append(plots, PlotsDir+"/"+name+".png", PlotsDir+"/"+name+".svg")
	}
	files := append([]string{HTMLFile, SummaryFile, RecordsFile}, plots...)

	js, err := json.MarshalIndent(a.summary, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("report: encode %s: %w", SummaryFile, err)
	}
	out[SummaryFile] = append(js, '\n')
	var csv bytes.Buffer
	if err := writeRecordsCSV(&csv, a); err != nil {
		return nil, fmt.Errorf("report: %s: %w", RecordsFile, err)
	}
	out[RecordsFile] = csv.Bytes()
	var page bytes.Buffer
	if err := writeHTML(&page, a, figs, histNames, files); err != nil {
		return nil, fmt.Errorf("report: %s: %w", HTMLFile, err)
	}
	out[HTMLFile] = page.Bytes()

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	legacy := func() bool { // a report written before manifests existed: its files are the ones written now
		_, err := ReadSummary(filepath.Join(dir, SummaryFile))
		return err == nil
	}
	commit, err := claim(dir, reportManifest, files, legacy, files)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	// Only now: a report refused above leaves no plots folder in a folder that is not its own.
	if err := os.MkdirAll(filepath.Join(dir, PlotsDir), 0o755); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	// The plots first and the page last, so that the page never refers to a plot not yet written.
	for _, f := range append(plots, SummaryFile, RecordsFile, HTMLFile) {
		if err := writeFile(filepath.Join(dir, filepath.FromSlash(f)), out[f]); err != nil {
			return nil, err
		}
	}
	if err := commit(); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return a.summary, nil
}

// figures renders every plot; histNames lists the histogram figures in attack order.
func (a *analysis) figures(ctx context.Context) (figs map[string]*figure, histNames []string, err error) {
	figs = map[string]*figure{}
	render := func(name, title, caption string, p *plot.Plot, w, h vg.Length) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		svg, err := renderSVG(p, w, h)
		if err != nil {
			return fmt.Errorf("report: plot %s: %w", name, err)
		}
		png, err := renderPNG(p, w, h, pngDPI)
		if err != nil {
			return fmt.Errorf("report: plot %s: %w", name, err)
		}
		figs[name] = &figure{Name: name, Title: title, Caption: caption, SVG: svg, PNG: png}
		return nil
	}
	if a.strongest >= 0 {
		for _, logScale := range []bool{false, true} {
			p, err := a.rocFigure(logScale)
			if err != nil {
				return nil, nil, fmt.Errorf("report: ROC plot: %w", err)
			}
			name := "roc"
			if logScale {
				name = "roc_log"
			}
			if err := render(name, p.Title.Text, "", p, 5*vg.Inch, 4.4*vg.Inch); err != nil {
				return nil, nil, err
			}
		}
	}
	used := map[string]bool{}
	for k := range a.in.Attacks {
		p, caption, err := a.histFigure(k)
		if err != nil {
			return nil, nil, fmt.Errorf("report: histogram of %q: %w", a.in.Attacks[k].Name, err)
		}
		if p == nil {
			continue
		}
		name := "hist_" + fileSafe(a.in.Attacks[k].Name)
		for base, i := name, 2; used[name]; i++ {
			name = fmt.Sprintf("%s_%d", base, i)
		}
		used[name] = true
		title := fmt.Sprintf("Distribution of %s for members and non-members (%s)", a.in.Attacks[k].signalName(), a.in.Attacks[k].Name)
		if err := render(name, title, caption, p, 4.2*vg.Inch, 3*vg.Inch); err != nil {
			return nil, nil, err
		}
		histNames = append(histNames, name)
	}
	if f := a.in.ReferenceFit; f != nil {
		for k, c := range f.Targets {
			p, err := fitFigure(f, c)
			if err != nil {
				return nil, nil, fmt.Errorf("report: reference fit plot: %w", err)
			}
			if p != nil {
				if err := render(fitFigureName(k), p.Title.Text, "", p, 4.2*vg.Inch, 3*vg.Inch); err != nil {
					return nil, nil, err
				}
			}
		}
	}
	if chk := a.summary.DP; chk != nil {
		if err := dpFigures(chk, render); err != nil {
			return nil, nil, err
		}
	}
	if p, err := accessFigure(a.summary); err != nil {
		return nil, nil, fmt.Errorf("report: access plot: %w", err)
	} else if p != nil {
		if err := render("access", p.Title.Text, "", p, 5*vg.Inch, 3.4*vg.Inch); err != nil {
			return nil, nil, err
		}
	}
	p, err := a.classFigure(a.summary)
	if err != nil {
		return nil, nil, fmt.Errorf("report: per-class plot: %w", err)
	}
	if p != nil {
		n := 0
		for _, c := range a.summary.Classes {
			if c.AUC[a.in.Attacks[a.strongest].Name] != nil {
				n++
			}
		}
		h := vg.Length(n)*0.24*vg.Inch + 1.1*vg.Inch
		if err := render("per_class", p.Title.Text, "", p, 6*vg.Inch, h); err != nil {
			return nil, nil, err
		}
	}
	return figs, histNames, nil
}

// fileSafe maps an attack name to a file-name fragment: lower case letters, digits, '-' and '_'.
func fileSafe(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "attack"
	}
	return b.String()
}

func writeFile(path string, data []byte) error {
	err := npy.WriteAtomic(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err == nil {
		err = os.Chmod(path, 0o644) // a report is meant to be shared
	}
	if err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
