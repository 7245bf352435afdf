package audit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/pmeter/pmeter/signal"
)

// Config is a whole audit run, as written in YAML. Its sections and field names follow Privacy Meter v2
// (run, audit, train, data), so Privacy Meter's example configs parse unchanged; fields pmeter adds are
// marked "pmeter" in their comments. Fields Privacy Meter needs for GPUs or language models (device,
// tokenizer, peft, …) are accepted and ignored, with a warning from Warnings.
type Config struct {
	Run   RunConfig   `yaml:"run"`
	Audit AuditConfig `yaml:"audit"`
	Train TrainConfig `yaml:"train"`
	Data  DataConfig  `yaml:"data"`
	// Target (pmeter) audits a model trained elsewhere; see TargetConfig.
	Target TargetConfig `yaml:"target,omitempty"`
	// Range (pmeter) configures privacy_game range_membership; see RangeConfig.
	Range RangeConfig `yaml:"range,omitempty"`
	// Ramia is Privacy Meter's ramia section: it makes the run a range_membership audit with the
	// equivalent range settings (RamiaConfig). ParseConfig moves it into Range, so a parsed Config holds
	// nil here.
	Ramia *RamiaConfig `yaml:"ramia,omitempty"`
	// Usage (pmeter) configures privacy_game dataset_usage; see UsageConfig.
	Usage UsageConfig `yaml:"dataset_usage,omitempty"`

	// root keeps the parsed YAML so that validation errors can name lines.
	root *yaml.Node
	// file is the config's path, or "" for the embedded default.
	file string
	// ramia is Privacy Meter's ramia section when the config had one (moved here from Ramia).
	ramia *RamiaConfig
	// ranges is the range section, validated (privacy_game range_membership only).
	ranges *rangeSpec
	// usage is the dataset_usage section, validated (privacy_game dataset_usage only).
	usage *usageSpec
	// access lists audit.access's levels, validated (access.go); nil means logits only.
	access []signal.Access
}

// RunConfig is the run section.
type RunConfig struct {
	RandomSeed     int64  `yaml:"random_seed"`
	LogDir         string `yaml:"log_dir"`
	TimeLog        *bool  `yaml:"time_log"`
	NumExperiments int    `yaml:"num_experiments"`
	Workers        int    `yaml:"workers"` // pmeter: models trained at once (0 = number of CPUs)
}

// AuditConfig is the audit section.
type AuditConfig struct {
	PrivacyGame    string   `yaml:"privacy_game"`
	Algorithm      string   `yaml:"algorithm"`  // Privacy Meter: RMIA or LOSS
	Algorithms     []string `yaml:"algorithms"` // pmeter: several attacks by name, default parameters
	NumRefModels   *int     `yaml:"num_ref_models"`
	Device         string   `yaml:"device"`
	ReportLog      string   `yaml:"report_log"`
	BatchSize      int      `yaml:"batch_size"`
	DataSize       int      `yaml:"data_size"`
	PopulationSize int      `yaml:"population_size"`
	OfflineA       *float64 `yaml:"offline_a"`

	// pmeter additions.
	Attacks    []AttackConfig `yaml:"attacks"`     // attacks with parameters
	Split      string         `yaml:"split"`       // "pairs" (Privacy Meter v2, default), "lira" or "bernoulli"
	NumQueries int            `yaml:"num_queries"` // augmented queries per record (1, 2 = with mirror)
	Records    []int          `yaml:"records"`     // sample-level game: records to audit by leave-one-out

	// Access lists the levels of model access the attacks see (access.go): one or a list.
	Access yaml.Node `yaml:"access,omitempty"`
	// Slices lists columns whose subgroups are audited apart, and SliceMinSize the fewest members and
	// non-members a slice needs (slices.go).
	Slices       []string `yaml:"slices,omitempty"`
	SliceMinSize int      `yaml:"slice_min_size,omitempty"`
	// UserAggregates lists how record scores combine per user (max, mean, logsumexp; default all three),
	// with data.user_column (users.go).
	UserAggregates []string `yaml:"user_aggregates,omitempty"`
	// Augmentations sets the augmentations of the label-only attacks augmentation and
	// augmentation-lira (labelonly.go).
	Augmentations *AugmentationsConfig `yaml:"augmentations,omitempty"`

	// Canaries are the canaries of the DP audit games (dp_one_run, dp_multi_run; dpconfig.go).
	Canaries *CanaryConfig `yaml:"canaries,omitempty"`
}

