package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/internal/vectortest"
	"github.com/pmeter/pmeter/npy"
	"github.com/pmeter/pmeter/validity"
)

// TestDUCICommand runs 'pmeter duci' on a bundle of the duci_fixed_a case: compat reproduces Privacy
// Meter's prediction for a target (fixed a, its references), the default writes an interval that
// covers the truth, and the usage errors are usage errors.
func TestDUCICommand(t *testing.T) {
	c := vectortest.Load(t, "duci_fixed_a")
	dir := attackBundle(t, map[string]*npy.Array{
		"signals":     c.Array(t, "all_signals"),
		"memberships": c.Array(t, "all_memberships"),
		"population":  c.Array(t, "population_signals"),
	})
	n := c.Int(t, "N")
	mask := make([]bool, n)
	for i := range mask {
		mask[i] = true
	}
	maskFile := filepath.Join(t.TempDir(), "mask.npy")
	if err := npy.WriteFile(maskFile, npy.NewBool(mask, n)); err != nil {
		t.Fatal(err)
	}
	read := func(out string) map[string]any {
		b, err := os.ReadFile(filepath.Join(out, "duci.json"))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	// Target 2 (true 0.5) with references 4, 6, as in the case.
	out := t.TempDir()
	code, stdout, stderr := attackCLI(t, "duci", dir, "--dataset", maskFile, "--target", "2", "--references", "4,6",
		"--set", "offline_a=0.2", "--compat", "privacy-meter", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	m := read(out)
	want := c.F64(t, "prediction")[2]
	if got := m["proportion"].(float64); !vectortest.Close(got, want, 1e-9, 1e-12) {
		t.Errorf("compat proportion %v, want Privacy Meter's %v", got, want)
	}
	if m["method"] != "duci-rmia" || m["ci_low"] != nil {
		t.Errorf("compat duci.json: %v", m)
	}
	if !strings.Contains(stdout, "wrote") {
		t.Errorf("stdout: %s", stdout)
	}
	// The default over an index range (every record), the references chosen by default.
	code, _, stderr = attackCLI(t, "duci", dir, "--dataset", "0-499", "--target", "3", "--resamples", "200", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	m = read(out)
	for _, k := range []string{"proportion", "ci_low", "ci_high", "threshold", "tpr", "fpr", "method"} {
		if _, ok := m[k]; !ok {
			t.Errorf("duci.json lacks %s: %v", k, m)
		}
	}
	if lo, hi := m["ci_low"].(float64), m["ci_high"].(float64); lo > 1 || hi < 1 {
		t.Errorf("target 3 used the whole dataset; interval [%v, %v]", lo, hi)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"duci", dir, "--out", out}, "--dataset is required"},
		{[]string{"duci", dir, "--dataset", "0-999", "--out", out}, "--dataset"},
		{[]string{"duci", dir, "--dataset", "0-9", "--attack", "nosuch", "--out", out}, "--attack"},
		{[]string{"duci", dir, "--dataset", "0-9", "--compat", "lira", "--out", out}, "--compat"},
		{[]string{"duci", dir, "--dataset", "0-9", "--references", "9", "--out", out}, "--references"},
		{[]string{"duci", dir, "--dataset", "0-9", "--interval", "bca", "--out", out}, `--interval: interval "bca": want conditional (the default) or conservative`},
		{[]string{"duci", dir, "--dataset", "0-9", "--interval", "conservative", "--compat", "privacy-meter", "--out", out}, "--interval does not apply with --compat privacy-meter"},
	} {
		code, _, stderr := attackCLI(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
	// --interval chooses the construction, which duci.json and the printed line name.
	for _, tc := range []struct{ flag, want string }{{"", "conditional"}, {"conditional", "conditional"}, {"conservative", "conservative"}} {
		args := []string{"duci", dir, "--dataset", "0-499", "--target", "3", "--resamples", "50", "--out", out}
		if tc.flag != "" {
			args = append(args, "--interval", tc.flag)
		}
		code, stdout, stderr := attackCLI(t, args...)
		if code != 0 {
			t.Fatalf("--interval %q: exit %d: %s", tc.flag, code, stderr)
		}
		iv, _ := read(out)["interval"].(map[string]any)
		if iv["method"] != tc.want || !strings.Contains(stdout, "(95% "+tc.want+" interval [") {
			t.Errorf("--interval %q: duci.json interval %v, stdout %q; want %s", tc.flag, iv, stdout, tc.want)
		}
	}
	// A duci.json that 'pmeter duci' did not write is not overwritten.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "duci.json"), []byte("{}"), 0o644)
	if code, _, _ := attackCLI(t, "duci", dir, "--dataset", "0-9", "--out", other); code != 2 {
		t.Errorf("overwrote a foreign duci.json: exit %d", code)
	}
}

// TestDUCICommandText runs 'pmeter duci' on an LLM bundle (text DUCI): the target LM was fine-tuned on
// 30 % of the corpus; duci.json says modality text, the true proportion (labels.npy) and an interval
// that covers it; a --target other than 0 and a population sequence in --dataset are usage errors.
func TestDUCICommandText(t *testing.T) {
	b := validity.GenerateLLMUsage(3, 300, 100, 4, 0.3)
	dir := filepath.Join(t.TempDir(), "bundle")
	if err := b.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	code, stdout, stderr := attackCLI(t, "duci", dir, "--resamples", "200", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(filepath.Join(out, "duci.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Modality    string   `json:"modality"`
		DatasetSize int      `json:"dataset_size"`
		True        *float64 `json:"true_proportion"`
		Lo          *float64 `json:"ci_low"`
		Hi          *float64 `json:"ci_high"`
		Refs        []int    `json:"references"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m.Modality != "text" || m.DatasetSize != 300 || m.True == nil || *m.True != 0.3 || m.Lo == nil || len(m.Refs) != 4 {
		t.Fatalf("duci.json: %s", data)
	}
	if *m.Lo > 0.3 || *m.Hi < 0.3 || *m.Hi-*m.Lo > 0.3 {
		t.Errorf("interval [%v, %v] for a true proportion of 0.3", *m.Lo, *m.Hi)
	}
	if !strings.Contains(stdout, "300 sequences") || !strings.Contains(stdout, "true proportion 0.3000") {
		t.Errorf("stdout: %s", stdout)
	}
	for _, args := range [][]string{{"--target", "1"}, {"--dataset", "0-309"}, {"--references", "0,1"}, {"--compat", "privacy-meter"}, {"--dataset", "0-10,5"}} {
		code, _, stderr := attackCLI(t, append([]string{"duci", dir, "--out", t.TempDir(), "--resamples", "20"}, args...)...)
		if code == 0 || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want an error", args, code, stderr)
		}
	}
}
