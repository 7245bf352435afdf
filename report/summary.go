package report

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/pmeter/pmeter/metric"
)

// SchemaName and SchemaVersion identify the schema of summary.json (Summary). SchemaVersion grows by one
// whenever a field is removed, renamed or changes meaning; fields may be added without a new version,
// so readers should ignore fields they do not know. Version 3: users[].top_users are the users of
// smallest size-calibrated p_value (version 2: of highest raw score); version 2: epsilon_lower_bound is
// the holdout bound object (version 1: a number, the maximum over thresholds on the same records).
const (
	SchemaName    = "pmeter.report.summary"
	SchemaVersion = 3
)

// readableVersions are the summary versions ReadSummary accepts: they differ from SchemaVersion only in
// fields that pmeter does not read back (version 2: what users[].top_users means).
var readableVersions = []int{2, SchemaVersion}

// Summary is the content of summary.json: the numbers the report shows. Rates and accuracies are
// fractions in [0, 1], not percentages. A JSON null stands for a value that is undefined or unknown (for
// example an AUC when no membership is known).
type Summary struct {
	Schema        string `json:"schema"`         // SchemaName
	SchemaVersion int    `json:"schema_version"` // SchemaVersion

	Title   string `json:"title"`
	Dataset string `json:"dataset,omitempty"`
	Model   string `json:"model,omitempty"`
	Game    string `json:"game,omitempty"`
	Created string `json:"created,omitempty"` // RFC 3339; absent when Input.Created is zero

	Targets     int          `json:"targets"` // target models whose records are pooled
	Records     RecordCounts `json:"records"`
	TargetModel TargetModel  `json:"target_model"`
	Settings    Settings     `json:"settings"`
	Verdict     Verdict      `json:"verdict"`

	Attacks    []AttackSummary `json:"attacks"`           // in input order
	Classes    []ClassSummary  `json:"classes,omitempty"` // per class label, ascending; absent without labels
	TopRecords []TopRecord     `json:"top_records"`       // the most vulnerable records, by risk rank

	Params map[string]any `json:"params,omitempty"` // the run's configuration and seeds (Input.Params)

	// ReferenceFit compares the target models with the reference models (Input.ReferenceFit); absent
	// when the input has none.
	ReferenceFit *ReferenceFit `json:"reference_fit,omitempty"`

	// DPAudits are the bounds of the DP audit games (Input.DPAudits); absent when none ran.
	DPAudits []DPAudit `json:"dp_audits,omitempty"`
	// DP sets every audit against the training's claimed DP guarantee (Input.DP), with the red flag;
	// absent for training without one.
	DP *DPCheck `json:"dp,omitempty"`
	// Ranges is the range membership audit (Input.Ranges); absent for the other privacy games.
	Ranges *Ranges `json:"ranges,omitempty"`
	// Slices are the attacks on subgroups (audit.slices; Input.Slices); absent without slices.
	Slices []Slice `json:"slices,omitempty"`
	// Users are the attacks at user level (data.user_column; Input.Users); absent without users.
	Users []UserLevel `json:"users,omitempty"`
}

// RecordCounts counts the audited records (rows: a record audited against several targets counts once
// per target).
type RecordCounts struct {
	Total      int `json:"total"`
	Members    int `json:"members"`
	NonMembers int `json:"non_members"`
	Unknown    int `json:"unknown"` // membership not known
	Classes    int `json:"classes"` // distinct non-negative labels
}

// TargetModel describes the audited model's utility. GeneralizationGap is train minus test accuracy.
type TargetModel struct {
	TrainAccuracy     *float64 `json:"train_accuracy"`
	TestAccuracy      *float64 `json:"test_accuracy"`
	GeneralizationGap *float64 `json:"generalization_gap"`
	// Regression is a regression model's fit (Input.Regression), whose accuracies are null; absent for a
	// classifier.
	Regression *RegressionFit `json:"regression,omitempty"`
}

// RegressionFit is a regression model's fit on its training (member) records and on unseen
// (population) records, in the units of the standardised target: mean squared and mean absolute
// residual, and R² = 1 − Σ r² / Σ (y − ȳ)² over the same records. Null where undefined.
type RegressionFit struct {
	TrainMSE *float64 `json:"train_mse"`
	TestMSE  *float64 `json:"test_mse"`
	TrainMAE *float64 `json:"train_mae"`
	TestMAE  *float64 `json:"test_mae"`
	TrainR2  *float64 `json:"train_r2"`
	TestR2   *float64 `json:"test_r2"`
}

