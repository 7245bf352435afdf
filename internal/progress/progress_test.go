package progress

import (
	"bytes"
	"strings"
	"testing"
)

func TestPlainLinesWhenNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "train models", 3)
	b.Add(1)
	b.Add(2)
	b.Finish()
	b.Finish() // idempotent
	out := buf.String()
	if strings.Contains(out, "\r") {
		t.Errorf("plain output contains a carriage return: %q", out)
	}
	if !strings.HasPrefix(out, "train models: started (3)\n") {
		t.Errorf("output does not start with the start line: %q", out)
	}
	if !strings.Contains(out, "train models: done 3/3 in ") || strings.Count(out, "done") != 1 {
		t.Errorf("output lacks exactly one final line: %q", out)
	}
}
