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

// Spec describes one attack of the registry (Attacks): its name, a one-line description and its
// parameters. Parse turns string-valued parameters, as a command line or a configuration file gives
// them, into an Attack whose typed configuration is validated once.
type Spec struct {
	Name        string
	Description string
	Params      []Param
	// LabelOnly marks an attack that uses only the target's predicted labels, so that it runs at every
	// level of model access (signal.AccessLabel included); see Admits.
	LabelOnly bool
	// Regression marks an attack that also reads regression residuals (signal.Residual; regression.go).
	Regression bool
	// WhiteBox marks an attack that reads the model's gradients (Data.Grad; gradient.go) or, with
	// Trajectory, its losses at training checkpoints (Data.Traj; trajectory.go): it runs only with the
	// model itself, at access level logits.
	WhiteBox   bool
	Trajectory bool
	// build makes the typed configuration from validated values, checking what one parameter alone cannot.
	build func(p paramValues) (runFunc, error)
}

// runFunc runs an attack with its configuration fixed.
type runFunc func(d *Data, target int) ([]float64, error)

// Param describes one parameter of an attack. Names are snake_case, spelled as Privacy Meter's
// configurations spell them where Privacy Meter has the parameter.
type Param struct {
	Name string
	// Aliases are other accepted names (former spellings); values given under an alias count as Name's.
	Aliases []string
	// Type is "bool", "int", "float", "enum" or "autobool" ("auto" or a bool).
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

// Attack is an attack ready to run: its parameters parsed, defaults filled in and validated (Spec.Parse).
type Attack struct {
	Name string
	// Params holds every parameter's value under its canonical name, defaults filled in.
	Params map[string]string
	// Compat is the original whose quirks the attack reproduces (CompatNone for the correct default).
	Compat Compat
	run    runFunc
}

// ErrUnknownAttack is returned (wrapped) by Lookup for a name that is not in the registry.
var ErrUnknownAttack = errors.New("unknown attack")

// ErrDegenerateScores is returned (wrapped) by Attack.Run when most scores are of magnitude 1e30 or more:
// the sign of a variance of zero divided into a likelihood (σ + 1e-30), not a measurement.
var ErrDegenerateScores = errors.New("degenerate scores")

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
		gradNormSpec(),
		gradNormLiRASpec(),
		gradNormRMIASpec(),
		lossTrajectorySpec(),
		lossTrajectoryLiRASpec(),
		augmentationSpec(),
		augmentationLiRASpec(),
		boundarySpec(),
	}
}

func augmentationSpec() Spec {
	return Spec{
		Name:        "augmentation",
		Description: "Choquette-Choo et al. 2021 (label-only): fraction of the record's flips, shifts or noise draws on which the target keeps its label",
		LabelOnly:   true,
		build: func(p paramValues) (runFunc, error) {
			return func(d *Data, t int) ([]float64, error) { return Augmentation(d, t) }, nil
		},
	}
}

func augmentationLiRASpec() Spec {
	return Spec{
		Name:        "augmentation-lira",
		Description: "Choquette-Choo et al. 2021 with reference models, LiRA-style (label-only): Bernoulli likelihood ratio of the correctness under each augmentation, IN vs OUT",
		LabelOnly:   true,
		Params: []Param{
			boolParam("online", "true", "use IN and OUT reference models (false: offline, OUT models only)"),
			numRefParam(numRefHelp),
		},
		build: func(p paramValues) (runFunc, error) {
			cfg := AugmentationLiRAConfig{Online: p.getBool("online"), NumRef: p.getInt("num_ref_models")}
			return func(d *Data, t int) ([]float64, error) { return AugmentationLiRA(d, t, cfg) }, nil
		},
	}
}

func boundarySpec() Spec {
	return Spec{
		Name:        "boundary",
		Description: "Choquette-Choo et al. 2021, Li & Zhang 2021 (label-only): distance to the decision boundary found by a HopSkipJump-style search",
		LabelOnly:   true,
		Params:      []Param{intParam("queries", "300", 10, "label queries per record of the boundary search (the distance is an upper bound that tightens with the budget)")},
		build: func(p paramValues) (runFunc, error) {
			return func(d *Data, t int) ([]float64, error) { return Boundary(d, t) }, nil
		},
	}
}

func layerParam() Param {
	return intParam("layer", "0", 0, "gradient norm over the whole model (0) or over its k-th layer with parameters only (k ≥ 1)")
}

