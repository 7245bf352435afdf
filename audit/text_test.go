package audit

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/llm"
	"github.com/pmeter/pmeter/validity"
)

func TestTextConfigErrors(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"data: {modality: images, bundle: x}", "data.modality: unknown modality"},
		{"data: {modality: text}", "data.bundle: is required"},
		{"data: {modality: text, bundle: x}\naudit: {privacy_game: range_membership}", "audit.privacy_game: range_membership with data.modality text"},
		{"data: {modality: text, bundle: x}\naudit: {privacy_game: dataset_usage}\ndataset_usage: {proportions: [0.5]}", "line 3: dataset_usage.proportions: does not apply with data.modality text"},
		{"data: {modality: text, bundle: x}\naudit: {privacy_game: dataset_usage}\ndataset_usage: {attack: {name: duci-rmia, params: {offline_a: '2'}}}", "dataset_usage.attack: duci-rmia offline_a"},
		{"data: {modality: text, bundle: x}\naudit: {privacy_game: dataset_usage}\ndataset_usage: {compat: privacy-meter}", "line 3: dataset_usage.compat: privacy-meter with data.modality text needs"},
		{"data: {modality: text, bundle: x}\naudit: {attacks: [{name: rmia}]}", "not a language-model attack"},
		{"data: {modality: text, bundle: x}\naudit: {attacks: [{name: min-k, params: {k: '3'}}]}", "audit.attacks: attack 0 (min-k): k = 3"},
		{"data: {modality: text, bundle: x}\naudit: {attacks: [{name: loss, params: {q: '3'}}]}", "unknown parameter \"q\""},
	} {
		_, err := ParseConfig([]byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.yaml, err, c.want)
		}
	}
	if _, err := ParseConfig([]byte("data: {modality: text, bundle: x}\naudit: {attacks: [{name: min-k-pp, params: {k: '0.3'}}, {name: all}]}")); err != nil {
		t.Errorf("valid text config: %v", err)
	}
}

