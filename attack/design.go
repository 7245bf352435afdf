package attack

import (
	"errors"
	"fmt"
	"strings"
)

// Design says how the memberships of a Data were drawn. It decides which reference models a record may be
// compared with (SelectReferences) and whether the target's memberships allow an ε lower bound on the
// training algorithm's differential privacy (CheckDPDesign).
type Design int

// The membership designs.
const (
	// DesignAuto infers the design from the memberships (InferDesign).
	DesignAuto Design = iota
	// DesignBernoulli: every record joins every model's training set independently with probability ½.
	// A record's reference counts vary, independently of its membership in the target. This is the design
	// of one-run DP audits (Steinke, Nasr & Jagielski 2023), and pmeter's audit.split: bernoulli.
	DesignBernoulli
	// DesignPairs: Privacy Meter v2's complementary pairs (split_dataset_for_training): model 2k trains on
	// a random half of the records and model 2k+1 on the other half. Each model's training set has a fixed
	// size, so a record's membership in the target is determined by the others'.
	DesignPairs
	// DesignLiRA: every record is IN for exactly k of the M models, a uniformly random k-subset drawn
	// independently per record (LiRA's train.py). The target's memberships are independent across
	// records, but a record's count of IN models among the other models depends on its membership in
	// the target.
	DesignLiRA
	// DesignOther: memberships drawn some other way (inferred when they fit none of the above). Reference
	// models are chosen as for DesignBernoulli, and no ε is a DP bound.
	DesignOther
)

var designNames = []string{"auto", "bernoulli", "pairs", "lira", "other"}

// String returns the design's name, as ParseDesign and audit.split spell it.
func (g Design) String() string {
	if g >= 0 && int(g) < len(designNames) {
		return designNames[g]
	}
	return fmt.Sprintf("Design(%d)", int(g))
}

// ParseDesign parses a design name: auto, bernoulli, pairs, lira or other ("" means auto).
func ParseDesign(s string) (Design, error) {
	if s == "" {
		return DesignAuto, nil
	}
	for k, n := range designNames {
		if strings.EqualFold(s, n) {
			return Design(k), nil
		}
	}
	return 0, fmt.Errorf("unknown membership design %q (want one of: %s)", s, strings.Join(designNames, ", "))
}

// MarshalText implements encoding.TextMarshaler.
func (g Design) MarshalText() ([]byte, error) { return []byte(g.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (g *Design) UnmarshalText(b []byte) error {
	v, err := ParseDesign(string(b))
	if err == nil {
		*g = v
	}
	return err
}

// InferDesign names the design that members (N records × M models, row-major) fit: DesignPairs when the
// models form complementary pairs (2k, 2k+1), DesignLiRA when every record is IN for the same number of
// models, DesignOther otherwise. Independent memberships cannot be told from chance by looking at them, so
// DesignBernoulli is never inferred: declare it.
func InferDesign(members []bool, n, m int) Design {
	if n <= 0 || m <= 0 || len(members) != n*m {
		return DesignOther
	}
	pairs := m%2 == 0
	k := -1
	for i := range n {
		row := members[i*m : (i+1)*m]
		c := 0
		for j, in := range row {
			if in {
				c++
			}
			if j%2 == 1 && row[j-1] == in {
				pairs = false
			}
		}
		if k >= 0 && c != k {
			return DesignOther
		}
		k = c
	}
	if pairs {
		return DesignPairs
	}
	return DesignLiRA
}

// design returns d's design, inferred when d.Design is DesignAuto.
func (d *Data) design() Design {
	if d.Design != DesignAuto {
		return d.Design
	}
	return InferDesign(d.Members, d.N, d.M)
}

// ErrNotDPDesign is wrapped by CheckDPDesign's errors.
var ErrNotDPDesign = errors.New("not a DP bound")

// CheckDPDesign reports whether the memberships of d let an audit of target bound the training
// algorithm's differential privacy from below: the target's membership of every audited record must be
// drawn independently of every other record's (so that a record's membership is a fresh coin given the
// rest of the training set), and the reference models' memberships independent of the target's. It
// returns nil for DesignBernoulli and DesignLiRA (whose reference models SelectReferences equalises), and
// an error wrapping ErrNotDPDesign that says why otherwise.
//
// The check covers how the memberships were drawn; a caller that audits a subset of the records chosen by
// their membership (such as a balanced sample of members and non-members) must add that condition itself.
func CheckDPDesign(d *Data, target int) error {
	switch g := d.design(); g {
	case DesignBernoulli, DesignLiRA:
		return nil
	case DesignPairs:
		return fmt.Errorf("%w: in the pairs design every model trains on exactly half of the records, so a record's membership in target model %d is determined by the other records' (use the bernoulli or lira design for a DP bound)", ErrNotDPDesign, target)
	default:
		return fmt.Errorf("%w: the memberships were not declared as drawn independently per record (design %s; declare \"design\": \"bernoulli\" or \"lira\" if they were)", ErrNotDPDesign, g)
	}
}

// NotDPReason returns why the memberships of d allow no DP bound for target: CheckDPDesign's reason
// without the ErrNotDPDesign prefix, "" when they allow one. It is the form that
// metric.EpsilonOptions.NotDP and report.Input.DPCaveat take.
func NotDPReason(d *Data, target int) string {
	err := CheckDPDesign(d, target)
	if err == nil {
		return ""
	}
	return strings.TrimPrefix(err.Error(), ErrNotDPDesign.Error()+": ")
}
