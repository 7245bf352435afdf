package main

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
)

// dpJSON runs a 'pmeter dp' command with --json and decodes its one-line object.
func dpJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	code, stdout, stderr := attackCLI(t, append(append([]string{"dp"}, args...), "--json")...)
	if code != 0 {
		t.Fatalf("pmeter dp %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
	}
	if strings.Count(stdout, "\n") != 1 {
		t.Errorf("want one line of JSON, got %q", stdout)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatalf("%v: %q", err, stdout)
	}
	return m
}

func g(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// TestDPEpsilonReference checks 'pmeter dp epsilon' on parameter sets outside the reference vectors
// against dp_accounting 0.6.0 (RdpAccountant's get_epsilon_and_optimal_order and PLDAccountant's
// get_epsilon, values printed by Python; scripts/dp-crosscheck compares random sets the same way), at the
// vectors' tolerances: RDP ε rtol 1e-6 with the exact order, PLD ε rtol 3e-5.
func TestDPEpsilonReference(t *testing.T) {
	for _, tc := range []struct {
		q, sigma       float64
		steps          int
		delta, pldStep float64
		rdpEps, order  float64
		pldEps         float64
	}{
		{0.02, 1.3, 2500, 1e-06, 0.0001, 4.859461603366444, 5.9, 4.514198410796983},
		{0.1, 0.7, 120, 1e-05, 0.0001, 17.89828171999323, 2.1, 15.933196987950698},
		{1.0, 3.0, 10, 1e-05, 0.0001, 5.023949750348651, 5.2, 4.652984570679643},
		{0.0005, 2.0, 30000, 1e-07, 0.0001, 0.25216674759028956, 60.0, 0.20157403527298454},
		{0.25, 5.0, 40, 0.001, 0.001, 0.9494778699491742, 9.9, 0.8143609044937853},
	} {
		args := []string{"epsilon", "--sampling-rate", g(tc.q), "--noise-multiplier", g(tc.sigma), "--steps", strconv.Itoa(tc.steps), "--delta", g(tc.delta)}
		r := dpJSON(t, args...)
		if eps := r["epsilon"].(float64); math.Abs(eps-tc.rdpEps) > 1e-6*tc.rdpEps || r["order"] != tc.order || r["accountant"] != "rdp" {
			t.Errorf("%v: %v, want ε %v at order %v", args, r, tc.rdpEps, tc.order)
		}
		for _, k := range []string{"delta", "noise_multiplier", "sampling_rate"} {
			if _, ok := r[k].(float64); !ok {
				t.Errorf("%v: no %s in %v", args, k, r)
			}
		}
		if _, ok := r["pld_interval"]; ok || r["steps"] != float64(tc.steps) || r["delta"] != tc.delta {
			t.Errorf("%v: %v", args, r)
		}
		p := dpJSON(t, append(args, "--accountant", "pld", "--pld-interval", g(tc.pldStep))...)
		if eps := p["epsilon"].(float64); math.Abs(eps-tc.pldEps) > 3e-5*tc.pldEps+1e-6 || p["accountant"] != "pld" || p["pld_interval"] != tc.pldStep {
			t.Errorf("%v pld: %v, want ε %v", args, p, tc.pldEps)
		}
		if _, ok := p["order"]; ok {
			t.Errorf("%v pld: order in %v", args, p)
		}
	}
}

// TestDPNoiseReference checks 'pmeter dp noise' against dp_accounting 0.6.0's calibrate_dp_mechanism
// (default bracket and tolerance) with both accountants, at the vectors' tolerance rtol 2e-6.
func TestDPNoiseReference(t *testing.T) {
	for _, tc := range []struct {
		eps, delta, q float64
		steps         int
		rdp, pld      float64
	}{
		{1.5, 1e-06, 0.01, 3000, 1.876887949195436, 1.7685413970817419},
		{5.0, 1e-05, 0.05, 400, 1.2399036180625362, 1.1718724624463175},
	} {
		args := []string{"noise", "--epsilon", g(tc.eps), "--delta", g(tc.delta), "--sampling-rate", g(tc.q), "--steps", strconv.Itoa(tc.steps)}
		for _, kind := range []string{"rdp", "pld"} {
			want := map[string]float64{"rdp": tc.rdp, "pld": tc.pld}[kind]
			r := dpJSON(t, append(args, "--accountant", kind)...)
			sigma, _ := r["noise_multiplier"].(float64)
			eps, _ := r["epsilon"].(float64)
			if math.Abs(sigma-want) > 2e-6*want || eps > tc.eps || eps < tc.eps-1e-3 || r["target_epsilon"] != tc.eps || r["accountant"] != kind {
				t.Errorf("%v %s: %v, want noise multiplier %v", args, kind, r, want)
			}
			if _, ok := r["order"]; ok != (kind == "rdp") {
				t.Errorf("%v %s: order present %v", args, kind, ok)
			}
		}
	}
}

// TestDPHuman checks the one-line output for a person.
func TestDPHuman(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"dp", "epsilon", "--sampling-rate", "0.01", "--noise-multiplier", "1.1", "--steps", "1000", "--delta", "1e-5"},
			"epsilon 1.71177 at delta 1e-05 (rdp accountant, order 9.6; sampling rate 0.01, noise multiplier 1.1, 1000 steps)\n"},
		{[]string{"dp", "epsilon", "--accountant", "pld", "--sampling-rate", "0.01", "--noise-multiplier", "1.1", "--steps", "1000", "--delta", "1e-5"},
			"epsilon 1.51537 at delta 1e-05 (pld accountant, interval 0.0001; sampling rate 0.01, noise multiplier 1.1, 1000 steps)\n"},
		{[]string{"dp", "noise", "--epsilon", "3", "--delta", "1e-5", "--sampling-rate", "0.004", "--steps", "10000"},
			"noise multiplier 0.89522947 gives epsilon 3 at delta 1e-05 (rdp accountant, order 6.8; target epsilon 3, sampling rate 0.004, 10000 steps)\n"},
	} {
		code, stdout, stderr := attackCLI(t, tc.args...)
		if code != 0 || stdout != tc.want {
			t.Errorf("%v: exit %d\nstdout %q\nwant   %q\nstderr %s", tc.args, code, stdout, tc.want, stderr)
		}
	}
}

