package accountant

import (
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/dsp/fourier"
)

// Convolutions of privacy-loss PMFs through gonum's real FFT (FFTPACK), which is fastest on lengths whose
// prime factors are 2, 3 and 5.

// fastLen returns the smallest n ≥ target of the form 2ᵃ3ᵇ5ᶜ that FFTPACK factors into at most 13
// radices (it keeps 13: a/2 fours, a mod 2 twos, b threes and c fives).
func fastLen(target int) int {
	best := math.MaxInt
	for p5, c := 1, 0; ; p5, c = p5*5, c+1 {
		for p35, b := p5, 0; ; p35, b = p35*3, b+1 {
			n, a := p35, 0
			for n < target {
				n, a = n*2, a+1
			}
			if a/2+a%2+b+c <= 13 {
				best = min(best, n)
			}
			if p35 >= target {
				break
			}
		}
		if p5 >= target {
			break
		}
	}
	return best
}

// selfConvolvePeriodic returns the length-L circular n-fold self-convolution of p (zero-padded to L):
// real(ifft(fft(p, L)ⁿ)), as dp_accounting's common.self_convolve computes it.
func selfConvolvePeriodic(p []float64, L, n int) []float64 {
	fft := fourier.NewFFT(L)
	seq := make([]float64, L)
	copy(seq, p)
	coef := fft.Coefficients(nil, seq)
	for i, z := range coef {
		if coef[i] = cpowInt(z, n); math.Abs(real(coef[i])) < flushBelow && math.Abs(imag(coef[i])) < flushBelow {
			coef[i] = 0
		}
	}
	out := fft.Sequence(seq, coef)
	inv := 1 / float64(L)
	for i := range out {
		out[i] *= inv
	}
	return out
}

// flushBelow is the magnitude under which a Fourier coefficient raised to a power is set to 0: such
// coefficients add less than 1e-250 to any output mass (FFT round-off is 1e-17), and as subnormal
// numbers they would slow the inverse transform tenfold.
const flushBelow = 1e-250

// cpowInt is zⁿ for n ≥ 1 as NumPy computes a complex power with an integer exponent: binary
// exponentiation below 100, the polar form exp(n log|z|)·e^{i n arg z} above.
func cpowInt(z complex128, n int) complex128 {
	if n < 100 {
		acc, p := complex(1, 0), z
		for {
			if n&1 == 1 {
				acc *= p
			}
			n >>= 1
			if n == 0 {
				return acc
			}
			p *= p
		}
	}
	if z == 0 {
		return 0
	}
	r := math.Exp(float64(n) * math.Log(cmplx.Abs(z)))
	if r < flushBelow {
		return 0
	}
	s, c := math.Sincos(float64(n) * cmplx.Phase(z))
	return complex(r*c, r*s)
}

// convolve returns the full linear convolution of a and b (length len(a)+len(b)-1): directly when the
// work is small or one side is a single point, through the FFT otherwise (scipy.signal.fftconvolve).
func convolve(a, b []float64) []float64 {
	n := len(a) + len(b) - 1
	if len(a) == 1 || len(b) == 1 || len(a)*len(b) <= 1<<16 {
		out := make([]float64, n)
		for i, x := range a {
			for j, y := range b {
				out[i+j] += x * y
			}
		}
		return out
	}
	L := fastLen(n)
	fft := fourier.NewFFT(L)
	seq := make([]float64, L)
	copy(seq, a)
	ca := fft.Coefficients(nil, seq)
	clear(seq)
	copy(seq, b)
	cb := fft.Coefficients(nil, seq)
	for i := range ca {
		ca[i] *= cb[i]
	}
	out := fft.Sequence(seq, ca)
	inv := 1 / float64(L)
	for i := range out {
		out[i] *= inv
	}
	return out[:n]
}
