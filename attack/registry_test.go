package attack

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestRegistryTable(t *testing.T) {
	specs := Attacks()
	names := Names()
	for _, want := range []string{"loss", "entropy", "modified-entropy", "population", "reference", "shadow", "lira", "rmia"} {
		if !slices.Contains(names, want) {
			t.Errorf("registry lacks %q", want)
		}
	}
	snake := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	seen := map[string]bool{}
	for _, s := range specs {
		if seen[s.Name] {
			t.Errorf("attack %q registered twice", s.Name)
		}
		seen[s.Name] = true
		if s.Description == "" || strings.Contains(s.Description, "\n") || s.build == nil {
			t.Errorf("%s: needs a one-line description and a run function", s.Name)
		}
		pseen := map[string]bool{}
		for _, p := range s.Params {
			if !snake.MatchString(p.Name) || pseen[p.Name] {
				t.Errorf("%s: parameter %q is not snake_case or is repeated", s.Name, p.Name)
			}
			pseen[p.Name] = true
			if p.Help == "" {
				t.Errorf("%s.%s: no help", s.Name, p.Name)
			}
			if err := p.check(p.Default); err != nil {
				t.Errorf("%s.%s: default %q is invalid: want %v", s.Name, p.Name, p.Default, err)
			}
		}
	}
	// The table is not shared state: changing a returned Spec does not change the next call's.
	specs[0].Params[0].Default = "changed"
	specs[0].Name = "changed"
	if again := Attacks(); again[0].Name == "changed" || again[0].Params[0].Default == "changed" {
		t.Error("Attacks returns shared, mutable state")
	}
}

func TestLookup(t *testing.T) {
	s, err := Lookup("rmia")
	if err != nil || s.Name != "rmia" {
		t.Fatalf("Lookup(rmia) = %v, %v", s.Name, err)
	}
	_, err = Lookup("RMIA")
	if !errors.Is(err, ErrUnknownAttack) || !strings.Contains(err.Error(), `"RMIA"`) || !strings.Contains(err.Error(), "loss, entropy") {
		t.Errorf("Lookup(RMIA) error %v", err)
	}
}

func TestResolve(t *testing.T) {
	s, _ := Lookup("rmia")
	got, err := s.Resolve(map[string]string{"offline_a": "0.25", "online": "1"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"num_ref_models": "0", "offline_a": "0.25", "tune_offline_a": "false", "offline_a_step": "0.1", "online": "1", "gamma": "1", "aggregate": "mean", "compat": "none"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Resolve = %v, want %v", got, want)
	}
	for _, tc := range []struct {
		attack, key, value string
		unknown            bool
		want               string
	}{
		{"rmia", "alpha", "1", true, `attack rmia: unknown parameter "alpha" (parameters: num_ref_models, offline_a`},
		{"correctness", "class_thresholds", "true", true, "(no parameters)"},
		{"rmia", "offline_a", "1.5", false, `attack rmia: parameter offline_a: "1.5" is not valid; want a number in [0, 1]`},
		{"rmia", "offline_a", "NaN", false, "want a number in [0, 1]"},
		{"rmia", "gamma", "0", false, "want a number > 0"},
		{"rmia", "num_ref_models", "-1", false, "want an integer ≥ 0"},
		{"rmia", "num_ref_models", "1.5", false, "want an integer ≥ 0"},
		{"rmia", "online", "yes", false, "want true or false"},
		{"lira", "compat", "rmia", false, "want one of none, lira, privacy-meter"},
		{"shadow", "c", "", false, "want a number > 0"},
		{"population", "threshold_fn", "linear", false, "want one of linear_itp, threshold_func"},
	} {
		s, _ := Lookup(tc.attack)
		_, err := s.Resolve(map[string]string{tc.key: tc.value})
		var pe *ParamError
		if !errors.As(err, &pe) || pe.Param != tc.key || pe.Unknown != tc.unknown || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s=%q: error %v, want a ParamError containing %q", tc.attack, tc.key, tc.value, err, tc.want)
		}
		if _, err := s.Run(&Data{}, 0, map[string]string{tc.key: tc.value}); !errors.As(err, &pe) {
			t.Errorf("%s %s=%q: Run error %v, want the ParamError", tc.attack, tc.key, tc.value, err)
		}
	}
	// Several bad parameters: the first in name order is reported.
	_, err = s.Resolve(map[string]string{"zeta": "1", "alpha": "1"})
	if !strings.Contains(err.Error(), `"alpha"`) {
		t.Errorf("error %v, want the first bad parameter in name order", err)
	}
}

