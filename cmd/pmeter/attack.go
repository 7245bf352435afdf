package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/bundle"
	"github.com/pmeter/pmeter/llm"
	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/npy"
)

const attackUsage = `Usage:
  pmeter attack BUNDLE --attack NAME [--target I] [--set key=value ...] --out DIR

Runs one membership-inference attack on a signal bundle against target model I and writes
DIR/scores.npy (float64, one score per record, higher = more likely a member) and DIR/metrics.json
(AUC, balanced accuracy, TPR at standard FPRs, counts, attack, parameters, target, and the ε lower
bound as "epsilon_lower_bound"). A TPR at an FPR below 1/(number of non-members) is marked
"below_resolution": it is not a measurement.

The ε lower bound holds with confidence 1 − alpha: a threshold chosen on a seeded half of the records,
Clopper–Pearson bounds on the other half (method clopper-pearson-holdout). It bounds the training
algorithm's (ε, δ)-differential privacy only when the bundle's memberships were drawn independently per
record: declare "design": "bernoulli" or "lira" in bundle.json; otherwise it is marked "not a DP bound".

BUNDLE is a directory of .npy/.csv files or a .npz archive: signals (records × models [× queries]) and
memberships (records × models), with optional population, labels, probs or logits and bundle.json;
or LiRA's keep (models × records) and scores (models × records × queries).
An LLM bundle (per-token log-probabilities, see 'pmeter attack -h' below and README "Language
models") runs the language-model attacks instead; --attack all runs every one it has inputs for. It
writes DIR/llm_metrics.json (the table), DIR/scores_<attack>.npy and, when the bundle has labels, DIR as
a run directory like a text-modality 'pmeter run' (run.json, results/llm_page.json and .npy,
report/llm.html), whose page 'pmeter report DIR' rebuilds.

Flags:
  --attack NAME     the attack (see below)
  --target I        index of the target model (default 0)
  --set key=value   an attack parameter; repeat for several
  --out DIR         output directory (created if needed); not the bundle's own directory, and
                    scores.npy and metrics.json there are overwritten only when an earlier
                    'pmeter attack' wrote them
  --alpha X         significance of the ε lower bound, in (0, 1) (default 0.05)
  --delta X         δ of the ε lower bound, in [0, 1) (default 1e-5)
  --seed N          seed of the split of the records for the ε lower bound (default 0)
`