// Settings records how the numbers were computed.
type Settings struct {
	FPRs               []float64 `json:"fprs"`                // the FPRs of every tpr_at_fpr list, in order
	ConfidenceLevel    float64   `json:"confidence_level"`    // of the bootstrap intervals, e.g. 0.95
	BootstrapResamples int       `json:"bootstrap_resamples"` // resamples behind each interval
	BootstrapSeed      uint64    `json:"bootstrap_seed"`
	EpsilonMethod      string    `json:"epsilon_method"` // metric.HoldoutMethod
	EpsilonAlpha       float64   `json:"epsilon_alpha"`  // each attack's ε bound holds with confidence 1 - alpha
	EpsilonDelta       float64   `json:"epsilon_delta"`  // the δ of the ε bounds
	EpsilonSeed        uint64    `json:"epsilon_seed"`   // seed of the split into selection and evaluation halves
	// RiskAlpha is each attack's significance in the risk level and the verdict's ε bound: EpsilonAlpha /
	// number of attacks, so that both hold over all attacks together at 1 - EpsilonAlpha.
	RiskAlpha float64 `json:"risk_alpha"`
	RankedBy  string  `json:"ranked_by"` // the attack whose scores give the risk rank
	TopK      int     `json:"top_k"`     // the number of top_records asked for
	// UsersListed names the entry of Users whose top_users the page lists: RankedBy's, under
	// Options.UsersAggregate or its first aggregate (listedUsers). Absent without users.
	UsersListed *UsersListed `json:"users_listed,omitempty"`
}

// Verdict is the plain-language conclusion. Level is one of "high", "moderate", "low", "not-detected"
// (no attack beats chance with confidence) and "unknown" (no membership known, so nothing is measured).
type Verdict struct {
	Level           string `json:"level"`
	StrongestAttack string `json:"strongest_attack,omitempty"` // highest level, then member ε bound, then AUC
	Headline        string `json:"headline"`
	Text            string `json:"text"`
	// Epsilon is the ε lower bound the verdict states: the largest of the attacks' holdout bounds at
	// significance Settings.RiskAlpha each (with several targets: on each target's records, at RiskAlpha
	// / Targets each), so that it holds for all of them together with confidence 1 -
	// Settings.EpsilonAlpha (union bound). EpsilonAttack (and EpsilonTarget, with several targets) say
	// which gives it; EpsilonDPBound false means it bounds no differential privacy (EpsilonGuarantee says
	// why). null when no attack has 2 members and 2 non-members.
	Epsilon          *float64 `json:"epsilon_lower_bound"`
	EpsilonAttack    string   `json:"epsilon_attack,omitempty"`
	EpsilonTarget    *int     `json:"epsilon_target,omitempty"`
	EpsilonDPBound   bool     `json:"epsilon_dp_bound"`
	EpsilonGuarantee string   `json:"epsilon_guarantee,omitempty"`
}

// Estimate is a value with its bootstrap confidence interval [Lo, Hi] at Settings.ConfidenceLevel.
type Estimate struct {
	Value *float64 `json:"value"`
	Lo    *float64 `json:"lo"`
	Hi    *float64 `json:"hi"`
}

// TPREstimate is the TPR at a false positive rate of at most FPR (Privacy Meter's convention: the last
// ROC point with FPR <= the bound), with its bootstrap interval. Where FPR is positive but below
// 1/NonMembers, BelowResolution is true and TPR, Lo and Hi are null: the audit cannot measure a rate
// that small.
type TPREstimate struct {
	FPR             float64  `json:"fpr"`
	TPR             *float64 `json:"tpr"`
	Lo              *float64 `json:"lo"`
	Hi              *float64 `json:"hi"`
	BelowResolution bool     `json:"below_resolution,omitempty"`
}

// AttackSummary is one attack's performance on the records of known membership (pooled over targets).
// The metric fields are null when there are no members or no non-members.
type AttackSummary struct {
	Name             string        `json:"name"`
	Description      string        `json:"description,omitempty"`
	Signal           string        `json:"signal"` // what the histogram shows: "score" or Input's SignalName
	Members          int           `json:"members"`
	NonMembers       int           `json:"non_members"`
	AUC              Estimate      `json:"auc"`
	BalancedAccuracy Estimate      `json:"balanced_accuracy"` // best over thresholds
	TPRAtFPR         []TPREstimate `json:"tpr_at_fpr"`        // at Settings.FPRs
	// EpsilonLowerBound is the attack's ε lower bound at Settings.EpsilonAlpha and EpsilonDelta
	// (metric.HoldoutEpsilon: threshold chosen on half of the records, Clopper–Pearson bounds on the
	// other half); its guarantee says what it means. It bounds the training algorithm's differential
	// privacy only where dp_bound is true: never when several targets are pooled (the per-target bounds
	// may be). null with fewer than 2 members or 2 non-members.
	EpsilonLowerBound *metric.EpsilonBound `json:"epsilon_lower_bound"`
	// EpsilonOptimistic is TF Privacy's number: the largest per-threshold Clopper–Pearson bound over every
	// threshold, on the same records. It is NOT a valid lower bound: choosing the threshold on the records
	// it is evaluated on voids the confidence level, and a target that leaks nothing often gets a
	// positive value. Kept for comparison with TF Privacy only.
	EpsilonOptimistic *float64 `json:"epsilon_optimistic"`
	// Risk is the attack's risk level and the statistics it rests on.
	Risk      RiskEvidence    `json:"risk"`
	PerTarget []TargetSummary `json:"per_target,omitempty"` // when Targets > 1

	// Access is the level of model access the attack saw (Input's Access); absent without levels.
	Access string `json:"access,omitempty"`
}

