package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"math"
	"slices"
	"strconv"
)

// imageDataURI renders a record's image (shape channels × height × width or height × width) as a PNG
// data: URI. Values in [0, 1] are scaled by 255, values in [0, 255] are used as they are, and any other
// range is stretched to [0, 255] (normalised inputs). One channel gives grey, three RGB; otherwise the
// first channel is shown in grey.
func imageDataURI(pix []float32, shape []int) (template.URL, error) {
	c, h, w := 1, shape[0], shape[1]
	if len(shape) == 3 {
		c, h, w = shape[0], shape[1], shape[2]
	}
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, v := range pix {
		if v == v { // skip NaN
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	scale, offset := float32(1), float32(0)
	switch {
	case lo >= 0 && hi <= 1:
		scale = 255
	case lo >= 0 && hi <= 255:
	case hi > lo:
		scale, offset = 255/(hi-lo), lo
	}
	byteOf := func(v float32) uint8 {
		if v != v {
			return 0
		}
		return uint8(min(max((v-offset)*scale+0.5, 0), 255))
	}
	var img image.Image
	plane := h * w
	if c == 3 {
		rgba := image.NewNRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				i := y*w + x
				rgba.SetNRGBA(x, y, color.NRGBA{byteOf(pix[i]), byteOf(pix[plane+i]), byteOf(pix[2*plane+i]), 0xFF})
			}
		}
		img = rgba
	} else {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for i := range plane {
			g.Pix[i] = byteOf(pix[i])
		}
		img = g
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return "", fmt.Errorf("encode record image: %w", err)
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes())), nil
}

// featureView is one feature value of a record, with how unusual it is.
type featureView struct {
	Name  string
	Value string
	Z     string // standard score against all records with features, signed ("+3.1"); "" when constant
	// Unusual marks a value at least 2 standard deviations from the mean.
	Unusual bool
}

// maxFeatures is the number of feature values shown per record: all when a record has at most this
// many, otherwise the most unusual ones (largest |z|).
const maxFeatures = 8

// featureViews returns, for each row in rows, the feature values to show.
func featureViews(in *Input, rows []int) [][]featureView {
	d := -1
	var mean, sd []float64
	count := 0
	for _, r := range in.Records {
		if r.Features == nil {
			continue
		}
		if d < 0 {
			d = len(r.Features)
			mean, sd = make([]float64, d), make([]float64, d)
		}
		count++
		for j, v := range r.Features {
			mean[j] += v
		}
	}
	if d < 0 {
		return nil
	}
	for j := range mean {
		mean[j] /= float64(count)
	}
	for _, r := range in.Records {
		for j, v := range r.Features {
			sd[j] += (v - mean[j]) * (v - mean[j])
		}
	}
	for j := range sd {
		sd[j] = math.Sqrt(sd[j] / float64(count))
	}
	out := make([][]featureView, len(rows))
	for q, i := range rows {
		f := in.Records[i].Features
		if f == nil {
			continue
		}
		idx := make([]int, len(f))
		z := make([]float64, len(f))
		for j := range f {
			idx[j] = j
			if sd[j] > 0 {
				z[j] = (f[j] - mean[j]) / sd[j]
			}
		}
		if len(f) > maxFeatures {
			slices.SortStableFunc(idx, func(x, y int) int {
				switch ax, ay := math.Abs(z[x]), math.Abs(z[y]); {
				case ax > ay:
					return -1
				case ax < ay:
					return 1
				}
				return 0
			})
			idx = idx[:maxFeatures]
		}
		for _, j := range idx {
			fv := featureView{Name: in.featureName(j), Value: featureValue(f[j]), Unusual: math.Abs(z[j]) >= 2}
			if sd[j] > 0 {
				fv.Z = fmt.Sprintf("%+.1f", z[j])
			}
			out[q] = append(out[q], fv)
		}
	}
	return out
}

// featureValue formats a feature value for reading: whole numbers and values of 1000 or more as
// integers with thousands separators, others with four significant digits.
func featureValue(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return fmt.Sprint(v)
	case math.Abs(v) >= 1e15:
		return strconv.FormatFloat(v, 'g', 4, 64)
	case v == math.Trunc(v) || math.Abs(v) >= 1000:
		return thousands(int(math.Round(v)))
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}
