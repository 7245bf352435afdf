package validity

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteTables writes one table per harness run: a row per cell with its numbers and verdict, then a line
// that counts the failing cells.
func (r *Report) WriteTables(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if r.Null != nil {
		cells := len(r.Null)
		fmt.Fprintf(tw, "null harness: the target leaks nothing; %d seeds × %d records; intervals at %g/%d cells (Student t across seeds); ε at α = %g, fail when P[Binomial(%d, %g) ≥ count] < %g\n",
			r.Seeds, r.Records, r.Level, cells, r.Alpha, r.Seeds, r.Alpha, r.Level)
		fmt.Fprintf(tw, "design\tvariant\tmean AUC\tTPR@%g%%FPR − null\tε > 0\t\n", 100*TPRFPR)
		failed := 0
		for _, c := range r.Null {
			verdict := "pass"
			if !c.Pass {
				verdict = "FAIL"
				failed++
			}
			if len(c.SeedAUC) < 2 {
				fmt.Fprintf(tw, "%s\t%s\t%d of %d seeds failed: %s\t\t\t%s\n", c.Design, c.Variant, len(c.Errors), r.Seeds, firstError(c.Errors), verdict)
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d (p %.2g)%s\t%s%s\n", c.Design, c.Variant,
				mark(fmt.Sprintf("%.4f ± %.4f", c.AUC.Mean, c.AUC.HalfWidth), c.AUCPass),
				mark(fmt.Sprintf("%.4f − %.4f = %+.4f ± %.4f", c.MeanTPR, c.MeanNullTPR, c.TPR.Mean, c.TPR.HalfWidth), c.TPRPass),
				c.EpsPositive, len(c.SeedEpsilon), c.EpsTail, markSuffix(c.EpsPass)+oneRunNote(c.OneRun), verdict, errorNote(c.Errors))
		}
		fmt.Fprintf(tw, "null harness: %d of %d cells fail\n\n", failed, cells)
	}
	if r.Leak != nil {
		cells := len(r.Leak)
		fmt.Fprintf(tw, "leak harness: the target leaks as the references do; %d seeds × %d records per design and per independent counterpart; Welch intervals at %g/%d cells\n",
			r.Seeds, r.Records, r.Level, cells)
		fmt.Fprintf(tw, "design\tvariant\tmean AUC\tindependent\tdifference\t\n")
		failed := 0
		for _, c := range r.Leak {
			verdict := "pass"
			if !c.Pass {
				verdict = "FAIL"
				failed++
			}
			if len(c.SeedAUC) < 2 || len(c.SeedIndAUC) < 2 {
				fmt.Fprintf(tw, "%s\t%s\t%d seeds failed: %s\t\t\t%s\n", c.Design, c.Variant, len(c.Errors), firstError(c.Errors), verdict)
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%.4f\t%.4f\t%s\t%s%s\n", c.Design, c.Variant, c.MeanAUC, c.MeanIndAUC,
				mark(fmt.Sprintf("%+.4f ± %.4f", c.Diff.Mean, c.Diff.HalfWidth), c.Diff.Contains(0)), verdict, errorNote(c.Errors))
		}
		fmt.Fprintf(tw, "leak harness: %d of %d cells fail\n", failed, cells)
	}
	return tw.Flush()
}

// mark flags a number whose check failed with a trailing "*".
func mark(s string, ok bool) string { return s + markSuffix(ok) }

func markSuffix(ok bool) string {
	if ok {
		return ""
	}
	return " *"
}

func firstError(errs []string) string {
	if len(errs) == 0 {
		return ""
	}
	return errs[0]
}

func errorNote(errs []string) string {
	if len(errs) == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d seeds failed: %s)", len(errs), errs[0])
}

// oneRunNote lists a cell's one-run null counts (the bernoulli design): "; one-run-steinke 1/20 …".
func oneRunNote(rs []OneRunNull) string {
	s := ""
	for _, o := range rs {
		s += fmt.Sprintf("; %s %d/%d%s", o.Method, o.Positive, o.Seeds, markSuffix(o.Pass))
	}
	return s
}
