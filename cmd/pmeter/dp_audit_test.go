package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/npy"
)

// dpAuditFiles writes scores and inclusions of n canaries (included ones score 2 higher) as S.npy and
// MASK.npy into a new directory.
func dpAuditFiles(t *testing.T, n int) (scores, mask string, s []float64, in []bool) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	s, in = make([]float64, n), make([]bool, n)
	for i := range s {
		in[i] = r.IntN(2) == 0
		s[i] = r.NormFloat64()
		if in[i] {
			s[i] += 2
		}
	}
	dir := attackBundle(t, map[string]*npy.Array{"S": npy.NewFloat64(s, n), "MASK": npy.NewBool(in, n)})
	return filepath.Join(dir, "S.npy"), filepath.Join(dir, "MASK.npy"), s, in
}

// dpAuditJSON runs 'pmeter dp audit ... --json' and decodes its output.
func dpAuditJSON(t *testing.T, args ...string) metric.EpsilonBound {
	t.Helper()
	code, stdout, stderr := attackCLI(t, append(append([]string{"dp", "audit"}, args...), "--json")...)
	if code != 0 {
		t.Fatalf("%v: exit %d, stderr %s", args, code, stderr)
	}
	var b metric.EpsilonBound
	if err := json.Unmarshal([]byte(stdout), &b); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, stdout)
	}
	return b
}

func TestDPAuditCounts(t *testing.T) {
	code, stdout, stderr := attackCLI(t, "dp", "audit", "--canaries", "1000", "--guesses", "100", "--correct", "90")
	want := fmt.Sprintf("ε ≥ %.4f at δ = 1e-5 with 95%% confidence (one-run-steinke: 90 of 100 guesses right on 1000 canaries)\n",
		metric.OneRunEpsilon(1000, 100, 90, 1e-5, 0.05))
	if code != 0 || stdout != want {
		t.Errorf("exit %d, stdout %q, want %q; stderr %s", code, stdout, want, stderr)
	}
	for _, tt := range []struct {
		args []string
		opt  metric.OneRunOptions
	}{
		{[]string{"--canaries", "1000", "--guesses", "100", "--correct", "90"}, metric.OneRunOptions{}},
		{[]string{"--canaries", "1000", "--guesses", "100", "--correct", "90", "--delta", "0", "--alpha", "0.01"}, metric.OneRunOptions{NoDelta: true, Alpha: 0.01}},
		{[]string{"--canaries", "1000", "--guesses", "100", "--correct", "90", "--method", "fdp", "--delta", "1e-6"}, metric.OneRunOptions{Stat: metric.StatFDP, Delta: 1e-6}},
		{[]string{"--canaries", "1000", "--guesses", "100", "--correct", "50", "--method", "fdp"}, metric.OneRunOptions{Stat: metric.StatFDP}},
		{[]string{"--canaries", "1000", "--guesses", "100", "--correct", "90", "--method", "fdp-approx"}, metric.OneRunOptions{Stat: metric.StatFDPApprox}},
		{[]string{"--canaries", "1000", "--guesses", "100", "--correct", "90", "--method", "fdp-approx", "--delta", "0"}, metric.OneRunOptions{Stat: metric.StatFDPApprox, NoDelta: true}},
	} {
		got := dpAuditJSON(t, tt.args...)
		want, err := metric.OneRunBound(1000, 100, got.Guesses.Correct, tt.opt)
		if err != nil {
			t.Fatal(err)
		}
		if got.Value != want.Value || got.Method != want.Method || got.Alpha != want.Alpha || got.Delta != want.Delta ||
			got.DPBound != want.DPBound || got.Guarantee != want.Guarantee || *got.Guesses != *want.Guesses {
			t.Errorf("%v: %+v, want %+v", tt.args, got, want)
		}
	}
	// compat=privacyguard: PrivacyGuard's 0.397 where there is no evidence (dp_fdp_one_run row 3), labelled.
	pg := dpAuditJSON(t, "--canaries", "1000", "--guesses", "10", "--correct", "0", "--method", "fdp", "--compat", "privacyguard", "--delta", "1e-6")
	if pg.Value != 0.397491455078125 || pg.DPBound || !strings.Contains(pg.Caveat, "instead of 0") {
		t.Errorf("privacyguard: %+v", pg)
	}
	code, stdout, _ = attackCLI(t, "dp", "audit", "--canaries", "1000", "--guesses", "100", "--correct", "90", "--method", "fdp")
	if code != 0 || !strings.Contains(stdout, "within the Gaussian-DP family only") {
		t.Errorf("fdp line: exit %d, %q", code, stdout)
	}
}

