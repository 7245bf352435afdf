package ramia

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// TransformKind names a geometric transform of an image.
type TransformKind string

// The transforms.
const (
	HorizontalFlip TransformKind = "horizontal_flip" // reverse the columns
	VerticalFlip   TransformKind = "vertical_flip"   // reverse the rows
	Rotate         TransformKind = "rotate"          // rotate counter-clockwise by Angle degrees
	Shift          TransformKind = "shift"           // move right by DX and down by DY pixels
)

// Transform is one deterministic geometric transform. Pixels that a rotation or a shift brings in from
// outside the image repeat the nearest edge pixel; a rotation samples its source pixel by nearest
// neighbour around the image's centre (multiples of 90° are exact permutations on square images).
type Transform struct {
	Kind   TransformKind
	Angle  float64 // degrees, for Rotate
	DX, DY int     // pixels, for Shift
}

// ParseTransform parses horizontal_flip, vertical_flip, rotate:DEGREES or shift:DX,DY.
func ParseTransform(s string) (Transform, error) {
	kind, arg, hasArg := strings.Cut(s, ":")
	switch TransformKind(kind) {
	case HorizontalFlip, VerticalFlip:
		if hasArg {
			return Transform{}, fmt.Errorf("transform %q: %s takes no argument", s, kind)
		}
		return Transform{Kind: TransformKind(kind)}, nil
	case Rotate:
		a, err := strconv.ParseFloat(arg, 64)
		if !hasArg || err != nil || math.IsNaN(a) || math.IsInf(a, 0) {
			return Transform{}, fmt.Errorf("transform %q: want rotate:DEGREES, e.g. rotate:15 (Privacy Meter's rotate draws a random angle in [−30°, 30°]; pmeter's transforms are deterministic)", s)
		}
		return Transform{Kind: Rotate, Angle: a}, nil
	case Shift:
		x, y, ok := strings.Cut(arg, ",")
		dx, err1 := strconv.Atoi(strings.TrimSpace(x))
		dy, err2 := strconv.Atoi(strings.TrimSpace(y))
		if !hasArg || !ok || err1 != nil || err2 != nil {
			return Transform{}, fmt.Errorf("transform %q: want shift:DX,DY in pixels, e.g. shift:2,-1", s)
		}
		return Transform{Kind: Shift, DX: dx, DY: dy}, nil
	}
	return Transform{}, fmt.Errorf("unknown transform %q (want horizontal_flip, vertical_flip, rotate:DEGREES or shift:DX,DY)", s)
}

// String returns the transform as ParseTransform reads it.
func (t Transform) String() string {
	switch t.Kind {
	case Rotate:
		return fmt.Sprintf("rotate:%v", t.Angle)
	case Shift:
		return fmt.Sprintf("shift:%d,%d", t.DX, t.DY)
	}
	return string(t.Kind)
}

// Geometric is the range of an image and its transforms (Privacy Meter's range function geometric, with
// deterministic transforms): the centre and Transforms applied to it. The points are the centre followed
// by the transformed images when IncludeCentre (S = len(Transforms) + 1), else the transformed images
// alone (S = len(Transforms)), as Privacy Meter decides by the length of its list. The range contains the
// centre either way.
type Geometric struct {
	// Shape is an image's shape: channels × height × width.
	Shape         []int
	Transforms    []Transform
	IncludeCentre bool
}

// NewGeometric checks the image shape and the transforms, and chooses IncludeCentre from the size as
// Privacy Meter does: samples = len(transforms) + 1 includes the centre, samples = len(transforms) does
// not.
func NewGeometric(shape []int, transforms []Transform, samples int) (*Geometric, error) {
	if len(shape) != 3 || shape[0] < 1 || shape[1] < 1 || shape[2] < 1 {
		return nil, fmt.Errorf("geometric range: records of shape %v; want images, channels × height × width", shape)
	}
	if len(transforms) == 0 {
		return nil, fmt.Errorf("geometric range: no transform")
	}
	for _, t := range transforms {
		switch t.Kind {
		case HorizontalFlip, VerticalFlip, Rotate, Shift:
		default:
			return nil, fmt.Errorf("geometric range: unknown transform %q", t.Kind)
		}
	}
	g := &Geometric{Shape: shape, Transforms: transforms}
	switch samples {
	case len(transforms) + 1:
		g.IncludeCentre = true
	case len(transforms):
	default:
		return nil, fmt.Errorf("geometric range: %d samples per range with %d transforms; want %d (the image and its transforms) or %d (the transforms alone)",
			samples, len(transforms), len(transforms)+1, len(transforms))
	}
	return g, nil
}

