package validity

import (
	"context"
	"os"
	"testing"
)

func TestLLMNullHarness(t *testing.T) {
	rep, err := RunLLM(context.Background(), ReducedLLMConfig())
	if err != nil {
		t.Fatal(err)
	}
	if testing.Verbose() {
		rep.WriteTable(os.Stdout)
	}
	if len(rep.Cells) != len(LLMVariants()) {
		t.Fatalf("%d cells, want one per variant (%d)", len(rep.Cells), len(LLMVariants()))
	}
	for _, f := range rep.Failures() {
		t.Error(f)
	}
}

// TestLLMHarnessHasPower checks that the harness rejects attacks on a target that leaks: with the
// members' log-probabilities raised, LOSS's null cell fails; the population cells, which compare
// non-members with non-members, still pass.
func TestLLMHarnessHasPower(t *testing.T) {
	cfg := ReducedLLMConfig()
	cfg.Seeds, cfg.Leak = 8, 0.3
	rep, err := RunLLM(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Cells {
		switch c.Variant {
		case "loss", "min-k", "rmia-lm", "lira-lm":
			if c.AUCPass || c.AUC.Mean < 0.55 {
				t.Errorf("%s on a leaking target: mean AUC %.4f ± %.4f, want it above 0.55 and the cell to fail", c.Variant, c.AUC.Mean, c.AUC.HalfWidth)
			}
		case "blind-length", "blind-unigram":
			if !c.AUCPass {
				t.Errorf("%s: mean AUC %.4f ± %.4f: the blind baselines see no model, want 0.5", c.Variant, c.AUC.Mean, c.AUC.HalfWidth)
			}
		case "rmia-lm population", "lira-lm population":
			// Population sequences and the other non-members are non-members of a leaking target too.
			if !c.Pass {
				t.Errorf("%s on a leaking target: mean AUC %.4f ± %.4f, ε > 0 on %d seeds; want the cell to pass", c.Variant, c.AUC.Mean, c.AUC.HalfWidth, c.EpsPositive)
			}
		}
	}
}

// TestLLMUsageHarness runs the text DUCI harness (reduced): on bundles whose target LM was fine-tuned on
// 0, 20, 50 and 100 % of the corpus, the intervals of llm.Usage cover the truth at their stated rate
// and the estimates are unbiased.
func TestLLMUsageHarness(t *testing.T) {
	cfg := ReducedLLMUsageConfig()
	if testing.Short() {
		cfg.Seeds = 8
	}
	rep, err := RunLLMUsage(context.Background(), cfg, LLMUsageVariants())
	if err != nil {
		t.Fatal(err)
	}
	if testing.Verbose() {
		rep.WriteTable(os.Stdout)
	}
	if len(rep.Cells) != len(cfg.Proportions)*len(LLMUsageVariants()) {
		t.Fatalf("%d cells, want %d", len(rep.Cells), len(cfg.Proportions)*len(LLMUsageVariants()))
	}
	for _, c := range rep.Cells {
		if c.Seeds != cfg.Seeds {
			t.Errorf("%s at p = %v: %d of %d seeds gave an estimate: %v", c.Variant, c.Proportion, c.Seeds, cfg.Seeds, c.Errors)
		}
		if c.MeanWidth <= 0 || c.MeanWidth >= 0.5 {
			t.Errorf("%s at p = %v: mean interval width %.3f, want an informative interval in (0, 0.5)", c.Variant, c.Proportion, c.MeanWidth)
		}
	}
	for _, f := range rep.Failures() {
		t.Error(f)
	}
	checkPooledCoverage(t, rep, len(LLMUsageVariants()))
}

// TestLLMUsageHarnessHasPower checks that the text DUCI harness detects a broken assumption: a target LM
// fine-tuned harder than the shadow LMs (its members' log-probabilities scaled by 0.6 instead of 0.88)
// has a higher TPR than the references measure, so the estimate at p = 0.5 is biased upward and the cell
// fails.
func TestLLMUsageHarnessHasPower(t *testing.T) {
	cfg := ReducedLLMUsageConfig()
	cfg.Seeds, cfg.Proportions, cfg.Resamples = 10, []float64{0.5}, 50
	rep, err := runLLMUsage(context.Background(), cfg, LLMUsageVariants()[:1], 0.6, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := rep.Cells[0]
	if testing.Verbose() {
		t.Logf("mean error %+.4f ± %.4f, misses %d/%d", c.Bias.Mean, c.Bias.HalfWidth, c.Misses, c.Seeds)
	}
	if c.BiasOK || c.Bias.Mean < 0.02 {
		t.Errorf("target fine-tuned harder than the shadows: mean error %+.4f ± %.4f, misses %d/%d; want a positive bias the cell rejects", c.Bias.Mean, c.Bias.HalfWidth, c.Misses, c.Seeds)
	}
}
