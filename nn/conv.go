package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	pgemm "github.com/pmeter/pmeter/nn/gemm"
	"github.com/pmeter/pmeter/nn/internal/vec"
)

// Conv2D is a 2-D convolution over NCHW images (PyTorch nn.Conv2d with square kernel, equal stride
// and zero padding on both axes, no dilation, one group). W is Out × In × K × K, b has length Out.
// It is computed as W·im2col(x), one matrix product per chunk of images.
type Conv2D struct {
	In, Out, K, Stride, Padding int
	W, B                        *Tensor // B is nil without bias
	DW, DB                      *Tensor

	x, y, dx  *Tensor
	dy        *Tensor
	cols      []float32
	dcols     []float32
	dwT       []float32
	prod      []float32
	h, w      int  // input height and width of the last Forward
	fuseReLU  bool // set by Sequential: apply the next layer's ReLU to the output
	ho, wo    int
	recordBuf []float32
	// noParamGrad makes Backward compute the input gradient only (DP-SGD's first pass).
	noParamGrad bool
	// phase and dphase hold an image's phase planes and their gradient (conv_strided.go); general
	// turns the dedicated paths off (for tests that compare them with the general path).
	phase, dphase []float32
	sub           []float32 // a strided pointwise convolution's subsampled input
	general       bool
}

// NewConv2D returns a Conv2D layer with zero parameters. in, out, k and stride must be positive and
// padding non-negative; stride 0 means 1.
func NewConv2D(in, out, k, stride, padding int, bias bool) (*Conv2D, error) {
	if stride == 0 {
		stride = 1
	}
	if in <= 0 || out <= 0 || k <= 0 || stride < 0 || padding < 0 {
		return nil, fmt.Errorf("nn: conv2d: in=%d out=%d kernel=%d stride=%d padding=%d: need positive sizes and non-negative padding",
			in, out, k, stride, padding)
	}
	c := &Conv2D{In: in, Out: out, K: k, Stride: stride, Padding: padding,
		W: NewTensor(out, in, k, k), DW: NewTensor(out, in, k, k)}
	if bias {
		c.B, c.DB = NewTensor(out), NewTensor(out)
	}
	return c, nil
}

// Spec implements Layer.
func (c *Conv2D) Spec() LayerSpec {
	return LayerSpec{Kind: KindConv2D, In: c.In, Out: c.Out, Kernel: c.K, Stride: c.Stride, Padding: c.Padding, NoBias: c.B == nil}
}

// OutShape implements Layer. The input must be In × H × W with H, W + 2·Padding ≥ K.
func (c *Conv2D) OutShape(in []int) ([]int, error) {
	if c.K <= 0 || c.Stride <= 0 || c.Padding < 0 || c.W == nil || c.W.Len() != c.Out*c.In*c.K*c.K || c.DW == nil ||
		c.DW.Len() != c.W.Len() || (c.B != nil && (c.B.Len() != c.Out || c.DB == nil || c.DB.Len() != c.Out)) {
		return nil, fmt.Errorf("conv2d: invalid layer (build it with NewConv2D)")
	}
	if len(in) != 3 || in[0] != c.In {
		return nil, fmt.Errorf("conv2d: input shape %v, want [%d H W]", in, c.In)
	}
	ho, wo := convOut(in[1], c.K, c.Stride, c.Padding), convOut(in[2], c.K, c.Stride, c.Padding)
	if ho <= 0 || wo <= 0 {
		return nil, fmt.Errorf("conv2d: input %v too small for kernel %d with padding %d", in, c.K, c.Padding)
	}
	return []int{c.Out, ho, wo}, nil
}

func convOut(n, k, s, p int) int {
	if n+2*p < k {
		return 0
	}
	return (n+2*p-k)/s + 1
}

// Init draws W and b from U(-1/√fan_in, 1/√fan_in) with fan_in = In·K·K, PyTorch's default.
func (c *Conv2D) Init(r *rand.Rand) {
	bound := 1 / math.Sqrt(float64(c.In*c.K*c.K))
	for i := range c.W.Data {
		c.W.Data[i] = uniform32(r, bound)
	}
	if c.B != nil {
		for i := range c.B.Data {
			c.B.Data[i] = uniform32(r, bound)
		}
	}
}

// Params implements Layer: "weight" (Out × In × K × K) and "bias" (Out).
func (c *Conv2D) Params() []Param {
	p := []Param{{Name: "weight", Value: c.W, Grad: c.DW}}
	if c.B != nil {
		p = append(p, Param{Name: "bias", Value: c.B, Grad: c.DB})
	}
	return p
}

