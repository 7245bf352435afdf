//go:build !unix

package audit

import (
	"errors"
	"os"
)

var (
	errLocked  = errors.New("locked by another process")
	errNoLocks = errors.New("file locks are not supported on this system")
)

// lockFile reports that this system has no flock(2): ClaimDir then warns and claims nothing.
func lockFile(f *os.File, wait bool) error { return errNoLocks }