func TestTextRun(t *testing.T) {
	b := syntheticTextBundle(5)
	dir := t.TempDir()
	bdir := filepath.Join(dir, "bundle")
	if err := b.WriteDir(bdir); err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig([]byte("run: {log_dir: " + filepath.Join(dir, "run") + "}\ndata: {modality: text, bundle: " + bdir + "}\n"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), cfg, Options{Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if res.Text == nil || len(res.Text.Attacks) != 3 || len(res.Text.Blind) != 2 { // loss, zlib (texts), min-k
		t.Fatalf("text result %+v, want loss, zlib and min-k and two blind baselines", res.Text)
	}
	if auc := res.Text.Attacks[0].Metrics.AUC; auc < 0.7 {
		t.Errorf("loss AUC %.3f, want > 0.7", auc)
	}
	for _, f := range []string{"run.json", "report/llm.html", "scores_loss.npy"} {
		if _, err := os.Stat(filepath.Join(dir, "run", f)); err != nil {
			t.Error(err)
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, "run", "run.json"))
	var rj map[string]json.RawMessage
	if err := json.Unmarshal(data, &rj); err != nil || rj["text"] == nil {
		t.Errorf("run.json lacks the text block (%v)", err)
	}
	var sb strings.Builder
	res.WriteSummary(&sb)
	if !strings.Contains(sb.String(), "blind-unigram") || strings.Contains(sb.String(), "MIMIR") {
		t.Errorf("summary lacks the blind baselines or shows MIMIR's metrics without compat:\n%s", sb.String())
	}

	// compat=mimir on one attack: MIMIR's metrics in the summary, run.json and the report.
	mdir := filepath.Join(dir, "mimir")
	cfg, err = ParseConfig([]byte("run: {log_dir: " + mdir + "}\ndata: {modality: text, bundle: " + bdir + "}\naudit: {attacks: [{name: loss}, {name: loss, params: {compat: mimir}}]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if res, err = Run(context.Background(), cfg, Options{Log: io.Discard}); err != nil {
		t.Fatal(err)
	}
	if len(res.Text.Attacks) != 2 || res.Text.Attacks[0].Mimir != nil || res.Text.Attacks[1].Mimir == nil {
		t.Fatalf("attacks %+v: want MIMIR's metrics on the compat=mimir row only", res.Text.Attacks)
	}
	m := res.Text.Attacks[1].Mimir
	if m.AUC != res.Text.Attacks[1].Metrics.AUC || !(m.PRAUC > 0 && m.PRAUC < 1) {
		t.Errorf("MIMIR's metrics %+v", m)
	}
	sb.Reset()
	res.WriteSummary(&sb)
	if !strings.Contains(sb.String(), "MIMIR's metrics") || !strings.Contains(sb.String(), "loss[compat=mimir]") {
		t.Errorf("summary lacks MIMIR's metrics:\n%s", sb.String())
	}
	html, _ := os.ReadFile(filepath.Join(mdir, "report", "llm.html"))
	if !strings.Contains(string(html), "MIMIR&#39;s metrics") && !strings.Contains(string(html), "MIMIR's metrics") {
		t.Error("report/llm.html lacks MIMIR's metrics")
	}
	data, _ = os.ReadFile(filepath.Join(mdir, "run.json"))
	if !strings.Contains(string(data), `"pr_auc"`) {
		t.Error("run.json lacks MIMIR's pr_auc")
	}
}

// TestTextUsageRun runs privacy_game dataset_usage with data.modality text (text DUCI) on a synthetic
// bundle whose target LM was fine-tuned on 40 % of the corpus: run.json's dataset_usage block holds the
// estimate with an interval covering the truth, the summary and report/index.html show it.
func TestTextUsageRun(t *testing.T) {
	b := validity.GenerateLLMUsage(7, 300, 100, 4, 0.4)
	dir := t.TempDir()
	bdir := filepath.Join(dir, "bundle")
	if err := b.WriteDir(bdir); err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig([]byte("run: {log_dir: " + filepath.Join(dir, "run") + "}\ndata: {modality: text, bundle: " + bdir + "}\naudit: {privacy_game: dataset_usage}\ndataset_usage: {resamples: 200}\n"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), cfg, Options{Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	u := res.Usage
	if u == nil || u.Modality != ModalityText || u.DatasetSize != 300 || len(u.Targets) != 1 || len(u.References) != 4 || len(u.ReferenceCheck) == 0 {
		t.Fatalf("usage result %+v", u)
	}
	r := u.Targets[0]
	if r.TrueProportion == nil || *r.TrueProportion != 0.4 || r.CI == nil || r.CI.Lo > 0.4 || r.CI.Hi < 0.4 {
		t.Errorf("estimate %.3f, interval %+v, true %v; want an interval covering 0.4", r.Proportion, r.CI, r.TrueProportion)
	}
	for _, f := range []string{"run.json", "report/index.html", "duci_scores.npy"} {
		if _, err := os.Stat(filepath.Join(dir, "run", f)); err != nil {
			t.Error(err)
		}
	}
	html, _ := os.ReadFile(filepath.Join(dir, "run", "report", "index.html"))
	if !strings.Contains(string(html), "Text DUCI") {
		t.Error("report/index.html does not describe text DUCI")
	}
	var sb strings.Builder
	res.WriteSummary(&sb)
	if !strings.Contains(sb.String(), "300 sequences, text DUCI") || !strings.Contains(sb.String(), "0.400") {
		t.Errorf("summary:\n%s", sb.String())
	}

	// Without labels.npy the truth is unknown: the estimate is made all the same.
	b.Labels = nil
	bdir2 := filepath.Join(dir, "bundle-nolabels")
	if err := b.WriteDir(bdir2); err != nil {
		t.Fatal(err)
	}
	cfg, err = ParseConfig([]byte("run: {log_dir: " + filepath.Join(dir, "run2") + "}\ndata: {modality: text, bundle: " + bdir2 + "}\naudit: {privacy_game: dataset_usage}\ndataset_usage: {resamples: 50}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if res, err = Run(context.Background(), cfg, Options{Log: io.Discard}); err != nil {
		t.Fatal(err)
	}
	if tp := res.Usage.Targets[0].TrueProportion; tp != nil || res.Usage.Targets[0].CI == nil {
		t.Errorf("without labels: true proportion %v, interval %v", tp, res.Usage.Targets[0].CI)
	}
	sb.Reset()
	res.WriteSummary(&sb)
	if !strings.Contains(sb.String(), "unknown") {
		t.Errorf("summary without labels:\n%s", sb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "run2", "report", "index.html")); err != nil {
		t.Error(err)
	}
}

// syntheticTextBundle is a bundle of 40 sequences, the first 20 members, whose members' tokens are more
// likely under the target.
func syntheticTextBundle(seed uint64) *llm.Bundle {
	r := rand.New(rand.NewPCG(seed, 6))
	b := &llm.Bundle{}
	var lp [][]float64
	var texts []string
	for s := range 40 {
		member := s < 20
		var seq []float64
		for range 5 + r.IntN(10) {
			v := -r.ExpFloat64()
			if member {
				v *= 0.6
			}
			seq = append(seq, v)
		}
		lp = append(lp, seq)
		b.Labels = append(b.Labels, member)
		texts = append(texts, strings.Repeat(" word", len(seq)+1))
	}
	b.LogProbs, b.Texts = llm.NewRagged(lp), texts
	return b
}