func gradNormSpec() Spec {
	return Spec{
		Name:        "gradnorm",
		Description: "Nasr et al. 2019 (white-box): score = −‖∇θ loss‖ of the target model, whole model or one layer",
		WhiteBox:    true,
		Params:      []Param{layerParam()},
		build: func(p paramValues) (runFunc, error) {
			cfg := GradNormConfig{Layer: p.getInt("layer")}
			return func(d *Data, t int) ([]float64, error) { return GradNorm(d, t, cfg) }, nil
		},
	}
}

func gradNormLiRASpec() Spec {
	return Spec{
		Name:        "gradnorm-lira",
		Description: "Carlini et al. 2022 on a white-box signal: Gaussian likelihood ratio of −log ‖∇θ loss‖ under IN and OUT reference models",
		WhiteBox:    true,
		Params: []Param{
			layerParam(),
			boolParam("online", "true", "use IN and OUT reference models (false: offline, OUT models only)"),
			{Name: "fix_variance", Type: "autobool", Default: "auto", Help: "one global variance instead of per-record variances (auto: global below 64 reference models per side)"},
			numRefParam(numRefHelp),
		},
		build: func(p paramValues) (runFunc, error) {
			g := GradNormConfig{Layer: p.getInt("layer")}
			cfg := LiRAConfig{Online: p.getBool("online"), FixVariance: p.getAutoBool("fix_variance"), NumRef: p.getInt("num_ref_models")}
			return func(d *Data, t int) ([]float64, error) { return GradNormLiRA(d, t, g, cfg) }, nil
		},
	}
}

func gradNormRMIASpec() Spec {
	return Spec{
		Name:        "gradnorm-rmia",
		Description: "Zarifzadeh et al. 2024 on a white-box signal: RMIA with Pr(x|θ) = exp(−‖∇θ loss‖) against population records",
		WhiteBox:    true,
		Params: []Param{
			layerParam(),
			numRefParam(numRefHelp),
			floatParam("offline_a", "0.3", 0, 1, false, "offline a: Pr_IN(x) ≈ a·Pr_OUT(x) + 1 − a"),
			boolParam("online", "false", "use IN and OUT reference models (offline_a is then ignored)"),
			floatParam("gamma", "1", 0, math.Inf(1), true, "γ: count population records with LR(x, z) > γ"),
		},
		build: func(p paramValues) (runFunc, error) {
			g := GradNormConfig{Layer: p.getInt("layer")}
			cfg := RMIAConfig{NumRef: p.getInt("num_ref_models"), OfflineA: p.getFloat("offline_a"), Online: p.getBool("online"), Gamma: p.getFloat("gamma")}
			return func(d *Data, t int) ([]float64, error) { return GradNormRMIA(d, t, g, cfg) }, nil
		},
	}
}

func lossTrajectorySpec() Spec {
	return Spec{
		Name:        "loss-trajectory",
		Description: "loss trajectory (white-box, training checkpoints): score = −mean loss over the checkpoints, or −slope of the loss against the epochs",
		WhiteBox:    true,
		Trajectory:  true,
		Params: []Param{
			enumParam("statistic", string(TrajectoryMean), "mean: −mean loss over the checkpoints; slope: −least-squares slope of the loss against the epochs", string(TrajectoryMean), string(TrajectorySlope)),
		},
		build: func(p paramValues) (runFunc, error) {
			stat := TrajectoryStatistic(p["statistic"])
			return func(d *Data, t int) ([]float64, error) { return LossTrajectory(d, t, stat) }, nil
		},
	}
}

