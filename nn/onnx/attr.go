package onnx

import (
	"math"
	"strconv"
)

func findAttr(n *nodeProto, name string) *attribute {
	for _, a := range n.Attrs {
		if a.Name == name {
			return a
		}
	}
	return nil
}

func attrInt(n *nodeProto, name string, def int64) int64 {
	if a := findAttr(n, name); a != nil {
		return a.I
	}
	return def
}

func attrFloat(n *nodeProto, name string, def float32) float32 {
	if a := findAttr(n, name); a != nil {
		return a.F
	}
	return def
}

func attrString(n *nodeProto, name, def string) string {
	if a := findAttr(n, name); a != nil {
		return string(a.S)
	}
	return def
}

// attrInts returns an ints attribute and whether it is present.
func attrInts(n *nodeProto, name string) ([]int64, bool) {
	if a := findAttr(n, name); a != nil {
		return a.Ints, true
	}
	return nil, false
}

// decimal returns the float64 nearest the shortest decimal that represents the float32 f, so that
// an attribute written as 1e-5 in PyTorch reads back as 1e-5 rather than 9.99999974738e-06.
func decimal(f float32) float64 {
	v, err := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	if err != nil || math.IsNaN(v) {
		return float64(f)
	}
	return v
}

// allEqual reports whether every element of s equals v.
func allEqual(s []int64, v int64) bool {
	for _, x := range s {
		if x != v {
			return false
		}
	}
	return true
}

// input returns the i-th input name of n, or "" when it is absent.
func input(n *nodeProto, i int) string {
	if i < len(n.Inputs) {
		return n.Inputs[i]
	}
	return ""
}
