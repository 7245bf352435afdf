package report

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Input is what a report shows: the audited records of one target model (or of several target models,
// pooled), the true memberships where known, and the scores of every attack on every record.
type Input struct {
	Title   string    // the report's title; "Membership-inference audit" when empty
	Dataset string    // the dataset's name, e.g. "CIFAR-10"
	Model   string    // the target model's name or architecture, e.g. "CNN (2 conv + 2 dense)"
	Game    string    // the privacy game, e.g. "average" (Privacy Meter v2); optional
	Created time.Time // when the results were produced; shown and written only when not zero

	// Params holds the run's configuration and seeds, shown as a table and copied into summary.json.
	// Values should be JSON-encodable (strings, numbers, booleans, slices and maps of them).
	Params map[string]any

	// Targets is the number of target models whose records are pooled in Records (Record.Target numbers
	// them from 0); 0 means 1.
	Targets int

	// DPCaveat says why the memberships of the audited records allow no ε lower bound on the training
	// algorithm's differential privacy (the reason attack.NotDPReason gives, or that the audited records
	// were chosen by their membership); empty when they allow one: every record's membership in each
	// target drawn independently of the others', and no reference model's membership dependent on the
	// target's. The ε bounds then carry it as their caveat, marked "not a DP bound". With several targets
	// the pooled bounds are never DP bounds; the per-target bounds follow DPCaveat.
	DPCaveat string

	// TrainAccuracy and TestAccuracy are the target model's accuracy, in [0, 1], on its training (member)
	// and held-out data, averaged over the targets; nil when unknown.
	TrainAccuracy, TestAccuracy *float64

	// ClassNames names the labels: ClassNames[l] is the name of label l. Optional; labels beyond it are
	// shown as numbers.
	ClassNames []string

	// ImageShape is the shape of every Record.Image: channels × height × width (channels 1 or 3), or
	// height × width. Required when a record has an image.
	ImageShape []int

	// FeatureNames names the entries of Record.Features. Optional; "x0", "x1", … when absent.
	FeatureNames []string

	// Records are the audited records, one row per (target, record): records × 1.
	Records []Record

	// Attacks are the attacks' results on Records, in the order the report lists them.
	Attacks []AttackResult

	// ReferenceFit compares the target models with the reference models (accuracy and signal
	// distributions). Optional.
	ReferenceFit *ReferenceFit

	// DP is the differential-privacy guarantee the training claims (DP-SGD's accountant), against which
	// the report sets every audit (DPCheck); nil for training without one.
	DP *DPClaim
	// DPAudits are the bounds of DP audit games (one-run, multi-run) computed by the caller, listed and
	// set against DP. Optional.
	DPAudits []DPAudit
	// Ranges is the outcome of a range membership audit (privacy game range_membership). Optional.
	Ranges *Ranges
	// Slices are the attacks on subgroups of the records (audit.slices). Optional.
	Slices []Slice
	// Users are the attacks at user level (data.user_column). Optional.
	Users []UserLevel
	// Regression is a regression target's fit, shown instead of its accuracies (which are nil). Optional.
	Regression *RegressionFit
}

// Record is one audited record.
type Record struct {
	ID     int   // the record's index in the dataset
	Target int   // the target model this row belongs to, in [0, Input.Targets)
	Label  int   // the record's class label; negative when the data has none
	Member *bool // true if the record was in the target's training set, false if not, nil if unknown

	// Image is the record's input as channels × height × width (Input.ImageShape), row-major, for display
	// only: values in [0, 1] or [0, 255] are shown as they are, others are rescaled per image. Optional.
	Image []float32
	// Features is the record's input as feature values (Input.FeatureNames), for display only. Optional.
	Features []float64
}

// AttackResult is one attack's output on Input.Records.
type AttackResult struct {
	Name        string // short, unique name, e.g. "lira"
	Description string // one line: what the attack does and its source; optional

	// Scores holds one score per record (records × 1): higher means more likely a member. ±Inf is
	// allowed, NaN is not.
	Scores []float64

	// Signal optionally holds the per-record signal the attack thresholds (e.g. the loss), records × 1,
	// shown in the member / non-member histograms instead of the scores. NaN marks a missing value.
	Signal     []float64
	SignalName string // what Signal is, e.g. "loss"; "score" when Signal is nil

	// Access is the level of model access the attack saw, as "top_k: 1" (signal.Access), when the audit
	// compares levels; Name then ends in " @ " + Access. Optional.
	Access string
}

// Bool returns a pointer to b, for Record.Member.
func Bool(b bool) *bool { return &b }

// Float returns a pointer to x, for Input.TrainAccuracy and TestAccuracy.
func Float(x float64) *float64 { return &x }

// Validate checks that in is complete and consistent; the error names the field and index at fault.
func (in *Input) Validate() error {
	if in == nil {
		return errors.New("report: nil input")
	}
	n := len(in.Records)
	if n == 0 {
		return errors.New("report: input has no records")
	}
	if len(in.Attacks) == 0 {
		return errors.New("report: input has no attacks")
	}
	if in.Targets < 0 {
		return fmt.Errorf("report: targets = %d, want >= 0", in.Targets)
	}
	for _, acc := range []struct {
		name string
		v    *float64
	}{{"train accuracy", in.TrainAccuracy}, {"test accuracy", in.TestAccuracy}} {
		if acc.v != nil && !(*acc.v >= 0 && *acc.v <= 1) {
			return fmt.Errorf("report: %s = %v, want a value in [0, 1]", acc.name, *acc.v)
		}
	}
	imageSize := 0
	if in.ImageShape != nil {
		if len(in.ImageShape) != 2 && len(in.ImageShape) != 3 {
			return fmt.Errorf("report: image shape %v, want channels × height × width or height × width", in.ImageShape)
		}
		imageSize = 1
		for _, d := range in.ImageShape {
			if d <= 0 {
				return fmt.Errorf("report: image shape %v has a non-positive dimension", in.ImageShape)
			}
			imageSize *= d
		}
	}
	targets := max(in.Targets, 1)
	features := -1
	for i, r := range in.Records {
		if r.Target < 0 || r.Target >= targets {
			return fmt.Errorf("report: record %d (id %d): target %d out of range [0, %d)", i, r.ID, r.Target, targets)
		}
		if r.Image != nil {
			if imageSize == 0 {
				return fmt.Errorf("report: record %d (id %d) has an image but the input has no image shape", i, r.ID)
			}
			if len(r.Image) != imageSize {
				return fmt.Errorf("report: record %d (id %d): image has %d values, want %d (shape %v)", i, r.ID, len(r.Image), imageSize, in.ImageShape)
			}
		}
		if r.Features != nil {
			switch {
			case in.FeatureNames != nil && len(r.Features) != len(in.FeatureNames):
				return fmt.Errorf("report: record %d (id %d): %d features, want %d (feature names)", i, r.ID, len(r.Features), len(in.FeatureNames))
			case features >= 0 && len(r.Features) != features:
				return fmt.Errorf("report: record %d (id %d): %d features, want %d as earlier records", i, r.ID, len(r.Features), features)
			}
			features = len(r.Features)
		}
	}
	if err := in.Ranges.validate(in.Targets); err != nil {
		return err
	}
	if err := in.ReferenceFit.validate(in.Targets); err != nil {
		return err
	}
	if in.DP != nil {
		if err := in.DP.validate(); err != nil {
			return err
		}
	}
	if err := validateDPAudits(in.DPAudits); err != nil {
		return err
	}
	seen := make(map[string]bool, len(in.Attacks))
	for a, at := range in.Attacks {
		switch {
		case at.Name == "":
			return fmt.Errorf("report: attack %d has no name", a)
		case seen[at.Name]:
			return fmt.Errorf("report: attack %d: name %q is used twice", a, at.Name)
		case len(at.Scores) != n:
			return fmt.Errorf("report: attack %q: %d scores, want one per record (%d)", at.Name, len(at.Scores), n)
		case at.Signal != nil && len(at.Signal) != n:
			return fmt.Errorf("report: attack %q: %d signal values, want one per record (%d)", at.Name, len(at.Signal), n)
		}
		seen[at.Name] = true
		for i, s := range at.Scores {
			if math.IsNaN(s) {
				return fmt.Errorf("report: attack %q: score of record %d (id %d) is NaN", at.Name, i, in.Records[i].ID)
			}
		}
	}
	return nil
}

// title returns the report's title.
func (in *Input) title() string {
	if in.Title != "" {
		return in.Title
	}
	return "Membership-inference audit"
}

// className returns the name of label l.
func (in *Input) className(l int) string {
	if l >= 0 && l < len(in.ClassNames) && in.ClassNames[l] != "" {
		return in.ClassNames[l]
	}
	if l < 0 {
		return ""
	}
	return fmt.Sprint(l)
}

// featureName returns the name of feature j.
func (in *Input) featureName(j int) string {
	if j < len(in.FeatureNames) && in.FeatureNames[j] != "" {
		return in.FeatureNames[j]
	}
	return fmt.Sprintf("x%d", j)
}

// signalName returns what the histograms of attack a show.
func (a *AttackResult) signalName() string {
	switch {
	case a.Signal == nil:
		return "score"
	case a.SignalName != "":
		return a.SignalName
	default:
		return "signal"
	}
}
