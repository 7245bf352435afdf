package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pmeter/pmeter/internal/jsonsum"
	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/npy"
	"github.com/pmeter/pmeter/report"
)

// The pages `pmeter report RUN_DIR` rebuilds, by the kind of run (ReportKindOf).
const (
	// MembershipReport is the report of a classifier membership audit: report.Build from the input
	// report.WriteInput saved in RUN_DIR/results.
	MembershipReport = "membership"
	// TextReport is the language-model page (data.modality text), report/llm.html.
	TextReport = "text"
	// UsageReport is the page of the dataset_usage game (DUCI, classifier or text), report/index.html.
	UsageReport = "dataset_usage"
)

// The saved inputs of the text and dataset_usage pages, in RUN_DIR/results (report.ResultsDir). Each
// JSON file records its own SHA-256 (jsonsum.SHA256 with its sha256 field empty) and that of its .npy, so
// that a damaged file is detected rather than rebuilt into a wrong page.
const (
	textPageFile       = "llm_page.json"
	textPageFloats     = "llm_page.npy"             // float64: each attack's ROC FPR, TPR and thresholds, then the exposed sequences' scores
	textPageFormat     = "pmeter.audit.llm-page/v2" // v2: exposed_rule; snake_case keys in mimir (v1: AUC, TPR1, TPR01, PRAUC)
	usagePageFile      = "usage_page.json"
	usagePageFormat    = "pmeter.audit.usage-page/v1"
	textPageName       = "llm.html"
	usagePageName      = "index.html"
	llmPageSignature   = "<title>pmeter: language-model membership audit</title>"
	usagePageSignature = "<title>Dataset usage audit</title>"
)

// ErrNoPageInput is wrapped by RebuildReport's error when the run directory lacks the saved input of its
// page: it was written by a pmeter that did not save it, and only rerunning the audit writes it.
var ErrNoPageInput = errors.New("the run saved no input for its report")

// textPage is the saved input of the language-model page (report.LLMInput); the float arrays, which may
// hold NaN or ±Inf, are in Floats.
type textPage struct {
	Format    string           `json:"format"`
	Bundle    string           `json:"bundle"`
	Sequences int              `json:"sequences"`
	Mode      string           `json:"mode"`
	MimirNote string           `json:"mimir_note,omitempty"`
	Attacks   []textPageAttack `json:"attacks"`
	ExposedBy string           `json:"exposed_by,omitempty"`
	// ExposedRule is why ExposedBy's sequences are listed (report.LLMInput.ExposedRule), kept so that a
	// rebuild states the rule the run followed.
	ExposedRule string             `json:"exposed_rule,omitempty"`
	Exposed     []textPageSequence `json:"exposed,omitempty"`
	Floats      signalFile         `json:"floats"`
	SHA256      string             `json:"sha256"`
}

type textPageAttack struct {
	Name        string               `json:"name"`
	Paper       string               `json:"paper,omitempty"`
	Blind       bool                 `json:"blind,omitempty"`
	Metrics     metric.Result        `json:"metrics"`
	AUCCI       *metric.Interval     `json:"auc_ci,omitempty"`
	Epsilon     *metric.EpsilonBound `json:"epsilon,omitempty"`
	Dropped     int                  `json:"dropped"`
	Mimir       *report.LLMMimir     `json:"mimir,omitempty"`
	CurvePoints int                  `json:"curve_points"`
}

type textPageSequence struct {
	Index  int    `json:"index"`
	Member *bool  `json:"member,omitempty"`
	Text   string `json:"text,omitempty"`
}

// usagePageInput is the saved input of the dataset_usage page.
type usagePageInput struct {
	Format string       `json:"format"`
	Usage  *UsageResult `json:"dataset_usage"`
	SHA256 string       `json:"sha256"`
}

