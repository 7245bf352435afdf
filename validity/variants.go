package validity

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/signal"
)

// Scorer scores every record of d against model target: one score per record, higher = more likely a
// member.
type Scorer func(d *attack.Data, target int) ([]float64, error)

// Variant is one attack with one setting of its parameters: a row of the harnesses' tables.
type Variant struct {
	// Name identifies the variant: the attack's name and the parameters that differ from the defaults,
	// as "lira online=false fix_variance=true", and "q=2" with two queries.
	Name string
	// Attack is the registry name (attack.Lookup) and Params its parameters as `pmeter attack --set`
	// takes them.
	Attack string
	Params map[string]string
	// Queries is the number of queries per record of the data (1 or 2).
	Queries int
	// Slow marks variants that only the full run includes.
	Slow bool
	// Score, when set, replaces the registry attack (to test the harness itself with a scorer of known
	// behaviour).
	Score Scorer
	// Access, when set, is the level of model access the attack sees (audit.access): the data's
	// probability vectors pass through signal.Access.Observe first (see atAccess).
	Access string
	// Regression runs the attack on regression residuals made from the data (see asResidual).
	Regression bool
	// Gradient adds white-box gradient norms and loss trajectories made from the data (see withGradients).
	Gradient bool
	// LabelOnly adds label-only signals made from the data (see withLabelOnly).
	LabelOnly bool
}

// scorer returns the function that scores a record set for v.
func (v Variant) scorer() (Scorer, error) {
	if v.Score != nil {
		return v.Score, nil
	}
	spec, err := attack.Lookup(v.Attack)
	if err != nil {
		return nil, fmt.Errorf("variant %s: %w", v.Name, err)
	}
	if _, err := spec.Resolve(v.Params); err != nil {
		return nil, fmt.Errorf("variant %s: %w", v.Name, err)
	}
	if v.LabelOnly {
		return func(d *attack.Data, target int) ([]float64, error) {
			return spec.Run(withLabelOnly(d), target, v.Params)
		}, nil
	}
	if v.Gradient {
		return func(d *attack.Data, target int) ([]float64, error) {
			return spec.Run(withGradients(d), target, v.Params)
		}, nil
	}
	if v.Regression {
		return func(d *attack.Data, target int) ([]float64, error) {
			return spec.Run(asResidual(d), target, v.Params)
		}, nil
	}
	if v.Access != "" {
		a, err := signal.ParseAccess(v.Access)
		if err != nil {
			return nil, fmt.Errorf("variant %s: %w", v.Name, err)
		}
		if err := spec.Admits(a); err != nil {
			return nil, fmt.Errorf("variant %s: %w", v.Name, err)
		}
		return func(d *attack.Data, target int) ([]float64, error) {
			r, err := atAccess(d, a)
			if err != nil {
				return nil, err
			}
			return spec.Run(r, target, v.Params)
		}, nil
	}
	return func(d *attack.Data, target int) ([]float64, error) { return spec.Run(d, target, v.Params) }, nil
}

// regressionTable lists the variants run on regression residuals (asResidual): the attacks that read them.
var regressionTable = []struct{ attack, params string }{
	{"loss", ""},
	{"lira", "online=true fix_variance=false"},
	{"lira", "online=false fix_variance=true offline_test=one-sided"},
	{"rmia", "online=false"},
}

// asResidual returns d as a regression model's residuals: r = ±log(1 + e^{−φ}) of each rescaled logit φ
// (query by query), the sign alternating with the record's index, so that a member, whose φ is higher
// in a leaking model, is fitted more closely (|r| smaller), and a model that does not leak fits members
// and non-members alike. Probability vectors, labels and classes are dropped.
func asResidual(d *attack.Data) *attack.Data {
	r := *d
	conv := func(v []float64) []float64 {
		out := make([]float64, len(v))
		per := d.M * d.Q
		for k, phi := range v {
			a := math.Log1p(math.Exp(-phi))
			if phi < -30 {
				a = -phi
			}
			if (k/per)%2 == 1 {
				a = -a
			}
			out[k] = a
		}
		return out
	}
	r.Signals, r.Population = conv(d.Signals), conv(d.Population)
	r.Kind = signal.Residual
	r.Probs, r.PopProbs, r.Labels, r.PopLabels, r.C = nil, nil, nil, nil, 0
	return &r
}