// Size implements Sampler.
func (g *Geometric) Size() int {
	if g.IncludeCentre {
		return len(g.Transforms) + 1
	}
	return len(g.Transforms)
}

func (g *Geometric) dim() int { return g.Shape[0] * g.Shape[1] * g.Shape[2] }

// Check implements Sampler: the centre must be an image of Shape.
func (g *Geometric) Check(centre []float32) error {
	if len(centre) != g.dim() {
		return fmt.Errorf("%d values, want an image of shape %v", len(centre), g.Shape)
	}
	return nil
}

// Sample implements Sampler; the draws are not used.
func (g *Geometric) Sample(dst, centre []float32, _ Draws) ([]float32, error) {
	if err := g.Check(centre); err != nil {
		return nil, fmt.Errorf("geometric range: %w", err)
	}
	if g.IncludeCentre {
		dst = append(dst, centre...)
	}
	for _, t := range g.Transforms {
		dst = append(dst, g.Apply(t, centre)...)
	}
	return dst, nil
}

// Contains implements Sampler: x is the centre or one of its transforms.
func (g *Geometric) Contains(centre, x []float32) bool {
	if equalRecords(centre, x) {
		return true
	}
	for _, t := range g.Transforms {
		if equalRecords(g.Apply(t, centre), x) {
			return true
		}
	}
	return false
}

// tester implements tester: the transforms of the centre computed once.
func (g *Geometric) tester(centre []float32) func(x []float32) bool {
	imgs := [][]float32{centre}
	for _, t := range g.Transforms {
		imgs = append(imgs, g.Apply(t, centre))
	}
	return func(x []float32) bool {
		for _, img := range imgs {
			if equalRecords(img, x) {
				return true
			}
		}
		return false
	}
}

// Apply returns transform t of img (Shape), a new slice.
func (g *Geometric) Apply(t Transform, img []float32) []float32 {
	c, h, w := g.Shape[0], g.Shape[1], g.Shape[2]
	out := make([]float32, len(img))
	// src maps an output pixel to its source pixel, both in bounds.
	var src func(y, x int) (int, int)
	switch t.Kind {
	case HorizontalFlip:
		src = func(y, x int) (int, int) { return y, w - 1 - x }
	case VerticalFlip:
		src = func(y, x int) (int, int) { return h - 1 - y, x }
	case Shift:
		src = func(y, x int) (int, int) { return clamp(y-t.DY, h), clamp(x-t.DX, w) }
	case Rotate:
		cos, sin := cosSin(t.Angle)
		cy, cx := float64(h-1)/2, float64(w-1)/2
		src = func(y, x int) (int, int) {
			// The output pixel at offset (dx, dy) from the centre shows the source pixel rotated back
			// by the angle (image rows grow downwards, so counter-clockwise on screen).
			dx, dy := float64(x)-cx, float64(y)-cy
			sx := cx + cos*dx - sin*dy
			sy := cy + sin*dx + cos*dy
			return clamp(int(math.Round(sy)), h), clamp(int(math.Round(sx)), w)
		}
	default:
		copy(out, img)
		return out
	}
	for y := range h {
		for x := range w {
			sy, sx := src(y, x)
			for ch := range c {
				out[(ch*h+y)*w+x] = img[(ch*h+sy)*w+sx]
			}
		}
	}
	return out
}

// cosSin returns the cosine and sine of deg degrees, exact at multiples of 90°.
func cosSin(deg float64) (float64, float64) {
	if q := deg / 90; q == math.Trunc(q) {
		switch int(math.Mod(math.Mod(q, 4)+4, 4)) {
		case 0:
			return 1, 0
		case 1:
			return 0, 1
		case 2:
			return -1, 0
		default:
			return 0, -1
		}
	}
	r := deg * math.Pi / 180
	return math.Cos(r), math.Sin(r)
}

func clamp(i, n int) int { return min(max(i, 0), n-1) }
