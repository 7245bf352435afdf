package duci

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pmeter/pmeter/attack"
)

// Attacks lists the names ParseAttack accepts besides the registry's: DUCI's RMIA variant and the
// demo's population attack.
var Attacks = []string{"duci-rmia", "duci-population"}

// ParseAttack returns the Scorer named name ("" means duci-rmia) with string parameters, as a
// configuration file or a command line gives them: duci-rmia takes offline_a (without it a is tuned),
// duci-population none, and any attack of the registry (attack.Lookup) its own. compat is the mode
// of the estimate: CompatPrivacyMeter runs Privacy Meter's RMIA or the demo's population attack only.
// Errors name the parameter.
func ParseAttack(name string, params map[string]string, compat attack.Compat) (Scorer, error) {
	switch name {
	case "", "duci-rmia":
		r := &RMIA{Tune: true, Compat: compat}
		for k, v := range params {
			if k != "offline_a" {
				return nil, fmt.Errorf("duci-rmia has no parameter %q (it has offline_a; without it a is tuned)", k)
			}
			a, err := strconv.ParseFloat(v, 64)
			if err != nil || !(a >= 0 && a <= 1) {
				return nil, fmt.Errorf("duci-rmia offline_a %q; want a number in [0, 1]", v)
			}
			r.OfflineA, r.Tune = a, false
		}
		return r, nil
	case "duci-population":
		if len(params) > 0 {
			return nil, fmt.Errorf("duci-population has no parameters")
		}
		return Population{Compat: compat}, nil
	}
	if compat == attack.CompatPrivacyMeter {
		return nil, fmt.Errorf("compat %s runs Privacy Meter's RMIA (duci-rmia) or the demo's population attack (duci-population), not %s", compat, name)
	}
	spec, err := attack.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("%w (want %s or one of %s)", err, strings.Join(Attacks, ", "), strings.Join(attack.Names(), ", "))
	}
	a, err := spec.Parse(params)
	if err != nil {
		return nil, err
	}
	return AttackScorer(a), nil
}

// ParseCompat parses a compat mode of the estimate: "", none or privacy-meter.
func ParseCompat(s string) (attack.Compat, error) {
	switch s {
	case "", string(attack.CompatNone):
		return "", nil
	case string(attack.CompatPrivacyMeter):
		return attack.CompatPrivacyMeter, nil
	}
	return "", fmt.Errorf("unknown compat %q (want none or %s)", s, attack.CompatPrivacyMeter)
}