// gradientTable lists the white-box variants, run on gradient norms and loss trajectories made from the
// data (withGradients).
var gradientTable = []struct{ attack, params string }{
	{"gradnorm", ""},
	{"gradnorm-lira", "online=true fix_variance=false"},
	{"gradnorm-lira", "online=false fix_variance=true"},
	{"gradnorm-rmia", "online=false"},
	{"gradnorm-rmia", "online=true"},
	{"loss-trajectory", "statistic=mean"},
	{"loss-trajectory", "statistic=slope"},
	{"loss-trajectory-lira", "online=true fix_variance=false"},
	{"loss-trajectory-lira", "online=false fix_variance=true"},
}

// withGradients returns d with gradient norms of two kinds (G = 2): the whole model's ‖g‖ = e^{−φ/2}
// and a layer's e^{−φ/4} of each record's first-query rescaled logit φ, so that a member, whose φ is
// higher in a leaking model, has a smaller gradient, and a model that does not leak gives members and
// non-members the same distribution; and loss trajectories made from φ the same way (T = 3).
func withGradients(d *attack.Data) *attack.Data {
	r := *d
	grad := func(sig []float64, rows int) []float64 {
		out := make([]float64, rows*d.M*2)
		for k := range rows * d.M {
			phi := sig[k*d.Q]
			out[2*k], out[2*k+1] = math.Exp(-phi/2), math.Exp(-phi/4)
		}
		return out
	}
	r.G, r.Grad, r.PopGrad = 2, grad(d.Signals, d.N), grad(d.Population, d.Z)
	// Loss trajectories at epochs 1, 2, 3: ℓ_k = log(1 + e^{−φ·k/3}), the loss falling towards the final
	// model's as training proceeds.
	traj := func(sig []float64, rows int) []float64 {
		out := make([]float64, rows*d.M*3)
		for k := range rows * d.M {
			phi := sig[k*d.Q]
			for c := 0; c < 3; c++ {
				x := -phi * float64(c+1) / 3
				out[3*k+c] = math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x)))
			}
		}
		return out
	}
	r.T, r.TrajEpochs, r.Traj, r.PopTraj = 3, []int{1, 2, 3}, traj(d.Signals, d.N), traj(d.Population, d.Z)
	return &r
}

// labelOnlyTable lists the label-only variants, run on signals made from the data (withLabelOnly).
var labelOnlyTable = []struct{ attack, params string }{
	{"augmentation", ""},
	{"augmentation-lira", "online=true"},
	{"augmentation-lira", "online=false"},
	{"boundary", ""},
}

// labelOnlyAugs is the number of augmentations withLabelOnly makes.
const labelOnlyAugs = 8

// withLabelOnly returns d with label-only signals made from each record's first-query rescaled logit φ:
// correctness under augmentation a is φ + ε_{i,a} > 0, the noise ε_{i,a} ~ N(0, 1.5²) fixed per record
// and augmentation (every model sees the same augmented record), and the boundary distance is max(φ, 0)
// (0: misclassified), so that a member, whose φ is higher in a leaking model, is right more often and
// further from the boundary, and a model that does not leak treats members and non-members alike.
func withLabelOnly(d *attack.Data) *attack.Data {
	r := *d
	r.A, r.Aug, r.Boundary = labelOnlyAugs, make([]bool, d.N*d.M*labelOnlyAugs), make([]float64, d.N*d.M)
	eps := make([]float64, labelOnlyAugs)
	for i := 0; i < d.N; i++ {
		g := rand.New(rand.NewPCG(uint64(i), 0x6175676d)) // "augm"
		for a := range eps {
			eps[a] = 1.5 * g.NormFloat64()
		}
		for m := 0; m < d.M; m++ {
			phi := d.Signals[(i*d.M+m)*d.Q]
			for a, e := range eps {
				r.Aug[(i*d.M+m)*labelOnlyAugs+a] = phi+e > 0
			}
			r.Boundary[i*d.M+m] = max(phi, 0)
		}
	}
	return &r
}

