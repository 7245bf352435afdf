package attack

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/pmeter/pmeter/signal"
)

// Spec describes one attack of the registry (Attacks): its name, a one-line description, its parameters
// and how to run it from string-valued parameters, as a command line or a configuration file gives them.
type Spec struct {
	Name        string
	Description string
	Params      []Param
	run         func(d *Data, target int, p paramValues) ([]float64, error)
}

// Param describes one parameter of an attack. Names are snake_case, spelled as Privacy Meter's
// configurations spell them where Privacy Meter has the parameter.
type Param struct {
	Name string
	// Type is "bool", "int", "float" or "enum".
	Type string
	// Values lists the allowed values of an enum.
	Values []string
	// Default is the value used when the parameter is not given.
	Default string
	// Min and Max bound an int or float parameter (inclusive; ±Inf when unbounded). MinExclusive makes
	// the lower bound strict.
	Min, Max     float64
	MinExclusive bool
	Help         string
}

// ErrUnknownAttack is returned (wrapped) by Lookup for a name that is not in the registry.
var ErrUnknownAttack = errors.New("unknown attack")

// ParamError reports an unknown parameter, or a value that does not parse or lies out of range.
type ParamError struct {
	Attack  string
	Param   string
	Unknown bool // the attack has no parameter Param
	Value   string
	// Want describes the expected values, or lists the attack's parameters when Unknown.
	Want string
}

func (e *ParamError) Error() string {
	if e.Unknown {
		return fmt.Sprintf("attack %s: unknown parameter %q (%s)", e.Attack, e.Param, e.Want)
	}
	return fmt.Sprintf("attack %s: parameter %s: %q is not valid; want %s", e.Attack, e.Param, e.Value, e.Want)
}

// Attacks returns the registry: every attack, in a fixed order. The slice is new on each call.
func Attacks() []Spec {
	return []Spec{
		lossSpec(),
		songMittalSpec("entropy", SMEntropy, "Song & Mittal 2021: negated prediction entropy, class-dependent thresholds from reference models"),
		songMittalSpec("modified-entropy", SMModifiedEntropy, "Song & Mittal 2021: negated modified entropy (Mentr), class-dependent thresholds from reference models"),
		songMittalSpec("confidence", SMConfidence, "Song & Mittal 2021: confidence on the true label, class-dependent thresholds from reference models"),
		songMittalSpec("correctness", SMCorrectness, "Song & Mittal 2021 correctness attack: 1 if the target model predicts the true label, else 0"),
		populationSpec(),
		referenceSpec(),
		shadowSpec(),
		liraSpec(),
		rmiaSpec(),
	}
}

// Names returns the names of the registered attacks, in registry order.
func Names() []string {
	var out []string
	for _, s := range Attacks() {
		out = append(out, s.Name)
	}
	return out
}

// Lookup returns the attack called name. The error wraps ErrUnknownAttack and lists the known names.
func Lookup(name string) (Spec, error) {
	for _, s := range Attacks() {
		if s.Name == name {
			return s, nil
		}
	}
	return Spec{}, fmt.Errorf("%w %q (want one of: %s)", ErrUnknownAttack, name, strings.Join(Names(), ", "))
}

// Resolve checks params against the attack's parameters and returns every parameter's value, the
// defaults filled in. Errors are *ParamError.
func (s Spec) Resolve(params map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(s.Params))
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	slices.Sort(names) // report the first bad parameter deterministically
	for _, k := range names {
		p, ok := s.param(k)
		if !ok {
			want := "no parameters"
			if len(s.Params) > 0 {
				var ns []string
				for _, q := range s.Params {
					ns = append(ns, q.Name)
				}
				want = "parameters: " + strings.Join(ns, ", ")
			}
			return nil, &ParamError{Attack: s.Name, Param: k, Unknown: true, Want: want}
		}
		if err := p.check(params[k]); err != nil {
			return nil, &ParamError{Attack: s.Name, Param: k, Value: params[k], Want: err.Error()}
		}
		out[k] = params[k]
	}
	for _, p := range s.Params {
		if _, ok := out[p.Name]; !ok {
			out[p.Name] = p.Default
		}
	}
	return out, nil
}

