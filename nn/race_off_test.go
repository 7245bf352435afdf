//go:build !race

package nn

// raceEnabled reports whether the race detector is on (it allocates on its own).
const raceEnabled = false
