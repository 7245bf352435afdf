package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/metric"
)

func TestWriteLLM(t *testing.T) {
	scores := []float64{0.9, 0.8, 0.3, 0.2, 0.6, 0.1}
	members := []bool{true, true, false, false, true, false}
	res, err := metric.Evaluate(scores, members)
	if err != nil {
		t.Fatal(err)
	}
	curve := metric.ROC(scores, members, true)
	m := true
	in := &LLMInput{Bundle: "b", Sequences: 6, Mode: "pmeter's arithmetic",
		Attacks: []LLMAttack{
			{Name: "loss", Paper: "Yeom et al.", Metrics: res, Curve: curve, AUCCI: &metric.Interval{Lo: 0.7, Hi: 0.99}},
			{Name: "min-k", Metrics: metric.Result{AUC: 0.55}, Curve: curve},
			{Name: "blind-length", Blind: true, Metrics: metric.Result{AUC: 0.61}},
		},
		ExposedBy:   "loss",
		ExposedRule: "the run's first attack, chosen before any result is seen",
		Exposed:     []LLMSequence{{Index: 0, Member: &m, Score: 0.9, Text: "<script>alert(1)</script> a text"}},
	}
	dir := t.TempDir()
	if err := WriteLLM(dir, in); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "llm.html"))
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, want := range []string{"<svg", "loss", "blind-length", `class="blind"`, "&lt;script&gt;", "[0.700, 0.990]", "The AUC of min-k is not above the best blind baseline",
		"Most exposed sequences (loss)</h2>\n<p>The sequences that loss ranks highest: the run&#39;s first attack, chosen before any result is seen.</p>"} {
		if !strings.Contains(html, want) {
			t.Errorf("llm.html lacks %q", want)
		}
	}
	if strings.Contains(html, "<script>alert") {
		t.Error("llm.html does not escape the sequence text")
	}
	if strings.Contains(html, "The AUC of loss") || strings.Contains(html, "loss, min-k") {
		t.Error("loss (CI above the blind baseline) is flagged as explained by the texts")
	}

	// No attack scored a sequence: the page says so instead of an empty heading and table.
	in.ExposedBy, in.ExposedRule, in.Exposed = "", "", nil
	if err := WriteLLM(dir, in); err != nil {
		t.Fatal(err)
	}
	if b, err = os.ReadFile(filepath.Join(dir, "llm.html")); err != nil {
		t.Fatal(err)
	}
	if html := string(b); !strings.Contains(html, "Most exposed sequences</h2>\n<p>No attack scored any sequence.</p>") || strings.Contains(html, "<th>rank</th>") {
		t.Error("a page whose attacks scored no sequence does not say so, or shows an empty table")
	}
}
