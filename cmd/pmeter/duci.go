package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pmeter/pmeter/bundle"
	"github.com/pmeter/pmeter/duci"
	"github.com/pmeter/pmeter/llm"
	"github.com/pmeter/pmeter/npy"
)

const duciUsage = `Usage:
  pmeter duci BUNDLE --dataset MASK_OR_INDICES [--target I] [--references LIST] [--attack NAME]
              [--set key=value ...] [--compat privacy-meter] [--resamples B] [--level L] [--interval M] [--seed N]
              --out DIR
  pmeter duci LLM_BUNDLE [--dataset SEQUENCES] [--references LIST] [--attack NAME] [--set key=value ...]
              [--resamples B] [--level L] [--interval M] [--seed N] --out DIR

Estimates the fraction of a dataset that target model I trained on (DUCI: Tong et al., "How Much of My
Dataset Did You Use?", ICLR 2025) and writes DIR/duci.json: proportion (clipped to [0, 1]), ci_low and
ci_high (bootstrap over the records and the reference models; interval.method names its construction,
which the printed line names too), threshold, tpr and fpr (the point of
maximal TPR − FPR on the reference models), method, and the intermediates. The target's memberships in
the bundle are not used, except to leave out of the default references a model determined by them.

On an LLM bundle (mia-llm-logprobs/1, see 'pmeter attack -h') it is text DUCI: the fraction of a corpus
of sequences that the target LM was fine-tuned on, on the sequence signal exp(mean token log-prob), the
shadow LMs (shadow/<name>/, models 1 to R in name order) as the references; --dataset lists sequences
and is optional (default: every sequence outside population.npy); labels.npy, when given, adds the true
proportion to the output.

Flags:
  --dataset X       the dataset's records: a .npy file of a bool mask (one per record) or of integer
                    record indices, or a list such as 0-499,600,602 (LLM bundle: sequences)
  --target I        the model whose usage is estimated (default 0)
  --references L    reference models (known memberships), e.g. 4,5,6,7; default every other model
                    whose memberships on the dataset are not the target's or their complement
  --attack NAME     duci-rmia (default: DUCI's RMIA variant, a tuned on the references),
                    duci-population, or any attack of 'pmeter attack -h'
  --set key=value   an attack parameter; repeat for several (duci-rmia: offline_a)
  --compat C        privacy-meter: Privacy Meter v2's estimate bit for bit (no interval)
  --resamples B     bootstrap resamples (default 1000); --level L its confidence (default 0.95);
  --interval M      the interval's construction: conditional (default: the target's memberships held
                    fixed) or conservative (pmeter's first, kept for comparison: redraws the target's
                    records and adds a reference's whole deviation); not with --compat
  --seed N          the resampling's seed (default 0)
  --out DIR         output directory; duci.json there is overwritten only when 'pmeter duci' wrote it
`

// duciReport is the content of duci.json.
type duciReport struct {
	Bundle      string `json:"bundle"`
	DatasetSize int    `json:"dataset_size"`
	// Modality is "text" for an LLM bundle (the records are sequences, the references shadow LMs).
	Modality string `json:"modality,omitempty"`
	duci.Result
}

// runDUCI implements 'pmeter duci'.
func runDUCI(ctx context.Context, args []string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("duci", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dataset := fs.String("dataset", "", "")
	target := fs.Int("target", 0, "")
	refsFlag := fs.String("references", "", "")
	name := fs.String("attack", "duci-rmia", "")
	compatFlag := fs.String("compat", "", "")
	resamples := fs.Int("resamples", 1000, "")
	level := fs.Float64("level", 0.95, "")
	intervalFlag := fs.String("interval", "", "")
	seed := fs.Uint64("seed", 0, "")
	out := fs.String("out", "", "")
	sets := attackSets{}
	fs.Var(sets, "set", "")
	pos, err := parseArgs(fs, args, duciUsage, stdout)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 1:
		return usagef("want one BUNDLE argument, got %d (%s); run 'pmeter duci -h'", len(pos), strings.Join(pos, " "))
	case *out == "":
		return usagef("--out is required")
	case *resamples < 2:
		return usagef("--resamples %d: want at least 2", *resamples)
	case !(*level > 0 && *level < 1):
		return usagef("--level %v: want a confidence in (0, 1)", *level)
	}
	compat, err := duci.ParseCompat(*compatFlag)
	if err != nil {
		return usagef("--compat: %v", err)
	}
	interval, err := duci.ParseInterval(*intervalFlag)
	switch {
	case err != nil:
		return usagef("--interval: %v", err)
	case compat != "" && *intervalFlag != "":
		return usagef("--interval does not apply with --compat %s, which computes no interval", compat)
	}
	scorer, err := duci.ParseAttack(*name, sets, compat)
	if err != nil {
		return usagef("--attack/--set: %v", err)
	}
	outFile := filepath.Join(*out, "duci.json")
	if lexists(outFile) && !isDUCIReport(outFile) {
		return usagef("--out %s: %s exists and was not written by 'pmeter duci'; choose another directory, or move the file away", *out, outFile)
	}
	if llm.IsBundle(pos[0]) {
		return runTextDUCI(ctx, pos[0], *dataset, *target, *refsFlag, duci.Config{Attack: scorer, Resamples: *resamples, Level: *level, Seed: *seed, Interval: interval, Compat: compat}, outFile, stdout)
	}
	if *dataset == "" {
		return usagef("--dataset is required: a mask or index .npy file, or a list such as 0-499")
	}
	d, err := bundle.Load(pos[0])
	if err != nil {
		return err
	}
	if *target < 0 || *target >= d.M {
		return usagef("--target %d: the bundle has %d models (0 to %d)", *target, d.M, d.M-1)
	}
	records, err := parseDataset(*dataset, d.N)
	if err != nil {
		return usagef("--dataset: %v", err)
	}
	if d, err = duci.SelectRecords(d, records); err != nil {
		return usagef("--dataset: %v", err)
	}
	var refs []int
	if *refsFlag != "" {
		if refs, err = parseIndexList(*refsFlag, d.M); err != nil {
			return usagef("--references: %v", err)
		}
	} else if refs = duci.DefaultReferences(d, *target); len(refs) == 0 {
		return usagef("the bundle has no model that can serve as a reference for target %d; give --references", *target)
	}
	cfg := compatConfig(duci.Config{Attack: scorer, Resamples: *resamples, Level: *level, Seed: *seed, Interval: interval, Compat: compat})
	res, err := duci.Estimate(ctx, d, []duci.Target{{Model: *target, Refs: refs}}, cfg)
	if err != nil {
		return err
	}
	return writeDUCI(duciReport{Bundle: pos[0], DatasetSize: len(records), Result: res[0]}, "records", outFile, stdout)
}

