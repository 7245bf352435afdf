package accountant

import (
	"math"
	"math/cmplx"
	"testing"
)

func TestFastLen(t *testing.T) {
	radices := func(n int) (count int, smooth bool) {
		for n%4 == 0 {
			n, count = n/4, count+1
		}
		for _, p := range []int{2, 3, 5} {
			for n%p == 0 {
				n, count = n/p, count+1
			}
		}
		return count, n == 1
	}
	for _, target := range []int{1, 2, 7, 11, 97, 1000, 4251527, 1 << 20, 3_000_001, 40_000_000} {
		n := fastLen(target)
		count, smooth := radices(n)
		if n < target || !smooth || count > 13 {
			t.Errorf("fastLen(%d) = %d: %d radices, 5-smooth %v", target, n, count, smooth)
		}
		for m := target; m < n && m < target+2000; m++ {
			if c, s := radices(m); s && c <= 13 {
				t.Errorf("fastLen(%d) = %d, but %d is smaller and usable", target, n, m)
				break
			}
		}
	}
}

func TestCpowInt(t *testing.T) {
	for _, z := range []complex128{0.3 + 0.4i, -0.99 + 0.01i, 1, 0.5i} {
		for _, n := range []int{1, 2, 3, 7, 99, 100, 1000, 54321} {
			got, want := cpowInt(z, n), cmplx.Pow(z, complex(float64(n), 0))
			if cmplx.Abs(got-want) > 1e-12*max(cmplx.Abs(want), 1e-300) && cmplx.Abs(got-want) > 1e-300 {
				t.Errorf("cpowInt(%v, %d) = %v, want %v", z, n, got, want)
			}
		}
	}
}

// TestConvolve checks the FFT convolution against the direct sum on lengths that take the FFT path.
func TestConvolve(t *testing.T) {
	a, b := make([]float64, 700), make([]float64, 300)
	for i := range a {
		a[i] = math.Exp(-float64(i) / 50)
	}
	for i := range b {
		b[i] = 1 / float64(i+1)
	}
	got := convolve(a, b)
	for k := range got {
		want := 0.0
		for i := max(0, k-len(b)+1); i <= k && i < len(a); i++ {
			want += a[i] * b[k-i]
		}
		if math.Abs(got[k]-want) > 1e-12 {
			t.Fatalf("convolve[%d] = %v, want %v", k, got[k], want)
		}
	}
}

// TestLogMGF compares the incremental log-MGF with the direct sum of exponentials.
func TestLogMGF(t *testing.T) {
	p := make([]float64, 100_000)
	for i := range p {
		if i%7 != 3 {
			p[i] = math.Exp(-math.Abs(float64(i)-40_000) / 5000)
		}
	}
	for _, k := range []float64{-20, -3, -1, 1, 5, 20} {
		tt := k / float64(len(p))
		m := float64(len(p)-1) * tt
		if tt < 0 {
			m = 0
		}
		s := 0.0
		for i, w := range p {
			s += w * math.Exp(float64(i)*tt-m)
		}
		want := math.Log(s) + m
		if got := logMGF(p, tt); math.Abs(got-want) > 1e-13*math.Max(1, math.Abs(want)) {
			t.Errorf("logMGF(t=%v) = %.17g, want %.17g", tt, got, want)
		}
	}
}
