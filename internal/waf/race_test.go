//go:build race

package waf

// raceEnabled: the race detector slows the engine several times over.
const raceEnabled = true
