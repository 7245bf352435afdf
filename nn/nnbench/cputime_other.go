//go:build !unix

package nnbench

import "time"

// cpuTime returns 0: the CPU time of the process is not measured on this system.
func cpuTime() time.Duration { return 0 }

// cpuTimes returns zeros: the CPU time of the process is not measured on this system.
func cpuTimes() (user, sys time.Duration) { return 0, 0 }
