//go:build race

package test

// cis532Seeds is how many generated clusters TestCIS532Differential runs
// under the race detector, which slows it several times over.
const cis532Seeds = 150
