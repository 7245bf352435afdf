package nn

import "math"

// crossEntropyTrain is CrossEntropy.PerRecord for the training loop: the gradient
// softmax(z_i) − onehot(y_i) is computed with expNeg32, a float32 exponential accurate to a few units
// in the last place (like PyTorch's vectorised float32 softmax), instead of float64 math.Exp, which
// took a tenth of the time of a training step of the 600-256-100 MLP. The loss ℓ_i is reported to the
// same accuracy. Evaluate keeps CrossEntropy.PerRecord, accurate in float64, for the per-record signals.
// Rows whose largest logit is not finite fall back to PerRecord's exact path (so NaN and infinite
// losses are reported as before). Precondition: out is N × C and the labels are in range (checked
// by the caller).
func crossEntropyTrain(out *Tensor, labels []int, loss []float64, grad []float32) {
	c := out.Shape[1]
	for i, y := range labels {
		z := out.Data[i*c : (i+1)*c]
		g := grad[i*c : (i+1)*c]
		m := z[0]
		for _, v := range z[1:] {
			if v > m || v != v {
				m = v
			}
		}
		if math.IsNaN(float64(m)) || math.IsInf(float64(m), 0) {
			lse := softmaxInto(z, g)
			loss[i] = lse - float64(z[y])
			g[y]--
			continue
		}
		var s float32
		for j, v := range z {
			e := expNeg32(v - m)
			g[j] = e
			s += e
		}
		inv := 1 / s
		for j := range g {
			g[j] *= inv
		}
		loss[i] = float64(m) + math.Log(float64(s)) - float64(z[y])
		g[y]--
	}
}

// expNeg32 returns e^x for x ≤ 0 in float32 (Cephes expf: range reduction x = n·ln 2 + r with
// |r| ≤ ln 2 / 2, a degree-6 polynomial for e^r, and 2^n from the exponent bits; within about 2 units
// in the last place), and 0 below −87.3, where e^x is no longer a normal float32.
func expNeg32(x float32) float32 {
	if !(x >= -87.3) {
		return 0
	}
	n := float32(int32(x*1.44269504088896341 - 0.5)) // round(x/ln 2) for x ≤ 0
	r := x - n*0.693359375 - n*-2.12194440e-4
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	p = p*r*r + r + 1
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}
