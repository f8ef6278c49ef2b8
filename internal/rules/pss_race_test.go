//go:build race

package rules_test

// defaultPSSN is TestPSSDifferential's default size under the race
// detector, which slows CEL evaluation several times over.
const defaultPSSN = 500