// Run resolves params (see Resolve) and runs the attack against target model target, returning one
// score per record (higher = more likely a member).
func (s Spec) Run(d *Data, target int, params map[string]string) ([]float64, error) {
	vals, err := s.Resolve(params)
	if err != nil {
		return nil, err
	}
	return s.run(d, target, paramValues(vals))
}

func (s Spec) param(name string) (Param, bool) {
	for _, p := range s.Params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// check validates one value; the error text says what is wanted.
func (p Param) check(v string) error {
	switch p.Type {
	case "bool":
		if _, err := strconv.ParseBool(v); err != nil {
			return errors.New("true or false")
		}
		return nil
	case "enum":
		if !slices.Contains(p.Values, v) {
			return errors.New("one of " + strings.Join(p.Values, ", "))
		}
		return nil
	}
	want := "a number"
	var x float64
	var err error
	if p.Type == "int" {
		want = "an integer"
		var n int
		n, err = strconv.Atoi(v)
		x = float64(n)
	} else {
		x, err = strconv.ParseFloat(v, 64)
	}
	if r := p.RangeText(); r != "" {
		want += " " + r
	}
	if err != nil || math.IsNaN(x) || x < p.Min || x > p.Max || (p.MinExclusive && x == p.Min) {
		return errors.New(want)
	}
	return nil
}

// RangeText describes the bounds of a numeric parameter, e.g. "in [0, 1]" or "≥ 0"; "" when unbounded.
func (p Param) RangeText() string {
	lo, hi := !math.IsInf(p.Min, -1), !math.IsInf(p.Max, 1)
	op := "≥"
	if p.MinExclusive {
		op = ">"
	}
	switch {
	case lo && hi:
		l := "["
		if p.MinExclusive {
			l = "("
		}
		return fmt.Sprintf("in %s%v, %v]", l, p.Min, p.Max)
	case lo:
		return fmt.Sprintf("%s %v", op, p.Min)
	case hi:
		return fmt.Sprintf("≤ %v", p.Max)
	}
	return ""
}

// paramValues holds resolved, validated parameter values.
type paramValues map[string]string

func (p paramValues) getBool(k string) bool     { b, _ := strconv.ParseBool(p[k]); return b }
func (p paramValues) getInt(k string) int       { n, _ := strconv.Atoi(p[k]); return n }
func (p paramValues) getFloat(k string) float64 { f, _ := strconv.ParseFloat(p[k], 64); return f }
func (p paramValues) compat(want string) bool   { return p["compat"] == want }

func boolParam(name, def, help string) Param {
	return Param{Name: name, Type: "bool", Default: def, Help: help}
}

func enumParam(name, def, help string, values ...string) Param {
	return Param{Name: name, Type: "enum", Values: values, Default: def, Help: help}
}
func intParam(name, def string, min float64, help string) Param {
	return Param{Name: name, Type: "int", Default: def, Min: min, Max: math.Inf(1), Help: help}
}
func floatParam(name, def string, min, max float64, minExclusive bool, help string) Param {
	return Param{Name: name, Type: "float", Default: def, Min: min, Max: max, MinExclusive: minExclusive, Help: help}
}

func lossSpec() Spec {
	return Spec{
		Name:        "loss",
		Description: "Yeom et al. 2018: score = −loss of the target model (no reference models)",
		Params: []Param{
			enumParam("compat", "none", "privacy-meter: Privacy Meter v2 run_loss, score = −p(true label) (sign-inverted)", "none", "privacy-meter"),
		},
		run: func(d *Data, t int, p paramValues) ([]float64, error) {
			return LOSS(d, t, LOSSConfig{PrivacyMeter: p.compat("privacy-meter")})
		},
	}
}

func songMittalSpec(name string, v SongMittalValue, desc string) Spec {
	s := Spec{Name: name, Description: desc}
	if v != SMCorrectness {
		s.Params = []Param{
			boolParam("class_thresholds", "true", "subtract the class's threshold maximising ½(TPR+TNR) on the reference models (Song & Mittal's _thre_setting)"),
			intParam("num_ref_models", "0", 0, "reference models: the first n models other than the target (0 = all)"),
		}
	}
	s.run = func(d *Data, t int, p paramValues) ([]float64, error) {
		return SongMittal(d, t, SongMittalConfig{Value: v, ClassThresholds: v != SMCorrectness && p.getBool("class_thresholds"), NumRefModels: p.getInt("num_ref_models")})
	}
	return s
}

// thresholdFnParam is Privacy Meter v1's threshold_fn (hypothesis_test.py), by its short name.
func thresholdFnParam() Param {
	return enumParam("threshold_fn", LinearItp, "Privacy Meter v1 threshold function (the score is the negated FPR level at which it calls the record a member)",
		LinearItp, ThresholdFunc, Gaussian, LogitRescale, MinLinearLogit)
}

func populationSpec() Spec {
	return Spec{
		Name:        "population",
		Description: "Ye et al. 2022 Attack-P: the target's loss against its loss distribution on population records",
		Params:      []Param{thresholdFnParam()},
		run: func(d *Data, t int, p paramValues) ([]float64, error) {
			return Population(d, t, PopulationConfig{ThresholdFn: p["threshold_fn"]})
		},
	}
}

func referenceSpec() Spec {
	return Spec{
		Name:        "reference",
		Description: "Ye et al. 2022 Attack-R: the target's loss on a record against the record's losses under OUT reference models",
		Params: []Param{
			thresholdFnParam(),
			intParam("num_ref_models", "0", 0, "OUT reference models per record, first in model order (0 = all)"),
			boolParam("dummies", "false", "Ye et al.'s research code: add dummy losses 0 and 1000 to the OUT losses before interpolating (linear_itp only), so records below every OUT loss are still ranked"),
		},
		run: func(d *Data, t int, p paramValues) ([]float64, error) {
			return Reference(d, t, ReferenceConfig{ThresholdFn: p["threshold_fn"], NumRef: p.getInt("num_ref_models"), Dummies: p.getBool("dummies")})
		},
	}
}

func shadowSpec() Spec {
	def := DefaultShadowConfig()
	return Spec{
		Name:        "shadow",
		Description: "Shokri et al. 2017: attack classifier trained on shadow models' sorted prediction vectors, P(member)",
		Params: []Param{
			enumParam("features", "auto", "classifier input: sorted prediction vector, or the scalar signal as a loss (auto: sorted_probs when the data have probabilities)", "auto", ShadowSortedProbs, ShadowSignal),
			intParam("top_k", "0", 0, "keep the k largest probabilities (0 = all classes)"),
			enumParam("per_class", "auto", "one attack model per true class (auto: when the data have labels)", "auto", "true", "false"),
			enumParam("model", ShadowLogistic, "attack classifier", ShadowLogistic, ShadowMLP),
			floatParam("c", "1", 0, math.Inf(1), true, "inverse L2 regularisation strength (scikit-learn's C)"),
			intParam("hidden", strconv.Itoa(def.Hidden), 1, "MLP hidden units"),
			intParam("epochs", strconv.Itoa(def.Epochs), 1, "MLP training epochs"),
			floatParam("learning_rate", strconv.FormatFloat(def.LearningRate, 'g', -1, 64), 0, math.Inf(1), true, "MLP Adam learning rate"),
			intParam("batch_size", strconv.Itoa(def.BatchSize), 1, "MLP mini-batch size"),
			intParam("seed", strconv.FormatUint(def.Seed, 10), 0, "MLP random seed"),
			intParam("num_ref_models", "0", 0, "shadow models: the first n models other than the target (0 = all)"),
			enumParam("compat", "none", "privacy-meter: Privacy Meter v1 ShadowMetric, 1-D logistic regression on the loss with class_weight {0: n_member, 1: n_nonmember}", "none", "privacy-meter"),
		},
		run: func(d *Data, t int, p paramValues) ([]float64, error) {
			cfg := ShadowConfig{
				Features: p["features"], TopK: p.getInt("top_k"), Model: p["model"], InvReg: p.getFloat("c"),
				Hidden: p.getInt("hidden"), Epochs: p.getInt("epochs"), LearningRate: p.getFloat("learning_rate"),
				BatchSize: p.getInt("batch_size"), Seed: uint64(p.getInt("seed")), NumRefModels: p.getInt("num_ref_models"),
				PrivacyMeter: p.compat("privacy-meter"),
			}
			if cfg.Features == "auto" {
				cfg.Features = ShadowSignal
				if d.Probs != nil {
					cfg.Features = ShadowSortedProbs
				}
			}
			switch p["per_class"] {
			case "auto":
				cfg.PerClass = d.Labels != nil
			case "true":
				cfg.PerClass = true
			}
			return Shadow(d, t, cfg)
		},
	}
}

func liraSpec() Spec {
	return Spec{
		Name:        "lira",
		Description: "Carlini et al. 2022: Gaussian likelihood ratio of the rescaled logit under IN and OUT reference models",
		Params: []Param{
			boolParam("online", "true", "use IN and OUT reference models (false: offline, OUT models only)"),
			boolParam("fix_variance", "false", "one global variance instead of per-record variances"),
			enumParam("offline_test", "auto", "offline test (auto: one-sided, two-sided with compat)", "auto", OneSided, TwoSided),
			intParam("num_ref_models", "0", 0, "reference models per side, IN and OUT, first in model order (0 = all)"),
			intParam("num_in_models", "0", 0, "IN reference models, overriding num_ref_models (0 = num_ref_models)"),
			intParam("num_out_models", "0", 0, "OUT reference models, overriding num_ref_models (0 = num_ref_models)"),
			boolParam("population_out", "false", "offline: fit the OUT Gaussian to the target's population signals (Privacy Meter v1 benchmark 'population')"),
			enumParam("compat", "none", "lira: the LiRA reference code (plot.py) bit for bit; privacy-meter: Privacy Meter v1 benchmark (float32 statistics)", "none", "lira", "privacy-meter"),
		},
		run: func(d *Data, t int, p paramValues) ([]float64, error) {
			cfg := LiRAConfig{
				Online: p.getBool("online"), FixVariance: p.getBool("fix_variance"),
				NumRef: p.getInt("num_ref_models"), NumIn: p.getInt("num_in_models"), NumOut: p.getInt("num_out_models"),
				PopulationOut: p.getBool("population_out"),
				Compat:        !p.compat("none"), Float32: p.compat("privacy-meter"),
			}
			if test := p["offline_test"]; test != "auto" {
				cfg.OfflineTest = test
			}
			return LiRA(d, t, cfg)
		},
	}
}

func rmiaSpec() Spec {
	return Spec{
		Name:        "rmia",
		Description: "Zarifzadeh et al. 2024: fraction of population records that the record's likelihood ratio beats by more than γ (several queries: their probabilities are averaged)",
		Params: []Param{
			intParam("num_ref_models", "0", 0, "reference models R (0 = all; compat: every complete pair)"),
			floatParam("offline_a", "0", 0, 1, false, "offline a: Pr_IN(x) ≈ a·Pr_OUT(x) + 1 − a"),
			boolParam("tune_offline_a", "false", "choose offline_a in {0, step, …, 1} by the AUC on a reference model (Privacy Meter tune_offline_a)"),
			floatParam("offline_a_step", "0.1", MinOfflineAStep, 1, false, "grid step of tune_offline_a (Privacy Meter: 0.1; a finer grid such as 0.01 tunes more closely)"),
			boolParam("online", "false", "use IN and OUT reference models (offline_a is then ignored)"),
			floatParam("gamma", "1", 0, math.Inf(1), true, "γ: count population records with LR(x, z) > γ"),
			enumParam("compat", "none", "privacy-meter: Privacy Meter v2 run_rmia bit for bit (paired models, top-R reference selection)", "none", "privacy-meter"),
		},
		run: func(d *Data, t int, p paramValues) ([]float64, error) {
			if d.Q > 1 {
				// Augmented queries: Pr(x|θ) is the mean of the queries' probabilities.
				var err error
				if d, err = d.MeanQueries(signal.ProbTrue); err != nil {
					return nil, fmt.Errorf("rmia: %w", err)
				}
			}
			cfg := RMIAConfig{
				NumRef: p.getInt("num_ref_models"), OfflineA: p.getFloat("offline_a"), Online: p.getBool("online"),
				Gamma: p.getFloat("gamma"), Compat: p.compat("privacy-meter"),
			}
			if p.getBool("tune_offline_a") {
				a, _, err := TuneOfflineA(d, t, OfflineAGrid(p.getFloat("offline_a_step")), cfg)
				if err != nil {
					return nil, err
				}
				cfg.OfflineA = a
			}
			return RMIA(d, t, cfg)
		},
	}
}
