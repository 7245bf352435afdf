package report

import (
	"bufio"
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chromium returns the path of a Chromium or Chrome binary ($CHROMIUM first), or "".
func chromium() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// renderPage opens page in headless Chromium, takes a screenshot of a 1280 × height window and returns
// it with the console messages the page produced. Chromium logs every console message (log, warning,
// error, uncaught exception, Content-Security-Policy violation, failed load) as an INFO:CONSOLE line on
// stderr with --enable-logging=stderr.
func renderPage(t *testing.T, bin, page string, height int) (image.Image, []string) {
	t.Helper()
	dir := t.TempDir()
	shot := filepath.Join(dir, "screenshot.png")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	abs, err := filepath.Abs(page)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--hide-scrollbars", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--enable-logging=stderr", "--v=0",
		"--window-size=1280,"+strconv.Itoa(height), "--screenshot="+shot, "file://"+filepath.ToSlash(abs))
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	var console []string
	sc := bufio.NewScanner(&stderr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); strings.Contains(line, ":CONSOLE") || strings.Contains(line, "Failed to load resource") {
			console = append(console, line)
		}
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v\n%s", err, stderr.String())
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img, console
}

// inked returns the fraction of pixels that are not near-white, and the variance of the grey level.
func inked(img image.Image) (frac, variance float64) {
	b := img.Bounds()
	var n, ink int
	var sum, sum2 float64
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			grey := (float64(r) + float64(g) + float64(bl)) / 3 / 257
			sum += grey
			sum2 += grey * grey
			n++
			if grey < 235 {
				ink++
			}
		}
	}
	mean := sum / float64(n)
	return float64(ink) / float64(n), sum2/float64(n) - mean*mean
}

// TestBrowserRender renders the report in headless Chromium: the page must not be blank and must leave
// nothing on the console (no script errors, no resource blocked by the page's Content-Security-Policy,
// which forbids every network or file load). Two control pages check that the console capture works.
// It skips when Chromium is absent, and in -short mode, unless CI=true.
func TestBrowserRender(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("skipped in -short mode (it starts Chromium twice)")
	}
	bin := chromium()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("Chromium not found, and CI=true: install Debian's chromium package (or set $CHROMIUM)")
		}
		t.Skip("Chromium not found: install Debian's chromium package (or set $CHROMIUM) to run the real-browser test")
	}
	dir := t.TempDir()
	if _, err := Build(context.Background(), fakeInput(41, 2000, fakeImages), dir, testOptions); err != nil {
		t.Fatal(err)
	}
	img, console := renderPage(t, bin, filepath.Join(dir, HTMLFile), 2000)
	for _, line := range console {
		t.Errorf("console: %s", line)
	}
	if b := img.Bounds(); b.Dx() < 1000 || b.Dy() < 1500 {
		t.Errorf("screenshot is %v", b)
	}
	frac, variance := inked(img)
	t.Logf("screenshot: %.1f%% of pixels inked, grey variance %.0f", 100*frac, variance)
	if frac < 0.03 || variance < 100 {
		t.Errorf("screenshot looks blank: %.2f%% of pixels inked, grey variance %.1f", 100*frac, variance)
	}

	// Controls: a blank page is detected as blank, and a page that loads a resource or logs is caught.
	ctl := filepath.Join(dir, "control.html")
	control := `<!DOCTYPE html><html><head><meta charset="utf-8"/>` +
		`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'"/>` +
		`</head><body><img src="https://example.invalid/a.png"/></body></html>`
	if err := os.WriteFile(ctl, []byte(control), 0o644); err != nil {
		t.Fatal(err)
	}
	img, console = renderPage(t, bin, ctl, 600)
	if len(console) == 0 {
		t.Error("control page: the blocked image left no console message; the console check cannot work")
	}
	if frac, variance := inked(img); frac >= 0.03 && variance >= 100 {
		t.Errorf("blank control page counted as not blank (%.2f%% inked, variance %.1f)", 100*frac, variance)
	}
}
