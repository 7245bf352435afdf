package metric

import (
	"errors"
	"fmt"
)

// Pool concatenates the scores and memberships of several target models (targets × records; the targets
// may have different numbers of records) into one set of records, target by target. Privacy Meter v2
// reports its "average" result over several targets on this pooled set (one ROC over all targets'
// scores), and the LiRA reference code pools the same way. It returns an error when the numbers of targets
// or of a target's records differ.
func Pool(scores [][]float64, members [][]bool) ([]float64, []bool, error) {
	if len(scores) != len(members) {
		return nil, nil, fmt.Errorf("scores for %d targets but memberships for %d", len(scores), len(members))
	}
	n := 0
	for t := range scores {
		if len(scores[t]) != len(members[t]) {
			return nil, nil, fmt.Errorf("target %d: %d scores but %d memberships", t, len(scores[t]), len(members[t]))
		}
		n += len(scores[t])
	}
	s := make([]float64, 0, n)
	m := make([]bool, 0, n)
	for t := range scores {
		s = append(s, scores[t]...)
		m = append(m, members[t]...)
	}
	return s, m, nil
}

// TargetsResult holds the results of an attack on several target models.
type TargetsResult struct {
	Pooled  Result   `json:"pooled"`  // on all targets' records pooled (Pool), Privacy Meter v2's average result
	Targets []Result `json:"targets"` // per target, in input order
}

// EvaluateTargets evaluates the scores of several target models (targets × records, higher = member) per
// target and pooled. Every target needs members and non-members and no NaN score; errors name the
// target.
func EvaluateTargets(scores [][]float64, members [][]bool) (TargetsResult, error) {
	if len(scores) == 0 {
		return TargetsResult{}, errors.New("no target")
	}
	s, m, err := Pool(scores, members)
	if err != nil {
		return TargetsResult{}, err
	}
	res := TargetsResult{Targets: make([]Result, len(scores))}
	for t := range scores {
		if res.Targets[t], err = Evaluate(scores[t], members[t]); err != nil {
			return TargetsResult{}, fmt.Errorf("target %d: %w", t, err)
		}
	}
	if res.Pooled, err = Evaluate(s, m); err != nil {
		return TargetsResult{}, fmt.Errorf("pooled targets: %w", err)
	}
	return res, nil
}
