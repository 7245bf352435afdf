package nn

// Dedicated paths of Conv2D for the shapes of residual networks' downsampling and shortcuts.
//
// Pointwise (1×1, no padding): the patch matrix of an image is the image itself (at stride 1) or the
// image subsampled (at stride s: every s-th row and column, kept for the backward pass), so each
// image is one matrix product on NCHW storage, with no patch matrix: y_i = W·x_i, dx_i = Wᵀ·dy_i
// (placed on the subsampled positions) and DWᵀ += x_i·dy_iᵀ.
//
// Phased (stride s > 1 with an output of exactly the input's size divided by s, such as 3×3 with
// padding 1 or 1×1 without, on even sizes): input row s·oh − p + ki is row oh + dh of phase a of
// the input, where ki − p = s·dh + a (0 ≤ a < s), and likewise for columns. Split into its s² phase
// planes (every s-th row and column, from offsets a and b), the image is read by each row of the
// patch matrix as one phase plane shifted by a constant, as in a stride-1 convolution (conv_same.go):
// one long copy per row instead of a strided gather per output row, and the adjoint one long
// addition per row into the phase planes' gradient, interleaved back once per image. A 1×1
// convolution reads phase (0, 0) only: its rows are the subsampled channels, written directly.
//
// The forward products and input gradients are bitwise those of the general path (the same products
// of the same patch matrices, and each input gradient summed from +0 in the same order); the
// pointwise weight gradient sums per image, in another order (TestConvFastPathsMatchGeneral).

import "github.com/pmeter/pmeter/nn/internal/vec"

// pointwise reports a 1×1 convolution without padding (any stride: a stride s > 1 reads the input
// subsampled, every s-th row and column).
func (c *Conv2D) pointwise() bool { return c.K == 1 && c.Padding == 0 && !c.general }

// phased reports a strided convolution whose output is the input's size divided by the stride
// (set by Forward's geometry: c.h, c.w, c.ho, c.wo).
func (c *Conv2D) phased() bool {
	s := c.Stride
	return s > 1 && !c.general && c.h%s == 0 && c.w%s == 0 && c.ho == c.h/s && c.wo == c.w/s
}

// phaseOf splits t = ki − p into t = s·d + a with 0 ≤ a < s.
func phaseOf(t, s int) (a, d int) {
	a = t % s
	if a < 0 {
		a += s
	}
	return a, (t - a) / s
}

// pointwiseInput returns the input of a pointwise convolution's products, In × Ho·Wo per image: x
// itself for stride 1, else x subsampled into c.sub (kept for the backward pass: a quarter of the
// input at stride 2, read once instead of twice).
func (c *Conv2D) pointwiseInput(x *Tensor) []float32 {
	if c.Stride == 1 {
		return x.Data
	}
	n, hw := x.Rows(), c.ho*c.wo
	sub := reuseFloats(&c.sub, n*c.In*hw)
	for p := 0; p < n*c.In; p++ {
		subsample(sub[p*hw:(p+1)*hw], x.Data[p*c.h*c.w:], c.ho, c.wo, c.w, c.Stride)
	}
	return sub
}

// forwardPointwise is Forward for pointwise convolutions: one product per image, into y.
func (c *Conv2D) forwardPointwise(x, y *Tensor) {
	n, hw := x.Rows(), c.ho*c.wo
	xs := c.pointwiseInput(x)
	inLen, outLen := c.In*hw, c.Out*hw
	for i := 0; i < n; i++ {
		yi := y.Data[i*outLen : (i+1)*outLen]
		gemm(false, false, c.Out, hw, c.In, 1, c.W.Data, c.In, xs[i*inLen:(i+1)*inLen], hw, 0, yi, hw)
		for o := 0; o < c.Out; o++ {
			c.finish(yi[o*hw:(o+1)*hw], nil, o)
		}
	}
}

