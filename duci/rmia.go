package duci

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/internal/numpysum"
	"github.com/pmeter/pmeter/internal/parallel"
	"github.com/pmeter/pmeter/signal"
)

// RMIA is DUCI's own RMIA variant (Privacy Meter v2 modules/mia/attacks/rmia.py), which differs from
// pmeter's attack.RMIA in how it forms Pr_OUT(x) from the reference models (Zarifzadeh, Liu and Shokri,
// "Low-Cost High-Power Membership Inference Attacks", ICML 2024, Eq. 3–5, offline):
//
//   - with k > 1 reference signals (K: max(n_ref/2, 1) by default) Pr_OUT(x) is the mean of the k
//     largest OUT signals of the record;
//   - with k = 1, every reference column is used: OUT signals as they are, and each IN signal p
//     "converted" to an OUT one by inverting the offline approximation Pr_IN = a·Pr_OUT + 1 − a,
//     (p + a − 1)/a;
//
// then Pr(x) = (1+a)/2·Pr_OUT(x) + (1−a)/2, the ratio Pr(x|θ)/Pr(x) is compared with every population
// record's (whose reference signals are all OUT) and the score is the fraction of population records
// with LR(x, z) > 1.
//
// By default the conversion is clipped to [0, 1] (a probability; Privacy Meter's can be negative, which
// makes Pr(x) ≤ 0 and the score 0 whatever the target says, its D5), a = 0 drops the IN columns (the
// conversion is undefined there; Privacy Meter uses a = 0.3's while Pr(x) uses a = 0), and top-k takes
// the k largest of the record's OUT signals only (Privacy Meter fills a record with fewer than k OUT
// references with zeros, which lowers Pr(x) for records that many references trained on). A record with
// no usable OUT signal takes the population's mean Pr_OUT. Compat CompatPrivacyMeter is Privacy Meter's
// arithmetic to the last bit.
type RMIA struct {
	// OfflineA is a in [0, 1], used unless Tune.
	OfflineA float64
	// Tune chooses a over Grid (nil: attack.OfflineAGrid(0.1)) before the estimate: by default the a of
	// highest AUC of the reference models' pooled scores (each attacked as in the estimate, so that the
	// target takes no part); compat: Privacy Meter's tune_offline_a (see PrivacyMeter).
	Tune bool
	Grid []float64
	// K is the number of OUT signals averaged (0: max(n_ref/2, 1)).
	K      int
	Compat attack.Compat
}

// Method returns "duci-rmia".
func (r *RMIA) Method() string { return "duci-rmia" }

// Scores returns the scores of every record against model, with reference models refs, at a = OfflineA.
func (r *RMIA) Scores(d *attack.Data, model int, refs []int) ([]float64, error) {
	in, err := columns(d, model, refs)
	if err != nil {
		return nil, err
	}
	if len(refs) == 0 {
		return nil, errors.New("duci-rmia: needs at least one reference model")
	}
	if !(r.OfflineA >= 0 && r.OfflineA <= 1) {
		return nil, fmt.Errorf("duci-rmia: offline a = %v, want a value in [0, 1]", r.OfflineA)
	}
	return rmiaScores(in, r.OfflineA, r.K, r.Compat == attack.CompatPrivacyMeter), nil
}

// rmiaInput is the input of DUCI's RMIA: the attacked model's p(true label) (ts, N; zt, Z), the
// references' (rs, N × n; zr, Z × n) and the references' memberships rm (N × n).
type rmiaInput struct {
	n, z, nref int
	ts, zt     []float64
	rs, zr     []float64
	rm         []bool
}

// columns gathers model's and refs' columns of d as p(true label), averaged over queries.
// Privacy Meter attacks a lone reference model with itself; selfRef allows that.
func columns(d *attack.Data, model int, refs []int, selfRef ...bool) (*rmiaInput, error) {
	if model < 0 || model >= d.M {
		return nil, fmt.Errorf("model %d does not exist (there are %d models)", model, d.M)
	}
	for _, r := range refs {
		if r < 0 || r >= d.M || (r == model && len(selfRef) == 0) {
			return nil, fmt.Errorf("reference model %d of model %d: want another model in [0, %d)", r, model, d.M)
		}
	}
	if d.Z == 0 {
		return nil, errors.New("duci-rmia: no population signals")
	}
	p, err := d.MeanQueries(signal.ProbTrue)
	if err != nil {
		return nil, fmt.Errorf("duci-rmia: %w", err)
	}
	k := len(refs)
	in := &rmiaInput{n: p.N, z: p.Z, nref: k, ts: make([]float64, p.N), zt: make([]float64, p.Z),
		rs: make([]float64, p.N*k), zr: make([]float64, p.Z*k), rm: make([]bool, p.N*k)}
	for i := range p.N {
		in.ts[i] = p.Signals[i*p.M+model]
		for j, r := range refs {
			in.rs[i*k+j] = p.Signals[i*p.M+r]
			in.rm[i*k+j] = p.Members[i*p.M+r]
		}
	}
	for z := range p.Z {
		in.zt[z] = p.Population[z*p.M+model]
		for j, r := range refs {
			in.zr[z*k+j] = p.Population[z*p.M+r]
		}
	}
	return in, nil
}

