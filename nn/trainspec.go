package nn

import (
	"cmp"
	"fmt"
	"strings"
)

// TrainSpec is a training configuration as data (JSON-ready), for the sidecar of a saved model and for
// configuration files. TrainSpecOf and Config convert it to and from a TrainConfig.
type TrainSpec struct {
	Epochs    int           `json:"epochs"`
	BatchSize int           `json:"batch_size"`
	LR        float64       `json:"lr"`
	Optimizer OptimizerSpec `json:"optimizer"`
	Schedule  ScheduleSpec  `json:"schedule"`
	Loss      string        `json:"loss"` // "cross_entropy" or "mse"
	Seed      uint64        `json:"seed"`
	Augment   *AugmentSpec  `json:"augment,omitempty"`
	DropLast  bool          `json:"drop_last,omitempty"`
	DP        *DPSpec       `json:"dp,omitempty"` // DP-SGD; nil for non-private training
}

// DPSpec describes a DPConfig (its Canary and Observe hooks are not described). Sampling is always
// written ("poisson" or "shuffle"), so that a reader sees whether the batches were those the
// accountants analyse.
type DPSpec struct {
	NoiseMultiplier float64 `json:"noise_multiplier"`
	MaxGradNorm     float64 `json:"max_grad_norm"`
	Sampling        string  `json:"sampling"`
	SamplingRate    float64 `json:"sampling_rate,omitempty"`
	MicroBatch      int     `json:"micro_batch,omitempty"`
	StepsPerEpoch   int     `json:"steps_per_epoch,omitempty"`
	ExpectedBatch   float64 `json:"expected_batch,omitempty"`
}

// OptimizerSpec describes an optimizer: Kind "sgd" (Momentum, Dampening, Nesterov, WeightDecay),
// "adam" or "adamw" (Beta1, Beta2, Eps, WeightDecay), with the meaning of the fields of SGD, Adam and
// AdamW (zero values take their defaults).
type OptimizerSpec struct {
	Kind        string  `json:"kind"`
	Momentum    float64 `json:"momentum,omitempty"`
	Dampening   float64 `json:"dampening,omitempty"`
	Nesterov    bool    `json:"nesterov,omitempty"`
	Beta1       float64 `json:"beta1,omitempty"`
	Beta2       float64 `json:"beta2,omitempty"`
	Eps         float64 `json:"eps,omitempty"`
	WeightDecay float64 `json:"weight_decay,omitempty"`
}

// ScheduleSpec describes a learning-rate schedule: Kind "constant", "step" (Every, Gamma: StepDecay),
// "cosine" (Warmup, Min: Cosine) or "lira" (LiRA).
type ScheduleSpec struct {
	Kind   string  `json:"kind"`
	Every  int     `json:"every,omitempty"`
	Gamma  float64 `json:"gamma,omitempty"`
	Warmup int     `json:"warmup,omitempty"`
	Min    float64 `json:"min,omitempty"`
}

// AugmentSpec describes an Augment.
type AugmentSpec struct {
	Pad  int  `json:"pad"`
	Flip bool `json:"flip"`
}

