package attack

// Compat names the original implementation whose quirks an attack reproduces. The zero value and
// CompatNone select pmeter's correct behaviour; the others exist so that results can be compared with
// those tools to the last digit, and are documented on each attack.
type Compat string

// The originals.
const (
	CompatNone         Compat = "none"
	CompatPrivacyMeter Compat = "privacy-meter" // ml_privacy_meter (v1 or v2, as the attack documents)
	CompatLiRA         Compat = "lira"          // the LiRA reference code, tensorflow/privacy research/mi_lira_2021
)

// set reports whether c asks for an original's behaviour.
func (c Compat) set() bool { return c != "" && c != CompatNone }
