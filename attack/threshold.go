package attack

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mathext"
)

// Privacy Meter v1's threshold functions (privacy_meter/hypothesis_test.py, the threshold_fn of its
// configurations). Each maps a sample of reference signal values and a list of false positive rates α to
// thresholds; v1 then predicts "member" when a record's signal (a loss: lower = member) lies strictly
// below the threshold. ParseThresholdFn also accepts the Python names (linear_itp_threshold_func, …).
type ThresholdFn string

// The threshold functions.
const (
	ThresholdFunc  ThresholdFn = "threshold_func"   // np.quantile(d, α, method='lower')
	LinearItp      ThresholdFn = "linear_itp"       // np.quantile(d, α, method='linear'), end points replaced (v1 default)
	LogitRescale   ThresholdFn = "logit_rescale"    // Gaussian fit to logit(e^{−d}), threshold at 1 − α, back to a loss
	Gaussian       ThresholdFn = "gaussian"         // Gaussian fit to d: α in 1-D, 1 − α per row (v1 quirk)
	MinLinearLogit ThresholdFn = "min_linear_logit" // element-wise min of linear_itp and logit_rescale
)

// ParseThresholdFn validates a threshold function name and returns its short form. Empty means LinearItp,
// v1's default.
func ParseThresholdFn(s string) (ThresholdFn, error) {
	switch fn := ThresholdFn(s); fn {
	case "", LinearItp, "linear_itp_threshold_func":
		return LinearItp, nil
	case ThresholdFunc, LogitRescale, Gaussian, MinLinearLogit:
		return fn, nil
	case "logit_rescale_threshold_func", "gaussian_threshold_func", "min_linear_logit_threshold_func":
		return fn[:len(fn)-len("_threshold_func")], nil
	}
	return "", fmt.Errorf("unknown threshold function %q (want threshold_func, linear_itp, logit_rescale, gaussian or min_linear_logit)", s)
}

// DefaultAlphas returns Privacy Meter v1's default false positive rates, numpy.logspace(-5, 0, 100):
// 10^(−5 + 5i/99) for i = 0…99, the last exactly 1.
func DefaultAlphas() []float64 {
	const n = 100
	a := make([]float64, n)
	step := 5.0 / (n - 1)
	for i := range a {
		a[i] = math.Pow(10, float64(i)*step-5)
	}
	a[n-1] = 1
	return a
}

// Thresholds returns Privacy Meter v1's thresholds for a 1-D sample dist, one per α, exactly as
// hypothesis_test.py computes them (numpy 1.24, scipy 1.10):
//
//   - ThresholdFunc: the 'lower' quantile, dist sorted, x[⌊(n−1)α⌋].
//   - LinearItp: the 'linear' quantile x[⌊h⌋] + (h − ⌊h⌋)(x[⌊h⌋+1] − x[⌊h⌋]), h = (n−1)α, for the inner α;
//     the first and the last α are replaced by min(dist) − 1e-4 and max(dist) + 1e-4, whatever their value.
//   - LogitRescale: y = log(e^{−(d+1e-6)}/(1 − e^{−(d+1e-6)})), (μ, σ) = norm.fit(y) (mean and ddof-0
//     std), t = μ + σΦ⁻¹(1 − α), threshold log(e^t + 1) − t (loss domain; α = 0 gives NaN).
//   - Gaussian: (μ, σ) = norm.fit(dist), threshold μ + σΦ⁻¹(α). Note α here but 1 − α in RowThresholds,
//     as in v1.
//   - MinLinearLogit: the element-wise minimum of LinearItp and LogitRescale; NaN if either is NaN.
//
// Φ⁻¹(0) and Φ⁻¹(1) are ∓Inf, and a zero σ gives NaN (scipy's norm.ppf). It returns an error if dist is
// empty or holds a NaN, if an α lies outside [0, 1], or if LinearItp or MinLinearLogit get fewer than two α.
func Thresholds(fn ThresholdFn, dist, alphas []float64) ([]float64, error) {
	fn, err := ParseThresholdFn(string(fn))
	if err != nil {
		return nil, err
	}
	if err := checkSample(fn, "distribution", dist, alphas); err != nil {
		return nil, err
	}
	sorted := slices.Clone(dist)
	slices.Sort(sorted)
	out := make([]float64, len(alphas))
	rowThresholds(fn, sorted, alphas, false, sorted[0], sorted[len(sorted)-1], out, 1)
	return out, nil
}