// TestDPErrors checks that bad command lines exit 2 with a message naming the flag or value, and that
// help exits 0.
func TestDPErrors(t *testing.T) {
	eps := []string{"dp", "epsilon", "--sampling-rate", "0.01", "--noise-multiplier", "1", "--steps", "100", "--delta", "1e-5"}
	with := func(extra ...string) []string { return append(append([]string{}, eps...), extra...) }
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"dp"}, 2, "want a subcommand: epsilon, noise, audit, compare or soundness"},
		{[]string{"dp", "budget"}, 2, `unknown subcommand "budget"`},
		{[]string{"dp", "epsilon", "--noise-multiplier", "1", "--steps", "100", "--delta", "1e-5"}, 2, "--sampling-rate is required"},
		{[]string{"dp", "epsilon", "--sampling-rate", "0.1", "--steps", "100", "--delta", "1e-5"}, 2, "--noise-multiplier is required"},
		{[]string{"dp", "noise", "--delta", "1e-5", "--sampling-rate", "0.1", "--steps", "100"}, 2, "--epsilon is required"},
		{with("--sampling-rate", "1.5"), 2, "sampling rate 1.5: want a number in (0, 1]"},
		{with("--sampling-rate", "0"), 2, "sampling rate 0"},
		{with("--sampling-rate", "NaN"), 2, "sampling rate NaN"},
		{with("--noise-multiplier", "0"), 2, "noise multiplier 0: want a finite number > 0"},
		{with("--noise-multiplier", "-1"), 2, "noise multiplier -1"},
		{with("--steps", "0"), 2, "steps 0: want at least 1"},
		{with("--steps", "1e4"), 2, `invalid value "1e4" for flag -steps`},
		{with("--delta", "0"), 2, "delta 0: want a number in (0, 1)"},
		{with("--delta", "1"), 2, "delta 1"},
		{with("--delta", "NaN"), 2, "delta NaN"},
		{with("--accountant", "moments"), 2, `--accountant: accountant "moments": want "rdp" or "pld"`},
		{with("--pld-interval", "1e-3"), 2, "--pld-interval applies to --accountant pld only"},
		{with("--accountant", "pld", "--pld-interval", "0"), 2, "--pld-interval 0: want a number > 0"},
		{with("--accountant", "pld", "--pld-interval", "-1"), 2, "--pld-interval -1"},
		{with("extra"), 2, `unexpected arguments ["extra"]`},
		{with("--noise-multiplier", "1e-5", "--accountant", "pld"), 1, "grid points"},
		{[]string{"dp", "noise", "--epsilon", "0", "--delta", "1e-5", "--sampling-rate", "0.1", "--steps", "100"}, 2, "target epsilon 0: want a finite number > 0"},
		{[]string{"dp", "noise", "--epsilon", "1", "--delta", "2", "--sampling-rate", "0.1", "--steps", "100"}, 2, "target delta 2"},
		{[]string{"dp", "noise", "--epsilon", "1", "--delta", "1e-5", "--sampling-rate", "0.1", "--steps", "-3"}, 2, "steps -3"},
	} {
		code, _, stderr := attackCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.args[1:], code, stderr, tc.code, tc.want)
		}
	}
	for _, args := range [][]string{{"dp", "-h"}, {"help", "dp"}, {"dp", "epsilon", "-h"}, {"dp", "noise", "--help"}} {
		code, stdout, _ := attackCLI(t, args...)
		if code != 0 || !strings.Contains(stdout, "Usage:\n  pmeter dp") {
			t.Errorf("%v: exit %d, stdout %q", args, code, stdout)
		}
	}
}

// TestDPInfiniteJSON checks that an infinite ε (the PLD's mass at +∞ exceeds a tiny δ) is JSON null and
// "infinite" for a person.
func TestDPInfiniteJSON(t *testing.T) {
	args := []string{"epsilon", "--sampling-rate", "0.5", "--noise-multiplier", "1", "--steps", "3", "--delta", "1e-18", "--accountant", "pld", "--pld-interval", "1e-3"}
	r := dpJSON(t, args...)
	if v, ok := r["epsilon"]; !ok || v != nil {
		t.Errorf("epsilon %v (present %v), want null", v, ok)
	}
	_, stdout, _ := attackCLI(t, append([]string{"dp"}, args...)...)
	if !strings.HasPrefix(stdout, "epsilon infinite at delta 1e-18") {
		t.Errorf("stdout %q", stdout)
	}
}
