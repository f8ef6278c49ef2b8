// Package waf is Kordon's web application firewall engine: Coraza
// (github.com/corazawaf/coraza/v3) running the OWASP Core Rule Set v4
// embedded from github.com/corazawaf/coraza-coreruleset/v4, configured from
// a Config (paranoia level, anomaly thresholds, block or detect mode, body
// limits, per-route exclusions, CRS regression-test settings).
//
// An Engine is built once and is safe for concurrent use; each HTTP
// request is one Tx. The reverse proxy (package waf/proxy) and the Envoy
// ext_authz server (package waf/extauthz) both drive a Tx, so a request is
// judged the same way by both. A finished Tx gives a Decision, which turns
// into finding.Events, one per CRS rule family that matched, reported
// under the catalogue's KOR-WAF-<family> checks (internal/rules/packs/waf.yaml).
//
// Stages (type Stage) are further request inspections that run after the
// CRS request phases — the extension point for API schema validation and
// bot protection.
package waf
