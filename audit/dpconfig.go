package audit

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/pmeter/pmeter/accountant"
	"github.com/pmeter/pmeter/dpaudit"
	"github.com/pmeter/pmeter/metric"
	"github.com/pmeter/pmeter/nn"
)

// DPConfig is train.dp (pmeter): every model of the run trains with DP-SGD (Abadi et al., "Deep Learning
// with Differential Privacy", CCS 2016): each example's gradient clipped to norm MaxGradNorm, Gaussian
// noise of NoiseMultiplier·MaxGradNorm added to their sum. Exactly one of NoiseMultiplier and
// TargetEpsilon is set; with TargetEpsilon the run calibrates the noise multiplier with the accountant
// (accountant.CalibrateNoise). Parsed and checked once, with the rest of the config (validateDP); the
// run resolves it into a DPRecipe once the size of the training sets is known.
type DPConfig struct {
	NoiseMultiplier *float64 `yaml:"noise_multiplier"` // σ: the noise's standard deviation over the clipping norm
	TargetEpsilon   *float64 `yaml:"target_epsilon"`   // or the ε (at Delta) to calibrate σ for
	MaxGradNorm     *float64 `yaml:"max_grad_norm"`    // C: every example's gradient is clipped to this L2 norm
	Delta           *float64 `yaml:"delta"`            // δ of the guarantee, in (0, 1); 1e-5 when absent
	Accountant      string   `yaml:"accountant"`       // rdp (default) or pld
	Sampling        string   `yaml:"sampling"`         // poisson (default: what the accountant assumes) or shuffle
	MicroBatch      int      `yaml:"micro_batch"`      // examples whose gradients are held at once; 0: nn's default
}

// The batch samplings of train.dp.sampling.
const (
	// SamplingPoisson takes every record into every step's batch independently with probability q =
	// batch_size / N: the subsampled Gaussian mechanism that the accountants analyse.
	SamplingPoisson = "poisson"
	// SamplingShuffle cuts each epoch's shuffled records into batches of batch_size: the usual
	// implementation, which the accountants do not analyse.
	SamplingShuffle = "shuffle"
)

// shuffleCaveat is what a run with shuffled batches says of the accountant's ε.
const shuffleCaveat = "the batches are shuffled fixed-size batches (train.dp.sampling: shuffle), not the Poisson sampling " +
	"the accountant analyses; the ε is that of Poisson sampling at the same rate, which shuffling does not inherit " +
	"(Chua et al. 2024 show it can be much larger), so an audit above it is no evidence of a bug"

// applyDPDefaults fills in the train.dp and audit.canaries fields the YAML leaves out.
func (c *Config) applyDPDefaults() {
	if dp := c.Train.DP; dp != nil {
		if dp.Delta == nil {
			d := metric.DefaultEpsilonDelta
			dp.Delta = &d
		}
		if dp.Accountant == "" {
			dp.Accountant = string(accountant.KindRDP)
		}
		if dp.Sampling == "" {
			dp.Sampling = SamplingPoisson
		}
	}
	if !c.isCanaryGame() {
		return
	}
	if c.Audit.Canaries == nil {
		c.Audit.Canaries = &CanaryConfig{}
	}
	k := c.Audit.Canaries
	if !c.presentAt("audit", "canaries", "count") {
		k.Count = 1000
		if c.Audit.PrivacyGame == GameDPMultiRun {
			k.Count = 1
		}
	}
	if k.Kind == "" {
		k.Kind = CanaryMislabelled
	}
	if k.Kind == CanaryGradient {
		if k.Direction == "" {
			k.Direction = dpaudit.DirectionDirac
		}
		if k.Score == "" {
			k.Score = dpaudit.ScoreLikelihood
		}
		if k.Isolate == nil {
			t := true
			k.Isolate = &t
		}
		// k± stay unset unless given: the run plans them from the claim before training.
		return
	}
	if c.Audit.PrivacyGame == GameDPOneRun {
		// Guessing a tenth of the canaries on each side: enough guesses for a bound of ε ≈ 4 when nearly
		// all are right (m = 1000), few enough that only the canaries the model is surest about count.
		def := max(1, k.Count/10)
		if k.KPlus == nil {
			k.KPlus = &def
		}
		if k.KMinus == nil {
			k.KMinus = &def
		}
	}
}

