//go:build !race

package test

// cis532Seeds is how many generated clusters TestCIS532Differential runs.
const cis532Seeds = 600
