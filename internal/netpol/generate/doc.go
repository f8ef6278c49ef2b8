// Package generate learns least-privilege NetworkPolicies from observed
// flows: every flow is mapped to workloads (by name, pod name, owner,
// labels or pod address) or to an external address, and each workload seen
// gets one policy allowing exactly the traffic observed to and from it,
// plus DNS to kube-dns when its egress becomes restricted. Volatile labels
// (pod-template-hash, controller-revision-hash and the like) never appear in
// selectors. The policies are made acceptable to the API server by package
// emit (valid names, split when large).
//
// A Generator takes flows one at a time (Observe), keeping only the
// distinct workloads, addresses, pairs and ports, so that flow files of any
// length fit in memory; flows neither end of which is a workload are
// counted, and too many of them make the Result say so (Failures).
//
// The result is checked with the analyzer: every observed flow must stay
// allowed, and whatever the policies allow beyond the observed traffic is
// reported in the Result, which package render prints.
package generate
