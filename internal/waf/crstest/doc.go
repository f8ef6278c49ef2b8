// Package crstest runs the OWASP Core Rule Set's regression tests (the
// YAML tests shipped in github.com/corazawaf/coraza-coreruleset/v4/tests,
// in go-ftw's format) against a running WAF proxy over HTTP: each test's
// request is written to the proxy's TCP address byte for byte, the proxy
// forwards it to an Upstream that behaves like CRS's test backend
// (albedo, including its /reflect endpoint), and the rule IDs the proxy
// reports in its X-Kordon-Waf-Rules test-mode header are compared with
// the test's expectations. Tests that cannot run here are skipped with a
// reason from skips.yaml, never silently.
package crstest
