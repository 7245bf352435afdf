//go:build unix

package nnbench

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time (user and system) the process has used so far, all threads together,
// or 0 when unknown.
func cpuTime() time.Duration {
	u, s := cpuTimes()
	return u + s
}

// cpuTimes returns the user and system CPU time the process has used so far, or zeros when unknown.
func cpuTimes() (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}
