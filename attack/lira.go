package attack

import (
	"fmt"
	"math"
	"slices"

	"github.com/pmeter/pmeter/internal/numpysum"
	"github.com/pmeter/pmeter/signal"
)

// Offline LiRA tests (LiRAConfig.OfflineTest).
const (
	OneSided = "one-sided" // paper Eq. 4: Pr[OUT signal below the target's]
	TwoSided = "two-sided" // LiRA reference code: −log-density under the OUT Gaussian
)

// LiRAConfig selects a variant of the Likelihood Ratio Attack.
//
// The defaults implement the paper. Compat reproduces the LiRA reference code (tensorflow/privacy
// research/mi_lira_2021, plot.py generate_ours / generate_ours_offline) bit for bit, and Compat with
// Float32 (and NumIn, NumOut, PopulationOut) reproduces Privacy Meter v1's benchmark (benchmark/main.py).
//
// What Compat changes:
//   - Reference values. By default every record uses all of its own IN and OUT reference models (at most
//     NumIn and NumOut of them, the first in model order). The reference code instead truncates every
//     record to the smallest count over all records (in_size = min_j #IN_j, out_size likewise), which
//     throws away reference models for every record that has more.
//   - Fixed variance. By default the global σ_in is the standard deviation (ddof 0) of all IN residuals
//     φ − μ_in over records, models and queries, and σ_out that of the OUT residuals, as TF Privacy's
//     advanced_mia (compute_score_lira) does: the spread of a model's signal around the record's median,
//     which is what the paper's shared variance stands for. The reference code instead takes the standard
//     deviation of the raw IN values (spread across records included), and online it uses that IN value
//     for σ_out as well (std_out = np.std(dat_in), a bug); offline it uses the raw OUT values.
//   - The default offline test: one-sided without Compat, two-sided (the reference code's) with it. An
//     explicit OfflineTest wins either way.
type LiRAConfig struct {
	// Online uses IN and OUT reference models (the paper's Algorithm 1); otherwise only OUT models are used
	// (the paper's offline attack).
	Online bool
	// FixVariance uses one global σ_in and σ_out for all records instead of per-record ones (the paper's
	// fixed-variance variant, better with few reference models). See Compat for which σ.
	FixVariance bool
	// OfflineTest is OneSided or TwoSided; see LiRA. Empty selects OneSided, or TwoSided with Compat.
	OfflineTest string
	// NumRef caps the reference models per side (IN and OUT), taken in model order (0 = all). NumIn and
	// NumOut, when positive, override it for one side (Privacy Meter v1's num_in_models and num_out_models).
	NumRef, NumIn, NumOut int
	// Compat reproduces the LiRA reference code's truncation and fixed variance; see LiRAConfig.
	Compat bool
	// Float32 casts the reference models' signals to float32 and computes their medians and standard
	// deviations in float32 arithmetic, in numpy's order of operations, as Privacy Meter v1's benchmark does
	// (bit for bit with one query). The target's signal and the likelihoods stay float64.
	Float32 bool
	// PopulationOut (offline only) replaces the per-record OUT Gaussian by one fitted to the target model's
	// signals on the population records (median and ddof-0 std over d.Population, per query, in float64):
	// Privacy Meter v1 benchmark's "population" attack, an Attack-P with a Gaussian on φ. FixVariance,
	// NumOut, Compat's truncation and Float32 do not apply to it.
	PopulationOut bool
}