func TestDPAuditScores(t *testing.T) {
	sPath, mPath, s, in := dpAuditFiles(t, 2000)
	files := []string{"--scores", sPath, "--included", mPath}
	for _, tt := range []struct {
		args []string
		opt  metric.OneRunOptions
	}{
		{[]string{"--k-plus", "100", "--k-minus", "50"}, metric.OneRunOptions{KPlus: 100, KMinus: 50}},
		{[]string{"--k-plus", "100", "--seed", "4", "--method", "fdp"}, metric.OneRunOptions{KPlus: 100, Seed: 4, Stat: metric.StatFDP}},
		{[]string{"--k-plus", "100", "--k-minus", "50", "--method", "fdp-approx"}, metric.OneRunOptions{KPlus: 100, KMinus: 50, Stat: metric.StatFDPApprox}},
		{[]string{"--select-fraction", "0.25", "--seed", "2"}, metric.OneRunOptions{SelectFraction: 0.25, Seed: 2}},
	} {
		got := dpAuditJSON(t, append(files, tt.args...)...)
		want, err := metric.OneRunAudit(s, in, tt.opt)
		if err != nil {
			t.Fatal(err)
		}
		if got.Value != want.Value || got.Method != want.Method || *got.Guesses != *want.Guesses || got.SelectionRecords != want.SelectionRecords || !(got.Value > 0) {
			t.Errorf("%v: %+v, want %+v", tt.args, got, want)
		}
	}
	mr := dpAuditJSON(t, append(files, "--method", "multi-run", "--seed", "3")...)
	want, _ := metric.MultiRunEpsilon(s, in, metric.EpsilonOptions{Seed: 3})
	if mr.Value != want.Value || mr.Method != metric.MultiRunMethod || !mr.DPBound {
		t.Errorf("multi-run: %+v, want %+v", mr, want)
	}
	pm := dpAuditJSON(t, append(files, "--compat", "privacy-meter")...)
	res, _ := metric.AbstainAudit(s, in, 1e-5, 0.05)
	if pm.Value != res.Best.Epsilon || pm.DPBound || pm.Method != metric.AbstainMaxMethod {
		t.Errorf("privacy-meter: %+v", pm)
	}
	pg := dpAuditJSON(t, append(files, "--method", "fdp", "--compat", "privacyguard")...)
	if pg.DPBound || pg.Method != metric.PrivacyGuardFDPMethod || !(pg.Value > 0) {
		t.Errorf("privacyguard: %+v", pg)
	}
	code, stdout, _ := attackCLI(t, append([]string{"dp", "audit", "--compat", "privacy-meter"}, files...)...)
	if code != 0 || !strings.Contains(stdout, "not a DP bound") || !strings.Contains(stdout, "voids the p-value") {
		t.Errorf("privacy-meter line: exit %d, %q", code, stdout)
	}
}

