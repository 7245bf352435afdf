package dataset

import (
	"bufio"
	"io"
	"strings"
	"testing"
)

func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", 100)
	// A 16-byte buffer forces the long-line path.
	lr := newLineReader(bufio.NewReaderSize(strings.NewReader("a\r\n"+long+"\n\nlast"), 16))
	want := []string{"a", long, "", "last"}
	for i, w := range want {
		b, err := lr.next()
		if err != nil || string(b) != w || lr.line != i+1 {
			t.Fatalf("line %d: %q, %v (line number %d)", i+1, b, err, lr.line)
		}
	}
	if _, err := lr.next(); err != io.EOF {
		t.Fatalf("after the last line: %v", err)
	}
}

func TestParseNumbers(t *testing.T) {
	for _, c := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"0", 0, true}, {"-12", -12, true}, {"+7", 7, true}, {"1.5", 1.5, true}, {"1e3", 1000, true},
		{"", 0, false}, {"-", 0, false}, {"abc", 0, false}, {"inf", 0, false}, {"NaN", 0, false},
		{"1e400", 0, false}, {"12345678901234567890", 12345678901234567890, true},
	} {
		got, err := parseFloat([]byte(c.in))
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("parseFloat(%q) = %v, %v", c.in, got, err)
		}
	}
	for _, c := range []struct {
		in      string
		classes int
		want    int
		ok      bool
	}{
		{"1", 100, 0, true}, {`"30"`, 30, 29, true}, {" 5 ", 10, 4, true}, {"3.0", 10, 2, true},
		{"0", 10, 0, false}, {"11", 10, 0, false}, {"2.5", 10, 0, false}, {"", 10, 0, false},
	} {
		got, err := parseLabel([]byte(c.in), c.classes)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("parseLabel(%q, %d) = %v, %v", c.in, c.classes, got, err)
		}
	}
}