// LiRA returns the Likelihood Ratio Attack score of every record of target model target: Carlini, Chien,
// Nasr, Song, Terzis and Tramèr, "Membership Inference Attacks From First Principles" (IEEE S&P 2022).
// Higher = more likely a member.
//
// The signal is the rescaled logit φ = log(p_y/(1−p_y)) (the paper's logit scaling); d's signals are converted to it
// when d.Kind differs (signal.Convert). For each record i and query q, the reference models other than
// target give Gaussians N(μ_in, σ_in²) and N(μ_out, σ_out²), μ the median and σ the ddof-0 standard
// deviation of φ over the models in which i was IN (resp. OUT), plus 1e-30 on σ as in the reference code.
// With φ_q the target's signal:
//
//   - online (Algorithm 1): score = mean_q [log N(φ_q; μ_in, σ_in²) − log N(φ_q; μ_out, σ_out²)], the
//     reference code's per-query log-likelihood ratios averaged over queries;
//   - offline, OneSided (paper Eq. 4, per query): score = mean_q log Φ((φ_q − μ_out)/σ_out), the log of
//     the probability that an OUT model's signal lies below the target's. With one query it ranks records as
//     Φ does, but keeps distinct the records near Φ = 1 that Φ itself rounds together;
//   - offline, TwoSided (reference code): score = −mean_q log N(φ_q; μ_out, σ_out²), which also scores
//     abnormally low signals as members.
//
// The reference code's own prediction (lower = member) is LiRAPrediction. Reference models are those
// other than target; a record needs at least one IN model (online) and one OUT model. d must satisfy
// d.Validate, and target d.CheckTarget.
func LiRA(d *Data, target int, cfg LiRAConfig) ([]float64, error) {
	f, err := fitLiRA(d, target, cfg)
	if err != nil {
		return nil, err
	}
	return f.eval(true), nil
}

// LiRAPrediction returns what the reference implementation selected by cfg returns, one value per record,
// lower = more likely a member: the negated LiRA score for the online and two-sided offline attacks
// (plot.py's prediction), and −mean_q Φ((φ_q − μ_out)/σ_out) for the one-sided offline attack (Privacy
// Meter v1 benchmark's reference_out_logits_percentile and population). It exists to compare with those
// tools; LiRA's score is the one to rank by.
func LiRAPrediction(d *Data, target int, cfg LiRAConfig) ([]float64, error) {
	f, err := fitLiRA(d, target, cfg)
	if err != nil {
		return nil, err
	}
	return f.eval(false), nil
}

// Global returns the LiRA reference code's "global threshold" baseline (plot.py generate_global; Yeom et al.
// 2018 with a swept threshold): the target model's rescaled logit averaged over queries, mean_q φ_q. Higher
// = more likely a member; the reference code's prediction is its negation.
func Global(d *Data, target int) ([]float64, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if err := d.CheckTarget(target); err != nil {
		return nil, err
	}
	sig, err := signalsAs(d, signal.RescaledLogit)
	if err != nil {
		return nil, err
	}
	out := make([]float64, d.N)
	for i := range out {
		s := 0.0
		for q := 0; q < d.Q; q++ {
			s += sig[(i*d.M+target)*d.Q+q]
		}
		out[i] = s / float64(d.Q)
	}
	return out, nil
}

// signalsAs returns d's signals as kind k: d.Signals itself when it already is, otherwise a converted copy.
func signalsAs(d *Data, k signal.Kind) ([]float64, error) {
	if d.Kind == k {
		return d.Signals, nil
	}
	out := append([]float64(nil), d.Signals...)
	if err := signal.Convert(out, d.Kind, k); err != nil {
		return nil, fmt.Errorf("signals (records × models × queries, flat index): %w", err)
	}
	return out, nil
}

// liraFit holds the fitted Gaussians of every record × query (sd includes the 1e-30 guard).
type liraFit struct {
	n, q     int
	online   bool
	oneSided bool
	phi      []float64 // target's signal, N × Q
	logSd32  bool      // take log σ in float32: scipy's logpdf on float32 per-record σ (Float32 without FixVariance)
	muIn     []float64
	sdIn     []float64
	muOut    []float64
	sdOut    []float64
}