// AttackConfig is one attack with its parameters (names as `pmeter attack --help` lists them).
type AttackConfig struct {
	Name   string            `yaml:"name"`
	Params map[string]string `yaml:"params"`
}

// TrainConfig is the train section.
type TrainConfig struct {
	ModelName         string    `yaml:"model_name"`
	Device            string    `yaml:"device"`
	BatchSize         int       `yaml:"batch_size"`
	Optimizer         string    `yaml:"optimizer"`
	LearningRate      float64   `yaml:"learning_rate"`
	WeightDecay       float64   `yaml:"weight_decay"`
	Momentum          float64   `yaml:"momentum"`
	Epochs            int       `yaml:"epochs"`
	Tokenizer         string    `yaml:"tokenizer"`
	AutoFindBatchSize *bool     `yaml:"auto_find_batch_size"`
	Peft              yaml.Node `yaml:"peft,omitempty"`
	Schedule          string    `yaml:"schedule"`        // pmeter: constant, cosine, privacy-meter (default)
	Model             yaml.Node `yaml:"model,omitempty"` // pmeter: a declarative model spec instead of model_name
	DP                *DPConfig `yaml:"dp,omitempty"`    // pmeter: train with DP-SGD (dpconfig.go)
	// Checkpoints (pmeter) are epochs after which every model's losses are recorded, with the last
	// epoch's: the loss trajectories of the trajectory attacks (trajectory.go).
	Checkpoints []int `yaml:"checkpoints,omitempty"`
}

// DataConfig is the data section.
type DataConfig struct {
	Dataset   string  `yaml:"dataset"`
	DataDir   string  `yaml:"data_dir"`
	Tokenize  *bool   `yaml:"tokenize"`
	Tokenizer *string `yaml:"tokenizer"`
	File      string  `yaml:"file"`         // pmeter: a CSV/NPY/NPZ file for dataset: csv|npy
	LabelCol  string  `yaml:"label_column"` // pmeter: label column of a CSV dataset
	TrainSize int     `yaml:"train_size"`   // pmeter: records in the training pool (0 = all)

	// pmeter: options of dataset csv and parquet (see dataset.TabularOptions), checked by validateData.
	DropColumns        []string `yaml:"drop_columns"`        // columns to ignore
	CategoricalColumns []string `yaml:"categorical_columns"` // columns to one-hot encode even when numeric
	Missing            string   `yaml:"missing"`             // error (default), drop or mean
	MaxCategories      int      `yaml:"max_categories"`      // most distinct values of a categorical column (0 = 100)

	// pmeter: modality text audits a language model from an LLM bundle (text.go); "" = the classifiers
	// pmeter trains.
	Modality string `yaml:"modality"`
	Bundle   string `yaml:"bundle"` // the LLM bundle (mia-llm-logprobs/1: directory, .npz or .jsonl)
	// Task (pmeter) is classification (default) or regression, label_column then numeric (regression.go).
	Task string `yaml:"task,omitempty"`
	// UserColumn (pmeter) names the column of a CSV/Parquet dataset that holds each record's user id:
	// memberships are drawn per user and scores aggregated per user (users.go).
	UserColumn string `yaml:"user_column,omitempty"`
}

// LoadConfig reads and validates a YAML config file. Errors name the file, line and field.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.file = path
	return c, nil
}

// ParseConfig parses and validates YAML. Unknown keys, wrong types and impossible values are errors
// that name the line and the field.
func ParseConfig(b []byte) (*Config, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the config is empty")
		}
		return nil, cleanYAMLError(err)
	}
	c := &Config{}
	// Re-decode strictly from the bytes so that unknown keys are reported with their line.
	sdec := yaml.NewDecoder(bytes.NewReader(b))
	sdec.KnownFields(true)
	if err := sdec.Decode(c); err != nil {
		return nil, cleanYAMLError(err)
	}
	c.root = &root
	if len(root.Content) > 0 {
		if err := checkNumbers(root.Content[0], reflect.TypeOf(Config{}), "", false); err != nil {
			return nil, err
		}
	}
	c.applyDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// cleanYAMLError rewrites yaml.v3's messages ("field x not found in type audit.AuditConfig") in the
