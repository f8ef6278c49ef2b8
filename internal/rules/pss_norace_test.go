//go:build !race

package rules_test

// defaultPSSN is TestPSSDifferential's default number of generated pods.
const defaultPSSN = 3000
