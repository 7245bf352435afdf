package report

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// htmlCheck is what checkSelfContained found in a page.
type htmlCheck struct {
	svgs, images int
	ids          map[string]bool
	text         strings.Builder
	csp          string
}

// checkPage reads the page Build wrote into dir, reports its self-containment problems as errors,
// and returns it with what checkSelfContained found in it.
func checkPage(t *testing.T, dir string) ([]byte, *htmlCheck) {
	t.Helper()
	page, err := os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	c, problems := checkSelfContained(page)
	for _, p := range problems {
		t.Error(p)
	}
	return page, c
}

// checkSelfContained parses page as well-formed (X)HTML with encoding/xml in strict mode and returns the
// problems: any element that loads a resource (script, link, iframe, object, embed, base, media), any
// src/href/srcset/poster/data/action that is not a fragment or data: URI, url() or @import in CSS, a
// duplicate id, and any http(s) URL outside namespace declarations.
func checkSelfContained(page []byte) (*htmlCheck, []string) {
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	c := &htmlCheck{ids: map[string]bool{}}
	d := xml.NewDecoder(bytes.NewReader(page))
	d.Strict = true
	d.Entity = xml.HTMLEntity
	var stack []string
	namespaceURLs := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			bad("parse error: %v", err)
			break
		}
		switch x := tok.(type) {
		case xml.StartElement:
			name := strings.ToLower(x.Name.Local)
			stack = append(stack, name)
			switch name {
			case "script", "link", "iframe", "object", "embed", "base", "frame", "audio", "video", "source", "track", "applet", "portal":
				bad("element <%s> not allowed", name)
			case "svg":
				c.svgs++
			case "img":
				c.images++
			}
			for _, at := range x.Attr {
				an := strings.ToLower(at.Name.Local)
				v := strings.TrimSpace(at.Value)
				switch {
				case at.Name.Space == "xmlns" || an == "xmlns":
					if strings.HasPrefix(v, "http") {
						namespaceURLs++
					}
				case an == "src":
					if !strings.HasPrefix(v, "data:image/") {
						bad("<%s src=%q> is not a data: image", name, trunc(v))
					}
				case an == "href":
					if !strings.HasPrefix(v, "#") {
						bad("<%s href=%q> is not a fragment", name, trunc(v))
					}
				case an == "srcset", an == "poster", an == "data", an == "action", an == "formaction", an == "background", an == "ping":
					bad("<%s %s=%q> not allowed", name, an, trunc(v))
				case an == "style":
					if s := strings.ToLower(v); strings.Contains(s, "url(") || strings.Contains(s, "@import") {
						bad("<%s style=%q> loads a resource", name, trunc(v))
					}
				case an == "id":
					if c.ids[v] {
						bad("duplicate id %q", v)
					}
					c.ids[v] = true
				case an == "http-equiv" && strings.EqualFold(v, "Content-Security-Policy"):
					for _, a2 := range x.Attr {
						if a2.Name.Local == "content" {
							c.csp = a2.Value
						}
					}
				}
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 && stack[len(stack)-1] == "style" {
				if s := strings.ToLower(string(x)); strings.Contains(s, "url(") || strings.Contains(s, "@import") {
					bad("<style> loads a resource")
				}
			}
			c.text.Write(x)
		}
	}
	if n := bytes.Count(page, []byte("http://")) + bytes.Count(page, []byte("https://")); n != namespaceURLs {
		bad("%d http(s) URLs in the page, %d of them namespace declarations", n, namespaceURLs)
	}
	return c, problems
}

