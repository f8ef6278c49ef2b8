// Package report renders a finding.Report in every output format Kordon
// offers: a human-readable table for terminals, a stable JSON document, SARIF
// 2.1.0 for code-scanning services, JUnit XML for CI test views, a
// self-contained HTML page, and wgpolicyk8s.io PolicyReport objects for
// clusters. Each format lives in its own file; Write picks one by name.
//
// The formats people read (table, HTML) show the findings of several rules
// that share a root cause on one resource under that cause (causes.go; the
// causes come in Options.Rules); the others keep one entry per finding.
//
// Rendering never modifies the report it is given, and every format is
// deterministic: the same report and Options give the same bytes.
package report