// backwardPointwise is Backward for pointwise convolutions. The weight gradient is accumulated
// image by image (transposed, In × Out, when In < Out, as the general path decides); with a stride,
// the input gradient of each image is its product placed on the subsampled positions, 0 elsewhere.
func (c *Conv2D) backwardPointwise(dy, dx *Tensor, params bool) {
	n, hw := dy.Rows(), c.ho*c.wo
	xs := c.x.Data
	if c.Stride > 1 {
		xs = c.sub
	}
	inLen, outLen := c.In*hw, c.Out*hw
	transDW := c.In < c.Out
	var dwT, dsub []float32
	if params && transDW {
		dwT = reuseFloats(&c.dwT, c.In*c.Out)
	}
	if dx != nil && c.Stride > 1 {
		dsub = reuseFloats(&c.dcols, inLen)
	}
	for i := 0; i < n; i++ {
		dyi := dy.Data[i*outLen : (i+1)*outLen]
		xi := xs[i*inLen : (i+1)*inLen]
		if params {
			var beta float32
			if i > 0 {
				beta = 1
			}
			if transDW {
				gemm(false, true, c.In, c.Out, hw, 1, xi, hw, dyi, hw, beta, dwT, c.Out)
			} else {
				gemm(false, true, c.Out, c.In, hw, 1, dyi, hw, xi, hw, beta, c.DW.Data, c.In)
			}
			if c.B != nil {
				for o := range c.DB.Data {
					c.DB.Data[o] += vec.Sum(dyi[o*hw : (o+1)*hw])
				}
			}
		}
		if dx == nil {
			continue
		}
		xLen := c.In * c.h * c.w
		dxi := dx.Data[i*xLen : (i+1)*xLen]
		if c.Stride == 1 {
			gemm(true, false, c.In, hw, c.Out, 1, c.W.Data, c.In, dyi, hw, 0, dxi, hw)
			continue
		}
		gemm(true, false, c.In, hw, c.Out, 1, c.W.Data, c.In, dyi, hw, 0, dsub, hw)
		clear32(dxi)
		for ch := 0; ch < c.In; ch++ {
			// The products are sums from +0, never −0: placing them equals adding them to +0.
			place(dxi[ch*c.h*c.w:], dsub[ch*hw:(ch+1)*hw], c.ho, c.wo, c.w, c.Stride)
		}
	}
	if params && transDW && n > 0 {
		for o := 0; o < c.Out; o++ {
			row := c.DW.Data[o*c.In : (o+1)*c.In]
			for r := range row {
				row[r] = dwT[r*c.Out+o]
			}
		}
	}
}

// place writes src (hp × wp) to dst[s·i·w + s·j], the positions subsample reads.
func place(dst, src []float32, hp, wp, w, s int) {
	for i := 0; i < hp; i++ {
		in := src[i*wp : (i+1)*wp]
		row := dst[s*i*w:]
		row = row[:s*(wp-1)+1]
		for j, v := range in {
			row[s*j] = v
		}
	}
}

// im2colPhased is im2col for phased convolutions.
func (c *Conv2D) im2colPhased(x, cols []float32, ld int) {
	s, k, p, h, w := c.Stride, c.K, c.Padding, c.h, c.w
	hp, wp := h/s, w/s
	pl := hp * wp
	if k == 1 && p == 0 {
		// Phase (0, 0): each row is the channel subsampled.
		for ch := 0; ch < c.In; ch++ {
			xc := x[ch*h*w : (ch+1)*h*w]
			row := cols[ch*ld : ch*ld+pl]
			subsample(row, xc, hp, wp, w, s)
		}
		return
	}
	planes := reuseFloats(&c.phase, c.In*s*s*pl)
	need := c.phasesNeeded()
	for ch := 0; ch < c.In; ch++ {
		xc := x[ch*h*w : (ch+1)*h*w]
		for a := 0; a < s; a++ {
			for b := 0; b < s; b++ {
				if need&(1<<a) == 0 || need&(1<<b) == 0 {
					continue
				}
				subsample(planes[((ch*s+a)*s+b)*pl:((ch*s+a)*s+b+1)*pl], xc[a*w+b:], hp, wp, w, s)
			}
		}
	}
	r := 0
	for ch := 0; ch < c.In; ch++ {
		for ki := 0; ki < k; ki++ {
			a, dh := phaseOf(ki-p, s)
			for kj := 0; kj < k; kj++ {
				b, dw := phaseOf(kj-p, s)
				plane := planes[((ch*s+a)*s+b)*pl : ((ch*s+a)*s+b+1)*pl]
				shiftCopy(cols[r*ld:r*ld+c.ho*wp], plane, c.ho, hp, wp, dh, dw)
				r++
			}
		}
	}
}

// col2imPhased is col2im for phased convolutions.
func (c *Conv2D) col2imPhased(dcols []float32, ld int, dx []float32) {
	s, k, p, h, w := c.Stride, c.K, c.Padding, c.h, c.w
	hp, wp := h/s, w/s
	pl := hp * wp
	if k == 1 && p == 0 {
		for ch := 0; ch < c.In; ch++ {
			scatterAdd(dx[ch*h*w:(ch+1)*h*w], dcols[ch*ld:ch*ld+pl], hp, wp, w, s)
		}
		return
	}
	planes := reuseFloats(&c.dphase, c.In*s*s*pl)
	need := c.phasesNeeded()
	clear32(planes)
	r := 0
	for ch := 0; ch < c.In; ch++ {
		for ki := 0; ki < k; ki++ {
			a, dh := phaseOf(ki-p, s)
			for kj := 0; kj < k; kj++ {
				b, dw := phaseOf(kj-p, s)
				plane := planes[((ch*s+a)*s+b)*pl : ((ch*s+a)*s+b+1)*pl]
				shiftAdd(plane, dcols[r*ld:r*ld+c.ho*wp], c.ho, hp, wp, dh, dw)
				r++
			}
		}
	}
	for ch := 0; ch < c.In; ch++ {
		dxc := dx[ch*h*w : (ch+1)*h*w]
		for a := 0; a < s; a++ {
			for b := 0; b < s; b++ {
				if need&(1<<a) == 0 || need&(1<<b) == 0 {
					continue
				}
				scatterAdd(dxc[a*w+b:], planes[((ch*s+a)*s+b)*pl:((ch*s+a)*s+b+1)*pl], hp, wp, w, s)
			}
		}
	}
}

