package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
)

// maxElems bounds the number of elements of any tensor (constant, weight or per-record activation)
// this package accepts, so that a corrupt shape cannot make it allocate absurdly: 2³¹ float32 values
// are 8 GiB.
const maxElems = 1 << 31

// constant is a decoded TensorProto: float values (float and double tensors, as float32) or integer
// values (integer and bool tensors, as int64), in row-major order.
type constant struct {
	Shape []int
	F     []float32 // set for float tensors
	I     []int64   // set for integer and bool tensors
}

// numelOf returns the product of dims, or an error for a negative dimension or a product above
// maxElems.
func numelOf(dims []int) (int, error) {
	n := 1
	for i, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("dimension %d is negative (%d)", i, d)
		}
		if d > 0 && n > maxElems/d {
			return 0, fmt.Errorf("shape %v has more than %d elements", dims, maxElems)
		}
		n *= d
	}
	return n, nil
}

func (c *constant) isFloat() bool { return c.I == nil }

// Len returns the number of elements.
func (c *constant) Len() int {
	if c.I != nil {
		return len(c.I)
	}
	return len(c.F)
}

// floats returns the values as float32, converting integers.
func (c *constant) floats() []float32 {
	if c.I == nil {
		return c.F
	}
	f := make([]float32, len(c.I))
	for i, v := range c.I {
		f[i] = float32(v)
	}
	return f
}

// ints returns the values of an integer tensor, or an error for a float tensor.
func (c *constant) ints() ([]int64, error) {
	if c.I == nil {
		return nil, fmt.Errorf("float tensor where integers are needed")
	}
	return c.I, nil
}

// decode converts t's data to a constant. The number of values stored must match the shape, so the
// result is never larger than the encoded data (times 8 for one-byte types).
func (t *tensorProto) decode() (*constant, error) {
	if t.External {
		return nil, fmt.Errorf("tensor %q: external data is not supported (save the model with its weights inside the .onnx file)", t.Name)
	}
	if t.Segmented {
		return nil, fmt.Errorf("tensor %q: segmented tensors are not supported", t.Name)
	}
	shape := make([]int, len(t.Dims))
	for i, d := range t.Dims {
		if d < 0 || d > maxElems {
			return nil, fmt.Errorf("tensor %q: dimension %d is %d", t.Name, i, d)
		}
		shape[i] = int(d)
	}
	n, err := numelOf(shape)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	c := &constant{Shape: shape}
	count := func(have int) error {
		if have != n {
			return fmt.Errorf("tensor %q of shape %v (%d elements) holds %d values", t.Name, shape, n, have)
		}
		return nil
	}
	raw := func(size int) error {
		if len(t.RawData)%size != 0 {
			return fmt.Errorf("tensor %q: raw_data of %d bytes is not a multiple of %d", t.Name, len(t.RawData), size)
		}
		return count(len(t.RawData) / size)
	}
	switch t.DataType {
	case dtFloat:
		if t.HasRaw {
			if err := raw(4); err != nil {
				return nil, err
			}
			c.F = make([]float32, n)
			for i := range c.F {
				c.F[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.RawData[4*i:]))
			}
			return c, nil
		}
		if err := count(len(t.FloatData)); err != nil {
			return nil, err
		}
		c.F = t.FloatData
		if c.F == nil {
			c.F = []float32{}
		}
	case dtDouble:
		if t.HasRaw {
			if err := raw(8); err != nil {
				return nil, err
			}
			c.F = make([]float32, n)
			for i := range c.F {
				c.F[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(t.RawData[8*i:])))
			}
			return c, nil
		}
		if err := count(len(t.DoubleData)); err != nil {
			return nil, err
		}
		c.F = make([]float32, n)
		for i, v := range t.DoubleData {
			c.F[i] = float32(v)
		}
	case dtInt64:
		if t.HasRaw {
			if err := raw(8); err != nil {
				return nil, err
			}
			c.I = make([]int64, n)
			for i := range c.I {
				c.I[i] = int64(binary.LittleEndian.Uint64(t.RawData[8*i:]))
			}
			return c, nil
		}
		if err := count(len(t.Int64Data)); err != nil {
			return nil, err
		}
		c.I = append([]int64{}, t.Int64Data...)
	case dtInt32, dtInt8, dtUint8, dtBool:
		size := map[int64]int{dtInt32: 4, dtInt8: 1, dtUint8: 1, dtBool: 1}[t.DataType]
		if t.HasRaw {
			if err := raw(size); err != nil {
				return nil, err
			}
			c.I = make([]int64, n)
			for i := range c.I {
				switch t.DataType {
				case dtInt32:
					c.I[i] = int64(int32(binary.LittleEndian.Uint32(t.RawData[4*i:])))
				case dtInt8:
					c.I[i] = int64(int8(t.RawData[i]))
				default:
					c.I[i] = int64(t.RawData[i])
				}
			}
			return c, nil
		}
		if err := count(len(t.Int32Data)); err != nil {
			return nil, err
		}
		c.I = make([]int64, n)
		for i, v := range t.Int32Data {
			switch t.DataType {
			case dtInt32:
				c.I[i] = int64(int32(v))
			case dtInt8:
				c.I[i] = int64(int8(v))
			default:
				c.I[i] = int64(uint8(v))
			}
		}
	default:
		return nil, fmt.Errorf("tensor %q: data type %s is not supported", t.Name, dataTypeName(t.DataType))
	}
	return c, nil
}

// dataTypeName names a TensorProto.DataType.
func dataTypeName(dt int64) string {
	names := map[int64]string{0: "UNDEFINED", 1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16",
		6: "INT32", 7: "INT64", 8: "STRING", 9: "BOOL", 10: "FLOAT16", 11: "DOUBLE", 12: "UINT32",
		13: "UINT64", 14: "COMPLEX64", 15: "COMPLEX128", 16: "BFLOAT16"}
	if s, ok := names[dt]; ok {
		return s
	}
	return fmt.Sprintf("%d", dt)
}
