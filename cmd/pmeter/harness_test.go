package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pmeter/pmeter/dpaudit"
	"github.com/pmeter/pmeter/validity"
)

// TestHarnessFinish checks the one ending of the statistical harnesses: the report to --json, the
// elapsed time, and the failed cells, one per line, as the error.
func TestHarnessFinish(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name    string
		json    string
		failed  []string
		out     []string // in stdout
		wantErr string   // the error; empty: none
	}{
		{name: "pass", out: []string{"elapsed 3s"}},
		{name: "pass with --json", json: filepath.Join(dir, "a.json"), out: []string{"wrote " + filepath.Join(dir, "a.json"), "elapsed 3s"}},
		{name: "fail", json: filepath.Join(dir, "b.json"), failed: []string{"cell one", "cell two"},
			out: []string{"wrote " + filepath.Join(dir, "b.json"), "elapsed 3s"}, wantErr: "2 cells fail:\n  cell one\n  cell two"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := &harnessFlags{json: c.json}
			var stdout bytes.Buffer
			err := h.finish(map[string]int{"cells": 2}, c.failed, 3200*time.Millisecond, &stdout)
			switch {
			case c.wantErr == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case c.wantErr != "" && (err == nil || err.Error() != c.wantErr):
				t.Errorf("error %v, want %q", err, c.wantErr)
			}
			for _, w := range c.out {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			if c.json == "" {
				return
			}
			var back map[string]int
			if b, err := os.ReadFile(c.json); err != nil || json.Unmarshal(b, &back) != nil || back["cells"] != 2 {
				t.Errorf("%s: %v %v, want the report", c.json, back, err)
			}
		})
	}
}

// TestHarnessFlagsCheck: bad --alpha and --workers are usage errors; an existing --json file needs --force.
func TestHarnessFlagsCheck(t *testing.T) {
	existing := filepath.Join(t.TempDir(), "x.json")
	if err := os.WriteFile(existing, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args  []string
		want  string // in the error; empty: none
		usage bool
	}{
		{args: nil},
		{args: []string{"--alpha", "1"}, want: "--alpha 1: want a value in (0, 1)", usage: true},
		{args: []string{"--workers", "-2"}, want: "--workers -2", usage: true},
		{args: []string{"--json", existing}, want: existing + " exists; use --force"},
		{args: []string{"--json", existing, "--force"}},
	} {
		fs := flag.NewFlagSet("h", flag.ContinueOnError)
		h := newHarnessFlags(fs)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		err := h.check()
		if c.want == "" {
			if err != nil {
				t.Errorf("%v: %v", c.args, err)
			}
			continue
		}
		if _, isUsage := err.(usageError); err == nil || !strings.Contains(err.Error(), c.want) || isUsage != c.usage {
			t.Errorf("%v: error %v (usage error: %v), want %q (usage error: %v)", c.args, err, isUsage, c.want, c.usage)
		}
	}
}

// TestFlagModes: every mode of 'pmeter validate', and 'pmeter dp soundness', refuses a flag it does not
// take (exit 2, naming the flag and the mode) and accepts one it takes. Each run stops before any
// harness work: the refusal comes first, and an accepted flag reaches the check of --json, an existing
// file without --force (exit 1).
func TestFlagModes(t *testing.T) {
	existing := filepath.Join(t.TempDir(), "x.json")
	if err := os.WriteFile(existing, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mode string // the command line that selects the mode
		bad  string // a flag the mode does not take; empty: none (every flag but the switches applies)
		name string // the mode, as the refusal names it
		good string // a flag the mode takes
	}{
		{"validate", "", "", "--population 100"},
		{"validate --ranges", "--no-slow", "--ranges", "--permutations 5"},
		{"validate --llm", "--attacks loss", "--llm", "--alpha 0.1"},
		{"validate --llm", "--users", "--llm", "--records 100"},
		{"validate --users", "--alpha 0.1", "--users", "--no-slow"},
		{"validate --users", "--records 100", "--users", "--designs pairs"},
		{"validate --usage", "--population 10", "--usage", "--records 40"},
		{"validate --usage --llm", "--permutations 5", "--usage --llm", "--seed 3"},
		{"dp soundness", "--multi-runs 8", "dp soundness without --multi-run-groups", "--multi-run-groups 1 --multi-runs 8"},
	} {
		mode := strings.Fields(c.mode)
		if c.bad != "" {
			code, _, stderr := attackCLI(t, append(mode, strings.Fields(c.bad)...)...)
			flagName := strings.Fields(c.bad)[0]
			if want := flagName + " does not apply to " + c.name + ", whose flags are --"; code != 2 || !strings.Contains(stderr, want) {
				t.Errorf("%s %s: exit %d, stderr %q; want exit 2 and %q", c.mode, c.bad, code, stderr, want)
			}
		}
		args := append(append(mode, strings.Fields(c.good)...), "--json", existing)
		if code, _, stderr := attackCLI(t, args...); code != 1 || !strings.Contains(stderr, existing+" exists; use --force") {
			t.Errorf("%s %s: exit %d, stderr %q; want the flag accepted (exit 1: %s exists)", c.mode, c.good, code, stderr, existing)
		}
	}
}

