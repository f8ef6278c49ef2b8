// Package report renders a finding.Report in every output format Kordon
// offers: a human-readable table for terminals, a stable JSON document, SARIF
// 2.1.0 for code-scanning services, JUnit XML for CI test views, a
// self-contained HTML page, and wgpolicyk8s.io PolicyReport objects for
// clusters. Each format lives in its own file; Write picks one by name.
//
// Rendering never modifies the report it is given, and every format is
// deterministic: the same report and Options give the same bytes.
package report