// validateDP checks train.dp and the DP audit games' settings (audit.canaries); errors name the line and
// the field.
func (c *Config) validateDP() error {
	if dp := c.Train.DP; dp != nil {
		switch {
		case dp.NoiseMultiplier == nil && dp.TargetEpsilon == nil:
			return c.pathError([]string{"train", "dp"}, "set one of noise_multiplier (σ) and target_epsilon (σ calibrated by the accountant)")
		case dp.NoiseMultiplier != nil && dp.TargetEpsilon != nil:
			return c.pathError([]string{"train", "dp", "target_epsilon"}, "set either noise_multiplier or target_epsilon, not both")
		case dp.NoiseMultiplier != nil && !(*dp.NoiseMultiplier > 0):
			return c.pathError([]string{"train", "dp", "noise_multiplier"}, "must be a number > 0, got %v", *dp.NoiseMultiplier)
		case dp.TargetEpsilon != nil && !(*dp.TargetEpsilon > 0):
			return c.pathError([]string{"train", "dp", "target_epsilon"}, "must be a number > 0, got %v", *dp.TargetEpsilon)
		case dp.MaxGradNorm == nil:
			return c.pathError([]string{"train", "dp"}, "needs max_grad_norm, the L2 norm every example's gradient is clipped to")
		case !(*dp.MaxGradNorm > 0):
			return c.pathError([]string{"train", "dp", "max_grad_norm"}, "must be a number > 0, got %v", *dp.MaxGradNorm)
		case !(*dp.Delta > 0 && *dp.Delta < 1):
			return c.pathError([]string{"train", "dp", "delta"}, "must lie in (0, 1), got %v", *dp.Delta)
		case dp.MicroBatch < 0 || dp.MicroBatch > maxBatch:
			return c.pathError([]string{"train", "dp", "micro_batch"}, "must be 0 (nn's default) or a number of examples up to %d, got %d", maxBatch, dp.MicroBatch)
		case c.Target.Model != "":
			return c.pathError([]string{"train", "dp"}, "cannot describe an external target (target.model): pmeter did not train it, so no accountant speaks for it")
		}
		if _, err := accountant.ParseKind(dp.Accountant); err != nil {
			return c.pathError([]string{"train", "dp", "accountant"}, "unknown accountant %q (want rdp or pld)", dp.Accountant)
		}
		if dp.Sampling != SamplingPoisson && dp.Sampling != SamplingShuffle {
			return c.pathError([]string{"train", "dp", "sampling"}, "unknown sampling %q (want poisson, as the accountant assumes, or shuffle)", dp.Sampling)
		}
	}
	k := c.Audit.Canaries
	if !c.isCanaryGame() {
		if k != nil {
			return c.pathError([]string{"audit", "canaries"}, "applies to privacy_game %s or %s only, not %s", GameDPOneRun, GameDPMultiRun, c.Audit.PrivacyGame)
		}
		return nil
	}
	game := c.Audit.PrivacyGame
	switch {
	case c.Target.Model != "":
		return c.fieldError("audit", "privacy_game", "%s trains its targets with canaries; it cannot audit an external target (target.model)", game)
	case game == GameDPOneRun && c.Run.NumExperiments != 1:
		return c.fieldError("run", "num_experiments", "privacy_game %s trains one target model, got %d (the multi-run game %s trains several)", game, c.Run.NumExperiments, GameDPMultiRun)
	case game == GameDPMultiRun && c.Run.NumExperiments < 4:
		return c.fieldError("run", "num_experiments", "privacy_game %s needs at least 4 training runs (each canary in half of them), got %d; dozens give a useful bound", game, c.Run.NumExperiments)
	case game == GameDPOneRun && k.Count < 2 || k.Count < 1 || k.Count > maxCanaries:
		least := 1
		if game == GameDPOneRun {
			least = 2
		}
		return c.pathError([]string{"audit", "canaries", "count"}, "must lie in [%d, %d], got %d", least, maxCanaries, k.Count)
	}
	switch k.Kind {
	case CanaryNatural, CanaryMislabelled, CanaryOOD:
		for _, f := range []string{"direction", "score", "isolate"} {
			if c.presentAt("audit", "canaries", f) {
				return c.pathError([]string{"audit", "canaries", f}, "applies to gradient canaries (kind: gradient) only, not %s", k.Kind)
			}
		}
	case CanaryGradient:
		switch {
		case c.Train.DP == nil:
			return c.pathError([]string{"audit", "canaries", "kind"}, "gradient canaries are inserted into DP-SGD's gradient sums: set train.dp")
		case k.Direction != dpaudit.DirectionDirac && k.Direction != dpaudit.DirectionRandom:
			return c.pathError([]string{"audit", "canaries", "direction"}, "unknown direction %q (want dirac or random)", k.Direction)
		case k.Score != dpaudit.ScoreLikelihood && k.Score != dpaudit.ScoreSum:
			return c.pathError([]string{"audit", "canaries", "score"}, "unknown score %q (want likelihood or sum)", k.Score)
		case game == GameDPOneRun && (k.KPlus == nil) != (k.KMinus == nil):
			return c.pathError([]string{"audit", "canaries", "k_plus"}, "give both k_plus and k_minus, or neither (the run then plans them from the claim before training)")
		}
	default:
		return c.pathError([]string{"audit", "canaries", "kind"}, "unknown kind %q (want natural, mislabelled, ood or gradient)", k.Kind)
	}
	if game == GameDPMultiRun {
		for _, f := range []string{"k_plus", "k_minus"} {
			if c.presentAt("audit", "canaries", f) {
				return c.pathError([]string{"audit", "canaries", f}, "applies to privacy_game %s only: the multi-run game chooses its threshold on held-out runs", GameDPOneRun)
			}
		}
		return nil
	}
	if k.KPlus == nil { // gradient canaries: planned in the run
		return nil
	}
	switch kp, km := *k.KPlus, *k.KMinus; {
	case kp < 0:
		return c.pathError([]string{"audit", "canaries", "k_plus"}, "must not be negative, got %d", kp)
	case km < 0:
		return c.pathError([]string{"audit", "canaries", "k_minus"}, "must not be negative, got %d", km)
	case kp+km == 0:
		return c.pathError([]string{"audit", "canaries", "k_plus"}, "k_plus and k_minus are both 0: the audit needs at least one guess")
	case kp+km > k.Count:
		return c.pathError([]string{"audit", "canaries", "k_plus"}, "k_plus %d + k_minus %d guesses exceed the %d canaries", kp, km, k.Count)
	}
	return nil
}