// TrainSpecOf describes cfg as data. The optimizer, schedule and loss must be this package's types (or
// nil, for the defaults); the Progress callback is not described.
func TrainSpecOf(cfg TrainConfig) (TrainSpec, error) {
	s := TrainSpec{Epochs: cfg.Epochs, BatchSize: cfg.BatchSize, LR: cfg.LR, Seed: cfg.Seed, DropLast: cfg.DropLast}
	switch o := cfg.Optimizer.(type) {
	case nil:
		s.Optimizer = OptimizerSpec{Kind: "sgd"}
	case SGD:
		s.Optimizer = OptimizerSpec{Kind: "sgd", Momentum: o.Momentum, Dampening: o.Dampening, Nesterov: o.Nesterov, WeightDecay: o.WeightDecay}
	case Adam:
		s.Optimizer = OptimizerSpec{Kind: "adam", Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.Eps, WeightDecay: o.WeightDecay}
	case AdamW:
		s.Optimizer = OptimizerSpec{Kind: "adamw", Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.Eps, WeightDecay: o.WeightDecay}
	default:
		return s, fmt.Errorf("nn: training spec: optimizer %T cannot be described", cfg.Optimizer)
	}
	switch sc := cfg.Schedule.(type) {
	case nil, Constant:
		s.Schedule = ScheduleSpec{Kind: "constant"}
	case StepDecay:
		s.Schedule = ScheduleSpec{Kind: "step", Every: sc.Every, Gamma: sc.Gamma}
	case Cosine:
		s.Schedule = ScheduleSpec{Kind: "cosine", Warmup: sc.Warmup, Min: sc.Min}
	case LiRA:
		s.Schedule = ScheduleSpec{Kind: "lira"}
	default:
		return s, fmt.Errorf("nn: training spec: schedule %T cannot be described", cfg.Schedule)
	}
	switch cfg.Loss.(type) {
	case nil, CrossEntropy:
		s.Loss = CrossEntropy{}.Name()
	case MSE:
		s.Loss = MSE{}.Name()
	default:
		return s, fmt.Errorf("nn: training spec: loss %T cannot be described", cfg.Loss)
	}
	if cfg.Augment != nil {
		s.Augment = &AugmentSpec{Pad: cfg.Augment.Pad, Flip: cfg.Augment.Flip}
	}
	if dp := cfg.DP; dp != nil {
		s.DP = &DPSpec{NoiseMultiplier: dp.NoiseMultiplier, MaxGradNorm: dp.MaxGradNorm, Sampling: cmp.Or(dp.Sampling, SamplingPoisson),
			SamplingRate: dp.SamplingRate, MicroBatch: dp.MicroBatch, StepsPerEpoch: dp.StepsPerEpoch, ExpectedBatch: dp.ExpectedBatch}
	}
	return s, nil
}

// Config returns the TrainConfig s describes. Kinds are case-insensitive.
func (s TrainSpec) Config() (TrainConfig, error) {
	cfg := TrainConfig{Epochs: s.Epochs, BatchSize: s.BatchSize, LR: s.LR, Seed: s.Seed, DropLast: s.DropLast}
	o := s.Optimizer
	switch strings.ToLower(o.Kind) {
	case "", "sgd":
		cfg.Optimizer = SGD{Momentum: o.Momentum, Dampening: o.Dampening, Nesterov: o.Nesterov, WeightDecay: o.WeightDecay}
	case "adam":
		cfg.Optimizer = Adam{Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.Eps, WeightDecay: o.WeightDecay}
	case "adamw":
		cfg.Optimizer = AdamW{Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.Eps, WeightDecay: o.WeightDecay}
	default:
		return cfg, fmt.Errorf("nn: training spec: unknown optimizer %q (sgd, adam, adamw)", o.Kind)
	}
	switch sc := s.Schedule; strings.ToLower(sc.Kind) {
	case "", "constant":
		cfg.Schedule = Constant{}
	case "step":
		cfg.Schedule = StepDecay{Every: sc.Every, Gamma: sc.Gamma}
	case "cosine":
		cfg.Schedule = Cosine{Warmup: sc.Warmup, Min: sc.Min}
	case "lira":
		cfg.Schedule = LiRA{}
	default:
		return cfg, fmt.Errorf("nn: training spec: unknown schedule %q (constant, step, cosine, lira)", sc.Kind)
	}
	switch strings.ToLower(s.Loss) {
	case "", CrossEntropy{}.Name():
		cfg.Loss = CrossEntropy{}
	case MSE{}.Name():
		cfg.Loss = MSE{}
	default:
		return cfg, fmt.Errorf("nn: training spec: unknown loss %q (cross_entropy, mse)", s.Loss)
	}
	if s.Augment != nil {
		cfg.Augment = &Augment{Pad: s.Augment.Pad, Flip: s.Augment.Flip}
	}
	if dp := s.DP; dp != nil {
		cfg.DP = &DPConfig{NoiseMultiplier: dp.NoiseMultiplier, MaxGradNorm: dp.MaxGradNorm, Sampling: strings.ToLower(dp.Sampling),
			SamplingRate: dp.SamplingRate, MicroBatch: dp.MicroBatch, StepsPerEpoch: dp.StepsPerEpoch, ExpectedBatch: dp.ExpectedBatch}
	}
	return cfg, nil
}
