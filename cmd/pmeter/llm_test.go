package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/internal/vectortest"
	"github.com/pmeter/pmeter/llm"
	"github.com/pmeter/pmeter/npy"
)

// llmTestBundle writes a small LLM bundle whose members have higher log-probabilities.
func llmTestBundle(t *testing.T) string {
	t.Helper()
	r := rand.New(rand.NewPCG(3, 4))
	var lp, nb [][]float64
	var ids [][]int64
	var mu, s2 []float64
	b := &llm.Bundle{}
	for s := range 60 {
		member := s%2 == 0
		var seq []float64
		var id []int64
		for j := 0; j < 8+r.IntN(8); j++ {
			v := -r.ExpFloat64() * 2
			if member {
				v /= 2
			}
			seq = append(seq, v)
			id = append(id, int64(r.IntN(30)))
			mu, s2 = append(mu, -2), append(s2, 1)
		}
		id = append(id, int64(r.IntN(30)))
		lp, ids, nb = append(lp, seq), append(ids, id), append(nb, []float64{2, 2.5})
		b.Labels = append(b.Labels, member)
		b.Texts = append(b.Texts, fmt.Sprintf("sequence number %d <&>", s))
	}
	b.LogProbs, b.Tokens, b.Neighbors, b.Mu, b.Sigma2 = llm.NewRagged(lp), llm.NewRagged(ids), llm.NewRagged(nb), mu, s2
	dir := filepath.Join(t.TempDir(), "bundle")
	if err := b.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestAttackLLM(t *testing.T) {
	dir := llmTestBundle(t)
	out := filepath.Join(t.TempDir(), "res")
	code, stdout, stderr := attackCLI(t, "attack", dir, "--attack", "all", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"loss ", "zlib ", "min-k ", "min-k-pp ", "neighborhood ", "blind-length", "blind-unigram", "distribution shift"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	if n := strings.Count(stdout, "TPR@1%FPR"); n != 1 || strings.Contains(stdout, "MIMIR") {
		t.Errorf("--attack all printed %d tables (want one, and no MIMIR table without compat):\n%s", n, stdout)
	}
	// The report: the table, the ROC curves and the most exposed sequences with their texts.
	html, err := os.ReadFile(filepath.Join(out, "report", "llm.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<h2>ROC curves</h2>", "<svg", "Most exposed sequences", "sequence number 0 &lt;&amp;&gt;", ">neighborhood<"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("llm.html lacks %q", want)
		}
	}
	var rep struct {
		Attacks []struct {
			Attack  string `json:"attack"`
			Metrics struct {
				AUC float64 `json:"auc"`
			} `json:"metrics"`
		} `json:"attacks"`
	}
	data, err := os.ReadFile(filepath.Join(out, llmMetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Attacks) != 5 { // loss, zlib (texts), min-k, min-k-pp, neighborhood: the inputs the bundle has
		t.Errorf("%d attacks ran, want 5: %+v", len(rep.Attacks), rep.Attacks)
	}
	for _, a := range rep.Attacks {
		if a.Attack == "loss" && !(a.Metrics.AUC > 0.7) {
			t.Errorf("loss AUC %v, want > 0.7 (members have higher log-probabilities)", a.Metrics.AUC)
		}
		if _, err := npy.ReadFile(filepath.Join(out, "scores_"+a.Attack+".npy")); err != nil {
			t.Error(err)
		}
	}
	// compat=mimir adds MIMIR's metrics in a second table.
	code, stdout, stderr = attackCLI(t, "attack", dir, "--attack", "all", "--set", "compat=mimir", "--out", out)
	if code != 0 || strings.Count(stdout, "MIMIR's metrics") != 1 || !strings.Contains(stdout, "PR-AUC") {
		t.Errorf("compat=mimir: exit %d, %s\n%s", code, stderr, stdout)
	}
	// One attack with parameters; the same directory may be reused.
	if code, _, stderr := attackCLI(t, "attack", dir, "--attack", "min-k", "--set", "k=0.3", "--set", "window=2", "--out", out); code != 0 {
		t.Fatalf("min-k: exit %d: %s", code, stderr)
	}
	// Errors: an unknown attack, a bad parameter, an attack without inputs, a foreign file in --out.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--attack", "rmia"}, "an LLM bundle takes one of"},
		{[]string{"--attack", "min-k", "--set", "k=2"}, "k = 2"},
		{[]string{"--attack", "dc-pdd"}, "lacks this attack's inputs"},
		{[]string{"--attack", "loss", "--set", "compat=other"}, "compat"},
	} {
		code, _, stderr := attackCLI(t, append([]string{"attack", dir, "--out", out}, c.args...)...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want an error with %q", c.args, code, stderr, c.want)
		}
	}
	// A file of the run directory that no 'pmeter attack' wrote (a 'pmeter run' directory's run.json, a
	// page) is not overwritten, and nothing is written there.
	for _, name := range []string{llmMetricsFile, "run.json", filepath.Join("results", "llm_page.json"), filepath.Join("report", "llm.html"), "scores_loss.npy"} {
		foreign := t.TempDir()
		os.MkdirAll(filepath.Dir(filepath.Join(foreign, name)), 0o755)
		os.WriteFile(filepath.Join(foreign, name), []byte("{}"), 0o644)
		before := snapshot(t, foreign)
		if code, _, stderr := attackCLI(t, "attack", dir, "--attack", "loss", "--out", foreign); code == 0 || !strings.Contains(stderr, "not written by") {
			t.Errorf("foreign %s: exit %d, %q", name, code, stderr)
		}
		if !maps.Equal(before, snapshot(t, foreign)) {
			t.Errorf("foreign %s: the refused attack changed the directory", name)
		}
	}
}

// TestAttackLLMVector runs the command on a reference vector case under compat=mimir: the scores are
// MIMIR's, negated.
func TestAttackLLMVector(t *testing.T) {
	c := vectortest.Load(t, "llm_loss")
	out := filepath.Join(t.TempDir(), "res")
	if code, _, stderr := attackCLI(t, "attack", c.Dir, "--attack", "loss", "--set", "compat=mimir", "--out", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	a, err := npy.ReadFile(filepath.Join(out, "scores_loss.npy"))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range c.F64(t, "scores") {
		if math.Abs(-a.F64[i]-v) > 1e-9*math.Abs(v) {
			t.Fatalf("scores_loss[%d] = %v, want -%v", i, a.F64[i], v)
		}
	}
}

// TestAttackLLMClaimsOut: 'pmeter attack' on an LLM bundle claims its --out run directory as 'pmeter
// report' does: while a report of the directory is held mid-command, the attack is refused, naming it,
// and works again once the report has ended.
func TestAttackLLMClaimsOut(t *testing.T) {
	dir := llmTestBundle(t)
	out := filepath.Join(t.TempDir(), "res")
	if code, _, stderr := attackCLI(t, "attack", dir, "--attack", "loss", "--out", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	finish := holdReport(t, out)
	code, _, stderr := attackCLI(t, "attack", dir, "--attack", "loss", "--out", out)
	if code == 0 || !strings.Contains(stderr, "is in use") || !strings.Contains(stderr, "pmeter report") {
		t.Errorf("attack while a report holds %s: exit %d, %q", out, code, stderr)
	}
	if code, _, stderr := finish(); code != 0 {
		t.Fatalf("the report: exit %d: %s", code, stderr)
	}
	if code, _, stderr := attackCLI(t, "attack", dir, "--attack", "loss", "--out", out); code != 0 {
		t.Errorf("attack after the report: exit %d: %s", code, stderr)
	}
	// The --out of an earlier pmeter (llm_metrics.json and llm.html, no run directory): report says to
	// rerun the attack.
	old := t.TempDir()
	os.WriteFile(filepath.Join(old, llmMetricsFile), []byte(`{"format": "pmeter-llm-attack/1"}`), 0o644)
	if code, _, stderr := attackCLI(t, "report", old); code != 1 || !strings.Contains(stderr, "rerun 'pmeter attack'") {
		t.Errorf("report of an earlier attack's --out: exit %d, %q", code, stderr)
	}
}
