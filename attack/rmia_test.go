package attack

import (
	"fmt"
	"github.com/pmeter/pmeter/internal/numpysum"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/pmeter/pmeter/internal/vectortest"
	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/signal"
)

// loadRMIAData builds the attack input of a Privacy Meter RMIA case: all_signals and all_memberships are
// N × M (samples × models) and population_signals Z × M, exactly Data's layout with Q = 1.
func loadRMIAData(t *testing.T, c *vectortest.Case) *Data {
	t.Helper()
	x := c.Array(t, "all_signals")
	pop := c.Array(t, "population_signals")
	d := &Data{
		N: x.Shape[0], M: x.Shape[1], Q: 1, Kind: signal.ProbTrue,
		Signals: x.Float64s(), Members: c.Bools(t, "all_memberships"),
		Z: pop.Shape[0], Population: pop.Float64s(),
	}
	if d.N != c.Int(t, "N") || d.M != c.Int(t, "M") || d.Z != c.Int(t, "Z") {
		t.Fatalf("%s: shapes %d×%d, population %d, disagree with params", c.Name, d.N, d.M, d.Z)
	}
	return d
}

// TestRMIAVectors runs every Privacy Meter v2 RMIA case (rmia_loss, a different attack, excepted).
func TestRMIAVectors(t *testing.T) {
	for _, name := range vectortest.Cases(t, "rmia_") {
		c := vectortest.Load(t, name)
		switch {
		case c.Params["num_reference_models_list"] != nil:
			t.Run(name, func(t *testing.T) { testRMIAGrid(t, c) })
		case c.Params["num_reference_models_tuning"] != nil:
			t.Run(name, func(t *testing.T) { testRMIATune(t, c) })
		case name == "rmia_loss":
			// The LOSS attack; tested with it.
		default:
			t.Errorf("%s: unrecognised RMIA case (no reference-model parameters)", name)
		}
	}
}

func testRMIAGrid(t *testing.T, c *vectortest.Case) {
	d := loadRMIAData(t, c)
	target := c.Int(t, "target_model_idx")
	if got, want := pairedModel(target), c.Int(t, "paired_model_idx"); got != want {
		t.Errorf("paired model of %d = %d, want %d", target, got, want)
	}
	cands, err := referencePool(d.M, target, nil, pairedModel(target))
	if err != nil {
		t.Fatal(err)
	}
	want := c.Floats(t, "candidate_reference_columns")
	if len(cands) != len(want) {
		t.Errorf("candidate columns %v, want %v", cands, want)
	}
	for k := range min(len(cands), len(want)) {
		if float64(cands[k]) != want[k] {
			t.Errorf("candidate columns %v, want %v", cands, want)
			break
		}
	}

	rs := c.Floats(t, "num_reference_models_list")
	as := c.Floats(t, "offline_a_list")
	var scores, auc, one, tenth, zero []float64
	members := d.TargetMembers(target)
	for _, rf := range rs {
		r := int(rf)
		for _, a := range as {
			s, err := RMIA(d, target, RMIAConfig{NumRef: r, OfflineA: a, Compat: CompatPrivacyMeter})
			if err != nil {
				t.Fatalf("R=%d a=%v: %v", r, a, err)
			}
			scores = append(scores, s...)
			curve := metric.ROC(s, members, true)
			auc = append(auc, metric.AUC(curve))
			one = append(one, metric.TPRAtFPR(curve, 0.01))
			tenth = append(tenth, metric.TPRAtFPR(curve, 0.001))
			zero = append(zero, metric.TPRAtFPR(curve, 0))
		}

		x, w, err := RMIAOutSignals(d.Signals, d.Members, d.M, target, r)
		if err != nil {
			t.Fatal(err)
		}
		c.Check(t, fmt.Sprintf("out_signals_x_R%d", r), x, d.N, w)
		z, w, err := RMIAOutSignals(d.Population, nil, d.M, target, r)
		if err != nil {
			t.Fatal(err)
		}
		c.Check(t, fmt.Sprintf("out_signals_z_R%d", r), z, d.Z, w)
	}
	c.Check(t, "scores", scores, len(rs), len(as), d.N)
	c.Check(t, "auc", auc, len(rs), len(as))
	c.Check(t, "one_fpr", one, len(rs), len(as))
	c.Check(t, "one_tenth_fpr", tenth, len(rs), len(as))
	c.Check(t, "zero_fpr", zero, len(rs), len(as))
}

