package main

import (
	"os"
	"runtime/debug"
)

// defaultGCPercent is the manager's GOGC when its environment sets none.
// Go's default of 100 lets the heap grow to twice what is live before a
// collection; the manager's live heap is mostly its cache, which grows
// with the number of Collaborators, so that default doubles the memory a
// large install needs. See docs/scaling.md for what it saves and costs.
const defaultGCPercent = 50

// setGCPercent applies defaultGCPercent unless GOGC is set, so that
// GOGC=100 (or off) still restores Go's own behaviour. It reports whether
// it applied the default.
func setGCPercent() bool {
	if v, set := os.LookupEnv("GOGC"); set && v != "" {
		return false
	}
	debug.SetGCPercent(defaultGCPercent)
	return true
}
