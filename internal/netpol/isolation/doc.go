// Package isolation decides whether NetworkPolicies isolate namespaces and
// workloads: CIS Kubernetes Benchmark 5.3.2 and the NSA/CISA default-deny
// recommendation. It is the one implementation of catalogue checks
// KOR-NET-001 (a namespace without NetworkPolicy) and KOR-NET-002 (a
// workload whose pods no policy selects for ingress or for egress), shared
// by kordon scan, kordon netpol lint (as KOR-NETPOL-001/002) and the
// admission webhook (as KOR-GOV-001), so that all three give the same
// verdict on the same objects.
package isolation