func testRMIATune(t *testing.T, c *vectortest.Case) {
	d := loadRMIAData(t, c)
	target := c.Int(t, "target_model_idx")
	paired := c.Int(t, "paired_model_idx")
	if pairedModel(target) != paired {
		t.Errorf("paired model of %d = %d, want %d", target, pairedModel(target), paired)
	}
	if r := c.Int(t, "num_reference_models_tuning"); r != 1 {
		t.Fatalf("tuning with %d reference models; Privacy Meter's tune_offline_a (and compat mode) uses 1", r)
	}
	grid := OfflineAGrid(0.1)
	c.Check(t, "a_grid", grid, len(grid))

	cfg := RMIAConfig{NumRef: c.Int(t, "num_reference_models_final"), Compat: CompatPrivacyMeter}
	best, aucs, err := TuneOfflineA(d, target, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Check(t, "auc_per_a", aucs, len(grid))
	c.Check(t, "best_offline_a", []float64{best}, 1)

	bestScores, err := RMIA(d, paired, RMIAConfig{NumRef: 1, OfflineA: best, Compat: CompatPrivacyMeter})
	if err != nil {
		t.Fatal(err)
	}
	c.Check(t, "best_scores", bestScores, d.N)
	c.CheckBool(t, "best_memberships", d.TargetMembers(paired))
	c.Check(t, "best_auc", []float64{metric.AUC(metric.ROC(bestScores, d.TargetMembers(paired), true))}, 1)

	cfg.OfflineA = best
	final, err := RMIA(d, target, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Check(t, "final_scores", final, d.N)
	curve := metric.ROC(final, d.TargetMembers(target), true)
	c.Check(t, "final_auc", []float64{metric.AUC(curve)}, 1)
	c.Check(t, "final_one_tenth_fpr", []float64{metric.TPRAtFPR(curve, 0.001)}, 1)
	c.Check(t, "final_zero_fpr", []float64{metric.TPRAtFPR(curve, 0)}, 1)
}

// bruteCount is the definition: the number of z with the float64 quotient rx/z above gamma.
func bruteCount(rx float64, rz []float64, gamma float64) int {
	n := 0
	for _, z := range rz {
		if rx/z > gamma {
			n++
		}
	}
	return n
}

// adversarialRatios returns values around the hard cases of the quotient comparison: ties, neighbours
// 1 ulp apart, ±0, ±Inf, NaN, subnormals, and values whose quotients overflow or underflow.
func adversarialRatios(rng *rand.Rand) []float64 {
	base := []float64{
		0, math.Copysign(0, -1), 1, -1, 2, 0.5, 3, 1.0 / 3, 0.1, 0.7, 1e-300, 1e300, math.MaxFloat64,
		math.SmallestNonzeroFloat64, 2.2250738585072014e-308, math.Inf(1), math.Inf(-1), math.NaN(),
		-0.25, -7, -1e-310,
	}
	var v []float64
	for _, b := range base {
		v = append(v, b, b)
		if !math.IsNaN(b) && !math.IsInf(b, 0) {
			v = append(v, math.Nextafter(b, math.Inf(1)), math.Nextafter(b, math.Inf(-1)))
		}
	}
	for range 40 {
		x := rng.Float64()
		v = append(v, x, x, math.Nextafter(x, 2), x/3, x*3)
	}
	rng.Shuffle(len(v), func(i, j int) { v[i], v[j] = v[j], v[i] })
	return v
}

// TestRatioCountMatchesQuotient checks the sort-and-search count against the quotient comparison of every
// pair, on random and adversarial inputs, for several γ.
func TestRatioCountMatchesQuotient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	gammas := []float64{1, 2, 0.5, math.Nextafter(1, 2), math.Nextafter(1, 0), 1e-300, 1e300, 3}
	inputs := map[string]func() (rx, rz []float64){
		"random": func() ([]float64, []float64) {
			rx, rz := make([]float64, 300), make([]float64, 200)
			for i := range rx {
				rx[i] = rng.ExpFloat64()
			}
			for i := range rz {
				rz[i] = rng.ExpFloat64()
			}
			return rx, rz
		},
		"rounded ties": func() ([]float64, []float64) {
			rx, rz := make([]float64, 300), make([]float64, 200)
			for i := range rx {
				rx[i] = math.Round(rng.Float64()*20) / 10
			}
			for i := range rz {
				rz[i] = math.Round(rng.Float64()*20) / 10
			}
			return rx, rz
		},
		"adversarial": func() ([]float64, []float64) {
			rz := adversarialRatios(rng)
			rx := slices.Clone(rz)
			for _, v := range rz {
				rx = append(rx, math.Nextafter(v, math.Inf(1)), math.Nextafter(v, math.Inf(-1)), v*2, v/2)
			}
			return rx, rz
		},
	}
	for name, gen := range inputs {
		for trial := range 5 {
			rx, rz := gen()
			want := make([][]int, len(gammas))
			for g, gamma := range gammas {
				for _, x := range rx {
					want[g] = append(want[g], bruteCount(x, rz, gamma))
				}
			}
			set := sortRatios(slices.Clone(rz))
			for g, gamma := range gammas {
				for i, x := range rx {
					if got := set.count(x, gamma); got != want[g][i] {
						t.Errorf("%s #%d: gamma %v, rx %v: count %d, quotient comparison %d", name, trial, gamma, x, got, want[g][i])
					}
				}
			}
		}
	}
}

// TestOrderKey checks that the key order is the total order −Inf < … < −0 < +0 < … < +Inf and round-trips.
func TestOrderKey(t *testing.T) {
	v := []float64{math.Inf(-1), -math.MaxFloat64, -1, -math.SmallestNonzeroFloat64, math.Copysign(0, -1), 0,
		math.SmallestNonzeroFloat64, 1, math.MaxFloat64, math.Inf(1)}
	for i := range v {
		if back := fromOrderKey(orderKey(v[i])); math.Float64bits(back) != math.Float64bits(v[i]) {
			t.Errorf("round trip of %v gives %v", v[i], back)
		}
		if i > 0 && orderKey(v[i-1]) >= orderKey(v[i]) {
			t.Errorf("key(%v) >= key(%v)", v[i-1], v[i])
		}
	}
}

// TestNumpySum checks the summation order of Privacy Meter's mean over R reference values. Expected values
// come from NumPy 1.24.2 (the vectors' version):
//
//	x = np.array([[((k*37) % 23 + 1) / 29.0 for k in range(40)]])
//	np.mean(-np.sort(-x[:, :2*R], axis=1)[:, :R], axis=1)
//
// For R = 9 and 20 the pairwise order differs from a left-to-right sum in the last bit.
func TestNumpySum(t *testing.T) {
	want := map[int]float64{7: 0.6059113300492612, 8: 0.5862068965517242, 9: 0.5900383141762452,
		16: 0.6077586206896552, 17: 0.5963488843813388, 20: 0.606896551724138}
	row := make([]float64, 40)
	cols := make([]int, 40)
	for k := range row {
		row[k] = float64((k*37)%23+1) / 29.0
		cols[k] = k
	}
	for r, w := range want {
		top := compatTop(row, nil, cols[:2*r], r, make([]float64, 2*r))
		if got := numpysum.Sum(top) / float64(r); got != w {
			t.Errorf("R=%d: mean %.17g, numpy %.17g", r, got, w)
		}
	}
}

// makeRMIAData returns synthetic data: m models in complementary pairs (model 2k+1 trains on exactly the
// records model 2k does not), p(true label) higher for members, some values rounded (ties) and some exactly
// 1 or 1e-12, as in the vectors.
func makeRMIAData(rng *rand.Rand, n, z, m int) *Data {
	d := &Data{N: n, M: m, Q: 1, Kind: signal.ProbTrue, Z: z,
		Signals: make([]float64, n*m), Members: make([]bool, n*m), Population: make([]float64, z*m)}
	sample := func(member bool) float64 {
		mu := 1.0
		if member {
			mu = 1.8
		}
		p := 1 / (1 + math.Exp(-(mu + rng.NormFloat64())))
		switch u := rng.Float64(); {
		case u < 0.05:
			p = math.Round(p*1000) / 1000
		case u < 0.06:
			p = 1
		case u < 0.065:
			p = 1e-12
		}
		return p
	}
	for i := range n {
		for k := 0; k+1 < m; k += 2 {
			in := rng.IntN(2) == 0
			d.Members[i*m+k], d.Members[i*m+k+1] = in, !in
		}
		if m%2 == 1 {
			d.Members[i*m+m-1] = rng.IntN(2) == 0
		}
		for c := range m {
			d.Signals[i*m+c] = sample(d.Members[i*m+c])
		}
	}
	for j := range z * m {
		d.Population[j] = sample(false)
	}
	return d
}

// bruteCompat transcribes Privacy Meter's run_rmia literally, with the N × Z comparison.
func bruteCompat(d *Data, t, r int, a float64) []float64 {
	paired := t + 1
	if t%2 == 1 {
		paired = t - 1
	}
	var cols []int
	for c := range d.M {
		if c != t && c != paired && len(cols) < 2*r {
			cols = append(cols, c)
		}
	}
	w := min(r, len(cols))
	mean := func(sig []float64, mem []bool, i int) float64 {
		v := make([]float64, len(cols))
		for j, c := range cols {
			v[j] = sig[i*d.M+c]
			if mem != nil && mem[i*d.M+c] {
				v[j] = 0
			}
		}
		slices.Sort(v)
		slices.Reverse(v)
		return numpysum.Sum(v[:w]) / float64(w)
	}
	ratio := func(sig []float64, mem []bool, i int) float64 {
		return sig[i*d.M+t] / (float64((1+a)/2*mean(sig, mem, i)) + (1-a)/2)
	}
	rz := make([]float64, d.Z)
	for j := range rz {
		rz[j] = ratio(d.Population, nil, j)
	}
	out := make([]float64, d.N)
	for i := range out {
		rx := ratio(d.Signals, d.Members, i)
		out[i] = float64(bruteCount(rx, rz, 1.0)) / float64(d.Z)
	}
	return out
}

// bruteDefault is the default mode written out directly for data in complementary pairs (makeRMIAData):
// the references are pool in order, which holds neither the target nor its pair; offline Pr_OUT(x) is the
// mean of the first r OUT references (all when r = 0), online Pr(x) the mean of the means of the first r
// IN and the first r OUT references; the population mean is over the first r references offline, 2r
// online; then the N × Z comparison with γ. It returns the counts and the record ratios.
func bruteDefault(d *Data, t int, cfg RMIAConfig, pool []int) (counts []int, rx []float64) {
	gamma := cfg.Gamma
	if gamma == 0 {
		gamma = 1
	}
	r := cfg.NumRef
	popN := r
	if cfg.Online {
		popN = 2 * r
	}
	if r == 0 {
		r, popN = len(pool), len(pool)
	}
	a := cfg.OfflineA
	marg := func(mean float64) float64 {
		if cfg.Online {
			return mean
		}
		return float64((1+a)/2*mean) + (1-a)/2
	}
	rz := make([]float64, d.Z)
	for j := range rz {
		s := 0.0
		for _, c := range pool[:popN] {
			s += d.PopSignal(j, c, 0)
		}
		rz[j] = d.PopSignal(j, t, 0) / marg(s/float64(popN))
	}
	counts = make([]int, d.N)
	rx = make([]float64, d.N)
	for i := range counts {
		var sIn, sOut float64
		var kIn, kOut int
		for _, c := range pool {
			if d.Member(i, c) && kIn < r {
				sIn += d.Signal(i, c, 0)
				kIn++
			}
			if !d.Member(i, c) && kOut < r {
				sOut += d.Signal(i, c, 0)
				kOut++
			}
		}
		pr := marg(sOut / float64(kOut))
		if cfg.Online {
			pr = (sIn/float64(kIn) + sOut/float64(kOut)) / 2
		}
		rx[i] = d.Signal(i, t, 0) / pr
		counts[i] = bruteCount(rx[i], rz, gamma)
	}
	return counts, rx
}

func equalBits(a, b []float64) (int, bool) {
	if len(a) != len(b) {
		return -1, false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return i, false
		}
	}
	return 0, true
}

