package report

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/png"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestLogPercentTicks(t *testing.T) {
	ticks := logPercentTicks{}.Ticks(1e-4, 1)
	var labels []string
	minor := 0
	for _, tk := range ticks {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		} else {
			minor++
		}
		if tk.Value < 1e-4 || tk.Value > 1 {
			t.Errorf("tick %v outside [1e-4, 1]", tk.Value)
		}
	}
	want := []string{"0.01%", "0.1%", "1%", "10%", "100%"}
	if !slices.Equal(labels, want) {
		t.Errorf("labels %q, want %q", labels, want)
	}
	if minor != 4*8 {
		t.Errorf("%d minor ticks, want 32", minor)
	}
	for e, want := range map[int]string{-6: "0.0001%", -5: "0.001%", -2: "1%", 0: "100%", 1: "1000%"} {
		if got := decadePercent(e); got != want {
			t.Errorf("decadePercent(%d) = %q, want %q", e, got, want)
		}
	}
}

func TestNiceTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		want   []string
	}{
		{0, 1, []string{"0", "0.2", "0.4", "0.6", "0.8", "1"}},
		{-2.3, 8.1, []string{"-2", "0", "2", "4", "6", "8"}},
		{0.013, 5.6, []string{"1", "2", "3", "4", "5"}},
		{-1.95, 0.07, []string{"-1.5", "-1", "-0.5", "0"}},
	}
	for _, tt := range tests {
		var got []string
		for _, tk := range (niceTicks{}).Ticks(tt.lo, tt.hi) {
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("[%v, %v]: labels %q, want %q", tt.lo, tt.hi, got, tt.want)
		}
	}
}

func TestThin(t *testing.T) {
	n := 100001
	xs, ys := make([]float64, n), make([]float64, n)
	for i := range n {
		xs[i] = float64(i) / float64(n-1)
		ys[i] = math.Sqrt(xs[i])
	}
	got := thin(xs, ys, 0.0025, identity)
	if len(got) > 1000 || len(got) < 100 {
		t.Errorf("%d points kept of %d", len(got), n)
	}
	if got[0].X != 0 || got[len(got)-1].X != 1 {
		t.Errorf("end points not kept: %v … %v", got[0], got[len(got)-1])
	}
	for i := 1; i < len(got); i++ {
		if dx, dy := got[i].X-got[i-1].X, got[i].Y-got[i-1].Y; dx > 0.0026+1e-5 && dy > 0.0026+1e-5 {
			t.Errorf("gap of (%v, %v) between kept points %d and %d", dx, dy, i-1, i)
		}
	}
}

func TestPct(t *testing.T) {
	for x, want := range map[float64]string{0: "0%", 1: "100%", 0.12345: "12.3%", 0.05523: "5.52%", 0.0044: "0.44%", 0.008: "0.80%",
		0.00012: "0.012%", 0.99971: "99.9%", math.NaN(): "–"} {
		if got := pct(x); got != want {
			t.Errorf("pct(%v) = %q, want %q", x, got, want)
		}
	}
	for x, want := range map[float64]string{0.001: "0.1%", 0.95: "95%", 0.0001: "0.01%", 0.1: "10%"} {
		if got := rate(x); got != want {
			t.Errorf("rate(%v) = %q, want %q", x, got, want)
		}
	}
	if got := thousands(1234567); got != "1,234,567" {
		t.Errorf("thousands = %q", got)
	}
}

func TestSVGFontFallback(t *testing.T) {
	in := []byte(`<text style="font-family:Liberation Sans;font-size:9px">a</text><text style="font-family:Liberation Serif;">b</text>`)
	got := string(withFontFallback(in))
	if !strings.Contains(got, "font-family:'Liberation Sans',Arial,Helvetica,sans-serif;") ||
		!strings.Contains(got, "font-family:'Liberation Serif','Times New Roman',Times,serif;") {
		t.Errorf("got %s", got)
	}
}

// decodeDataURI decodes a PNG data: URI.
func decodeDataURI(t *testing.T, uri string) image.Image {
	t.Helper()
	b64, ok := strings.CutPrefix(uri, "data:image/png;base64,")
	if !ok {
		t.Fatalf("not a PNG data URI: %.40s", uri)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestImageDataURI(t *testing.T) {
	// 3 × 2 × 2 in [0, 1]: channel c of pixel (x, y) = (c + 2y + x) / 10.
	rgb := make([]float32, 12)
	for c := range 3 {
		for i := range 4 {
			rgb[c*4+i] = float32(c+i) / 10
		}
	}
	uri, err := imageDataURI(rgb, []int{3, 2, 2})
	if err != nil {
		t.Fatal(err)
	}
	img := decodeDataURI(t, string(uri))
	if img.Bounds().Dx() != 2 || img.Bounds().Dy() != 2 {
		t.Fatalf("size %v", img.Bounds())
	}
	r, g, b, _ := img.At(1, 1).RGBA() // i = 3: (0.3, 0.4, 0.5) × 255
	if got, want := [3]uint32{r >> 8, g >> 8, b >> 8}, [3]uint32{77, 102, 128}; got != want {
		t.Errorf("pixel (1, 1) = %v, want %v", got, want)
	}
	// Normalised grey values are stretched to [0, 255]; [0, 255] values are kept.
	for _, tt := range []struct {
		pix  []float32
		want [2]uint32
	}{
		{[]float32{-1.5, 2.5}, [2]uint32{0, 255}},
		{[]float32{10, 200}, [2]uint32{10, 200}},
	} {
		uri, err := imageDataURI(tt.pix, []int{1, 2})
		if err != nil {
			t.Fatal(err)
		}
		img := decodeDataURI(t, string(uri))
		g0, _, _, _ := img.At(0, 0).RGBA()
		g1, _, _, _ := img.At(1, 0).RGBA()
		if got := [2]uint32{g0 >> 8, g1 >> 8}; got != tt.want {
			t.Errorf("grey %v → %v, want %v", tt.pix, got, tt.want)
		}
	}
}

func TestFeatureViews(t *testing.T) {
	in := &Input{FeatureNames: []string{"a", "b"}}
	for i := range 4 {
		in.Records = append(in.Records, Record{Features: []float64{float64(i), 7}})
	}
	views := featureViews(in, []int{3})
	// a: mean 1.5, sd sqrt(1.25); b constant, no z.
	if len(views[0]) != 2 || views[0][0].Name != "a" || views[0][0].Value != "3" || views[0][0].Z != "+1.3" || views[0][1].Z != "" || views[0][0].Unusual {
		t.Errorf("views = %+v", views)
	}
	// With many features, the most unusual come first.
	in = &Input{}
	for i := range 10 {
		f := make([]float64, 12)
		if i == 0 {
			f[9] = 100
			f[4] = -3
		}
		in.Records = append(in.Records, Record{Features: f})
	}
	views = featureViews(in, []int{0})
	if len(views[0]) != maxFeatures || views[0][0].Name != "x4" && views[0][0].Name != "x9" || !views[0][0].Unusual {
		t.Errorf("views = %+v", views[0])
	}
}

func TestFeatureValue(t *testing.T) {
	for v, want := range map[float64]string{3: "3", 28020.4: "28,020", -36790: "-36,790", 23.14159: "23.14", 0.000123456: "0.0001235", 2e20: "2e+20"} {
		if got := featureValue(v); got != want {
			t.Errorf("featureValue(%v) = %q, want %q", v, got, want)
		}
	}
}
