package nn

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/pmeter/pmeter/nn/internal/vec"
)

// pool2d holds the geometry shared by MaxPool2D and AvgPool2D.
type pool2d struct {
	K, Stride, Padding int
	c, h, w, ho, wo    int
}

func newPool2d(kind string, k, stride, padding int) (pool2d, error) {
	if stride == 0 {
		stride = k
	}
	if k <= 0 || stride <= 0 || padding < 0 || 2*padding > k {
		return pool2d{}, fmt.Errorf("nn: %s: kernel=%d stride=%d padding=%d: need positive kernel and stride, 0 ≤ padding ≤ kernel/2",
			kind, k, stride, padding)
	}
	return pool2d{K: k, Stride: stride, Padding: padding}, nil
}

func (p *pool2d) outShape(kind string, in []int) ([]int, error) {
	if p.K <= 0 || p.Stride <= 0 || p.Padding < 0 || 2*p.Padding > p.K {
		return nil, fmt.Errorf("%s: invalid kernel %d, stride %d, padding %d", kind, p.K, p.Stride, p.Padding)
	}
	if len(in) != 3 {
		return nil, fmt.Errorf("%s: input shape %v, want [C H W]", kind, in)
	}
	ho, wo := convOut(in[1], p.K, p.Stride, p.Padding), convOut(in[2], p.K, p.Stride, p.Padding)
	if ho <= 0 || wo <= 0 {
		return nil, fmt.Errorf("%s: input %v too small for kernel %d", kind, in, p.K)
	}
	return []int{in[0], ho, wo}, nil
}

func (p *pool2d) setGeometry(x *Tensor) {
	p.c, p.h, p.w = x.Shape[1], x.Shape[2], x.Shape[3]
	p.ho, p.wo = convOut(p.h, p.K, p.Stride, p.Padding), convOut(p.w, p.K, p.Stride, p.Padding)
}

// window returns the input rows [r0, r1) and columns [c0, c1) of output (oh, ow), clipped to the image.
func (p *pool2d) window(oh, ow int) (r0, r1, c0, c1 int) {
	r0, c0 = oh*p.Stride-p.Padding, ow*p.Stride-p.Padding
	r1, c1 = min(r0+p.K, p.h), min(c0+p.K, p.w)
	return max(r0, 0), r1, max(c0, 0), c1
}

// MaxPool2D is max pooling over NCHW images (PyTorch nn.MaxPool2d, floor mode, padding with −∞).
// Ties go to the first maximum in row-major order, and NaN propagates, as in PyTorch.
type MaxPool2D struct {
	pool2d
	x, y, dx *Tensor
	argmax   []int32
	reluMask bool // set by Sequential: x is a ReLU output and Backward applies the ReLU's mask
}

// NewMaxPool2D returns a max-pooling layer; stride 0 means stride = k.
func NewMaxPool2D(k, stride, padding int) (*MaxPool2D, error) {
	p, err := newPool2d(KindMaxPool2D, k, stride, padding)
	if err != nil {
		return nil, err
	}
	return &MaxPool2D{pool2d: p}, nil
}

// Spec implements Layer.
func (m *MaxPool2D) Spec() LayerSpec {
	return LayerSpec{Kind: KindMaxPool2D, Kernel: m.K, Stride: m.Stride, Padding: m.Padding}
}

// OutShape implements Layer.
func (m *MaxPool2D) OutShape(in []int) ([]int, error) { return m.outShape(KindMaxPool2D, in) }

// Params implements Layer; max pooling has none.
func (m *MaxPool2D) Params() []Param { return nil }