// TestFlagModeSwitchOff: a mode switch given false (--usage=false) selects nothing, as if left out: every
// mode takes it, and the mode is the one the other switches select, which refuses the flags of the mode
// switched off.
func TestFlagModeSwitchOff(t *testing.T) {
	existing := filepath.Join(t.TempDir(), "x.json")
	if err := os.WriteFile(existing, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args string
		want string // in stderr: "" means taken (exit 1: the --json file exists)
	}{
		{"--usage=false --population 100", ""},
		{"--usage=false --llm=false --users=false --ranges=false --no-slow", ""},
		{"--usage --llm=false --resamples 5", ""},
		{"--llm --usage=false --alpha 0.1", ""},
		{"--users --ranges=false --designs pairs", ""},
		{"--ranges --users=false --permutations 5", ""},
		{"--usage=true --resamples 5", ""},
		{"--usage=false --resamples 5", "--resamples does not apply to the membership harness"},
		{"--usage --llm=false --model-spread 0.1", "--model-spread does not apply to --usage,"},
		{"--llm --users", "--users does not apply to --llm"}, // switched on: another mode's switch
		{"--users --no-slow=false --alpha 0.1", "--alpha does not apply to --users"},
	} {
		args := append(append([]string{"validate"}, strings.Fields(c.args)...), "--json", existing)
		code, _, stderr := attackCLI(t, args...)
		switch {
		case c.want == "" && (code != 1 || !strings.Contains(stderr, existing+" exists; use --force")):
			t.Errorf("validate %s: exit %d, stderr %q; want the flags taken (exit 1: %s exists)", c.args, code, stderr, existing)
		case c.want != "" && (code != 2 || !strings.Contains(stderr, c.want)):
			t.Errorf("validate %s: exit %d, stderr %q; want exit 2 and %q", c.args, code, stderr, c.want)
		}
	}
}

// TestHarnessJSONKeys: every report that a harness writes to --json (through harnessFlags.writeJSON) has
// snake_case keys only, at every depth: each report is filled with a value in every field (so that no
// omitempty field hides), written and read back. Params maps hold attack parameters, not keys of ours.
func TestHarnessJSONKeys(t *testing.T) {
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	for _, c := range []struct {
		name   string
		report any
	}{
		{"validate (membership, --ranges)", &validity.Report{}},
		{"validate --llm", &validity.LLMReport{}},
		{"validate --users", &validity.UserReport{}},
		{"validate --usage [--llm]", &validity.UsageReport{}},
		{"dp soundness", &[]dpaudit.SoundnessCell{}},
	} {
		fill(reflect.ValueOf(c.report).Elem())
		h := &harnessFlags{json: filepath.Join(t.TempDir(), "r.json")}
		if err := h.writeJSON(c.report, io.Discard); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(h.json)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		var walk func(path string, v any)
		walk = func(path string, v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, x := range v {
					if !snake.MatchString(k) {
						t.Errorf("%s: key %s%s is not snake_case", c.name, path, k)
					}
					if k != "params" {
						walk(path+k+".", x)
					}
				}
			case []any:
				for _, x := range v {
					walk(path, x)
				}
			}
		}
		walk("", v)
	}
}

// fill sets every field of v, at every depth, to a value that is not zero: slices and maps get one
// element, so that every key of a JSON encoding of v shows.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		v.SetMapIndex(k, e)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1)
	}
}