// user's terms.
func cleanYAMLError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
	for typ, section := range map[string]string{"audit.Config": "the top level", "audit.RunConfig": "section run",
		"audit.AuditConfig": "section audit", "audit.TrainConfig": "section train", "audit.DataConfig": "section data",
		"audit.AttackConfig": "an attack entry", "audit.TargetConfig": "section target", "audit.ReferenceModel": "a reference model entry",
		"audit.DPConfig": "section train.dp", "audit.CanaryConfig": "section audit.canaries",
		"audit.RangeConfig": "section range", "audit.RamiaConfig": "section ramia", "audit.UsageConfig": "section dataset_usage",
		"audit.AugmentationsConfig": "section audit.augmentations"} {
		msg = strings.ReplaceAll(msg, "not found in type "+typ, "is not a known field of "+section)
	}
	return errors.New(msg)
}

// applyDefaults fills in the fields the YAML leaves out (or sets to null). A number written as 0 is
// kept, so that validate refuses it where it is impossible (epochs: 0) instead of replacing it.
func (c *Config) applyDefaults() {
	if !c.present("run", "num_experiments") {
		c.Run.NumExperiments = 1
	}
	if c.Run.LogDir == "" {
		c.Run.LogDir = "pmeter_run"
	}
	if c.Audit.PrivacyGame == "" {
		c.Audit.PrivacyGame = "privacy_loss_model"
	}
	if c.Audit.Split == "" {
		c.Audit.Split = "pairs"
	}
	if !c.present("audit", "num_queries") {
		c.Audit.NumQueries = 1
	}
	if !c.present("audit", "batch_size") {
		c.Audit.BatchSize = 1024
	}
	if c.Train.Optimizer == "" {
		c.Train.Optimizer = "SGD"
	}
	if !c.present("train", "learning_rate") {
		c.Train.LearningRate = 0.001
	}
	if !c.present("train", "epochs") {
		c.Train.Epochs = 1
	}
	if !c.present("train", "batch_size") {
		c.Train.BatchSize = 256
	}
	if c.Train.Schedule == "" {
		c.Train.Schedule = "privacy-meter"
	}
	c.applyDPDefaults()
}

// fieldError names the line of section.field (when the config has it) and the field.
func (c *Config) fieldError(section, field, format string, a ...any) error {
	msg := fmt.Sprintf(format, a...)
	if line := c.line(section, field); line > 0 {
		return fmt.Errorf("line %d: %s.%s: %s", line, section, field, msg)
	}
	return fmt.Errorf("%s.%s: %s", section, field, msg)
}

// line returns the line of the value of section.field in the parsed YAML, or 0.
func (c *Config) line(section, field string) int {
	if n := c.nodeAt(section, field); n != nil {
		return n.Line
	}
	return 0
}

// present reports whether the parsed YAML sets section.field to something other than null.
func (c *Config) present(section, field string) bool { return c.presentAt(section, field) }

