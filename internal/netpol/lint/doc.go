// Package lint finds problems in NetworkPolicies — coverage gaps, policies
// and peers that select nothing, redundant and overly broad rules, egress
// lockdowns that forget DNS, named ports that resolve nowhere — and reports
// them as shared Findings (rule IDs KOR-NETPOL-001 to KOR-NETPOL-008, see
// docs/netpol.md), so that every report format of `kordon scan` works.
//
// Every check's metadata comes from the rule catalogue; the coverage checks
// KOR-NETPOL-001 and 002 are the catalogue's KOR-NET-001 and 002 under
// their lint aliases, decided by package isolation exactly as kordon scan
// and the admission webhook decide them.
package lint