// eval returns the score (higher = member) or the reference prediction (lower = member). The prediction
// is mean_q p_q with p_q in the reference code's form: pr_in − pr_out (online, pr = −log-density), the OUT
// log-density (two-sided) or −Φ(z) (one-sided); the score is its negation, except one-sided, where it is
// mean_q log Φ(z).
func (f *liraFit) eval(score bool) []float64 {
	out := make([]float64, f.n)
	for i := range out {
		s := 0.0
		for q := 0; q < f.q; q++ {
			k := i*f.q + q
			x := f.phi[k]
			switch {
			case f.online:
				prIn := -f.logPDF(x, f.muIn[k], f.sdIn[k])
				prOut := -f.logPDF(x, f.muOut[k], f.sdOut[k])
				s += prIn - prOut
			case !f.oneSided:
				s += f.logPDF(x, f.muOut[k], f.sdOut[k])
			case score:
				s += normLogCDF((x - f.muOut[k]) / f.sdOut[k])
			default:
				s += -normCDF((x - f.muOut[k]) / f.sdOut[k])
			}
		}
		m := s / float64(f.q)
		if score && !f.oneSided {
			m = -m
		}
		out[i] = m
	}
	return out
}

// logPDF is normLogPDF, with log σ rounded to float32 where scipy receives σ as a float32 array (scipy's
// logpdf subtracts np.log(scale), which numpy computes in the array's precision).
func (f *liraFit) logPDF(x, mu, sd float64) float64 {
	if f.logSd32 {
		y := (x - mu) / sd
		return (-(y*y)/2.0 - normLogC) - float64(float32(math.Log(sd)))
	}
	return normLogPDF(x, mu, sd)
}

// fitLiRA validates the input and fits the IN and OUT Gaussians.
func fitLiRA(d *Data, target int, cfg LiRAConfig) (*liraFit, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if err := d.CheckTarget(target); err != nil {
		return nil, err
	}
	test := cfg.OfflineTest
	switch test {
	case "":
		test = OneSided
		if cfg.Compat {
			test = TwoSided
		}
	case OneSided, TwoSided:
	default:
		return nil, fmt.Errorf("LiRA: offline test %q; want %q or %q", cfg.OfflineTest, OneSided, TwoSided)
	}
	if cfg.NumRef < 0 || cfg.NumIn < 0 || cfg.NumOut < 0 {
		return nil, fmt.Errorf("LiRA: negative number of reference models (NumRef %d, NumIn %d, NumOut %d)", cfg.NumRef, cfg.NumIn, cfg.NumOut)
	}
	if cfg.PopulationOut {
		if cfg.Online {
			return nil, fmt.Errorf("LiRA: PopulationOut is an offline attack; it cannot be combined with Online")
		}
		if d.Z == 0 {
			return nil, fmt.Errorf("LiRA: PopulationOut needs population signals, and the data has none")
		}
	}
	sig, err := signalsAs(d, signal.RescaledLogit)
	if err != nil {
		return nil, err
	}
	f := &liraFit{n: d.N, q: d.Q, online: cfg.Online, oneSided: test == OneSided && !cfg.Online,
		logSd32: cfg.Float32 && !cfg.FixVariance && !cfg.PopulationOut}
	f.phi = make([]float64, d.N*d.Q)
	for i := 0; i < d.N; i++ {
		for q := 0; q < d.Q; q++ {
			f.phi[i*d.Q+q] = sig[(i*d.M+target)*d.Q+q]
		}
	}
	capOf := func(side int) int {
		switch {
		case side > 0:
			return side
		case cfg.NumRef > 0:
			return cfg.NumRef
		}
		return d.M
	}
	r := refSet{d: d, sig: sig, target: target}
	var in, out []int // reference models used per record
	if cfg.Online {
		if in, err = r.sizes(true, capOf(cfg.NumIn), cfg.Compat); err != nil {
			return nil, err
		}
		f.muIn, f.sdIn = r.fit(true, in, cfg.Float32, cfg.Compat)
	}
	if cfg.PopulationOut {
		pop, err := popAs(d, signal.RescaledLogit)
		if err != nil {
			return nil, err
		}
		f.muOut, f.sdOut = populationGaussian(d, pop, target)
		return f, nil
	}
	if out, err = r.sizes(false, capOf(cfg.NumOut), cfg.Compat); err != nil {
		return nil, err
	}
	f.muOut, f.sdOut = r.fit(false, out, cfg.Float32, cfg.Compat)
	if !cfg.FixVariance {
		return f, nil
	}
	switch {
	case cfg.Compat && cfg.Online:
		// plot.py: std_in = std_out = np.std(dat_in), the raw IN values for both sides.
		sd := r.globalStd(true, in, cfg.Float32)
		fill(f.sdIn, sd)
		fill(f.sdOut, sd)
	case cfg.Compat:
		fill(f.sdOut, r.globalStd(false, out, cfg.Float32))
	default:
		if cfg.Online {
			fill(f.sdIn, r.residualStd(true, in, f.muIn, cfg.Float32))
		}
		fill(f.sdOut, r.residualStd(false, out, f.muOut, cfg.Float32))
	}
	return f, nil
}

