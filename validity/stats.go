package validity

import (
	"math"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"
)

// Interval is a two-sided Student-t confidence interval for a mean, from one value per seed.
type Interval struct {
	Mean float64 `json:"mean"`
	// SE is the standard error of Mean: the standard deviation across seeds (ddof 1) over √n.
	SE float64 `json:"se"`
	// DF is the t distribution's degrees of freedom (n − 1, or Welch–Satterthwaite's for a difference).
	DF float64 `json:"df"`
	// Quantile is the t quantile at 1 − Level/2, and HalfWidth = Quantile·SE.
	Quantile  float64 `json:"quantile"`
	HalfWidth float64 `json:"half_width"`
	// Level is the two-sided significance (after the Bonferroni correction).
	Level float64 `json:"level"`
}

// Contains reports whether x lies in Mean ± HalfWidth. A zero-width interval (every seed gave the same
// value) contains its mean only.
func (iv Interval) Contains(x float64) bool {
	return math.Abs(iv.Mean-x) <= iv.HalfWidth
}

// meanInterval returns the t interval at two-sided significance level for the mean of x (n ≥ 2).
func meanInterval(x []float64, level float64) Interval {
	n := float64(len(x))
	mean, sd := meanSD(x)
	iv := Interval{Mean: mean, SE: sd / math.Sqrt(n), DF: n - 1, Level: level}
	iv.Quantile = tQuantile(iv.DF, level)
	iv.HalfWidth = iv.Quantile * iv.SE
	return iv
}

// welchInterval returns Welch's t interval at two-sided significance level for mean(a) − mean(b) (each
// with at least 2 values): SE² = s_a²/n_a + s_b²/n_b and the Welch–Satterthwaite degrees of freedom.
func welchInterval(a, b []float64, level float64) Interval {
	ma, sa := meanSD(a)
	mb, sb := meanSD(b)
	na, nb := float64(len(a)), float64(len(b))
	va, vb := sa*sa/na, sb*sb/nb
	iv := Interval{Mean: ma - mb, SE: math.Sqrt(va + vb), Level: level}
	if va+vb > 0 {
		iv.DF = (va + vb) * (va + vb) / (va*va/(na-1) + vb*vb/(nb-1))
	} else {
		iv.DF = na + nb - 2
	}
	iv.Quantile = tQuantile(iv.DF, level)
	iv.HalfWidth = iv.Quantile * iv.SE
	return iv
}

// meanSD returns the mean and the standard deviation (ddof 1) of x.
func meanSD(x []float64) (mean, sd float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	ss := 0.0
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	if len(x) > 1 {
		sd = math.Sqrt(ss / float64(len(x)-1))
	}
	return mean, sd
}

// tQuantile returns the quantile of Student's t with df degrees of freedom at 1 − level/2.
func tQuantile(df, level float64) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(1 - level/2)
}

// binomialTail returns P[X ≥ k] for X ~ Binomial(n, p), as the regularised incomplete beta function
// I_p(k, n − k + 1), without the cancellation of 1 − CDF.
func binomialTail(k, n int, p float64) float64 {
	switch {
	case k <= 0:
		return 1
	case k > n:
		return 0
	}
	return mathext.RegIncBeta(float64(k), float64(n-k+1), p)
}