// writeTextPage saves in into logDir/results and builds logDir/report/llm.html from what it saved, as
// RebuildReport does.
func writeTextPage(logDir string, in *report.LLMInput) error {
	results := filepath.Join(logDir, report.ResultsDir)
	if err := os.MkdirAll(results, 0o755); err != nil {
		return err
	}
	st := textPage{Format: textPageFormat, Bundle: in.Bundle, Sequences: in.Sequences, Mode: in.Mode, MimirNote: in.MimirNote, ExposedBy: in.ExposedBy, ExposedRule: in.ExposedRule}
	var floats []float64
	for _, a := range in.Attacks {
		c := a.Curve
		if len(c.TPR) != len(c.FPR) || len(c.Thresholds) != len(c.FPR) {
			return fmt.Errorf("report: %s's ROC curve has %d FPR, %d TPR and %d thresholds", a.Name, len(c.FPR), len(c.TPR), len(c.Thresholds))
		}
		st.Attacks = append(st.Attacks, textPageAttack{Name: a.Name, Paper: a.Paper, Blind: a.Blind, Metrics: a.Metrics, AUCCI: a.AUCCI,
			Epsilon: a.Epsilon, Dropped: a.Dropped, Mimir: a.Mimir, CurvePoints: len(c.FPR)})
		floats = append(append(append(floats, c.FPR...), c.TPR...), c.Thresholds...)
	}
	for _, s := range in.Exposed {
		st.Exposed = append(st.Exposed, textPageSequence{Index: s.Index, Member: s.Member, Text: s.Text})
		floats = append(floats, s.Score)
	}
	var err error
	if st.Floats, err = writeSignalFile(filepath.Join(results, textPageFloats), npy.NewFloat64(floats, len(floats))); err != nil {
		return err
	}
	if err := writeSelfChecked(filepath.Join(results, textPageFile), &st, &st.SHA256); err != nil {
		return err
	}
	_, err = buildTextPage(logDir, filepath.Join(logDir, report.ReportDir))
	return err
}

// buildTextPage reads the language-model page's saved input from runDir/results and writes dir/llm.html.
func buildTextPage(runDir, dir string) (string, error) {
	results := filepath.Join(runDir, report.ResultsDir)
	var st textPage
	if err := readSelfChecked(filepath.Join(results, textPageFile), textPageFormat, &st, &st.Format, &st.SHA256); err != nil {
		return "", err
	}
	a, err := readCheckedFile(filepath.Join(results, textPageFloats), st.Floats)
	if err != nil {
		return "", pageInputError(filepath.Join(results, textPageFloats), err)
	}
	floats := a.Float64s()
	want := len(st.Exposed)
	for _, at := range st.Attacks {
		if at.CurvePoints < 0 {
			return "", fmt.Errorf("%s: damaged: %s has %d curve points", filepath.Join(results, textPageFile), at.Name, at.CurvePoints)
		}
		want += 3 * at.CurvePoints
	}
	if a.Kind != npy.Float64 || len(a.Shape) != 1 || len(floats) != want {
		return "", fmt.Errorf("%s: %v of shape %v, want float64 of shape [%d] (the curves and scores %s lists)", filepath.Join(results, textPageFloats), a.Kind, a.Shape, want, textPageFile)
	}
	in := &report.LLMInput{Bundle: st.Bundle, Sequences: st.Sequences, Mode: st.Mode, MimirNote: st.MimirNote, ExposedBy: st.ExposedBy, ExposedRule: st.ExposedRule}
	next := func(n int) []float64 {
		s := floats[:n:n]
		floats = floats[n:]
		return s
	}
	for _, at := range st.Attacks {
		n := at.CurvePoints
		in.Attacks = append(in.Attacks, report.LLMAttack{Name: at.Name, Paper: at.Paper, Blind: at.Blind, Metrics: at.Metrics, AUCCI: at.AUCCI,
			Epsilon: at.Epsilon, Dropped: at.Dropped, Mimir: at.Mimir, Curve: metric.Curve{FPR: next(n), TPR: next(n), Thresholds: next(n)}})
	}
	for _, s := range st.Exposed {
		in.Exposed = append(in.Exposed, report.LLMSequence{Index: s.Index, Member: s.Member, Text: s.Text, Score: next(1)[0]})
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return filepath.Join(dir, textPageName), report.WriteLLM(dir, in)
}

// writeUsagePage saves u into logDir/results and builds logDir/report/index.html from what it saved, as
// RebuildReport does.
func writeUsagePage(logDir string, u *UsageResult) error {
	results := filepath.Join(logDir, report.ResultsDir)
	if err := os.MkdirAll(results, 0o755); err != nil {
		return err
	}
	st := usagePageInput{Format: usagePageFormat, Usage: u}
	if err := writeSelfChecked(filepath.Join(results, usagePageFile), &st, &st.SHA256); err != nil {
		return err
	}
	_, err := buildUsagePage(logDir, filepath.Join(logDir, report.ReportDir))
	return err
}

// buildUsagePage reads the dataset_usage page's saved input from runDir/results and writes
// dir/index.html.
func buildUsagePage(runDir, dir string) (string, error) {
	var st usagePageInput
	path := filepath.Join(runDir, report.ResultsDir, usagePageFile)
	if err := readSelfChecked(path, usagePageFormat, &st, &st.Format, &st.SHA256); err != nil {
		return "", err
	}
	if st.Usage == nil {
		return "", fmt.Errorf("%s: damaged: no dataset_usage", path)
	}
	return filepath.Join(dir, usagePageName), writeUsageReport(dir, st.Usage)
}

// writeSelfChecked writes v as indented JSON to path, atomically, with *sum set to the SHA-256 of its
// compact JSON with *sum empty (jsonsum.SHA256).
func writeSelfChecked(path string, v any, sum *string) error {
	*sum = ""
	h, err := jsonsum.SHA256(v)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	*sum = h
	return writeJSON(path, v)
}

// readSelfChecked reads a file written by writeSelfChecked into v, whose format field is *format and
// checksum *sum, and checks both.
func readSelfChecked(path, wantFormat string, v any, format, sum *string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return pageInputError(path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: damaged: %w", path, err)
	}
	if *format != wantFormat {
		return fmt.Errorf("%s: format %q, want %q (written by another version of pmeter, or damaged); rerun `pmeter run` on its configuration (for a folder `pmeter attack` wrote: the attack, with --out to it) to write it anew", path, *format, wantFormat)
	}
	recorded := *sum
	*sum = ""
	h, err := jsonsum.SHA256(v)
	*sum = recorded
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if h != recorded {
		return fmt.Errorf("%s: damaged: its contents do not match the SHA-256 it records", path)
	}
	return nil
}

// pageInputError explains a missing saved input: the run predates it.
func pageInputError(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s is missing: %w (made by an earlier pmeter); rerun `pmeter run` on its configuration (for a folder `pmeter attack` wrote: the attack on its LLM bundle, with --out to it) to save it and rebuild the report", path, ErrNoPageInput)
	}
	return err
}