// RowThresholds returns Privacy Meter v1's thresholds for a 2-D sample, dist being P rows × k values
// (row-major, one row per record, as the reference attack passes its reference models' losses): a
// len(alphas) × P matrix, α-major. Each row is fitted separately, except that LinearItp's first and last
// rows are the global min(dist) − 1e-4 and max(dist) + 1e-4 over the whole matrix (v1's 2-D branch), and
// Gaussian uses μ + σΦ⁻¹(1 − α) where the 1-D Gaussian uses α. ThresholdFunc is the per-row quantile
// (v1 with axis=1; without an axis v1 flattens the matrix, which is Thresholds of the flat data).
func RowThresholds(fn ThresholdFn, dist []float64, k int, alphas []float64) ([]float64, error) {
	fn, err := ParseThresholdFn(string(fn))
	if err != nil {
		return nil, err
	}
	if k <= 0 || len(dist)%k != 0 || len(dist) == 0 {
		return nil, fmt.Errorf("distribution: %d values is not a positive number of rows of %d", len(dist), k)
	}
	if err := checkSample(fn, "distribution", dist, alphas); err != nil {
		return nil, err
	}
	p := len(dist) / k
	lo, hi := slices.Min(dist), slices.Max(dist)
	out := make([]float64, len(alphas)*p)
	row := make([]float64, k)
	for i := 0; i < p; i++ {
		copy(row, dist[i*k:(i+1)*k])
		slices.Sort(row)
		rowThresholds(fn, row, alphas, true, lo, hi, out[i:], p)
	}
	return out, nil
}

// checkSample rejects an empty sample, NaN values, α outside [0, 1], and fewer than two α for the
// functions that replace the first and last α.
func checkSample(fn ThresholdFn, name string, x, alphas []float64) error {
	if len(x) == 0 {
		return fmt.Errorf("%s: no values", name)
	}
	if (fn == LinearItp || fn == MinLinearLogit) && len(alphas) < 2 {
		return fmt.Errorf("%s replaces the first and the last alpha by the sample's extremes; it needs at least 2 alphas, got %d", fn, len(alphas))
	}
	for i, v := range x {
		if math.IsNaN(v) {
			return fmt.Errorf("%s[%d] is NaN", name, i)
		}
	}
	for j, a := range alphas {
		if !(a >= 0 && a <= 1) {
			return fmt.Errorf("alpha[%d] = %v, outside [0, 1]", j, a)
		}
	}
	return nil
}

// rowThresholds writes the thresholds of one sorted row for every α to out[j*stride]. rows selects v1's
// 2-D behaviour (Gaussian at 1 − α); lo and hi are the min and max that LinearItp's end points use.
func rowThresholds(fn ThresholdFn, sorted, alphas []float64, rows bool, lo, hi float64, out []float64, stride int) {
	switch fn {
	case ThresholdFunc:
		for j, a := range alphas {
			out[j*stride] = quantileLower(sorted, a)
		}
	case LinearItp:
		linearItp(sorted, alphas, lo, hi, out, stride)
	case LogitRescale:
		logitRescale(sorted, alphas, out, stride)
	case Gaussian:
		mu, sd := normFit(sorted)
		for j, a := range alphas {
			if rows {
				a = 1 - a
			}
			out[j*stride] = normPPF(a, mu, sd)
		}
	case MinLinearLogit:
		logitRescale(sorted, alphas, out, stride)
		lin := make([]float64, len(alphas))
		linearItp(sorted, alphas, lo, hi, lin, 1)
		for j, v := range lin {
			// np.minimum propagates NaN.
			if o := out[j*stride]; !math.IsNaN(o) && (math.IsNaN(v) || v < o) {
				out[j*stride] = v
			}
		}
	}
}

// linearItp writes v1's linear_itp thresholds: lo − 1e-4, the inner linear quantiles, hi + 1e-4.
func linearItp(sorted, alphas []float64, lo, hi float64, out []float64, stride int) {
	n := len(alphas)
	for j, a := range alphas {
		switch j {
		case 0:
			out[0] = lo - 1e-4
		case n - 1:
			out[j*stride] = hi + 1e-4
		default:
			out[j*stride] = quantileLinear(sorted, a)
		}
	}
}

