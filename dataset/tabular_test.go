package dataset

import (
	"fmt"
	"strings"
	"testing"
)

// labelFirstLines returns CSV lines "label,f1,…,fdim" where feature j of record i is (i+j)%3 == 0
// and labels are given 1-based; quote wraps the label in double quotes (Location's format).
func labelFirstLines(labels []int, dim int, quote bool) string {
	var b strings.Builder
	for i, y := range labels {
		if quote {
			fmt.Fprintf(&b, "%q", fmt.Sprint(y))
		} else {
			fmt.Fprint(&b, y)
		}
		for j := range dim {
			fmt.Fprintf(&b, ",%d", boolInt((i+j)%3 == 0))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func checkBinaryPattern(t *testing.T, what string, d *Dataset, dim int) {
	t.Helper()
	if d.Dim() != dim {
		t.Fatalf("%s: %d features, want %d", what, d.Dim(), dim)
	}
	for i := range d.Len() {
		for j, v := range d.Row(i) {
			if v != float32(boolInt((i+j)%3 == 0)) {
				t.Fatalf("%s: record %d feature %d = %v", what, i, j, v)
			}
		}
	}
}

func TestLoadPurchase100(t *testing.T) {
	dir := t.TempDir()
	text := labelFirstLines([]int{1, 100, 42, 7}, PurchaseFeatures, false)
	for _, p := range []string{
		write(t, dir, "dataset_purchase", []byte(text)),
		write(t, dir, "dataset_purchase.gz", []byte(text)),
		write(t, dir, "crlf", []byte(strings.ReplaceAll(text, "\n", "\r\n")+"\n\n")),
		writeTgz(t, dir, "dataset_purchase.tgz", [][2]string{{"README", "x"}, {"dataset_purchase", text}}),
	} {
		d, err := LoadPurchase100(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
		sameInts(t, p, d.Y, []int{0, 99, 41, 6})
		if d.Classes != 100 {
			t.Errorf("%s: %d classes", p, d.Classes)
		}
		checkBinaryPattern(t, p, d, PurchaseFeatures)
	}
}

func TestLoadLocation(t *testing.T) {
	dir := t.TempDir()
	text := labelFirstLines([]int{30, 1, 5}, LocationFeatures, true)
	for _, p := range []string{
		write(t, dir, "bangkok", []byte(text)),
		writeTgz(t, dir, "dataset_location.tgz", [][2]string{{"bangkok", text}}),
	} {
		d, err := LoadLocation(p)
		if err != nil {
			t.Fatal(err)
		}
		sameInts(t, p, d.Y, []int{29, 0, 4})
		if d.Classes != 30 {
			t.Errorf("%s: %d classes", p, d.Classes)
		}
		checkBinaryPattern(t, p, d, LocationFeatures)
	}
}

func TestLoadTexas100(t *testing.T) {
	dir := t.TempDir()
	var feats strings.Builder
	for i := range 3 {
		for j := range TexasFeatures {
			if j > 0 {
				feats.WriteByte(',')
			}
			fmt.Fprint(&feats, boolInt((i+j)%3 == 0))
		}
		feats.WriteByte('\n')
	}
	labels := "100\n1\n17\n"
	fp := write(t, dir, "feats", []byte(feats.String()))
	lp := write(t, dir, "labels.gz", []byte(labels))
	d, err := LoadTexas100(fp, lp)
	if err != nil {
		t.Fatal(err)
	}
	sameInts(t, "labels", d.Y, []int{99, 0, 16})
	checkBinaryPattern(t, "texas", d, TexasFeatures)

	tgz := writeTgz(t, dir, "dataset_texas.tgz", [][2]string{
		{"texas/100/labels", labels}, {"texas/100/feats", feats.String()},
	})
	a, err := LoadTexas100Archive(tgz)
	if err != nil {
		t.Fatal(err)
	}
	sameInts(t, "archive labels", a.Y, d.Y)
	sameFloats(t, "archive features", a.X, d.X)

	lp2 := write(t, dir, "labels2", []byte("100\n1\n"))
	_, err = LoadTexas100(fp, lp2)
	wantParseError(t, "more rows than labels", err, 3, 0, "feats", "more feature rows than the 2 labels")
	lp3 := write(t, dir, "labels3", []byte("100\n1\n2\n3\n"))
	_, err = LoadTexas100(fp, lp3)
	wantErr(t, "fewer rows than labels", err, "3 feature rows", "4 labels")
	lp4 := write(t, dir, "labels4", []byte("100\n0\n2\n"))
	_, err = LoadTexas100(fp, lp4)
	wantParseError(t, "label 0", err, 2, 1, "labels4", "label 0 outside 1..100")
}

func TestLabelFirstErrors(t *testing.T) {
	dir := t.TempDir()
	good := labelFirstLines([]int{1, 2, 3}, PurchaseFeatures, false)
	lines := strings.Split(good, "\n")
	edit := func(line int, f func(string) string) string {
		l := append([]string(nil), lines...)
		l[line-1] = f(l[line-1])
		return strings.Join(l, "\n")
	}
	tests := []struct {
		name        string
		text        string
		line, field int
		want        string
	}{
		{"label 0", edit(2, func(s string) string { return "0" + s[1:] }), 2, 1, "label 0 outside 1..100"},
		{"label 101", edit(3, func(s string) string { return "101" + s[1:] }), 3, 1, "label 101 outside 1..100"},
		{"label text", edit(1, func(s string) string { return "x" + s[1:] }), 1, 1, `label "x" is not an integer`},
		{"non-numeric feature", edit(2, func(s string) string { return s[:len(s)-1] + "a" }), 2, 601, `"a" is not a number`},
		{"empty feature", edit(1, func(s string) string { return strings.Replace(s, ",1,", ",,", 1) }), 1, 2, "empty field"},
		{"short row", edit(3, func(s string) string { return s[:len(s)-2] }), 3, 0, "599 features, want 600"},
		{"long row", edit(2, func(s string) string { return s + ",1" }), 2, 0, "more than 600 features"},
		{"label only", edit(1, func(string) string { return "5" }), 1, 0, "one field"},
		{"beyond float32", edit(2, func(s string) string { return strings.Replace(s, ",1,", ",3.5e38,", 1) }), 2, 4, `"3.5e38" is beyond the range of a float32 feature`},
		{"NaN", edit(1, func(s string) string { return strings.Replace(s, ",1,", ",nan,", 1) }), 1, 2, "not a finite number"},
	}
	for _, tt := range tests {
		p := write(t, dir, "dataset_purchase", []byte(tt.text))
		_, err := LoadPurchase100(p)
		wantParseError(t, tt.name, err, tt.line, tt.field, tt.want, p)
	}
	p := write(t, dir, "empty", nil)
	_, err := LoadPurchase100(p)
	wantErr(t, "empty", err, "no records")
	tgz := writeTgz(t, dir, "wrong.tgz", [][2]string{{"other", good}})
	_, err = LoadPurchase100(tgz)
	wantErr(t, "archive without member", err, "no expected member", "other")
	// A Purchase file read as Location has the wrong width.
	p = write(t, dir, "purchase_as_location", []byte(good))
	_, err = LoadLocation(p)
	wantParseError(t, "purchase as location", err, 1, 0, "more than 446 features")
}
