//go:build !race

package rxfilter

const raceEnabled = false