// dpWarnings lists the settings that the DP audit games ignore.
func (c *Config) dpWarnings() []string {
	if !c.isCanaryGame() {
		return nil
	}
	var ignored []string
	for _, f := range []string{"attacks", "algorithm", "algorithms", "num_ref_models", "offline_a", "split", "data_size"} {
		if c.presentAt("audit", f) {
			ignored = append(ignored, "audit."+f)
		}
	}
	if len(ignored) == 0 {
		return nil
	}
	score := "with the LOSS attack, which needs no reference model"
	if c.Audit.Canaries != nil && c.Audit.Canaries.Kind == CanaryGradient {
		score = "from DP-SGD's noisy gradient sums"
	}
	return []string{fmt.Sprintf("%s is ignored: privacy_game %s scores its canaries %s, "+
		"and draws the canaries' inclusion itself", strings.Join(ignored, ", "), c.Audit.PrivacyGame, score)}
}

// DPRecipe resolves train.dp for a run of c on data d (nil without train.dp): the sampling rate, steps,
// noise multiplier and the accountant's ε that the run's models will train with. `pmeter plan` prints it.
func (c *Config) DPRecipe(ctx context.Context, d *Data) (*DPRecipe, error) {
	return c.resolveDP(ctx, c.dpTrainRecords(d.Pool.Len()))
}