// fill sets every σ to the global sd plus the 1e-30 guard, added in float64 also after float32 statistics
// (in numpy a float32 scalar plus a Python float is a float64).
func fill(sd []float64, v float64) {
	for k := range sd {
		sd[k] = v + 1e-30
	}
}

// guard returns a per-record σ + 1e-30 as the reference code forms it: in float64, except that a float32
// array plus 1e-30 stays float32 (Privacy Meter v1's per-record stds).
func guard(sd float64, f32 bool) float64 {
	if f32 {
		return float64(float32(sd) + float32(1e-30))
	}
	return sd + 1e-30
}

// refSet picks the reference models of each record.
type refSet struct {
	d      *Data
	sig    []float64 // d's signals as φ
	target int
}

// sizes returns how many reference models of the side (IN if member) each record uses: all of its own,
// at most limit, or with compat the smallest count over all records (LiRA's in_size / out_size).
func (r *refSet) sizes(member bool, limit int, compat bool) ([]int, error) {
	d := r.d
	side := "OUT"
	if member {
		side = "IN"
	}
	k := make([]int, d.N)
	least, at := math.MaxInt, 0
	for i := 0; i < d.N; i++ {
		c := 0
		for m := 0; m < d.M; m++ {
			if m != r.target && d.Members[i*d.M+m] == member {
				c++
			}
		}
		k[i] = min(c, limit)
		if c < least {
			least, at = c, i
		}
	}
	if least == 0 {
		return nil, fmt.Errorf("LiRA: record %d has no %s reference model (target model %d excluded); every record needs one", at, side, r.target)
	}
	if compat {
		for i := range k {
			k[i] = min(least, limit)
		}
	}
	return k, nil
}

// values appends to buf the signals of record i for query q under its first k reference models of the
// side (IN if member), in model order.
func (r *refSet) values(buf []float64, i, q int, member bool, k int) []float64 {
	d := r.d
	for m := 0; m < d.M && k > 0; m++ {
		if m != r.target && d.Members[i*d.M+m] == member {
			buf = append(buf, r.sig[(i*d.M+m)*d.Q+q])
			k--
		}
	}
	return buf
}

// fit returns the per record × query median and guarded ddof-0 std of the side's values, with compat
// summed in the reference code's order along the model axis of its (N, k, Q) array (stdAlong).
func (r *refSet) fit(member bool, k []int, f32, compat bool) (mu, sd []float64) {
	d := r.d
	inner := 1 // each record's values on their own
	if compat {
		inner = d.Q
	}
	mu = make([]float64, d.N*d.Q)
	sd = make([]float64, d.N*d.Q)
	var buf []float64
	var buf32, tmp32 []float32
	var tmp []float64
	for i := 0; i < d.N; i++ {
		for q := 0; q < d.Q; q++ {
			buf = r.values(buf[:0], i, q, member, k[i])
			j := i*d.Q + q
			if f32 {
				buf32 = buf32[:0]
				for _, v := range buf {
					buf32 = append(buf32, float32(v))
				}
				s := stdAlong(buf32, inner, &tmp32)
				mu[j] = float64(medianOf(buf32))
				sd[j] = guard(float64(s), true)
				continue
			}
			s := stdAlong(buf, inner, &tmp)
			mu[j] = medianOf(buf)
			sd[j] = guard(s, false)
		}
	}
	return mu, sd
}