// compatConfig moves a compat run's RMIA settings where duci.Estimate's compat mode reads them.
func compatConfig(cfg duci.Config) duci.Config {
	if r, ok := cfg.Attack.(*duci.RMIA); ok && cfg.Compat != "" {
		if r.Tune {
			cfg.Attack = nil
		} else {
			a := r.OfflineA
			cfg.OfflineA = &a
		}
	}
	return cfg
}

// writeDUCI writes duci.json and prints the estimate; unit names what the dataset holds.
func writeDUCI(rep duciReport, unit, outFile string, stdout io.Writer) error {
	if err := os.MkdirAll(filepath.Dir(outFile), 0o755); err != nil {
		return err
	}
	if err := npy.WriteAtomic(outFile, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}); err != nil {
		return err
	}
	r := rep.Result
	fmt.Fprintf(stdout, "target model %d used %.4f of the dataset's %d %s", r.Target, r.Proportion, rep.DatasetSize, unit)
	if r.CI != nil {
		fmt.Fprintf(stdout, " (%g%% %s interval [%.4f, %.4f])", 100*r.CI.Level, r.CI.Method, r.CI.Lo, r.CI.Hi)
	}
	if r.TrueProportion != nil {
		fmt.Fprintf(stdout, "; true proportion %.4f", *r.TrueProportion)
	}
	fmt.Fprintf(stdout, "; %s, threshold %.4g, reference TPR %.4f, FPR %.4f, references %v\nwrote %s\n", r.Method, r.Threshold, r.TPR, r.FPR, r.References, outFile)
	return nil
}

// runTextDUCI is 'pmeter duci' on an LLM bundle: the fraction of the corpus (--dataset: sequence
// indices, default every sequence outside population.npy) that the target LM was fine-tuned on, the
// shadow LMs (models 1 to R, in name order) as the reference models.
func runTextDUCI(ctx context.Context, path, dataset string, target int, refsFlag string, cfg duci.Config, outFile string, stdout io.Writer) error {
	if target != 0 {
		return usagef("--target %d: an LLM bundle holds one target LM, model 0 (the shadow LMs are its references)", target)
	}
	b, err := llm.Read(path)
	if err != nil {
		return err
	}
	var corpus, refs []int
	if dataset != "" {
		if corpus, err = parseDataset(dataset, b.N()); err != nil {
			return usagef("--dataset: %v", err)
		}
	}
	if refsFlag != "" {
		if refs, err = parseIndexList(refsFlag, len(b.Shadows)+1); err != nil {
			return usagef("--references: %v (the shadow LMs are models 1 to %d)", err, len(b.Shadows))
		}
	}
	res, d, err := llm.Usage(ctx, b, corpus, refs, compatConfig(cfg))
	if err != nil {
		return err
	}
	return writeDUCI(duciReport{Bundle: path, DatasetSize: d.N, Modality: "text", Result: *res}, "sequences", outFile, stdout)
}

// isDUCIReport reports whether path holds a duci.json that 'pmeter duci' wrote.
func isDUCIReport(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return false
	}
	for _, k := range []string{"bundle", "dataset_size", "proportion", "method"} {
		if _, ok := m[k]; !ok {
			return false
		}
	}
	return true
}

// parseDataset reads --dataset: a .npy mask (n booleans) or index list, or an inline list.
func parseDataset(s string, n int) ([]int, error) {
	if st, err := os.Stat(s); err == nil && !st.IsDir() {
		a, err := npy.ReadFile(s)
		if err != nil {
			return nil, err
		}
		if a.Kind == npy.Bool { // a mask; any other dtype holds record indices
			mask := a.B
			if len(mask) != n {
				return nil, fmt.Errorf("%s: a mask of %d values for %d records", s, len(mask), n)
			}
			var idx []int
			for i, in := range mask {
				if in {
					idx = append(idx, i)
				}
			}
			return idx, nil
		}
		v, err := a.Int64s()
		if err != nil {
			return nil, fmt.Errorf("%s: want a boolean mask or integer record indices: %v", s, err)
		}
		idx := make([]int, len(v))
		for k, x := range v {
			if x < 0 || x >= int64(n) {
				return nil, fmt.Errorf("%s: element %d is record %d; there are %d records", s, k, x, n)
			}
			idx[k] = int(x)
		}
		return idx, nil
	}
	return parseIndexList(s, n)
}

// parseIndexList parses "0-499,600,602" into indices below n.
func parseIndexList(s string, n int) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("%q is not an index or a range a-b (and no such file)", part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("%q is not a range a-b with a ≤ b", part)
			}
		}
		if a < 0 || b >= n {
			return nil, fmt.Errorf("%q: indices lie in [0, %d)", part, n)
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out, nil
}
