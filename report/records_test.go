package report

import (
	"context"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

func TestRecordsCSV(t *testing.T) {
	in := fakeInput(11, 250, fakeNone)
	in.Records[3].Member = nil
	in.Records[4].Label = -1
	in.Attacks[1].Scores[7] = math.Inf(1)
	in.Attacks[1].Scores[8] = math.Inf(-1)
	in.Attacks[2].Name = "rmia, offline" // needs quoting
	dir := t.TempDir()
	s, err := Build(context.Background(), in, dir, Options{RankBy: "lira", Bootstrap: testOptions.Bootstrap})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, RecordsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := []string{"id", "target", "label", "class", "member", "score_loss", "score_lira", "score_rmia, offline", "score_entropy", "risk_rank", "risk_fpr"}
	if !slices.Equal(rows[0], wantHeader) {
		t.Fatalf("header %q, want %q", rows[0], wantHeader)
	}
	if len(rows) != len(in.Records)+1 {
		t.Fatalf("%d rows, want %d", len(rows)-1, len(in.Records))
	}
	lira := in.Attacks[1].Scores
	var non []float64
	for i, r := range in.Records {
		if r.Member != nil && !*r.Member {
			non = append(non, lira[i])
		}
	}
	for i, r := range in.Records {
		row := rows[i+1]
		member := map[bool]string{true: "true", false: "false"}
		wantMember := ""
		if r.Member != nil {
			wantMember = member[*r.Member]
		}
		wantLabel, wantClass := strconv.Itoa(r.Label), in.ClassNames[max(r.Label, 0)]
		if r.Label < 0 {
			wantLabel, wantClass = "", ""
		}
		if row[0] != strconv.Itoa(r.ID) || row[1] != "0" || row[2] != wantLabel || row[3] != wantClass || row[4] != wantMember {
			t.Errorf("row %d: %q; want id %d, label %q, class %q, member %q", i, row[:5], r.ID, wantLabel, wantClass, wantMember)
		}
		for k, at := range in.Attacks {
			got, err := strconv.ParseFloat(row[5+k], 64)
			if err != nil || got != at.Scores[i] {
				t.Errorf("row %d: score_%s = %q (%v), want %v exactly", i, at.Name, row[5+k], err, at.Scores[i])
			}
		}
		rank := 1
		above := 0
		for _, x := range lira {
			if x > lira[i] {
				rank++
			}
		}
		for _, x := range non {
			if x >= lira[i] {
				above++
			}
		}
		if row[9] != strconv.Itoa(rank) {
			t.Errorf("row %d: risk_rank %s, want %d", i, row[9], rank)
		}
		if fpr, err := strconv.ParseFloat(row[10], 64); err != nil || fpr != float64(above)/float64(len(non)) {
			t.Errorf("row %d: risk_fpr %s, want %v", i, row[10], float64(above)/float64(len(non)))
		}
	}
	if rows[8][6] != "inf" || rows[9][6] != "-inf" || rows[8][9] != "1" {
		t.Errorf("infinite scores: rows %q and %q", rows[8], rows[9])
	}
	if s.Settings.RankedBy != "lira" {
		t.Errorf("ranked by %q", s.Settings.RankedBy)
	}
}

// TestRecordsCSVFormulaInjection: class names that a spreadsheet would evaluate are escaped with a
// leading quote; negative scores stay numbers.
func TestRecordsCSVFormulaInjection(t *testing.T) {
	in := fakeInput(12, 60, fakeNone)
	in.ClassNames = []string{"=HYPERLINK(\"http://x\",\"y\")", "+1", "-2", "@SUM(A1)", "\tcmd", "\rcmd", "cat", "a=b", "ship", "-"}
	want := []string{"'=HYPERLINK(\"http://x\",\"y\")", "'+1", "'-2", "'@SUM(A1)", "'\tcmd", "'\rcmd", "cat", "a=b", "ship", "'-"}
	in.Attacks[0].Scores[0] = -1.5
	dir := t.TempDir()
	if _, err := Build(context.Background(), in, dir, testOptions); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, RecordsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	negative := 0
	for i, r := range in.Records {
		row := rows[i+1]
		if row[3] != want[r.Label] {
			t.Errorf("row %d: class %q, want %q", i, row[3], want[r.Label])
		}
		for k, at := range in.Attacks {
			if at.Scores[i] < 0 {
				negative++
				if got, err := strconv.ParseFloat(row[5+k], 64); err != nil || got != at.Scores[i] {
					t.Errorf("row %d: negative score_%s written as %q, want %v", i, at.Name, row[5+k], at.Scores[i])
				}
			}
		}
	}
	if negative == 0 {
		t.Fatal("no negative score was checked")
	}
}
