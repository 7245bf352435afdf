package nn

import (
	"fmt"
	"math"
)

// Tensor is a dense float32 array in row-major (C) order. Images are NCHW, as in PyTorch: the first
// dimension is the batch (records), then channels, height, width.
type Tensor struct {
	Shape []int
	Data  []float32
}

// NewTensor returns a zero tensor of the given shape. Each dimension must be non-negative.
func NewTensor(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, numel(shape))}
}

// FromSlice wraps data (without copying) as a tensor of the given shape. It returns an error if the
// shape has a negative dimension or its size differs from len(data).
func FromSlice(data []float32, shape ...int) (*Tensor, error) {
	for i, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("nn: shape %v: dimension %d is negative", shape, i)
		}
	}
	if n := numel(shape); n != len(data) {
		return nil, fmt.Errorf("nn: shape %v holds %d values, data has %d", shape, n, len(data))
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: data}, nil
}

// Len returns the number of elements.
func (t *Tensor) Len() int { return len(t.Data) }

// Clone returns a deep copy of t.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// Rows returns the size of the first dimension (the batch), or 0 for a scalar.
func (t *Tensor) Rows() int {
	if len(t.Shape) == 0 {
		return 0
	}
	return t.Shape[0]
}

// RowLen returns the number of elements per record: the product of all dimensions but the first.
func (t *Tensor) RowLen() int {
	if len(t.Shape) == 0 {
		return 0
	}
	return numel(t.Shape[1:])
}

// Slice returns a view of records [i, j) of t sharing its data.
// Precondition: 0 ≤ i ≤ j ≤ t.Rows().
func (t *Tensor) Slice(i, j int) *Tensor {
	r := t.RowLen()
	s := append([]int(nil), t.Shape...)
	s[0] = j - i
	return &Tensor{Shape: s, Data: t.Data[i*r : j*r]}
}

// CheckFinite returns an error naming the first NaN or infinite element, or nil.
func (t *Tensor) CheckFinite() error {
	// A value is NaN or infinite when its exponent bits are all set, that is when adding one to
	// its exponent carries into the sign bit; blocks of 64 are tested together, without a branch
	// per value, and a block that fails is searched for the first.
	const exp = 0x7f800000
	d := t.Data
	for i := 0; i < len(d); i += 64 {
		blk := d[i:min(i+64, len(d))]
		var acc uint32
		for _, v := range blk {
			acc |= math.Float32bits(v)&exp + 0x00800000
		}
		if acc < 0x80000000 {
			continue
		}
		for j, v := range blk {
			if math.Float32bits(v)&exp == exp {
				return fmt.Errorf("nn: element %d of tensor %v is %v", i+j, t.Shape, v)
			}
		}
	}
	return nil
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// reuse returns *t reshaped to shape, reusing its storage when large enough, and allocating otherwise.
// The contents are unspecified.
func reuse(t **Tensor, shape ...int) *Tensor {
	n := numel(shape)
	if *t == nil {
		*t = &Tensor{}
	}
	x := *t
	if cap(x.Data) < n {
		x.Data = make([]float32, n)
		adviseHuge(x.Data)
	}
	x.Data = x.Data[:n]
	x.Shape = append(x.Shape[:0], shape...)
	return x
}

// reuseFloats returns a float32 slice of length n backed by *buf, growing it if needed.
func reuseFloats(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n)
		adviseHuge(*buf)
	}
	*buf = (*buf)[:n]
	return *buf
}

func clear32(s []float32) {
	for i := range s {
		s[i] = 0
	}
}
