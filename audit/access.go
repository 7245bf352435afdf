package audit

import (
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/pmeter/pmeter/attack"
	"github.com/pmeter/pmeter/signal"
)

// audit.access: the levels of model access the attacks see (signal.Access). The config gives one level
// or a list:
//
//	access: probabilities
//	access: {top_k: 3}
//	access: [logits, probabilities, {top_k: 1}, {rounded: 2}, label]
//
// Every attack runs once per level, on the signals computed from what an interface at that level
// returns (signal.Access.Observe) and nothing else; an attack that needs more than a level returns
// (attack.Spec.Admits) is skipped at that level with a message. Without audit.access the attacks see
// the logits, as before.

// parseAccess validates audit.access into c.access.
func (c *Config) parseAccess() error {
	n := &c.Audit.Access
	if n.IsZero() || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		c.access = nil
		return nil
	}
	switch c.Audit.PrivacyGame {
	case "privacy_loss_model", "avg_privacy_loss_training_algo":
	default:
		return c.fieldError("audit", "access", "applies to privacy_game privacy_loss_model and avg_privacy_loss_training_algo, not %s", c.Audit.PrivacyGame)
	}
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
		if len(items) == 0 {
			return c.fieldError("audit", "access", "is an empty list; give at least one level (logits, probabilities, top_k: K, rounded: DIGITS or label)")
		}
	}
	var out []signal.Access
	for k, it := range items {
		var text string
		switch {
		case it.Kind == yaml.ScalarNode:
			text = it.Value
		case it.Kind == yaml.MappingNode && len(it.Content) == 2 && it.Content[1].Kind == yaml.ScalarNode:
			text = it.Content[0].Value + ": " + it.Content[1].Value
		default:
			return c.accessError(k, it, "want a level: logits, probabilities, label, {top_k: K} or {rounded: DIGITS}")
		}
		a, err := signal.ParseAccess(text)
		if err != nil {
			return c.accessError(k, it, "%v", err)
		}
		if slices.Contains(out, a) {
			return c.accessError(k, it, "level %s is listed twice", a)
		}
		out = append(out, a)
	}
	c.access = out
	return nil
}

// accessError names audit.access, its element k (in a list) and its line.
func (c *Config) accessError(k int, n *yaml.Node, format string, a ...any) error {
	msg := fmt.Sprintf(format, a...)
	field := "audit.access"
	if c.Audit.Access.Kind == yaml.SequenceNode {
		field = fmt.Sprintf("audit.access[%d]", k)
	}
	if n.Line > 0 {
		return fmt.Errorf("line %d: %s: %s", n.Line, field, msg)
	}
	return fmt.Errorf("%s: %s", field, msg)
}

// accessLevels returns the levels the attacks run at: audit.access, or the logits alone.
func (c *Config) accessLevels() []signal.Access {
	if len(c.access) == 0 {
		return []signal.Access{{Level: signal.AccessLogits}}
	}
	return c.access
}

// accessSuffix is what an attack's label gains at level a: nothing when the config sets no access level.
func (c *Config) accessSuffix(a signal.Access) string {
	if len(c.access) == 0 {
		return ""
	}
	return " @ " + a.String()
}

// attackDataAt is attackData at access level a: the attacks' signals and probability vectors are
// computed from what an interface at level a returns for each model's logits (signal.Access.Observe),
// the rescaled logit in its guarded form from probabilities (signal.FromProbs). At the logits level it is
// attackData itself.
func attackDataAt(d *Data, p *Plan, outs []*modelOutputs, q int, a signal.Access) (*attack.Data, error) {
	if a.Logits() {
		return attackData(d, p, outs, q)
	}
	if err := a.Check(d.Pool.Classes); err != nil {
		return nil, fmt.Errorf("audit.access: %w", err)
	}
	ad, err := attackData(d, p, outs, q)
	if err != nil {
		return nil, err
	}
	n, z, m, classes := ad.N, ad.Z, ad.M, ad.C
	fill := func(logits []float32, labels []int, sig, probs []float64, model int) error {
		l64 := make([]float64, len(logits))
		for i, v := range logits {
			l64[i] = float64(v)
		}
		obs, err := a.Observe(l64, classes)
		if err != nil {
			return fmt.Errorf("model %d at access %s: %w", model, a, err)
		}
		phi, err := signal.FromProbs(signal.RescaledLogit, obs, classes, labels, signal.Options{Queries: q})
		if err != nil {
			return fmt.Errorf("model %d at access %s: %w", model, a, err)
		}
		for i := range labels {
			copy(sig[(i*m+model)*q:(i*m+model+1)*q], phi[i*q:(i+1)*q])
			copy(probs[(i*m+model)*classes:(i*m+model+1)*classes], obs[i*q*classes:(i*q+1)*classes])
		}
		return nil
	}
	for j, o := range outs {
		if err := fill(o.Audit, ad.Labels[:n], ad.Signals, ad.Probs, j); err != nil {
			return nil, err
		}
		if err := fill(o.Pop, ad.PopLabels[:z], ad.Population, ad.PopProbs, j); err != nil {
			return nil, err
		}
	}
	return ad, ad.Validate()
}