func lossTrajectoryLiRASpec() Spec {
	return Spec{
		Name:        "loss-trajectory-lira",
		Description: "Carlini et al. 2022 on the loss trajectory (white-box, training checkpoints): LiRA with each checkpoint's loss as one query, IN and OUT reference models at the same checkpoint",
		WhiteBox:    true,
		Trajectory:  true,
		Params: []Param{
			boolParam("online", "true", "use IN and OUT reference models (false: offline, OUT models only)"),
			{Name: "fix_variance", Type: "autobool", Default: "auto", Help: "one global variance instead of per-record variances (auto: global below 64 reference models per side)"},
			numRefParam(numRefHelp),
		},
		build: func(p paramValues) (runFunc, error) {
			cfg := LiRAConfig{Online: p.getBool("online"), FixVariance: p.getAutoBool("fix_variance"), NumRef: p.getInt("num_ref_models")}
			return func(d *Data, t int) ([]float64, error) { return LossTrajectoryLiRA(d, t, cfg) }, nil
		},
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

// Admits returns nil when the attack can run on what an interface at access level a returns, and
// otherwise an error that says what the attack needs: every attack needs scores (a probability at
// least) except those marked LabelOnly, which run on predicted labels.
func (s Spec) Admits(a signal.Access) error {
	if s.Trajectory && !a.Logits() {
		return fmt.Errorf("attack %s reads the losses of the model's training checkpoints (white-box), but access level %s returns outputs only", s.Name, a)
	}
	if s.WhiteBox && !a.Logits() {
		return fmt.Errorf("attack %s reads the model's gradients (white-box), but access level %s returns outputs only", s.Name, a)
	}
	if a.Scores() || s.LabelOnly {
		return nil
	}
	return fmt.Errorf("attack %s needs scores, but access level %s returns the predicted label only", s.Name, a)
}

// Has reports whether the attack has a parameter called name (or so aliased).
func (s Spec) Has(name string) bool {
	_, ok := s.param(name)
	return ok
}

// Parse checks params against the attack's parameters (aliases accepted), fills in the defaults and
// builds the attack's typed configuration. Errors are *ParamError.
func (s Spec) Parse(params map[string]string) (Attack, error) {
	vals := make(paramValues, len(s.Params))
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
			return Attack{}, &ParamError{Attack: s.Name, Param: k, Unknown: true, Want: want}
		}
		if _, dup := vals[p.Name]; dup {
			return Attack{}, &ParamError{Attack: s.Name, Param: k, Value: params[k], Want: fmt.Sprintf("one value: %s is also given as %s", p.Name, strings.Join(append([]string{p.Name}, p.Aliases...), " or "))}
		}
		if err := p.check(params[k]); err != nil {
			return Attack{}, &ParamError{Attack: s.Name, Param: k, Value: params[k], Want: err.Error()}
		}
		vals[p.Name] = params[k]
	}
	for _, p := range s.Params {
		if _, ok := vals[p.Name]; !ok {
			vals[p.Name] = p.Default
		}
	}
	run, err := s.build(vals)
	if err != nil {
		var pe *ParamError
		if errors.As(err, &pe) {
			return Attack{}, err
		}
		return Attack{}, fmt.Errorf("attack %s: %w", s.Name, err)
	}
	return Attack{Name: s.Name, Params: map[string]string(vals), Compat: Compat(vals["compat"]), run: run}, nil
}

// Resolve checks params (see Parse) and returns every parameter's value under its canonical name, the
// defaults filled in.
func (s Spec) Resolve(params map[string]string) (map[string]string, error) {
	a, err := s.Parse(params)
	if err != nil {
		return nil, err
	}
	return a.Params, nil
}

// Run parses params (see Parse) and runs the attack against target model target, returning one score
// per record (higher = more likely a member).
func (s Spec) Run(d *Data, target int, params map[string]string) ([]float64, error) {
	a, err := s.Parse(params)
	if err != nil {
		return nil, err
	}
	return a.Run(d, target)
}

// Run runs the attack against target model target of d, returning one score per record (higher = more
// likely a member). Outside compat modes, scores of which most have a magnitude of 1e30 or more are an
// error wrapping ErrDegenerateScores, not a result.
func (a Attack) Run(d *Data, target int) ([]float64, error) {
	if d == nil {
		return nil, fmt.Errorf("attack %s: no data", a.Name)
	}
	scores, err := a.run(d, target)
	if err != nil {
		return nil, err
	}
	if a.Compat == CompatNone || a.Compat == "" {
		huge := 0
		for _, s := range scores {
			if math.Abs(s) >= 1e30 {
				huge++
			}
		}
		if 2*huge > len(scores) {
			return nil, fmt.Errorf("attack %s: %w: %d of %d scores have a magnitude of 1e30 or more", a.Name, ErrDegenerateScores, huge, len(scores))
		}
	}
	return scores, nil
}

