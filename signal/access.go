package signal

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Level is what a model's interface returns for a query: a level of model access, the framing of
// Privacy Meter's auditing "at several levels of model access". From most to least informative:
//
//   - AccessLogits: the logits (pre-softmax scores), as an auditor with the model has them.
//   - AccessProbabilities: the softmax probabilities in float32, as a prediction API returns them; a
//     probability that rounds to 1 (a margin above about 17 nats) has lost what the logits still hold.
//   - AccessTopK: the K largest float32 probabilities and their classes, nothing about the others.
//   - AccessRounded: every probability rounded to Digits decimal digits.
//   - AccessLabel: the predicted class only (label-only access).
type Level string

// The access levels.
const (
	AccessLogits        Level = "logits"
	AccessProbabilities Level = "probabilities"
	AccessTopK          Level = "top_k"
	AccessRounded       Level = "rounded"
	AccessLabel         Level = "label"
)

// Access is one level of model access with its parameter: K for AccessTopK, Digits for AccessRounded.
// The zero Access means AccessLogits.
type Access struct {
	Level  Level
	K      int // AccessTopK: the number of probabilities returned, ≥ 1
	Digits int // AccessRounded: decimal digits kept, in [0, 15]
}

// String writes a as the config spells it: "logits", "top_k: 3", "rounded: 2".
func (a Access) String() string {
	switch a.Level {
	case "":
		return string(AccessLogits)
	case AccessTopK:
		return fmt.Sprintf("%s: %d", a.Level, a.K)
	case AccessRounded:
		return fmt.Sprintf("%s: %d", a.Level, a.Digits)
	}
	return string(a.Level)
}

// ParseAccess parses an access level as String writes it ("top_k: 3"; "top_k=3" is accepted too) and
// validates it (see Access.Check).
func ParseAccess(s string) (Access, error) {
	name, arg, hasArg := strings.Cut(s, ":")
	if !hasArg {
		name, arg, hasArg = strings.Cut(s, "=")
	}
	name, arg = strings.TrimSpace(name), strings.TrimSpace(arg)
	a := Access{Level: Level(name)}
	switch a.Level {
	case AccessLogits, AccessProbabilities, AccessLabel:
		if hasArg {
			return Access{}, fmt.Errorf("access level %s takes no parameter, got %q", name, s)
		}
	case AccessTopK, AccessRounded:
		n, err := strconv.Atoi(arg)
		if !hasArg || err != nil {
			return Access{}, fmt.Errorf("access level %s needs an integer, as in \"%s: 2\", got %q", name, name, s)
		}
		if a.Level == AccessTopK {
			a.K = n
		} else {
			a.Digits = n
		}
	default:
		return Access{}, fmt.Errorf("unknown access level %q (want logits, probabilities, top_k: K, rounded: DIGITS or label)", s)
	}
	return a, a.Check(0)
}

// Check validates a's parameter; classes, when positive, bounds top_k's K.
func (a Access) Check(classes int) error {
	switch a.Level {
	case "", AccessLogits, AccessProbabilities, AccessLabel:
		return nil
	case AccessTopK:
		if a.K < 1 {
			return fmt.Errorf("top_k: K = %d; want at least 1", a.K)
		}
		if classes > 0 && a.K > classes {
			return fmt.Errorf("top_k: K = %d, but the model has %d classes", a.K, classes)
		}
		return nil
	case AccessRounded:
		if a.Digits < 0 || a.Digits > 15 {
			return fmt.Errorf("rounded: %d digits; want 0 to 15", a.Digits)
		}
		return nil
	}
	return fmt.Errorf("unknown access level %q", a.Level)
}

// Scores reports whether a returns more than the predicted label: every level but AccessLabel.
func (a Access) Scores() bool { return a.Level != AccessLabel }

// Logits reports whether a returns the logits themselves.
func (a Access) Logits() bool { return a.Level == "" || a.Level == AccessLogits }

// Observe returns what an interface at level a returns for logits, rows × classes (row-major), as
// rows × classes probability-like vectors, so that every attack reads the same layout whatever the level.
// It returns an error for AccessLogits (use the logits) and for non-finite logits, naming the row.
//
//   - AccessProbabilities: float32(softmax(ℓ)).
//   - AccessTopK: the K largest of those (ties to the lower class); the K classes' values are exact and
//     the mass they leave, 1 − Σ top, is spread evenly over the C − K classes not returned — the only
//     vector that uses what the interface returns and nothing else.
//   - AccessRounded: softmax(ℓ) rounded half away from zero to Digits decimals (a vector may then not sum
//     to 1, and a probability may be 0).
//   - AccessLabel: the one-hot vector of the predicted class argmax ℓ (ties to the lower class).
func (a Access) Observe(logits []float64, classes int) ([]float64, error) {
	if err := a.Check(classes); err != nil {
		return nil, err
	}
	if a.Logits() {
		return nil, fmt.Errorf("access level logits: the outputs are the logits themselves")
	}
	p, err := Softmax(logits, classes, 1)
	if err != nil {
		return nil, err
	}
	scale := math.Pow(10, float64(a.Digits))
	idx := make([]int, 0, classes)
	for r := 0; r < len(p)/classes; r++ {
		row := p[r*classes : (r+1)*classes]
		switch a.Level {
		case AccessProbabilities:
			for c, v := range row {
				row[c] = float64(float32(v))
			}
		case AccessTopK:
			idx = idx[:0]
			for c := range row {
				row[c] = float64(float32(row[c]))
				idx = append(idx, c)
			}
			// Partial selection sort of the K largest: K is small.
			for k := 0; k < a.K; k++ {
				best := k
				for j := k + 1; j < classes; j++ {
					if row[idx[j]] > row[idx[best]] || (row[idx[j]] == row[idx[best]] && idx[j] < idx[best]) {
						best = j
					}
				}
				idx[k], idx[best] = idx[best], idx[k]
			}
			if a.K < classes {
				top := 0.0
				for _, c := range idx[:a.K] {
					top += row[c]
				}
				rest := max(0, 1-top) / float64(classes-a.K)
				for _, c := range idx[a.K:] {
					row[c] = rest
				}
			}
		case AccessRounded:
			for c, v := range row {
				row[c] = min(1, math.Round(v*scale)/scale)
			}
		case AccessLabel:
			_, y := maxIndex(logits[r*classes : (r+1)*classes])
			for c := range row {
				row[c] = 0
			}
			row[y] = 1
		}
	}
	return p, nil
}
