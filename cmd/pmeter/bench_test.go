package main

import (
	"strings"
	"testing"
)

func TestBenchTrain(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model for a second")
	}
	code, out, errs := cli(t, "bench", "train", "-parts", "fashion", "-no-baseline", "-repeats", "1")
	if code != 0 {
		t.Fatalf("pmeter bench train: exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"backend", "fashion", "samples/s", "test accuracy"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestBenchErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench"}, "no benchmark"},
		{[]string{"bench", "gpu"}, "unknown benchmark"},
		{[]string{"bench", "train", "-parts", "bogus", "-no-baseline"}, "bogus"},
		{[]string{"bench", "train", "-nope"}, "nope"},
	} {
		code, _, errs := cli(t, tc.args...)
		if code == 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("pmeter %s: exit %d, stderr %q; want an error mentioning %q", strings.Join(tc.args, " "), code, errs, tc.want)
		}
	}
}
