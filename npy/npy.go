// Package npy reads and writes NumPy .npy and .npz files.
//
// It supports the dtypes that membership-inference artefacts use: float64, float32, bool, uint8, int8,
// int16, int32 and int64, little or big endian, in C or Fortran order. Arrays are always returned in C
// (row-major) order. Writes are atomic: a file is written to a temporary name beside the destination and
// renamed into place, so an interrupted run never leaves a truncated array behind.
//
// Reads are bounded by what the input holds: a header is checked against the file's size (or a .npz
// member's declared size) before anything is allocated, and the data go into buffers of exactly the
// array's size, converted (ReadOptions.Float64) and rearranged (Fortran order, ReadOptions.Axes) as they
// are read, so that reading an array takes little more memory than the array.
package npy

import (
	"fmt"
	"math"
)

// Kind is the element type of an Array.
type Kind int

// The element kinds an Array can hold.
const (
	Float64 Kind = iota
	Float32
	Bool
	Uint8
	Int8
	Int16
	Int32
	Int64
)

var kindNames = [...]string{"float64", "float32", "bool", "uint8", "int8", "int16", "int32", "int64"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Array is an n-dimensional array in C (row-major) order.
//
// Exactly one of the data slices is set, according to Kind: F64 for Float64, F32 for Float32, B for
// Bool, and I64 for every integer kind (values widened to int64).
type Array struct {
	Shape []int
	Kind  Kind
	F64   []float64
	F32   []float32
	B     []bool
	I64   []int64
}

// Len returns the number of elements, the product of Shape.
func (a *Array) Len() int {
	n := 1
	for _, d := range a.Shape {
		n *= d
	}
	return n
}

// ShapeString formats the shape the way NumPy prints it, e.g. "(3, 4)" or "(5,)".
func ShapeString(shape []int) string {
	switch len(shape) {
	case 0:
		return "()"
	case 1:
		return fmt.Sprintf("(%d,)", shape[0])
	}
	s := "("
	for i, d := range shape {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprint(d)
	}
	return s + ")"
}

// Float64s returns the elements as float64, converting from any numeric or bool kind
// (true is 1). The returned slice aliases the array's storage when Kind is Float64.
func (a *Array) Float64s() []float64 {
	switch a.Kind {
	case Float64:
		return a.F64
	case Float32:
		out := make([]float64, len(a.F32))
		for i, v := range a.F32 {
			out[i] = float64(v)
		}
		return out
	case Bool:
		out := make([]float64, len(a.B))
		for i, v := range a.B {
			if v {
				out[i] = 1
			}
		}
		return out
	default:
		out := make([]float64, len(a.I64))
		for i, v := range a.I64 {
			out[i] = float64(v)
		}
		return out
	}
}

// An ElementError reports an element that a conversion cannot take, by its flat (C-order) index.
type ElementError struct {
	Index int    // flat index of the element
	Value string // the element's value, as Go formats it
	Want  string // what the conversion expects
}

func (e *ElementError) Error() string {
	return fmt.Sprintf("element %d is %s; %s", e.Index, e.Value, e.Want)
}

const wantMembership = "a membership array must hold only 0 and 1 (or be bool)"

// Bools returns the elements as booleans. Bool arrays are returned as they are; integer and float arrays
// are accepted when every element is 0 or 1. Any other value is an *ElementError.
func (a *Array) Bools() ([]bool, error) {
	switch a.Kind {
	case Bool:
		return a.B, nil
	case Float64, Float32:
		f := a.Float64s()
		out := make([]bool, len(f))
		for i, v := range f {
			switch v {
			case 0:
			case 1:
				out[i] = true
			default:
				return nil, &ElementError{Index: i, Value: fmt.Sprint(v), Want: wantMembership}
			}
		}
		return out, nil
	default:
		out := make([]bool, len(a.I64))
		for i, v := range a.I64 {
			switch v {
			case 0:
			case 1:
				out[i] = true
			default:
				return nil, &ElementError{Index: i, Value: fmt.Sprint(v), Want: wantMembership}
			}
		}
		return out, nil
	}
}

// Int64s returns the elements as int64. Integer and bool arrays convert exactly; float arrays are accepted
// only when every element is a whole number within int64 range; any other value is an *ElementError.
func (a *Array) Int64s() ([]int64, error) {
	switch a.Kind {
	case Bool:
		out := make([]int64, len(a.B))
		for i, v := range a.B {
			if v {
				out[i] = 1
			}
		}
		return out, nil
	case Float64, Float32:
		f := a.Float64s()
		out := make([]int64, len(f))
		for i, v := range f {
			if v != math.Trunc(v) || math.Abs(v) > 1<<62 {
				return nil, &ElementError{Index: i, Value: fmt.Sprint(v), Want: "expected an integer"}
			}
			out[i] = int64(v)
		}
		return out, nil
	default:
		return a.I64, nil
	}
}

// NewFloat64 returns a Float64 array that uses data as its storage.
// It panics if len(data) does not equal the product of shape.
func NewFloat64(data []float64, shape ...int) *Array {
	a := &Array{Shape: shape, Kind: Float64, F64: data}
	mustLen(a, len(data))
	return a
}

// NewFloat32 returns a Float32 array that uses data as its storage.
func NewFloat32(data []float32, shape ...int) *Array {
	a := &Array{Shape: shape, Kind: Float32, F32: data}
	mustLen(a, len(data))
	return a
}

// NewBool returns a Bool array that uses data as its storage.
func NewBool(data []bool, shape ...int) *Array {
	a := &Array{Shape: shape, Kind: Bool, B: data}
	mustLen(a, len(data))
	return a
}

// NewInt64 returns an Int64 array that uses data as its storage.
func NewInt64(data []int64, shape ...int) *Array {
	a := &Array{Shape: shape, Kind: Int64, I64: data}
	mustLen(a, len(data))
	return a
}

func mustLen(a *Array, n int) {
	if a.Len() != n {
		panic(fmt.Sprintf("npy: %d elements do not fill shape %s", n, ShapeString(a.Shape)))
	}
}