// accessTable lists variants run at a level of model access: the attack, its parameters and the level.
// They check that what an interface returns at each level (rounded, truncated or label-only outputs,
// whose ties and clipped values the attacks meet nowhere else) keeps every attack calibrated.
var accessTable = []struct{ attack, params, access string }{
	{"loss", "", "probabilities"},
	{"lira", "online=true fix_variance=false", "top_k: 1"},
	{"rmia", "offline_a=0.3", "rounded: 1"},
	{"correctness", "", "label"},
}

// atAccess returns d (one query) as an interface at level a shows it: its probability vectors pass
// through a.Observe (with log p as the logits, which softmax maps back to p), and its signals become the
// rescaled logits of what is observed, as audit computes them at that level.
func atAccess(d *attack.Data, a signal.Access) (*attack.Data, error) {
	if d.Probs == nil || d.PopProbs == nil || d.Q != 1 {
		return nil, fmt.Errorf("access %s: needs probability vectors and one query per record", a)
	}
	r := *d
	view := func(probs []float64, labels []int) (obs, sig []float64, err error) {
		logits := make([]float64, len(probs))
		for k, p := range probs {
			logits[k] = math.Log(max(p, 1e-300))
		}
		if obs, err = a.Observe(logits, d.C); err != nil {
			return nil, nil, err
		}
		// Probs is records × M models × C: package signal sees M "queries" per record.
		sig, err = signal.FromProbs(signal.RescaledLogit, obs, d.C, labels, signal.Options{Queries: d.M})
		return obs, sig, err
	}
	var err error
	if r.Probs, r.Signals, err = view(d.Probs, d.Labels); err != nil {
		return nil, fmt.Errorf("access %s: %w", a, err)
	}
	if r.PopProbs, r.Population, err = view(d.PopProbs, d.PopLabels); err != nil {
		return nil, fmt.Errorf("access %s: population: %w", a, err)
	}
	r.Kind = signal.RescaledLogit
	return &r, nil
}

// variantTable is the one table of the attack settings the harnesses check: every attack of the
// registry and each of its variants that changes which reference models a record is compared with, or
// how it is compared with them. Each row is an attack name, a query count (1 or 2), whether only the
// full run includes it, and its parameters as k=v pairs.
var variantTable = []struct {
	attack  string
	queries int
	slow    bool
	params  string
	// optional rows are left out when the registered attack lacks one of their parameters.
	optional bool
}{
	{"loss", 1, false, "", false},
	{"entropy", 1, false, "class_thresholds=true", false},
	{"entropy", 1, false, "class_thresholds=false", false},
	{"modified-entropy", 1, false, "class_thresholds=true", false},
	{"modified-entropy", 1, false, "class_thresholds=false", false},
	{"confidence", 1, false, "class_thresholds=true", false},
	{"confidence", 1, false, "class_thresholds=false", false},
	{"correctness", 1, false, "", false},
	{"population", 1, false, "threshold_fn=linear_itp", false},
	{"population", 1, false, "threshold_fn=threshold_func", false},
	{"population", 1, false, "threshold_fn=gaussian", false},
	{"population", 1, false, "threshold_fn=logit_rescale", false},
	{"population", 1, false, "threshold_fn=min_linear_logit", false},
	{"reference", 1, false, "dummies=false", false},
	{"reference", 1, false, "dummies=true", false},
	{"reference", 1, false, "threshold_fn=gaussian", false},
	{"reference", 1, false, "threshold_fn=logit_rescale", false},
	{"shadow", 1, false, "model=logistic features=sorted_probs", false},
	{"shadow", 1, false, "model=logistic features=signal", false},
	{"shadow", 1, true, "model=mlp features=sorted_probs", false},
	{"lira", 1, false, "online=true fix_variance=false", false},
	{"lira", 1, false, "online=true fix_variance=true", false},
	{"lira", 1, false, "online=false fix_variance=false offline_test=one-sided", false},
	{"lira", 1, false, "online=false fix_variance=false offline_test=two-sided", false},
	{"lira", 1, false, "online=false fix_variance=true offline_test=one-sided", false},
	{"lira", 1, false, "online=false fix_variance=true offline_test=two-sided", false},
	{"lira", 2, false, "online=true fix_variance=false", false},
	{"lira", 2, false, "online=false fix_variance=false offline_test=one-sided", false},
	{"rmia", 1, false, "offline_a=0.3", false},
	{"rmia", 1, false, "tune_offline_a=true", false},
	{"rmia", 1, false, "online=true", false},
	{"rmia", 1, false, "offline_a=0.3 gamma=2", false},
	{"rmia", 2, false, "offline_a=0.3", false},
	{"rmia", 2, false, "offline_a=0.3 aggregate=majority", true}, // the paper's per-query majority vote
}

