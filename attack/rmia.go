package attack

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"

	"github.com/pmeter/pmeter/internal/numpysum"
	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/signal"
)

// RMIAConfig configures RMIA. The zero value is offline RMIA with a = 0, γ = 1 and every other model
// as a reference.
type RMIAConfig struct {
	// NumRef is R, the number of reference models used per record; 0 means all available.
	//
	// Offline (default mode): Pr_OUT(x) is the mean over the first R reference models (in RefModels order)
	// for which record x is OUT, and Pr_OUT(z) over the first R reference models. Online: Pr(x) and Pr(z)
	// are means over the first R reference models, whatever x's membership in them.
	//
	// Compat: R as Privacy Meter's num_reference_models (see RMIAOutSignals); 0 means every complete pair
	// of candidate models, len(candidates)/2 (at least 1).
	NumRef int

	// Online selects the online attack: Pr(x) is the mean of Pr(x|θ) over reference models that include x
	// (IN) and models that do not (OUT), as in the paper; OfflineA is then ignored. Not with Compat.
	Online bool

	// OfflineA is a in [0, 1]: offline, Pr_IN(x) is approximated by a·Pr_OUT(x) + 1 − a, so that
	// Pr(x) = ½(Pr_IN(x) + Pr_OUT(x)) = ((1+a)·Pr_OUT(x) + 1 − a)/2, the paper's offline approximation.
	// Both modes evaluate it in Privacy Meter's order, (1+a)/2·Pr_OUT(x) + (1−a)/2. a = 1 gives
	// Pr(x) = Pr_OUT(x). TuneOfflineA chooses it.
	OfflineA float64

	// Gamma is γ > 0; 0 means 1 (Privacy Meter's fixed value). score(x) is the fraction of population
	// records z with LR(x, z) > γ, strictly.
	Gamma float64

	// RefModels lists the models that may serve as references, in order of preference. nil means every
	// model but the target in index order; in Compat mode the target's paired model is removed as well
	// (from the list or from the default).
	RefModels []int

	// Compat reproduces Privacy Meter v2 attacks.py (run_rmia, get_rmia_out_signals, tune_offline_a at
	// commit e384af8) to the last bit. The differences from the default mode are listed on RMIA.
	Compat bool
}