// colsBudget bounds the patch matrix of one chunk of images (in float32 values, 256 KiB): images are
// convolved in chunks of as many as fit (at least one), each chunk with one matrix product. A patch
// matrix that stays in the L2 cache between im2col and the product trains the benchmark CNN about
// 20 % faster than chunks of 8 MiB, with one BLAS thread per model as pmeter trains.
const colsBudget = 1 << 16

// chunk returns the number of images convolved per matrix product.
func (c *Conv2D) chunk(n int) int {
	per := c.In * c.K * c.K * c.ho * c.wo
	return max(1, min(n, colsBudget/max(per, 1)))
}

// Forward implements Layer.
func (c *Conv2D) Forward(x *Tensor, train bool) *Tensor {
	n := x.Rows()
	c.x, c.h, c.w = x, x.Shape[2], x.Shape[3]
	c.ho, c.wo = convOut(c.h, c.K, c.Stride, c.Padding), convOut(c.w, c.K, c.Stride, c.Padding)
	hw, kd := c.ho*c.wo, c.In*c.K*c.K
	y := reuse(&c.y, n, c.Out, c.ho, c.wo)
	if c.pointwise() {
		c.forwardPointwise(x, y)
		return y
	}
	ch := c.chunk(n)
	// The row stride of every chunk's patch matrix and product, one cache line past a multiple of 1 KiB
	// where the full chunk's columns are one (at 32×32 and 16×16 outputs): there every row of the
	// matrix mapped to the same cache sets.
	ld := pgemm.LeadingDim(ch * hw)
	cols := reuseFloats(&c.cols, kd*ld)
	prod := reuseFloats(&c.prod, c.Out*ld)
	inLen, outLen := c.In*c.h*c.w, c.Out*hw
	for lo := 0; lo < n; lo += ch {
		m := min(ch, n-lo)
		cn := m * hw // columns of the chunk's product
		for i := 0; i < m; i++ {
			c.im2col(x.Data[(lo+i)*inLen:(lo+i+1)*inLen], cols[i*hw:], ld)
		}
		if m == 1 {
			// One image: the product is already in NCHW order; write it in place.
			yi := y.Data[lo*outLen : (lo+1)*outLen]
			gemm(false, false, c.Out, hw, kd, 1, c.W.Data, kd, cols, ld, 0, yi, hw)
			for o := 0; o < c.Out; o++ {
				c.finish(yi[o*hw:(o+1)*hw], nil, o)
			}
			continue
		}
		// prod (Out × m·hw) = W (Out × kd) · cols (kd × m·hw), then scattered to NCHW with the bias.
		gemm(false, false, c.Out, cn, kd, 1, c.W.Data, kd, cols, ld, 0, prod, ld)
		for i := 0; i < m; i++ {
			yi := y.Data[(lo+i)*outLen : (lo+i+1)*outLen]
			for o := 0; o < c.Out; o++ {
				c.finish(yi[o*hw:(o+1)*hw], prod[o*ld+i*hw:o*ld+(i+1)*hw], o)
			}
		}
	}
	return y
}

// finish writes output channel o of one image to dst: src (dst itself when nil) plus the bias, through
// the ReLU when it is fused.
func (c *Conv2D) finish(dst, src []float32, o int) {
	if src == nil {
		src = dst
	}
	src = src[:len(dst)]
	if c.B == nil && !c.fuseReLU {
		copy(dst, src)
		return
	}
	// Without a bias, +0 is added: v + 0 is v except −0, which the ReLU makes +0 anyway.
	var b float32
	if c.B != nil {
		b = c.B.Data[o]
	}
	k := vec.BiasReLU(dst, src, b, c.fuseReLU)
	if c.fuseReLU {
		for j, v := range src[k:] {
			dst[k+j] = relu32(v + b)
		}
		return
	}
	for j, v := range src[k:] {
		dst[k+j] = v + b
	}
}