// registryData is shadowTestData with a population of Z records.
func registryData() *Data {
	d := shadowTestData(23, 120, 6, 3, 3)
	rng := rand.New(rand.NewPCG(29, 3))
	d.Z = 80
	d.Population = make([]float64, d.Z*d.M)
	for k := range d.Population {
		d.Population[k] = 0.05 + 0.9*rng.Float64()
	}
	return d
}

// TestRegistryRun checks that every attack run through the registry gives what the attack's function
// gives with the corresponding configuration.
func TestRegistryRun(t *testing.T) {
	d := registryData()
	const target = 1
	shadow := DefaultShadowConfig()
	shadowPM := shadow
	shadowPM.Compat = CompatPrivacyMeter
	shadowMLP := shadow
	shadowMLP.Model, shadowMLP.Hidden, shadowMLP.Epochs, shadowMLP.Seed = ShadowMLP, 8, 3, 5
	for _, tc := range []struct {
		name   string
		params map[string]string
		direct func() ([]float64, error)
	}{
		{"loss", nil, func() ([]float64, error) { return LOSS(d, target, LOSSConfig{}) }},
		{"loss", map[string]string{"compat": "privacy-meter"}, func() ([]float64, error) { return LOSS(d, target, LOSSConfig{Compat: CompatPrivacyMeter}) }},
		{"entropy", nil, func() ([]float64, error) {
			return SongMittal(d, target, SongMittalConfig{Value: SMEntropy, ClassThresholds: true})
		}},
		{"modified-entropy", map[string]string{"class_thresholds": "false"}, func() ([]float64, error) {
			return SongMittal(d, target, SongMittalConfig{Value: SMModifiedEntropy})
		}},
		{"confidence", map[string]string{"num_ref_models": "2"}, func() ([]float64, error) {
			return SongMittal(d, target, SongMittalConfig{Value: SMConfidence, ClassThresholds: true, NumRef: 2})
		}},
		{"correctness", nil, func() ([]float64, error) { return SongMittal(d, target, SongMittalConfig{Value: SMCorrectness}) }},
		{"population", map[string]string{"threshold_fn": "gaussian"}, func() ([]float64, error) {
			return Population(d, target, PopulationConfig{ThresholdFn: Gaussian})
		}},
		{"reference", map[string]string{"num_ref_models": "2"}, func() ([]float64, error) {
			return Reference(d, target, ReferenceConfig{ThresholdFn: LinearItp, NumRef: 2})
		}},
		{"shadow", nil, func() ([]float64, error) { return Shadow(d, target, shadow) }},
		{"shadow", map[string]string{"compat": "privacy-meter"}, func() ([]float64, error) { return Shadow(d, target, shadowPM) }},
		{"shadow", map[string]string{"model": "mlp", "hidden": "8", "epochs": "3", "seed": "5"}, func() ([]float64, error) { return Shadow(d, target, shadowMLP) }},
		{"lira", nil, func() ([]float64, error) { return LiRA(d, target, LiRAConfig{Online: true}) }},
		{"lira", map[string]string{"online": "false", "offline_test": "two-sided", "num_ref_models": "2"}, func() ([]float64, error) {
			return LiRA(d, target, LiRAConfig{OfflineTest: TwoSided, NumRef: 2})
		}},
		{"lira", map[string]string{"compat": "privacy-meter", "fix_variance": "true"}, func() ([]float64, error) {
			return LiRA(d, target, LiRAConfig{Online: true, FixVariance: new(true), Compat: CompatPrivacyMeter})
		}},
		{"rmia", map[string]string{"offline_a": "0.3", "num_ref_models": "2"}, func() ([]float64, error) {
			return RMIA(d, target, RMIAConfig{OfflineA: 0.3, NumRef: 2, Gamma: 1})
		}},
		{"rmia", map[string]string{"online": "true", "gamma": "2"}, func() ([]float64, error) {
			return RMIA(d, target, RMIAConfig{Online: true, Gamma: 2})
		}},
		{"rmia", map[string]string{"tune_offline_a": "true", "compat": "privacy-meter", "num_ref_models": "2"}, func() ([]float64, error) {
			a, _, err := TuneOfflineA(d, target, nil, RMIAConfig{Compat: CompatPrivacyMeter, NumRef: 2})
			if err != nil {
				return nil, err
			}
			return RMIA(d, target, RMIAConfig{Compat: CompatPrivacyMeter, NumRef: 2, OfflineA: a})
		}},
	} {
		s, err := Lookup(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Run(d, target, tc.params)
		if err != nil {
			t.Fatalf("%s %v: %v", tc.name, tc.params, err)
		}
		want, err := tc.direct()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s %v: registry scores differ from the direct call", tc.name, tc.params)
		}
	}
}

