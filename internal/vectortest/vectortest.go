// Package vectortest loads the reference test vectors of ../shared/vectors (made by running the original
// Python implementations) and compares results against them at each case's stated tolerance.
//
// The vectors live beside the repository, not in it. Their directory is $PMETER_VECTORS if set, else
// ../shared/vectors relative to the module root. When it is absent, tests skip with a message, except
// under CI (CI=true), where a missing directory is a failure.
package vectortest

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/npy"
)

// Dir returns the vectors directory, or skips (fails under CI) when it cannot be found.
func Dir(tb testing.TB) string {
	tb.Helper()
	if d := os.Getenv("PMETER_VECTORS"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			v := filepath.Join(d, "..", "shared", "vectors")
			if _, err := os.Stat(filepath.Join(v, "index.json")); err == nil {
				return v
			}
			break
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	msg := "reference vectors not found: set PMETER_VECTORS or place them at ../shared/vectors beside the repository"
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
	return ""
}

// Cases lists the case names (directory names) that start with prefix, sorted. It reads the directory
// rather than index.json so that cases added later are picked up.
func Cases(tb testing.TB, prefix string) []string {
	tb.Helper()
	dir := Dir(tb)
	ents, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), prefix) {
			if _, err := os.Stat(filepath.Join(dir, e.Name(), "case.json")); err == nil {
				out = append(out, e.Name())
			}
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		tb.Fatalf("no reference vector case starts with %q in %s", prefix, dir)
	}
	return out
}

// Tolerance is one entry of a case's ordered tolerance list.
type Tolerance struct {
	Pattern string  `json:"pattern"`
	Rtol    float64 `json:"rtol"`
	Atol    float64 `json:"atol"`
}

// Case is one loaded reference case.
type Case struct {
	Name      string
	Dir       string
	Params    map[string]any
	Tolerance []Tolerance
	Outputs   map[string]json.RawMessage
}

