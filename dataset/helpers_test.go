package dataset

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// write creates dir/name holding data, gzipped when name ends in ".gz", and returns its path.
func write(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if strings.HasSuffix(name, ".gz") {
		data = gz(t, data)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gz(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// writeTgz creates dir/name as a gzipped tar archive of the given members (name → content).
func writeTgz(t testing.TB, dir, name string, members [][2]string) string {
	t.Helper()
	return write(t, dir, name+".gz", tarBytes(t, members))
}

// tarBytes returns a tar archive of the members (name, content).
func tarBytes(t testing.TB, members [][2]string) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, m := range members {
		if err := tw.WriteHeader(&tar.Header{Name: m[0], Mode: 0o644, Size: int64(len(m[1])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(m[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// wantErr checks that err is non-nil and contains every substring.
func wantErr(t *testing.T, what string, err error, subs ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want one containing %q", what, subs)
		return
	}
	for _, s := range subs {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%s: error %q lacks %q", what, err, s)
		}
	}
}

// wantParseError checks that err is a *ParseError at the given line and field (0 = any).
func wantParseError(t *testing.T, what string, err error, line, field int, subs ...string) {
	t.Helper()
	wantErr(t, what, err, subs...)
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Errorf("%s: error %v is not a *ParseError", what, err)
		return
	}
	if pe.Line != line || (field != 0 && pe.Field != field) {
		t.Errorf("%s: error at line %d field %d, want line %d field %d (%v)", what, pe.Line, pe.Field, line, field, err)
	}
}

func sameFloats(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: value %d is %v, want %v", what, i, got[i], want[i])
		}
	}
}

func sameInts(t *testing.T, what string, got, want []int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values %v, want %d %v", what, len(got), got, len(want), want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: %v, want %v", what, got, want)
		}
	}
}
