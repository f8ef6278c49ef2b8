//go:build !race

package storetest

// scale divides the conformance suite's largest data sets (1 without the
// race detector).
const scale = 1
