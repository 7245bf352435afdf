package vec

// BN are the per-channel constants of batch norm's element-wise passes (the layout is shared with
// the assembly).
type BN struct {
	Mu, Is    float32 // mean and 1/√(var + ε) as applied
	G, Be     float32 // γ and β
	K         float32 // γ/√(var + ε), the input gradient's factor
	Mdy, Mdyx float32 // the means of g and g·x̂ over the channel
	ReLU      uint32  // 1: the ReLU after the layer is fused
}

// BNAffine writes y = G·((x − Mu)·Is) + Be, through the ReLU when c.ReLU is set (zero for every value
// in [−Inf, −0], the rest kept, NaN included), with every operation rounded separately, to a prefix of
// the elements, and returns its length (a multiple of 8; 0 when the CPU lacks AVX). Precondition:
// len(y) ≥ len(x).
func BNAffine(y, x []float32, c *BN) int { return bnAffine(y, x, c) }

// BNGrad writes dx = K·((g − Mdy) − ((x − Mu)·Is)·Mdyx), with g = dy, or with c.ReLU set g = dy
// where y > 0 (ordered) and +0 elsewhere, to a prefix of the elements and returns its length (as
// BNAffine). Precondition: dx, x and y are at least as long as dy.
func BNGrad(dx, dy, x, y []float32, c *BN) int { return bnGrad(dx, dy, x, y, c) }