// RiskEvidence is an attack's risk level (Verdict.Level's scale) and the statistics behind it, each at
// significance Alpha/2 (Alpha = Settings.RiskAlpha): MemberEpsilon, the member-side holdout ε lower
// bound at δ = 0 (at its threshold the attack flags held-out members at least e^MemberEpsilon times as
// often as non-members), and AUCLower, the AUC's lower confidence bound (metric.AUCLowerBound: DeLong's
// standard error, at least the Mann–Whitney null one). null when the attack was not evaluated, or with
// fewer than 2 members or 2 non-members.
type RiskEvidence struct {
	Level         string   `json:"level"`
	Alpha         float64  `json:"alpha"`
	MemberEpsilon *float64 `json:"member_epsilon"`
	AUCLower      *float64 `json:"auc_lower"`
}

// TargetSummary is one attack's performance against one target model.
type TargetSummary struct {
	Target     int      `json:"target"`
	Members    int      `json:"members"`
	NonMembers int      `json:"non_members"`
	AUC        *float64 `json:"auc"`
	TPRAt1     *float64 `json:"tpr_at_1pct_fpr"` // null when below resolution (fewer than 100 non-members)
	// TPRAt1BelowResolution is true when the target has fewer than 100 non-members.
	TPRAt1BelowResolution bool `json:"tpr_at_1pct_fpr_below_resolution,omitempty"`
	// EpsilonLowerBound is the ε lower bound on this target's records alone (as AttackSummary's, with
	// Input.DPCaveat); null with fewer than 2 members or 2 non-members.
	EpsilonLowerBound *metric.EpsilonBound `json:"epsilon_lower_bound"`
}

// ClassSummary is the attacks' performance on the records of one class label. AUC maps every attack's
// name to its AUC on the class's records (null when the class lacks members or non-members).
type ClassSummary struct {
	Label      int                 `json:"label"`
	Name       string              `json:"name"`
	Records    int                 `json:"records"`
	Members    int                 `json:"members"`
	NonMembers int                 `json:"non_members"`
	AUC        map[string]*float64 `json:"auc"`
}

// TopRecord is one of the most vulnerable records: the highest-scoring members of the ranking attack
// (Settings.RankedBy), or the highest-scoring records when no membership is known.
type TopRecord struct {
	Rank   int    `json:"rank"` // risk rank among all rows, 1 = highest score
	Row    int    `json:"row"`  // index in records.csv (0-based, header excluded)
	ID     int    `json:"id"`
	Target int    `json:"target"`
	Label  int    `json:"label"`
	Class  string `json:"class,omitempty"`
	Member *bool  `json:"member"`
	Score  Number `json:"score"`
	// FPR is the fraction of non-members scoring at least Score: the false positive rate of a threshold
	// that flags this record. null when no non-member is known.
	FPR *float64 `json:"fpr"`
}

// Number is a float64 that encodes in JSON as a number when finite and as the string "inf", "-inf" or
// "nan" otherwise (scores may be infinite).
type Number float64

// MarshalJSON implements json.Marshaler.
func (x Number) MarshalJSON() ([]byte, error) {
	f := float64(x)
	switch {
	case math.IsInf(f, 1):
		return []byte(`"inf"`), nil
	case math.IsInf(f, -1):
		return []byte(`"-inf"`), nil
	case math.IsNaN(f):
		return []byte(`"nan"`), nil
	}
	return json.Marshal(f)
}

// UnmarshalJSON implements json.Unmarshaler.
func (x *Number) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return err
		}
		*x = Number(f)
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*x = Number(f)
	return nil
}

// num returns &x, or nil when x is NaN or infinite (JSON null).
func num(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// val returns *p, or NaN for nil.
func val(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}