// Load reads case.json of the named case.
func Load(tb testing.TB, name string) *Case {
	tb.Helper()
	dir := filepath.Join(Dir(tb), name)
	b, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var raw struct {
		Params    map[string]any             `json:"params"`
		Tolerance []Tolerance                `json:"tolerance"`
		Outputs   map[string]json.RawMessage `json:"outputs"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		tb.Fatalf("%s/case.json: %v", name, err)
	}
	return &Case{Name: name, Dir: dir, Params: raw.Params, Tolerance: raw.Tolerance, Outputs: raw.Outputs}
}

// Has reports whether the case has the file name.npy.
func (c *Case) Has(name string) bool {
	_, err := os.Stat(filepath.Join(c.Dir, name+".npy"))
	return err == nil
}

// Array reads name.npy of the case.
func (c *Case) Array(tb testing.TB, name string) *npy.Array {
	tb.Helper()
	a, err := npy.ReadFile(filepath.Join(c.Dir, name+".npy"))
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// F64 reads name.npy as float64 values.
func (c *Case) F64(tb testing.TB, name string) []float64 {
	tb.Helper()
	return c.Array(tb, name).Float64s()
}

// Bools reads name.npy as booleans.
func (c *Case) Bools(tb testing.TB, name string) []bool {
	tb.Helper()
	b, err := c.Array(tb, name).Bools()
	if err != nil {
		tb.Fatalf("%s/%s: %v", c.Name, name, err)
	}
	return b
}

// Ints reads name.npy as int64 values.
func (c *Case) Ints(tb testing.TB, name string) []int64 {
	tb.Helper()
	v, err := c.Array(tb, name).Int64s()
	if err != nil {
		tb.Fatalf("%s/%s: %v", c.Name, name, err)
	}
	return v
}

// Float returns the numeric parameter key.
func (c *Case) Float(tb testing.TB, key string) float64 {
	tb.Helper()
	v, ok := c.Params[key].(float64)
	if !ok {
		tb.Fatalf("%s: parameter %q is %v, not a number", c.Name, key, c.Params[key])
	}
	return v
}

// Int returns the integer parameter key.
func (c *Case) Int(tb testing.TB, key string) int {
	tb.Helper()
	return int(c.Float(tb, key))
}

// Floats returns the numeric list parameter key.
func (c *Case) Floats(tb testing.TB, key string) []float64 {
	tb.Helper()
	l, ok := c.Params[key].([]any)
	if !ok {
		tb.Fatalf("%s: parameter %q is %v, not a list", c.Name, key, c.Params[key])
	}
	out := make([]float64, len(l))
	for i, v := range l {
		f, ok := v.(float64)
		if !ok {
			tb.Fatalf("%s: parameter %q[%d] is %v, not a number", c.Name, key, i, v)
		}
		out[i] = f
	}
	return out
}

// Tol returns the tolerance for the output file stem name: the first pattern that matches wins.
func (c *Case) Tol(name string) Tolerance {
	for _, t := range c.Tolerance {
		if ok, _ := path.Match(t.Pattern, name); ok {
			return t
		}
	}
	return Tolerance{Pattern: "(default)", Rtol: 1e-9}
}

// Check compares got with the expected output name.npy: the shapes (when shape is given) and every element at
// the case's tolerance for name. NaN matches only NaN and ±Inf only the same infinity. Integer and bool
// expected files must match exactly.
func (c *Case) Check(tb testing.TB, name string, got []float64, shape ...int) {
	tb.Helper()
	exp := c.Array(tb, name)
	if len(shape) > 0 && !slices.Equal(shape, exp.Shape) {
		tb.Errorf("%s/%s: shape %s, want %s", c.Name, name, npy.ShapeString(shape), npy.ShapeString(exp.Shape))
		return
	}
	e := exp.Float64s()
	if len(got) != len(e) {
		tb.Errorf("%s/%s: %d values, want %d", c.Name, name, len(got), len(e))
		return
	}
	tol := c.Tol(name)
	if exp.Kind != npy.Float64 && exp.Kind != npy.Float32 {
		tol = Tolerance{Pattern: "(integer)"}
	}
	bad := 0
	for i := range e {
		if !Close(got[i], e[i], tol.Rtol, tol.Atol) {
			if bad < 5 {
				tb.Errorf("%s/%s[%d] = %.17g, want %.17g (rtol %g, atol %g)", c.Name, name, i, got[i], e[i], tol.Rtol, tol.Atol)
			}
			bad++
		}
	}
	if bad > 5 {
		tb.Errorf("%s/%s: %d of %d elements differ", c.Name, name, bad, len(e))
	}
}

// CheckBool compares got with the bool file name.npy exactly.
func (c *Case) CheckBool(tb testing.TB, name string, got []bool) {
	tb.Helper()
	e := c.Bools(tb, name)
	if len(got) != len(e) {
		tb.Errorf("%s/%s: %d values, want %d", c.Name, name, len(got), len(e))
		return
	}
	for i := range e {
		if got[i] != e[i] {
			tb.Errorf("%s/%s[%d] = %v, want %v", c.Name, name, i, got[i], e[i])
			return
		}
	}
}

// CheckInt compares got with the integer file name.npy exactly.
func (c *Case) CheckInt(tb testing.TB, name string, got []int64) {
	tb.Helper()
	e := c.Ints(tb, name)
	if len(got) != len(e) {
		tb.Errorf("%s/%s: %d values, want %d", c.Name, name, len(got), len(e))
		return
	}
	for i := range e {
		if got[i] != e[i] {
			tb.Errorf("%s/%s[%d] = %d, want %d", c.Name, name, i, got[i], e[i])
			return
		}
	}
}

// Close reports whether got matches exp: NaN only NaN, ±Inf only the same infinity, otherwise
// |got-exp| <= atol + rtol*|exp|.
func Close(got, exp, rtol, atol float64) bool {
	switch {
	case math.IsNaN(exp):
		return math.IsNaN(got)
	case math.IsInf(exp, 0):
		return got == exp
	case math.IsNaN(got) || math.IsInf(got, 0):
		return false
	}
	return math.Abs(got-exp) <= atol+rtol*math.Abs(exp)
}

// String describes a tolerance for messages.
func (t Tolerance) String() string {
	return fmt.Sprintf("%s rtol=%g atol=%g", t.Pattern, t.Rtol, t.Atol)
}
