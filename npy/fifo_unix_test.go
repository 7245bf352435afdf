//go:build unix

package npy

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
)

// TestReadFileFIFO: a file of unknown size (a named pipe) is read as it arrives.
func TestReadFileFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pipe.npy")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	want := NewFloat64([]float64{1, 2, 3, 4, 5, 6}, 2, 3)
	var buf bytes.Buffer
	if err := Encode(&buf, want); err != nil {
		t.Fatal(err)
	}
	go func() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		f.Write(buf.Bytes())
		f.Close()
	}()
	got, err := ReadFileWith(path, ReadOptions{Axes: []int{1, 0}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, NewFloat64([]float64{1, 4, 2, 5, 3, 6}, 3, 2)) {
		t.Errorf("read %+v", got)
	}
}