// phasesNeeded returns the set of phases (bit a) that kernel offsets ki − p fall in.
func (c *Conv2D) phasesNeeded() uint64 {
	var need uint64
	for ki := 0; ki < c.K; ki++ {
		a, _ := phaseOf(ki-c.Padding, c.Stride)
		need |= 1 << a
	}
	return need
}

// subsample writes dst (hp × wp) = src[s·i·w + s·j] (src holds rows w apart).
func subsample(dst, src []float32, hp, wp, w, s int) {
	for i := 0; i < hp; i++ {
		d := dst[i*wp : (i+1)*wp]
		row := src[s*i*w:]
		if s == 2 {
			row = row[:2*(wp-1)+1]
			for j := range d {
				d[j] = row[2*j]
			}
			continue
		}
		for j := range d {
			d[j] = row[s*j]
		}
	}
}

// scatterAdd adds src (hp × wp) onto dst[s·i·w + s·j], the adjoint of subsample.
func scatterAdd(dst, src []float32, hp, wp, w, s int) {
	for i := 0; i < hp; i++ {
		in := src[i*wp : (i+1)*wp]
		row := dst[s*i*w:]
		if s == 2 {
			row = row[:2*(wp-1)+1]
			for j, v := range in {
				row[2*j] += v
			}
			continue
		}
		for j, v := range in {
			row[s*j] += v
		}
	}
}

// shiftCopy writes out (ho × w) with out[oh, ow] = src[oh + dh, ow + dw] where that lies inside src
// (hs × w), and 0 elsewhere: one copy of the plane shifted by dh·w + dw, with the columns that wrap
// into a neighbouring row zeroed.
func shiftCopy(out, src []float32, ho, hs, w, dh, dw int) {
	ohLo, ohHi := max(0, -dh), min(ho, hs-dh)
	if ohLo >= ohHi {
		clear32(out[:ho*w])
		return
	}
	lo, hi := max(0, -dw), min(w, w-dw)
	clear32(out[:ohLo*w])
	clear32(out[ohHi*w : ho*w])
	d := dh*w + dw
	j0, j1 := max(ohLo*w, -d), min(ohHi*w, hs*w-d)
	if j0 < j1 {
		copy(out[j0:j1], src[j0+d:j1+d])
	}
	zeroWrapped(out, ohLo, ohHi, w, lo, hi)
}

// shiftAdd is the adjoint of shiftCopy: dsrc[oh + dh, ow + dw] += in[oh, ow] inside dsrc. It zeroes
// the wrapped columns of in (which carry no gradient) and adds the rest in one run; adding those +0
// leaves every element of dsrc, a sum from +0 that is never −0, bitwise unchanged.
func shiftAdd(dsrc, in []float32, ho, hs, w, dh, dw int) {
	ohLo, ohHi := max(0, -dh), min(ho, hs-dh)
	if ohLo >= ohHi {
		return
	}
	lo, hi := max(0, -dw), min(w, w-dw)
	zeroWrapped(in, ohLo, ohHi, w, lo, hi)
	d := dh*w + dw
	j0, j1 := max(ohLo*w, -d), min(ohHi*w, hs*w-d)
	if j0 >= j1 {
		return
	}
	addTo(dsrc[j0+d:j1+d], in[j0:j1])
}

// SetGeneralConv makes every convolution of m (inside residual blocks too) use the general im2col
// path instead of its dedicated one when general is true, and the dedicated ones again when false:
// the baseline of the dedicated paths in benchmarks (pmeter bench train) and checks. Results differ
// at most in the rounding of the pointwise weight gradients.
func (m *Sequential) SetGeneralConv(general bool) { setGeneralConv(m.Layers, general) }

func setGeneralConv(layers []Layer, general bool) {
	for _, l := range layers {
		switch l := l.(type) {
		case *Conv2D:
			l.general = general
		case *Residual:
			setGeneralConv(l.Body, general)
			setGeneralConv(l.Shortcut, general)
		}
	}
}
