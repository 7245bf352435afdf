//go:build !unix

package audit

import "time"

// processCPU returns 0: the process's CPU time is not measured on this system.
func processCPU() time.Duration { return 0 }
