//go:build race

package storetest

// scale divides the conformance suite's largest data sets under the race
// detector, which slows a pure-Go database tenfold and more.
const scale = 5