// runAttack implements 'pmeter attack'.
func runAttack(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("attack", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("attack", "", "")
	target := fs.Int("target", 0, "")
	out := fs.String("out", "", "")
	alpha := fs.Float64("alpha", 0.05, "")
	delta := fs.Float64("delta", metric.DefaultEpsilonDelta, "")
	seed := fs.Uint64("seed", 0, "")
	sets := attackSets{}
	fs.Var(sets, "set", "")
	var help strings.Builder
	help.WriteString(attackUsage)
	writeAttackTable(&help)
	writeLLMAttackTable(&help)
	pos, err := parseArgs(fs, args, help.String(), stdout)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 1:
		return usagef("want one BUNDLE argument, got %d (%s); run 'pmeter attack -h'", len(pos), strings.Join(pos, " "))
	case *name == "":
		return usagef("--attack is required (one of: %s)", strings.Join(attack.Names(), ", "))
	case *out == "":
		return usagef("--out is required")
	case !(*alpha > 0 && *alpha < 1):
		return usagef("--alpha %v: want a significance in (0, 1)", *alpha)
	case !(*delta >= 0 && *delta < 1):
		return usagef("--delta %v: want a δ in [0, 1)", *delta)
	}
	if llm.IsBundle(pos[0]) {
		return runLLMAttack(ctx, llmAttackArgs{bundle: pos[0], attack: *name, sets: sets, out: *out, alpha: *alpha, delta: *delta, seed: *seed}, stdout, stderr)
	}
	spec, err := attack.Lookup(*name)
	if err != nil {
		return usagef("--attack: %v", err)
	}
	params, err := spec.Resolve(sets)
	if err != nil {
		return usagef("--set: %v", err)
	}

	if err := checkAttackOut(pos[0], *out); err != nil {
		return err
	}
	d, err := bundle.Load(pos[0])
	if err != nil {
		return err
	}
	if *target < 0 || *target >= d.M {
		return usagef("--target %d: the bundle has %d models (0 to %d)", *target, d.M, d.M-1)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	scores, err := spec.Run(d, *target, params)
	if err != nil {
		return fmt.Errorf("attack %s on target model %d: %w", spec.Name, *target, err)
	}
	members := d.TargetMembers(*target)
	res, err := metric.Evaluate(scores, members)
	if err != nil {
		return fmt.Errorf("metrics of attack %s on target model %d: %w", spec.Name, *target, err)
	}
	var eps *metric.EpsilonBound
	b, err := metric.HoldoutEpsilon(scores, members, metric.EpsilonOptions{Alpha: *alpha, Delta: *delta, NoDelta: *delta == 0,
		Seed: *seed, NotDP: attack.NotDPReason(d, *target)})
	if err == nil {
		eps = &b
	} else { // too few members or non-members to split: the other metrics still stand
		fmt.Fprintf(stderr, "pmeter attack: no ε lower bound: %v\n", err)
	}

	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	if err := npy.WriteFile(filepath.Join(*out, "scores.npy"), npy.NewFloat64(scores, len(scores))); err != nil {
		return err
	}
	report := attackReport{Attack: spec.Name, Target: *target, Bundle: pos[0], Params: params, Result: res, Epsilon: eps}
	if err := npy.WriteAtomic(filepath.Join(*out, "metrics.json"), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(report)
	}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s on target model %d: AUC %.4f, balanced accuracy %.4f", spec.Name, *target, res.AUC, res.BalancedAccuracy)
	for _, f := range []float64{0.01, 0.001} {
		if e, ok := res.Entry(f); ok {
			fmt.Fprintf(stdout, ", TPR@%g%%FPR %s", 100*f, tprText(e))
		}
	}
	if eps != nil {
		fmt.Fprintf(stdout, ", %s", epsilonText(*eps))
	}
	fmt.Fprintf(stdout, " (%d members, %d non-members)\n", res.Members, res.NonMembers)
	if eps != nil && !eps.DPBound {
		fmt.Fprintf(stdout, "the ε bound is not a DP bound: %s\n", eps.Caveat)
	}
	fmt.Fprintf(stdout, "wrote %s and %s\n", filepath.Join(*out, "scores.npy"), filepath.Join(*out, "metrics.json"))
	return nil
}

// attackOutputs are the files 'pmeter attack' writes into its --out directory.
var attackOutputs = []string{"scores.npy", "metrics.json"}

// checkAttackOut refuses (as a usage error) an output directory where writing would overwrite a file of the bundle, or a
// file that an earlier 'pmeter attack' did not write, or would add scores.npy to the bundle's own
// directory (where it would become one of its arrays). Symbolic links are followed.
func checkAttackOut(bundlePath, out string) error {
	inputs, err := bundle.Files(bundlePath)
	if err != nil {
		return nil // bundle.Load reports it
	}
	if st, err := os.Stat(bundlePath); err == nil && st.IsDir() && samePath(bundlePath, out) {
		return usagef("--out %s is the bundle's own directory: its scores.npy would overwrite or join the bundle's arrays; choose another directory (a subdirectory of the bundle is fine)", out)
	}
	for _, name := range attackOutputs {
		for _, in := range inputs {
			if p := filepath.Join(out, name); samePath(p, in) {
				return usagef("--out %s: %s is the bundle's %s; writing there would overwrite it; choose another directory", out, p, in)
			}
		}
	}
	if isAttackReport(filepath.Join(out, "metrics.json")) {
		return nil // an earlier 'pmeter attack' wrote this directory's outputs
	}
	for _, name := range attackOutputs {
		if p := filepath.Join(out, name); lexists(p) {
			return usagef("--out %s: %s exists and was not written by 'pmeter attack'; choose another directory, or move the file away", out, p)
		}
	}
	return nil
}

// samePath reports whether the paths a and b name the same existing file or directory.
func samePath(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}

// lexists reports whether path exists (a symbolic link, even a dangling one, does).
func lexists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// isAttackReport reports whether path holds a metrics.json that 'pmeter attack' wrote.
func isAttackReport(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return false
	}
	for _, k := range []string{"attack", "target", "bundle", "params", "auc"} {
		if _, ok := m[k]; !ok {
			return false
		}
	}
	return true
}

// tprText formats a TPR for the command's output: "below res." where its FPR is below the resolution.
func tprText(e metric.TPRAt) string {
	if e.BelowResolution {
		return "below res."
	}
	return fmt.Sprintf("%.4f", e.TPR)
}

// epsilonText formats an ε lower bound for the command's output.
func epsilonText(b metric.EpsilonBound) string {
	conf := strconv.FormatFloat(100*(1-b.Alpha), 'g', 4, 64)
	if !b.DPBound {
		return fmt.Sprintf("ε bound %.4f (not a DP bound)", b.Value)
	}
	return fmt.Sprintf("ε ≥ %.4f at δ=%s (%s%% confidence)", b.Value, metric.FormatDelta(b.Delta), conf)
}

// attackReport is the content of metrics.json.
type attackReport struct {
	Attack string            `json:"attack"`
	Target int               `json:"target"`
	Bundle string            `json:"bundle"`
	Params map[string]string `json:"params"`
	metric.Result
	// Epsilon is the holdout ε lower bound (metric.HoldoutEpsilon); null when the records are too few to
	// split.
	Epsilon *metric.EpsilonBound `json:"epsilon_lower_bound"`
}

// attackSets collects repeated --set key=value flags.
type attackSets map[string]string

func (s attackSets) String() string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k+"="+s[k])
	}
	sort.Strings(keys)
	return strings.Join(keys, " ")
}

func (s attackSets) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not key=value", v)
	}
	if _, dup := s[k]; dup {
		return fmt.Errorf("parameter %s is set twice", k)
	}
	s[k] = val
	return nil
}

// writeAttackTable lists every attack with its parameters.
func writeAttackTable(w io.Writer) {
	fmt.Fprintln(w, "\nAttacks and their parameters (--set name=value; default in brackets):")
	for _, s := range attack.Attacks() {
		fmt.Fprintf(w, "\n  %s\n      %s\n", s.Name, s.Description)
		for _, p := range s.Params {
			typ := p.Type
			switch p.Type {
			case "enum":
				typ = strings.Join(p.Values, "|")
			case "int", "float":
				if r := p.RangeText(); r != "" {
					typ += " " + r
				}
			}
			fmt.Fprintf(w, "    %s=%s [%s]\n        %s\n", p.Name, typ, p.Default, p.Help)
		}
	}
}
