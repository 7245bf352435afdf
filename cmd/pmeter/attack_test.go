package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/internal/vectortest"
	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/npy"
)

// attackCLI runs the pmeter command line and returns its exit code, stdout and stderr.
func attackCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// attackBundle writes arrays as name.npy files into a new directory.
func attackBundle(t *testing.T, arrays map[string]*npy.Array) string {
	t.Helper()
	dir := t.TempDir()
	for name, a := range arrays {
		if err := npy.WriteFile(filepath.Join(dir, name+".npy"), a); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// attackOutput reads scores.npy and metrics.json of an output directory.
func attackOutput(t *testing.T, dir string) ([]float64, map[string]any) {
	t.Helper()
	a, err := npy.ReadFile(filepath.Join(dir, "scores.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Kind != npy.Float64 || len(a.Shape) != 1 {
		t.Fatalf("scores.npy: %v %s, want 1-D float64", a.Kind, npy.ShapeString(a.Shape))
	}
	b, err := os.ReadFile(filepath.Join(dir, "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("metrics.json: %v", err)
	}
	return a.F64, m
}

// attackTPR returns metrics.json's TPR at the given FPR.
func attackTPR(t *testing.T, m map[string]any, fpr float64) float64 {
	t.Helper()
	list, _ := m["tpr_at_fpr"].([]any)
	for _, e := range list {
		p := e.(map[string]any)
		if p["fpr"].(float64) == fpr {
			return p["tpr"].(float64)
		}
	}
	t.Fatalf("metrics.json has no TPR at FPR %g: %v", fpr, m["tpr_at_fpr"])
	return 0
}

// attackCheck compares got with want at the case's tolerance for the file stem name.
func attackCheck(t *testing.T, c *vectortest.Case, name string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s/%s: %d values, want %d", c.Name, name, len(got), len(want))
	}
	tol := c.Tol(name)
	bad := 0
	for i := range want {
		if !vectortest.Close(got[i], want[i], tol.Rtol, tol.Atol) {
			if bad < 3 {
				t.Errorf("%s/%s[%d] = %.17g, want %.17g (%v)", c.Name, name, i, got[i], want[i], tol)
			}
			bad++
		}
	}
	if bad > 3 {
		t.Errorf("%s/%s: %d of %d values differ", c.Name, name, bad, len(want))
	}
}

// TestAttackRMIAVectors runs 'pmeter attack --attack rmia --set compat=privacy-meter' on bundles built
// from every RMIA grid case (all_signals, all_memberships, population_signals in Privacy Meter's records ×
// models layout) and checks scores.npy and metrics.json against run_rmia and compute_attack_results.
func TestAttackRMIAVectors(t *testing.T) {
	for _, name := range vectortest.Cases(t, "rmia_") {
		c := vectortest.Load(t, name)
		if _, ok := c.Params["num_reference_models_list"]; !ok {
			continue
		}
		t.Run(name, func(t *testing.T) {
			dir := attackBundle(t, map[string]*npy.Array{
				"signals":     c.Array(t, "all_signals"),
				"memberships": c.Array(t, "all_memberships"),
				"population":  c.Array(t, "population_signals"),
			})
			target := c.Int(t, "target_model_idx")
			rs, as := c.Floats(t, "num_reference_models_list"), c.Floats(t, "offline_a_list")
			scores := c.F64(t, "scores")
			auc, one, tenth, zero := c.F64(t, "auc"), c.F64(t, "one_fpr"), c.F64(t, "one_tenth_fpr"), c.F64(t, "zero_fpr")
			n := len(scores) / (len(rs) * len(as))
			for ir, r := range rs {
				for ia, a := range as {
					out := t.TempDir()
					code, _, stderr := attackCLI(t, "attack", dir, "--attack", "rmia", "--target", strconv.Itoa(target),
						"--set", fmt.Sprintf("num_ref_models=%d", int(r)), "--set", "offline_a="+strconv.FormatFloat(a, 'g', -1, 64),
						"--set", "compat=privacy-meter", "--out", out)
					if code != 0 {
						t.Fatalf("R=%v a=%v: exit %d: %s", r, a, code, stderr)
					}
					got, m := attackOutput(t, out)
					k := ir*len(as) + ia
					attackCheck(t, c, "scores", got, scores[k*n:(k+1)*n])
					attackCheck(t, c, "auc", []float64{m["auc"].(float64)}, auc[k:k+1])
					attackCheck(t, c, "one_fpr", []float64{attackTPR(t, m, 0.01)}, one[k:k+1])
					attackCheck(t, c, "one_tenth_fpr", []float64{attackTPR(t, m, 0.001)}, tenth[k:k+1])
					attackCheck(t, c, "zero_fpr", []float64{attackTPR(t, m, 0)}, zero[k:k+1])
				}
			}
		})
	}
}

// TestAttackRMIATuneVector: tune_offline_a=true with compat=privacy-meter reproduces Privacy Meter's
// audit_models (tune_offline_a on the paired model with R = 1, then run_rmia with R = num_ref_models).
func TestAttackRMIATuneVector(t *testing.T) {
	for _, name := range vectortest.Cases(t, "rmia_tune_offline_a") {
		t.Run(name, func(t *testing.T) {
			c := vectortest.Load(t, name)
			dir := attackBundle(t, map[string]*npy.Array{
				"signals":     c.Array(t, "all_signals"),
				"memberships": c.Array(t, "all_memberships"),
				"population":  c.Array(t, "population_signals"),
			})
			out := t.TempDir()
			code, _, stderr := attackCLI(t, "attack", dir, "--attack", "rmia", "--target", strconv.Itoa(c.Int(t, "target_model_idx")),
				"--set", fmt.Sprintf("num_ref_models=%d", c.Int(t, "num_reference_models_final")),
				"--set", "tune_offline_a=true", "--set", "compat=privacy-meter", "--out", out)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			got, m := attackOutput(t, out)
			c.Check(t, "final_scores", got)
			c.Check(t, "final_auc", []float64{m["auc"].(float64)})
			c.Check(t, "final_one_tenth_fpr", []float64{attackTPR(t, m, 0.001)})
			c.Check(t, "final_zero_fpr", []float64{attackTPR(t, m, 0)})
		})
	}
}

// TestAttackLOSSVector: --attack loss --set compat=privacy-meter is Privacy Meter v2 run_loss (−p).
func TestAttackLOSSVector(t *testing.T) {
	for _, name := range vectortest.Cases(t, "rmia_loss") {
		t.Run(name, func(t *testing.T) {
			c := vectortest.Load(t, name)
			p := c.F64(t, "target_signals")
			mem := c.Bools(t, "memberships")
			dir := attackBundle(t, map[string]*npy.Array{
				"signals":     npy.NewFloat64(p, len(p), 1),
				"memberships": npy.NewBool(mem, len(mem), 1),
			})
			out := t.TempDir()
			if code, _, stderr := attackCLI(t, "attack", dir, "--attack", "loss", "--set", "compat=privacy-meter", "--out", out); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			got, m := attackOutput(t, out)
			c.Check(t, "scores", got)
			c.Check(t, "auc", []float64{m["auc"].(float64)})
			c.Check(t, "one_fpr", []float64{attackTPR(t, m, 0.01)})
			c.Check(t, "one_tenth_fpr", []float64{attackTPR(t, m, 0.001)})
			c.Check(t, "zero_fpr", []float64{attackTPR(t, m, 0)})
		})
	}
}

// TestAttackLiRAVectors runs --attack lira --set compat=lira on the LiRA reference code's own files
// (keep.npy models × records, scores.npy models × records × queries), for every variant of plot.py. The
// score is the negated reference prediction (offline: the reference code's two-sided test, which
// compat=lira selects).
func TestAttackLiRAVectors(t *testing.T) {
	variants := []struct {
		prefix string
		sets   []string
	}{
		{"online", []string{"online=true"}},
		{"online_fixed_variance", []string{"online=true", "fix_variance=true"}},
		{"offline", []string{"online=false"}},
		{"offline_fixed_variance", []string{"online=false", "fix_variance=true"}},
	}
	for _, name := range vectortest.Cases(t, "lira_") {
		c := vectortest.Load(t, name)
		if !c.Has("keep") || !c.Has("online_prediction") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			dir := attackBundle(t, map[string]*npy.Array{"keep": c.Array(t, "keep"), "scores": c.Array(t, "scores")})
			target := strconv.Itoa(c.Int(t, "target_model_idx"))
			for _, v := range variants {
				args := []string{"attack", dir, "--attack", "lira", "--target", target, "--set", "compat=lira"}
				for _, s := range v.sets {
					args = append(args, "--set", s)
				}
				out := t.TempDir()
				if code, _, stderr := attackCLI(t, append(args, "--out", out)...); code != 0 {
					t.Fatalf("%s: exit %d: %s", v.prefix, code, stderr)
				}
				got, m := attackOutput(t, out)
				pred := make([]float64, len(got))
				for i, s := range got {
					pred[i] = -s
				}
				c.Check(t, v.prefix+"_prediction", pred)
				c.Check(t, v.prefix+"_auc", []float64{m["auc"].(float64)})
				c.Check(t, v.prefix+"_acc", []float64{m["balanced_accuracy"].(float64)})
			}
		})
	}
}

// TestAttackLiRAPMv1Vectors runs Privacy Meter v1's benchmark attacks (benchmark/main.py) through the
// CLI on its own files in the LiRA layout (keep_matrix, signals and population_signals, all models ×
// records): compat=privacy-meter (float32 reference statistics) with num_in_models and num_out_models,
// except 'population', which is population_out=true without compat. The two-sided and online attacks
// score −prediction; the one-sided ones score log Φ where v1 predicts −Φ, so only their metrics compare.
func TestAttackLiRAPMv1Vectors(t *testing.T) {
	algs := map[string][]string{
		"reference_in_out_logit_pdf_fixed":      {"compat=privacy-meter", "online=true", "fix_variance=true"},
		"reference_in_out_logit_pdf":            {"compat=privacy-meter", "online=true"},
		"reference_out_logits_percentile_fixed": {"compat=privacy-meter", "online=false", "fix_variance=true", "offline_test=one-sided"},
		"reference_out_logits_percentile":       {"compat=privacy-meter", "online=false", "offline_test=one-sided"},
		"reference_out_logits_pdf_fixed":        {"compat=privacy-meter", "online=false", "fix_variance=true", "offline_test=two-sided"},
		"reference_out_logits_pdf":              {"compat=privacy-meter", "online=false", "offline_test=two-sided"},
		"population":                            {"online=false", "population_out=true", "offline_test=one-sided"},
	}
	for _, name := range vectortest.Cases(t, "lira_pmv1_benchmark") {
		t.Run(name, func(t *testing.T) {
			c := vectortest.Load(t, name)
			dir := attackBundle(t, map[string]*npy.Array{
				"keep": c.Array(t, "keep_matrix"), "scores": c.Array(t, "signals"), "population": c.Array(t, "population_signals"),
			})
			list, _ := c.Params["algorithms"].([]any)
			if len(list) == 0 {
				t.Fatalf("params.algorithms = %v", c.Params["algorithms"])
			}
			for _, a := range list {
				alg := a.(string)
				sets, ok := algs[alg]
				if !ok {
					t.Errorf("unknown algorithm %q", alg)
					continue
				}
				args := []string{"attack", dir, "--attack", "lira", "--target", strconv.Itoa(c.Int(t, "target_model_idx"))}
				if sets[0] == "compat=privacy-meter" {
					args = append(args, "--set", fmt.Sprintf("num_in_models=%d", c.Int(t, "num_in_models")),
						"--set", fmt.Sprintf("num_out_models=%d", c.Int(t, "num_out_models")))
				}
				for _, s := range sets {
					args = append(args, "--set", s)
				}
				out := t.TempDir()
				if code, _, stderr := attackCLI(t, append(args, "--out", out)...); code != 0 {
					t.Fatalf("%s: exit %d: %s", alg, code, stderr)
				}
				got, m := attackOutput(t, out)
				if !strings.Contains(strings.Join(sets, " "), "one-sided") {
					pred := make([]float64, len(got))
					for i, s := range got {
						pred[i] = -s
					}
					c.Check(t, alg+"_prediction", pred)
				}
				c.Check(t, alg+"_auc", []float64{m["auc"].(float64)})
				c.Check(t, alg+"_acc", []float64{m["balanced_accuracy"].(float64)})
			}
		})
	}
}

// TestAttackOutputs checks the files on a small bundle: scores.npy has one float64 per record and
// metrics.json names the attack, its resolved parameters, the target and the counts.
func TestAttackOutputs(t *testing.T) {
	dir := attackSmallBundle(t)
	out := filepath.Join(t.TempDir(), "new", "dir")
	code, stdout, stderr := attackCLI(t, "attack", "--attack", "entropy", dir, "--target", "1", "--set", "class_thresholds=false", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// 3 non-members resolve no positive FPR of 1 % or below; the memberships are not declared independent.
	for _, w := range []string{"entropy on target model 1: AUC", "TPR@1%FPR below res., TPR@0.1%FPR below res.", "(not a DP bound)",
		"the ε bound is not a DP bound: the memberships were not declared as drawn independently"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("stdout %q does not contain %q", stdout, w)
		}
	}
	got, m := attackOutput(t, out)
	if len(got) != 6 {
		t.Fatalf("%d scores, want 6", len(got))
	}
	if m["attack"] != "entropy" || m["target"] != 1.0 || m["bundle"] != dir || m["members"] != 3.0 || m["non_members"] != 3.0 {
		t.Errorf("metrics.json = %v", m)
	}
	params, _ := m["params"].(map[string]any)
	if params["class_thresholds"] != "false" || params["num_ref_models"] != "0" {
		t.Errorf("params = %v, want the given and the default values", params)
	}
	if _, ok := m["auc"].(float64); !ok {
		t.Errorf("metrics.json has no auc: %v", m)
	}
	for _, e := range m["tpr_at_fpr"].([]any) {
		e := e.(map[string]any)
		below, _ := e["below_resolution"].(bool)
		if want := e["fpr"].(float64) > 0; below != want {
			t.Errorf("metrics.json: TPR entry %v: below_resolution %v, want %v with 3 non-members", e, below, want)
		}
	}
	eps, _ := m["epsilon_lower_bound"].(map[string]any)
	if eps["dp_bound"] != false || eps["alpha"] != 0.05 || eps["delta"] != 1e-5 || eps["method"] != "clopper-pearson-holdout" ||
		!strings.Contains(fmt.Sprint(eps["caveat"]), "not declared") || !strings.HasPrefix(fmt.Sprint(eps["guarantee"]), "Not a DP bound") {
		t.Errorf("metrics.json epsilon_lower_bound = %v, want a bound at α 0.05, δ 1e-5 marked as no DP bound", eps)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 2 {
		t.Errorf("output directory holds %d entries, want scores.npy and metrics.json only", len(ents))
	}
}

// TestAttackEpsilon checks metrics.json's epsilon_lower_bound against metric.HoldoutEpsilon with the
// flags' alpha, delta and seed, on a bundle whose bundle.json declares independent memberships.
func TestAttackEpsilon(t *testing.T) {
	const n = 400
	loss := make([]float64, 2*n)
	mem := make([]bool, 2*n)
	for i := range n {
		mem[2*i], mem[2*i+1] = (i*7)%3 == 0, (i*5)%2 == 0
		loss[2*i], loss[2*i+1] = float64((i*37)%101)/20, float64((i*13)%53)/20
		if mem[2*i] {
			loss[2*i] /= 3 // the target leaks: members have lower losses
		}
	}
	dir := attackBundle(t, map[string]*npy.Array{"signals": npy.NewFloat64(loss, n, 2), "memberships": npy.NewBool(mem, n, 2)})
	if err := os.WriteFile(filepath.Join(dir, "bundle.json"), []byte(`{"signal": "loss", "design": "bernoulli"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		flags []string
		opt   metric.EpsilonOptions
		text  string
	}{
		{nil, metric.EpsilonOptions{Alpha: 0.05, Delta: 1e-5}, "at δ=1e-5 (95% confidence)"},
		{[]string{"--alpha", "0.1", "--delta", "0", "--seed", "3"}, metric.EpsilonOptions{Alpha: 0.1, NoDelta: true, Seed: 3}, "at δ=0 (90% confidence)"},
	} {
		out := t.TempDir()
		code, stdout, stderr := attackCLI(t, append([]string{"attack", dir, "--attack", "loss", "--out", out}, tc.flags...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.flags, code, stderr)
		}
		scores, m := attackOutput(t, out)
		members := make([]bool, n)
		for i := range members {
			members[i] = mem[2*i]
		}
		want, err := metric.HoldoutEpsilon(scores, members, tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		wantJSON, _ := json.Marshal(want)
		var w map[string]any
		json.Unmarshal(wantJSON, &w)
		if got := m["epsilon_lower_bound"]; !reflect.DeepEqual(got, w) {
			t.Errorf("%v: epsilon_lower_bound = %v\nwant %v", tc.flags, got, w)
		}
		if !want.DPBound || !(want.Value > 0) {
			t.Errorf("%v: bound %+v, want a positive DP bound on a leaking target with declared bernoulli memberships", tc.flags, want)
		}
		if w := fmt.Sprintf("ε ≥ %.4f %s", want.Value, tc.text); !strings.Contains(stdout, w) || strings.Contains(stdout, "not a DP bound") {
			t.Errorf("%v: stdout %q does not contain %q, or says not a DP bound", tc.flags, stdout, w)
		}
	}
}

// attackSmallBundle writes 6 records × 3 models × 2 classes with probabilities and labels.
func attackSmallBundle(t *testing.T) string {
	probs := []float64{
		0.9, 0.1, 0.2, 0.8, 0.6, 0.4,
		0.3, 0.7, 0.6, 0.4, 0.5, 0.5,
		0.8, 0.2, 0.45, 0.55, 0.7, 0.3,
		0.1, 0.9, 0.35, 0.65, 0.25, 0.75,
		0.55, 0.45, 0.99, 0.01, 0.6, 0.4,
		0.4, 0.6, 0.05, 0.95, 0.3, 0.7,
	}
	mem := []bool{true, false, true, false, true, false, true, false, true, false, true, false, true, true, false, false, false, true}
	return attackBundle(t, map[string]*npy.Array{
		"memberships": npy.NewBool(mem, 6, 3),
		"probs":       npy.NewFloat64(probs, 6, 3, 2),
		"labels":      npy.NewInt64([]int64{0, 1, 0, 1, 0, 1}, 6),
	})
}

// TestAttackEveryAttack runs every registered attack with its defaults, or the parameters the small
// bundle needs, checking that the command succeeds or fails with a message about the data.
func TestAttackEveryAttack(t *testing.T) {
	dir := attackSmallBundle(t)
	for _, name := range attack.Names() {
		t.Run(name, func(t *testing.T) {
			out := t.TempDir()
			code, _, stderr := attackCLI(t, "attack", dir, "--attack", name, "--out", out)
			switch name {
			case "rmia", "population":
				if code != 1 || !strings.Contains(stderr, "population") {
					t.Errorf("exit %d, stderr %q; want exit 1 for the missing population", code, stderr)
				}
			case "gradnorm", "gradnorm-lira", "gradnorm-rmia", "loss-trajectory", "loss-trajectory-lira", "augmentation", "augmentation-lira", "boundary":
				// White-box and label-only signals: the bundle has none (bundle's tests load grad_norms).
				if code != 1 || !strings.Contains(stderr, "the data have no") {
					t.Errorf("exit %d, stderr %q; want exit 1 for the missing signals", code, stderr)
				}
			default:
				if code != 0 {
					t.Errorf("exit %d: %s", code, stderr)
				}
			}
		})
	}
}

func TestAttackHelp(t *testing.T) {
	for _, args := range [][]string{{"attack", "-h"}, {"attack", "--help"}, {"help", "attack"}} {
		code, stdout, _ := attackCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d", args, code)
		}
		for _, s := range attack.Attacks() {
			if !strings.Contains(stdout, "\n  "+s.Name+"\n") || !strings.Contains(stdout, s.Description) {
				t.Errorf("%v: help does not list %s", args, s.Name)
			}
			for _, p := range s.Params {
				if !strings.Contains(stdout, p.Name+"=") || !strings.Contains(stdout, "["+p.Default+"]") {
					t.Errorf("%v: help does not list %s's parameter %s with its default", args, s.Name, p.Name)
				}
			}
		}
		if !strings.Contains(stdout, "offline_a=float in [0, 1] [0]") {
			t.Errorf("help lacks the range of offline_a:\n%s", stdout)
		}
	}
}

// TestAttackErrors checks exit codes (2: command line, 1: data or attack) and that messages name the
// culprit.
func TestAttackErrors(t *testing.T) {
	dir := attackSmallBundle(t)
	out := t.TempDir()
	for _, tc := range []struct {
		name  string
		args  []string
		code  int
		wants []string
	}{
		{"unknown attack", []string{dir, "--attack", "nope", "--out", out}, 2, []string{"unknown attack \"nope\"", "rmia"}},
		{"no attack", []string{dir, "--out", out}, 2, []string{"--attack is required"}},
		{"no out", []string{dir, "--attack", "loss"}, 2, []string{"--out is required"}},
		{"no bundle", []string{"--attack", "loss", "--out", out}, 2, []string{"want one BUNDLE argument, got 0"}},
		{"two bundles", []string{dir, dir, "--attack", "loss", "--out", out}, 2, []string{"got 2"}},
		{"unknown flag", []string{dir, "--attack", "loss", "--out", out, "--bogus"}, 2, []string{"-bogus"}},
		{"unknown param", []string{dir, "--attack", "rmia", "--set", "alpha=1", "--out", out}, 2, []string{"unknown parameter \"alpha\"", "offline_a"}},
		{"bad float", []string{dir, "--attack", "rmia", "--set", "offline_a=2", "--out", out}, 2, []string{"offline_a", "\"2\"", "in [0, 1]"}},
		{"bad enum", []string{dir, "--attack", "lira", "--set", "compat=yes", "--out", out}, 2, []string{"compat", "none, lira, privacy-meter"}},
		{"bad bool", []string{dir, "--attack", "lira", "--set", "online=maybe", "--out", out}, 2, []string{"online", "true or false"}},
		{"bad int", []string{dir, "--attack", "shadow", "--set", "hidden=0", "--out", out}, 2, []string{"hidden", "an integer ≥ 1"}},
		{"malformed set", []string{dir, "--attack", "loss", "--set", "compat", "--out", out}, 2, []string{"\"compat\" is not key=value"}},
		{"duplicate set", []string{dir, "--attack", "loss", "--set", "compat=none", "--set", "compat=none", "--out", out}, 2, []string{"compat is set twice"}},
		{"target", []string{dir, "--attack", "loss", "--target", "3", "--out", out}, 2, []string{"--target 3", "3 models"}},
		{"alpha", []string{dir, "--attack", "loss", "--alpha", "1.5", "--out", out}, 2, []string{"--alpha 1.5", "(0, 1)"}},
		{"delta", []string{dir, "--attack", "loss", "--delta", "-1e-5", "--out", out}, 2, []string{"--delta -1e-05", "[0, 1)"}},
		{"missing bundle", []string{filepath.Join(out, "nope"), "--attack", "loss", "--out", out}, 1, []string{"bundle", "nope"}},
		{"attack error", []string{dir, "--attack", "rmia", "--out", out}, 1, []string{"attack rmia on target model 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := attackCLI(t, append([]string{"attack"}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, stderr)
			}
			for _, w := range tc.wants {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not contain %q", stderr, w)
				}
			}
		})
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Errorf("failed runs left %d files in the output directory", len(ents))
	}
}