// TestRegistryAuto: shadow's auto features and per_class follow the data.
func TestRegistryAuto(t *testing.T) {
	d := registryData()
	s, _ := Lookup("shadow")
	bare := *d
	bare.Probs, bare.C, bare.Labels = nil, 0, nil
	got, err := s.Run(&bare, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultShadowConfig()
	cfg.Features, cfg.PerClass = ShadowSignal, false
	want, _ := Shadow(&bare, 0, cfg)
	if !reflect.DeepEqual(got, want) {
		t.Error("auto on data without probabilities and labels is not features=signal, per_class=false")
	}
}

// TestRMIAFinerGrid checks that offline_a_step reaches TuneOfflineA: the registry's tuned attack equals
// RMIA at the a that TuneOfflineA picks on the finer grid.
func TestRMIAFinerGrid(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	d := makeRMIAData(rng, 300, 200, 6)
	spec, err := Lookup("rmia")
	if err != nil {
		t.Fatal(err)
	}
	got, err := spec.Run(d, 0, map[string]string{"tune_offline_a": "true", "offline_a_step": "0.05", "num_ref_models": "2"})
	if err != nil {
		t.Fatal(err)
	}
	grid := OfflineAGrid(0.05)
	if len(grid) != 21 {
		t.Fatalf("grid of step 0.05 has %d values, want 21", len(grid))
	}
	best, _, err := TuneOfflineA(d, 0, grid, RMIAConfig{NumRef: 2})
	if err != nil {
		t.Fatal(err)
	}
	want, err := RMIA(d, 0, RMIAConfig{NumRef: 2, OfflineA: best})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("registry scores with offline_a_step=0.05 differ from RMIA at the tuned a = %v", best)
	}
	for _, step := range []string{"0", "1e-300", "5e-4"} {
		_, err := spec.Resolve(map[string]string{"offline_a_step": step})
		if err == nil || !strings.Contains(err.Error(), "offline_a_step") || !strings.Contains(err.Error(), "0.001") {
			t.Errorf("offline_a_step=%s: error %v, want one naming the parameter and its bound 0.001", step, err)
		}
	}
}

// TestRMIAQueries checks that RMIA on several queries equals RMIA on the mean of their probabilities.
func TestRMIAQueries(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	one := makeRMIAData(rng, 200, 100, 6)
	// Two queries per record: the original probability and a perturbed one.
	two := *one
	two.Q = 2
	two.Signals = make([]float64, 0, 2*len(one.Signals))
	mean := *one
	mean.Signals = make([]float64, len(one.Signals))
	for i, p := range one.Signals {
		p2 := p * (0.9 + 0.2*rng.Float64())
		p2 = min(p2, 1)
		two.Signals = append(two.Signals, p, p2)
		mean.Signals[i] = (p + p2) / 2
	}
	two.Population = make([]float64, 0, 2*len(one.Population))
	for _, p := range one.Population {
		two.Population = append(two.Population, p, p)
	}
	spec, _ := Lookup("rmia")
	got, err := spec.Run(&two, 0, map[string]string{"num_ref_models": "2"})
	if err != nil {
		t.Fatal(err)
	}
	want, err := RMIA(&mean, 0, RMIAConfig{NumRef: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Error("RMIA on two queries differs from RMIA on the mean of their probabilities")
	}
}

// TestParseAliases: a parameter given under a former name counts as the parameter itself; giving both is
// an error.
func TestParseAliases(t *testing.T) {
	var got int
	s := Spec{Name: "x", Params: []Param{{Name: "num_ref_models", Aliases: []string{"num_refs"}, Type: "int", Default: "0", Max: math.Inf(1), Help: "h"}},
		build: func(p paramValues) (runFunc, error) { got = p.getInt("num_ref_models"); return nil, nil }}
	a, err := s.Parse(map[string]string{"num_refs": "3"})
	if err != nil || got != 3 || a.Params["num_ref_models"] != "3" {
		t.Errorf("alias: %v, value %d, params %v", err, got, a.Params)
	}
	if _, err := s.Parse(map[string]string{"num_refs": "3", "num_ref_models": "2"}); err == nil || !strings.Contains(err.Error(), "also given") {
		t.Errorf("both names: error %v", err)
	}
}
