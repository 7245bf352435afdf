package audit

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/dataset"
	"github.com/pmeter/pmeter/nn"
	"github.com/pmeter/pmeter/nn/zoo"
)

// Plan is what a run will do, fixed before anything is trained: the membership design, the audited and
// population records, and one job per model with the content hash that names its artefacts.
type Plan struct {
	// Models is the number of models M (targets and references). Targets are models 0..Targets−1.
	Models, Targets int
	// Memberships is pool records × models: which pool records each model trains on.
	Memberships *dataset.Memberships
	// Design is how Memberships were drawn; the attacks choose every record's reference models by it.
	Design attack.Design
	// NumRef is R, the reference models per side that every attack with references uses
	// (audit.num_ref_models).
	NumRef int
	// Audit lists the pool records that are audited (the attacks' N records), in order.
	Audit []int
	// PopulationIdx lists the population records used as RMIA's z (and Attack-P's population).
	PopulationIdx []int
	// Specs is the model architecture.
	Specs []nn.LayerSpec
	// Jobs has one entry per model.
	Jobs []Job
	// Attacks are the attacks to run, with their parameters.
	Attacks []AttackConfig
	// DP is the DP-SGD recipe every model trains with (train.dp), nil for non-private training.
	DP *DPRecipe
	// Users holds each pool record's user index into UserNames (data.user_column), nil without users;
	// Memberships are then drawn per user (users.go).
	Users     []int
	UserNames []string

	// build returns a freshly initialised model of the architecture.
	build func(name string, seed uint64) (*nn.Sequential, error)
	// external holds the models read from files (an external target and its references) by model index.
	external map[int]*externalModel
}

// Job is the training of one model and the extraction of its signals.
type Job struct {
	Model int
	Seed  uint64
	// Train lists the pool records the model trains on.
	Train []int
	// ModelKey hashes everything that determines the trained weights; SignalKey adds the records whose
	// signals are extracted.
	ModelKey, SignalKey string
}

// NumRefModels returns R, the number of reference models per side that the attacks use (a record is
// compared with R models it trained and R it did not): audit.num_ref_models, or 4 when it is unset and an
// attack needs references. Privacy Meter's R is the same: with its pairs design each record is OUT for R
// of the 2R reference models.
func (c *Config) NumRefModels() int {
	if r := c.Audit.NumRefModels; r != nil {
		return *r
	}
	for _, a := range c.attackList() {
		if needsReferences(a.Name) {
			return 4
		}
	}
	return 0
}

// needsReferences reports whether an attack needs reference models besides the target.
func needsReferences(name string) bool {
	switch name {
	case "loss", "population", "entropy", "modified-entropy", "confidence", "correctness", "gradnorm":
		return false
	}
	return true
}

// attackList returns the attacks of the config: audit.attacks, else audit.algorithms, else Privacy
// Meter's audit.algorithm, else pmeter's default set.
func (c *Config) attackList() []AttackConfig {
	if c.Audit.PrivacyGame == rangeGame {
		return []AttackConfig{c.rangeAttack()}
	}
	if c.Audit.PrivacyGame == usageGame {
		return nil // runUsage runs dataset_usage.attack
	}
	if len(c.Audit.Attacks) > 0 {
		return c.Audit.Attacks
	}
	if len(c.Audit.Algorithms) > 0 {
		var out []AttackConfig
		for _, a := range c.Audit.Algorithms {
			out = append(out, AttackConfig{Name: strings.ToLower(a)})
		}
		return out
	}
	switch strings.ToUpper(c.Audit.Algorithm) {
	case "RMIA":
		p := map[string]string{}
		if c.Audit.OfflineA != nil {
			p["offline_a"] = fmt.Sprint(*c.Audit.OfflineA)
		} else {
			p["tune_offline_a"] = "true"
		}
		return []AttackConfig{{Name: "rmia", Params: p}}
	case "LOSS":
		return []AttackConfig{{Name: "loss"}}
	case "":
	default:
		return []AttackConfig{{Name: strings.ToLower(c.Audit.Algorithm)}}
	}
	if c.regression() {
		return defaultRegressionAttacks()
	}
	return DefaultAttacks()
}

// DefaultAttacks is the attack set of a run that names none: RMIA (offline, a tuned), LiRA online and
// offline, Attack-R, Attack-P and LOSS.
func DefaultAttacks() []AttackConfig {
	return []AttackConfig{
		{Name: "rmia", Params: map[string]string{"tune_offline_a": "true"}},
		{Name: "lira", Params: map[string]string{"online": "true"}},
		{Name: "lira", Params: map[string]string{"online": "false"}},
		{Name: "reference", Params: map[string]string{"dummies": "true"}},
		{Name: "population"},
		{Name: "loss"},
	}
}

