package nn

import (
	"fmt"
	"math/rand/v2"
)

// Augment is the image augmentation of the LiRA training recipe (Carlini et al., "Membership Inference
// Attacks From First Principles", 2022): reflect-pad each image by Pad pixels and take a random crop of
// the original size, then flip it horizontally with probability 1/2 when Flip is set. Images are NCHW.
type Augment struct {
	Pad  int
	Flip bool
}

// LiRAAugment returns the LiRA recipe: reflect-pad 4 + random crop of the original size, random
// horizontal flip.
func LiRAAugment() *Augment { return &Augment{Pad: 4, Flip: true} }

// check validates the augmentation for per-record shape in.
func (a Augment) check(in []int) error {
	if len(in) != 3 {
		return fmt.Errorf("augmentation needs images (per-record shape [C H W]), got %v", in)
	}
	if a.Pad < 0 || a.Pad >= in[1] || a.Pad >= in[2] {
		return fmt.Errorf("augmentation: reflect padding %d needs 0 ≤ pad < height and width of %v", a.Pad, in)
	}
	return nil
}

// apply replaces every image of x (N × C × H × W) in place by an augmented copy, drawing offsets and
// flips from r. scratch holds one image.
func (a Augment) apply(x *Tensor, r *rand.Rand, scratch *[]float32) {
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	img := c * h * w
	buf := reuseFloats(scratch, img)
	for i := 0; i < n; i++ {
		oy, ox := 0, 0
		if a.Pad > 0 {
			oy, ox = r.IntN(2*a.Pad+1)-a.Pad, r.IntN(2*a.Pad+1)-a.Pad
		}
		flip := a.Flip && r.IntN(2) == 1
		if oy == 0 && ox == 0 && !flip {
			continue
		}
		src := x.Data[i*img : (i+1)*img]
		copy(buf, src)
		for ch := 0; ch < c; ch++ {
			plane := buf[ch*h*w : (ch+1)*h*w]
			out := src[ch*h*w : (ch+1)*h*w]
			for y := 0; y < h; y++ {
				row := plane[reflectIndex(y+oy, h)*w : (reflectIndex(y+oy, h)+1)*w]
				dst := out[y*w : (y+1)*w]
				for xx := 0; xx < w; xx++ {
					sx := xx
					if flip {
						sx = w - 1 - xx
					}
					dst[xx] = row[reflectIndex(sx+ox, w)]
				}
			}
		}
	}
}

// reflectIndex maps an index of a reflect-padded axis of length n back into [0, n) without repeating the
// edge (numpy/PyTorch "reflect"). Precondition: −n < i < 2n − 1.
func reflectIndex(i, n int) int {
	if i < 0 {
		return -i
	}
	if i >= n {
		return 2*n - 2 - i
	}
	return i
}