// Forward implements Layer.
func (m *MaxPool2D) Forward(x *Tensor, train bool) *Tensor {
	m.setGeometry(x)
	m.x = x
	n := x.Rows()
	y := reuse(&m.y, n, m.c, m.ho, m.wo)
	if cap(m.argmax) < len(y.Data) {
		m.argmax = make([]int32, len(y.Data))
	}
	m.argmax = m.argmax[:len(y.Data)]
	plane, oplane := m.h*m.w, m.ho*m.wo
	for img := 0; img < n*m.c; img++ {
		xp := x.Data[img*plane : (img+1)*plane]
		yp := y.Data[img*oplane : (img+1)*oplane]
		ap := m.argmax[img*oplane : (img+1)*oplane]
		if m.K == 2 && m.Stride == 2 && m.Padding == 0 {
			if m.reluMask {
				m.forward2x2ReLU(xp, yp, ap)
			} else {
				m.forward2x2(xp, yp, ap)
			}
			continue
		}
		for oh := 0; oh < m.ho; oh++ {
			for ow := 0; ow < m.wo; ow++ {
				r0, r1, c0, c1 := m.window(oh, ow)
				best, bi := float32(math.Inf(-1)), r0*m.w+c0
			scan:
				for r := r0; r < r1; r++ {
					for c := c0; c < c1; c++ {
						v := xp[r*m.w+c]
						if v > best || v != v {
							best, bi = v, r*m.w+c
							if v != v {
								break scan
							}
						}
					}
				}
				yp[oh*m.wo+ow] = best
				ap[oh*m.wo+ow] = int32(bi)
			}
		}
	}
	return y
}

// forward2x2 is Forward for one plane with 2×2 windows at stride 2 and no padding (windows never
// leave the image). The result is that of the general loop: the output is the first maximum in
// row-major order, or the first NaN. To keep data-dependent branches out of the common case, it takes
// the maximum m, then the first position equal to m from a bit mask of the comparisons.
func (m *MaxPool2D) forward2x2(xp, yp []float32, ap []int32) {
	w := m.w
	offs := [4]int32{0, 1, int32(w), int32(w + 1)}
	for oh := 0; oh < m.ho; oh++ {
		r0 := xp[2*oh*w : (2*oh+1)*w]
		r1 := xp[(2*oh+1)*w : (2*oh+2)*w]
		yr := yp[oh*m.wo : (oh+1)*m.wo]
		ar := ap[oh*m.wo : (oh+1)*m.wo]
		base := int32(2 * oh * w)
		for ow := range yr {
			c := 2 * ow
			a, b, d, e := r0[c], r0[c+1], r1[c], r1[c+1]
			mx := max(a, b, d, e)
			var k int
			if mx == mx {
				k = bits.TrailingZeros32(b2u(a == mx) | b2u(b == mx)<<1 | b2u(d == mx)<<2 | 8)
			} else { // the first NaN
				k = bits.TrailingZeros32(b2u(a != a) | b2u(b != b)<<1 | b2u(d != d)<<2 | 8)
			}
			i := base + int32(c) + offs[k&3]
			ar[ow] = i
			yr[ow] = xp[i]
		}
	}
}