// presentAt reports whether the parsed YAML sets the field at path to something other than null.
func (c *Config) presentAt(path ...string) bool {
	n := c.nodeAt(path...)
	return n != nil && !(n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// nodeAt returns the value at path (keys of nested mappings) in the parsed YAML, or nil.
func (c *Config) nodeAt(path ...string) *yaml.Node {
	if c.root == nil || len(c.root.Content) == 0 {
		return nil
	}
	n := c.root.Content[0]
	for _, key := range path {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
				break
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func (c *Config) validate() error {
	if err := c.applyRamia(); err != nil {
		return err
	}
	if c.Run.NumExperiments < 1 || c.Run.NumExperiments > maxModels {
		return c.fieldError("run", "num_experiments", "must lie in [1, %d], got %d", maxModels, c.Run.NumExperiments)
	}
	if c.Run.Workers < 0 || c.Run.Workers > maxWorkers {
		return c.fieldError("run", "workers", "must be 0 (one per CPU) or a number up to %d, got %d", maxWorkers, c.Run.Workers)
	}
	if c.Data.Modality != "" {
		return c.validateText()
	}
	switch c.Audit.PrivacyGame {
	case "privacy_loss_model", "privacy_loss_sample", "avg_privacy_loss_training_algo", GameDPOneRun, GameDPMultiRun, rangeGame, usageGame:
	default:
		return c.fieldError("audit", "privacy_game", "unknown game %q (want privacy_loss_model, avg_privacy_loss_training_algo, privacy_loss_sample, %s, %s, %s or %s)",
			c.Audit.PrivacyGame, GameDPOneRun, GameDPMultiRun, rangeGame, usageGame)
	}
	if r := c.Audit.NumRefModels; r != nil {
		if *r < 0 || *r > maxModels {
			return c.fieldError("audit", "num_ref_models", "must lie in [0, %d], got %d", maxModels, *r)
		}
		if *r == 0 {
			for _, a := range c.attackList() {
				if needsReferences(a.Name) {
					return c.fieldError("audit", "num_ref_models", "is 0, but attack %s needs reference models", a.Name)
				}
			}
		}
	}
	if c.Audit.DataSize < 0 {
		return c.fieldError("audit", "data_size", "must not be negative, got %d", c.Audit.DataSize)
	}
	if c.Audit.DataSize%2 != 0 {
		return c.fieldError("audit", "data_size", "must be even (half members, half non-members), got %d", c.Audit.DataSize)
	}
	if c.Audit.PopulationSize < 0 {
		return c.fieldError("audit", "population_size", "must not be negative, got %d", c.Audit.PopulationSize)
	}
	if c.Audit.BatchSize < 1 || c.Audit.BatchSize > maxBatch {
		return c.fieldError("audit", "batch_size", "must lie in [1, %d], got %d", maxBatch, c.Audit.BatchSize)
	}
	seen := map[int]bool{}
	for i, r := range c.Audit.Records {
		if r < 0 {
			return c.fieldError("audit", "records", "element %d is %d; records are indices into the training pool, from 0", i, r)
		}
		if seen[r] {
			return c.fieldError("audit", "records", "element %d repeats record %d", i, r)
		}
		seen[r] = true
	}
	if a := c.Audit.OfflineA; a != nil && !(*a >= 0 && *a <= 1) {
		return c.fieldError("audit", "offline_a", "must lie in [0, 1], got %v", *a)
	}
	switch c.Audit.Split {
	case "pairs", "lira", "bernoulli":
	default:
		return c.fieldError("audit", "split", "unknown split %q (want pairs, lira or bernoulli)", c.Audit.Split)
	}
	if c.Audit.NumQueries != 1 && c.Audit.NumQueries != 2 {
		return c.fieldError("audit", "num_queries", "must be 1 or 2 (the record and its mirror image), got %d", c.Audit.NumQueries)
	}
	if c.Train.Epochs < 1 || c.Train.Epochs > maxEpochs {
		return c.fieldError("train", "epochs", "must lie in [1, %d], got %d", maxEpochs, c.Train.Epochs)
	}
	if c.Train.BatchSize < 1 || c.Train.BatchSize > maxBatch {
		return c.fieldError("train", "batch_size", "must lie in [1, %d], got %d", maxBatch, c.Train.BatchSize)
	}
	if !(c.Train.LearningRate > 0) || math.IsInf(c.Train.LearningRate, 0) {
		return c.fieldError("train", "learning_rate", "must be a positive number, got %v", c.Train.LearningRate)
	}
	if !(c.Train.WeightDecay >= 0) || math.IsInf(c.Train.WeightDecay, 0) {
		return c.fieldError("train", "weight_decay", "must be a finite number ≥ 0, got %v", c.Train.WeightDecay)
	}
	if !(c.Train.Momentum >= 0) || math.IsInf(c.Train.Momentum, 0) {
		return c.fieldError("train", "momentum", "must be a finite number ≥ 0, got %v", c.Train.Momentum)
	}
	switch strings.ToLower(c.Train.Optimizer) {
	case "sgd", "adam", "adamw":
	default:
		return c.fieldError("train", "optimizer", "unknown optimizer %q (want SGD, Adam or AdamW)", c.Train.Optimizer)
	}
	switch c.Train.Schedule {
	case "privacy-meter", "constant", "cosine":
	default:
		return c.fieldError("train", "schedule", "unknown schedule %q (want privacy-meter, constant or cosine)", c.Train.Schedule)
	}
	if c.Data.Dataset == "" {
		return c.fieldError("data", "dataset", "is required (e.g. fashion-mnist, adult, purchase100, cifar10, csv)")
	}
	if c.Data.TrainSize < 0 {
		return c.fieldError("data", "train_size", "must be 0 (the whole pool) or a number of records, got %d", c.Data.TrainSize)
	}
	if err := c.validateDP(); err != nil {
		return err
	}
	if err := c.parseAccess(); err != nil {
		return err
	}
	if err := c.validateTask(); err != nil {
		return err
	}
	if err := c.validateSlices(); err != nil {
		return err
	}
	if err := c.validateUsers(); err != nil {
		return err
	}
	if err := c.validateCheckpoints(); err != nil {
		return err
	}
	if err := c.validateAugmentations(); err != nil {
		return err
	}
	if c.Audit.PrivacyGame == rangeGame {
		if err := c.parseRange(); err != nil {
			return err
		}
	}
	if c.Audit.PrivacyGame == usageGame {
		if c.Target.Model != "" {
			return c.fieldError("audit", "privacy_game", "%s trains its targets on known proportions of the dataset; an external target (target.model) is not supported yet", usageGame)
		}
		if err := c.parseUsage(); err != nil {
			return err
		}
	}
	return c.validateData()
}

// Warnings lists the accepted but ignored settings, one sentence each.
func (c *Config) Warnings() []string {
	var w []string
	if c.Audit.Device != "" || c.Train.Device != "" {
		w = append(w, "device settings are ignored: pmeter trains and infers on the CPU")
	}
	if c.Train.Tokenizer != "" || c.Data.Tokenizer != nil || (c.Data.Tokenize != nil && *c.Data.Tokenize) {
		w = append(w, "tokenizer settings are ignored: text datasets are not supported yet")
	}
	if !c.Train.Peft.IsZero() {
		w = append(w, "train.peft is ignored: parameter-efficient fine-tuning is not supported")
	}
	if len(c.Audit.Records) > 0 && c.Audit.PrivacyGame != "privacy_loss_sample" {
		w = append(w, "audit.records is ignored: only privacy_game privacy_loss_sample audits single records")
	}
	if c.ramia != nil {
		w = append(w, "the ramia section (Privacy Meter's run_range_mia.py) makes this a range_membership audit: ranges are scored by RMIA and aggregated to range-level results (Privacy Meter reports per-sample ones; pmeter's range section with compat: privacy-meter reproduces them)")
		if c.ramia.Device != "" {
			w = append(w, "ramia.device is ignored: pmeter infers on the CPU")
		}
	}
	if c.Audit.PrivacyGame == rangeGame && c.Audit.Algorithm != "" && !strings.EqualFold(c.Audit.Algorithm, "RMIA") {
		w = append(w, "audit.algorithm "+c.Audit.Algorithm+" is ignored: range_membership scores ranges with RMIA, as Privacy Meter's run_range_mia.py does")
	}
	if !reflect.DeepEqual(c.Range, RangeConfig{}) && c.Audit.PrivacyGame != rangeGame {
		w = append(w, "the range section is ignored: only privacy_game range_membership samples ranges")
	}
	if c.Audit.PrivacyGame == rangeGame && (len(c.Audit.Attacks) > 0 || len(c.Audit.Algorithms) > 0) {
		w = append(w, "audit.attacks and audit.algorithms are ignored: range_membership scores ranges with RMIA (audit.offline_a, or a tuned)")
	}
	if !reflect.DeepEqual(c.Usage, UsageConfig{}) && c.Audit.PrivacyGame != usageGame {
		w = append(w, "the dataset_usage section is ignored: only privacy_game dataset_usage estimates dataset usage")
	}
	if c.Audit.PrivacyGame == usageGame && (len(c.Audit.Attacks) > 0 || len(c.Audit.Algorithms) > 0) {
		w = append(w, "audit.attacks and audit.algorithms are ignored: dataset_usage runs dataset_usage.attack")
	}
	if c.Audit.ReportLog != "" {
		w = append(w, "audit.report_log is ignored (as in Privacy Meter v2): the report goes to <log_dir>/report")
	}
	return append(w, c.dpWarnings()...)
}