// maxCanaries bounds audit.canaries.count.
const maxCanaries = 1 << 24

// pathError names the line of the field at path (or of the nearest enclosing field the YAML has) and the
// field, as fieldError does for section.field.
func (c *Config) pathError(path []string, format string, a ...any) error {
	msg := fmt.Sprintf(format, a...)
	name := strings.Join(path, ".")
	for k := len(path); k > 0; k-- {
		if n := c.nodeAt(path[:k]...); n != nil {
			return fmt.Errorf("line %d: %s: %s", n.Line, name, msg)
		}
	}
	return fmt.Errorf("%s: %s", name, msg)
}

// DPRecipe is a run's DP-SGD recipe resolved for its training sets: the sampling rate q and the number
// of steps T that the models' training takes, the noise multiplier σ (as configured, or calibrated for
// the target ε), and the accountant's (ε, δ) guarantee for them. A DP recipe is part of every model's
// identity (its key), so that a DP model is never confused with a non-private one or with another
// recipe's.
//
// q and T come from the nominal training-set size N (TrainRecords; dpTrainRecords): q = batch_size / N
// and T = epochs · ⌈N / batch_size⌉. They are fixed by the recipe, whatever records a model happens to
// train on, as the accountant assumes (a sampling rate that moved with the presence of a record would be
// another mechanism).
type DPRecipe struct {
	NoiseMultiplier float64  `json:"noise_multiplier"`
	TargetEpsilon   *float64 `json:"target_epsilon,omitempty"` // when σ was calibrated for it
	MaxGradNorm     float64  `json:"max_grad_norm"`
	MicroBatch      int      `json:"micro_batch,omitempty"`
	// Epsilon is the accountant's ε at Delta for (q, σ, T); RDPOrder the RDP order that attains it.
	Epsilon    float64 `json:"epsilon"`
	Delta      float64 `json:"delta"`
	Accountant string  `json:"accountant"`
	RDPOrder   float64 `json:"rdp_order,omitempty"`
	// Sampling is SamplingPoisson or SamplingShuffle; SamplingRate is q, Steps is T.
	Sampling      string  `json:"sampling"`
	SamplingRate  float64 `json:"sampling_rate"`
	Steps         int     `json:"steps"`
	StepsPerEpoch int     `json:"steps_per_epoch"`
	Epochs        int     `json:"epochs"`
	BatchSize     int     `json:"batch_size"`    // the expected batch size q·N
	TrainRecords  int     `json:"train_records"` // N
	// MatchesAccountant is false when the training is not the mechanism the accountant analyses
	// (shuffled batches); Caveat then says why.
	MatchesAccountant bool   `json:"matches_accountant"`
	Caveat            string `json:"caveat,omitempty"`

	// curve is the privacy curve of the report's claim, when resolveDP sampled it with the accountant it
	// built for Epsilon (PLD); nil: claim builds the accountant again.
	curve *privacyCurve
}

// dpTrainRecords returns N, the nominal size of a training set of the run's game on a training pool of
// n records: half the pool in the splits of privacy_loss_model and avg_privacy_loss_training_algo
// (exactly n/2 in the pairs design, n/2 on average in lira and bernoulli); (n − 1)/2 in the leave-one-out
// game; the fixed records plus half the canaries in the DP audit games.
func (c *Config) dpTrainRecords(n int) int {
	switch c.Audit.PrivacyGame {
	case "privacy_loss_sample":
		return (n - 1) / 2
	case GameDPOneRun, GameDPMultiRun:
		k := c.Audit.Canaries
		fixed := n - k.Count // natural and mislabelled canaries come from the pool
		switch k.Kind {
		case CanaryOOD:
			fixed = n
		case CanaryGradient:
			return n // gradients, not records
		}
		return fixed + k.Count/2
	}
	return n / 2
}