// Backward implements Layer.
func (c *Conv2D) Backward(dy *Tensor, needDX bool) *Tensor {
	n := dy.Rows()
	c.dy = dy
	hw, kd := c.ho*c.wo, c.In*c.K*c.K
	inLen, outLen := c.In*c.h*c.w, c.Out*hw
	params := !c.noParamGrad
	if c.pointwise() {
		var dx *Tensor
		if needDX {
			dx = reuse(&c.dx, n, c.In, c.h, c.w) // overwritten by the products
		}
		if c.B != nil && params {
			clear32(c.DB.Data)
		}
		if n == 0 && params {
			clear32(c.DW.Data)
		}
		c.backwardPointwise(dy, dx, params)
		return dx
	}
	ch := c.chunk(n)
	ld := pgemm.LeadingDim(ch * hw) // as in Forward
	cols := reuseFloats(&c.cols, kd*ld)
	prod := reuseFloats(&c.prod, c.Out*ld)
	var dx *Tensor
	var dcols []float32
	if needDX {
		dx = reuse(&c.dx, n, c.In, c.h, c.w)
		clear32(dx.Data)
		dcols = reuseFloats(&c.dcols, kd*ld)
	}
	if c.B != nil && params {
		clear32(c.DB.Data)
	}
	if n == 0 && params {
		clear32(c.DW.Data)
	}
	// With fewer patch rows than output channels (a first layer on a few input channels), the weight
	// gradient is computed transposed, In·K·K × Out, which suits the matrix kernels better.
	transDW := kd < c.Out && n > 0 && params
	var dwT []float32
	if transDW {
		dwT = reuseFloats(&c.dwT, kd*c.Out)
		defer func() {
			for o := 0; o < c.Out; o++ {
				row := c.DW.Data[o*kd : (o+1)*kd]
				for r := range row {
					row[r] = dwT[r*c.Out+o]
				}
			}
		}()
	}
	for lo := 0; lo < n; lo += ch {
		m := min(ch, n-lo)
		cn := m * hw // columns of the chunk's patch matrix
		// Gather dy of the chunk as Out × m·hw, rows lp apart, the layout of the forward product (for
		// one image, dy's own layout).
		prod, lp := prod, ld
		if m == 1 {
			prod, lp = dy.Data[lo*outLen:(lo+1)*outLen], hw
		}
		for i := 0; i < m; i++ {
			if m > 1 {
				dyi := dy.Data[(lo+i)*outLen : (lo+i+1)*outLen]
				for o := 0; o < c.Out; o++ {
					copy(prod[o*lp+i*hw:o*lp+(i+1)*hw], dyi[o*hw:(o+1)*hw])
				}
			}
			if params {
				c.im2col(c.x.Data[(lo+i)*inLen:(lo+i+1)*inLen], cols[i*hw:], ld)
			}
		}
		var beta float32
		if lo > 0 {
			beta = 1
		}
		if !params {
			// Input gradient only.
		} else if transDW {
			gemm(false, true, kd, c.Out, cn, 1, cols, ld, prod, lp, beta, dwT, c.Out)
		} else {
			gemm(false, true, c.Out, kd, cn, 1, prod, lp, cols, ld, beta, c.DW.Data, kd)
		}
		if c.B != nil && params {
			for o := range c.DB.Data {
				c.DB.Data[o] += vec.Sum(prod[o*lp : o*lp+cn])
			}
		}
		if needDX {
			gemm(true, false, kd, cn, c.Out, 1, c.W.Data, kd, prod, lp, 0, dcols, ld)
			for i := 0; i < m; i++ {
				c.col2im(dcols[i*hw:], ld, dx.Data[(lo+i)*inLen:(lo+i+1)*inLen])
			}
		}
	}
	return dx
}

// AddRecordSqNorms implements RecordNormer exactly: the weight gradient of image i is dy_i·im2col(x_i)ᵀ,
// the bias gradient the spatial sum of dy_i.
func (c *Conv2D) AddRecordSqNorms(sq []float64) {
	hw, kd := c.ho*c.wo, c.In*c.K*c.K
	inLen, outLen := c.In*c.h*c.w, c.Out*hw
	cols := reuseFloats(&c.cols, kd*hw)
	g := reuseFloats(&c.recordBuf, c.Out*kd)
	for i := range sq {
		dyi := c.dy.Data[i*outLen : (i+1)*outLen]
		c.im2col(c.x.Data[i*inLen:(i+1)*inLen], cols, hw)
		gemm(false, true, c.Out, kd, hw, 1, dyi, hw, cols, hw, 0, g, kd)
		sq[i] += sumSq(g)
		if c.B != nil {
			for o := 0; o < c.Out; o++ {
				var s float64
				for _, v := range dyi[o*hw : (o+1)*hw] {
					s += float64(v)
				}
				sq[i] += s * s
			}
		}
	}
}

