package report

import (
	"encoding/json"
	"math"
	"strconv"
)

// SchemaName and SchemaVersion identify the schema of summary.json (Summary). SchemaVersion grows by one
// whenever a field is removed, renamed or changes meaning; fields may be added without a new version,
// so readers should ignore fields they do not know.
const (
	SchemaName    = "pmeter.report.summary"
	SchemaVersion = 1
)

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
}

// Settings records how the numbers were computed.
type Settings struct {
	FPRs               []float64 `json:"fprs"`                // the FPRs of every tpr_at_fpr list, in order
	ConfidenceLevel    float64   `json:"confidence_level"`    // of the bootstrap intervals, e.g. 0.95
	BootstrapResamples int       `json:"bootstrap_resamples"` // resamples behind each interval
	BootstrapSeed      uint64    `json:"bootstrap_seed"`
	EpsilonMethod      string    `json:"epsilon_method"` // "clopper-pearson"
	EpsilonAlpha       float64   `json:"epsilon_alpha"`  // the ε bounds hold with confidence 1 - alpha
	RankedBy           string    `json:"ranked_by"`      // the attack whose scores give the risk rank
	TopK               int       `json:"top_k"`          // the number of top_records asked for
}

// Verdict is the plain-language conclusion. Level is one of "high", "moderate", "low", "not-detected"
// (no attack beats chance with confidence) and "unknown" (no membership known, so nothing is measured).
type Verdict struct {
	Level           string `json:"level"`
	StrongestAttack string `json:"strongest_attack,omitempty"` // highest level, then member ε bound, then AUC
	Headline        string `json:"headline"`
	Text            string `json:"text"`
}

// Estimate is a value with its bootstrap confidence interval [Lo, Hi] at Settings.ConfidenceLevel.
type Estimate struct {
	Value *float64 `json:"value"`
	Lo    *float64 `json:"lo"`
	Hi    *float64 `json:"hi"`
}

// TPREstimate is the TPR at a false positive rate of at most FPR (Privacy Meter's convention: the last
// ROC point with FPR <= the bound), with its bootstrap interval.
type TPREstimate struct {
	FPR float64  `json:"fpr"`
	TPR *float64 `json:"tpr"`
	Lo  *float64 `json:"lo"`
	Hi  *float64 `json:"hi"`
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
	// EpsilonLowerBound is the largest Clopper–Pearson lower bound on ε over all score thresholds (TF
	// Privacy's EpsilonLowerBound, one-sided): with confidence 1 - Settings.EpsilonAlpha the training is
	// not ε'-differentially private for any ε' below it. 0 when no threshold gives a positive bound.
	EpsilonLowerBound *float64 `json:"epsilon_lower_bound"`
	// MemberEpsilonLowerBound is the same bound from flagging members only (the TPR/FPR ratios): at its
	// best threshold the attack flags members at least e^ε times as often as non-members. The risk level
	// rests on it, since identifying members is the risk the report is about.
	MemberEpsilonLowerBound *float64        `json:"member_epsilon_lower_bound"`
	PerTarget               []TargetSummary `json:"per_target,omitempty"` // when Targets > 1
}

// TargetSummary is one attack's performance against one target model.
type TargetSummary struct {
	Target     int      `json:"target"`
	Members    int      `json:"members"`
	NonMembers int      `json:"non_members"`
	AUC        *float64 `json:"auc"`
	TPRAt1     *float64 `json:"tpr_at_1pct_fpr"`
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