func (s Spec) param(name string) (Param, bool) {
	for _, p := range s.Params {
		if p.Name == name || slices.Contains(p.Aliases, name) {
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
	case "autobool":
		if _, err := strconv.ParseBool(v); err != nil && v != "auto" {
			return errors.New("auto, true or false")
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

// paramValues holds validated parameter values by canonical name.
type paramValues map[string]string

func (p paramValues) getBool(k string) bool     { b, _ := strconv.ParseBool(p[k]); return b }
func (p paramValues) getInt(k string) int       { n, _ := strconv.Atoi(p[k]); return n }
func (p paramValues) getFloat(k string) float64 { f, _ := strconv.ParseFloat(p[k], 64); return f }
func (p paramValues) compat() Compat            { return Compat(p["compat"]) }

// getAutoBool returns nil for "auto", else the bool.
func (p paramValues) getAutoBool(k string) *bool {
	if p[k] == "auto" {
		return nil
	}
	b := p.getBool(k)
	return &b
}

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

// compatParam is the compat parameter with the originals an attack can reproduce.
func compatParam(help string, originals ...Compat) Param {
	values := []string{string(CompatNone)}
	for _, c := range originals {
		values = append(values, string(c))
	}
	return enumParam("compat", string(CompatNone), help, values...)
}

// numRefParam is num_ref_models, with one meaning for every attack (see RefConfig.NumRef).
func numRefParam(help string) Param {
	return intParam("num_ref_models", "0", 0, help)
}

const numRefHelp = "R: each record is compared with at most R reference models it was IN and R it was OUT (0 = all; see the README's Validity section)"

func lossSpec() Spec {
	return Spec{
		Name:        "loss",
		Description: "Yeom et al. 2018: score = −loss of the target model (no reference models)",
		Regression:  true,
		Params: []Param{
			compatParam("privacy-meter: Privacy Meter v2 run_loss, score = −p(true label) (sign-inverted)", CompatPrivacyMeter),
			enumParam("error", string(RegressionSquared), "regression models: the error of the residual r the score negates, r² or |r| (they rank records alike)", string(RegressionSquared), string(RegressionAbsolute)),
		},
		build: func(p paramValues) (runFunc, error) {
			cfg := LOSSConfig{Compat: p.compat(), Error: RegressionError(p["error"])}
			return func(d *Data, t int) ([]float64, error) { return LOSS(d, t, cfg) }, nil
		},
	}
}

func songMittalSpec(name string, v SongMittalValue, desc string) Spec {
	s := Spec{Name: name, Description: desc, LabelOnly: v == SMCorrectness}
	if v != SMCorrectness {
		s.Params = []Param{
			boolParam("class_thresholds", "true", "subtract the class's threshold maximising ½(TPR+TNR) on the reference models (Song & Mittal's _thre_setting)"),
			numRefParam("R: the class thresholds come from the first 2R reference models (0 = all)"),
		}
	}
	s.build = func(p paramValues) (runFunc, error) {
		cfg := SongMittalConfig{Value: v, ClassThresholds: v != SMCorrectness && p.getBool("class_thresholds"), NumRef: p.getInt("num_ref_models")}
		return func(d *Data, t int) ([]float64, error) { return SongMittal(d, t, cfg) }, nil
	}
	return s
}

// thresholdFnParam is Privacy Meter v1's threshold_fn (hypothesis_test.py), by its short name.
func thresholdFnParam() Param {
	return enumParam("threshold_fn", string(LinearItp), "Privacy Meter v1 threshold function (the score is the negated FPR level at which it calls the record a member)",
		string(LinearItp), string(ThresholdFunc), string(Gaussian), string(LogitRescale), string(MinLinearLogit))
}

func populationSpec() Spec {
	return Spec{
		Name:        "population",
		Description: "Ye et al. 2022 Attack-P: the target's loss against its loss distribution on population records",
		Params:      []Param{thresholdFnParam()},
		build: func(p paramValues) (runFunc, error) {
			cfg := PopulationConfig{ThresholdFn: ThresholdFn(p["threshold_fn"])}
			return func(d *Data, t int) ([]float64, error) { return Population(d, t, cfg) }, nil
		},
	}
}

func referenceSpec() Spec {
	return Spec{
		Name:        "reference",
		Description: "Ye et al. 2022 Attack-R: the target's loss on a record against the record's losses under OUT reference models",
		Params: []Param{
			thresholdFnParam(),
			numRefParam("R: each record is compared with at most R reference models it was OUT (0 = all)"),
			boolParam("dummies", "false", "Ye et al.'s research code: add dummy losses 0 and 1000 to the OUT losses before interpolating (linear_itp only), so records below every OUT loss are still ranked"),
		},
		build: func(p paramValues) (runFunc, error) {
			cfg := ReferenceConfig{ThresholdFn: ThresholdFn(p["threshold_fn"]), NumRef: p.getInt("num_ref_models"), Dummies: p.getBool("dummies")}
			if cfg.Dummies && cfg.ThresholdFn != LinearItp {
				return nil, &ParamError{Attack: "reference", Param: "dummies", Value: "true", Want: "false with threshold_fn " + string(cfg.ThresholdFn) + " (dummy losses apply to linear_itp)"}
			}
			return func(d *Data, t int) ([]float64, error) { return Reference(d, t, cfg) }, nil
		},
	}
}

func shadowSpec() Spec {
	def := DefaultShadowConfig()
	return Spec{
		Name:        "shadow",
		Description: "Shokri et al. 2017: attack classifier trained on shadow models' sorted prediction vectors, P(member)",
		Params: []Param{
			enumParam("features", "auto", "classifier input: sorted prediction vector, or the scalar signal as a loss (auto: sorted_probs when the data have probabilities)", "auto", string(ShadowSortedProbs), string(ShadowSignal)),
			intParam("top_k", "0", 0, "keep the k largest probabilities (0 = all classes)"),
			enumParam("per_class", "auto", "one attack model per true class (auto: when the data have labels)", "auto", "true", "false"),
			enumParam("model", string(ShadowLogistic), "attack classifier", string(ShadowLogistic), string(ShadowMLP)),
			floatParam("c", "1", 0, math.Inf(1), true, "inverse L2 regularisation strength (scikit-learn's C)"),
			intParam("hidden", strconv.Itoa(def.Hidden), 1, "MLP hidden units"),
			intParam("epochs", strconv.Itoa(def.Epochs), 1, "MLP training epochs"),
			floatParam("learning_rate", strconv.FormatFloat(def.LearningRate, 'g', -1, 64), 0, math.Inf(1), true, "MLP Adam learning rate"),
			intParam("batch_size", strconv.Itoa(def.BatchSize), 1, "MLP mini-batch size"),
			intParam("seed", strconv.FormatUint(def.Seed, 10), 0, "MLP random seed"),
			numRefParam("R: the shadow models are the first 2R reference models (0 = all)"),
			compatParam("privacy-meter: Privacy Meter v1 ShadowMetric, 1-D logistic regression on the loss with class_weight {0: n_member, 1: n_nonmember}", CompatPrivacyMeter),
		},
		build: func(p paramValues) (runFunc, error) {
			cfg := ShadowConfig{
				Features: ShadowFeatures(p["features"]), TopK: p.getInt("top_k"), Model: ShadowModel(p["model"]), InvReg: p.getFloat("c"),
				Hidden: p.getInt("hidden"), Epochs: p.getInt("epochs"), LearningRate: p.getFloat("learning_rate"),
				BatchSize: p.getInt("batch_size"), Seed: uint64(p.getInt("seed")), NumRef: p.getInt("num_ref_models"),
				Compat: p.compat(),
			}
			perClass := p["per_class"]
			return func(d *Data, t int) ([]float64, error) {
				cfg := cfg
				if cfg.Features == "auto" {
					cfg.Features = ShadowSignal
					if d.Probs != nil {
						cfg.Features = ShadowSortedProbs
					}
				}
				cfg.PerClass = perClass == "true" || (perClass == "auto" && d.Labels != nil)
				return Shadow(d, t, cfg)
			}, nil
		},
	}
}

func liraSpec() Spec {
	return Spec{
		Name:        "lira",
		Description: "Carlini et al. 2022: Gaussian likelihood ratio of the rescaled logit (regression: the residual) under IN and OUT reference models",
		Regression:  true,
		Params: []Param{
			boolParam("online", "true", "use IN and OUT reference models (false: offline, OUT models only)"),
			{Name: "fix_variance", Type: "autobool", Default: "auto", Help: "one global variance instead of per-record variances (auto: global below 64 reference models per side, as the paper advises)"},
			enumParam("offline_test", "auto", "offline test (auto: one-sided, two-sided with compat)", "auto", string(OneSided), string(TwoSided)),
			numRefParam(numRefHelp),
			intParam("num_in_models", "0", 0, "IN reference models, overriding num_ref_models (0 = num_ref_models)"),
			intParam("num_out_models", "0", 0, "OUT reference models, overriding num_ref_models (0 = num_ref_models)"),
			boolParam("population_out", "false", "offline: fit the OUT Gaussian to the target's population signals (Privacy Meter v1 benchmark 'population')"),
			compatParam("lira: the LiRA reference code (plot.py) bit for bit; privacy-meter: Privacy Meter v1 benchmark (float32 statistics)", CompatLiRA, CompatPrivacyMeter),
		},
		build: func(p paramValues) (runFunc, error) {
			cfg := LiRAConfig{
				Online: p.getBool("online"), FixVariance: p.getAutoBool("fix_variance"),
				NumRef: p.getInt("num_ref_models"), NumIn: p.getInt("num_in_models"), NumOut: p.getInt("num_out_models"),
				PopulationOut: p.getBool("population_out"), Compat: p.compat(),
			}
			if test := p["offline_test"]; test != "auto" {
				cfg.OfflineTest = OfflineTest(test)
			}
			if cfg.PopulationOut && cfg.Online {
				return nil, &ParamError{Attack: "lira", Param: "population_out", Value: "true", Want: "false with online=true (the population fit is an offline attack)"}
			}
			return func(d *Data, t int) ([]float64, error) { return LiRA(d, t, cfg) }, nil
		},
	}
}

func rmiaSpec() Spec {
	return Spec{
		Name:        "rmia",
		Description: "Zarifzadeh et al. 2024: fraction of population records that the record's likelihood ratio beats by more than γ, ties broken by the record's own ratio (regression: Gaussian likelihood of the residual)",
		Regression:  true,
		Params: []Param{
			numRefParam(numRefHelp + "; compat: R OUT of Privacy Meter's 2R candidate models, 0 = every complete pair"),
			floatParam("offline_a", "0", 0, 1, false, "offline a: Pr_IN(x) ≈ a·Pr_OUT(x) + 1 − a"),
			boolParam("tune_offline_a", "false", "choose offline_a in {0, step, …, 1} by the AUC on a reference model (Privacy Meter tune_offline_a)"),
			floatParam("offline_a_step", "0.1", 0.001, 1, false, "grid step of tune_offline_a (Privacy Meter: 0.1; a finer grid such as 0.01 tunes more closely)"),
			boolParam("online", "false", "use IN and OUT reference models (offline_a is then ignored)"),
			floatParam("gamma", "1", 0, math.Inf(1), true, "γ: count population records with LR(x, z) > γ"),
			enumParam("aggregate", string(QueryMean), "several queries: mean (average their probabilities, then one test) or majority (the paper's per-query majority vote of LR > γ)", string(QueryMean), string(QueryMajority)),
			compatParam("privacy-meter: Privacy Meter v2 run_rmia bit for bit (paired models, top-R reference selection)", CompatPrivacyMeter),
		},
		build: func(p paramValues) (runFunc, error) {
			cfg := RMIAConfig{
				NumRef: p.getInt("num_ref_models"), OfflineA: p.getFloat("offline_a"), Online: p.getBool("online"),
				Gamma: p.getFloat("gamma"), Aggregate: QueryAggregate(p["aggregate"]), Compat: p.compat(),
			}
			tune := p.getBool("tune_offline_a")
			var grid []float64
			if tune {
				if cfg.Online {
					return nil, &ParamError{Attack: "rmia", Param: "tune_offline_a", Value: "true", Want: "false with online=true (the online attack has no a)"}
				}
				grid = OfflineAGrid(p.getFloat("offline_a_step"))
			}
			if cfg.Compat == CompatPrivacyMeter && (cfg.Online || cfg.Aggregate == QueryMajority || cfg.Gamma != 1) {
				return nil, &ParamError{Attack: "rmia", Param: "compat", Value: string(cfg.Compat), Want: "none with online, aggregate=majority or gamma ≠ 1 (Privacy Meter v2 has offline RMIA with γ = 1 only)"}
			}
			return func(d *Data, t int) ([]float64, error) {
				cfg := cfg
				if tune {
					a, _, err := TuneOfflineA(d, t, grid, cfg)
					if err != nil {
						return nil, err
					}
					cfg.OfflineA = a
				}
				return RMIA(d, t, cfg)
			}, nil
		},
	}
}
