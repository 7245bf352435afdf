//go:build !linux

package nnbench

// resetPeakRSS does nothing: peak memory is measured on Linux only.
func resetPeakRSS() {}

// peakRSS returns 0: peak memory is measured on Linux only.
func peakRSS() int64 { return 0 }