func TestDPAuditErrors(t *testing.T) {
	sPath, mPath, _, _ := dpAuditFiles(t, 100)
	dir := filepath.Dir(sPath)
	bad := attackBundle(t, map[string]*npy.Array{
		"short": npy.NewBool(make([]bool, 99), 99),
		"two":   npy.NewInt64([]int64{0, 1, 2, 1}, 4),
		"two4":  npy.NewFloat64([]float64{1, 2, 3, 4}, 4),
		"nan4":  npy.NewFloat64([]float64{1, math.NaN(), 3, 4}, 4),
		"mask4": npy.NewBool([]bool{true, false, true, false}, 4),
		"flat":  npy.NewFloat64(make([]float64, 100), 10, 10),
	})
	at := func(name string) string { return filepath.Join(bad, name+".npy") }
	files := []string{"--scores", sPath, "--included", mPath}
	counts := []string{"--canaries", "100", "--guesses", "10", "--correct", "9"}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "give counts"},
		{slices.Concat(counts, files), 2, "not both"},
		{[]string{"--canaries", "100", "--guesses", "10"}, 2, "needs --canaries, --guesses and --correct"},
		{append(counts, "--k-plus", "3"), 2, "apply to score files"},
		{[]string{"--canaries", "10", "--guesses", "11", "--correct", "1"}, 2, "--guesses 11: want 0 to --canaries (10)"},
		{[]string{"--canaries", "10", "--guesses", "5", "--correct", "6"}, 2, "--correct 6: want 0 to --guesses (5)"},
		{[]string{"--canaries", "0", "--guesses", "0", "--correct", "0"}, 2, "--canaries 0"},
		{[]string{"--scores", sPath}, 2, "need both --scores and --included"},
		{files, 2, "fix the guesses before the scores are seen"},
		{append(slices.Concat(files), "--k-plus", "3", "--select-fraction", "0.5"), 2, "not both"},
		{append(slices.Concat(counts), "--method", "lira"), 2, `--method "lira"`},
		{append(slices.Concat(counts), "--compat", "tfp"), 2, `--compat "tfp"`},
		{append(slices.Concat(counts), "--compat", "privacy-meter"), 2, "needs --method steinke and score files"},
		{append(slices.Concat(counts), "--compat", "privacyguard"), 2, "needs --method fdp"},
		{append(slices.Concat(files), "--compat", "privacy-meter", "--k-plus", "3"), 2, "do not apply"},
		{append(slices.Concat(counts), "--method", "multi-run"), 2, "takes score files"},
		{append(slices.Concat(files), "--method", "multi-run", "--k-plus", "3"), 2, "not --method multi-run"},
		{append(slices.Concat(counts), "--method", "fdp", "--delta", "0"), 2, "ε = ∞ at δ = 0"},
		{append(slices.Concat(counts), "--alpha", "1"), 2, "--alpha 1"},
		{append(slices.Concat(counts), "--delta", "1"), 2, "--delta 1"},
		{append(slices.Concat(counts), "extra"), 2, "unexpected arguments"},
		{[]string{"--scores", filepath.Join(dir, "none.npy"), "--included", mPath, "--k-plus", "1"}, 1, "--scores " + filepath.Join(dir, "none.npy")},
		{[]string{"--scores", at("flat"), "--included", mPath, "--k-plus", "1"}, 1, "shape (10, 10); want a 1-D array"},
		{[]string{"--scores", sPath, "--included", at("short"), "--k-plus", "1"}, 1, "has 100 entries but --included " + at("short") + " has 99"},
		{[]string{"--scores", at("two4"), "--included", at("two"), "--k-plus", "1"}, 1, "element 2 is 2"},
		{[]string{"--scores", at("nan4"), "--included", at("mask4"), "--k-plus", "1"}, 1, "score 1 is NaN"},
		{append(slices.Concat(files), "--k-plus", "80", "--k-minus", "30"), 1, "exceed the 100 canaries"},
	} {
		code, _, stderr := attackCLI(t, append([]string{"dp", "audit"}, tt.args...)...)
		if code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tt.args, code, stderr, tt.code, tt.want)
		}
	}
	code, stdout, _ := attackCLI(t, "dp", "audit", "-h")
	if code != 0 || !strings.Contains(stdout, "--select-fraction F") {
		t.Errorf("-h: exit %d, %q", code, stdout)
	}
}