// resolveDP resolves train.dp (nil when absent) for training sets of nominal size n: q, T, σ (calibrated
// for train.dp.target_epsilon with the accountant) and the accountant's ε. Errors name the field at fault.
func (c *Config) resolveDP(ctx context.Context, n int) (*DPRecipe, error) {
	dp := c.Train.DP
	if dp == nil {
		return nil, nil
	}
	b := c.Train.BatchSize
	if n < 1 || b > n {
		return nil, c.fieldError("train", "batch_size", "is %d, but a training set has %d records: DP-SGD samples each record "+
			"into a step's batch with probability batch_size / N, which must not exceed 1", b, n)
	}
	r := &DPRecipe{
		MaxGradNorm: *dp.MaxGradNorm, MicroBatch: dp.MicroBatch, Delta: *dp.Delta, Accountant: dp.Accountant,
		Sampling: dp.Sampling, SamplingRate: float64(b) / float64(n), StepsPerEpoch: (n + b - 1) / b,
		Epochs: c.Train.Epochs, BatchSize: b, TrainRecords: n, MatchesAccountant: dp.Sampling == SamplingPoisson,
	}
	r.Steps = r.Epochs * r.StepsPerEpoch
	if !r.MatchesAccountant {
		r.Caveat = shuffleCaveat
	}
	opt := accountant.Options{Kind: accountant.Kind(dp.Accountant)}
	if dp.TargetEpsilon != nil {
		eps := *dp.TargetEpsilon
		r.TargetEpsilon = &eps
		cal, err := accountant.CalibrateNoise(ctx, accountant.Target{Epsilon: eps, Delta: r.Delta, SamplingRate: r.SamplingRate, Steps: r.Steps}, opt)
		if err != nil {
			return nil, c.pathError([]string{"train", "dp", "target_epsilon"}, "calibrating the noise multiplier for ε = %v at δ = %v (q = %.6g, %d steps, %s accountant): %v",
				eps, r.Delta, r.SamplingRate, r.Steps, dp.Accountant, err)
		}
		r.NoiseMultiplier = cal.NoiseMultiplier
	} else {
		r.NoiseMultiplier = *dp.NoiseMultiplier
	}
	ph := accountant.Phase{SamplingRate: r.SamplingRate, NoiseMultiplier: r.NoiseMultiplier, Steps: r.Steps}
	var g accountant.Guarantee
	var pld *accountant.PLD
	var err error
	if opt.Kind == accountant.KindPLD {
		// Built here rather than by opt.Epsilon so that the report's privacy curve comes from the same PLD:
		// its construction is the slow part for a small σ (the grid grows as 1/σ²).
		if pld, err = accountant.NewPLD(ctx, opt.PLDInterval, ph); err == nil {
			g.Epsilon, err = pld.Epsilon(r.Delta)
		}
	} else {
		g, err = opt.Epsilon(ctx, r.Delta, ph)
	}
	if err != nil {
		return nil, c.pathError([]string{"train", "dp"}, "the %s accountant: %v", dp.Accountant, err)
	}
	if math.IsInf(g.Epsilon, 0) || math.IsNaN(g.Epsilon) {
		return nil, c.pathError([]string{"train", "dp", "noise_multiplier"}, "σ = %v gives no finite ε at δ = %v (q = %.6g, %d steps, %s accountant): more noise is needed for any guarantee",
			r.NoiseMultiplier, r.Delta, r.SamplingRate, r.Steps, dp.Accountant)
	}
	r.Epsilon, r.RDPOrder = g.Epsilon, g.Order
	if pld != nil {
		if r.curve, err = r.sampleCurve(ctx, pld.Epsilon, pld.Curve); err != nil {
			return nil, c.pathError([]string{"train", "dp"}, "the %s accountant's privacy curve: %v", dp.Accountant, err)
		}
	}
	return r, nil
}