// modelCount returns the number of models M that audit.split trains for E targets and R references per
// side, and the split's design (not for an external target):
//   - pairs (Privacy Meter v2, run_mia.py): max(⌈E/2⌉, R+1) complementary pairs, so that with the target and
//     its pair excluded every record has R IN and R OUT references;
//   - lira (Carlini et al. 2022: every record IN for exactly half of the models): with the target excluded
//     and the counts equalised (attack.SelectReferences) a record keeps M/2 − 1 per side, so M = 2(R+1),
//     even and at least E;
//   - bernoulli (every record in every model independently with probability ½, the one-run DP audit's
//     design): M = 2(R+1), at least E; a record has about R + ½ models per side, capped at R.
//
// Tuning RMIA's offline a attacks a reference model with references of its own, none of them the target or
// its pair: that takes at least six models (three pairs).
func (c *Config) modelCount() (int, attack.Design) {
	if c.Audit.PrivacyGame == usageGame && c.usage != nil {
		return len(c.usage.proportions) + c.usage.refs, attack.DesignOther
	}
	E, R := c.Run.NumExperiments, c.NumRefModels()
	least := 0
	for _, a := range c.attackList() {
		if a.Name == "rmia" && a.Params["tune_offline_a"] == "true" && a.Params["compat"] != string(attack.CompatPrivacyMeter) {
			least = 6
		}
	}
	if c.Audit.PrivacyGame == rangeGame && c.Range.Compat != string(attack.CompatPrivacyMeter) {
		least = 6 // the trim is tuned on a reference model as a is
	}
	switch c.Audit.Split {
	case "pairs":
		return 2 * max((E+1)/2, R+1, least/2), attack.DesignPairs
	case "lira":
		return max(2*(R+1), E+E%2, least), attack.DesignLiRA
	}
	return max(2*(R+1), E, least), attack.DesignBernoulli
}

// MakePlan fixes the membership design and the jobs of a run on data d.
func MakePlan(c *Config, d *Data) (*Plan, error) { return makePlan(context.Background(), c, d) }

// makePlan is MakePlan; ctx bounds the calibration of a DP recipe's noise.
func makePlan(ctx context.Context, c *Config, d *Data) (*Plan, error) {
	if c.isCanaryGame() {
		return nil, c.fieldError("audit", "privacy_game", "%s plans its canaries and runs itself (Run), not with MakePlan", c.Audit.PrivacyGame)
	}
	n := d.Pool.Len()
	seed := uint64(c.Run.RandomSeed)
	E, R := c.Run.NumExperiments, c.NumRefModels()
	p := &Plan{Targets: E, Attacks: c.attackList()}
	var err error
	p.NumRef = R
	if c.Audit.PrivacyGame == usageGame {
		p.Targets = len(c.usage.proportions)
		if err := usagePlan(c, d, p, seed); err != nil {
			return nil, err
		}
		p.Attacks = nil
		if p.DP, err = c.resolveDP(ctx, c.dpTrainRecords(n)); err != nil {
			return nil, err
		}
		return p, p.addJobs(c, d, seed)
	}
	if c.Target.Model != "" {
		// The target's training set comes from outside; the references are drawn independently of it.
		p.Design = attack.DesignOther
		err = externalPlan(c, d, p)
	} else {
		p.Models, p.Design = c.modelCount()
		ms := derive(seed, "memberships")
		switch {
		case c.Data.UserColumn != "":
			p.Memberships, err = c.userMemberships(d, p, ms)
		case p.Design == attack.DesignPairs:
			p.Memberships, err = dataset.PairedMemberships(n, p.Models/2, ms)
		case p.Design == attack.DesignLiRA:
			p.Memberships, err = dataset.LiRAMemberships(n, p.Models, 0.5, ms)
		default:
			p.Memberships, err = dataset.BernoulliMemberships(n, p.Models, ms)
		}
	}
	if err != nil {
		return nil, err
	}
	size := c.Audit.DataSize
	if size > n {
		return nil, c.fieldError("audit", "data_size", "%d is larger than the %d records of the training pool", size, n)
	}
	if size == 0 {
		size = n
	}
	if p.Audit, err = dataset.BalancedAudit(p.Memberships, 0, size, derive(seed, "audit")); err != nil {
		return nil, fmt.Errorf("choosing the audited records: %w", err)
	}
	if p.DP, err = c.resolveDP(ctx, c.dpTrainRecords(n)); err != nil {
		return nil, err
	}
	if err := p.addJobs(c, d, seed); err != nil {
		return nil, err
	}
	return p, nil
}