// outSignalsCompat is Privacy Meter's get_out_ref_signals for one row (ref, mem of length n_ref),
// written into dst: the k largest of ref·¬mem (zeros for IN) when k > 1, else every column with IN
// signals converted by (p + a − 1)/a ((p − 0.7)/0.3 when a = 0).
func outSignalsCompat(dst, ref []float64, mem []bool, k int, a float64) []float64 {
	dst = dst[:0]
	if k > 1 {
		for j, p := range ref {
			f := 1.0
			if mem[j] {
				f = 0
			}
			dst = append(dst, p*f)
		}
		slices.SortFunc(dst, func(x, y float64) int { return -cmpFloat(x, y) })
		return dst[:min(k, len(dst))]
	}
	for j, p := range ref {
		var c float64
		if a != 0 {
			c = ((p + a) - 1) / a
		} else {
			c = (p - 0.7) / 0.3
		}
		if mem[j] {
			dst = append(dst, 0+c*1)
		} else {
			dst = append(dst, p+c*0)
		}
	}
	return dst
}

// outSignals is the default get_out_ref_signals: the k largest OUT signals when k > 1, else the OUT
// signals with the IN ones converted and clipped to [0, 1] (a > 0) or left out (a = 0). Empty when the
// record has no usable signal.
func outSignals(dst, ref []float64, mem []bool, k int, a float64) []float64 {
	dst = dst[:0]
	if k > 1 {
		for j, p := range ref {
			if !mem[j] {
				dst = append(dst, p)
			}
		}
		slices.SortFunc(dst, func(x, y float64) int { return -cmpFloat(x, y) })
		return dst[:min(k, len(dst))]
	}
	for j, p := range ref {
		switch {
		case !mem[j]:
			dst = append(dst, p)
		case a > 0:
			dst = append(dst, min(1, max(0, (p+a-1)/a)))
		}
	}
	return dst
}

func cmpFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// rmiaScores is run_rmia: Privacy Meter's arithmetic when compat, else the default (see RMIA).
func rmiaScores(in *rmiaInput, a float64, k int, compat bool) []float64 {
	if k <= 0 {
		k = max(in.nref/2, 1)
	}
	c1, c2 := (1+a)/2, (1-a)/2
	prob := func(m float64) float64 { return float64(c1*m) + c2 }
	allOut := make([]bool, in.nref)
	out := outSignals
	if compat {
		out = outSignalsCompat
	}
	buf := make([]float64, 0, in.nref)
	rz := make([]float64, in.z)
	popOut := 0.0
	for z := range in.z {
		o := out(buf, in.zr[z*in.nref:(z+1)*in.nref], allOut, k, a)
		m := numpysum.Sum(o) / float64(len(o))
		popOut += m
		rz[z] = in.zt[z] / prob(m)
	}
	popOut /= float64(in.z)
	rx := make([]float64, in.n)
	for i := range in.n {
		o := out(buf, in.rs[i*in.nref:(i+1)*in.nref], in.rm[i*in.nref:(i+1)*in.nref], k, a)
		m := popOut
		if len(o) > 0 {
			m = numpysum.Sum(o) / float64(len(o))
		}
		rx[i] = in.ts[i] / prob(m)
	}
	if compat {
		return countCompat(rx, rz)
	}
	return countSorted(rx, rz)
}

// countCompat is score[i] = #{z : rx[i]/rz[z] > 1}/Z, each ratio divided as numpy divides it.
func countCompat(rx, rz []float64) []float64 {
	s := make([]float64, len(rx))
	_ = parallel.Blocks(len(rx), 256, func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			c := 0
			for _, v := range rz {
				if rx[i]/v > 1.0 {
					c++
				}
			}
			s[i] = float64(c) / float64(len(rz))
		}
		return nil
	})
	return s
}

// countSorted is score[i] = #{z : rz[z] < rx[i]}/Z (LR(x, z) > 1 for positive ratios), by binary search
// in the sorted population ratios; a NaN ratio counts no population record.
func countSorted(rx, rz []float64) []float64 {
	sz := slices.Clone(rz)
	slices.SortFunc(sz, cmpFloat)
	// NaN population ratios (0/0) sort unpredictably with cmpFloat; drop them, they never lose.
	sz = slices.DeleteFunc(sz, math.IsNaN)
	s := make([]float64, len(rx))
	for i, x := range rx {
		if math.IsNaN(x) {
			continue
		}
		s[i] = float64(sort.SearchFloat64s(sz, x)) / float64(len(rz))
	}
	return s
}
