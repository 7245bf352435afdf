package report

import (
	"encoding/csv"
	"io"
	"math"
	"strconv"
	"strings"
)

// writeRecordsCSV writes records.csv: a header, then one row per input record in input order, with the
// columns
//
//	id          the record's dataset index
//	target      the target model of the row
//	label       the class label (empty when negative)
//	class       the class name (empty when unknown)
//	member      true, false, or empty when unknown
//	score_NAME  one column per attack, in input order: the attack's score (higher = more likely a
//	            member), shortest round-trip decimal; "inf" and "-inf" for infinities
//	risk_rank   the rank of the row by the ranking attack's score (summary.json settings.ranked_by),
//	            1 = most likely a member; ties share the smallest rank
//	risk_fpr    the fraction of non-members scoring at least as high under that attack (the false positive
//	            rate of a threshold that flags this record); empty when no non-member is known
//
// Text taken from the user's data (class names, attack names in the header) is escaped against formula
// injection with textCell; the numeric columns hold plain numbers.
func writeRecordsCSV(w io.Writer, a *analysis) error {
	cw := csv.NewWriter(w)
	header := []string{"id", "target", "label", "class", "member"}
	for _, at := range a.in.Attacks {
		header = append(header, "score_"+at.Name)
	}
	header = append(header, "risk_rank", "risk_fpr")
	for i, h := range header {
		header[i] = textCell(h)
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	row := make([]string, len(header))
	for i, r := range a.in.Records {
		row = row[:0]
		label, class := "", ""
		if r.Label >= 0 {
			label, class = strconv.Itoa(r.Label), textCell(a.in.className(r.Label))
		}
		member := ""
		if r.Member != nil {
			member = strconv.FormatBool(*r.Member)
		}
		row = append(row, strconv.Itoa(r.ID), strconv.Itoa(r.Target), label, class, member)
		for _, at := range a.in.Attacks {
			row = append(row, formatScore(at.Scores[i]))
		}
		fpr := ""
		if !math.IsNaN(a.fpr[i]) {
			fpr = strconv.FormatFloat(a.fpr[i], 'g', -1, 64)
		}
		row = append(row, strconv.Itoa(a.rank[i]), fpr)
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// formatScore formats a score as the shortest decimal that reads back exactly; "inf", "-inf" for
// infinities (which Python's float and pandas read).
func formatScore(x float64) string {
	switch {
	case math.IsInf(x, 1):
		return "inf"
	case math.IsInf(x, -1):
		return "-inf"
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// textCell escapes a text cell against formula injection (OWASP, "CSV Injection"): a cell that starts
// with '=', '+', '-', '@', a tab or a carriage return is prefixed with a single quote, so that a
// spreadsheet shows it as text instead of evaluating it. Only text columns go through it; a number,
// such as a negative score, is written as it is.
func textCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