// addJobs chooses the population records, builds the architecture and adds one job per model, named by
// the content hash of everything that determines it.
func (p *Plan) addJobs(c *Config, d *Data, seed uint64) error {
	var err error
	z := c.Audit.PopulationSize
	if z > d.Population.Len() {
		return c.fieldError("audit", "population_size", "%d is larger than the %d population records", z, d.Population.Len())
	}
	if z == 0 || z == d.Population.Len() {
		p.PopulationIdx = seq(d.Population.Len())
	} else if _, p.PopulationIdx, err = dataset.HoldOut(d.Population.Len(), z, derive(seed, "population")); err != nil {
		return err
	}
	if p.build == nil {
		if p.Specs, err = c.modelSpecs(d); err != nil {
			return err
		}
		specs := p.Specs
		p.build = func(name string, seed uint64) (*nn.Sequential, error) {
			m, err := nn.FromSpecs(name, specs)
			if err == nil {
				m.Init(seed)
			}
			return m, err
		}
	}
	dataKey := fingerprint(d.Pool)
	trainKey := c.trainKey() + p.DP.keyPart()
	auditKey := hashInts(p.Audit) + hashInts(p.PopulationIdx) + fingerprint(d.Population) + fmt.Sprint(c.Audit.NumQueries)
	specJSON, _ := json.Marshal(p.Specs)
	for m := 0; m < p.Models; m++ {
		j := Job{Model: m, Seed: derive(seed, fmt.Sprintf("model-%d", m)), Train: p.Memberships.Train(m)}
		j.ModelKey = hashStrings("model/v1", dataKey, string(specJSON), trainKey, fmt.Sprint(j.Seed), hashInts(j.Train))
		if em := p.external[m]; em != nil {
			j.ModelKey = hashStrings("external/v1", em.hash, hashInts(j.Train))
		}
		j.SignalKey = hashStrings("signals/v1", j.ModelKey, auditKey)
		p.Jobs = append(p.Jobs, j)
	}
	return nil
}

// modelSpecs returns the architecture: train.model (a list of layer specs) or the zoo's train.model_name.
func (c *Config) modelSpecs(d *Data) ([]nn.LayerSpec, error) {
	if c.regression() {
		return c.regressionSpecs(d)
	}
	if !c.Train.Model.IsZero() {
		var specs []nn.LayerSpec
		if err := c.Train.Model.Decode(&specs); err != nil {
			return nil, c.fieldError("train", "model", "not a list of layer specs: %v", err)
		}
		// Summarize fills in each layer's in and checks the shapes without allocating any parameter.
		sum, err := nn.Summarize(specs, d.Pool.Shape)
		if err != nil {
			return nil, c.fieldError("train", "model", "%v", err)
		}
		if !slices.Equal(sum.Out, []int{d.Pool.Classes}) {
			return nil, c.fieldError("train", "model", "the last layer gives %v per record, want [%d] (one logit per class of the dataset)", sum.Out, d.Pool.Classes)
		}
		return sum.Specs, nil
	}
	name := c.Train.ModelName
	if name == "" {
		name = "mlp"
	}
	specs, err := zoo.Specs(name, d.Pool.Shape, d.Pool.Classes)
	if err != nil {
		return nil, c.fieldError("train", "model_name", "%v", err)
	}
	return specs, nil
}

// trainKey is the part of a model's identity that comes from the training recipe.
func (c *Config) trainKey() string {
	t := c.Train
	k := fmt.Sprintf("opt=%s lr=%v wd=%v mom=%v epochs=%d batch=%d schedule=%s", strings.ToLower(t.Optimizer),
		t.LearningRate, t.WeightDecay, t.Momentum, t.Epochs, t.BatchSize, t.Schedule)
	if len(t.Checkpoints) > 0 { // the trajectory is recorded while a model trains (trajectory.go)
		k += fmt.Sprintf(" checkpoints=%v", t.Checkpoints)
	}
	return k
}

// derive returns a seed for one named purpose from the run seed.
func derive(seed uint64, purpose string) uint64 {
	h := sha256.New()
	binary.Write(h, binary.LittleEndian, seed)
	h.Write([]byte(purpose))
	return binary.LittleEndian.Uint64(h.Sum(nil))
}

func hashStrings(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		binary.Write(h, binary.LittleEndian, uint64(len(p)))
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))[:20]
}

func hashInts(v []int) string {
	h := sha256.New()
	for _, x := range v {
		binary.Write(h, binary.LittleEndian, int64(x))
	}
	return hex.EncodeToString(h.Sum(nil))[:20]
}

// fingerprint hashes a dataset's contents (shape, features and labels).
func fingerprint(d *dataset.Dataset) string {
	h := sha256.New()
	fmt.Fprint(h, d.Len(), d.Shape, d.Classes)
	var b [4]byte
	for _, x := range d.X {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
		h.Write(b[:])
	}
	for _, y := range d.Y {
		binary.Write(h, binary.LittleEndian, int64(y))
	}
	if d.Values != nil { // regression targets (a classification data set's hash is unchanged)
		fmt.Fprint(h, "values")
		for _, v := range d.Values {
			binary.Write(h, binary.LittleEndian, math.Float64bits(v))
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:20]
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}