// ReportKindOf returns the kind of report of the run in runDir, from its run.json: TextReport,
// UsageReport, or MembershipReport (also when runDir has no run.json: a directory of saved results).
func ReportKindOf(runDir string) (string, error) {
	path := filepath.Join(runDir, "run.json")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return MembershipReport, nil
	}
	if err != nil {
		return "", err
	}
	var head struct {
		Text  json.RawMessage `json:"text"`
		Usage json.RawMessage `json:"dataset_usage"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	switch {
	case head.Usage != nil && string(head.Usage) != "null":
		return UsageReport, nil
	case head.Text != nil && string(head.Text) != "null":
		return TextReport, nil
	}
	return MembershipReport, nil
}

// RebuildReport rebuilds the page of a text or dataset_usage run (ReportKindOf) in dir from the input the
// run saved in runDir/results, with the builder the run used, and returns the page's path. The page equals
// the run's own byte for byte. A run directory without the saved input (written by an earlier pmeter)
// gives an error wrapping ErrNoPageInput that names the missing file; a damaged one, an error naming it.
// It overwrites only a page of the same kind. Membership reports are rebuilt by report.Build.
func RebuildReport(ctx context.Context, runDir, dir string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	kind, err := ReportKindOf(runDir)
	if err != nil {
		return "", err
	}
	var name, signature string
	var build func(runDir, dir string) (string, error)
	switch kind {
	case TextReport:
		name, signature, build = textPageName, llmPageSignature, buildTextPage
	case UsageReport:
		name, signature, build = usagePageName, usagePageSignature, buildUsagePage
	default:
		return "", fmt.Errorf("%s: a membership run, whose report report.Build rebuilds", runDir)
	}
	if err := checkOverwrite(filepath.Join(dir, name), signature); err != nil {
		return "", err
	}
	return build(runDir, dir)
}

// checkOverwrite refuses to replace a file that is not a page with signature in its head (one pmeter wrote).
func checkOverwrite(path, signature string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	if !strings.Contains(string(head[:n]), signature) {
		return fmt.Errorf("%s exists and is not a page of this kind that pmeter wrote; not overwriting it (choose another --out)", path)
	}
	return nil
}
