//go:build !linux

package audit

// MachineLimits returns no limits outside Linux: the memory and disk checks are skipped.
func MachineLimits(dir string) Limits { return Limits{} }