// forward2x2ReLU is forward2x2 for an input that is a ReLU output (every value +0, positive or NaN).
// For such values the order of the bit patterns as unsigned integers is that of the values, with
// every NaN above; windows holding a NaN take the first NaN.
func (m *MaxPool2D) forward2x2ReLU(xp, yp []float32, ap []int32) {
	w, wo := m.w, m.wo
	w1 := int32(w)
	// The assembly does each row's windows in blocks of 8, up to the first row with a NaN in them;
	// the loop below does the rest of each row, and the rows from there.
	vrows := vec.MaxPool2x2ReLU(yp, ap, xp, w, wo)
	for oh := 0; oh < m.ho; oh++ {
		r0 := xp[2*oh*w : (2*oh+1)*w]
		r1 := xp[(2*oh+1)*w : (2*oh+2)*w]
		r1 = r1[:len(r0)]
		yr := yp[oh*wo : (oh+1)*wo]
		ar := ap[oh*wo : (oh+1)*wo]
		ar = ar[:len(yr)]
		base := int32(2 * oh * w)
		start := 0
		if oh < vrows {
			start = wo &^ 7
		}
		for ow := start; ow < len(yr); ow++ {
			c := 2 * ow
			a, b := math.Float32bits(r0[c]), math.Float32bits(r0[c+1])
			d, e := math.Float32bits(r1[c]), math.Float32bits(r1[c+1])
			mx := max(max(a, b), max(d, e))
			if mx > 0x7f800000 { // a NaN: the first one
				v := [4]float32{r0[c], r0[c+1], r1[c], r1[c+1]}
				k := 0
				for k < 3 && v[k] == v[k] {
					k++
				}
				yr[ow] = v[k]
				ar[ow] = base + int32(c) + [4]int32{0, 1, w1, w1 + 1}[k]
				continue
			}
			off := w1 + 1
			if d == mx {
				off = w1
			}
			if b == mx {
				off = 1
			}
			if a == mx {
				off = 0
			}
			yr[ow] = math.Float32frombits(mx)
			ar[ow] = base + int32(c) + off
		}
	}
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// Backward implements Layer.
func (m *MaxPool2D) Backward(dy *Tensor, needDX bool) *Tensor {
	if !needDX {
		return nil
	}
	n := dy.Rows()
	dx := reuse(&m.dx, n, m.c, m.h, m.w)
	plane, oplane := m.h*m.w, m.ho*m.wo
	if m.K == 2 && m.Stride == 2 && m.Padding == 0 {
		for img := 0; img < n*m.c; img++ {
			m.backward2x2(dx.Data[img*plane:(img+1)*plane], dy.Data[img*oplane:(img+1)*oplane],
				m.argmax[img*oplane:(img+1)*oplane], m.x.Data[img*plane:(img+1)*plane], m.y.Data[img*oplane:(img+1)*oplane])
		}
		return dx
	}
	clear32(dx.Data)
	for img := 0; img < n*m.c; img++ {
		dp := dx.Data[img*plane : (img+1)*plane]
		for j, g := range dy.Data[img*oplane : (img+1)*oplane] {
			dp[m.argmax[img*oplane+j]] += g
		}
	}
	if m.reluMask {
		for i, g := range dx.Data {
			dx.Data[i] = reluGrad32(g, m.x.Data[i])
		}
	}
	return dx
}

// backward2x2 is Backward for one plane with 2×2 windows at stride 2 and no padding: the windows do
// not overlap, so each input position is written once, without clearing the plane first. Each
// gradient is added to +0 as in the general loop (so that −0 becomes +0). The assembly takes the
// ReLU's mask from the pooled values yp (the input at the argmax, as Forward wrote them: no layer
// writes to its input), which reads 4× less memory than the input.
func (m *MaxPool2D) backward2x2(dp, gp []float32, ap []int32, xp, yp []float32) {
	w, wo := m.w, m.wo
	done := vec.MaxPool2x2Grad(dp, gp, ap, yp, w, wo, m.reluMask) // the first windows of each row
	for oh := 0; oh < m.ho; oh++ {
		r0 := dp[2*oh*w : (2*oh+1)*w]
		r1 := dp[(2*oh+1)*w : (2*oh+2)*w]
		gr, ar := gp[oh*wo:(oh+1)*wo], ap[oh*wo:(oh+1)*wo]
		for ow := done; ow < wo; ow++ {
			g := gr[ow]
			c := 2 * ow
			r0[c], r0[c+1], r1[c], r1[c+1] = 0, 0, 0, 0
			a := ar[ow]
			if m.reluMask {
				g = reluGrad32(g, xp[a])
			}
			dp[a] += g
		}
		if w > 2*wo { // odd width: the last column is in no window
			r0[w-1], r1[w-1] = 0, 0
		}
	}
	clear32(dp[2*m.ho*w:]) // odd height: the last row
}

// AvgPool2D is average pooling over NCHW images (PyTorch nn.AvgPool2d, floor mode,
// count_include_pad=True: every window is divided by K·K, zero padding included).
type AvgPool2D struct {
	pool2d
	y, dx *Tensor
}

// NewAvgPool2D returns an average-pooling layer; stride 0 means stride = k.
func NewAvgPool2D(k, stride, padding int) (*AvgPool2D, error) {
	p, err := newPool2d(KindAvgPool2D, k, stride, padding)
	if err != nil {
		return nil, err
	}
	return &AvgPool2D{pool2d: p}, nil
}

// Spec implements Layer.
func (a *AvgPool2D) Spec() LayerSpec {
	return LayerSpec{Kind: KindAvgPool2D, Kernel: a.K, Stride: a.Stride, Padding: a.Padding}
}

// OutShape implements Layer.
func (a *AvgPool2D) OutShape(in []int) ([]int, error) { return a.outShape(KindAvgPool2D, in) }

// Params implements Layer; average pooling has none.
func (a *AvgPool2D) Params() []Param { return nil }

// Forward implements Layer.
func (a *AvgPool2D) Forward(x *Tensor, train bool) *Tensor {
	a.setGeometry(x)
	n := x.Rows()
	y := reuse(&a.y, n, a.c, a.ho, a.wo)
	inv := 1 / float32(a.K*a.K)
	plane, oplane := a.h*a.w, a.ho*a.wo
	for img := 0; img < n*a.c; img++ {
		xp := x.Data[img*plane : (img+1)*plane]
		yp := y.Data[img*oplane : (img+1)*oplane]
		for oh := 0; oh < a.ho; oh++ {
			for ow := 0; ow < a.wo; ow++ {
				r0, r1, c0, c1 := a.window(oh, ow)
				var s float32
				for r := r0; r < r1; r++ {
					for _, v := range xp[r*a.w+c0 : r*a.w+c1] {
						s += v
					}
				}
				yp[oh*a.wo+ow] = s * inv
			}
		}
	}
	return y
}

// Backward implements Layer.
func (a *AvgPool2D) Backward(dy *Tensor, needDX bool) *Tensor {
	if !needDX {
		return nil
	}
	n := dy.Rows()
	dx := reuse(&a.dx, n, a.c, a.h, a.w)
	clear32(dx.Data)
	inv := 1 / float32(a.K*a.K)
	plane, oplane := a.h*a.w, a.ho*a.wo
	for img := 0; img < n*a.c; img++ {
		dp := dx.Data[img*plane : (img+1)*plane]
		gp := dy.Data[img*oplane : (img+1)*oplane]
		for oh := 0; oh < a.ho; oh++ {
			for ow := 0; ow < a.wo; ow++ {
				g := gp[oh*a.wo+ow] * inv
				r0, r1, c0, c1 := a.window(oh, ow)
				for r := r0; r < r1; r++ {
					row := dp[r*a.w+c0 : r*a.w+c1]
					for j := range row {
						row[j] += g
					}
				}
			}
		}
	}
	return dx
}

// GlobalAvgPool averages each channel of an NCHW image over its spatial positions: N × C × H × W →
// N × C (PyTorch AdaptiveAvgPool2d(1) followed by flatten).
type GlobalAvgPool struct {
	c, h, w int
	y, dx   *Tensor
}

// Spec implements Layer.
func (g *GlobalAvgPool) Spec() LayerSpec { return LayerSpec{Kind: KindGlobalAvgPool} }

// OutShape implements Layer.
func (g *GlobalAvgPool) OutShape(in []int) ([]int, error) {
	if len(in) != 3 || in[1]*in[2] == 0 {
		return nil, fmt.Errorf("globalavgpool: input shape %v, want [C H W] with H, W > 0", in)
	}
	return []int{in[0]}, nil
}

// Params implements Layer; global pooling has none.
func (g *GlobalAvgPool) Params() []Param { return nil }

// Forward implements Layer.
func (g *GlobalAvgPool) Forward(x *Tensor, train bool) *Tensor {
	n := x.Rows()
	g.c, g.h, g.w = x.Shape[1], x.Shape[2], x.Shape[3]
	y := reuse(&g.y, n, g.c)
	plane := g.h * g.w
	inv := 1 / float32(plane)
	for i := range y.Data {
		var s float32
		for _, v := range x.Data[i*plane : (i+1)*plane] {
			s += v
		}
		y.Data[i] = s * inv
	}
	return y
}

// Backward implements Layer.
func (g *GlobalAvgPool) Backward(dy *Tensor, needDX bool) *Tensor {
	if !needDX {
		return nil
	}
	n := dy.Rows()
	dx := reuse(&g.dx, n, g.c, g.h, g.w)
	plane := g.h * g.w
	inv := 1 / float32(plane)
	for i, v := range dy.Data {
		row := dx.Data[i*plane : (i+1)*plane]
		v *= inv
		for j := range row {
			row[j] = v
		}
	}
	return dx
}