// TestRMIACompatBrute compares compat mode with a literal transcription of Privacy Meter, including
// R >= 8 (numpy's pairwise sum) and R beyond the candidates.
func TestRMIACompatBrute(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	d := makeRMIAData(rng, 300, 150, 22)
	for _, tc := range []struct {
		t, r int
		a    float64
	}{{0, 1, 0}, {0, 9, 0.3}, {5, 10, 1}, {21, 4, 0.7}, {2, 15, 0.2}} {
		got, err := RMIA(d, tc.t, RMIAConfig{NumRef: tc.r, OfflineA: tc.a, Compat: CompatPrivacyMeter})
		if err != nil {
			t.Fatal(err)
		}
		if i, ok := equalBits(got, bruteCompat(d, tc.t, tc.r, tc.a)); !ok {
			t.Errorf("target %d R=%d a=%v: score[%d] differs from the brute-force transcription", tc.t, tc.r, tc.a, i)
		}
	}
	// NumRef 0 means every complete pair: 10 of the 20 candidates.
	got, err := RMIA(d, 0, RMIAConfig{Compat: CompatPrivacyMeter, OfflineA: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if i, ok := equalBits(got, bruteCompat(d, 0, 10, 0.5)); !ok {
		t.Errorf("NumRef 0: score[%d] differs from R = 10", i)
	}
}

// TestRMIADefaultBrute compares the default mode with the direct N × Z computation: the counts exactly
// (tie-breaking off), and with tie-breaking each score in [count/Z, (count+1)/Z] and records of equal
// count in the order of their own ratios.
func TestRMIADefaultBrute(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	d := makeRMIAData(rng, 400, 250, 8)
	pool := func(t int, refs ...int) []int { // refs (nil: all models) without t and its pair
		if refs == nil {
			for c := range d.M {
				refs = append(refs, c)
			}
		}
		var p []int
		for _, c := range refs {
			if c != t && c != t^1 {
				p = append(p, c)
			}
		}
		return p
	}
	for _, tc := range []struct {
		name   string
		target int
		cfg    RMIAConfig
		pool   []int
	}{
		{"offline all", 0, RMIAConfig{OfflineA: 0.3}, pool(0)},
		{"offline R=2", 3, RMIAConfig{NumRef: 2, OfflineA: 0.6}, pool(3)},
		{"offline a=1 gamma=2", 7, RMIAConfig{NumRef: 3, OfflineA: 1, Gamma: 2}, pool(7)},
		{"online all", 0, RMIAConfig{Online: true}, pool(0)},
		{"online R=2 gamma=0.8", 5, RMIAConfig{Online: true, NumRef: 2, Gamma: 0.8}, pool(5)},
		{"refmodels", 1, RMIAConfig{OfflineA: 0.2, RefModels: []int{7, 6, 1, 5, 4}}, pool(1, 7, 6, 5, 4)},
	} {
		got, err := RMIA(d, tc.target, tc.cfg)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		counts, rx := bruteDefault(d, tc.target, tc.cfg, tc.pool)
		p, err := newRMIAPlan(d, tc.target, tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		prx, prz, err := p.ratios(d)
		if err != nil {
			t.Fatal(err)
		}
		if i, ok := equalBits(prx, rx); !ok {
			t.Errorf("%s: ratio_x[%d] = %v differs from the brute-force %v", tc.name, i, prx[i], rx[i])
		}
		plain := rmiaCount(prx, prz, p.gamma, false)
		z := float64(d.Z)
		for i, c := range counts {
			if plain[i] != float64(c)/z {
				t.Fatalf("%s: record %d: count %v, want %d/%d", tc.name, i, plain[i]*z, c, d.Z)
			}
			if !(got[i] >= float64(c)/z && got[i] <= float64(c+1)/z) {
				t.Fatalf("%s: record %d: score %v outside [%d, %d]/%d", tc.name, i, got[i], c, c+1, d.Z)
			}
			for j := range i {
				if counts[j] == c && rx[j] < rx[i] && got[j] > got[i] {
					t.Fatalf("%s: records %d and %d: ratios %v < %v but scores %v > %v", tc.name, j, i, rx[j], rx[i], got[j], got[i])
				}
			}
		}
		if auc := metric.AUC(metric.ROC(got, d.TargetMembers(tc.target), true)); !(auc > 0.55) {
			t.Errorf("%s: AUC %v on data where members have higher p", tc.name, auc)
		}
	}
}

// TestRMIATieBreak checks that tie-breaking leaves fewer ties and refines the order of the counts without
// changing it.
func TestRMIATieBreak(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	d := makeRMIAData(rng, 3000, 100, 6)
	got, err := RMIA(d, 0, RMIAConfig{OfflineA: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := newRMIAPlan(d, 0, RMIAConfig{OfflineA: 0.3})
	rx, rz, _ := p.ratios(d)
	plain := rmiaCount(rx, rz, 1, false)
	distinct := func(v []float64) int { s := slices.Clone(v); slices.Sort(s); return len(slices.Compact(s)) }
	if a, b := distinct(plain), distinct(got); !(a <= 101 && b > 10*a) {
		t.Errorf("distinct scores: %d counts, %d after tie-breaking", a, b)
	}
	for i := range got {
		for j := range got {
			if plain[i] < plain[j] && !(got[i] <= got[j]) {
				t.Fatalf("records %d, %d: counts %v < %v but scores %v > %v", i, j, plain[i], plain[j], got[i], got[j])
			}
		}
	}
}

// TestRMIASignalKinds checks that a loss signal gives the scores of the same values converted to p(true
// label) beforehand.
func TestRMIASignalKinds(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	d := makeRMIAData(rng, 200, 100, 6)
	lossData := *d
	lossData.Kind = signal.Loss
	lossData.Signals = slices.Clone(d.Signals)
	lossData.Population = slices.Clone(d.Population)
	for _, v := range [][]float64{lossData.Signals, lossData.Population} {
		if err := signal.Convert(v, signal.ProbTrue, signal.Loss); err != nil {
			t.Fatal(err)
		}
	}
	probData := lossData
	probData.Kind = signal.ProbTrue
	probData.Signals = slices.Clone(lossData.Signals)
	probData.Population = slices.Clone(lossData.Population)
	for _, v := range [][]float64{probData.Signals, probData.Population} {
		if err := signal.Convert(v, signal.Loss, signal.ProbTrue); err != nil {
			t.Fatal(err)
		}
	}
	for _, cfg := range []RMIAConfig{{OfflineA: 0.3}, {Compat: CompatPrivacyMeter, NumRef: 2, OfflineA: 0.3}} {
		fromLoss, err := RMIA(&lossData, 1, cfg)
		if err != nil {
			t.Fatal(err)
		}
		fromProb, err := RMIA(&probData, 1, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if i, ok := equalBits(fromLoss, fromProb); !ok {
			t.Errorf("compat=%v: score[%d] from loss signals differs from converted probabilities", cfg.Compat, i)
		}
	}
}

// TestRMIAParallel checks that the result does not depend on the number of goroutines.
func TestRMIAParallel(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	d := makeRMIAData(rng, 20000, 9000, 6)
	for _, cfg := range []RMIAConfig{{Compat: CompatPrivacyMeter, NumRef: 2}, {OfflineA: 0.4, Gamma: 1.5}} {
		prev := runtime.GOMAXPROCS(1)
		one, err := RMIA(d, 0, cfg)
		runtime.GOMAXPROCS(max(prev, 4))
		many, err2 := RMIA(d, 0, cfg)
		runtime.GOMAXPROCS(prev)
		if err != nil || err2 != nil {
			t.Fatal(err, err2)
		}
		if i, ok := equalBits(one, many); !ok {
			t.Errorf("compat=%v: score[%d] differs between 1 and several goroutines", cfg.Compat, i)
		}
	}
}

// TestTuneOfflineADefault checks default-mode tuning: the attacked model is the first reference, attacked
// with the others, and the AUCs are those of RMIA on it.
func TestTuneOfflineADefault(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	d := makeRMIAData(rng, 300, 200, 6)
	grid := []float64{0, 0.5, 1}
	best, aucs, err := TuneOfflineA(d, 2, grid, RMIAConfig{NumRef: 1})
	if err != nil {
		t.Fatal(err)
	}
	bestAUC := 0.0
	wantBest := 0.0
	for k, a := range grid {
		// Target 2's pool is 0, 1, 4, 5 (its pair 3 excluded); model 0 is attacked with the rest, of
		// which its own pair 1 is excluded in turn.
		s, err := RMIA(d, 0, RMIAConfig{NumRef: 1, OfflineA: a, RefModels: []int{4, 5}})
		if err != nil {
			t.Fatal(err)
		}
		auc := metric.AUC(metric.ROC(s, d.TargetMembers(0), true))
		if auc != aucs[k] {
			t.Errorf("a=%v: AUC %v, want %v", a, aucs[k], auc)
		}
		if auc > bestAUC {
			bestAUC, wantBest = auc, a
		}
	}
	if best != wantBest {
		t.Errorf("best a = %v, want %v", best, wantBest)
	}
}

func TestOfflineAGrid(t *testing.T) {
	// Lengths and last values from numpy.arange(0, 1+step, step), without values above 1.
	for _, tc := range []struct {
		step float64
		n    int
		last float64
	}{{0.1, 11, 1}, {0.05, 21, 1}, {0.25, 5, 1}, {0.2, 6, 1}, {0.3, 4, 0.8999999999999999}, {0.07, 15, 0.9800000000000001}, {2, 1, 0}} {
		g := OfflineAGrid(tc.step)
		if len(g) != tc.n || g[len(g)-1] != tc.last {
			t.Errorf("OfflineAGrid(%v) = %v, want %d values ending in %v", tc.step, g, tc.n, tc.last)
		}
	}
	if g := OfflineAGrid(0.1); g[3] != 0.30000000000000004 || g[6] != 0.6000000000000001 || g[7] != 0.7000000000000001 {
		t.Errorf("OfflineAGrid(0.1) = %v, want numpy's i*0.1", g)
	}
	// A step too fine for a grid that fits in memory gives no grid (1e-300 used to panic in make).
	for _, s := range []float64{0, -0.1, math.NaN(), math.Inf(1), 1e-300, math.SmallestNonzeroFloat64, 5e-7} {
		if g := OfflineAGrid(s); g != nil {
			t.Errorf("OfflineAGrid(%v) = %v, want nil", s, g)
		}
	}
}

func TestRMIAErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	good := makeRMIAData(rng, 50, 20, 4)
	with := func(f func(d *Data)) *Data {
		d := *good
		d.Signals = slices.Clone(good.Signals)
		d.Members = slices.Clone(good.Members)
		d.Population = slices.Clone(good.Population)
		f(&d)
		return &d
	}
	for _, tc := range []struct {
		name   string
		d      *Data
		target int
		cfg    RMIAConfig
		want   string
	}{
		{"nil data", nil, 0, RMIAConfig{}, "no data"},
		{"bad shape", with(func(d *Data) { d.Signals = d.Signals[1:] }), 0, RMIAConfig{}, "signals"},
		{"NaN signal", with(func(d *Data) { d.Signals[17] = math.NaN() }), 0, RMIAConfig{}, "signals: record 4, model 1 is NaN"},
		{"population above 1", with(func(d *Data) { d.Population[9] = 1.5 }), 0, RMIAConfig{Compat: CompatPrivacyMeter}, "population signals: record 2, model 1 is 1.5"},
		{"population length", with(func(d *Data) { d.Population = d.Population[1:] }), 0, RMIAConfig{}, "population signals: 79 values"},
		{"members length", with(func(d *Data) { d.Members = d.Members[1:] }), 0, RMIAConfig{}, "memberships"},
		{"target low", good, -1, RMIAConfig{}, "target model -1 does not exist"},
		{"target high", good, 4, RMIAConfig{}, "target model 4 does not exist"},
		{"no population", with(func(d *Data) { d.Z, d.Population = 0, nil }), 0, RMIAConfig{}, "no population"},
		{"aggregate", good, 0, RMIAConfig{Aggregate: "median"}, "aggregate"},
		{"queries compat", with(func(d *Data) { d.Q = 2; d.N = 25; d.Members = d.Members[:100]; d.Z = 10 }), 0, RMIAConfig{Compat: CompatPrivacyMeter}, "one query"},
		{"kind", with(func(d *Data) { d.Kind = signal.Entropy }), 0, RMIAConfig{}, "cannot be turned"},
		{"a high", good, 0, RMIAConfig{OfflineA: 1.5}, "offline a"},
		{"a NaN", good, 0, RMIAConfig{OfflineA: math.NaN()}, "offline a"},
		{"gamma", good, 0, RMIAConfig{Gamma: -1}, "gamma"},
		{"gamma inf", good, 0, RMIAConfig{Gamma: math.Inf(1)}, "gamma"},
		{"numref negative", good, 0, RMIAConfig{NumRef: -1}, "reference models requested"},
		{"numref too many", good, 0, RMIAConfig{NumRef: 4}, "leaves every record 1"},
		{"online compat", good, 0, RMIAConfig{Online: true, Compat: CompatPrivacyMeter}, "no online"},
		{"ref out of range", good, 0, RMIAConfig{RefModels: []int{1, 9}}, "reference model 9"},
		{"ref twice", good, 0, RMIAConfig{RefModels: []int{1, 1}}, "twice"},
		{"no references", good, 0, RMIAConfig{RefModels: []int{0}}, "no reference model"},
		{"compat no candidates", with(func(d *Data) {
			*d = Data{N: 2, M: 2, Q: 1, Kind: signal.ProbTrue, Signals: []float64{0.1, 0.2, 0.3, 0.4},
				Members: []bool{true, false, false, true}, Z: 1, Population: []float64{0.5, 0.5}}
		}), 0, RMIAConfig{Compat: CompatPrivacyMeter}, "no reference model"},
		{"online too many", good, 0, RMIAConfig{Online: true, NumRef: 2}, "2 IN reference models per record requested"},
	} {
		_, err := RMIA(tc.d, tc.target, tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}

	odd := makeRMIAData(rng, 50, 20, 5)
	for _, tc := range []struct {
		name   string
		d      *Data
		target int
		cfg    RMIAConfig
		want   string
	}{
		{"online", good, 0, RMIAConfig{Online: true}, "online"},
		{"no paired model", odd, 4, RMIAConfig{Compat: CompatPrivacyMeter}, "no paired model"},
		{"one reference", good, 0, RMIAConfig{RefModels: []int{2}}, "at least 2 reference models"},
		{"pseudo-target all members", with(func(d *Data) {
			for i := range d.N {
				d.Members[i*d.M+1] = true
			}
		}), 0, RMIAConfig{Compat: CompatPrivacyMeter}, "tuning offline a on model 1"},
		{"bad grid", good, 0, RMIAConfig{Compat: CompatPrivacyMeter}, "offline a"},
	} {
		grid := []float64(nil)
		if tc.name == "bad grid" {
			grid = []float64{0, 2}
		}
		_, _, err := TuneOfflineA(tc.d, tc.target, grid, tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("TuneOfflineA %s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestRMIAOutSignalsErrors(t *testing.T) {
	s := []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6}
	for _, tc := range []struct {
		name string
		f    func() error
	}{
		{"rows", func() error { _, _, err := RMIAOutSignals(s, nil, 4, 0, 1); return err }},
		{"members", func() error { _, _, err := RMIAOutSignals(s, make([]bool, 5), 3, 0, 1); return err }},
		{"target", func() error { _, _, err := RMIAOutSignals(s, nil, 3, 3, 1); return err }},
		{"numref", func() error { _, _, err := RMIAOutSignals(s, nil, 3, 0, 0); return err }},
		{"no candidates", func() error { _, _, err := RMIAOutSignals(s, nil, 2, 0, 1); return err }},
		{"NaN", func() error { _, _, err := RMIAOutSignals([]float64{0.1, math.NaN(), 0.3}, nil, 3, 0, 1); return err }},
	} {
		if tc.f() == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// TestCompatTop checks the fast reference selection (OUT values sorted, zeros padded) against Privacy
// Meter's multiply-sort-keep on rows with zeros, ties and, for the fallback, negative values.
func TestCompatTop(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for trial := range 2000 {
		m := 2 + rng.IntN(40)
		if trial%10 == 0 {
			m = 65 + rng.IntN(80) // beyond insertion sort
		}
		row := make([]float64, m)
		mem := make([]bool, m)
		for c := range row {
			switch rng.IntN(5) {
			case 0:
				row[c] = 0
			case 1:
				row[c] = 0.5
			default:
				row[c] = rng.Float64()
			}
			if trial%3 == 0 && rng.IntN(4) == 0 {
				row[c] = -row[c] - 0.1
			}
			mem[c] = rng.IntN(2) == 0
		}
		cols := rng.Perm(m)[:1+rng.IntN(m)]
		width := 1 + rng.IntN(len(cols))
		var memArg []bool
		if trial%2 == 0 {
			memArg = mem
		}
		// Privacy Meter: multiply by the OUT indicator, sort descending, keep width.
		want := make([]float64, len(cols))
		for j, c := range cols {
			want[j] = row[c]
			if memArg != nil && memArg[c] {
				want[j] *= 0
			}
		}
		slices.Sort(want)
		slices.Reverse(want)
		got := compatTop(row, memArg, cols, width, make([]float64, len(cols)))
		if !slices.Equal(got, want[:width]) {
			t.Fatalf("row %v mem %v cols %v width %d: got %v, want %v", row, memArg, cols, width, got, want[:width])
		}
	}
}

func TestRadixSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, n := range []int{0, 1, 255, 256, 1000, 5000} {
		for _, gen := range []func() uint64{
			rng.Uint64,
			func() uint64 { return orderKey(rng.NormFloat64()) },
			func() uint64 { return 1<<63 | uint64(rng.IntN(50))<<20 }, // many equal digits and ties
		} {
			keys := make([]uint64, n)
			for i := range keys {
				keys[i] = gen()
			}
			want := slices.Clone(keys)
			slices.Sort(want)
			radixSort(keys)
			if !slices.Equal(keys, want) {
				t.Fatalf("n=%d: radix sort differs from slices.Sort", n)
			}
		}
	}
}

// TestRMIAParallelError checks that with several blocks of rows the error names the first bad record.
func TestRMIAParallelError(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	d := makeRMIAData(rng, 20000, 100, 4)
	for _, i := range []int{15000, 9000} {
		d.Signals[i*d.M+3] = -0.5
	}
	prev := runtime.GOMAXPROCS(4)
	defer runtime.GOMAXPROCS(prev)
	_, err := RMIA(d, 0, RMIAConfig{})
	if err == nil || !strings.Contains(err.Error(), "record 9000, model 3 is -0.5") {
		t.Errorf("error %v, want one about record 9000", err)
	}
	for _, i := range []int{15000, 9000} {
		d.Signals[i*d.M+3] = 0.5
	}
	d.Signals[18001*d.M+2] = 2
	d.Signals[17000*d.M+1] = math.Inf(1)
	_, err = RMIA(d, 0, RMIAConfig{Compat: CompatPrivacyMeter})
	if err == nil || !strings.Contains(err.Error(), "record 17000, model 1 is +Inf") {
		t.Errorf("error %v, want one about record 17000", err)
	}
}
