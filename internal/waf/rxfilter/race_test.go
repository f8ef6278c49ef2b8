//go:build race

package rxfilter

// raceEnabled: the race detector slows the regexp and generator work many
// times over, and this package has no concurrency to check.
const raceEnabled = true
