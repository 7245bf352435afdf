package audit

import _ "embed"

// DefaultConfigYAML is the configuration of `pmeter run` without arguments, and the commented example
// that `pmeter init` writes. It audits an MLP trained on the Fashion-MNIST subset embedded in pmeter.
//
//go:embed default.yaml
var defaultConfigYAML []byte

// DefaultConfigYAML returns the text of the default configuration (a fresh copy).
func DefaultConfigYAML() []byte { return append([]byte(nil), defaultConfigYAML...) }

// DefaultConfig returns the parsed default configuration.
func DefaultConfig() (*Config, error) { return ParseConfig(defaultConfigYAML) }
