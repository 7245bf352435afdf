//go:build unix

package audit

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// errLocked: another open file description holds the lock. errNoLocks: the file system has no locks.
var (
	errLocked  = errors.New("locked by another process")
	errNoLocks = errors.New("file locks are not supported")
)

// lockFile takes an exclusive flock(2) on f: waiting for it when wait is true, or returning errLocked
// at once when another open file description holds it.
func lockFile(f *os.File, wait bool) error {
	how := unix.LOCK_EX
	if !wait {
		how |= unix.LOCK_NB
	}
	for {
		err := unix.Flock(int(f.Fd()), how)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EWOULDBLOCK):
			return errLocked
		case errors.Is(err, unix.ENOLCK), errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.ENOSYS):
			return errNoLocks
		}
		return err
	}
}