// Variants returns the rows of the harnesses' table, in order, without the slow ones unless slow is
// true. An optional row whose parameter the registered attack lacks (rmia's aggregate, before it exists)
// is left out; any other row with an unknown parameter stays, and fails in the harness.
func Variants(slow bool) []Variant {
	var out []Variant
	for _, row := range variantTable {
		if row.slow && !slow {
			continue
		}
		params := map[string]string{}
		for _, kv := range strings.Fields(row.params) {
			k, v, _ := strings.Cut(kv, "=")
			params[k] = v
		}
		if spec, err := attack.Lookup(row.attack); row.optional && err == nil && !hasParams(spec, params) {
			continue
		}
		name := row.attack
		if row.params != "" {
			name += " " + row.params
		}
		if row.queries > 1 {
			name += fmt.Sprintf(" q=%d", row.queries)
		}
		out = append(out, Variant{Name: name, Attack: row.attack, Params: params, Queries: row.queries, Slow: row.slow})
	}
	for _, row := range regressionTable {
		params := map[string]string{}
		for _, kv := range strings.Fields(row.params) {
			k, v, _ := strings.Cut(kv, "=")
			params[k] = v
		}
		name := strings.TrimSpace(row.attack+" "+row.params) + " regression"
		out = append(out, Variant{Name: name, Attack: row.attack, Params: params, Queries: 1, Regression: true})
	}
	for _, row := range gradientTable {
		params := map[string]string{}
		for _, kv := range strings.Fields(row.params) {
			k, v, _ := strings.Cut(kv, "=")
			params[k] = v
		}
		out = append(out, Variant{Name: strings.TrimSpace(row.attack + " " + row.params), Attack: row.attack, Params: params, Queries: 1, Gradient: true})
	}
	for _, row := range labelOnlyTable {
		params := map[string]string{}
		for _, kv := range strings.Fields(row.params) {
			k, v, _ := strings.Cut(kv, "=")
			params[k] = v
		}
		out = append(out, Variant{Name: strings.TrimSpace(row.attack + " " + row.params), Attack: row.attack, Params: params, Queries: 1, LabelOnly: true})
	}
	for _, row := range accessTable {
		params := map[string]string{}
		for _, kv := range strings.Fields(row.params) {
			k, v, _ := strings.Cut(kv, "=")
			params[k] = v
		}
		name := strings.TrimSpace(row.attack+" "+row.params) + " access=" + row.access
		out = append(out, Variant{Name: name, Attack: row.attack, Params: params, Queries: 1, Access: row.access})
	}
	return out
}

func hasParams(spec attack.Spec, params map[string]string) bool {
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if !slices.ContainsFunc(spec.Params, func(p attack.Param) bool { return p.Name == k }) {
			return false
		}
	}
	return true
}

// SelectVariants returns the variants whose attack or whole name is in names (nil or empty: all).
// A name that matches no variant is an error that lists the attacks.
func SelectVariants(all []Variant, names []string) ([]Variant, error) {
	if len(names) == 0 {
		return all, nil
	}
	var out []Variant
	for _, v := range all {
		if slices.Contains(names, v.Attack) || slices.Contains(names, v.Name) {
			out = append(out, v)
		}
	}
	for _, n := range names {
		if !slices.ContainsFunc(all, func(v Variant) bool { return v.Attack == n || v.Name == n }) {
			return nil, fmt.Errorf("no variant of attack %q (want attack names among: %s)", n, strings.Join(attack.Names(), ", "))
		}
	}
	return out, nil
}
