package attack

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/pmeter/pmeter/internal/numpysum"
)

// rmiaCompat is RMIA as Privacy Meter v2 attacks.py run_rmia computes it, to the last bit. It differs
// from RMIA's default in these ways:
//   - the paired model (t+1 for even t, t−1 for odd t) is excluded by its index, as the default excludes
//     every model determined by the target, and only the first 2R remaining models are candidates
//     (RMIAOutSignals); R = 0 means every complete pair;
//   - Pr_OUT(x) is the mean of the R largest candidate values after the IN values are set to 0. With
//     Privacy Meter's complementary model pairs this is the mean over the R OUT models; when fewer than
//     2R candidates exist, zeros enter the mean (documented quirk, vectors rmia_few_models);
//   - Pr_OUT(z) is the mean of the R largest of the 2R candidate values (all OUT), which biases Pr(z)
//     upward instead of averaging the same references as for x;
//   - sums follow numpy's order (descending values, pairwise summation) so that scores agree to the bit;
//   - offline, one query, and no tie-breaking: scores are counts over Z.
func rmiaCompat(d *Data, target int, cfg RMIAConfig) ([]float64, error) {
	gamma, err := checkRMIAConfig(cfg)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.Online:
		return nil, errors.New("rmia: Privacy Meter compat mode has no online attack")
	case d.Q != 1:
		return nil, fmt.Errorf("rmia: Privacy Meter compat mode takes one query per record; the signals have %d", d.Q)
	}
	r := cfg.NumRef
	if r == 0 {
		cands, err := compatColumns(d.M, target, cfg.RefModels, d.M)
		if err != nil {
			return nil, err
		}
		r = max(len(cands)/2, 1)
	}
	cols, err := compatColumns(d.M, target, cfg.RefModels, r)
	if err != nil {
		return nil, err
	}
	width := min(r, len(cols))
	c1, c2 := (1+cfg.OfflineA)/2, (1-cfg.OfflineA)/2
	ratio := func(row []float64, mem []bool, buf []float64) float64 {
		top := compatTop(row, mem, cols, width, buf)
		return row[target] / (float64(c1*(numpysum.Sum(top)/float64(width))) + c2)
	}
	m := d.M
	rz := make([]float64, d.Z)
	err = parallelRows(d.Z, func(lo, hi int) error {
		conv, buf := make([]float64, m), make([]float64, len(cols))
		for z := lo; z < hi; z++ {
			row, err := probRow(conv, d.Kind, "population signals", d.Population, z, m)
			if err != nil {
				return err
			}
			rz[z] = ratio(row, nil, buf)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rx := make([]float64, d.N)
	err = parallelRows(d.N, func(lo, hi int) error {
		conv, buf := make([]float64, m), make([]float64, len(cols))
		for i := lo; i < hi; i++ {
			row, err := probRow(conv, d.Kind, "signals", d.Signals, i, m)
			if err != nil {
				return err
			}
			rx[i] = ratio(row, d.Members[i*m:(i+1)*m], buf)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rmiaCount(rx, rz, gamma, false), nil
}

// RMIAOutSignals is Privacy Meter v2's get_rmia_out_signals: the reference-model selection of compat
// mode. signals and members are rows × m, row-major; members may be nil, meaning that every row is OUT
// for every model (as Privacy Meter passes for the population).
//
// The candidates are the models 0 … m−1 except target and its paired model (target+1 for even target,
// target−1 for odd), of which the first 2·numRef are kept; in every row the values of IN candidates are
// multiplied by 0, the row is sorted in descending order and its first numRef values are returned. The
// result is rows × width, width = min(numRef, number of kept candidates). With complementary model pairs
// a record is OUT for exactly one model of each pair, so its row holds its R OUT signals; a population
// row holds the R largest of its 2R values. The signals must be finite.
func RMIAOutSignals(signals []float64, members []bool, m, target, numRef int) (out []float64, width int, err error) {
	if m <= 0 || len(signals)%m != 0 {
		return nil, 0, fmt.Errorf("rmia out signals: %d signals do not form rows of %d models", len(signals), m)
	}
	if members != nil && len(members) != len(signals) {
		return nil, 0, fmt.Errorf("rmia out signals: %d memberships, want %d (one per signal)", len(members), len(signals))
	}
	if target < 0 || target >= m {
		return nil, 0, fmt.Errorf("rmia out signals: target model %d does not exist (there are %d models)", target, m)
	}
	if numRef <= 0 {
		return nil, 0, fmt.Errorf("rmia out signals: %d reference models requested, want at least 1", numRef)
	}
	for j, v := range signals {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, 0, fmt.Errorf("rmia out signals: row %d, model %d is %v", j/m, j%m, v)
		}
	}
	cols, err := compatColumns(m, target, nil, numRef)
	if err != nil {
		return nil, 0, err
	}
	width = min(numRef, len(cols))
	rows := len(signals) / m
	out = make([]float64, rows*width)
	buf := make([]float64, len(cols))
	for i := range rows {
		var mem []bool
		if members != nil {
			mem = members[i*m : (i+1)*m]
		}
		copy(out[i*width:(i+1)*width], compatTop(signals[i*m:(i+1)*m], mem, cols, width, buf))
	}
	return out, width, nil
}

// pairedModel returns Privacy Meter's paired model of t: t+1 for even t, t−1 for odd t.
func pairedModel(t int) int {
	if t%2 == 0 {
		return t + 1
	}
	return t - 1
}

// referencePool checks refs (nil: every model in index order) and returns it without target and without
// also (−1 for none). Indices must exist and appear once.
func referencePool(m, target int, refs []int, also int) ([]int, error) {
	if refs == nil {
		pool := make([]int, 0, m)
		for c := range m {
			if c != target && c != also {
				pool = append(pool, c)
			}
		}
		return pool, nil
	}
	seen := make([]bool, m)
	pool := make([]int, 0, len(refs))
	for k, c := range refs {
		if c < 0 || c >= m {
			return nil, fmt.Errorf("rmia: reference model %d (RefModels[%d]) does not exist (there are %d models)", c, k, m)
		}
		if seen[c] {
			return nil, fmt.Errorf("rmia: reference model %d appears twice in RefModels", c)
		}
		seen[c] = true
		if c != target && c != also {
			pool = append(pool, c)
		}
	}
	return pool, nil
}

// compatColumns returns Privacy Meter's candidate columns: the models in refs (nil: 0 … m−1) other than
// target and its paired model, of which the first 2r.
func compatColumns(m, target int, refs []int, r int) ([]int, error) {
	pool, err := referencePool(m, target, refs, pairedModel(target))
	if err != nil {
		return nil, err
	}
	if len(pool) == 0 {
		return nil, fmt.Errorf("rmia: no reference model: there are %d models and models %d (target) and %d (its pair) are excluded", m, target, pairedModel(target))
	}
	return pool[:min(2*r, len(pool))], nil
}

// compatTop returns the width largest of row[cols] after IN values (mem[c] true) are multiplied by 0, in
// descending order, as a sub-slice of buf (len(buf) == len(cols)). mem nil means every value is OUT.
//
// Only values matter: -0 and +0 may swap places, which changes the sign of a zero term only; that cannot
// change a nonzero sum, and a zero mean turns into +0 in Pr = c1·mean + c2.
func compatTop(row []float64, mem []bool, cols []int, width int, buf []float64) []float64 {
	// Fast path for the usual non-negative values: the zeroed IN values sort below every OUT value, so
	// sort the OUT values only and pad with zeros. The compaction is written without branches on the
	// memberships, which are unpredictable.
	for _, c := range cols {
		if !(row[c] >= 0) {
			return compatTopAll(row, mem, cols, width, buf)
		}
	}
	n := len(cols)
	if mem == nil {
		for j, c := range cols {
			buf[j] = row[c]
		}
	} else {
		n = 0
		for _, c := range cols {
			buf[n] = row[c]
			n += outIndicator(mem[c])
		}
	}
	sortDesc(buf[:n])
	for ; n < width; n++ {
		buf[n] = 0
	}
	return buf[:width]
}

// outIndicator returns 1 for an OUT value (in false) and 0 for an IN value.
func outIndicator(in bool) int {
	if in {
		return 0
	}
	return 1
}

// compatTopAll is compatTop for any values, as Privacy Meter computes it: multiply, sort, keep the top.
func compatTopAll(row []float64, mem []bool, cols []int, width int, buf []float64) []float64 {
	for j, c := range cols {
		out := 1.0
		if mem != nil && mem[c] {
			out = 0
		}
		buf[j] = row[c] * out
	}
	sortDesc(buf)
	return buf[:width]
}

// sortDesc sorts v (no NaN) in descending order: by insertion for the few values of a row (up to 64,
// where it measured faster than slices.Sort), else by slices.Sort.
func sortDesc(v []float64) {
	switch {
	case len(v) == 2:
		v[0], v[1] = max(v[0], v[1]), min(v[0], v[1])
		return
	case len(v) == 3:
		a, b := max(v[0], v[1]), min(v[0], v[1])
		v[0], v[1], v[2] = max(a, v[2]), max(b, min(a, v[2])), min(b, v[2])
		return
	case len(v) > 64:
		slices.Sort(v)
		slices.Reverse(v)
		return
	}
	for i := 1; i < len(v); i++ {
		x := v[i]
		j := i
		for ; j > 0 && v[j-1] < x; j-- {
			v[j] = v[j-1]
		}
		v[j] = x
	}
}
