package attack

import (
	"math"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/internal/vectortest"
)

var thresholdFns = []ThresholdFn{ThresholdFunc, LinearItp, LogitRescale, Gaussian, MinLinearLogit}

// TestThresholdVectors checks Privacy Meter v1's threshold functions on every threshold_* case: a 1-D
// distribution gives len(alpha) thresholds (Thresholds), a 2-D one (P × K) len(alpha) × P (RowThresholds),
// and threshold_func without an axis flattens the matrix.
func TestThresholdVectors(t *testing.T) {
	for _, name := range vectortest.Cases(t, "threshold_") {
		t.Run(name, func(t *testing.T) {
			c := vectortest.Load(t, name)
			da := c.Array(t, "distribution")
			dist := da.Float64s()
			alphas := c.F64(t, "alpha")
			switch len(da.Shape) {
			case 1:
				for _, fn := range thresholdFns {
					got, err := Thresholds(fn, dist, alphas)
					if err != nil {
						t.Fatal(err)
					}
					c.Check(t, fileOf(fn), got, len(alphas))
				}
			case 2:
				p, k := da.Shape[0], da.Shape[1]
				for _, fn := range thresholdFns {
					if fn == ThresholdFunc {
						continue
					}
					got, err := RowThresholds(fn, dist, k, alphas)
					if err != nil {
						t.Fatal(err)
					}
					c.Check(t, fileOf(fn), got, len(alphas), p)
				}
				got, err := RowThresholds(ThresholdFunc, dist, k, alphas)
				if err != nil {
					t.Fatal(err)
				}
				c.Check(t, "threshold_func_axis1", got, len(alphas), p)
				flat, err := Thresholds(ThresholdFunc, dist, alphas)
				if err != nil {
					t.Fatal(err)
				}
				c.Check(t, "threshold_func", flat, len(alphas))
			default:
				t.Fatalf("distribution shape %v", da.Shape)
			}
		})
	}
}

// fileOf returns the output file of a threshold function (the Python function's name).
func fileOf(fn ThresholdFn) string {
	if fn == ThresholdFunc {
		return string(fn)
	}
	return string(fn) + "_threshold_func"
}

// TestDefaultAlphas compares DefaultAlphas with numpy.logspace(-5, 0, 100) as stored in threshold_1d
// (pow implementations may differ in the last bit).
func TestDefaultAlphas(t *testing.T) {
	c := vectortest.Load(t, "threshold_1d")
	want := c.F64(t, "alpha")
	got := DefaultAlphas()
	if len(got) != len(want) {
		t.Fatalf("%d alphas, want %d", len(got), len(want))
	}
	for i := range got {
		if !vectortest.Close(got[i], want[i], 4e-16, 0) {
			t.Errorf("alpha[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

// TestNormPPF checks the inverse normal CDF against scipy.stats.norm.ppf (scipy 1.10), values computed
// with python3 -c "from scipy.stats import norm; print(repr(norm.ppf(q)))", to 1e-9 (in fact 1e-14), and
// the scipy conventions at the edges.
func TestNormPPF(t *testing.T) {
	tests := []struct{ q, want float64 }{
		{1e-300, -37.0470962993612},
		{1e-20, -9.262340089798409},
		{1e-05, -4.264890793922825},
		{0.001, -3.090232306167813},
		{0.02425, -1.972961051311885},
		{0.3, -0.5244005127080409},
		{0.5, 0.0},
		{0.7, 0.5244005127080407},
		{0.97575, 1.972961051311885},
		{0.999, 3.090232306167813},
		{0.99999, 4.264890793923841},
		{0.999999999999, 7.0344869100478356},
	}
	for _, tc := range tests {
		if got := normPPF(tc.q, 0, 1); !vectortest.Close(got, tc.want, 1e-14, 1e-15) {
			t.Errorf("Φ⁻¹(%v) = %v, want %v", tc.q, got, tc.want)
		}
		if got, want := normPPF(tc.q, 2, 3), tc.want*3+2; !vectortest.Close(got, want, 1e-14, 1e-14) {
			t.Errorf("ppf(%v; 2, 3) = %v, want %v", tc.q, got, want)
		}
	}
	edges := []struct{ q, sd, want float64 }{
		{0, 1, math.Inf(-1)},
		{1, 1, math.Inf(1)},
		{0.5, 0, math.NaN()},
		{-0.1, 1, math.NaN()},
		{1.1, 1, math.NaN()},
	}
	for _, e := range edges {
		if got := normPPF(e.q, 0, e.sd); !vectortest.Close(got, e.want, 0, 0) {
			t.Errorf("ppf(%v; 0, %v) = %v, want %v", e.q, e.sd, got, e.want)
		}
	}
	// normCDF inverts it.
	for _, tc := range tests[1:] {
		if got := normCDF(tc.want); !vectortest.Close(got, tc.q, 1e-13, 0) {
			t.Errorf("Φ(%v) = %v, want %v", tc.want, got, tc.q)
		}
	}
}

// TestQuantiles checks the numpy quantile rules on a small sample with ties, by hand.
func TestQuantiles(t *testing.T) {
	x := []float64{1, 2, 2, 4, 8} // sorted, n = 5, h = 4q
	tests := []struct{ q, lower, linear float64 }{
		{0, 1, 1},
		{0.1, 1, 1.4},         // h = 0.4
		{0.25, 2, 2},          // h = 1
		{0.6, 2, 2 + 0.4*2},   // h = 2.4
		{0.875, 4, 4 + 0.5*4}, // h = 3.5: t >= 0.5 uses b − (b−a)(1−t)
		{0.95, 4, 8 - 0.2*4},  // h = 3.8
		{1, 8, 8},
	}
	for _, tc := range tests {
		if got := quantileLower(x, tc.q); got != tc.lower {
			t.Errorf("lower quantile %v = %v, want %v", tc.q, got, tc.lower)
		}
		if got := quantileLinear(x, tc.q); !vectortest.Close(got, tc.linear, 1e-15, 1e-15) {
			t.Errorf("linear quantile %v = %v, want %v", tc.q, got, tc.linear)
		}
	}
}

// TestThresholdBadInput checks the validation of the threshold functions.
func TestThresholdBadInput(t *testing.T) {
	tests := []struct {
		name   string
		run    func() error
		expect string
	}{
		{"unknown", func() error { _, err := Thresholds("median", []float64{1}, []float64{0.5}); return err }, `unknown threshold function "median"`},
		{"empty", func() error { _, err := Thresholds(Gaussian, nil, []float64{0.5}); return err }, "no values"},
		{"NaN", func() error { _, err := Thresholds(Gaussian, []float64{1, math.NaN()}, []float64{0.5}); return err }, "distribution[1] is NaN"},
		{"alpha", func() error { _, err := Thresholds(Gaussian, []float64{1, 2}, []float64{0.5, 2}); return err }, "alpha[1] = 2"},
		{"one alpha", func() error { _, err := Thresholds(LinearItp, []float64{1, 2}, []float64{0.5}); return err }, "at least 2 alphas"},
		{"rows", func() error { _, err := RowThresholds(Gaussian, []float64{1, 2, 3}, 2, []float64{0.5}); return err }, "rows of 2"},
	}
	for _, tc := range tests {
		err := tc.run()
		if err == nil || !strings.Contains(err.Error(), tc.expect) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.expect)
		}
	}
	for _, long := range []string{"linear_itp_threshold_func", "gaussian_threshold_func", "min_linear_logit_threshold_func", ""} {
		if _, err := ParseThresholdFn(long); err != nil {
			t.Errorf("ParseThresholdFn(%q): %v", long, err)
		}
	}
}