// logitRescale writes v1's logit_rescale thresholds of one row.
func logitRescale(sorted, alphas []float64, out []float64, stride int) {
	y := make([]float64, len(sorted))
	for i, v := range sorted {
		y[i] = logitOfLoss(v + 0.000001)
	}
	mu, sd := normFit(y)
	for j, a := range alphas {
		t := normPPF(1-a, mu, sd)
		out[j*stride] = math.Log(math.Exp(t)+1) - t
	}
}

// logitOfLoss returns log(e^{−d} / (1 − e^{−d})) in v1's order of operations.
func logitOfLoss(d float64) float64 {
	e := math.Exp(-d)
	return math.Log(e / (1 - e))
}

// quantileLower returns numpy's quantile(x, q, method='lower') of sorted x: x[⌊(n−1)q⌋].
func quantileLower(sorted []float64, q float64) float64 {
	return sorted[int(math.Floor(float64(len(sorted)-1)*q))]
}

// quantileLinear returns numpy 1.24's quantile(x, q, method='linear') of sorted x, with its lerp: with
// h = (n−1)q, i = ⌊h⌋ and t = h − i, a + (b−a)t for t < 0.5 and b − (b−a)(1−t) otherwise, a = x[i],
// b = x[i+1].
func quantileLinear(sorted []float64, q float64) float64 {
	n := len(sorted)
	h := float64(n-1) * q
	if h >= float64(n-1) {
		return sorted[n-1]
	}
	i := int(math.Floor(h))
	a, b := sorted[i], sorted[i+1]
	t := h - float64(i)
	d := b - a
	if t >= 0.5 {
		return b - d*(1-t)
	}
	return a + d*t
}

// normFit returns scipy.stats.norm.fit(x): the mean and the ddof-0 standard deviation.
func normFit(x []float64) (mu, sd float64) {
	var tmp []float64
	return meanOf(x), stdOf(x, &tmp)
}

// The normal distribution, as scipy.stats.norm (scipy 1.10) computes it.

// normLogC is scipy's _norm_pdf_logC, np.log(np.sqrt(2*np.pi)) as it rounds in float64 (1 ulp below the
// nearest float64 to log √(2π)).
const normLogC = 0.9189385332046727

// normLogPDF returns scipy.stats.norm.logpdf(x, mu, sd) in scipy's order of operations:
// −y²/2 − log√(2π) − log sd with y = (x − mu)/sd.
func normLogPDF(x, mu, sd float64) float64 {
	y := (x - mu) / sd
	return (-(y*y)/2.0 - normLogC) - math.Log(sd)
}

// normCDF returns Φ(z) as cephes ndtr (scipy.special.ndtr) computes it.
func normCDF(z float64) float64 {
	x := z * (1 / math.Sqrt2)
	if math.Abs(x) < 1/math.Sqrt2 {
		return 0.5 + 0.5*math.Erf(x)
	}
	y := 0.5 * math.Erfc(math.Abs(x))
	if x > 0 {
		return 1 - y
	}
	return y
}

// normLogCDF returns log Φ(z) accurately for every z (scipy.special.log_ndtr): log1p(−Φ(−z)) above −1,
// log Φ(z) from erfc down to −37, and the asymptotic series of log Φ beyond, where Φ underflows.
func normLogCDF(z float64) float64 {
	switch {
	case math.IsNaN(z):
		return z
	case z > -1:
		return math.Log1p(-0.5 * math.Erfc(z/math.Sqrt2))
	case z > -37:
		return math.Log(0.5 * math.Erfc(-z/math.Sqrt2))
	}
	// log Φ(z) = −z²/2 − log(−z) − log√(2π) + log(1 − 1/z² + 3/z⁴ − 15/z⁶ + …).
	r := 1 / (z * z)
	sum, term := 1.0, 1.0
	for k := 1; k < 8; k++ {
		term *= -float64(2*k-1) * r
		sum += term
	}
	return -z*z/2 - math.Log(-z) - normLogC + math.Log(sum)
}

// normPPF returns scipy.stats.norm.ppf(q, mu, sd): Φ⁻¹(q)·sd + mu (Φ⁻¹ by Wichura's AS241, accurate to
// about 1e-16), ∓Inf at q = 0 and 1, NaN for q outside [0, 1] or sd ≤ 0 (or NaN).
func normPPF(q, mu, sd float64) float64 {
	if !(sd > 0) || !(q >= 0 && q <= 1) || math.IsNaN(mu) {
		return math.NaN()
	}
	return mathext.NormalQuantile(q)*sd + mu
}