// globalStd returns the ddof-0 std of all the side's values (records × models × queries in that order,
// the reference code's np.std(dat_in), summed as NumPy sums the contiguous array), in float32 arithmetic
// when f32.
func (r *refSet) globalStd(member bool, k []int, f32 bool) float64 {
	d := r.d
	var all []float64
	var buf []float64
	for i := 0; i < d.N; i++ {
		// dat_in[i] is models × queries; gather per query, then interleave.
		start := len(all)
		for q := 0; q < d.Q; q++ {
			buf = r.values(buf[:0], i, q, member, k[i])
			if q == 0 {
				all = append(all, make([]float64, len(buf)*d.Q)...)
			}
			for j, v := range buf {
				all[start+j*d.Q+q] = v
			}
		}
	}
	if f32 {
		a := make([]float32, len(all))
		for j, v := range all {
			a[j] = float32(v)
		}
		var tmp []float32
		return float64(stdOf(a, &tmp))
	}
	var tmp []float64
	return stdOf(all, &tmp)
}

// residualStd returns the ddof-0 std of all residuals φ − μ of the side (TF Privacy advanced_mia's fixed
// variance), computed in float32 when f32.
func (r *refSet) residualStd(member bool, k []int, mu []float64, f32 bool) float64 {
	d := r.d
	var res []float64
	var buf []float64
	for i := 0; i < d.N; i++ {
		for q := 0; q < d.Q; q++ {
			buf = r.values(buf[:0], i, q, member, k[i])
			m := mu[i*d.Q+q]
			for _, v := range buf {
				if f32 {
					res = append(res, float64(float32(v)-float32(m)))
				} else {
					res = append(res, v-m)
				}
			}
		}
	}
	var tmp []float64
	return stdOf(res, &tmp)
}

// popAs returns d's population signals as kind k.
func popAs(d *Data, k signal.Kind) ([]float64, error) {
	if d.Kind == k {
		return d.Population, nil
	}
	out := append([]float64(nil), d.Population...)
	if err := signal.Convert(out, d.Kind, k); err != nil {
		return nil, fmt.Errorf("population signals (records × models × queries, flat index): %w", err)
	}
	return out, nil
}

// populationGaussian fits median and guarded std of the target model's population signals, per query, and
// repeats them for every record.
func populationGaussian(d *Data, pop []float64, target int) (mu, sd []float64) {
	mu = make([]float64, d.N*d.Q)
	sd = make([]float64, d.N*d.Q)
	vals := make([]float64, d.Z)
	var tmp []float64
	for q := 0; q < d.Q; q++ {
		for z := range vals {
			vals[z] = pop[(z*d.M+target)*d.Q+q]
		}
		s := stdOf(vals, &tmp) + 1e-30
		m := medianOf(vals)
		for i := 0; i < d.N; i++ {
			mu[i*d.Q+q], sd[i*d.Q+q] = m, s
		}
	}
	return mu, sd
}

// meanOf returns numpy's mean of x (NaN for no values).
func meanOf[T numpysum.Float](x []T) T {
	return numpysum.Sum(x) / T(len(x))
}

// stdOf returns numpy's std(x) (ddof 0) of a 1-D x in T's arithmetic: the mean, then the mean of the
// squared deviations, then the square root. scratch is reused between calls.
func stdOf[T numpysum.Float](x []T, scratch *[]T) T {
	return stdAlong(x, 1, scratch)
}

// medianOf returns numpy's median of x (no NaN, at least one value), sorting x: the mean of the middle
// value or of the two middle values, in T's arithmetic. Like numpy's mean it adds them to add's identity
// +0, so a median of −0 comes out as +0.
func medianOf[T numpysum.Float](x []T) T {
	slices.Sort(x)
	n := len(x)
	var zero T
	if n%2 == 1 {
		return zero + x[n/2]
	}
	return ((zero + x[n/2-1]) + x[n/2]) / 2
}
