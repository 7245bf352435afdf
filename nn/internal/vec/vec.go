// Package vec holds the vectorised inner loops of package nn, in assembly where the CPU allows (a
// package of its own because Go assembly cannot live in a package that uses cgo, as nn does with the
// openblas build tag). Every function computes bitwise what the scalar code in nn computes.
package vec

// Consts are the per-step constants of the Adam update (the layout is shared with the assembly).
type Consts struct {
	B1, C1, B2, C2 float32 // β1, 1 − β1, β2, 1 − β2
	Step           float32 // lr / (1 − β1ᵗ)
	InvBC2         float32 // 1 / √(1 − β2ᵗ)
	Eps            float32
}

// Adam applies the Adam step without weight decay, m ← B1·m + C1·g, v ← B2·v + (C2·g)·g,
// w ← w − (Step·m) / (√v·InvBC2 + Eps), with every multiplication and addition rounded separately, to
// a prefix of the elements, and returns its length (a multiple of 8; 0 when the CPU lacks AVX). The
// caller does the rest. Precondition: g, m and v are at least as long as w.
func Adam(w, g, m, v []float32, c *Consts) int { return adam(w, g, m, v, c) }
