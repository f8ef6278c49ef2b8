// Package logicdoc tests docs/logic.md: every example there (queries,
// alert rules, enrichment) is extracted and run against a store of
// generated records, and its documented result is checked against what
// Kordon returns. Run go test ./test/logicdoc -update to rewrite the
// documented results after a deliberate change.
package logicdoc