// refSample is a sorted sample of reference losses with the fits that the threshold functions use.
type refSample struct {
	sorted  []float64
	mu, sd  float64 // norm.fit of the losses (Gaussian)
	lmu, ls float64 // norm.fit of logit(e^{−(d+1e-6)}) (LogitRescale)
}

// newRefSample sorts vals in place and fits what fn needs.
func newRefSample(fn ThresholdFn, vals []float64) refSample {
	slices.Sort(vals)
	r := refSample{sorted: vals}
	switch fn {
	case Gaussian:
		r.mu, r.sd = normFit(vals)
	case LogitRescale, MinLinearLogit:
		y := make([]float64, len(vals))
		for i, v := range vals {
			y[i] = logitOfLoss(v + 0.000001)
		}
		r.lmu, r.ls = normFit(y)
	}
	return r
}

// level returns α*(s), the false positive rate at which Privacy Meter v1 starts to call a record with
// loss s a member when fn's thresholds come from this sample: v1 predicts "member" at α exactly when
// α > α*(s) (α ≥ α*(s) for ThresholdFunc), up to the rounding of v1's thresholds. It is the one-sided
// p-value of s under the sample's model (the empirical CDF, interpolated for LinearItp, or a Gaussian
// fit), and so ranks records as sweeping α does (Ye et al., CCS 2022: a member is a record whose loss lies
// in the low α-percentile of its reference losses). Values above 1 mean "never a member". For LinearItp and
// MinLinearLogit the two end points of v1's α grid, where v1 substitutes the sample's extremes for the
// quantiles, are not levels of this kind.
func (r refSample) level(fn ThresholdFn, s float64) float64 {
	x := r.sorted
	n := len(x)
	switch fn {
	case ThresholdFunc:
		// v1: member iff s < x[⌊(n−1)α⌋] ⟺ ⌊(n−1)α⌋ ≥ c, c = #{x ≤ s}.
		c := countLE(x, s)
		if n == 1 {
			return 2 * float64(c)
		}
		return float64(c) / float64(n-1)
	case LinearItp:
		return linearLevel(x, s)
	case Gaussian:
		return gaussLevel((s-r.mu)/r.sd, s < r.mu, r.sd)
	case LogitRescale:
		return r.logitLevel(s)
	case MinLinearLogit:
		return max(linearLevel(x, s), r.logitLevel(s))
	}
	return math.NaN()
}

// linearLevel inverts the linear quantile: the largest α with Q(α) ≤ s, 0 below the sample and 1 from its
// maximum on.
func linearLevel(x []float64, s float64) float64 {
	n := len(x)
	c := countLE(x, s)
	switch {
	case c == 0:
		return 0
	case c == n:
		return 1
	}
	k := c - 1 // x[k] ≤ s < x[k+1]
	return (float64(k) + (s-x[k])/(x[k+1]-x[k])) / float64(n-1)
}

// logitLevel is the LogitRescale level: v1 calls s a member when logit(e^{−s}) > μ + σΦ⁻¹(1 − α), that
// is when α > Φ((μ − logit(e^{−s}))/σ). logit(e^{−s}) = −log(e^s − 1), +Inf at s = 0.
func (r refSample) logitLevel(s float64) float64 {
	y := -math.Log(math.Expm1(s))
	return gaussLevel((r.lmu-y)/r.ls, y > r.lmu, r.ls)
}

// gaussLevel returns Φ(z), or for a degenerate fit (σ = 0, or NaN, where v1's thresholds are NaN and
// never predict a member) 0 where the record is on the member side of the point mass and 1 otherwise.
func gaussLevel(z float64, memberSide bool, sd float64) float64 {
	switch {
	case math.IsNaN(sd):
		return 1
	case sd == 0 && memberSide:
		return 0
	case sd == 0:
		return 1
	case math.IsNaN(z):
		return 1
	}
	return normCDF(z)
}

// countLE returns #{x ≤ s} for sorted x.
func countLE(x []float64, s float64) int {
	i, _ := slices.BinarySearchFunc(x, s, func(v, t float64) int {
		if v <= t {
			return -1
		}
		return 1
	})
	return i
}
