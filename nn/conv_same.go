package nn

import "github.com/pmeter/pmeter/nn/internal/vec"

// Patch matrices of stride-1 convolutions whose output is as wide as the input (2·Padding = K − 1,
// PyTorch's padding="same" for odd K). Output position j = oh·W + ow reads input position
// j + (ki − p)·W + (kj − p) of the plane, so each row of the patch matrix is the plane shifted by a
// constant, except where the shifted column wraps into the neighbouring image row: one long copy
// (or addition) per row, with the wrapped columns set apart.

// im2colSame is im2col for Stride 1 and Wo = W.
func (c *Conv2D) im2colSame(x, cols []float32, ld int) {
	k, p, h, w, ho := c.K, c.Padding, c.h, c.w, c.ho
	hw := ho * w
	r := 0
	for ch := 0; ch < c.In; ch++ {
		xc := x[ch*h*w : (ch+1)*h*w]
		for ki := 0; ki < k; ki++ {
			ohLo, ohHi := validRange(ho, h, 1, p, ki)
			for kj := 0; kj < k; kj++ {
				row := cols[r*ld : r*ld+hw]
				r++
				lo, hi := validRange(w, w, 1, p, kj)
				clear32(row[:ohLo*w])
				clear32(row[ohHi*w:])
				if ohLo >= ohHi {
					continue
				}
				// Output positions [j0, j1) read xc[j + d]; clip to the plane (the positions cut off
				// are wrapped columns, zeroed below).
				d := (ki-p)*w + (kj - p)
				j0, j1 := max(ohLo*w, -d), min(ohHi*w, h*w-d)
				if j0 < j1 {
					copy(row[j0:j1], xc[j0+d:j1+d])
				}
				zeroWrapped(row, ohLo, ohHi, w, lo, hi)
			}
		}
	}
}

// col2imSame is col2im for Stride 1 and Wo = W. It zeroes the wrapped columns of dcols (which im2col
// would have set to 0, so they carry no gradient) and then adds each row onto the shifted plane in one
// run. Adding +0 leaves every element of dx bitwise unchanged, because dx, a sum starting from +0, is
// never −0.
func (c *Conv2D) col2imSame(dcols []float32, ld int, dx []float32) {
	k, p, h, w, ho := c.K, c.Padding, c.h, c.w, c.ho
	hw := ho * w
	r := 0
	for ch := 0; ch < c.In; ch++ {
		dxc := dx[ch*h*w : (ch+1)*h*w]
		for ki := 0; ki < k; ki++ {
			ohLo, ohHi := validRange(ho, h, 1, p, ki)
			for kj := 0; kj < k; kj++ {
				row := dcols[r*ld : r*ld+hw]
				r++
				if ohLo >= ohHi {
					continue
				}
				lo, hi := validRange(w, w, 1, p, kj)
				zeroWrapped(row, ohLo, ohHi, w, lo, hi)
				d := (ki-p)*w + (kj - p)
				j0, j1 := max(ohLo*w, -d), min(ohHi*w, h*w-d)
				if j0 >= j1 {
					continue
				}
				addTo(dxc[j0+d:j1+d], row[j0:j1])
			}
		}
	}
}

// addTo adds src to dst element by element (vectorised; bitwise the scalar loop).
func addTo(dst, src []float32) {
	dst = dst[:len(src)]
	for j := vec.Add(dst, src); j < len(src); j++ {
		dst[j] += src[j]
	}
}

// zeroWrapped sets columns [0, lo) and [hi, w) of rows [ohLo, ohHi) of the plane p (rows w apart) to
// 0: one store per row for the one-column margins of 3×3 kernels.
func zeroWrapped(p []float32, ohLo, ohHi, w, lo, hi int) {
	if ohLo >= ohHi || (lo == 0 && hi == w) {
		return
	}
	p = p[ohLo*w : ohHi*w]
	switch {
	case lo == 1 && hi == w:
		for j := 0; j < len(p); j += w {
			p[j] = 0
		}
	case lo == 0 && hi == w-1:
		for j := w - 1; j < len(p); j += w {
			p[j] = 0
		}
	default:
		for j := 0; j < len(p); j += w {
			row := p[j : j+w]
			clear32(row[:lo])
			clear32(row[hi:])
		}
	}
}