// String describes the recipe in one line, for the run's log.
func (r *DPRecipe) String() string {
	s := fmt.Sprintf("DP-SGD with noise multiplier %.6g", r.NoiseMultiplier)
	if r.TargetEpsilon != nil {
		s += fmt.Sprintf(" (calibrated for ε = %g)", *r.TargetEpsilon)
	}
	s += fmt.Sprintf(", clipping norm %g, sampling rate %.6g (%s), %d steps: ε = %.4g at δ = %s (%s accountant",
		r.MaxGradNorm, r.SamplingRate, r.Sampling, r.Steps, r.Epsilon, metric.FormatDelta(r.Delta), r.Accountant)
	if r.RDPOrder > 0 {
		s += fmt.Sprintf(", order %g", r.RDPOrder)
	}
	s += ")"
	if r.Caveat != "" {
		s += "; not the accountant's mechanism: " + r.Caveat
	}
	return s
}

// keyPart is what the recipe adds to a model's key: everything that changes the trained weights (σ, C,
// q, T, the sampling and the micro-batches), "" without DP, so that non-private models keep their keys.
func (r *DPRecipe) keyPart() string {
	if r == nil {
		return ""
	}
	return fmt.Sprintf(" dp: sigma=%v clip=%v q=%v steps=%d sampling=%s micro=%d", r.NoiseMultiplier, r.MaxGradNorm,
		r.SamplingRate, r.Steps, r.Sampling, r.MicroBatch)
}

// DPTraining holds the values that DP-SGD training in package nn needs (nn.TrainConfig.DP), as plain
// numbers, so that the run's recipe is turned into nn's options in one place (withDP).
type DPTraining struct {
	NoiseMultiplier float64 // σ
	MaxGradNorm     float64 // C
	Sampling        string  // SamplingPoisson or SamplingShuffle
	SamplingRate    float64 // q: every record in a step's batch with this probability (poisson); the noisy sum is divided by q·N
	MicroBatch      int     // 0: nn's default
	// Steps is T, the number of noisy steps the accountant counts: StepsPerEpoch per epoch.
	Steps, StepsPerEpoch int
}

// Training returns the values nn's DP-SGD needs.
func (r *DPRecipe) Training() DPTraining {
	return DPTraining{NoiseMultiplier: r.NoiseMultiplier, MaxGradNorm: r.MaxGradNorm, Sampling: r.Sampling,
		SamplingRate: r.SamplingRate, MicroBatch: r.MicroBatch, Steps: r.Steps, StepsPerEpoch: r.StepsPerEpoch}
}

// dpTrainer turns a model's training configuration into its DP-SGD one (withDP); Options carries another
// for tests.
type dpTrainer func(cfg nn.TrainConfig, dp *DPRecipe) (nn.TrainConfig, error)

// withDP is the one place where a run's DP recipe enters nn's training configuration; cfg is returned
// unchanged without one.
func withDP(cfg nn.TrainConfig, dp *DPRecipe) (nn.TrainConfig, error) {
	if dp == nil {
		return cfg, nil
	}
	// nn's DP-SGD takes exactly the mechanism the accountant counted: T = epochs · StepsPerEpoch noisy
	// steps, each record in a step's batch with probability q, the noisy sum divided by the expected
	// batch size q·N of the nominal N, whatever the size of the training set a model happens to get.
	t := dp.Training()
	if t.StepsPerEpoch < 1 || t.Steps != cfg.Epochs*t.StepsPerEpoch {
		return cfg, fmt.Errorf("DP-SGD recipe: %d steps is not %d epochs of %d steps", t.Steps, cfg.Epochs, t.StepsPerEpoch)
	}
	cfg.DP = &nn.DPConfig{NoiseMultiplier: t.NoiseMultiplier, MaxGradNorm: t.MaxGradNorm, Sampling: t.Sampling,
		SamplingRate: t.SamplingRate, MicroBatch: t.MicroBatch, StepsPerEpoch: t.StepsPerEpoch,
		ExpectedBatch: float64(dp.BatchSize)} // q·N, as the recipe fixed it
	return cfg, nil
}

// trainConfigFor returns model training configuration for seed with the run's DP recipe (nil: none).
func (c *Config) trainConfigFor(seed uint64, dp *DPRecipe, opt Options) (nn.TrainConfig, error) {
	train := withDP
	if opt.dpTrain != nil {
		train = opt.dpTrain
	}
	return train(c.trainConfig(seed), dp)
}