func trunc(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

func TestHTMLSelfContained(t *testing.T) {
	for _, kind := range []fakeKind{fakeImages, fakeTabular} {
		in := fakeInput(31, 800, kind)
		dir := t.TempDir()
		if _, err := Build(context.Background(), in, dir, testOptions); err != nil {
			t.Fatal(err)
		}
		page, err := os.ReadFile(filepath.Join(dir, HTMLFile))
		if err != nil {
			t.Fatal(err)
		}
		c, problems := checkSelfContained(page)
		for _, p := range problems {
			t.Errorf("kind %d: %s", kind, p)
		}
		if !strings.Contains(c.csp, "default-src 'none'") {
			t.Errorf("kind %d: Content-Security-Policy %q does not forbid loading", kind, c.csp)
		}
		// roc, roc_log, one histogram per attack, per_class.
		if want := 2 + len(in.Attacks) + 1; c.svgs != want {
			t.Errorf("kind %d: %d inline SVGs, want %d", kind, c.svgs, want)
		}
		wantImages := 0
		if kind == fakeImages {
			wantImages = testOptions.TopK
		}
		if c.images != wantImages {
			t.Errorf("kind %d: %d images, want %d", kind, c.images, wantImages)
		}
		text := c.text.String()
		for _, want := range []string{"Attack results", "Most vulnerable records", "Per-class breakdown", "Threat model",
			"Why low false-positive rates matter", "Clopper", "Run parameters and seeds", "random_seed", "1234",
			"Train accuracy", "Generalisation gap", "Membership Inference Attacks From First Principles"} {
			if !strings.Contains(text, want) {
				t.Errorf("kind %d: page lacks %q", kind, want)
			}
		}
		if kind == fakeTabular && (!strings.Contains(text, "income") || !strings.Contains(text, "Bold feature values")) {
			t.Errorf("tabular page shows no feature columns")
		}
		if len(page) > 3<<20 {
			t.Errorf("kind %d: page is %d bytes", kind, len(page))
		}
		for _, f := range []string{"roc", "roc_log", "hist_loss", "hist_lira", "hist_rmia", "hist_entropy", "per_class"} {
			for _, ext := range []string{".png", ".svg"} {
				b, err := os.ReadFile(filepath.Join(dir, PlotsDir, f+ext))
				if err != nil {
					t.Error(err)
					continue
				}
				if ext == ".png" && !bytes.HasPrefix(b, []byte("\x89PNG")) || ext == ".svg" && !bytes.Contains(b[:200], []byte("<svg")) {
					t.Errorf("%s%s is not a %s file", f, ext, ext)
				}
			}
		}
		if s := string(page[:min(len(page), 4000)]); !strings.Contains(s, "<!DOCTYPE html>") {
			t.Error("no doctype")
		}
	}
}

// TestHTMLEscapes: text from the input cannot inject markup.
func TestHTMLEscapes(t *testing.T) {
	in := fakeInput(32, 200, fakeTabular)
	in.Title = `<script>alert("title")</script>`
	in.Model = `M&M's "model"`
	in.Attacks[0].Name = `loss<img src=x onerror=alert(1)>`
	in.Attacks[0].Description = `</td><script>alert(2)</script>`
	in.FeatureNames[1] = `<b>income</b>`
	// More features than fit in columns: each record lists its most unusual values.
	in.FeatureNames = append(in.FeatureNames, "f6", "f7", "f8", "f9")
	for i := range in.Records {
		in.Records[i].Features = append(in.Records[i].Features, 1, 2, 3, float64(i%7))
	}
	in.Params["evil"] = `"><script>alert(3)</script>`
	dir := t.TempDir()
	if _, err := Build(context.Background(), in, dir, testOptions); err != nil {
		t.Fatal(err)
	}
	page, c := checkPage(t, dir)
	if bytes.Contains(bytes.ToLower(page), []byte("<script")) || bytes.Contains(page, []byte("<img src=x")) || bytes.Contains(page, []byte("<b>income")) {
		t.Error("input text was not escaped")
	}
	for _, want := range []string{in.Title, in.Model, in.Attacks[0].Name, in.FeatureNames[1] + " = "} {
		if !strings.Contains(c.text.String(), want) {
			t.Errorf("page text lacks %q", want)
		}
	}
}

// TestCheckSelfContained makes sure the checker catches what it should.
func TestCheckSelfContained(t *testing.T) {
	for _, bad := range []string{
		`<html><body><script src="x.js"></script></body></html>`,
		`<html><head><link rel="stylesheet" href="a.css"/></head></html>`,
		`<html><body><img src="https://example.org/a.png"/></body></html>`,
		`<html><body><a href="https://example.org">x</a></body></html>`,
		`<html><body><div style="background: url(a.png)"></div></body></html>`,
		`<html><head><style>@import "x.css";</style></head></html>`,
		`<html><body><p id="a"></p><p id="a"></p></body></html>`,
		`<html><body><p>unclosed</body></html>`,
		`<html><body><p>see http://example.org</p></body></html>`,
	} {
		if _, problems := checkSelfContained([]byte(bad)); len(problems) == 0 {
			t.Errorf("no problem found in %s", bad)
		}
	}
	ok := `<!DOCTYPE html><html><body><svg xmlns="http://www.w3.org/2000/svg"></svg><img src="data:image/png;base64,AA"/><a href="#x">x</a></body></html>`
	if _, problems := checkSelfContained([]byte(ok)); len(problems) > 0 {
		t.Errorf("problems in a self-contained page: %v", problems)
	}
}

// TestHTMLEpsilonAndResolution: the page says what the ε bound guarantees, marks it "not a DP bound"
// with the reason where the memberships allow none, and shows "below res." instead of a TPR at an FPR
// the audit cannot resolve.
func TestHTMLEpsilonAndResolution(t *testing.T) {
	const caveat = "in the pairs design every model trains on exactly half of the records"
	for _, tc := range []struct {
		name          string
		n             int
		edit          func(in *Input)
		want, notWant []string
	}{
		{"dp bound, 400 non-members", 800, func(in *Input) {},
			[]string{"ε ≥ (δ = 1e-5)", "With 95% confidence, the training algorithm is not (ε, δ=1e-5)-differentially private for any ε below",
				"the largest of the 4 attacks' holdout bounds", "below res.", "with 400 non-members the audit cannot measure",
				"wrongly flagging at most 1% of other records", "not a DP bound” and why", "at 1% false positives"},
			[]string{"ε: not a DP bound", "n/a", "0.1% of other records", "at 0.1% false positives"}},
		{"pairs design, 2500 non-members", 5000, func(in *Input) { in.DPCaveat = caveat },
			[]string{"ε: not a DP bound", caveat, "n/a", "The ε lower bounds of this audit are not DP bounds: " + caveat,
				"wrongly flagging at most 0.1% of other records", "Not a DP audit", "at 0.1% false positives"},
			[]string{"the rates at 0.1% are reported as below resolution", "differentially private for any ε below"}},
		{"two targets pooled", 800, func(in *Input) {
			in.Targets = 2
			for i := range in.Records {
				in.Records[i].Target = i % 2
			}
		},
			[]string{"not a DP bound", "2 target models are pooled", "Per target model", "ε lower bound (δ = 1e-5)",
				"holdout bounds on each of the 2 target models"},
			nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := fakeInput(33, tc.n, fakeNone)
			tc.edit(in)
			dir := t.TempDir()
			s, err := Build(context.Background(), in, dir, testOptions)
			if err != nil {
				t.Fatal(err)
			}
			_, c := checkPage(t, dir)
			text := c.text.String()
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(text, w) {
					t.Errorf("page contains %q", w)
				}
			}
			if !strings.Contains(s.Verdict.Text, s.Verdict.EpsilonGuarantee) || s.Verdict.EpsilonGuarantee == "" {
				t.Errorf("verdict text %q lacks the ε guarantee %q", s.Verdict.Text, s.Verdict.EpsilonGuarantee)
			}
		})
	}
}