// im2col writes the (In·K·K) × (Ho·Wo) patch matrix of one image x (In × H × W) into cols, whose rows
// are ld apart. Row (c, ki, kj) holds x[c, oh·s − p + ki, ow·s − p + kj] for every output position
// (oh, ow), 0 outside the image.
func (c *Conv2D) im2col(x, cols []float32, ld int) {
	if c.phased() {
		c.im2colPhased(x, cols, ld)
		return
	}
	if c.Stride == 1 && c.wo == c.w {
		c.im2colSame(x, cols, ld)
		return
	}
	c.im2colGeneral(x, cols, ld)
}

// im2colGeneral is im2col for any geometry.
func (c *Conv2D) im2colGeneral(x, cols []float32, ld int) {
	k, s, p, h, w, ho, wo := c.K, c.Stride, c.Padding, c.h, c.w, c.ho, c.wo
	hw := ho * wo
	r := 0
	for ch := 0; ch < c.In; ch++ {
		xc := x[ch*h*w : (ch+1)*h*w]
		for ki := 0; ki < k; ki++ {
			// Output rows [ohLo, ohHi) read input rows inside the image.
			ohLo, ohHi := validRange(ho, h, s, p, ki)
			for kj := 0; kj < k; kj++ {
				row := cols[r*ld : r*ld+hw]
				r++
				lo, hi := validRange(wo, w, s, p, kj)
				clear32(row[:ohLo*wo])
				clear32(row[ohHi*wo:])
				for oh := ohLo; oh < ohHi; oh++ {
					out := row[oh*wo : (oh+1)*wo]
					ih := oh*s - p + ki
					xr := xc[ih*w : (ih+1)*w]
					for ow := 0; ow < lo; ow++ {
						out[ow] = 0
					}
					if s == 1 {
						copy(out[lo:hi], xr[lo-p+kj:])
					} else {
						for ow := lo; ow < hi; ow++ {
							out[ow] = xr[ow*s-p+kj]
						}
					}
					for ow := hi; ow < wo; ow++ {
						out[ow] = 0
					}
				}
			}
		}
	}
}

// col2im adds the patch-matrix gradient dcols (rows ld apart) back onto the image gradient dx (the
// adjoint of im2col).
func (c *Conv2D) col2im(dcols []float32, ld int, dx []float32) {
	if c.phased() {
		c.col2imPhased(dcols, ld, dx)
		return
	}
	if c.Stride == 1 && c.wo == c.w {
		c.col2imSame(dcols, ld, dx)
		return
	}
	c.col2imGeneral(dcols, ld, dx)
}

// col2imGeneral is col2im for any geometry.
func (c *Conv2D) col2imGeneral(dcols []float32, ld int, dx []float32) {
	k, s, p, h, w, ho, wo := c.K, c.Stride, c.Padding, c.h, c.w, c.ho, c.wo
	hw := ho * wo
	r := 0
	for ch := 0; ch < c.In; ch++ {
		dxc := dx[ch*h*w : (ch+1)*h*w]
		for ki := 0; ki < k; ki++ {
			ohLo, ohHi := validRange(ho, h, s, p, ki)
			for kj := 0; kj < k; kj++ {
				row := dcols[r*ld : r*ld+hw]
				r++
				lo, hi := validRange(wo, w, s, p, kj)
				for oh := ohLo; oh < ohHi; oh++ {
					ih := oh*s - p + ki
					in := row[oh*wo : (oh+1)*wo]
					dr := dxc[ih*w : (ih+1)*w]
					if s == 1 {
						addTo(dr[lo-p+kj:], in[lo:hi])
					} else {
						for ow := lo; ow < hi; ow++ {
							dr[ow*s-p+kj] += in[ow]
						}
					}
				}
			}
		}
	}
}

// validRange returns the output columns [lo, hi) whose input column ow·s − p + kj lies in [0, w).
func validRange(wo, w, s, p, kj int) (lo, hi int) {
	// ow·s ≥ p − kj  ⇒  ow ≥ ceil((p − kj)/s)
	off := p - kj
	if off > 0 {
		lo = (off + s - 1) / s
	}
	// ow·s − p + kj ≤ w − 1  ⇒  ow ≤ (w − 1 + p − kj)/s
	lim := w - 1 + off
	if lim < 0 {
		return lo, lo
	}
	hi = lim/s + 1
	if hi > wo {
		hi = wo
	}
	if lo > hi {
		lo = hi
	}
	return lo, hi
}

func (c *Conv2D) setNoParamGrad(v bool) { c.noParamGrad = v }
func (c *Conv2D) lastDY() *Tensor       { return c.dy }