// RMIA returns the RMIA membership score of every record against target model target: one value per
// record in [0, 1], higher = more likely a member.
//
// RMIA is the relative membership inference attack of Zarifzadeh, Liu and Shokri, "Low-Cost High-Power
// Membership Inference Attacks", ICML 2024 (arXiv 2312.03262): its likelihood ratio LR_θ(x, z) and score
// Score_MIA(x; θ). With Pr(x|θ) the probability of the true label of x under model θ (Data.Kind is
// converted to signal.ProbTrue), the pairwise likelihood ratio of record x against a population record z is
//
//	LR(x, z) = (Pr(x|θ_target) / Pr(x)) / (Pr(z|θ_target) / Pr(z)),
//
// with Pr(·) the marginal over reference models (see RMIAConfig for online and offline), and
//
//	score(x) = #{z in population : LR(x, z) > γ} / Z,
//
// with a strict > as in Privacy Meter and the paper's code (the paper writes ≥).
//
// LR is computed as the float64 quotient ratio_x/ratio_z compared with γ, exactly as Privacy Meter does,
// but without the records × population matrix: the population ratios are sorted once and every record's
// count is a search among them, which is exact because a float64 quotient a/b is monotone in b for fixed a
// (see ratioSet.count). Time O(N·M + (N+Z)·log Z), memory O(N + Z) besides the input (rows are processed in
// parallel on GOMAXPROCS goroutines; the result does not depend on their number). Zero and non-finite
// ratios count as numpy counts them: ratio_z = 0 is beaten by every positive ratio_x (the quotient is
// +Inf), while 0/0 and anything involving NaN is never counted.
//
// Default mode (Compat false):
//   - references are RefModels (nil: every model but the target), and no pairing of models is assumed;
//   - offline, Pr_OUT(x) is the mean over the first R references for which x is OUT; an error is returned
//     if some record has fewer than R (at least one when R = 0 means "all");
//   - Pr_OUT(z) is the mean over the same first R references (a population record is OUT everywhere);
//   - online mode and γ are supported.
//
// Compat mode (Privacy Meter v2, attacks.py run_rmia) differs in these ways:
//   - the target's paired model (t+1 for even t, t−1 for odd t) is never a reference, and only the first
//     2R remaining models are candidates (RMIAOutSignals);
//   - Pr_OUT(x) is the mean of the R largest candidate values after the IN values are set to 0. With
//     Privacy Meter's complementary model pairs this is the mean over the R OUT models; when fewer than
//     2R candidates exist, zeros enter the mean (documented quirk, vectors rmia_few_models);
//   - Pr_OUT(z) is the mean of the R largest of the 2R candidate values (all OUT), which biases Pr(z)
//     upward instead of averaging the same references as for x;
//   - sums follow numpy's order (descending values, pairwise summation) so that scores agree to the bit;
//   - offline only; Privacy Meter's γ is 1.
//
// Errors: shapes or signal values that Data.Validate rejects (labels and full probability vectors, which
// RMIA does not read, are not checked), more than one query per record, no population, a target or a
// reference model out of range, too few reference models, a outside [0, 1], γ not positive and finite.
func RMIA(d *Data, target int, cfg RMIAConfig) ([]float64, error) {
	if err := checkRMIAData(d, target); err != nil {
		return nil, err
	}
	p, err := newRMIAPlan(d, target, cfg)
	if err != nil {
		return nil, err
	}
	return p.scores(d)
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

// TuneOfflineA chooses the offline coefficient a of RMIA by attacking a model whose memberships are known
// with the other references, for every a in grid (nil or empty: OfflineAGrid(0.1)), and returning the a of
// highest AUC (the first one on ties, and only an AUC above 0 counts) together with the AUC of every a
// (metric.ROC with dropped intermediate points and metric.AUC, as Privacy Meter computes it).
//
// Compat mode is Privacy Meter v2 tune_offline_a: the attacked model is the target's paired model
// (target±1), attacked with cfg and R = 1 (the first pair of models other than the target's), against
// that model's memberships. In default mode the attacked model is the first reference model (RefModels[0],
// or the lowest index other than the target), attacked as cfg says with the remaining references; the
// target itself never serves.
//
// The attacked model needs members and non-members. cfg.OfflineA is ignored; cfg.Online is an error.
func TuneOfflineA(d *Data, target int, grid []float64, cfg RMIAConfig) (best float64, aucs []float64, err error) {
	if err := checkRMIAData(d, target); err != nil {
		return 0, nil, err
	}
	if cfg.Online {
		return 0, nil, errors.New("rmia: tuning offline a: the online attack has no a")
	}
	if len(grid) == 0 {
		grid = OfflineAGrid(0.1)
	}
	pseudo := -1
	tune := cfg
	if cfg.Compat {
		pseudo = pairedModel(target)
		if pseudo >= d.M {
			return 0, nil, fmt.Errorf("rmia: tuning offline a: target model %d has no paired model (there are %d models)", target, d.M)
		}
		tune.NumRef = 1
	} else {
		pool, err := referencePool(d.M, target, cfg.RefModels, -1)
		if err != nil {
			return 0, nil, err
		}
		if len(pool) < 2 {
			return 0, nil, fmt.Errorf("rmia: tuning offline a needs at least 2 reference models (one to attack, one to attack it with); there are %d", len(pool))
		}
		pseudo = pool[0]
		tune.RefModels = pool[1:]
	}
	if err := d.CheckTarget(pseudo); err != nil {
		return 0, nil, fmt.Errorf("rmia: tuning offline a on model %d: %w", pseudo, err)
	}
	members := d.TargetMembers(pseudo)
	aucs = make([]float64, len(grid))
	bestAUC := 0.0
	found := false
	for k, a := range grid {
		tune.OfflineA = a
		p, err := newRMIAPlan(d, pseudo, tune)
		if err != nil {
			return 0, nil, fmt.Errorf("rmia: tuning offline a on model %d: %w", pseudo, err)
		}
		scores, err := p.scores(d)
		if err != nil {
			return 0, nil, fmt.Errorf("rmia: tuning offline a on model %d: %w", pseudo, err)
		}
		aucs[k] = metric.AUC(metric.ROC(scores, members, true))
		if aucs[k] > bestAUC {
			bestAUC, best, found = aucs[k], a, true
		}
	}
	if !found {
		return 0, aucs, fmt.Errorf("rmia: tuning offline a on model %d: no a in the grid gives an AUC above 0", pseudo)
	}
	return best, aucs, nil
}

// MinOfflineAStep is the finest grid step OfflineAGrid takes: 10,001 values of a.
const MinOfflineAStep = 1e-4

// OfflineAGrid returns the candidate values of a that Privacy Meter tries, numpy.arange(0, 1+step, step)
// without the values above 1: element i is the float64 product i*step, as numpy computes it, so that
// OfflineAGrid(0.1) holds 0.30000000000000004 and 0.6000000000000001 exactly like Privacy Meter's grid.
// It returns nil unless step is finite and at least MinOfflineAStep (a smaller step would ask for more
// than 10,001 values, and one of 1e-300 for more than fit in memory).
func OfflineAGrid(step float64) []float64 {
	if !(step >= MinOfflineAStep) || math.IsInf(step, 0) {
		return nil
	}
	n := int(math.Ceil((1 + step) / step))
	grid := make([]float64, 0, n)
	for i := range n {
		if a := float64(i) * step; a <= 1 {
			grid = append(grid, a)
		}
	}
	return grid
}

// checkRMIAData validates the input common to RMIA and TuneOfflineA: the shapes of what RMIA reads (the
// values are checked as the rows are read, see rmiaPlan.scores), the target and the signal kind.
func checkRMIAData(d *Data, target int) error {
	if d == nil {
		return errors.New("rmia: no data")
	}
	switch {
	case d.N <= 0 || d.M <= 0 || d.Q <= 0:
		return fmt.Errorf("rmia: signals have shape %d records × %d models × %d queries; every dimension must be positive", d.N, d.M, d.Q)
	case len(d.Signals) != d.N*d.M*d.Q:
		return fmt.Errorf("rmia: signals: %d values, want %d (%d records × %d models × %d queries)", len(d.Signals), d.N*d.M*d.Q, d.N, d.M, d.Q)
	case len(d.Members) != d.N*d.M:
		return fmt.Errorf("rmia: memberships: %d values, want %d (%d records × %d models)", len(d.Members), d.N*d.M, d.N, d.M)
	case d.Q != 1:
		return fmt.Errorf("rmia: signals have %d queries per record; RMIA takes one (select or average the queries first)", d.Q)
	case d.Z <= 0:
		return errors.New("rmia: no population records; RMIA compares every record with records that no model trained on")
	case len(d.Population) != d.Z*d.M*d.Q:
		return fmt.Errorf("rmia: population signals: %d values, want %d (%d records × %d models × %d queries)", len(d.Population), d.Z*d.M*d.Q, d.Z, d.M, d.Q)
	case target < 0 || target >= d.M:
		return fmt.Errorf("rmia: target model %d does not exist (there are %d models, 0 to %d)", target, d.M, d.M-1)
	case !signal.Convertible(d.Kind, signal.ProbTrue):
		return fmt.Errorf("rmia: signals of kind %q cannot be turned into p(true label), which RMIA needs", d.Kind)
	}
	return nil
}

// rmiaPlan is a validated configuration for one target model.
type rmiaPlan struct {
	target  int
	compat  bool
	online  bool
	refs    []int   // compat: the kept candidate columns; default: the reference pool in order
	popRefs []int   // default mode: the references averaged for a population record
	numRef  int     // compat: top-R width; default: R, 0 meaning all
	c1, c2  float64 // offline: Pr = c1·Pr_OUT + c2, c1 = (1+a)/2, c2 = (1−a)/2
	gamma   float64
	kind    signal.Kind
}

func newRMIAPlan(d *Data, target int, cfg RMIAConfig) (*rmiaPlan, error) {
	p := &rmiaPlan{target: target, compat: cfg.Compat, online: cfg.Online, kind: d.Kind, gamma: cfg.Gamma}
	if p.gamma == 0 {
		p.gamma = 1
	}
	if !(p.gamma > 0) || math.IsInf(p.gamma, 0) {
		return nil, fmt.Errorf("rmia: gamma = %v, want a positive finite number (0 means 1)", cfg.Gamma)
	}
	if cfg.NumRef < 0 {
		return nil, fmt.Errorf("rmia: %d reference models requested; want a count >= 0 (0 means all)", cfg.NumRef)
	}
	if !cfg.Online && !(cfg.OfflineA >= 0 && cfg.OfflineA <= 1) {
		return nil, fmt.Errorf("rmia: offline a = %v, want a value in [0, 1]", cfg.OfflineA)
	}
	a := cfg.OfflineA
	p.c1, p.c2 = (1+a)/2, (1-a)/2

	if cfg.Compat {
		if cfg.Online {
			return nil, errors.New("rmia: Privacy Meter compat mode has no online attack")
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
		p.refs, p.numRef = cols, min(r, len(cols))
		return p, nil
	}

	pool, err := referencePool(d.M, target, cfg.RefModels, -1)
	if err != nil {
		return nil, err
	}
	if len(pool) == 0 {
		return nil, fmt.Errorf("rmia: no reference model: there are %d models and model %d is the target", d.M, target)
	}
	if cfg.NumRef > len(pool) {
		return nil, fmt.Errorf("rmia: %d reference models requested, but only %d models other than the target are available", cfg.NumRef, len(pool))
	}
	p.refs, p.numRef = pool, cfg.NumRef
	p.popRefs = pool
	if cfg.NumRef > 0 {
		p.popRefs = pool[:cfg.NumRef]
	}
	return p, nil
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

// marginal returns Pr(·) from a mean of reference probabilities. The explicit conversion keeps the
// product rounded on its own (no fused multiply-add), as numpy computes it.
func (p *rmiaPlan) marginal(mean float64) float64 {
	if p.online {
		return mean
	}
	return float64(p.c1*mean) + p.c2
}

// rowWorker holds one goroutine's scratch space.
type rowWorker struct {
	conv []float64 // a row converted to p(true label), when Data.Kind is not ProbTrue
	buf  []float64 // compat candidates
}

// probRow checks the values of one row (M signals of record or population record i; name says which
// array) as Data.Validate does and returns them as p(true label).
func (p *rmiaPlan) probRow(w *rowWorker, name string, all []float64, i, m int) ([]float64, error) {
	row := all[i*m : (i+1)*m]
	if p.kind == signal.ProbTrue {
		// The fast path of checkValues: NaN, ±Inf and values outside [0, 1] all fail.
		for _, v := range row {
			if !(v >= 0 && v <= 1) {
				return nil, fmt.Errorf("rmia: %w", checkValues(name, all, p.kind, m))
			}
		}
		return row, nil
	}
	if err := checkValues(name, row, p.kind, m); err != nil {
		// Report the first bad value of the whole array, with its record index.
		return nil, fmt.Errorf("rmia: %w", checkValues(name, all, p.kind, m))
	}
	copy(w.conv, row)
	if err := signal.Convert(w.conv, p.kind, signal.ProbTrue); err != nil {
		return nil, fmt.Errorf("rmia: %s of record %d: %w", name, i, err)
	}
	return w.conv, nil
}

// ratioX returns Pr(x|θ_target)/Pr(x) for record row (M values) with memberships mem (M values), i its index.
func (p *rmiaPlan) ratioX(w *rowWorker, i int, row []float64, mem []bool) (float64, error) {
	if p.compat {
		top := compatTop(row, mem, p.refs, p.numRef, w.buf)
		return row[p.target] / p.marginal(numpysum.Sum(top)/float64(p.numRef)), nil
	}
	sum, k := 0.0, 0
	if p.online {
		for _, c := range p.popRefs {
			sum += row[c]
		}
		k = len(p.popRefs)
	} else {
		// The first numRef OUT references (all if 0), without branches on the memberships: a skipped
		// value is multiplied by 0 and adding +0 leaves the sum unchanged (values are finite and >= 0).
		limit := p.numRef
		if limit == 0 {
			limit = len(p.refs)
		}
		for _, c := range p.refs {
			take := outIndicator(mem[c]) & outIndicator(k >= limit)
			sum += row[c] * float64(take)
			k += take
		}
	}
	if k == 0 || k < p.numRef {
		want := "at least one"
		if p.numRef > 0 {
			want = fmt.Sprint(p.numRef)
		}
		return 0, fmt.Errorf("rmia: record %d is OUT for %d of the %d reference models; offline RMIA needs %s", i, k, len(p.refs), want)
	}
	return row[p.target] / p.marginal(sum/float64(k)), nil
}

// ratioZ returns Pr(z|θ_target)/Pr(z) for population row (M values).
func (p *rmiaPlan) ratioZ(w *rowWorker, row []float64) float64 {
	if p.compat {
		top := compatTop(row, nil, p.refs, p.numRef, w.buf)
		return row[p.target] / p.marginal(numpysum.Sum(top)/float64(p.numRef))
	}
	sum := 0.0
	for _, c := range p.popRefs {
		sum += row[c]
	}
	return row[p.target] / p.marginal(sum/float64(len(p.popRefs)))
}

// scores computes the ratios of records and population and counts, for every record, the population
// ratios it beats by more than γ.
func (p *rmiaPlan) scores(d *Data) ([]float64, error) {
	m := d.M
	newWorker := func() *rowWorker {
		return &rowWorker{conv: make([]float64, m), buf: make([]float64, len(p.refs))}
	}
	rz := make([]float64, d.Z)
	err := parallelRows(d.Z, func(lo, hi int) error {
		w := newWorker()
		for z := lo; z < hi; z++ {
			row, err := p.probRow(w, "population signals", d.Population, z, m)
			if err != nil {
				return err
			}
			rz[z] = p.ratioZ(w, row)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sorted := sortRatios(rz)

	out := make([]float64, d.N)
	err = parallelRows(d.N, func(lo, hi int) error {
		w := newWorker()
		for i := lo; i < hi; i++ {
			row, err := p.probRow(w, "signals", d.Signals, i, m)
			if err != nil {
				return err
			}
			if out[i], err = p.ratioX(w, i, row, d.Members[i*m:(i+1)*m]); err != nil {
				return err
			}
		}
		// Counting in a loop of its own keeps many independent searches in flight.
		for i := lo; i < hi; i++ {
			out[i] = float64(sorted.count(out[i], p.gamma)) / float64(d.Z)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ratioSet is a sorted set of population ratios for counting.
type ratioSet struct {
	v        []float64 // non-NaN ratios in the total order −Inf < … < −0 < +0 < … < +Inf
	posStart int       // index of the first value without sign bit (+0 or positive)

	// An index over the bit patterns of the non-negative values pos = v[posStart:], whose order is that of
	// the values: value x lies in bucket (bits(x)>>shift) − base. The buckets cover the central values
	// (from pos[len/128] to pos[len−1−len/128]), about two buckets per value, so that outliers such as
	// 1e-12 do not stretch them; start[b] is the index of the first value of pos in bucket b or above, and
	// start[len(start)−1] that of the first value above the last bucket.
	base  uint64
	shift uint
	start []int32
}

// sortRatios sorts r in place (NaNs are dropped: no quotient with NaN exceeds γ) and returns the set.
// len(r) must be below 2³¹.
func sortRatios(r []float64) ratioSet {
	keys := make([]uint64, 0, len(r))
	for _, v := range r {
		if !math.IsNaN(v) {
			keys = append(keys, orderKey(v))
		}
	}
	radixSort(keys)
	v := r[:len(keys)]
	for j, k := range keys {
		v[j] = fromOrderKey(k)
	}
	s := ratioSet{v: v}
	s.posStart = sort.Search(len(v), func(j int) bool { return !math.Signbit(v[j]) })
	pos := v[s.posStart:]
	if len(pos) == 0 {
		return s
	}
	tail := len(pos) / 128
	lo, hi := math.Float64bits(pos[tail]), math.Float64bits(pos[len(pos)-1-tail])
	for (hi>>s.shift)-(lo>>s.shift) >= uint64(2*len(pos)) {
		s.shift++
	}
	s.base = lo >> s.shift
	nb := int((hi>>s.shift)-s.base) + 1
	s.start = make([]int32, nb+1)
	j := sort.Search(len(pos), func(j int) bool { return math.Float64bits(pos[j])>>s.shift >= s.base })
	for b := range nb + 1 {
		for j < len(pos) && (math.Float64bits(pos[j])>>s.shift)-s.base < uint64(b) {
			j++
		}
		s.start[b] = int32(j)
	}
	return s
}

// radixSort sorts keys in ascending order: least significant digit first, 11 bits per pass, skipping the
// passes whose digit is the same in every key (such as most exponent bits of similar ratios).
func radixSort(keys []uint64) {
	if len(keys) < 256 {
		slices.Sort(keys)
		return
	}
	const bits = 11
	tmp := make([]uint64, len(keys))
	src, dst := keys, tmp
	var count [1 << bits]int
	for shift := uint(0); shift < 64; shift += bits {
		clear(count[:])
		for _, k := range src {
			count[(k>>shift)&(1<<bits-1)]++
		}
		if count[(src[0]>>shift)&(1<<bits-1)] == len(src) {
			continue
		}
		sum := 0
		for d, c := range count {
			count[d] = sum
			sum += c
		}
		for _, k := range src {
			d := (k >> shift) & (1<<bits - 1)
			dst[count[d]] = k
			count[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
}

// lowerPos returns the first index j of pos = v[posStart:] with pos[j] >= t, for t >= 0 (not NaN).
func (s ratioSet) lowerPos(t float64) int {
	pos := s.v[s.posStart:]
	nb := uint64(len(s.start) - 1)
	var lo, hi int
	switch k := math.Float64bits(t) >> s.shift; {
	case len(pos) == 0:
		return 0
	case k < s.base: // below the first bucket
		lo, hi = 0, int(s.start[0])
	case k-s.base >= nb: // above the last bucket
		lo, hi = int(s.start[nb]), len(pos)
	default: // every value before start[b] is below t and every value from start[b+1] above it
		b := k - s.base
		lo, hi = int(s.start[b]), int(s.start[b+1])
	}
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if pos[mid] < t {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// orderKey maps a non-NaN float64 to an unsigned integer in the same order, with −0 just below +0.
func orderKey(v float64) uint64 {
	b := math.Float64bits(v)
	if b>>63 != 0 {
		return ^b
	}
	return b | 1<<63
}

func fromOrderKey(k uint64) float64 {
	if k>>63 != 0 {
		return math.Float64frombits(k &^ (1 << 63))
	}
	return math.Float64frombits(^k)
}

// count returns #{z : rx/z > gamma} computed with float64 quotients, for gamma > 0 and finite.
//
// For fixed rx the rounded quotient rx/z is monotone in z on each side of zero, because the exact quotient
// is and rounding to nearest is monotone (overflow to ±Inf and underflow included). So the z that count
// form one run of the sorted values:
//   - rx > 0 (+Inf included): the z from +0 (rx/+0 = +Inf) up to the last z with rx/z > γ; negative z and
//     −0 give negative quotients, +Inf gives 0 or NaN;
//   - rx < 0: symmetrically, the z from the first with rx/z > γ up to −0;
//   - rx = ±0 or NaN: none (0/z is 0 or NaN).
//
// The end of the run is found by evaluating the quotient itself, never rx > γ·z, so the result is that of
// the quotient comparison bit for bit.
func (s ratioSet) count(rx, gamma float64) int {
	switch {
	case rx > 0:
		return s.countPos(rx, gamma)
	case rx < 0:
		neg := s.v[:s.posStart]
		return len(neg) - sort.Search(len(neg), func(j int) bool { return rx/neg[j] > gamma })
	}
	return 0
}

// countPos is count for rx > 0: the length of the prefix of v[posStart:] where rx/z > gamma. The search
// starts at the position of rx/γ, found through the bucket index, which is at most a few values off; from
// there it gallops (doubling steps) and bisects, testing only the quotient.
func (s ratioSet) countPos(rx, gamma float64) int {
	pos := s.v[s.posStart:]
	n := len(pos)
	k := s.lowerPos(rx / gamma)
	if k < n && rx/pos[k] > gamma {
		// The prefix ends above k: gallop up while the quotient beats γ, then bisect (k, k+step].
		step := 1
		for k+step < n && rx/pos[k+step] > gamma {
			k += step
			step *= 2
		}
		lo, hi := k+1, min(k+step, n)
		for lo < hi {
			mid := int(uint(lo+hi) >> 1)
			if rx/pos[mid] > gamma {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		return lo
	}
	// The prefix ends at k or below (k == n or pos[k] fails): gallop down while it fails, then bisect.
	step := 1
	for k-step >= 0 && !(rx/pos[k-step] > gamma) {
		k -= step
		step *= 2
	}
	lo, hi := max(k-step+1, 0), k
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if rx/pos[mid] > gamma {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// parallelRows calls f on consecutive blocks [lo, hi) covering [0, n), on up to GOMAXPROCS goroutines,
// and returns the error of the lowest failing block.
func parallelRows(n int, f func(lo, hi int) error) error {
	const block = 4096
	workers := min(runtime.GOMAXPROCS(0), (n+block-1)/block)
	if workers <= 1 {
		return f(0, n)
	}
	nblocks := (n + block - 1) / block
	errs := make([]error, nblocks)
	next := make(chan int, nblocks)
	for b := range nblocks {
		next <- b
	}
	close(next)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range next {
				errs[b] = f(b*block, min((b+1)*block, n))
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
